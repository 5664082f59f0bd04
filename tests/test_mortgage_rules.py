"""The rules of a mortgage on plain values (issue 19; DESIGN §3.13): the loan within the right's term, the papers a
lease and a collective asset need, the amount within the appraisal, one key per right however it is typed."""
from datetime import date
from decimal import Decimal

import pytest

from exchange.mortgages import rules

LEASE = rules.Right("C01", "临湘经流 2026-0012", date(2036, 12, 31), obtained_by_lease=True)
TODAY = date(2027, 3, 1)


@pytest.mark.parametrize("start,end,ok", [
    (date(2027, 3, 1), date(2030, 3, 1), True),
    (date(2027, 3, 1), date(2036, 12, 31), True),      # ends with the lease: allowed
    (date(2027, 3, 1), date(2037, 1, 1), False),       # one day past the lease
    (date(2027, 3, 1), date(2027, 3, 1), False),       # no term
])
def test_the_loan_ends_no_later_than_the_right(start, end, ok):
    problem = rules.term_problem(LEASE, start, end, TODAY)
    assert (problem == "") is ok
    if not ok and end > LEASE.right_end:
        assert "第四十七条" in problem and "2036-12-31" in problem


def test_an_ended_right_or_one_without_its_end_is_refused():
    assert "已于" in rules.term_problem(rules.Right("C01", "x", date(2026, 12, 31)), date(2027, 3, 1),
                                        date(2027, 6, 1), TODAY)
    assert "到期日" in rules.term_problem(rules.Right("C01", "x", None), date(2027, 3, 1), date(2027, 6, 1), TODAY)


def test_a_lease_needs_the_contractors_consent_and_filing_a_collective_its_decision():
    assert rules.required_materials(LEASE) == ["holder_id", "right_proof", "contractor_consent", "contractor_filing",
                                               "appraisal"]
    pond = rules.Right("C07", "LX-SL-08", date(2035, 1, 1), collective=True)
    assert "collective_decision" in rules.required_materials(pond) and "contractor_consent" not in \
        rules.required_materials(pond)


def test_the_loan_is_within_the_appraisal():
    assert rules.amount_problem(Decimal("300000"), Decimal("360000")) == ""
    assert "评估价值" in rules.amount_problem(Decimal("360000.01"), Decimal("360000"))
    assert rules.amount_problem(Decimal("1"), None).startswith("请填写评估")


def test_one_certificate_typed_two_ways_is_one_right():
    assert rules.right_key("C01", "临湘经流 2026-0012") == rules.right_key("C01", "临湘经流２０２６００１２") == \
        "C01:临湘经流20260012"
    assert rules.right_key("C02", "临湘经流20260012") != rules.right_key("C01", "临湘经流20260012")
