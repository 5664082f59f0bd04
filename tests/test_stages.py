"""exchange/stages.py: each stage declares its own clocks and what 中止 / 重启 / 终结 / 违约 do to its rows; the
incidents package asks the registry instead of writing other packages' tables.  These tests keep the declarations
whole: a new deadline column on a stage's rows that nobody declared would run on while the listing is suspended."""
from __future__ import annotations

import re

import pytest

from exchange import stages
from exchange.extensions import db as _db

DUE = re.compile(r"(^|_)(due|deadline|end|ends|starts|hard_end|opens)_at$")


def _tables(app):
    return {m.class_.__tablename__: m.class_ for m in _db.Model.registry.mappers}


STAGE_TABLES = {"listing": "listing", "procurement": "procurement_project", "registration": "registration", "session": "bidding_session", "deal": "deal",
                "contract": "contract", "settlement": "settlement"}


def test_the_stages_of_a_listing_are_declared_in_the_order_of_its_life(app):
    assert [s.name for s in stages.stages()] == list(STAGE_TABLES)


def test_each_declared_clock_is_a_column_of_its_stages_rows(app):
    tables = _tables(app)
    for stage in stages.stages():
        columns = tables[STAGE_TABLES[stage.name]].__table__.c
        for c in stage.clocks:
            assert c.field in columns, f"{stage.name}.{c.field}"
            assert c.kind in (stages.WORKDAYS, stages.DAYS, stages.SECONDS)


@pytest.mark.article("第二十三条")
def test_every_deadline_of_a_stages_rows_is_frozen_on_suspension(app):
    tables = _tables(app)
    declared = {(STAGE_TABLES[s.name], c.field) for s in stages.stages() for c in s.clocks}
    for name in STAGE_TABLES.values():
        for column in tables[name].__table__.c:
            if DUE.search(column.name):
                assert (name, column.name) in declared, f"{name}.{column.name} is a deadline no stage declared"


def test_giving_back_refuses_a_field_the_stage_did_not_declare(app):
    import pytest
    with pytest.raises(ValueError):
        stages.give_back("listing", 1, "title", None)


def test_termination_during_signing_ends_each_stages_own_rows(users, db, frozen, uploads):
    """终结 during 签约: the contract stage voids the drafted contract, the deal stage voids the deal — each through
    its own machine, asked by the registry — and the deposits go up for refund."""
    from exchange.incidents import termination as xsvc
    from tests.builders import PDF, Lifecycle
    life = Lifecycle(users, db).to("contract")
    assert life.contract is not None and life.contract.state in ("draft", "confirmed")
    t = xsvc.terminate(users["center_reviewer"], life.listing, ground="authority", basis="临农函〔2026〕88号：终结",
                       document=PDF, document_filename="批复.pdf")
    db.session.commit()
    assert life.listing.state == "terminated" and t.from_state == "contract"
    assert db.session.get(type(life.contract), life.contract.id).state == "void"
    assert db.session.get(type(life.deal), life.deal.id).state == "void"
    assert t.refunds_opened >= 1
