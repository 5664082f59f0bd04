"""Sign-out ends every session of the account (issue 14, item 7): a session cookie copied before ``POST /logout``
is dead afterwards — on pages and in the API, for staff and public accounts, after a page or an API sign-out — and
so are the account's other sessions; a change of role or unit by the admin ends them too (password change and
deactivation already did)."""
import pytest

from exchange.accounts import services as acc
from tests.factories import PASSWORD
from tests.helpers import api_csrf, api_login, csrf_from, login, text

pytestmark = pytest.mark.usefixtures("uploads")

COOKIE = "lxnc_session"


def _signed_in(app, username):
    c = app.test_client()
    login(c, username, PASSWORD)
    assert c.get("/api/v1/me").status_code == 200
    return c


def _copy(app, client):
    """Another client holding a copy of ``client``'s session cookie (what a thief or a second tab has)."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, client.get_cookie(COOKIE).value)
    assert thief.get("/api/v1/me").status_code == 200
    return thief


@pytest.mark.parametrize("username", ["t_reviewer", "t_buyer"])
def test_a_copied_cookie_dies_with_the_page_sign_out(app, users, db, username):
    mine = _signed_in(app, username)
    other_device = _signed_in(app, username)
    thief = _copy(app, mine)
    resp = mine.post("/logout", data={"csrf_token": csrf_from(text(mine.get("/work")))})
    assert resp.status_code == 302
    for c in (mine, thief, other_device):
        assert c.get("/api/v1/me").status_code == 401
    assert "/login" in thief.get("/work").headers["Location"]  # to the sign-in page
    # signing in again works
    assert _signed_in(app, username).get("/api/v1/me").get_json()["username"] == username


def test_a_copied_cookie_dies_with_the_api_sign_out(app, users, db):
    mine = app.test_client()
    assert api_login(mine, "t_buyer", PASSWORD).status_code == 200
    thief = _copy(app, mine)
    assert mine.post("/api/v1/auth/logout", headers={"X-CSRFToken": api_csrf(mine)}).status_code == 200
    assert thief.get("/api/v1/me").status_code == 401
    assert thief.post("/api/v1/me/password", json={"old_password": PASSWORD, "new_password": "Another#Pass2027"},
                      headers={"X-CSRFToken": api_csrf(thief)}).status_code in (400, 401)


def test_a_new_role_or_unit_ends_the_sessions(app, users, db):
    session = _signed_in(app, "t_station_a")
    acc.update_staff(users["admin"], users["station_a"], org=users["point_a1"].org_unit, role="point_clerk")
    db.session.commit()
    assert session.get("/api/v1/me").status_code == 401
    kept = _signed_in(app, "t_reviewer")
    acc.update_staff(users["admin"], users["center_reviewer"], display_name="审核员改名")
    db.session.commit()
    assert kept.get("/api/v1/me").status_code == 200  # a new name changes no rights: the session stays


def test_restart_application_authorises_before_it_looks_at_the_state(app, users, announced, db):
    """Issue 14, item 13: a signed-in stranger gets the same 403 for a suspended and a running listing."""
    listing = announced
    stranger = app.test_client()
    assert api_login(stranger, "t_buyer", PASSWORD).status_code == 200  # no registration for this listing
    resp = stranger.post(f"/api/v1/listings/{listing.id}/restart-application", json={"reason": "申请重启交易"},
                         headers={"X-CSRFToken": api_csrf(stranger)})
    assert resp.status_code == 403 and "未处于中止状态" not in resp.get_data(as_text=True)
