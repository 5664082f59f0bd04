"""监督预警 (第六条, 第二十五条; DESIGN §3.9): each kind found from data built through the services, found once
(a second run adds nothing, only ``last_seen_at`` moves), masked details; the center reviewer acknowledges and
resolves, the supervisor and the admin only read; pages, API and the CLI."""
from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from exchange import clock
from exchange.access import AccessDenied
from exchange.audit.models import AuditEntry
from exchange.deadlines.sweeper import HANDLERS, sweep
from exchange.incidents import termination as xsvc
from exchange.ledger import refunds
from exchange.ledger.models import Refund
from exchange.listings import services as lsvc
from exchange.listings.models import Listing
from exchange.payments import statements as ssvc
from exchange.registrations import services as rsvc
from exchange.supervision import alerts as svc
from exchange.supervision.models import SupervisionAlert
from exchange.trading import services as tsvc
from exchange.trading.models import Deal
from tests.builders import (ALL_OK, PDF, applied, attach, csv_bytes, key, live, local, new_household_listing, pay,
                            to_trading)
from tests.factories import PASSWORD
from tests.helpers import api_csrf, csrf_from, login, text, token_headers

pytestmark = pytest.mark.usefixtures("uploads")


def _alerts(kind=None):
    stmt = select(SupervisionAlert).order_by(SupervisionAlert.id)
    if kind:
        stmt = stmt.where(SupervisionAlert.kind == kind)
    return list(svc.db.session.scalars(stmt))


def _announce(users, db, **kw) -> Listing:
    listing = new_household_listing(users, **kw)
    attach(listing, users["point_a1"])
    lsvc.submit(users["point_a1"], listing)
    lsvc.station_decide(users["station_a"], listing, True)
    lsvc.center_decide(users["center_reviewer"], listing, "approve", ALL_OK)
    db.session.commit()
    return listing


def _detect(db) -> int:
    n = svc.detect()
    db.session.commit()
    return n


# --- detection --------------------------------------------------------------------------------------------

def test_the_sweeper_runs_detection():
    assert "alerts.detect" in HANDLERS and HANDLERS["alerts.detect"] is svc.detect


def test_overdue_refund_found_once_kept_after_the_flag_and_not_after_it_is_done(users, announced, db):
    pay(users, announced, ["buyer"])
    xsvc.terminate(users["center_reviewer"], announced, ground="authority", basis="临农函〔2026〕88号", document=PDF,
                   document_filename="批复.pdf")
    db.session.commit()
    refund = db.session.scalar(select(Refund))
    assert _detect(db) == 0  # not due yet
    clock.freeze(refund.due_at + timedelta(minutes=1))
    assert _detect(db) == 1
    [alert] = _alerts("overdue")
    assert alert.subject == f"refund:{refund.id}" and alert.listing_id == announced.id and alert.state == "open"
    assert "保证金退款逾期" in alert.summary and "第十九条" in alert.summary and alert.severity == "high"
    assert svc.details_of(alert)["refund_id"] == refund.id
    first_seen = alert.last_seen_at
    # the sweeper flags it in the audit trail (its due query no longer returns it) and detection still sees it
    clock.advance(minutes=5)
    result = sweep()
    assert result.counts["refunds.overdue"] == 1 and result.counts["alerts.detect"] == 0
    db.session.expire_all()
    [alert] = _alerts("overdue")
    assert alert.last_seen_at > first_seen
    flagged_seen = alert.last_seen_at
    clock.advance(minutes=5)
    assert _detect(db) == 0  # flagged now: found through the audit flag, still not done
    db.session.expire_all()
    [alert] = _alerts("overdue")
    assert alert.last_seen_at > flagged_seen
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "alert.detected")) == 1
    # done: no longer seen, the warning stays for the record until the center resolves it
    refunds.record_transfer(users["finance"], refund, "TK-1")
    refunds.approve(users["finance2"], refund)
    db.session.commit()
    seen = alert.last_seen_at
    clock.advance(minutes=5)
    assert _detect(db) == 0
    db.session.expire_all()
    assert _alerts("overdue")[0].last_seen_at == seen


def test_overdue_contract_and_shared_phone(buyers, overdue_contract, db):
    deal, regs = overdue_contract
    assert len(_alerts("shared_contact")) == 1  # already found by the sweeps that brought the deal here
    # the contract and the two losing bidders' deposits (refunds due in 5 工作日 too) are overdue
    assert _detect(db) == 3
    assert _detect(db) == 0  # idempotent
    over = {a.subject.split(":")[0]: a for a in _alerts("overdue")}
    assert sorted(a.subject.split(":")[0] for a in _alerts("overdue")) == ["contract", "refund", "refund"]
    assert "合同逾期未签订" in over["contract"].summary and deal.deal_no in over["contract"].summary
    # buyer_org and the cooperative registered with the same mobile number
    [shared] = _alerts("shared_contact")
    d = svc.details_of(shared)
    assert d["contact"] == "phone" and d["value"] == "139****0002" and "13900000002" not in shared.details
    assert {b["registration_id"] for b in d["buyers"]} == {regs["buyer_org"].id, regs["buyer_coop"].id}
    assert "13900000002" not in shared.subject and shared.listing_id == deal.listing_id
    # after the sweeper flagged it (audit) the same warning is seen again, never a second row
    sweep()
    assert db.session.scalar(select(func.count(SupervisionAlert.id))) == 4


def test_shared_ip_of_bids_ignores_loopback_and_markers(buyers, trading, db):
    listing, regs = trading
    s = live(buyers, listing)
    tsvc.place_bid(buyers["buyer_org"], s.id, "160000", key=key(), ip="10.3.25.7")
    clock.advance(seconds=5)
    tsvc.place_bid(buyers["buyer"], s.id, "160500", key=key(), ip="10.3.25.7")
    clock.advance(seconds=5)
    tsvc.place_bid(buyers["buyer_coop"], s.id, "161000", key=key(), ip="127.0.0.1")
    clock.advance(seconds=5)
    tsvc.place_bid(buyers["buyer_org"], s.id, "161500", key=key(), ip="127.0.0.1")
    clock.advance(seconds=5)
    tsvc.place_bid(buyers["buyer"], s.id, "162000", key=key(), ip="演练")
    clock.advance(seconds=5)
    tsvc.place_bid(buyers["buyer_coop"], s.id, "162500", key=key(), ip="演练")
    db.session.commit()
    svc.detect()
    db.session.commit()
    shared = {svc.details_of(a)["contact"]: a for a in _alerts("shared_contact")}
    assert set(shared) == {"phone", "ip"}  # loopback and "演练" say nothing about the bidders
    d = svc.details_of(shared["ip"])
    assert d["value"] == "10.3.*.*" and "10.3.25.7" not in shared["ip"].details
    assert {b["registration_id"] for b in d["buyers"]} == {regs["buyer"].id, regs["buyer_org"].id}
    assert "测试受让人" not in shared["ip"].details and "测****" in shared["ip"].details  # a person's name masked


def test_shared_bank_account_of_deposits(users, announced, db):
    a, b = applied(users, announced, key="buyer"), applied(users, announced, key="buyer_org")
    for r in (a, b):
        rsvc.qualify(users["center_reviewer"], r)
    db.session.commit()
    t = local(clock.now() - timedelta(hours=1))
    stmt = ssvc.import_statement(users["finance"], csv_bytes([
        ["S1", t, "", "16000", "某人", "6222 0000 1111 2222", a.payment_ref],
        ["S2", t, "", "16000", "某人", "6222000011112222", b.payment_ref],
    ]), "s.csv")
    assert ssvc.book_all_matched(users["finance"], stmt)[0] == 2
    db.session.commit()
    assert _detect(db) == 1
    [alert] = _alerts("shared_contact")
    d = svc.details_of(alert)
    assert d["contact"] == "account" and d["value"] == "************2222" and "6222000011112222" not in alert.details


def test_low_price_against_the_appraisal_and_the_configured_share(app, users, db, frozen, monkeypatch):
    listing = _announce(users, db, appraisal_value="300000", appraisal_agency="某评估公司", appraisal_report_no="评-1")
    pay(users, listing, ["buyer"])
    db.session.commit()
    listing = to_trading(listing)
    deal = tsvc.confirm_agreement(users["trading_officer"], listing)
    db.session.commit()
    monkeypatch.setitem(app.config, "ALERT_LOW_PRICE_SHARE", "0.5")
    assert _detect(db) == 0  # 160 000 is 53.3 % of 300 000: above a 50 % line
    monkeypatch.setitem(app.config, "ALERT_LOW_PRICE_SHARE", "0.70")
    assert _detect(db) == 1
    [alert] = _alerts("low_price")
    d = svc.details_of(alert)
    assert alert.subject == f"deal:{deal.id}" and d["percent_of_appraisal"] == "53.3" and d["threshold"] == "70%"
    assert "评估价" in alert.summary and deal.listing.project_no in alert.summary
    assert _detect(db) == 0


def _agreement_deal_for(users, db, who: str) -> Deal:
    listing = _announce(users, db)
    pay(users, listing, [who])
    db.session.commit()
    listing = to_trading(listing)
    deal = tsvc.confirm_agreement(users["trading_officer"], listing)
    db.session.commit()
    return deal


def test_repeat_winner_without_competition(app, users, db, frozen, monkeypatch):
    """(The sweeps that bring each listing to trading run the detector too: rows are counted, not runs.)"""
    monkeypatch.setitem(app.config, "ALERT_REPEAT_WINNER_MIN", 2)
    first = _agreement_deal_for(users, db, "buyer_org")
    _detect(db)
    assert _alerts("repeat_winner") == []
    second = _agreement_deal_for(users, db, "buyer_org")
    assert _detect(db) == 1
    [alert] = _alerts("repeat_winner")
    d = svc.details_of(alert)
    assert d["count"] == 2 and [x["deal_id"] for x in d["deals"]] == [first.id, second.id]
    assert alert.subject == f"buyer:{users['buyer_org'].id}#deal:{second.id}" and "t_buyer_org 测试公司" in alert.summary
    # a third win while the warning is open: the same row, with the new facts
    third = _agreement_deal_for(users, db, "buyer_org")
    assert _detect(db) == 0
    [alert] = _alerts("repeat_winner")
    assert svc.details_of(alert)["count"] == 3 and alert.listing_id == third.listing_id
    assert alert.subject == f"buyer:{users['buyer_org'].id}#deal:{third.id}"
    # resolved: seen again (no new deal) changes nothing; a new uncontested win is a new warning
    svc.resolve(users["center_reviewer"], alert, "已约谈受让方，成交均经公告，未发现串通")
    db.session.commit()
    assert _detect(db) == 0
    _agreement_deal_for(users, db, "buyer_org")
    _detect(db)
    assert [a.state for a in _alerts("repeat_winner")] == ["resolved", "open"]
    assert svc.details_of(_alerts("repeat_winner")[1])["count"] == 4
    # another buyer's single uncontested win is nothing
    _agreement_deal_for(users, db, "buyer")
    _detect(db)
    assert len(_alerts("repeat_winner")) == 2


def _fail(listing) -> Listing:
    listing = to_trading(listing)
    assert listing.state == "failed"
    return listing


def test_repeated_failure_along_the_relisting_chain(users, db, frozen):
    """(The sweep that ends each announcement runs the detector: rows are counted.)"""
    reviewer = users["center_reviewer"]
    one = _fail(_announce(users, db))
    _detect(db)
    assert _alerts("repeated_failure") == []
    two = tsvc.relist(reviewer, one)
    lsvc.center_decide(reviewer, two, "approve", ALL_OK)
    db.session.commit()
    two = _fail(two)
    assert _detect(db) == 0  # found by that sweep already
    [alert] = _alerts("repeated_failure")
    d = svc.details_of(alert)
    assert alert.subject == f"asset:{one.id}#failed:{two.id}" and d["count"] == 2 and alert.listing_id == two.id
    assert [f["listing_id"] for f in d["failures"]] == [one.id, two.id] and "流拍 2 次" in alert.summary
    svc.resolve(reviewer, alert, "已建议村集体重新评估并调整挂牌条件")
    db.session.commit()
    three = tsvc.relist(reviewer, two)
    lsvc.center_decide(reviewer, three, "approve", ALL_OK)
    db.session.commit()
    _fail(three)
    _detect(db)  # a new failure after the warning was resolved: a new row
    assert [a.state for a in _alerts("repeated_failure")] == ["resolved", "open"]
    assert svc.details_of(_alerts("repeated_failure")[1])["count"] == 3


# --- the center's record --------------------------------------------------------------------------------

@pytest.fixture
def alert(buyers, trading, db):
    """The shared-phone warning of the trading fixture (buyer_org and the cooperative), found by the sweep that
    closed the announcement."""
    assert _detect(db) == 0
    [found] = _alerts("shared_contact")
    return found


def test_acknowledge_and_resolve_only_by_the_center_reviewer(buyers, alert, db):
    for who in ("supervisor", "admin", "trading_officer", "finance", "station_a", "buyer"):
        with pytest.raises(AccessDenied):
            svc.acknowledge(buyers[who], alert, "看过")
        with pytest.raises(AccessDenied):
            svc.resolve(buyers[who], alert, "处理了")
    reviewer = buyers["center_reviewer"]
    svc.acknowledge(reviewer, alert, "已电话核实")
    db.session.commit()
    assert alert.state == "acknowledged" and alert.acknowledged_by_id == reviewer.id
    with pytest.raises(svc.AlertError):
        svc.acknowledge(reviewer, alert)
    with pytest.raises(svc.AlertError) as exc:
        svc.resolve(reviewer, alert, " ")
    assert exc.value.field == "resolution"
    with pytest.raises(svc.AlertError):
        svc.resolve(reviewer, alert, "长" * (svc.NOTE_MAX + 1))
    svc.resolve(reviewer, alert, "两家为同一村民代办报名，已核实非关联方")
    db.session.commit()
    assert alert.state == "resolved" and alert.resolved_at is not None
    with pytest.raises(svc.AlertError):
        svc.resolve(reviewer, alert, "再处理一次")
    actions = list(db.session.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "supervision_alert")
                                      .order_by(AuditEntry.seq)))
    assert actions == ["alert.detected", "alert.acknowledge", "alert.resolve"]
    # seen again after it was resolved: the same row, still resolved
    assert _detect(db) == 0 and _alerts()[0].state == "resolved"


def test_filters():
    f = svc.AlertFilter.parse("overdue", "open", "high", "2026-01-01", "2026-12-31")
    assert (f.kind, f.state, f.severity) == ("overdue", "open", "high")
    for bad in [dict(kind="nope"), dict(state="closed"), dict(severity="x"), dict(date_from="2026-13-01"),
                dict(date_to="yesterday"), dict(date_from="2026-05-02", date_to="2026-05-01"),
                dict(date_from="9999-01-01")]:
        with pytest.raises(svc.FilterError):
            svc.AlertFilter.parse(**bad)


# --- pages ----------------------------------------------------------------------------------------------

def test_pages_supervisor_reads_reviewer_records(client, buyers, alert, db):
    login(client, "t_supervisor", PASSWORD)
    page = text(client.get("/supervision/alerts/"))
    assert "监督预警" in page and alert.summary in page
    assert client.get("/supervision/alerts/?kind=shared_contact&state=open&from=2026-01-01&to=2026-12-31"
                      ).status_code == 200
    for bad in ("kind=nope", "state=done", "from=2026-02-30", "from=2026-05-02&to=2026-05-01", "to=abc"):
        resp = client.get(f"/supervision/alerts/?{bad}")
        assert resp.status_code == 400, bad
    detail = client.get(f"/supervision/alerts/{alert.id}")
    body = text(detail)
    assert detail.status_code == 200 and "139****0002" in body and "13900000002" not in body
    assert f"/listings/{alert.listing_id}" in body and "/registrations/" in body  # the case behind it
    assert "处理完毕</button>" not in body and "action=\"/supervision/alerts/" not in body  # no forms
    token = csrf_from(text(client.get("/work")))
    assert client.post(f"/supervision/alerts/{alert.id}/acknowledge",
                       data={"csrf_token": token, "note": "x"}).status_code == 403
    assert client.post(f"/supervision/alerts/{alert.id}/resolve",
                       data={"csrf_token": token, "resolution": "处理"}).status_code == 403
    assert client.get("/supervision/alerts/999999").status_code == 404
    db.session.expire_all()
    assert db.session.get(SupervisionAlert, alert.id).state == "open"
    # the point clerk may not even read them
    client.post("/logout", data={"csrf_token": token})
    login(client, "t_point_a1", PASSWORD)
    assert client.get("/supervision/alerts/").status_code == 403
    assert client.get(f"/supervision/alerts/{alert.id}").status_code == 403


def test_pages_reviewer_acknowledges_and_resolves(client, buyers, alert, db):
    login(client, "t_reviewer", PASSWORD)
    home = text(client.get("/work"))
    assert "监督预警" in home  # the menu link
    page = text(client.get(f"/supervision/alerts/{alert.id}"))
    resp = client.post(f"/supervision/alerts/{alert.id}/acknowledge",
                       data={"csrf_token": csrf_from(page), "note": "已电话核实报名情况"})
    assert resp.status_code == 302
    page = text(client.get(f"/supervision/alerts/{alert.id}"))
    assert "已电话核实报名情况" in page and "已知悉" in page
    bad = client.post(f"/supervision/alerts/{alert.id}/resolve", data={"csrf_token": csrf_from(page), "resolution": ""})
    assert bad.status_code == 400 and "请填写处理结果" in text(bad)
    assert client.post(f"/supervision/alerts/{alert.id}/resolve", data={"resolution": "无 CSRF"}).status_code == 400
    ok = client.post(f"/supervision/alerts/{alert.id}/resolve",
                     data={"csrf_token": csrf_from(page), "resolution": "两家为同一代办人，已核实非关联方"},
                     follow_redirects=True)
    assert ok.status_code == 200 and "处理结果已记录" in text(ok)
    db.session.expire_all()
    assert db.session.get(SupervisionAlert, alert.id).state == "resolved"


def test_admin_reads_but_does_not_handle(client, buyers, alert, db):
    login(client, "t_admin", PASSWORD)
    assert client.get(f"/supervision/alerts/{alert.id}").status_code == 200
    token = csrf_from(text(client.get("/work")))
    assert client.post(f"/supervision/alerts/{alert.id}/acknowledge", data={"csrf_token": token}).status_code == 403


# --- API ------------------------------------------------------------------------------------------------

def test_api(client, buyers, alert, db):
    sup, rev = token_headers(db, buyers, "supervisor"), token_headers(db, buyers, "center_reviewer")
    clerk = token_headers(db, buyers, "point_a1")
    resp = client.get("/api/v1/supervision/alerts?state=open", headers=sup)
    body = resp.get_json()
    assert resp.status_code == 200 and body["total"] == 1 and body["items"][0]["kind"] == "shared_contact"
    assert body["items"][0]["details"]["value"] == "139****0002"
    for bad in ("kind=nope", "from=2026-99-01", "from=2026-05-02&to=2026-05-01", "severity=urgent"):
        r = client.get(f"/api/v1/supervision/alerts?{bad}", headers=sup)
        assert r.status_code == 400 and r.get_json()["error"] == "invalid", bad
    assert client.get("/api/v1/supervision/alerts?per_page=0", headers=sup).status_code == 422
    assert client.get("/api/v1/supervision/alerts", headers=clerk).status_code == 403
    assert client.get(f"/api/v1/supervision/alerts/{alert.id}", headers=sup).get_json()["state"] == "open"
    assert client.get("/api/v1/supervision/alerts/999999", headers=sup).status_code == 404
    assert client.post(f"/api/v1/supervision/alerts/{alert.id}/acknowledge", headers=sup,
                       json={"note": "x"}).status_code == 403
    assert client.post(f"/api/v1/supervision/alerts/{alert.id}/resolve", headers=sup,
                       json={"resolution": "处理完毕"}).status_code == 403
    ack = client.post(f"/api/v1/supervision/alerts/{alert.id}/acknowledge", headers=rev, json={"note": "已知悉"})
    assert ack.status_code == 200 and ack.get_json()["state"] == "acknowledged"
    assert client.post(f"/api/v1/supervision/alerts/{alert.id}/acknowledge", headers=rev, json={}).status_code == 400
    assert client.post(f"/api/v1/supervision/alerts/{alert.id}/resolve", headers=rev, json={}).status_code == 422
    bad = client.post(f"/api/v1/supervision/alerts/{alert.id}/resolve", headers=rev, json={"resolution": " "})
    assert bad.status_code == 400 and "resolution" in bad.get_json()["fields"]
    ok = client.post(f"/api/v1/supervision/alerts/{alert.id}/resolve", headers=rev,
                     json={"resolution": "核实为同一代办人，非关联方"})
    assert ok.status_code == 200 and ok.get_json()["state"] == "resolved"
    # a browser session without the CSRF header is refused
    login(client, "t_reviewer", PASSWORD)
    assert client.post(f"/api/v1/supervision/alerts/{alert.id}/resolve", json={"resolution": "再来"}).status_code == 400
    r = client.post(f"/api/v1/supervision/alerts/{alert.id}/resolve", json={"resolution": "再来"},
                    headers={"X-CSRFToken": api_csrf(client)})
    assert r.status_code == 400 and "不能重复处理" in r.get_json()["message"]
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/supervision/alerts/{alert_id}/resolve" in spec["paths"]


def test_cli(app, buyers, trading, db):
    listing, regs = trading
    s = live(buyers, listing)
    tsvc.place_bid(buyers["buyer_org"], s.id, "160000", key=key(), ip="10.3.25.7")
    clock.advance(seconds=5)
    tsvc.place_bid(buyers["buyer"], s.id, "160500", key=key(), ip="10.3.25.7")
    db.session.commit()
    runner = app.test_cli_runner()
    out = runner.invoke(args=["alerts", "detect"])
    assert out.exit_code == 0 and "新增监督预警 1 条" in out.output
    out = runner.invoke(args=["alerts", "detect"])
    assert out.exit_code == 0 and "新增监督预警 0 条" in out.output
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "alert.detected")
                              .order_by(AuditEntry.seq.desc()))
    assert entry.actor_name == "命令行 alerts detect" and json.loads(entry.after)["kind"] == "shared_contact"


def test_masking_helpers():
    assert svc.mask_ip("192.168.10.20") == "192.168.*.*" and svc.mask_ip("2001:db8::1") == "2001:0db8:*"
    assert svc.mask_ip("junk") == "***"
    assert not svc.usable_ip("127.0.0.1") and not svc.usable_ip("演练") and svc.usable_ip("10.0.0.1")
    assert svc.low_price_share() == Decimal("0.70")
