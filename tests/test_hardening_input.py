"""Issue 14 (hardening), items 1–4 and 6: outside input that PostgreSQL refuses (integers beyond the column,
NUL characters, amounts beyond Numeric(16, 2)) is refused by the one parser of its kind on every route — 404 in a
path, 400 on a page, 400/422 in the API, each with a Chinese message naming the field — and never reaches the
database; the token endpoint answers with its secret; the intake form's term step validates before the CHECKs do.
Plus a property-based sweep of hostile values over the query parameters of the public pages and API lists."""
import json
import re
from decimal import Decimal
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from exchange.ledger.models import JournalEntry
from exchange.listings.models import Listing
from tests.builders import PDF, category, household_fields, new_household_listing
from tests.factories import PASSWORD
from tests.helpers import api_csrf, api_login, get_csrf, login, post_form, text

pytestmark = pytest.mark.usefixtures("uploads")

HAN = re.compile(r"[\u4e00-\u9fff]")
BIG = "3000000000"                    # > 2³¹−1: beyond every id column
HUGE = "9223372036854775808"          # > 2⁶³−1: beyond bigint (and SQLite's INTEGER)
NINES = "9" * 29


def token(db, users, key):
    from exchange.accounts.services import create_token
    _t, secret = create_token(users["admin"], users[key], f"t-{key}")
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def json_error(resp, status, field=None):
    assert resp.status_code == status, (resp.status_code, text(resp))
    body = resp.get_json()
    assert body and HAN.search(body["message"]), body
    if field is not None:
        assert field in body.get("fields", {}), body
    return body


def page_error(resp, status=400, *words):
    assert resp.status_code == status, (resp.status_code, text(resp)[:500])
    page = text(resp)
    for word in words:
        assert word in page, (word, page[:2000])
    return page


# --- 1. integers beyond the column's range --------------------------------------------------------------------

@pytest.mark.parametrize("number", [BIG, HUGE, "9" * 40])
def test_ids_in_a_path_beyond_the_column_are_404(client, users, db, number):
    listing = new_household_listing(users)
    db.session.commit()
    headers = token(db, users, "point_a1")
    assert client.get(f"/api/v1/listings/{listing.id}", headers=headers).status_code == 200
    resp = client.get(f"/api/v1/listings/{number}", headers=headers)
    assert json_error(resp, 404)["error"] == "not_found"
    for url in (f"/api/v1/listings/{number}/materials/1", f"/api/v1/users/{number}", f"/api/v1/registrations/{number}"):
        assert client.get(url, headers=headers).status_code in (404, 405), url
    login(client, "t_point_a1", PASSWORD)
    assert client.get(f"/listings/{number}").status_code == 404
    assert client.get(f"/listings/{listing.id}/materials/{number}").status_code == 404
    assert client.get(f"/notifications/{number}").status_code in (404, 405)


def test_ids_and_pages_in_a_query_beyond_the_column_are_refused(client, users, db):
    page_error(client.get(f"/projects/?town={BIG}"), 400, "镇（街道）", "超出范围")
    page_error(client.get(f"/projects/?category={BIG}"), 400, "交易品种")
    page_error(client.get(f"/projects/?page={HUGE}"), 400, "页码")
    assert client.get("/projects/?page=2").status_code == 200
    assert client.get("/projects/?page=abc").status_code == 200  # a mistyped page number is still the first page
    json_error(client.get(f"/api/v1/public/listings?category_id={BIG}"), 422, "category_id")
    json_error(client.get(f"/api/v1/public/listings?town_id={HUGE}"), 422, "town_id")
    json_error(client.get(f"/api/v1/public/listings?page={HUGE}"), 422, "page")
    json_error(client.get(f"/api/v1/public/deals?page={HUGE}"), 422, "page")
    headers = token(db, users, "center_reviewer")
    json_error(client.get(f"/api/v1/registrations?listing_id={BIG}", headers=headers), 422, "listing_id")
    json_error(client.get(f"/api/v1/disputes?listing_id={BIG}", headers=headers), 422, "listing_id")
    login(client, "t_reviewer", PASSWORD)
    page_error(client.get(f"/disputes?listing_id={BIG}"), 400, "项目编号")
    page_error(client.get(f"/registrations/?page={HUGE}"), 400, "页码")
    assert client.get(f"/audit/?listing={BIG}").status_code in (200, 403)  # a project number or id: not found


def test_ids_in_a_json_body_or_form_beyond_the_column_are_refused(client, users, db):
    admin = token(db, users, "admin")
    staff = {"username": "t_new", "display_name": "新人", "role": "finance", "password": "Xx12345678"}
    resp = client.post("/api/v1/users", headers=admin, json={**staff, "org_unit_id": int(BIG)})
    json_error(resp, 422, "org_unit_id")
    resp = client.post("/api/v1/tokens", headers=admin, json={"user_id": int(HUGE), "name": "x"})
    json_error(resp, 422, "user_id")
    clerk = token(db, users, "point_a1")
    body = dict(household_fields(), category_id=int(BIG))
    json_error(client.post("/api/v1/listings", json=body, headers=clerk), 422, "category_id")
    body = dict(household_fields(), category_id=category("C01").id, reps_total=int(HUGE))
    json_error(client.post("/api/v1/listings", json=body, headers=clerk), 422, "reps_total")
    login(client, "t_admin", PASSWORD)
    resp = post_form(client, "/admin/users/new", {"username": "t_new", "display_name": "新人", "role": "finance",
                                                  "org_unit_id": BIG, "password": "Xx12345678",
                                                  "password2": "Xx12345678", "mobile": ""})
    assert resp.status_code in (200, 400) and "请从列表中选择" in text(resp)
    assert db.session.scalar(select(func.count()).select_from(Listing)) == 0


# --- 2. control characters in text -----------------------------------------------------------------------------

@pytest.mark.parametrize("who,url", [
    (None, "/projects/?q=%00"),
    (None, "/projects/?q=abc%00def&sort=newest"),
    (None, "/publicity?x=%01"),
    ("t_supervisor", "/audit/?q=%00"),
    ("t_supervisor", "/audit/export.csv?q=%00"),
    ("t_supervisor", "/supervision/?category=%00"),
    ("t_admin", "/admin/users?q=%00"),
])
def test_nul_in_a_page_query_is_a_clear_400(client, users, db, who, url):
    if who:
        login(client, who, PASSWORD)
    page_error(client.get(url), 400, "控制字符")


@pytest.mark.parametrize("url", [
    "/api/v1/stats/summary?category=%00", "/api/v1/stats/by-town?town=1%00", "/api/v1/stats/ranking?method=%1F",
    "/api/v1/users?q=%00", "/api/v1/public/listings?q=%00", "/api/v1/open/announcements?town=%00",
])
def test_nul_in_an_api_query_is_a_clear_400(client, users, db, url):
    headers = token(db, users, "admin" if "/users" in url else "supervisor")
    body = json_error(client.get(url, headers=headers if "/open/" not in url else {}), 400)
    assert body["error"] == "invalid" and body["fields"], body


def test_nul_in_a_path_is_404(client, users, db):
    assert client.get("/projects/LXNCJY%00").status_code == 404
    assert client.get("/deals/%00").status_code == 404
    assert client.get("/verify/%00").status_code == 404
    assert json_error(client.get("/api/v1/public/listings/%00"), 404)["error"] == "not_found"


def test_control_characters_in_json_bodies_are_refused_and_change_nothing(client, users, db):
    listing = new_household_listing(users)
    db.session.commit()
    clerk = token(db, users, "point_a1")
    url = f"/api/v1/listings/{listing.id}"
    json_error(client.patch(url, headers=clerk, json={"title": "团湖村\x00水田"}), 400, "title")
    json_error(client.patch(url, headers=clerk, json={"boundaries": "东至\x1b渠道"}), 400, "boundaries")
    raw = {**clerk, "Content-Type": "application/json"}
    json_error(client.patch(url, headers=raw, data='{"title": "\\ud800"}'), 400, "title")     # a lone surrogate
    json_error(client.patch(url, headers=raw, data='{"quantity": NaN}'), 400, "quantity")    # not JSON at all
    json_error(client.patch(url, headers=raw, data='{"reps_total": Infinity}'), 400, "reps_total")
    json_error(client.patch(url, headers=raw, data='{"a\\u0000": 1}'), 400)                 # in a key
    json_error(client.patch(url, headers=raw, data="[" * 5000 + "]" * 5000), 400)              # absurdly deep
    # tabs and line breaks are text, not controls
    resp = client.patch(url, headers=clerk, json={"description": "第一行\n第二行\t附注\r\n完"})
    assert resp.status_code == 200, resp.get_json()
    db.session.expire_all()
    saved = db.session.get(Listing, listing.id)
    assert saved.title == listing.title and "\t附注" in saved.description


def test_control_characters_in_forms_are_refused_and_change_nothing(client, users, db):
    listing = new_household_listing(users)
    db.session.commit()
    login(client, "t_point_a1", PASSWORD)
    base = f"/listings/{listing.id}/edit/basic"
    fields = {"title": listing.title, "category_id": listing.category_id, "method_id": listing.method_id,
              "location": "江南镇团湖村三组", "boundaries": "东至渠道", "quantity": "32", "unit": "亩",
              "current_use": "水稻", "description": "第一行\r\n第二行\t附注"}
    page_error(post_form(client, base, {**fields, "location": "团湖村\x00三组"}), 400, "控制字符", "location")
    page_error(post_form(client, base, {**fields, "description": "\x07"}), 400, "控制字符")
    assert post_form(client, base, fields).status_code == 302  # a multi-line text with a tab is fine
    db.session.expire_all()
    assert "\t附注" in db.session.get(Listing, listing.id).description
    # an uploaded file's name
    import io
    resp = client.post(f"/listings/{listing.id}/materials",
                       data={"csrf_token": get_csrf(client, f"/listings/{listing.id}/edit/materials"),
                             "kind": "application", "file": (io.BytesIO(PDF), "申请\x00书.pdf")},
                       content_type="multipart/form-data")
    page_error(resp, 400, "控制字符")


def test_a_refusal_no_view_caught_is_a_clear_400_not_a_server_error(client, users, db):
    headers = token(db, users, "admin")
    resp = client.get("/api/v1/calendar/due?start=9999-12-31T00:00:00%2B08:00&working_days=366", headers=headers)
    assert resp.status_code in (400, 422) and HAN.search(resp.get_json()["message"]), text(resp)


def test_dates_nobody_means_are_refused_before_the_time_zone_arithmetic(client, users, db):
    for query in ("announcements?date_from=0001-01-01", "results?date_to=9999-12-31"):
        body = json_error(client.get(f"/api/v1/open/{query}"), 400)
        assert body["error"] == "invalid" and body["fields"], body
    listing = new_household_listing(users)
    db.session.commit()
    officer = token(db, users, "trading_officer")
    resp = client.post(f"/api/v1/listings/{listing.id}/sessions/online", headers=officer,
                       json={"starts_at": "9999-12-31T23:59:00+08:00", "increment": "500"})
    json_error(resp, 422, "starts_at")


# --- 3. amounts beyond Numeric(16, 2), NaN and Infinity ---------------------------------------------------------

@pytest.mark.parametrize("query,word", [
    ("price_min=1e309", "最低底价"), (f"price_max={NINES}", "最高底价"), ("price_min=NaN", "最低底价"),
    ("price_min=Infinity", "最低底价"), ("price_min=-1", "最低底价"), ("area_max=1e999", "最大数量"),
    (f"area_min={'9' * 13}", "最小数量"), ("price_min=abc", "最低底价"),
])
def test_public_search_refuses_amounts_it_cannot_compare(client, db, query, word):
    page_error(client.get(f"/projects/?{query}"), 400, word)


@pytest.mark.parametrize("query,field", [
    ("price_min=1e309", "price_min"), (f"price_max={NINES}", "price_max"), ("price_min=NaN", "price_min"),
    ("price_max=-Infinity", "price_max"), ("area_max=1e999", "area_max"), (f"area_min={'9' * 13}", "area_min"),
])
def test_public_api_refuses_amounts_it_cannot_compare(client, db, query, field):
    json_error(client.get(f"/api/v1/public/listings?{query}"), 422, field)


def test_amounts_that_fit_still_filter(client, users, db):
    listing = new_household_listing(users)
    db.session.commit()
    assert client.get("/projects/?price_min=99999999999999.99&area_max=999999999999.99").status_code == 200
    body = client.get("/api/v1/public/listings?price_min=0&price_max=99999999999999.99").get_json()
    assert body["total"] == 0 and listing.state == "draft"


@pytest.mark.parametrize("amount", ["Infinity", "-Infinity", "NaN", "sNaN", "1E+30", "1e309", NINES, "0.001"])
def test_signed_payment_callback_with_an_absurd_amount_is_refused(client, users, qualified, db, amount):
    from exchange.payments import services as psvc
    from exchange.payments.models import PaymentNotification
    from exchange.payments.providers import SandboxProvider
    order = psvc.start_online_payment(users["buyer"], qualified)
    db.session.commit()
    body, headers = SandboxProvider().notification_for(order, amount=amount)  # validly signed by the sandbox bank
    assert json.loads(body)["amount"] == amount
    resp = client.post("/api/v1/payments/callback/sandbox", data=body,
                       headers={**headers, "Content-Type": "application/json"})
    assert json_error(resp, 400)["error"] == "malformed"
    db.session.expire_all()
    assert db.session.scalar(select(func.count(JournalEntry.id))) == 0
    logged = db.session.scalars(select(PaymentNotification)).all()
    assert [n.outcome for n in logged] == ["refused"]


def test_unsigned_callback_with_control_bytes_is_counted_and_refused(client, users, qualified, db):
    from exchange.payments.models import PaymentNotification, RefusedCallbacks
    resp = client.post("/api/v1/payments/callback/sandbox\u0000x".replace("\u0000", "%00"), data=b"\x00\x01garbage\x00")
    assert resp.status_code in (400, 404)
    resp = client.post("/api/v1/payments/callback/sandbox", data=b"\x00\x01garbage\x00")
    assert resp.status_code == 401
    db.session.expire_all()
    assert db.session.scalars(select(PaymentNotification)).all() == []
    [row] = db.session.scalars(select(RefusedCallbacks).where(RefusedCallbacks.provider == "sandbox")).all()
    assert row.reason == "unsigned" and row.count == 1


def test_quantities_and_prices_beyond_their_columns_are_refused_on_intake(client, users, db):
    clerk = token(db, users, "point_a1")
    cat = category("C01").id
    for fields, field in [({"quantity": "9" * 13}, "quantity"), ({"floor_unit_price": NINES}, "floor_unit_price"),
                          ({"floor_unit_price": "99999999999999", "quantity": "999999999999"}, "floor_unit_price"),
                          ({"deposit_amount": "1E+30"}, "deposit_amount"), ({"quantity": "0"}, "quantity"),
                          ({"announce_days": 0}, "announce_days"), ({"announce_days": 61}, "announce_days"),
                          ({"price_mode": "total", "floor_price": "0"}, "floor_price"),
                          ({"appraisal_value": "0"}, "appraisal_value")]:
        resp = client.post("/api/v1/listings", json=dict(household_fields(**fields), category_id=cat), headers=clerk)
        json_error(resp, 400, field)
    assert db.session.scalar(select(func.count()).select_from(Listing)) == 0


# --- 4. API tokens ----------------------------------------------------------------------------------------------

def test_admin_creates_a_token_over_the_api_and_it_works(client, users, db):
    assert api_login(client, "t_admin", PASSWORD).status_code == 200
    resp = client.post("/api/v1/tokens", json={"user_id": users["buyer"].id, "name": "测试同步", "days": 30},
                       headers={"X-CSRFToken": api_csrf(client)})
    assert resp.status_code == 201, text(resp)
    body = resp.get_json()
    assert body["user"] == "t_buyer" and body["name"] == "测试同步" and body["expires_at"]
    secret = body["token"]
    assert secret.startswith(body["prefix"])
    other = client.application.test_client()
    me = other.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200 and me.get_json()["username"] == "t_buyer"
    listed = client.get("/api/v1/tokens").get_json()
    assert [t["name"] for t in listed] == ["测试同步"] and "token" not in listed[0]


# --- 6. the term step of the intake form ------------------------------------------------------------------------

TERM = {"right_cert_no": "x1", "right_end_date": "2038-12-31", "term_start": "2027-01-01", "term_end": "2031-12-31",
        "price_mode": "per_unit_year", "floor_unit_price": "400", "floor_price": "", "price_basis": "周边行情",
        "show_floor_price": "y", "appraisal_value": "", "appraisal_agency": "", "appraisal_report_no": ""}


@pytest.mark.parametrize("change,message", [
    ({"term_start": "2031-01-01", "term_end": "2027-12-31"}, "结束日期应晚于开始日期"),
    ({"term_start": "2027-01-01", "term_end": "2027-01-01"}, "结束日期应晚于开始日期"),
    ({"term_start": "2027-01-01", "term_end": "2027-01-20"}, "至少应为一个月"),
    ({"price_mode": "total", "floor_price": "0", "term_end": "2031-12-31"}, "底价应大于 0"),
    ({"floor_unit_price": "0"}, "底价为 0"),
])
def test_term_step_refuses_what_the_checks_would_with_the_message_on_the_field(client, users, db, change, message):
    listing = new_household_listing(users)
    db.session.commit()
    before = (listing.term_start, listing.term_end, listing.floor_price)
    login(client, "t_point_a1", PASSWORD)
    url = f"/listings/{listing.id}/edit/term"
    page = page_error(post_form(client, url, {**TERM, **change}), 400, message)
    field = re.search(r'<[^>]+class="[^"]*(?:error|invalid)[^"]*"[^>]*>[^<]*' + re.escape(message), page)
    assert field or message in page
    db.session.expire_all()
    saved = db.session.get(Listing, listing.id)
    assert (saved.term_start, saved.term_end, saved.floor_price) == before
    assert post_form(client, url, TERM).status_code == 302  # the same form, corrected, saves


def test_term_order_over_the_api(client, users, db):
    listing = new_household_listing(users)
    db.session.commit()
    clerk = token(db, users, "point_a1")
    url = f"/api/v1/listings/{listing.id}"
    json_error(client.patch(url, headers=clerk, json={"term_start": "2040-01-01"}), 400, "term_end")
    json_error(client.patch(url, headers=clerk, json={"term_end": "2027-01-10"}), 400, "term_end")
    assert client.patch(url, headers=clerk, json={"term_end": "2030-12-31"}).status_code == 200
    db.session.expire_all()
    assert db.session.get(Listing, listing.id).floor_price == Decimal("64000.00")  # 500 × 32 × 4


# --- hostile values, property-based ------------------------------------------------------------------------------

HOSTILE = st.one_of(
    st.sampled_from([
        BIG, HUGE, "-" + HUGE, "9" * 400, "1e309", "-1e309", "1E+30", NINES, "NaN", "nan", "sNaN", "Infinity",
        "-Infinity", "inf", "0", "-1", "-0", "0.0001", "1.5", "0x10", "1_000", " 7 ", "１２", "²", "٣", "\x00", "a\x00b",
        "\x1f", "\x7f", "%", "_", "\\", "'", "\"", "' OR 1=1 --", "x" * 5000, "中" * 3000, "9999-12-31",
        "0001-01-01", "2026-13-45", "9999-12", "0001-01", "1999Q4", "9999Q4", "bm90LWEtY3Vyc29y", "\ufffd",
        "\u202e", "C01\x00", "LX-05\n",
    ]),
    st.text(max_size=60),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
)

PUBLIC_PAGES = {
    "/projects/": ["q", "category", "town", "method", "status", "price_min", "price_max", "area_min", "area_max",
                   "sort", "page"],
    "/publicity": ["page", "state"],
    "/open-data": ["page"],
}
API_LISTS = {
    "/api/v1/public/listings": ["q", "category_id", "town_id", "method", "status", "price_min", "price_max",
                                "area_min", "area_max", "sort", "page", "per_page"],
    "/api/v1/public/deals": ["state", "page", "per_page"],
    "/api/v1/open/announcements": ["category", "town", "state", "date_from", "date_to", "page", "per_page"],
    "/api/v1/open/results": ["category", "town", "state", "date_from", "date_to", "page", "per_page"],
    "/api/v1/open/changes": ["since", "limit"],
    "/api/v1/listings": ["state", "page", "per_page"],
    "/api/v1/registrations": ["listing_id", "state", "page", "per_page"],
    "/api/v1/users": ["q", "role", "org_id", "page", "per_page"],
    "/api/v1/audit/entries": ["object_type", "object_id", "action", "actor_id", "page", "per_page"],
    "/api/v1/disputes": ["listing_id", "state", "page", "per_page"],
    "/api/v1/stats/summary": ["from", "to", "month", "quarter", "town", "village", "category", "method"],
    "/api/v1/stats/ranking": ["level", "sort", "order", "town", "category"],
}
TARGETS = sorted((url, name) for table in (PUBLIC_PAGES, API_LISTS) for url, names in table.items() for name in names)


def _query(pairs) -> str:
    return "&".join(f"{quote(name)}={quote(value.encode('utf-8', 'surrogatepass'), safe='')}" for name, value in pairs)


TOKEN_OF = {"/api/v1/users": "admin", "/api/v1/audit/": "admin", "/api/v1/stats/": "supervisor"}


@pytest.fixture
def fuzz_tokens(users, db):
    return {key: token(db, users, key) for key in ("admin", "supervisor", "center_reviewer")}


@settings(max_examples=200, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_hostile_query_values_never_give_a_server_error(app, fuzz_tokens, data):
    url = data.draw(st.sampled_from(sorted({u for u, _n in TARGETS})))
    names = [n for u, n in TARGETS if u == url]
    pairs = data.draw(st.lists(st.tuples(st.sampled_from(names), HOSTILE), min_size=1, max_size=3))
    headers = {}
    if url.startswith("/api/v1/") and "/public/" not in url and "/open/" not in url:
        who = next((key for prefix, key in TOKEN_OF.items() if url.startswith(prefix)), "center_reviewer")
        headers = fuzz_tokens[who]
    resp = app.test_client().get(f"{url}?{_query(pairs)}", headers=headers)
    assert resp.status_code < 500, (url, pairs, resp.status_code, text(resp)[:300])
    if resp.status_code in (400, 422) and url.startswith("/api/"):
        assert HAN.search(resp.get_json()["message"]), resp.get_json()
