"""统一交易规则 (管理办法 第五条 "八统一"; DESIGN §3.11; issue 16 item 14): the center's own rules as named settings
(exchange/tradingrules) — defaults, a change audited with before and after, values refused, a change applied to the
clocks started afterwards only — and the one public 交易规则 page that publishes every rule with its source."""
from __future__ import annotations

import re
from datetime import time, timedelta

import pytest
from sqlalchemy import func, select

from exchange import clock
from exchange.access import AccessDenied
from exchange.audit.models import AuditEntry
from exchange.registrations import services as rsvc
from exchange.tradingrules import services as tr
from exchange.tradingrules.models import TradingRuleSetting
from exchange.trading import services as tsvc
from exchange.workdays.services import due_after_working_days
from tests.builders import agree, applied, open_trading, pay, published, to_trading
from tests.factories import PASSWORD
from tests.helpers import get_csrf, login, text

BASIS = "中心办公会议纪要〔2027〕1号"


def _audit(db) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.object_type == "trading_rule")
                                   .order_by(AuditEntry.seq)))


# --- the rules, their defaults ------------------------------------------------------------------------------------------

def test_every_rule_reads_its_default_until_the_center_changes_it(db):
    assert tr.value("deposit_cutoff") == time(16, 0)
    assert tr.value("publicity_working_days") == 3
    assert tr.value("qualification_review_working_days") == 2
    assert tr.value("single_buyer_agreement") is True and tr.value("no_own_listing") is True
    assert [tr.value(k) for k in ("contract_working_days", "settlement_days", "certificate_working_days",
                                  "refund_working_days")] == [5, 10, 3, 5]
    assert all(c.is_default and c.value == c.rule.default for c in tr.current())
    assert db.session.scalar(select(func.count()).select_from(TradingRuleSetting)) == 0
    with pytest.raises(LookupError):
        tr.value("publicity_days")  # a typo never reads a default silently


def test_each_rule_is_declared_once_with_its_source():
    keys = [r.key for r in tr.RULES]
    assert len(keys) == len(set(keys))
    assert [r.key for r in tr.editable_rules()] == ["deposit_cutoff", "publicity_working_days",
                                                    "qualification_review_working_days",
                                                    "procurement_bid_working_days"]
    assert {r.source for r in tr.center_rules()} == {"中心规则"}
    assert {r.key: r.source for r in tr.statutory_rules()} == {
        "contract_working_days": "管理办法 第十六条", "settlement_days": "管理办法 第十七条",
        "certificate_working_days": "管理办法 第十八条", "refund_working_days": "管理办法 第十九条（二）"}
    for r in tr.RULES:
        assert r.name and r.explanation and (r.editable or r.statutory or r.why_fixed)
        if r.editable:
            assert r.minimum is not None and r.maximum is not None and r.minimum <= r.default <= r.maximum


@pytest.mark.article("八统一")
def test_the_published_statutory_clocks_are_those_the_code_applies():
    from exchange.ledger import refunds
    from exchange.settlement import services as stl
    assert tr.value("settlement_days") == stl.SETTLEMENT_DAYS
    assert tr.value("certificate_working_days") == stl.CERTIFICATE_WORKING_DAYS
    assert tr.value("refund_working_days") == refunds.REFUND_WORKING_DAYS


# --- changing a rule ---------------------------------------------------------------------------------------------------

def test_the_admin_changes_a_rule_and_the_audit_trail_has_before_and_after(users, db):
    admin = users["admin"]
    changed = tr.change(admin, {"publicity_working_days": "5", "deposit_cutoff": "16:00",
                                "qualification_review_working_days": "２"}, BASIS)  # a full-width digit too
    db.session.commit()
    assert [(r.key, before, after) for r, before, after in changed] == [("publicity_working_days", 3, 5)]
    assert tr.value("publicity_working_days") == 5
    row = db.session.get(TradingRuleSetting, "publicity_working_days")
    assert (row.value, row.basis, row.changed_by_id) == ("5", BASIS, admin.id)
    [entry] = _audit(db)
    assert entry.action == "rules.change" and entry.object_id == "publicity_working_days"
    assert entry.actor_id == admin.id and "“交易公示期”：3 个工作日 → 5 个工作日" in entry.summary
    assert '"value":"3"' in entry.before and '"default":true' in entry.before
    assert '"value":"5"' in entry.after and BASIS in entry.after

    tr.change(admin, {"publicity_working_days": "4", "deposit_cutoff": "15:30"}, "纪要〔2027〕2号")
    db.session.commit()
    assert (tr.value("publicity_working_days"), tr.value("deposit_cutoff")) == (4, time(15, 30))
    second = _audit(db)[1:]
    assert [e.object_id for e in second] == ["publicity_working_days", "deposit_cutoff"]
    assert '"value":"5"' in second[0].before and BASIS in second[0].before and '"default":false' in second[0].before
    assert tr.change(admin, {"publicity_working_days": "4"}, "") == []  # nothing changed: nothing written
    assert len(_audit(db)) == 3


@pytest.mark.parametrize("key,raw,says", [
    ("publicity_working_days", "0", "1–10 个工作日"),      # a clock that starts overdue
    ("publicity_working_days", "11", "1–10 个工作日"),
    ("publicity_working_days", "-3", "1–10 个工作日"),
    ("publicity_working_days", "3.5", "1–10 个工作日"),
    ("publicity_working_days", "三", "1–10 个工作日"),
    ("publicity_working_days", "", "请填写交易公示期"),
    ("publicity_working_days", "99999999999999999999999", "1–10 个工作日"),
    ("qualification_review_working_days", "0", "1–10 个工作日"),
    ("qualification_review_working_days", "30", "1–10 个工作日"),
    ("deposit_cutoff", "07:30", "08:00 至 17:30"),          # before the center opens
    ("deposit_cutoff", "18:00", "08:00 至 17:30"),          # after it closes
    ("deposit_cutoff", "24:00", "整点或半点"),
    ("deposit_cutoff", "16:15", "整点或半点"),
    ("deposit_cutoff", "16", "时:分"),
    ("deposit_cutoff", "", "时:分"),
    ("deposit_cutoff", "下午四点", "时:分"),
])
def test_values_that_make_no_sense_are_refused_and_nothing_changes(users, db, key, raw, says):
    with pytest.raises(tr.RulesError) as exc:
        tr.change(users["admin"], {"publicity_working_days": "5", key: raw}, BASIS)
    assert exc.value.field == key and says in exc.value.message
    db.session.rollback()
    assert tr.value("publicity_working_days") == 3 and tr.value(key) == tr.rule(key).default
    assert _audit(db) == []


def test_a_change_needs_its_basis_and_fixed_rules_cannot_be_changed(users, db):
    admin = users["admin"]
    with pytest.raises(tr.RulesError) as exc:
        tr.change(admin, {"publicity_working_days": "5"}, "  ")
    assert exc.value.field == "basis" and "调整依据" in exc.value.message
    for key, raw in (("single_buyer_agreement", "0"), ("no_own_listing", "false"), ("contract_working_days", "6"),
                     ("settlement_days", "15")):
        with pytest.raises(tr.RulesError) as exc:
            tr.change(admin, {key: raw}, BASIS)
        assert "固定规则" in exc.value.message and exc.value.field == key
    with pytest.raises(tr.RulesError):
        tr.change(admin, {"bidding_allowed_for_transferor": "1"}, BASIS)
    assert all(c.is_default for c in tr.current())


@pytest.mark.parametrize("who", ["center_reviewer", "trading_officer", "finance", "supervisor", "station_a",
                                 "point_a1", "buyer"])
def test_only_the_center_admin_changes_a_rule(users, db, who):
    with pytest.raises(AccessDenied):
        tr.change(users[who], {"publicity_working_days": "0"}, BASIS)  # asked first: the bad value is not looked at
    assert tr.value("publicity_working_days") == 3


def test_a_form_filled_before_someone_else_saved_is_refused(users, db):
    seen = tr.digest()
    tr.change(users["admin"], {"publicity_working_days": "5"}, BASIS, seen=seen)
    db.session.commit()
    with pytest.raises(tr.RulesError) as exc:  # the other admin's form still says 3: it would silently undo the 5
        tr.change(users["admin"], {"publicity_working_days": "3", "deposit_cutoff": "15:00"}, BASIS, seen=seen)
    assert exc.value.message == tr.STALE
    db.session.rollback()
    assert (tr.value("publicity_working_days"), tr.value("deposit_cutoff")) == (5, time(16, 0))


# --- a change applies to the clocks started afterwards only ------------------------------------------------------------

@pytest.mark.article("八统一")
def test_a_changed_review_period_applies_to_the_next_application_only(users, buyers, announced, db):
    first = applied(users, announced, key="buyer")
    db.session.commit()
    assert first.review_due_at == due_after_working_days(clock.now(), 2).at
    due_before = first.review_due_at
    tr.change(users["admin"], {"qualification_review_working_days": "4"}, BASIS)
    db.session.commit()
    clock.advance(hours=1)
    second = applied(users, announced, key="buyer_org")
    db.session.commit()
    assert second.review_due_at == due_after_working_days(clock.now(), 4).at
    db.session.expire_all()
    assert first.review_due_at == due_before  # nothing recomputed


@pytest.mark.article("八统一")
def test_a_changed_deposit_cutoff_applies_to_listings_announced_afterwards(users, announced, db):
    assert clock.to_local(announced.deposit_deadline_at).time() == time(16, 0)
    assert clock.to_local(announced.deposit_deadline_at).date() == clock.to_local(announced.announce_end_at
                                                                                  - timedelta(seconds=1)).date()
    tr.change(users["admin"], {"deposit_cutoff": "15:30"}, BASIS)
    db.session.commit()
    later = published(users)
    db.session.commit()
    assert clock.to_local(later.deposit_deadline_at).time() == time(15, 30)
    db.session.expire_all()
    assert clock.to_local(announced.deposit_deadline_at).time() == time(16, 0)  # the first listing keeps its 16:00
    # the buyers qualified for each listing get its own deadline
    reg = applied(users, later, key="buyer")
    rsvc.qualify(users["center_reviewer"], reg)
    db.session.commit()
    assert reg.deposit_deadline_at == later.deposit_deadline_at


@pytest.mark.article("八统一")
def test_a_changed_publicity_length_applies_to_the_next_deal_only(users, buyers, announced, db):
    other = published(users)  # announced at the same moment as ``announced``
    db.session.commit()
    pay(users, announced, ["buyer_org"])
    pay(users, other, ["buyer"])
    db.session.commit()
    first_listing = to_trading(announced)
    first = agree(users, first_listing, db)
    assert first.publicity_end_at == due_after_working_days(first.concluded_at, 3).at
    tr.change(users["admin"], {"publicity_working_days": "5"}, BASIS)
    db.session.commit()
    clock.advance(minutes=30)
    second = agree(users, db.session.get(type(other), other.id), db)
    assert second.publicity_end_at == due_after_working_days(second.concluded_at, 5).at
    db.session.expire_all()
    assert first.publicity_end_at == due_after_working_days(first.concluded_at, 3).at  # nothing recomputed


@pytest.mark.article("八统一")
def test_the_fixed_center_rules_hold_as_published(users, buyers, announced, db):
    from exchange.idcheck import make_resident_id
    # a transferor may not register for its own listing (by its ID number, whatever account it uses)
    own = published(users, transferor_name="测试受让人", account_name="测试受让人",
                    transferor_id_no=make_resident_id("43068219900101001"))
    db.session.commit()
    with pytest.raises(rsvc.RegistrationError) as exc:
        rsvc.apply(users["buyer"], own, accept_declaration=True)
    assert "转让方不能报名受让自己的项目" in exc.value.message
    db.session.rollback()
    # one paid buyer: 协议转让, never a bidding session
    listing, _regs = open_trading(users, announced, db, keys=("buyer_org",), priority=())
    assert tsvc.way_of_trading(listing) == "agreement"
    with pytest.raises(tsvc.TradingError):
        tsvc.schedule_online(users["trading_officer"], listing, starts_at=clock.now() + timedelta(hours=1))


# --- the pages ---------------------------------------------------------------------------------------------------------

def _hidden(page: str, name: str) -> str:
    m = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page) or re.search(rf'value="([^"]*)"[^>]*name="{name}"', page)
    assert m, f"no hidden {name}"
    return m.group(1)


def _form(client) -> dict:
    page = client.get("/admin/rules").get_data(as_text=True)
    return {"csrf_token": _hidden(page, "csrf_token"), "seen": _hidden(page, "seen"), "deposit_cutoff": "16:00",
            "publicity_working_days": "3", "qualification_review_working_days": "2",
            "procurement_bid_working_days": "5", "basis": ""}


def test_the_admin_page_shows_every_rule_and_saves_a_change(client, users, db):
    login(client, "t_admin", PASSWORD)
    resp = client.get("/admin/rules")
    page = text(resp)
    assert resp.status_code == 200
    for r in tr.RULES:
        assert r.name in page
    assert 'action="/admin/rules"' in page and "系统默认" in page and "规则尚未调整过" in page
    data = {**_form(client), "publicity_working_days": "5", "basis": BASIS}
    resp = client.post("/admin/rules", data=data)
    assert resp.status_code == 302 and resp.location.endswith("/admin/rules")
    page = text(client.get("/admin/rules"))
    assert "已调整：交易公示期 3 个工作日 → 5 个工作日" in page and "此后开始计算的期限" in page
    assert BASIS in page and "“交易公示期”：3 个工作日 → 5 个工作日" in page  # the change record
    assert tr.value("publicity_working_days") == 5
    # the same form again (its fingerprint is now stale): refused, the new value shown
    resp = client.post("/admin/rules", data={**data, "publicity_working_days": "6"})
    assert resp.status_code == 400 and tr.STALE in text(resp) and tr.value("publicity_working_days") == 5
    # saving without a change says so
    resp = client.post("/admin/rules", data=_form(client) | {"publicity_working_days": "5"}, follow_redirects=True)
    assert "没有改动任何规则" in text(resp)


def test_the_admin_page_refuses_a_bad_value_next_to_its_field(client, users, db):
    login(client, "t_admin", PASSWORD)
    resp = client.post("/admin/rules", data={**_form(client), "publicity_working_days": "0", "basis": BASIS})
    page = text(resp)
    assert resp.status_code == 400 and "交易公示期应为 1–10 个工作日" in page and 'aria-invalid="true"' in page
    resp = client.post("/admin/rules", data={**_form(client), "deposit_cutoff": "18:00", "basis": BASIS})
    assert resp.status_code == 400 and "08:00 至 17:30" in text(resp)
    resp = client.post("/admin/rules", data={**_form(client), "publicity_working_days": "4"})
    assert resp.status_code == 400 and "请填写调整依据" in text(resp)
    resp = client.post("/admin/rules", data={k: v for k, v in _form(client).items() if k != "csrf_token"}
                       | {"publicity_working_days": "4", "basis": BASIS})
    assert resp.status_code == 400
    assert tr.value("publicity_working_days") == 3 and _audit(db) == []


@pytest.mark.parametrize("username", ["t_reviewer", "t_finance", "t_point_a1", "t_station_a", "t_supervisor",
                                      "t_buyer"])
def test_the_admin_page_is_refused_to_everyone_else(client, users, db, username):
    login(client, username, PASSWORD)
    assert client.get("/admin/rules").status_code == 403
    page = text(client.get("/rules"))
    resp = client.post("/admin/rules", data={"csrf_token": _hidden(page, "csrf_token"), "seen": tr.digest(),
                                             "deposit_cutoff": "16:00", "publicity_working_days": "5",
                                             "qualification_review_working_days": "2", "basis": BASIS})
    assert resp.status_code == 403 and tr.value("publicity_working_days") == 3
    assert "交易规则设置" not in page  # not in their menu


def test_the_admin_page_sends_nobody_to_sign_in(client, db):
    assert client.get("/admin/rules").status_code == 302
    resp = client.post("/admin/rules", data={"csrf_token": get_csrf(client), "publicity_working_days": "5"})
    assert resp.status_code == 302 and "/login" in resp.location and tr.value("publicity_working_days") == 3


@pytest.mark.article("八统一")
def test_the_public_page_publishes_every_rule_with_its_source(client, users, frozen, db):
    resp = client.get("/rules")  # nobody signed in
    page = text(resp)
    assert resp.status_code == 200
    rows = dict(re.findall(r'<tr id="rule-([a-z_]+)">(.*?)</tr>', page, re.S))
    assert set(rows) == {r.key for r in tr.RULES}
    for r in tr.RULES:
        row = rows[r.key]
        assert r.name in row and r.show(r.default) in row and r.source in row and r.explanation in row
    assert "管理办法 第十六条" in rows["contract_working_days"] and "5 个工作日" in rows["contract_working_days"]
    assert "中心规则" in rows["deposit_cutoff"] and "16:00" in rows["deposit_cutoff"]
    assert "统一交易规则" in page and "第五条" in page
    assert "农户承包土地经营权" in page and "个工作日" in page.split('id="announce"', 1)[1]  # each category's 公告期
    # a change is published at once, with its basis and from when it applies
    tr.change(users["admin"], {"deposit_cutoff": "15:30"}, BASIS)
    db.session.commit()
    row = dict(re.findall(r'<tr id="rule-([a-z_]+)">(.*?)</tr>', text(client.get("/rules")), re.S))["deposit_cutoff"]
    assert "15:30" in row and "16:00" not in row and BASIS in row and "起执行" in row


@pytest.mark.article("八统一")
def test_the_public_page_is_linked_from_the_site_navigation_and_footer(client, db):
    page = text(client.get("/"))
    nav = page.split('aria-label="主导航"', 1)[1].split("</nav>", 1)[0]
    footer = page.split('class="site-footer"', 1)[1]
    assert 'href="/rules"' in nav and "交易规则" in nav
    assert 'href="/rules"' in footer
