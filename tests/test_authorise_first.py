"""Authorise first, everywhere (issue 14, item 13, generalised): a caller with no right to an action learns nothing
from trying it — neither the state of the object nor the rules of the input.

Every mutating route of the application (the FULL ``app.url_map``, walked at run time with the helpers of
``tests/helpers.py``, so routes added later are covered) is called by callers who may not use it:

* nobody signed in — a page must send them to the sign-in page, the API answer 401;
* the read-only supervisor (监管), who may read everything;
* a public buyer (t_buyer3) who is a party to nothing here;
* a village clerk and a station reviewer of another town (江南镇; every object here belongs to 长安街道);

on pages with the session and its CSRF token, in the API with a bearer token and with the session, each time with
an EMPTY body and with GARBAGE (wrong types, unknown choices and fields, a malformed JSON document, a file that is
no PDF), against objects in several states:

* ``trading``: a draft listing of town a (with its materials), a published one with a buyer's application, a
  suspended one, and one in 签约 with its bidding session, deal (an objection filed and dismissed during 交易公示),
  overdue contract, losers' refunds, a dispute, a supervision warning and an imported bank statement — and ids
  that do not exist;
* ``settlement``: a listing in 结算 with its settlement (price received) and the payout waiting to be transferred;
* ``default``: a listing in 违约处理 with its case and the offer made to the runner-up.

Every answer must be 401/403/404 (the sign-in redirect for nobody on a page) — never 400, 409, 422, a 2xx or a
redirect elsewhere, which would mean the body or the object's state was looked at before the caller's right — and
its message must not name the object's state.  Nothing in the database may change.
"""
from __future__ import annotations

import io
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from exchange import clock
from exchange.incidents import breach as dsvc
from exchange.incidents import disputes as dispute_svc
from exchange.incidents import suspension as ssvc
from exchange.listings import services as lsvc
from exchange.payments import statements as statement_svc
from exchange.settlement import services as stl
from exchange.trading import services as tsvc
from tests.builders import ALL_OK, PDF, applied, attach, category, csv_bytes, household_fields, new_household_listing
from tests.factories import PASSWORD
from tests.helpers import (OPEN_TO_EVERYONE, api_csrf, csrf_from, fingerprint, login, rule_url, text, token_headers,
                           write_rules)

pytestmark = pytest.mark.usefixtures("uploads")

CALLERS = {"supervisor": "t_supervisor", "buyer_3": "t_buyer3", "point_b1": "t_point_b1", "station_b": "t_station_b",
           "anonymous": None}

# Beyond OPEN_TO_EVERYONE (tests/helpers.py: sign-in, registration, the payment callback, public
# objections …), the routes some of these callers may legitimately use — their answer to an empty or garbage body
# is about the body, because they do have the right.  Per caller, each with the reason.
LEGITIMATE = {
    "buyer_3": {
        "listings.new": "公众账号可以自行提出转出申请（本人为转让方）",
        "api_listings.create_listing": "公众账号可以自行提出转出申请（本人为转让方）",
        "registrations.apply": "意向受让方报名公告中的项目",
        "api_registrations.apply": "意向受让方报名公告中的项目",
    },
    "point_b1": {
        "listings.new": "交易点信息员在本村录入挂牌项目",
        "api_listings.create_listing": "交易点信息员在本村录入挂牌项目",
        "procurement.new": "交易点信息员为本村新建招标采购项目",
    },
    "station_b": {},
    "supervisor": {},
    "anonymous": {},
}

# words that describe an object's state or stage: a refusal must not carry them
STATE_WORDS = ("状态", "已中止", "暂停", "阶段", "尚未", "已经", "草稿", "公告期", "已发布", "已报名", "已成交", "已处理",
               "已登记", "已撤销", "已生效", "未处于")

GARBAGE = {"reason": "?" * 3000, "decision": "maybe", "approve": "maybe", "upheld": "perhaps", "accept": "perhaps",
           "ground": "不存在的情形", "basis": "", "amount": "abc" * 10, "price": "-1", "key": "k", "note": "x" * 5000,
           "method": "nonsense", "registration_id": "x", "starts_at": "tomorrow", "outcome": "whatever",
           "title": "", "category_id": "x", "is_workday": "sometimes", "active": "maybe", "unknown_field": "1",
           "source_key": "x" * 300, "bank_ref": "x" * 300, "arrived_at": "yesterday, about noon", "password": "",
           "text": "x" * 5000, "resolution": "x" * 5000, "kind": "nonsense", "name": "x" * 500, "claims": "?"}


def _published(users, db, **kw):
    listing = new_household_listing(users, **kw)
    attach(listing, users["point_a1"])
    lsvc.submit(users["point_a1"], listing)
    lsvc.station_decide(users["station_a"], listing, True)
    lsvc.center_decide(users["center_reviewer"], listing, "approve", ALL_OK)
    db.session.commit()
    return listing


@pytest.fixture
def dismissed_objection(buyers, online_deal, db):
    """During 交易公示 of the deal (before ``overdue_world`` ends it): an objection, filed and dismissed."""
    deal, _regs = online_deal
    obj = tsvc.file_objection(None, deal, name="某村民", contact="13900001111",
                              content="该地块东侧约三亩属于我家承包范围，请交易中心核实权属后再签约。")
    tsvc.decide_objection(buyers["center_reviewer"], obj, upheld=False, decision="经核实权属清楚，异议不成立")
    db.session.commit()
    return obj


@pytest.fixture
def trading_world(buyers, dismissed_objection, overdue_world, db):
    users = buyers
    contract_listing = db.session.get(lsvc.Listing, overdue_world["listing_id"])
    dispute = dispute_svc.open_dispute(users["center_reviewer"], contract_listing, applicant="某村民",
                                       respondent="农户演示", claims="申请人主张地块东侧三亩属其承包范围，请求调解。")
    t = clock.to_local(clock.now() - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")
    stmt = statement_svc.import_statement(users["finance"], csv_bytes([["B001", t, "", "800.00", "某人", "6222",
                                                                        "房租"]]), "流水.csv")
    db.session.commit()
    draft = new_household_listing(users, title="新建村 10 亩水田经营权出租（草稿）")
    attach(draft, users["point_a1"])
    db.session.commit()
    published = _published(users, db)
    reg = applied(users, published, key="buyer")
    db.session.commit()
    suspended = _published(users, db)
    ssvc.suspend(users["center_reviewer"], suspended, ground="authority",
                 basis="临湘市农业农村局 临农函〔2026〕101号：该地块权属待核实，中止交易", document=PDF,
                 document_filename="中止通知.pdf")
    db.session.commit()
    contract = {**overdue_world, "objection_id": dismissed_objection.id, "dispute_id": dispute.id, "stmt_id": stmt.id,
                "line_id": stmt.lines[0].id}
    return {
        "contract": contract,
        "draft": {**contract, "listing_id": draft.id, "material_id": draft.materials[0].id},
        "published": {**contract, "listing_id": published.id, "reg_id": reg.id},
        "suspended": {**contract, "listing_id": suspended.id},
        "missing": {k: (999999 if isinstance(v, int) else "999999") for k, v in contract.items()},
    }


@pytest.fixture
def settlement_world(buyers, effective, db):
    """An agreement deal with buyer_org, its contract effective: the price received, the fees charged, the payout
    waiting to be transferred."""
    deal = effective
    s = stl.ensure_settlement(deal)
    db.session.commit()
    stl.confirm_receipt(buyers["finance"], s, str(s.amount_to_pay), source_key="R-1", receipt=PDF,
                        receipt_filename="回单.pdf")
    db.session.commit()
    payout = stl.charge_fees(buyers["finance"], s)
    db.session.commit()
    return {"settlement": {"listing_id": deal.listing_id, "deal_id": deal.id, "deal_no": deal.deal_no,
                           "settlement_id": s.id, "payout_id": payout.id, "reg_id": deal.registration_id}}


@pytest.fixture
def default_world(buyers, overdue_contract, db):
    """The winner did not sign: the center declared the default and offered the deal to the runner-up."""
    deal, regs = overdue_contract
    case = dsvc.declare_default(buyers["center_reviewer"], db.session.get(lsvc.Listing, deal.listing_id),
                                reason="买受人逾期未签订合同，经电话和书面催告仍未签订")
    db.session.commit()
    offer = dsvc.offer_to_runner_up(buyers["center_reviewer"], case, regs["buyer_coop"].id)
    db.session.commit()
    return {"default": {"listing_id": deal.listing_id, "deal_id": deal.id, "deal_no": deal.deal_no,
                        "case_id": case.id, "offer_id": offer.id, "reg_id": regs["buyer_coop"].id}}


def _bodies(api: bool, token: str) -> list[tuple[str, dict]]:
    if not api:
        return [("empty form", {"data": {"csrf_token": token}}),
                ("garbage form", {"data": {**GARBAGE, "csrf_token": token,
                                           "file": (io.BytesIO(b"not a pdf"), "x.exe")},
                                  "content_type": "multipart/form-data"})]
    return [("no body", {}),
            ("empty json", {"json": {}}),
            ("garbage json", {"json": GARBAGE}),
            ("malformed json", {"data": b"{not json", "content_type": "application/json"}),
            ("garbage multipart", {"data": {**GARBAGE, "file": (io.BytesIO(b"not a pdf"), "x.exe")},
                                   "content_type": "multipart/form-data"})]


def _problem(resp, api: bool, who: str) -> str | None:
    """Why this answer is not a clean refusal (None when it is)."""
    code = resp.status_code
    if who == "anonymous" and not api:
        if code in (302, 303) and "/login" in resp.headers.get("Location", ""):
            return None
        return f"{code} (expected the sign-in redirect)"
    if who == "anonymous" and code != 401:
        return f"{code} (expected 401)"
    if code not in (401, 403, 404):
        return str(code)
    if api:
        data = resp.get_json(silent=True) or {}
        said = f"{data.get('message', '')} {data.get('fields', '')}"
    else:
        said = text(resp)
    named = [w for w in STATE_WORDS if w in said]
    return f"{code} naming the state ({'/'.join(named)})" if named else None


def _walk(app, client, db, buyers, situations: dict, who: str, every_route: bool) -> tuple[dict, Counter, bool]:  # noqa: E501
    """Every write route called as ``who``: (the routes that did not refuse cleanly, with what they said; the
    statuses; whether the database stayed as it was)."""
    username = CALLERS[who]
    if username is not None:
        bearer = token_headers(db, buyers, who)
        login(client, username, PASSWORD)
        page_token = csrf_from(text(client.get("/work")))
    else:
        bearer = {}
        page_token = csrf_from(text(client.get("/login")))
    api_token = api_csrf(client)
    before = fingerprint(db)
    base = next(iter(situations.values()))
    failures, statuses = {}, Counter()
    for rule, method in write_rules(app):
        if rule.endpoint in OPEN_TO_EVERYONE or rule.endpoint in LEGITIMATE[who]:
            continue
        if not every_route and not set(rule.arguments) & set(base):
            continue  # a route about none of this world's objects: walked in the trading world
        api = rule.rule.startswith("/api/")
        for name, ids in situations.items():
            if ids is not base and not any(ids.get(a) != base.get(a) for a in rule.arguments):
                continue  # the same URL as in the first situation
            url = rule_url(rule, ids)
            channels = [("session", {"X-CSRFToken": api_token} if api else {})]
            if api and bearer:
                channels.insert(0, ("bearer", bearer))
            for body, kwargs in _bodies(api, page_token):
                for channel, headers in channels:
                    if isinstance(kwargs.get("data"), dict):  # a file is consumed by each request
                        kwargs = {**kwargs, "data": {k: ((io.BytesIO(b"not a pdf"), v[1]) if isinstance(v, tuple)
                                                         else v) for k, v in kwargs["data"].items()}}
                    resp = client.open(url, method=method, headers=headers, **kwargs)
                    statuses[resp.status_code] += 1
                    problem = _problem(resp, api, who)
                    if problem:
                        failures.setdefault(f"{method} {rule.rule} [{rule.endpoint}]", []).append(
                            f"{name}, {channel}, {body} → {problem}: {text(resp)[:200] if api else ''}")
    return failures, statuses, fingerprint(db) == before


@pytest.mark.parametrize("who", list(CALLERS))
@pytest.mark.parametrize("world_name", ["trading_world", "settlement_world", "default_world"])
def test_a_caller_without_the_right_learns_nothing(app, client, buyers, db, request, world_name, who):
    situations = request.getfixturevalue(world_name)
    failures, statuses, unchanged = _walk(app, client, db, buyers, situations, who,
                                          every_route=world_name == "trading_world")
    called = sum(statuses.values())
    assert unchanged, "a refused call changed the database"
    assert called > (1000 if world_name == "trading_world" else 100), called  # the whole map, not a sample
    assert not failures, f"{len(failures)} routes answer before they authorise ({called} calls, {dict(statuses)}):\n" \
        + "\n".join(f"{route}: {len(found)} calls, e.g. {found[0]}" for route, found in failures.items())


def test_the_exclusions_name_real_routes(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules()}
    for who, routes in LEGITIMATE.items():
        assert set(routes) <= endpoints, (who, set(routes) - endpoints)


# --- the services themselves: who asks, before what is asked ------------------------------------------------------

def _service_calls(users, objects) -> dict:
    """Each service that acts, called with garbage on an object in a state where it could not act anyway."""
    from exchange.certificates import services as certs
    from exchange.certificates.models import Certificate
    from exchange.contracts import services as csvc
    from exchange.incidents import termination as xsvc
    from exchange.ledger import refunds as rf
    from exchange.listings.workflow import fire
    from exchange.payments import services as psvc
    from exchange.registrations import services as rsvc
    from exchange.payments import deposits
    from exchange.supervision import alerts
    o = objects
    return {
        "listings.update_draft (在签约中)": lambda u: lsvc.update_draft(u, o["contract_listing"], title=""),
        "listings.add_material (公告中)": lambda u: lsvc.add_material(u, o["published"], "nonsense", b"x", "x.exe"),
        "listings.remove_material": lambda u: lsvc.remove_material(u, o["draft"].materials[0]),
        "listings.create_draft (停用的外镇交易点)": lambda u: lsvc.create_draft(u, category=None, point=o["closed_point"]),
        "listings.submit": lambda u: lsvc.submit(u, o["published"]),
        "listings.station_decide": lambda u: lsvc.station_decide(u, o["published"], True, ""),
        "listings.center_decide": lambda u: lsvc.center_decide(u, o["published"], "nonsense"),
        "listings.request_station_opinion": lambda u: lsvc.request_station_opinion(u, o["published"], ""),
        "listings.give_station_opinion": lambda u: lsvc.give_station_opinion(u, o["published"], ""),
        "workflow.fire relist_submit": lambda u: fire(o["draft"], "relist_submit", u),
        "registrations.apply (草稿)": lambda u: rsvc.apply(u, o["draft"], accept_declaration=False),
        "registrations.add_material (已交保证金)": lambda u: rsvc.add_material(u, o["paid_reg"], "x", b"x", "x.exe"),
        "registrations.qualify": lambda u: rsvc.qualify(u, o["paid_reg"]),
        "registrations.reject": lambda u: rsvc.reject(u, o["paid_reg"], ""),
        "registrations.confirm_deposit": lambda u: deposits.confirm_deposit(u, o["applied_reg"], "abc", source_key=""),
        "payments.start_online_payment": lambda u: psvc.start_online_payment(u, o["applied_reg"], "nonsense"),
        "trading.place_bid": lambda u: tsvc.place_bid(u, o["session"].id, "abc", key="k"),
        "trading.schedule_online": lambda u: tsvc.schedule_online(u, o["draft"], starts_at=None),
        "trading.record_offline": lambda u: tsvc.record_offline(u, o["draft"], method="x", registration_id=0,
                                                                price="x", held_on="x"),
        "trading.confirm_agreement": lambda u: tsvc.confirm_agreement(u, o["draft"]),
        "trading.relist": lambda u: tsvc.relist(u, o["draft"]),
        "trading.decide_objection (已处理)": lambda u: tsvc.decide_objection(u, o["objection"], upheld=True,
                                                                          decision=""),
        "suspension.suspend (草稿)": lambda u: ssvc.suspend(u, o["draft"], ground="x", basis=""),
        "suspension.apply_restart (公告中)": lambda u: ssvc.apply_restart(u, o["published"], reason=""),
        "suspension.decide_restart": lambda u: ssvc.decide_restart(u, o["suspended"], approve=True, decision=""),
        "exceptions.terminate (草稿)": lambda u: xsvc.terminate(u, o["draft"], ground="x", basis=""),
        "defaults.declare_default": lambda u: dsvc.declare_default(u, o["published"], reason=""),
        "disputes.open_dispute": lambda u: dispute_svc.open_dispute(u, o["draft"], applicant="", respondent="",
                                                                    claims=""),
        "disputes.add_note": lambda u: dispute_svc.add_note(u, o["dispute"], ""),
        "disputes.close": lambda u: dispute_svc.close(u, o["dispute"], outcome="x", text=""),
        "contracts.confirm": lambda u: csvc.confirm(u, o["contract"], ""),
        "contracts.upload_scan": lambda u: csvc.upload_scan(u, o["contract"], None),
        "contracts.check": lambda u: csvc.check(u, o["contract"], approve=True),
        "contracts.edit_clauses": lambda u: csvc.edit_clauses(u, o["contract"], "x"),
        "certificates.issue": lambda u: certs.issue(u, o["deal"]),
        "certificates.reissue (仍然有效)": lambda u: certs.reissue(u, Certificate(state="valid", cert_no="X")),
        "refunds.record_transfer": lambda u: rf.record_transfer(u, o["refund"], ""),
        "refunds.approve": lambda u: rf.approve(u, o["refund"]),
        "statements.import_statement": lambda u: statement_svc.import_statement(u, b"", "x"),
        "statements.decide": lambda u: statement_svc.decide(u, o["line"], "x"),
        "alerts.acknowledge": lambda u: alerts.acknowledge(u, o["alert"], "x" * 5000),
        "alerts.resolve": lambda u: alerts.resolve(u, o["alert"], ""),
    }


# the calls some of the callers may make (their refusal is then about the object or the input)
SERVICE_LEGITIMATE = {
    "buyer_3": {"listings.create_draft (停用的外镇交易点)": "转让方本人可以选择任何交易点申请",
                "registrations.apply (草稿)": "交易主体可以报名（草稿项目不能报名，这是对本人说的）"},
}


def test_the_services_ask_who_before_what(buyers, trading_world, db):
    from exchange.contracts.models import Contract
    from exchange.ledger.models import Refund
    from exchange.orgs import services as orgs
    from exchange.orgs.models import OrgUnit
    from exchange.payments.models import StatementLine
    from exchange.registrations.models import Registration
    from exchange.supervision.models import SupervisionAlert
    from exchange.trading.models import BiddingSession, Deal, Objection
    from exchange.access import AccessDenied
    from exchange.incidents.models import Dispute
    ids = trading_world
    closed = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "LX-01-02"))  # 长安街道茶园村
    orgs.set_org_active(buyers["admin"], closed, False)
    db.session.commit()
    get = db.session.get
    objects = {
        "draft": get(lsvc.Listing, ids["draft"]["listing_id"]),
        "published": get(lsvc.Listing, ids["published"]["listing_id"]),
        "suspended": get(lsvc.Listing, ids["suspended"]["listing_id"]),
        "contract_listing": get(lsvc.Listing, ids["contract"]["listing_id"]),
        "closed_point": closed,
        "applied_reg": get(Registration, ids["published"]["reg_id"]),
        "paid_reg": get(Registration, ids["contract"]["reg_id"]),
        "session": get(BiddingSession, ids["contract"]["session_id"]),
        "deal": get(Deal, ids["contract"]["deal_id"]),
        "contract": get(Contract, ids["contract"]["contract_id"]),
        "objection": get(Objection, ids["contract"]["objection_id"]),
        "dispute": get(Dispute, ids["contract"]["dispute_id"]),
        "refund": get(Refund, ids["contract"]["refund_id"]),
        "line": get(StatementLine, ids["contract"]["line_id"]),
        "alert": get(SupervisionAlert, ids["contract"]["alert_id"]),
    }
    before = fingerprint(db)
    answered = []
    for who in ("supervisor", "buyer_3", "point_b1", "station_b"):
        for label, call in _service_calls(buyers, objects).items():
            if label in SERVICE_LEGITIMATE.get(who, {}):
                continue
            try:
                call(buyers[who])
            except AccessDenied:
                pass
            except Exception as exc:  # noqa: BLE001  (what it said instead of refusing)
                answered.append(f"{who}: {label} → {type(exc).__name__}: {getattr(exc, 'message', exc)}")
            else:
                answered.append(f"{who}: {label} → done")
            finally:
                db.session.rollback()
            for key, obj in objects.items():  # the rollback expired them
                objects[key] = db.session.merge(obj) if obj in db.session else obj
    assert not answered, "\n".join(answered)
    assert fingerprint(db) == before


# --- pages that a caller could read but not act on ---------------------------------------------------------------

def test_a_village_clerk_learns_no_state_of_a_direct_application_it_may_not_edit(client, users, db):
    """A transferor's own application (直接申请) is edited by the transferor or the center, never the village clerk,
    who may read it: the clerk is refused (403), not told the listing's state."""
    seller = users["buyer"]
    listing = lsvc.create_draft(seller, category=category("C01"), point=users["point_a1"].org_unit,
                                **household_fields(transferor_name=seller.party.name, account_name=seller.party.name,
                                                   transferor_id_no=seller.party.id_number))
    attach(listing, seller)
    lsvc.submit(seller, listing)
    db.session.commit()
    login(client, "t_point_a1", PASSWORD)
    page = text(client.get(f"/listings/{listing.id}"))
    resp = client.post(f"/listings/{listing.id}/edit/basics", data={"csrf_token": csrf_from(page), "title": "改"})
    assert resp.status_code == 403 and "状态" not in text(resp)


def test_staff_are_refused_an_application_whatever_the_listing(client, users, db):
    """报名 is for trading parties: staff get the same 403 for a draft as for a published listing."""
    draft = new_household_listing(users)
    published = _published(users, db)
    login(client, "t_point_b1", PASSWORD)
    token = csrf_from(text(client.get("/work")))
    for listing in (draft, published):
        assert client.post(f"/registrations/apply/{listing.id}", data={"csrf_token": token}).status_code == 403
