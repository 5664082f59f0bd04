"""Issue 14 items 10 and 11: the sandbox bank never runs in production; callbacks that are not verifiably the
bank's are counted and logged, not stored one row per request, and the route is rate-limited."""
from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from exchange.payments import providers
from exchange.payments.models import PaymentOrder
from tests.factories import PASSWORD
from tests.helpers import csrf_from, login, text

pytestmark = pytest.mark.usefixtures("uploads")

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def deployment(app, **settings):
    """The application's start-up check run again with these settings (as a restart with them would)."""
    saved = {k: app.config.get(k) for k in settings}
    app.config.update(settings)
    try:
        providers.check_configuration(app)
        yield
    finally:
        app.config.update(saved)
        providers.check_configuration(app)


# --- item 10 ---------------------------------------------------------------------------------------

def _start(env: dict, tmp_path) -> subprocess.CompletedProcess:
    full = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "SCHEDULER": "false", **env}
    for key in ("PAYMENT_PROVIDERS", "EXCHANGE_ENV"):
        if key not in env:
            full.pop(key, None)
    return subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=full, capture_output=True,
                          text=True, timeout=120)


def test_production_refuses_to_start_with_the_sandbox_bank(tmp_path):
    done = _start({"EXCHANGE_ENV": "production", "PAYMENT_PROVIDERS": "sandbox"}, tmp_path)
    assert done.returncode != 0
    assert "生产环境（EXCHANGE_ENV=production）不能启用模拟网银" in done.stderr


def test_production_starts_without_online_payments_by_default_and_other_deployments_keep_the_sandbox(tmp_path):
    assert _start({"EXCHANGE_ENV": "production"}, tmp_path).returncode == 0
    assert _start({}, tmp_path).returncode == 0  # development (make run): the sandbox plays the bank
    assert _start({"EXCHANGE_ENV": "demo", "PAYMENT_PROVIDERS": "sandbox"}, tmp_path).returncode == 0
    assert _start({"EXCHANGE_ENV": "training", "PAYMENT_PROVIDERS": "sandbox"}, tmp_path).returncode == 0
    done = _start({"EXCHANGE_ENV": "prod"}, tmp_path)
    assert done.returncode != 0 and "EXCHANGE_ENV='prod' 无效" in done.stderr


def test_in_production_a_buyer_cannot_reach_the_sandbox_bank(app, client, users, qualified, db):
    login(client, "t_buyer", PASSWORD)
    page = text(client.get(f"/registrations/{qualified.id}"))
    assert "模拟网银" in page  # a test deployment offers it
    with deployment(app, EXCHANGE_ENV="production", PAYMENT_PROVIDERS=""):
        page = text(client.get(f"/registrations/{qualified.id}"))
        assert "模拟网银" not in page and qualified.payment_ref in page  # pay by transfer with the reference
        resp = client.post(f"/payments/registrations/{qualified.id}/online",
                           data={"csrf_token": csrf_from(page), "provider": "sandbox"})
        assert resp.status_code in (302, 400)
        assert db.session.query(PaymentOrder).count() == 0
        order_page = client.get("/payments/sandbox/PO20261123000001")
        assert order_page.status_code == 404


def test_a_bank_adapter_is_named_module_and_class(app, appctx):
    with deployment(app, EXCHANGE_ENV="production", PAYMENT_PROVIDERS="tests.test_hardening_payments:FakeBank"):
        assert [p.name for p in providers.enabled_providers()] == ["fakebank"]
        with pytest.raises(providers.NotificationRefused):
            providers.get_provider("sandbox")
    with pytest.raises(providers.ConfigurationError) as exc:
        with deployment(app, PAYMENT_PROVIDERS="tests.test_hardening_payments:Nothing"):
            pass
    assert "无法加载支付渠道" in str(exc.value)


class FakeBank:
    name = "fakebank"
    label = "测试银行"

    def checkout_url(self, order):
        return "https://bank.example/pay/" + order.order_no

    def verify(self, body, headers):
        raise providers.NotificationRefused("bad_signature", "签名无效")


# --- item 11 ---------------------------------------------------------------------------------------

CALLBACK = "/api/v1/payments/callback/sandbox"


@pytest.fixture
def fresh_limits(app):
    from exchange.web import ratelimit
    limiter = ratelimit.limiter_of(app)
    limiter.reset()
    yield limiter
    limiter.reset()


def test_a_flood_of_forged_callbacks_is_counted_and_logged_not_stored(app, client, users, qualified, db, caplog,
                                                                      fresh_limits):
    from sqlalchemy import func, select

    from exchange.audit.models import AuditEntry
    from exchange.payments import services as psvc
    from exchange.payments.models import PaymentNotification, RefusedCallbacks
    order = psvc.start_online_payment(users["buyer"], qualified)
    db.session.commit()
    body, headers = providers.SandboxProvider().notification_for(order)
    audit_before = db.session.scalar(select(func.count(AuditEntry.id)))
    forged = dict(headers, **{"X-Sandbox-Signature": "0" * 64})
    with caplog.at_level("WARNING", logger="exchange.payments"):
        for i in range(30):
            resp = client.post(CALLBACK, data=body, headers={**(forged if i % 2 else {}), "Content-Type": "application/json"})
            assert resp.status_code == 401
        resp = client.post("/api/v1/payments/callback/nobank", data=body)
        assert resp.status_code == 400
    db.session.expire_all()
    assert db.session.scalar(select(func.count(PaymentNotification.id))) == 0
    assert db.session.scalar(select(func.count(AuditEntry.id))) == audit_before
    counts = {(r.provider, r.reason): r.count for r in db.session.scalars(select(RefusedCallbacks))}
    assert counts == {("sandbox", "unsigned"): 15, ("sandbox", "bad_signature"): 15, ("nobank", "unknown_provider"): 1}
    assert sum("payment callback refused" in r.getMessage() for r in caplog.records) == 31
    # the finance officer sees the day's counts
    login(client, "t_finance", PASSWORD)
    page = text(client.get("/payments/notifications"))
    assert "无法验证的回调" in page and "签名无效" in page and "缺少签名" in page
    # the real notification is still stored and booked
    resp = client.post(CALLBACK, data=body, headers={**headers, "Content-Type": "application/json"})
    assert resp.status_code == 200 and resp.get_json()["result"] == "booked"


def test_the_callback_route_is_rate_limited_per_address(app, client, fresh_limits, monkeypatch):
    monkeypatch.setitem(app.config, "PAYMENT_CALLBACK_LIMIT", "5/minute")
    for _ in range(5):
        assert client.post(CALLBACK, data=b"{}").status_code == 401
    resp = client.post(CALLBACK, data=b"{}")
    assert resp.status_code == 429 and 1 <= int(resp.headers["Retry-After"]) <= 60
    assert resp.get_json()["error"] == "too_many_requests" and "回调过于频繁" in resp.get_json()["message"]
    other = client.post(CALLBACK, data=b"{}", environ_base={"REMOTE_ADDR": "10.20.30.40"})
    assert other.status_code == 401  # another address (the bank) has its own count


# --- item 12 ---------------------------------------------------------------------------------------

def test_one_anonymous_count_for_every_listing_read(app, client, users, fresh_limits, monkeypatch):
    monkeypatch.setitem(app.config, "OPEN_DATA_ANON_LIMIT", "4/minute")
    assert client.get("/projects/").status_code == 200
    assert client.get("/api/v1/public/listings").status_code == 200
    assert client.get("/api/v1/open/announcements").status_code == 200
    assert client.get("/publicity").status_code == 200
    page = client.get("/projects/?q=水田")
    assert page.status_code == 429 and "Retry-After" in page.headers
    assert "访问过于频繁" in text(page) and "登录后浏览不受此限制" in text(page)
    api = client.get("/api/v1/public/deals")
    assert api.status_code == 429 and api.get_json()["error"] == "too_many_requests"
    assert client.get("/api/v1/open/announcements").status_code == 429
    # another address is counted on its own; a signed-in user is not counted
    assert client.get("/projects/", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
    login(client, "t_buyer", PASSWORD)
    for _ in range(6):
        assert client.get("/projects/").status_code == 200
