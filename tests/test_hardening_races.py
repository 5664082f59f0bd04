"""Issue 14 (hardening), item 5: a unique key refusing a row that a concurrent request created a moment before is a
409 with a Chinese message — over the API and on the pages — never a server error.  Real threads, real
connections; on PostgreSQL the losers wait on the unique index until the winner commits."""
import threading

import pytest
from sqlalchemy import func, select

from exchange.registrations import services as rsvc
from exchange.registrations.models import Registration
from tests.factories import PASSWORD
from tests.helpers import get_csrf, login, run_at_once, text

pytestmark = [pytest.mark.concurrency, pytest.mark.usefixtures("uploads")]


def _bearer(db, users, key):
    """A token whose last use is already noted (now, on the frozen clock): the racing requests then write nothing
    to the token's row, which would otherwise queue them one behind the other."""
    from exchange import clock
    from exchange.accounts.services import create_token
    token, secret = create_token(users["admin"], users[key], f"t-{key}")
    token.last_used_at = clock.now()
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def _registrations(db) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Registration.id)))


def test_twenty_concurrent_api_registrations_by_one_buyer(app, users, announced, db):
    headers = _bearer(db, users, "buyer")
    url = f"/api/v1/listings/{announced.id}/registrations"
    responses = run_at_once(20, lambda i: app.test_client().post(url, headers=headers,
                                                                json={"accept_declaration": True}))
    codes = sorted(r.status_code for r in responses)
    assert codes.count(201) == 1, codes
    assert all(c in (201, 400, 409) for c in codes), codes
    for r in responses:
        if r.status_code in (400, 409):
            assert "您已报名该项目" in r.get_json()["message"], r.get_json()
        if r.status_code == 409:
            assert r.get_json()["error"] == "conflict"
    assert _registrations(db) == 1


@pytest.fixture
def both_past_the_check(monkeypatch):
    """Hold each request after the service's "already registered?" check until both have made it: then both
    insert, and only the unique key can refuse the second (deterministic on SQLite and PostgreSQL)."""
    barrier = threading.Barrier(2)
    original = rsvc.due_after_working_days

    def wait_then(*args, **kwargs):
        barrier.wait(timeout=30)
        return original(*args, **kwargs)

    monkeypatch.setattr(rsvc, "due_after_working_days", wait_then)


def test_the_unique_key_race_over_the_api_is_a_409(app, users, announced, db, both_past_the_check):
    headers = _bearer(db, users, "buyer")
    url = f"/api/v1/listings/{announced.id}/registrations"
    responses = run_at_once(2, lambda i: app.test_client().post(url, headers=headers,
                                                               json={"accept_declaration": True}))
    assert sorted(r.status_code for r in responses) == [201, 409], [r.get_json() for r in responses]
    lost = next(r for r in responses if r.status_code == 409).get_json()
    assert lost == {"error": "conflict", "message": "您已报名该项目，请在“我的报名”中查看进度。"}
    assert _registrations(db) == 1


def test_the_unique_key_race_on_the_pages_is_a_409(app, users, announced, db, both_past_the_check):
    url = f"/registrations/apply/{announced.id}"
    clients = [app.test_client(), app.test_client()]
    tokens = []
    for c in clients:
        login(c, "t_buyer", PASSWORD)
        tokens.append(get_csrf(c, url))
    responses = run_at_once(2, lambda i: clients[i].post(url, data={"csrf_token": tokens[i],
                                                                    "accept_declaration": "y"}))
    assert sorted(r.status_code for r in responses) == [302, 409], [r.status_code for r in responses]
    page = text(next(r for r in responses if r.status_code == 409))
    assert "您已报名该项目" in page and "数据冲突" in page
    assert _registrations(db) == 1
