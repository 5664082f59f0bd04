"""`flask seed-demo --history --listings N` (issue 17 item 19): the demo's history is made through the services —
on a small scale here (the `make run` default is 48 listings): deals concluded with contracts, settlements and
verifiable 鉴证书, refunds, a 流拍, a suspension restarted and one still in force, a default, today's work in every
queue, a rollup that counts it all, every town; and the clock given back."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from exchange import clock

N = 8  # each kind once; with the suspension, the default and today's six: 16 listings, every town


@pytest.fixture
def history(app, appctx, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_ROOT", str(tmp_path / "uploads"))
    monkeypatch.setitem(app.config, "CERT_KEY_PATH", str(tmp_path / "certificates" / "key.pem"))
    monkeypatch.setitem(app.config, "CERT_PATH", str(tmp_path / "certificates" / "cert.pem"))
    app.extensions.pop("exchange_storage", None)
    result = app.test_cli_runner().invoke(args=["seed-demo", "--history", "--listings", str(N)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    yield result.output
    app.extensions.pop("exchange_storage", None)


def test_history_through_the_services(app, history):
    from exchange.certificates.models import Certificate
    from exchange.certificates.services import short_number
    from exchange.contracts.models import Contract
    from exchange.demo import TOWNS
    from exchange.extensions import db
    from exchange.incidents.models import DefaultCase, Suspension
    from exchange.ledger.models import Refund
    from exchange.ledger.services import check
    from exchange.listings.models import Listing
    from exchange.registrations.models import Registration
    from exchange.settlement.models import Settlement
    from exchange.supervision import stats
    from exchange.supervision.models import StatsDay
    from exchange.trading.models import BiddingSession, Deal

    assert not clock.is_frozen()  # the command gives the process its clock back
    assert f"{N} 个项目" in history and "演示账号" in history
    now = clock.now()

    def count(model, *where):
        return db.session.scalar(select(func.count()).select_from(model).where(*where))

    states = dict(db.session.execute(select(Listing.state, func.count(Listing.id)).group_by(Listing.state)).all())
    # the history: completed deals, 流拍, a default; today's work in every queue
    assert states["completed"] >= N - 1 and states["failed"] >= 1 and states["defaulted"] == 1, states
    for state in ("station_review", "center_review", "announced", "publicity", "contract", "settlement",
                  "certification", "suspended", "trading"):
        assert states.get(state, 0) >= 1, (state, states)
    oldest = db.session.scalar(select(func.min(Listing.created_at)))
    assert now - clock.ensure_aware(oldest) > timedelta(days=600)  # about two years back
    # every town, the main categories
    towns = set(db.session.scalars(select(Listing.station_id)))
    assert len(towns) == len(TOWNS) == 14
    from exchange.catalog.models import Category
    codes = set(db.session.scalars(select(Category.code).join(Listing, Listing.category_id == Category.id)))
    assert {"C01", "C02", "C03", "C04", "C05", "C06"} <= codes
    # deals with contracts, settlements and certificates that verify
    assert count(Deal) >= N and {"online_bidding", "agreement"} <= set(db.session.scalars(select(Deal.method)))
    assert count(Contract) >= N
    assert count(Settlement, Settlement.state == "awaiting") == 1
    certs = db.session.scalars(select(Certificate).where(Certificate.state == "valid")).all()
    assert len(certs) == states["completed"]
    for cert in (certs[0], certs[-1]):
        page = app.test_client().get(f"/verify/{short_number(cert.cert_no)}").get_data(as_text=True)
        assert "有效" in page and cert.pdf_sha256 in page
    # refunds paid to losing bidders, some still to transfer today; a suspension restarted and one in force;
    # the default forfeited the winner's deposit
    assert count(Refund, Refund.state == "approved") >= 3 and count(Refund, Refund.state == "pending") >= 1
    assert count(Suspension) == 2 and count(Suspension, Suspension.restarted_at.is_not(None)) == 1
    case = db.session.scalar(select(DefaultCase))
    assert case is not None and case.party == "buyer" and case.forfeited > 0
    # registrations awaiting qualification and deposits awaiting booking
    assert count(Registration, Registration.state == "applied") >= 1
    assert count(Registration, Registration.state == "qualified") >= 2
    # a bidding session starting after start-up
    assert count(BiddingSession, BiddingSession.state == "scheduled", BiddingSession.starts_at > now) == 1
    # the rollup and the dashboard's figures
    assert count(StatsDay) > 0
    span = stats.parse_filters({"from": (clock.today_local() - timedelta(days=740)).isoformat(),
                                "to": clock.today_local().isoformat()})
    figures = stats.summary(span)
    assert figures["deals"]["count"] >= N and figures["deals"]["amount"] > 0
    assert figures["listings"]["failed"] >= 1
    assert check() == []

    # `make run` again: `demo refresh-bidding` leaves a coming session alone and re-arms one once it is over
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "refresh-bidding"])
    assert result.exit_code == 0 and "已有演示竞价" in result.output
    clock.freeze(clock.now() + timedelta(days=1))  # the next day's `make run`: yesterday's session is over
    from exchange.deadlines.sweeper import sweep
    sweep()
    result = runner.invoke(args=["demo", "refresh-bidding"])
    assert result.exit_code == 0 and "已重新安排演示竞价" in result.output, result.output
    assert count(BiddingSession, BiddingSession.state == "scheduled", BiddingSession.starts_at > clock.now()) == 1


def test_history_needs_the_flag(app, appctx):
    result = app.test_cli_runner().invoke(args=["seed-demo", "--listings", "5"])
    assert result.exit_code == 2 and "--history" in result.output
