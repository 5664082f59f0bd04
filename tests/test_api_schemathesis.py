"""The API fuzzed against its own OpenAPI document (schemathesis), on the database engine of the run.

* The document is read through WSGI (``schemathesis.openapi.from_wsgi``) from an application built at import: the
  operations must be known when pytest collects.  The requests go to the suite's own application and database
  (the ``app`` / ``db`` fixtures), whose tables are emptied after each test like every other test's.
* All operations, grouped by tag (one test per blueprint, so the database is set up and emptied ~20 times, not
  once per operation: on PostgreSQL emptying is the slow part).  Each operation gets ``EXAMPLES`` generated
  requests, valid by the document or not (positive and negative data), always the same ones (a fixed seed per
  operation), each sent twice: anonymously (a browser session holding only its CSRF token, which it sends) and as
  an administrator with the credentials the operation declares (an API token; on the open-data operations an
  open-data token).  Operations the document calls public get only the anonymous call.
* Every answer must be no server error, of a documented content type, and match the documented response schema
  (an invalid request's 4xx too: the error body).
* The data: the staff set, a deal with its contract in force and its settlement, a listing in trading with an
  online bidding session scheduled and two bidders, an announced listing with one application.  Generated ids
  and numbers are pointed at these objects three times in four, so most requests reach real rows.
"""
from __future__ import annotations

import hashlib
import zlib
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance
from tests.api_schema import EXAMPLES, SEED, schema  # noqa: F401  (the document, read once)
from tests.builders import announce, applied, make_effective, pay, to_trading

CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance]

OPERATIONS = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]
BROKEN = [str(result.err()) for result in schema.get_all_operations() if not isinstance(result, Ok)]
TAGS = sorted({operation.tags[0] for operation in OPERATIONS})


def test_schemathesis_reads_every_operation():
    assert not BROKEN
    assert len(OPERATIONS) > 130 and len(TAGS) > 15


class World:
    """The suite's application and database with some of everything, and the credentials of each identity."""

    def __init__(self, app, db, users):
        from exchange.audit.services import acting_as
        from exchange.opendata import services as odsvc
        from exchange.settlement import services as stl
        from exchange.trading import services as tsvc

        def announced():
            return announce(users, db)

        self.app, self.db, self.users = app, db, users
        with acting_as("test"):
            sold = announced()  # an agreement: deal, contract in force, settlement awaiting the price
            regs = list(pay(users, sold, ["buyer_org"]).values())
            db.session.commit()
            deal = tsvc.confirm_agreement(users["trading_officer"], to_trading(sold))
            db.session.commit()
            make_effective(users, deal)
            settlement = stl.ensure_settlement(deal)
            db.session.commit()
            bidding = announced()  # in trading, an online bidding session scheduled in an hour
            regs += pay(users, bidding, ["buyer", "buyer_org"]).values()
            db.session.commit()
            bidding = to_trading(bidding)
            session = tsvc.schedule_online(users["trading_officer"], bidding, starts_at=self._later(),
                                           free_minutes=10, countdown_seconds=300, max_extension_minutes=30)
            db.session.commit()
            fresh = announced()  # announced, one application awaiting review
            application = applied(users, fresh)
            db.session.commit()
            _dt, self.data_token = odsvc.create_token(users["admin"], name="schemathesis", consumer="测试",
                                                      per_minute=6000)
            db.session.commit()
        listings = [sold, bidding, fresh]
        # what a path parameter of each name may point at
        self.known = {
            "listing_id": [x.id for x in listings], "project_no": [x.project_no for x in listings],
            "reg_id": [application.id, *[r.id for r in regs]],
            "deal_id": [deal.id], "deal_no": [deal.deal_no], "contract_id": [self._contract_id(deal)],
            "settlement_id": [settlement.id], "session_id": [session.id],
            "user_id": [u.id for u in users.values()], "org_id": [users["point_a1"].org_unit_id],
            "year": [2026, 2027], "day": ["2027-02-08", "2026-12-31"], "provider": ["sandbox"],
        }
        self.anonymous = app.test_client()
        self.admin = app.test_client()
        self.api_token = None

    @staticmethod
    def _later():
        from exchange import clock
        return clock.now() + timedelta(hours=1)

    @staticmethod
    def _contract_id(deal):
        from exchange.contracts.services import contract_for_deal
        return contract_for_deal(deal).id

    def fresh_token(self) -> None:
        """A new administrator's token for each operation (an earlier one may have revoked the last)."""
        from exchange.accounts.services import create_token
        from exchange.audit.services import acting_as
        with acting_as("test"):
            _tok, self.api_token = create_token(self.users["admin"], self.users["admin"], "schemathesis")
        self.db.session.commit()

    def aim(self, case) -> None:
        """Point three in four generated path parameters at the world's objects (deterministically)."""
        for name, value in list((case.path_parameters or {}).items()):
            choices = self.known.get(name) or ([1, 2] if isinstance(value, int) else None)
            if not choices:
                continue
            pick = int(hashlib.sha256(repr(value).encode()).hexdigest(), 16) % (len(choices) * 4 // 3 + 1)
            if pick < len(choices):
                case.path_parameters[name] = choices[pick]

    def calls(self, operation) -> list[tuple[object, dict]]:
        """(client, headers) for each identity the operation's ``security`` distinguishes: an anonymous browser
        (its session holds only a CSRF token, which it sends as the document says), and the administrator."""
        schemes = {name for requirement in operation.definition.raw.get("security") or [] for name in requirement}
        # (asked each time: signing out, which the fuzzer does too, ends the session and its token)
        csrf = self.anonymous.get("/api/v1/auth/csrf").get_json()["csrf_token"]
        calls = [(self.anonymous, {"X-CSRFToken": csrf})]
        if "bearerAuth" in schemes:
            calls.append((self.admin, {"Authorization": f"Bearer {self.api_token}"}))
        elif "openDataToken" in schemes:
            calls.append((self.admin, {"Authorization": f"Bearer {self.data_token}"}))
        return calls


@pytest.fixture
def world(app, db, users, frozen, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_ROOT", str(tmp_path / "uploads"))
    app.extensions.pop("exchange_storage", None)
    yield World(app, db, users)
    app.extensions.pop("exchange_storage", None)


def _fuzz(operation, world: World) -> None:
    @seed(SEED + zlib.crc32(operation.label.encode()))
    @settings(max_examples=EXAMPLES, database=None, deadline=None, suppress_health_check=list(HealthCheck),
              phases=[Phase.explicit, Phase.generate, Phase.shrink], print_blob=False)
    @given(case=st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                          operation.as_strategy(GenerationMode.NEGATIVE)))
    def run(case):
        world.aim(case)
        for client, headers in world.calls(operation):
            case.call_and_validate(app=world.app, session=client, headers=headers, checks=CHECKS)

    run()


@pytest.mark.parametrize("tag", TAGS)
def test_every_operation_answers_as_documented(tag, world):
    failures = []
    for operation in [op for op in OPERATIONS if op.tags[0] == tag]:
        world.fresh_token()
        try:
            _fuzz(operation, world)
        except Exception as exc:  # every operation of the tag is tried; all failures are reported
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
