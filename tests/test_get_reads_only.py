"""A GET only reads (issue 15 item 6): every GET route of the application — the FULL ``app.url_map``, walked at run
time so routes added later are covered — is requested by staff of every kind and by a buyer on a populated database
(a listing in 签约 with its registrations, ended bidding session, deal, overdue contract, refunds, a dispute-free
warning …), and no request may commit: a commit counter on every SQLAlchemy session, and the fingerprint of every
table before and after.

What used to be opened on a GET is now only reported there, and opened by the deadline sweeper
(tests/test_sweeper_opens_missing.py): the settlement of an effective contract (finance's list, the buyer's way in),
the contract draft of a deal in 签约, the result of a bidding session whose time is up."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from exchange import clock
from exchange.contracts.models import Contract
from exchange.settlement.models import Settlement
from exchange.trading.models import BiddingSession
from tests.factories import PASSWORD
from tests.helpers import fingerprint, login, rule_url, text

pytestmark = pytest.mark.usefixtures("uploads")

# GET routes that write on purpose — each with the reason.  Kept short.
WRITES_ON_PURPOSE = {
    "archive.archive": "档案下载本身须记入审计日志（谁、何时下载了哪个项目的档案）",
}

# GET routes that write a row inside the request's transaction, never committed (rolled back at its end) — each with
# what does it.  To be emptied: a page should look rows up, not get-or-create them.
ROLLED_BACK_WRITES: dict[str, str] = {}

READERS = ("t_admin", "t_finance", "t_reviewer", "t_trader", "t_supervisor", "t_point_a1", "t_station_a", "t_buyer")


class Commits:
    """Counts, while ``url`` is being requested, the commits of every session (not a savepoint's: the transaction
    around it is rolled back at the end of the request) and the flushes that would write a row."""

    def __init__(self):
        self.url, self.seen, self.flushes = None, Counter(), Counter()

    def commit(self, session):
        if self.url is not None and not session.in_nested_transaction():
            self.seen[self.url] += 1

    def flush(self, session, context, instances):
        if self.url is not None and (session.new or session.deleted
                                     or any(session.is_modified(o) for o in session.dirty)):
            self.flushes[self.url] += 1

    def __enter__(self):
        event.listen(Session, "before_commit", self.commit)
        event.listen(Session, "before_flush", self.flush)
        return self

    def __exit__(self, *exc):
        event.remove(Session, "before_commit", self.commit)
        event.remove(Session, "before_flush", self.flush)

    def get(self, client, url):
        self.url = url
        try:
            return client.get(url)
        finally:
            self.url = None


def get_rules(app):
    """Every GET rule of the full url map but the static files, sorted by path."""
    return [r for r in sorted(app.url_map.iter_rules(), key=lambda r: r.rule)
            if "GET" in r.methods and r.endpoint != "static"]


def test_no_get_route_commits(app, buyers, overdue_world, db):
    from exchange.supervision import rollup
    ids = overdue_world
    rollup.refresh()  # the statistics rollup, a cache of the listings' figures, is brought up to date by its readers
    rules = [r for r in get_rules(app) if r.endpoint not in WRITES_ON_PURPOSE]
    assert len(rules) > 100  # the whole map, not a sample
    failures, statuses = [], Counter()
    with Commits() as commits:
        for username in READERS:
            client = app.test_client()
            login(client, username, PASSWORD)
            before = fingerprint(db)  # signing in is a write of its own
            for rule in rules:
                url = rule_url(rule, ids)
                resp = commits.get(client, url)
                statuses[resp.status_code] += 1
                if commits.seen[url]:
                    failures.append(f"{username} GET {url} ({rule.endpoint}) committed")
                    commits.seen[url] = 0
                if commits.flushes[url] and rule.endpoint not in ROLLED_BACK_WRITES:
                    failures.append(f"{username} GET {url} ({rule.endpoint}) wrote a row (rolled back)")
                    commits.flushes[url] = 0
                after = fingerprint(db)
                if after != before:
                    failures.append(f"{username} GET {url} ({rule.endpoint}) changed the database")
                    before = after
    assert not failures, "\n".join(failures)
    assert statuses[200] > 400  # pages were really shown, not only refused


def test_the_exceptions_are_real_routes(app):
    endpoints = {r.endpoint for r in get_rules(app)}
    assert set(WRITES_ON_PURPOSE) | set(ROLLED_BACK_WRITES) <= endpoints


# --- what a GET used to open is reported instead --------------------------------------------------------------------

def _settlements(db) -> int:
    return db.session.scalar(select(func.count(Settlement.id)))


def _signed_in(app, *usernames):
    clients = []
    for username in usernames:
        client = app.test_client()
        login(client, username, PASSWORD)
        clients.append(client)
    return clients


def test_a_missing_settlement_is_reported_not_opened(app, users, effective, db):
    """``effective``: the contract made effective by hand, its settlement not opened (as when the fee table could
    not price it).  Finance's list and the buyer's way in say so; neither opens it."""
    deal = effective
    finance, buyer = _signed_in(app, "t_finance", "t_buyer_org")
    before = fingerprint(db)
    with Commits() as commits:
        page = text(commits.get(finance, "/settlements"))
        assert "尚未生成结算单" in page and deal.listing.project_no in page
        resp = commits.get(buyer, f"/settlements/deal/{deal.id}")
        assert resp.status_code == 302 and resp.location.endswith(f"/registrations/{deal.registration_id}")
        assert "结算单尚未生成" in text(commits.get(buyer, resp.location))
        assert not commits.seen and not commits.flushes
    assert fingerprint(db) == before and _settlements(db) == 0


def test_a_missing_contract_is_reported_not_opened_and_outsiders_learn_nothing(app, buyers, contract, db):
    """A deal in 签约 whose draft the end of the publicity did not open: the way in says 合同尚未生成; who may not
    see the contract is refused first, whether the contract exists or not."""
    deal_id = contract.deal_id
    db.session.delete(contract)
    db.session.commit()
    buyer, clerk, *others = _signed_in(app, "t_buyer", "t_point_a1",  # the clerk confirms for the household
                                       "t_buyer_org", "t_coop", "t_point_b1", "t_station_b")  # a loser, another town
    before = fingerprint(db)
    with Commits() as commits:
        resp = commits.get(buyer, f"/contracts/deal/{deal_id}")
        assert resp.status_code == 200 and "合同尚未生成" in text(resp)
        assert commits.get(clerk, f"/contracts/deal/{deal_id}").status_code == 200
        for other in others:
            assert commits.get(other, f"/contracts/deal/{deal_id}").status_code == 403
        assert not commits.seen and not commits.flushes
    assert fingerprint(db) == before
    assert db.session.scalar(select(func.count(Contract.id))) == 0


def test_the_room_of_a_session_whose_time_is_up_only_reads(app, buyers, trading, db):
    """The room shows 已结束 at once; the result is concluded by the sweeper (or the room's state poll), not by
    opening the page."""
    from exchange.trading import services as tsvc
    listing, _regs = trading
    start = clock.now() + timedelta(minutes=5)
    s = tsvc.schedule_online(buyers["trading_officer"], listing, starts_at=start, free_minutes=5,
                             countdown_seconds=60, max_extension_minutes=10)
    db.session.commit()
    clock.freeze(s.ends_at + timedelta(seconds=1))
    clients = _signed_in(app, "t_trader", "t_buyer")
    before = fingerprint(db)
    with Commits() as commits:
        for client in clients:
            resp = commits.get(client, f"/trading/sessions/{s.id}")
            assert resp.status_code == 200 and "已结束" in text(resp)
        assert not commits.seen and not commits.flushes
    assert fingerprint(db) == before
    assert db.session.get(BiddingSession, s.id).state == "scheduled"
