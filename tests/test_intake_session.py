"""Issue 17 item 6: a session lost in the middle of the intake form does not lose what was typed.

* signed in, but the form's CSRF token is stale (signed out and in again elsewhere): the form is shown again with the
  typed values and a message to save again — nothing saved, nothing acted on;
* signed out meanwhile (another tab, the session gone) or timed out while idle: to sign in, with ``next`` back to
  the form; the browser fills the typed text in again (static/js/app.js, forms marked ``data-keep``; the browser
  journey tests/browser/test_clerk_journey.py shows it);
* another form with a stale token: a page that says the page expired and nothing was saved, and leads back.
"""
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from exchange import clock
from exchange.listings.models import Listing
from tests.builders import household_fields, new_household_listing
from tests.factories import PASSWORD
from tests.helpers import get_csrf, login, text

pytestmark = pytest.mark.usefixtures("uploads")


def _form(**kw):
    f = household_fields()
    data = {k: f[k] for k in ("transferor_kind", "transferor_id_no", "transferor_mobile", "account_name",
                              "account_bank", "account_no")}
    data.update({"transferor_name": "李四（改）", "decision_type": "", "agent_name": "", "agent_id_no": "",
                 "agent_mobile": ""})
    data.update(kw)
    return data


def _sign_out(client):
    client.post("/logout", data={"csrf_token": get_csrf(client, "/work")})


def test_a_stale_token_while_signed_in_shows_the_form_again_with_what_was_typed(client, users, db):
    listing = new_household_listing(users)
    db.session.commit()
    login(client, "t_point_a1", PASSWORD)
    url = f"/listings/{listing.id}/edit/transferor"
    stale = get_csrf(client, url)
    _sign_out(client)  # signed out and in again (another tab): the old page's token no longer matches
    login(client, "t_point_a1", PASSWORD)
    resp = client.post(url, data={**_form(), "csrf_token": stale})
    html = text(resp)
    assert resp.status_code == 400
    assert "安全校验已过期，刚才的内容还没有保存。您填写的内容都在下面，请核对后再点一次保存。" in html
    assert 'value="李四（改）"' in html and "请刷新页面" not in html
    db.session.expire_all()
    assert db.session.get(Listing, listing.id).transferor_name == "农户演示"  # nothing saved
    # the page carries a fresh token: saving again goes through
    fresh = get_csrf(client, url)
    assert fresh != stale
    resp = client.post(url, data={**_form(), "csrf_token": fresh})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Listing, listing.id).transferor_name == "李四（改）"


def test_a_stale_token_on_a_new_draft_creates_nothing(client, users, db):
    login(client, "t_point_a1", PASSWORD)
    stale = get_csrf(client, "/listings/new")
    _sign_out(client)
    login(client, "t_point_a1", PASSWORD)
    before = db.session.query(Listing).count()
    resp = client.post("/listings/new", data={"category_id": "1", "title": "王家冲 12 亩旱地出租", "csrf_token": stale})
    assert resp.status_code == 400 and 'value="王家冲 12 亩旱地出租"' in text(resp)
    assert db.session.query(Listing).count() == before


def test_signed_out_meanwhile_goes_to_sign_in_and_back_to_the_form(client, users, db):
    listing = new_household_listing(users)
    db.session.commit()
    login(client, "t_point_a1", PASSWORD)
    url = f"/listings/{listing.id}/edit/transferor"
    token = get_csrf(client, url)
    _sign_out(client)  # in another tab
    resp = client.post(url, data={**_form(), "csrf_token": token}, headers={"Referer": "http://localhost" + url})
    assert resp.status_code == 302
    target = urlsplit(resp.headers["Location"])
    assert target.path == "/login" and parse_qs(target.query)["next"] == [url]
    page = text(client.get(resp.headers["Location"]))
    assert "登录已失效，刚才的内容还没有保存。请重新登录，登录后回到原来的页面，已填写的内容会自动填回。" in page
    resp = client.post(resp.headers["Location"], data={"username": "t_point_a1", "password": PASSWORD,
                                                      "csrf_token": get_csrf(client, "/login")})
    assert resp.headers["Location"].endswith(url)
    db.session.expire_all()
    assert db.session.get(Listing, listing.id).transferor_name == "农户演示"


def test_timed_out_while_typing_goes_to_sign_in_and_back_to_the_form(client, users, db, frozen):
    listing = new_household_listing(users)
    db.session.commit()
    login(client, "t_point_a1", PASSWORD)
    url = f"/listings/{listing.id}/edit/transferor"
    token = get_csrf(client, url)
    clock.advance(timedelta(minutes=31))
    resp = client.post(url, data={**_form(), "csrf_token": token})
    target = urlsplit(resp.headers["Location"])
    assert target.path == "/login" and parse_qs(target.query)["next"] == [url]
    assert "刚才的内容还没有保存" in text(client.get(resp.headers["Location"]))
    db.session.expire_all()
    assert db.session.get(Listing, listing.id).transferor_name == "农户演示"


def test_other_forms_say_the_page_expired_and_lead_back(client, users, db):
    listing = new_household_listing(users)
    db.session.commit()
    login(client, "t_point_a1", PASSWORD)
    stale = get_csrf(client, f"/listings/{listing.id}")
    _sign_out(client)
    login(client, "t_point_a1", PASSWORD)
    resp = client.post(f"/listings/{listing.id}/submit", data={"csrf_token": stale},
                       headers={"Referer": f"http://localhost/listings/{listing.id}"})
    html = text(resp)
    assert resp.status_code == 400 and "页面已过期" in html and "已填写的内容会自动填回" in html
    assert f'href="http://localhost/listings/{listing.id}">返回上一页' in html
    db.session.expire_all()
    assert db.session.get(Listing, listing.id).state == "draft"


def test_the_sign_in_form_itself_and_the_api_still_answer_400(client, users):
    resp = client.post("/login", data={"username": "t_admin", "password": PASSWORD})
    assert resp.status_code == 400
    resp = client.post("/api/v1/auth/login", json={"username": "t_admin", "password": PASSWORD})
    assert resp.status_code in (400, 401) and resp.is_json
