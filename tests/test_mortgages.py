"""抵押登记 services (issue 19; DESIGN §3.13): the term within the right, one mortgage per right, a mortgaged right not
listed, the papers a lease needs, the institution's decision, the registration's number, the release."""
from __future__ import annotations

from decimal import Decimal

import pytest

from exchange.mortgages import services as msvc
from tests.builders import PDF, new_household_listing
from tests.mortgage_builders import applied, bank

pytestmark = pytest.mark.usefixtures("frozen", "uploads")


def test_a_household_right_is_checked_approved_registered_and_released(users, orgs, db):
    org = bank(users, orgs)
    m = applied(users, org)
    assert m.state == "applied" and m.origin == "point" and m.right_key == "C01:430682经营权20190456"
    msvc.check(users["center_reviewer"], m)
    with pytest.raises(Exception):
        msvc.decide(users["center_reviewer"], m, approve=True, contract_no="X", loan_amount="80000", rate="4.35")
    msvc.decide(users["lender"], m, approve=True, contract_no="LXNS-2026-0088", loan_amount="80000", rate="4.35")
    assert m.state == "approved" and m.loan_rate == Decimal("0.0435")
    msvc.register(users["center_reviewer"], m)
    assert m.state == "registered" and m.mortgage_no == "临农交押〔2026〕第000001号"
    with pytest.raises(msvc.MortgageError):
        msvc.release(users["lender"], m)  # the release notice first
    msvc.add_material(users["lender"], m, "release", PDF, "解押通知书.pdf")
    msvc.release(users["lender"], m)
    assert m.state == "released" and not msvc.holding(m.right_key)


def test_the_loan_may_not_outlive_the_right(users, orgs, db):
    org = bank(users, orgs)
    with pytest.raises(msvc.MortgageError) as exc:
        applied(users, org, right_end_date="2028-12-31")
    assert exc.value.field == "loan_end" and "第四十七条" in exc.value.message


def test_a_right_is_mortgaged_once_and_not_listed_while_mortgaged(users, orgs, db):
    from exchange.listings import rules
    org = bank(users, orgs)
    m = applied(users, org)
    msvc.check(users["center_reviewer"], m)
    with pytest.raises(msvc.MortgageError) as exc:
        applied(users, org, right_cert_no="430682经营权2019-0456")  # the same certificate, typed otherwise
    assert "不能重复抵押" in exc.value.message
    listing = new_household_listing(users, right_cert_no="430682-经营权-2019-0456")
    assert any("未经抵押权人同意不能挂牌交易" in p for p in rules.problems(listing))


def test_a_lease_traded_here_needs_the_contractors_consent_and_filing(users, orgs, db):
    org = bank(users, orgs)
    clerk = users["point_a1"]
    from tests.mortgage_builders import household_right
    m = msvc.apply(clerk, institution_id=org.id, **household_right(obtained_by_lease=True))
    for kind in ("holder_id", "right_proof", "appraisal"):
        msvc.add_material(clerk, m, kind, PDF, f"{kind}.pdf")
    with pytest.raises(msvc.MortgageError) as exc:
        msvc.check(users["center_reviewer"], m)
    assert "承包方同意" in exc.value.message
    for kind in ("contractor_consent", "contractor_filing"):
        msvc.add_material(clerk, m, kind, PDF, f"{kind}.pdf")
    assert msvc.check(users["center_reviewer"], m).state == "checked"


def test_the_institution_refuses_with_a_reason_and_the_right_is_free_again(users, orgs, db):
    org = bank(users, orgs)
    m = applied(users, org)
    msvc.check(users["center_reviewer"], m)
    with pytest.raises(Exception):
        msvc.decide(users["lender"], m, approve=False, note="")
    msvc.decide(users["lender"], m, approve=False, note="借款人征信有逾期记录")
    assert m.state == "refused" and msvc.holding(m.right_key) is None
