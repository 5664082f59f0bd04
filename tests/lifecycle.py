"""Fixtures shared by many test modules (registered by ``tests/conftest.py``): a listing at each stage of its life,
built step by step with ``tests/builders.py`` — each fixture is one step from the one it asks for, so a test that
asks for ``buyers`` and ``online_deal`` gets the same buyers the deal was made with.  The steps run through
``tests/snapshots.py``: built for real the first time, restored after that.

====================  ========================================================================================
fixture               what the test gets
====================  ========================================================================================
``uploads``           stored files under the test's own ``tmp_path`` (modules ask for it with
                      ``pytestmark = pytest.mark.usefixtures("uploads")``)
``signing_key``       the center's throwaway signing key and certificate configured (``center_key``: made once)
``announced``         the household listing published (the clock frozen at 2026-11-23 09:00)
``buyers``            ``users`` with buyer_coop (a cooperative) and buyer_3 (a company) added
``qualified``         测试受让人's registration for ``announced``, qualified (the deposit not paid)
``money``             a paid deposit on a lost registration (refund pending) and 300 元 in suspense
``trading``           (listing, regs): three paid buyers, the announcement over — 组织交易
``online_deal``       (deal, regs): 网络竞价 won by 测试受让人 at 160 500 元 — 交易公示
``agreement_deal``    deal: 协议转让 to buyer_org at 160 000 元 — 交易公示
``contract``          the contract draft of ``online_deal`` — 签约
``overdue_contract``  (deal, regs): … its deadline passed
``overdue_world``     the ids of everything around ``overdue_contract`` (and a supervision warning)
``effective``         deal: ``agreement_deal``'s contract in force — 结算
``certifiable``       deal: an offline tender at 170 000 元, contract in force, money settled — 鉴证
``data``              the known statistics of November 2026 (rows written directly)
``fresh_url``         a new, empty database of this run's engine
====================  ========================================================================================
"""
from __future__ import annotations

import uuid

import pytest

from tests import builders as b
from tests.snapshots import step


# --- configuration ----------------------------------------------------------------------------------------------------

@pytest.fixture
def uploads(app, tmp_path, monkeypatch):
    """Stored files (materials, receipts, scans …) under the test's own ``tmp_path / "uploads"``."""
    monkeypatch.setitem(app.config, "UPLOAD_ROOT", str(tmp_path / "uploads"))
    app.extensions.pop("exchange_storage", None)
    yield
    app.extensions.pop("exchange_storage", None)


@pytest.fixture
def bid_vault(app, tmp_path, monkeypatch):
    """The sealed-bid vault's key (procurement) in the test's own directory, never the checkout's instance/."""
    monkeypatch.setitem(app.config, "BID_VAULT_KEY_PATH", str(tmp_path / "vault" / "vault.key"))


@pytest.fixture(scope="session")
def center_key(tmp_path_factory):
    """A throwaway center key and self-signed certificate (never the demo's or production's)."""
    from exchange.certificates import signing
    d = tmp_path_factory.mktemp("center-key")
    signing.generate_key(d / "key.pem", d / "cert.pem", "临湘市农村产权交易中心")
    return d / "key.pem", d / "cert.pem"


@pytest.fixture
def signing_key(app, center_key, monkeypatch):
    """The app signs 鉴证书 with ``center_key``; its public address is https://jy.linxiang.example."""
    monkeypatch.setitem(app.config, "CERT_KEY_PATH", str(center_key[0]))
    monkeypatch.setitem(app.config, "CERT_PATH", str(center_key[1]))
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://jy.linxiang.example")


# --- a listing's life -------------------------------------------------------------------------------------------------

@pytest.fixture
def announced(users, db, frozen, request):
    return step(request, "announced", lambda: b.announce(users, db))


@pytest.fixture
def buyers(users, request):
    return step(request, "buyers", lambda: b.add_buyers(users))


@pytest.fixture
def qualified(users, announced, db, request):
    return step(request, "qualified", lambda: b.qualify(users, announced, db))


@pytest.fixture
def money(users, announced, db, request):
    return step(request, "money", lambda: b.refund_and_suspense(users, announced, db))


@pytest.fixture
def trading(buyers, announced, db, request):
    return step(request, "trading", lambda: b.open_trading(buyers, announced, db))


@pytest.fixture
def online_deal(buyers, trading, db, request):
    listing, regs = trading
    return step(request, "online_deal", lambda: (b.win_online(buyers, listing, regs, db), regs))


@pytest.fixture
def agreement_deal(users, announced, db, request):
    def build():
        listing, _regs = b.open_trading(users, announced, db, keys=("buyer_org",), priority=())
        return b.agree(users, listing, db)
    return step(request, "agreement_deal", build)


@pytest.fixture
def contract(online_deal, db, request):
    def build():
        deal, _regs = online_deal
        c = b.end_publicity(deal)
        assert c is not None
        return c
    return step(request, "contract", build)


@pytest.fixture
def overdue_contract(online_deal, db, request):
    """网络竞价 won by 测试受让人 at 160 500 元; runners-up: the cooperative (priority, matched 160 000 元) and
    buyer_org (160 000 元, earlier); the contract draft is past its 5-工作日 deadline."""
    def build():
        from exchange.trading.models import Deal
        deal, regs = online_deal
        contract = b.end_publicity(deal)
        assert contract is not None and contract.state == "draft"
        b.let_lapse(contract)
        return db.session.get(Deal, deal.id), regs
    return step(request, "overdue_contract", build)


@pytest.fixture
def overdue_world(buyers, overdue_contract, db, request):
    """A listing in 签约 (contract overdue) with three paid registrations, an ended bidding session, the deal,
    its contract, the losers' refunds and a supervision warning; ids for the URL parameters."""
    def build():
        from sqlalchemy import select

        from exchange.contracts.models import Contract
        from exchange.ledger.models import Refund
        from exchange.supervision import alerts
        from exchange.supervision.models import SupervisionAlert
        from exchange.trading.models import BiddingSession
        deal, regs = overdue_contract
        alerts.detect()
        db.session.commit()
        contract = db.session.scalar(select(Contract).where(Contract.deal_id == deal.id))
        session = db.session.scalar(select(BiddingSession).where(BiddingSession.listing_id == deal.listing_id))
        refund = db.session.scalar(select(Refund).order_by(Refund.id))
        alert = db.session.scalar(select(SupervisionAlert).order_by(SupervisionAlert.id))
        assert contract and session and refund and alert
        return {
            "listing_id": deal.listing_id, "reg_id": regs["buyer_org"].id, "deal_id": deal.id, "deal_no": deal.deal_no,
            "contract_id": contract.id, "session_id": session.id, "refund_id": refund.id, "alert_id": alert.id,
            "user_id": buyers["point_a1"].id, "org_id": buyers["point_a1"].org_unit_id, "category_id": 1,
            "method_id": 1, "year": 2026, "day": "2026-10-01", "key": "default", "step": "basics",
            "provider": "sandbox", "order_no": "X", "number": "X",
        }
    return step(request, "overdue_world", build)


@pytest.fixture
def effective(users, announced, db, request):
    """An agreement deal at 160 000 元 with buyer_org (deposit 16 000 元), its contract effective:
    the listing is 结算中."""
    def build():
        listing, _regs = b.open_trading(users, announced, db, keys=("buyer_org",), priority=())
        deal = b.agree(users, listing, db)
        return b.make_effective(users, deal)
    return step(request, "effective", build)


@pytest.fixture
def certifiable(buyers, trading, db, request):
    """A deal whose contract is effective and whose money is settled: the listing is in 鉴证."""
    listing, regs = trading
    return step(request, "certifiable", lambda: b.certifiable(buyers, listing, regs, db))


# --- other worlds -----------------------------------------------------------------------------------------------------

@pytest.fixture
def data(users, orgs, db, request):
    """Two towns, seven listings and their deals, refunds and deposits; now is 2026-12-15 10:00 Beijing time."""
    return step(request, "data", lambda: b.stats_data(users, orgs, db))


@pytest.fixture
def fresh_url(tmp_path):
    """A new, empty database of this run's engine."""
    from tests.conftest import ENGINE, PG_ADMIN_URL
    if ENGINE == "sqlite":
        yield f"sqlite:///{tmp_path / 'simulate.db'}"
        return
    import psycopg
    name = f"exchange_sim_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
