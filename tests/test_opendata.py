"""Open data and sharing (gov-data-rules 第十一、十七、二十五、二十六条; DESIGN §3.10): the changes feed syncs
incrementally and skips nothing, natural persons are masked and their numbers never leave, read tokens and rate
limits, bad input is a clear 400, the OpenAPI document and the integration guide."""
import re
import threading
import time
from datetime import date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from exchange import clock
from exchange.access import AccessDenied
from exchange.incidents import termination as xsvc
from exchange.extensions import db as _db
from exchange.idcheck import make_resident_id
from exchange.listings import services as lsvc
from exchange.listings.models import Listing
from exchange.web import ratelimit
from exchange.opendata import services as svc
from exchange.opendata.models import DataToken, OpenDataChange
from exchange.registrations import services as rsvc
from exchange.trading import services as tsvc
from tests.builders import ALL_OK, PDF, applied, attach, new_household_listing, pay, to_trading
from tests.factories import PASSWORD
from tests.helpers import csrf_from, login, post_form, text

pytestmark = pytest.mark.usefixtures("uploads")

OPEN = "/api/v1/open"
HOUSEHOLD_NAME = "农户演示"  # the transferor of tests.builders.household_fields
HOUSEHOLD_ID = make_resident_id("43068219650315452")
HOUSEHOLD_MOBILE = "13800000004"
HOUSEHOLD_ACCOUNT = "6210000000000001"


def publish(users, **kw) -> Listing:
    listing = new_household_listing(users, **kw)
    attach(listing, users["point_a1"])
    lsvc.submit(users["point_a1"], listing)
    lsvc.station_decide(users["station_a"], listing, True)
    lsvc.center_decide(users["center_reviewer"], listing, "approve", ALL_OK)
    _db.session.commit()
    return listing


def in_center_review(users, **kw) -> Listing:
    listing = new_household_listing(users, **kw)
    attach(listing, users["point_a1"])
    lsvc.submit(users["point_a1"], listing)
    lsvc.station_decide(users["station_a"], listing, True)
    _db.session.commit()
    return listing


def concluded(users, listing, key="buyer"):
    """One paid buyer: at the end of the announcement an agreement at its offer, in 交易公示."""
    pay(users, listing, [key])
    _db.session.commit()
    listing = to_trading(listing)
    deal = tsvc.confirm_agreement(users["trading_officer"], listing)
    _db.session.commit()
    return listing, deal


def read_all(client, since=None, limit=500, headers=None):
    """The sync loop of the integration guide: read until has_more is false; returns (items, cursor)."""
    items, cursor = [], since
    for _ in range(1000):
        url = f"{OPEN}/changes?limit={limit}" + (f"&since={cursor}" if cursor else "")
        resp = client.get(url, headers=headers or {})
        assert resp.status_code == 200, text(resp)
        body = resp.get_json()
        items += body["items"]
        cursor = body["next_cursor"]
        if not body["has_more"]:
            return items, cursor
    raise AssertionError("the feed never ended")


# --- the changes feed -------------------------------------------------------------------------------------------

def test_feed_syncs_incrementally_and_in_order(users, client, db, frozen):
    a = publish(users)
    items, cursor = read_all(client)
    assert [(i["listing"]["project_no"], i["change"]) for i in items] == [(a.project_no, "center_approve")]
    first = items[0]["listing"]
    assert first["state"] == "announced" and first["result"] is None and first["public"] is True
    assert first["town"] == "长安街道" and first["village"] == "新建村" and first["quantity"] == "32.00"
    assert first["floor_price"] == "160000.00" and first["deposit_amount"] == "16000.00"
    assert first["transferor"] == "农***" and first["announce_days"] == a.announce_days

    # nothing new: the same cursor back, nothing to read
    body = client.get(f"{OPEN}/changes?since={cursor}").get_json()
    assert body == {"items": [], "next_cursor": cursor, "has_more": False}

    # B is published, A goes to trading and is concluded, B (nobody paid) fails: two changes of each, given once
    # at the latest
    b = publish(users, title="江南镇 20 亩旱地出租")
    a, deal = concluded(users, a)
    new, cursor2 = read_all(client, since=cursor)
    assert [(i["listing"]["project_no"], i["change"]) for i in new] == [(b.project_no, "fail"),
                                                                         (a.project_no, "conclude")]
    assert new[0]["listing"]["state"] == "failed" and new[0]["listing"]["state_label"] == "流拍"
    assert new[0]["seq"] < new[1]["seq"]
    result = new[1]["listing"]["result"]
    assert result["deal_no"] == deal.deal_no and result["price"] == "160000.00"
    assert result["transferee"] == "测****" and result["transferee_kind"] == "person"
    assert new[1]["listing"]["state"] == "publicity"

    # paging: one change at a time gives every change once, in order, has_more until the last
    seqs = list(db.session.scalars(select(OpenDataChange.seq).order_by(OpenDataChange.seq)))
    assert len(seqs) == 5  # approve A, approve B, start_trading A, fail B, conclude A
    paged, cursor3 = read_all(client, limit=1)
    assert [i["seq"] for i in paged] == seqs
    assert cursor3 == cursor2
    resp = client.get(f"{OPEN}/changes?limit=2").get_json()
    assert resp["has_more"] is True and len(resp["items"]) == 2


def test_feed_reports_listings_that_left_the_race_with_their_state_only(users, client, db, frozen):
    a = publish(users)
    _, cursor = read_all(client)
    a, deal = concluded(users, a)
    xsvc.terminate(users["center_reviewer"], a, ground="authority", basis="临农函〔2026〕88号：涉及征收",
                   document=PDF, document_filename="批复.pdf")
    db.session.commit()
    items, _ = read_all(client, since=cursor)
    assert [i["change"] for i in items] == ["terminate"]
    listing = items[0]["listing"]
    assert listing["state"] == "terminated" and listing["state_label"] == "已终结" and listing["result"] is None
    # the voided deal is not public any more
    assert client.get(f"{OPEN}/results/{deal.deal_no}").status_code == 404
    assert client.get(f"{OPEN}/results").get_json()["total"] == 0
    body = text(client.get(f"{OPEN}/changes"))
    assert HOUSEHOLD_ID not in body and HOUSEHOLD_MOBILE not in body and "临农函" not in body


def test_service_page_dedups_within_a_page_only(users, db, frozen):
    a = publish(users)
    a, _ = concluded(users, a)
    page = svc.changes(None, 500)
    assert [i["change"] for i in page.items] == ["conclude"] and not page.has_more
    # with one change per page, A appears at each of its changes
    seen, cursor = [], None
    while True:
        page = svc.changes(cursor, 1)
        seen += [i["change"] for i in page.items]
        cursor = page.next_cursor
        if not page.has_more:
            break
    assert seen == ["center_approve", "start_trading", "conclude"]
    assert svc.decode_cursor(cursor) == page.last_seq


@pytest.mark.concurrency
def test_feed_skips_nothing_when_two_transactions_interleave(app, users, db, frozen):
    """T1 claims its number and holds it; T2 wants the next one: T2 cannot commit before T1, so a consumer reading
    ``seq > cursor`` meanwhile sees neither, and afterwards both, in order."""
    x = in_center_review(users, title="甲项目")
    y = in_center_review(users, title="乙项目")
    reviewer_id = users["center_reviewer"].id
    start = svc.changes(None, 500)
    cursor0 = start.next_cursor
    db.session.rollback()
    claimed, release, errors = threading.Event(), threading.Event(), []
    b_done = threading.Event()

    def approve(listing_id, before_commit=None, done=None):
        try:
            with app.app_context():
                from exchange.accounts.models import User
                clock.freeze(datetime(2026, 11, 23, 1, 0))
                reviewer = _db.session.get(User, reviewer_id)
                listing = _db.session.get(Listing, listing_id)
                lsvc.center_decide(reviewer, listing, "approve", ALL_OK)
                if before_commit:
                    before_commit()
                _db.session.commit()
                _db.session.remove()
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            if done:
                done.set()

    def hold():
        claimed.set()
        release.wait(10)

    t1 = threading.Thread(target=approve, args=(x.id, hold))
    t1.start()
    assert claimed.wait(10), errors
    # T1 has its number but has not committed: the feed shows nothing new
    assert svc.changes(cursor0, 500).items == []
    db.session.rollback()
    t2 = threading.Thread(target=approve, args=(y.id, None, b_done))
    t2.start()
    time.sleep(0.5)
    assert not b_done.is_set(), "the second writer must wait for the first to commit"
    assert svc.changes(cursor0, 500).items == []
    db.session.rollback()
    release.set()
    t1.join(20)
    t2.join(20)
    assert not errors, errors
    db.session.expire_all()
    page = svc.changes(cursor0, 500)
    assert [i["listing"]["title"] for i in page.items] == ["甲项目", "乙项目"]
    assert page.items[0]["seq"] < page.items[1]["seq"]


# --- the lists and single items -----------------------------------------------------------------------------

def test_announcements_and_results_with_filters(users, client, db, frozen, orgs):
    a = publish(users)
    b = publish(users, title="第二块水田")
    a, deal = concluded(users, a)
    body = client.get(f"{OPEN}/announcements").get_json()
    assert body["total"] == 2 and body["pages"] == 1 and {i["project_no"] for i in body["items"]} == {
        a.project_no, b.project_no}
    assert client.get(f"{OPEN}/announcements?state=publicity").get_json()["total"] == 1
    assert client.get(f"{OPEN}/announcements?town=长安街道").get_json()["total"] == 2
    assert client.get(f"{OPEN}/announcements?town=LX-05").get_json()["total"] == 0  # 江南镇 by its code
    assert client.get(f"{OPEN}/announcements?category=C01").get_json()["total"] == 2
    today = clock.today_local().isoformat()
    published = clock.to_local(a.published_at).date()
    assert client.get(f"{OPEN}/announcements?date_from={published}&date_to={published}").get_json()["total"] == 2
    assert client.get(f"{OPEN}/announcements?date_from={published + timedelta(days=1)}").get_json()["total"] == 0
    assert client.get(f"{OPEN}/announcements?per_page=1&page=2").get_json()["items"][0]["project_no"] in {
        a.project_no, b.project_no}

    one = client.get(f"{OPEN}/announcements/{a.project_no}").get_json()
    assert one["result"]["deal_no"] == deal.deal_no and one["url"] == f"/projects/{a.project_no}"
    results = client.get(f"{OPEN}/results").get_json()
    assert results["total"] == 1
    r = results["items"][0]
    assert r["project_no"] == a.project_no and r["transferee"] == "测****" and r["transferor"] == "农***"
    assert r["price"] == "160000.00" and r["method"] == "agreement" and r["concluded_date"] == today
    assert client.get(f"{OPEN}/results?date_from={today}&date_to={today}").get_json()["total"] == 1
    assert client.get(f"{OPEN}/results?state=confirmed").get_json()["total"] == 0
    assert client.get(f"{OPEN}/results/{deal.deal_no}").get_json()["deal_no"] == deal.deal_no
    assert client.get(f"{OPEN}/announcements/LXNCJY-2099-999999").status_code == 404
    assert client.get(f"{OPEN}/results/CJ-nothing").get_json()["error"] == "not_found"


def test_hidden_floor_price_and_organisation_names(users, client, db, frozen):
    listing = publish(users, show_floor_price=False)
    listing, deal = concluded(users, listing, key="buyer_org")
    one = client.get(f"{OPEN}/announcements/{listing.project_no}").get_json()
    assert one["floor_price"] is None and one["floor_price_public"] is False and one["floor_unit_price"] is None
    assert one["result"]["transferee"] == "t_buyer_org 测试公司" and one["result"]["transferee_kind"] == "organisation"
    assert client.get(f"{OPEN}/results/{deal.deal_no}").get_json()["floor_price"] is None


def test_unpublished_listings_are_not_open(users, client, db, frozen):
    in_center_review(users)
    assert client.get(f"{OPEN}/announcements").get_json()["total"] == 0
    assert client.get(f"{OPEN}/changes").get_json()["items"] == []  # no public transition yet


def test_masking_leaves_no_personal_numbers(users, client, db, frozen):
    listing = publish(users, entrusted=True, agent_name="代理人甲乙", agent_id_no=make_resident_id("43068219800101123"),
                      agent_mobile="13711112222")
    reg = applied(users, listing, key="buyer_org", by_agent=True, agent_name="受托人丙丁",
                  agent_id_no=make_resident_id("43068219850505321"))
    rsvc.qualify(users["center_reviewer"], reg)
    listing, deal = concluded(users, listing)
    bodies = [text(client.get(u)) for u in (f"{OPEN}/announcements", f"{OPEN}/results", f"{OPEN}/changes",
                                            f"{OPEN}/announcements/{listing.project_no}",
                                            f"{OPEN}/results/{deal.deal_no}")]
    secrets = [HOUSEHOLD_NAME, HOUSEHOLD_ID, HOUSEHOLD_MOBILE, HOUSEHOLD_ACCOUNT, "代理人甲乙", "13711112222",
               make_resident_id("43068219800101123"), "受托人丙丁", make_resident_id("43068219850505321"),
               "测试受让人", users["buyer"].party.id_number, users["buyer"].mobile, "13900000002",
               users["buyer_org"].party.uscc]
    for body in bodies:
        for secret in secrets:
            assert secret not in body, (secret, body[:400])
    assert "农***" in bodies[0] and "测****" in bodies[1]


# --- read tokens ------------------------------------------------------------------------------------------------

def test_token_services(users, db, frozen):
    with pytest.raises(AccessDenied):
        svc.create_token(users["supervisor"], name="平台", consumer="大数据中心")
    with pytest.raises(svc.OpenDataError) as exc:
        svc.create_token(users["admin"], name="平台", consumer="大数据中心", per_minute=0)
    assert exc.value.field == "per_minute"
    with pytest.raises(svc.OpenDataError) as exc:
        svc.create_token(users["admin"], name="", consumer="大数据中心")
    assert exc.value.field == "name"
    token, secret = svc.create_token(users["admin"], name="临湘市政务数据共享平台", consumer="临湘市大数据中心",
                                     per_minute=120, days=30)
    db.session.commit()
    assert secret.startswith("lxod_") and token.prefix == secret[:12] and token.token_hash != secret
    assert svc.authenticate(secret).id == token.id
    for bad, reason in [("lxod_nope", "unknown"), ("garbage", "malformed"), ("lxt_user-token", "unknown")]:
        with pytest.raises(svc.TokenError) as exc:
            svc.authenticate(bad)
        assert exc.value.reason == reason
    clock.advance(days=31)
    with pytest.raises(svc.TokenError) as exc:
        svc.authenticate(secret)
    assert exc.value.reason == "expired" and "过期" in exc.value.message
    with pytest.raises(AccessDenied):
        svc.revoke_token(users["center_reviewer"], token.id)
    svc.revoke_token(users["admin"], token.id)
    svc.revoke_token(users["admin"], token.id)  # twice: nothing more happens
    db.session.commit()
    with pytest.raises(svc.TokenError) as exc:
        svc.authenticate(secret)
    assert exc.value.reason == "revoked"
    from exchange.audit.models import AuditEntry
    actions = list(db.session.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "data_token")
                                      .order_by(AuditEntry.seq)))
    assert actions == ["datatoken.create", "datatoken.revoke"]


def _new_token_over_http(client, per_minute="600", **extra):
    resp = post_form(client, "/admin/data-tokens", {"name": "临湘市政务数据共享平台", "consumer": "临湘市大数据中心",
                                                    "contact": "王工 0730-0000000", "per_minute": per_minute, **extra})
    assert resp.status_code == 200, text(resp)
    m = re.search(r"data-token-secret>([^<]+)<", text(resp))
    assert m, "the new token is shown once"
    return m.group(1).strip()


def test_admin_pages_issue_and_revoke_tokens(users, client, db, frozen):
    login(client, "t_admin", PASSWORD)
    assert "开放数据访问令牌" in text(client.get("/admin/data-tokens"))
    secret = _new_token_over_http(client, per_minute="7")
    # shown once: the list shows the prefix only
    listing_page = text(client.get("/admin/data-tokens"))
    assert secret not in listing_page and secret[:12] in listing_page
    auth = {"Authorization": f"Bearer {secret}"}
    resp = client.get(f"{OPEN}/announcements", headers=auth)
    assert resp.status_code == 200 and resp.headers["X-RateLimit-Limit"] == "7"
    token = db.session.scalar(select(DataToken))
    assert token.last_used_at is not None and token.per_minute == 7 and token.created_by_id == users["admin"].id
    # bad input changes nothing
    resp = post_form(client, "/admin/data-tokens", {"name": "x", "consumer": "", "per_minute": "0"})
    assert resp.status_code == 400 and "请填写使用单位" in text(resp)
    assert db.session.scalar(select(func.count(DataToken.id))) == 1
    # revoke needs the CSRF token
    assert client.post(f"/admin/data-tokens/{token.id}/revoke").status_code == 400
    resp = post_form(client, f"/admin/data-tokens/{token.id}/revoke", {}, page="/admin/data-tokens")
    assert resp.status_code == 302
    resp = client.get(f"{OPEN}/announcements", headers=auth)
    body = resp.get_json()
    assert resp.status_code == 401 and body["error"] == "invalid_token" and "吊销" in body["message"]
    assert post_form(client, "/admin/data-tokens/999/revoke", {}, page="/admin/data-tokens").status_code == 404


@pytest.mark.parametrize("who", ["supervisor", "center_reviewer", "finance", "point_a1", "buyer"])
def test_token_pages_are_for_the_admin_only(users, client, db, who):
    login(client, users[who].username, PASSWORD)
    assert client.get("/admin/data-tokens").status_code == 403
    csrf = csrf_from(text(client.get("/open-data")))  # the sign-out form of the page carries one
    resp = client.post("/admin/data-tokens",
                       data={"name": "x", "consumer": "y", "per_minute": "5", "csrf_token": csrf})
    assert resp.status_code == 403
    assert client.post("/admin/data-tokens/1/revoke", data={"csrf_token": csrf}).status_code == 403
    assert db.session.scalar(select(func.count(DataToken.id))) == 0


def test_token_pages_need_sign_in(client, db):
    resp = client.get("/admin/data-tokens")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


@pytest.mark.parametrize("header", ["Bearer lxod_not-a-real-token", "Bearer ", "Basic abc", "Token xyz",
                                    "Bearer lxt_a-user-api-token"])
def test_bad_tokens_are_401_never_anonymous(client, db, header):
    resp = client.get(f"{OPEN}/announcements", headers={"Authorization": header})
    assert resp.status_code == 401
    body = resp.get_json()
    assert body["error"] == "invalid_token" and ("令牌" in body["message"] or "Bearer" in body["message"])


# --- rate limits ------------------------------------------------------------------------------------------------

@pytest.fixture
def tight_limits(app, monkeypatch):
    monkeypatch.setitem(app.config, "OPEN_DATA_ANON_LIMIT", "3/minute")
    limiter = ratelimit.limiter_of(app)
    limiter.reset()
    yield limiter
    limiter.reset()


def test_rate_limits_anonymous_per_ip_and_tokens_on_their_own(users, client, db, tight_limits):
    # an address of its own: no other request of this worker (a server thread of another test) can share its count
    here = {"REMOTE_ADDR": "10.77.0.1"}
    for i in range(3):
        resp = client.get(f"{OPEN}/announcements", environ_base=here)
        assert resp.status_code == 200 and resp.headers["X-RateLimit-Remaining"] == str(2 - i)
    resp = client.get(f"{OPEN}/changes", environ_base=here)  # one count over every open endpoint
    assert resp.status_code == 429
    assert 1 <= int(resp.headers["Retry-After"]) <= 60
    body = resp.get_json()
    assert body["error"] == "too_many_requests" and "每分钟最多 3 次" in body["message"]
    assert body["retry_after"] == int(resp.headers["Retry-After"])
    # another address has its own count
    assert client.get(f"{OPEN}/announcements", environ_base={"REMOTE_ADDR": "10.9.8.7"}).status_code == 200
    # a token has its own, higher limit
    _, secret = svc.create_token(users["admin"], name="平台", consumer="大数据中心", per_minute=5)
    db.session.commit()
    auth = {"Authorization": f"Bearer {secret}"}
    for _ in range(5):
        assert client.get(f"{OPEN}/announcements", headers=auth).status_code == 200
    resp = client.get(f"{OPEN}/announcements", headers=auth)
    assert resp.status_code == 429 and "该令牌每分钟最多 5 次" in resp.get_json()["message"]
    # other pages and the business API are not limited by it
    assert client.get("/api/v1/system/time").status_code == 200
    assert client.get("/open-data").status_code == 200


# --- bad input ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("query", [
    "changes?limit=-1", "changes?limit=0", "changes?limit=100000", "changes?limit=abc", "changes?limit=1.5",
    "changes?since=garbage!", "changes?since=" + "A" * 80, "changes?since=bm90LWEtY3Vyc29y",  # "not-a-cursor"
    "changes?since=" + svc.encode_cursor(10 ** 9), "changes?since=b2QxOi0x", "changes?since=b2QxOjAx",
    "announcements?date_from=2026-13-45", "announcements?date_from=nonsense", "announcements?date_to=2026-02-30",
    "announcements?date_from=2026-12-01&date_to=2026-11-01", "announcements?town=火星镇",
    "announcements?category=C99", "announcements?state=draft", "announcements?per_page=0",
    "announcements?per_page=100000", "announcements?page=0", "announcements?page=abc",
    "announcements?page=99999999999999999999", "results?state=void", "results?town=%00",
    "results?date_from=0000-00-00", "results?per_page=-5", "announcements?category=C01%00",
    "announcements?town=%E6%B1%9F%0A",
])
def test_bad_input_is_a_clear_400(users, client, db, query):
    resp = client.get(f"{OPEN}/{query}")
    assert resp.status_code == 400, (query, text(resp))
    body = resp.get_json()
    assert body["error"] == "invalid" and body["fields"], body
    assert re.search(r"[\u4e00-\u9fff]", body["message"]), body  # Chinese, for a person to read


@pytest.mark.parametrize("path", ["announcements/%00", "results/%00", "announcements/LX%0ANC", "results/%FF%FE"])
def test_odd_item_numbers_are_404(client, db, path):
    resp = client.get(f"{OPEN}/{path}")
    assert resp.status_code == 404 and resp.get_json()["error"] == "not_found"


def test_cursor_roundtrip_and_forgery(users, db, frozen):
    publish(users)
    page = svc.changes(None, 10)
    assert svc.decode_cursor(page.next_cursor) == page.last_seq > 0
    assert svc.decode_cursor(None) == 0 and svc.decode_cursor("") == 0
    with pytest.raises(svc.OpenDataError):
        svc.decode_cursor(svc.encode_cursor(page.last_seq + 1000))  # beyond anything issued
    with pytest.raises(svc.OpenDataError):
        svc.changes(None, 501)


# --- documentation ------------------------------------------------------------------------------------------------

def test_openapi_documents_the_open_endpoints(client, db):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in ("/announcements", "/announcements/{project_no}", "/results", "/results/{deal_no}", "/changes"):
        op = spec["paths"][OPEN + path]["get"]
        assert op["summary"] and {"openDataToken": []} in op["security"] and {} in op["security"]
        assert {"400", "401", "429"} <= set(op["responses"])
    scheme = spec["components"]["securitySchemes"]["openDataToken"]
    assert scheme["scheme"] == "bearer" and "令牌" in scheme["description"]
    assert "Changes" in spec["components"]["schemas"]


def test_integration_guide_is_public_and_linked(client, db, orgs):
    page = text(client.get("/open-data"))
    for words in ("接口一览", "脱敏规则", "增量同步", "next_cursor", "has_more", "Retry-After", "invalid_token",
                  "长安街道", "LX-05", "Authorization: Bearer"):
        assert words in page, words
    assert 'href="/open-data"' in text(client.get("/"))


# --- property: no open endpoint ever returns personal data -------------------------------------------------------

SURNAMES = "鞠禤蒯麴宓隗滕邝濮"
GIVEN = "骞翊旻昶珏瑄琮璟骁湜"


@st.composite
def person(draw):
    name = draw(st.sampled_from(SURNAMES)) + "".join(draw(st.lists(st.sampled_from(GIVEN), min_size=1, max_size=2)))
    born = draw(st.dates(date(1950, 1, 1), date(2000, 12, 31)))
    id_number = make_resident_id(f"430682{born:%Y%m%d}{draw(st.integers(0, 999)):03d}")
    mobile = f"1{draw(st.sampled_from('3456789'))}{draw(st.integers(0, 10 ** 9 - 1)):09d}"
    account = "6" + "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=15, max_size=18)))
    return {"name": name, "id": id_number, "mobile": mobile, "account": account}


@st.composite
def world(draw):
    n = draw(st.integers(1, 2))
    people = draw(st.lists(person(), min_size=4 * n, max_size=4 * n,
                           unique_by=(lambda p: p["id"], lambda p: p["mobile"], lambda p: p["account"])))
    listings = []
    for i in range(n):
        transferor, agent, winner, other = people[4 * i: 4 * i + 4]
        listings.append({"transferor": transferor, "agent": agent if draw(st.booleans()) else None,
                         "winner": winner, "other": other, "show_floor": draw(st.booleans()),
                         "other_by_agent": draw(st.booleans())})
    return {"listings": listings, "people": people}


def _build(users, w):
    from exchange.accounts.services import SignUp as Signup
    from exchange.accounts.services import register_public
    from exchange.audit.services import acting_as
    done = []
    for k, spec in enumerate(w["listings"]):
        t, agent = spec["transferor"], spec["agent"]
        extra = dict(entrusted=True, agent_name=agent["name"], agent_id_no=agent["id"],
                     agent_mobile=agent["mobile"]) if agent else {}
        listing = publish(users, title=f"第{k + 1}号水田经营权出租", transferor_name=t["name"], transferor_id_no=t["id"],
                          transferor_mobile=t["mobile"], account_name=t["name"], account_no=t["account"],
                          show_floor_price=spec["show_floor"], **extra)
        with acting_as("test"):
            for role in ("winner", "other"):
                p = spec[role]
                users[f"p{k}{role}"] = register_public(Signup(username=f"p{k}{role}", password=PASSWORD, kind="person",
                                                              name=p["name"], mobile=p["mobile"], id_number=p["id"],
                                                              foreign_kind="domestic"))
        _db.session.commit()
        pay(users, listing, [f"p{k}winner"])
        kw = dict(by_agent=True, agent_name=spec["transferor"]["name"], agent_id_no=spec["transferor"]["id"]) \
            if spec["other_by_agent"] else {}
        waiting = applied(users, listing, key=f"p{k}other", **kw)
        rsvc.qualify(users["center_reviewer"], waiting)
        _db.session.commit()
        done.append(listing)
    for listing in done:  # the announcement ends; each has one paid buyer: an agreement
        listing = to_trading(listing)
        tsvc.confirm_agreement(users["trading_officer"], listing)
        _db.session.commit()
    return done


@settings(max_examples=5, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(w=world())
def test_no_open_endpoint_ever_returns_personal_data(app, appctx, w):
    from tests.conftest import _empty_tables
    from tests.factories import make_org_tree, make_staff_set
    _db.session.rollback()
    _db.session.remove()
    _empty_tables(app)
    clock.freeze(datetime(2026, 11, 23, 1, 0))
    try:
        users = make_staff_set(make_org_tree())
        listings = _build(users, w)
        client = app.test_client()
        urls = [f"{OPEN}/announcements?per_page=100", f"{OPEN}/results?per_page=100", f"{OPEN}/changes?limit=500",
                f"{OPEN}/changes?limit=1"]
        urls += [f"{OPEN}/announcements/{l.project_no}" for l in listings]
        deals = client.get(f"{OPEN}/results?per_page=100").get_json()["items"]
        assert len(deals) == len(listings)
        urls += [f"{OPEN}/results/{d['deal_no']}" for d in deals]
        bodies = []
        for url in urls:
            resp = client.get(url)
            assert resp.status_code == 200, (url, text(resp))
            bodies.append(text(resp))
        everything = "\n".join(bodies)
        for p in w["people"]:
            for secret in (p["name"], p["id"], p["id"].lower(), p["mobile"], p["account"]):
                assert secret not in everything, (secret, everything[:500])
        # not vacuous: the masked names are there
        for spec in w["listings"]:
            assert spec["transferor"]["name"][0] + "*" in everything
            assert spec["winner"]["name"][0] + "*" in everything
        from exchange.ledger.services import check
        _db.session.rollback()
        assert not check()
    finally:
        _db.session.rollback()
        _db.session.remove()
        clock.reset()


def test_open_statistics_without_login(client, db):
    """The same figures as the center's statistics, without sign-in; bad filters are a 400 in Chinese."""
    from exchange.supervision import stats
    resp = client.get("/api/v1/open/statistics?quarter=2026Q4")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    expected = stats.summary(stats.parse_filters({"quarter": "2026Q4"}))
    assert body["summary"]["listings"]["published"] == expected["listings"]["published"]
    assert body["summary"]["deals"]["amount"] == format(expected["deals"]["amount"], "f")
    assert [r["key"] for r in body["by_month"]] == ["2026-10", "2026-11", "2026-12"]
    assert {"by_town", "by_category", "by_method"} <= set(body)
    for bad in ("month=2026-13", "from=yesterday", "town=999999", "category=Z99", "method=lottery"):
        r = client.get(f"/api/v1/open/statistics?{bad}")
        assert r.status_code == 400 and r.get_json()["message"], bad
