"""Issue 18 item 1, a procurement project's terms (exchange/procurement/rules.py): the national thresholds of compulsory
tendering refuse a project with the reason, the 最高限价 within the budget, the bond at most 2 % of the limit."""
from decimal import Decimal as D

import pytest

from exchange.procurement import rules as r


def fields(found):
    return dict(found)


def test_a_village_road_repair_within_the_thresholds_passes():
    assert r.problems("招标", r.WORKS, D("420000"), D("400000"), D("8000")) == []


@pytest.mark.parametrize("kind, budget, line", [(r.WORKS, "4000000", "400 万元"), (r.GOODS, "2000000", "200 万元"),
                                                (r.SERVICES, "1500000", "100 万元")])
def test_at_or_above_the_national_threshold_the_project_is_refused_with_the_reason(kind, budget, line):
    found = fields(r.problems("采购", kind, D(budget), D("900000"), None))
    assert line in found["budget"] and "公共资源交易中心" in found["budget"]


def test_just_below_the_threshold_is_accepted_and_the_thresholds_are_a_setting():
    assert r.problems("招标", r.WORKS, D("3999999.99"), D("3900000"), None) == []
    lower = r.Thresholds(works=D("3000000"))
    assert "300 万元" in fields(r.problems("招标", r.WORKS, D("3500000"), D("3400000"), None, lower))["budget"]


def test_the_limit_is_within_the_budget_and_the_bond_at_most_two_percent_of_it():
    found = fields(r.problems("招标", r.WORKS, D("400000"), D("420000"), D("8400.01")))
    assert found["limit"] == "最高限价不能高于预算金额 40 万元。"
    assert "8,400 元" in found["bond"] and "2%" in found["bond"]
    assert r.problems("招标", r.WORKS, D("420000"), D("420000"), D("8400")) == []  # exactly 2 %
    assert r.problems("招标", r.WORKS, D("420000"), D("420000"), D("0")) == []     # no bond at all


def test_investment_has_a_minimum_price_and_no_threshold():
    assert r.problems("招商", None, D("9000000"), D("50000"), D("1000")) == []
    found = fields(r.problems("招商", None, D("60000"), D("50000"), D("1000.01")))
    assert "最低价的 2%" in found["bond"]


@pytest.mark.parametrize("args, field", [
    (("拍卖", r.WORKS, D("1"), D("1"), None), "method"),
    (("招标", "roads", D("1"), D("1"), None), "kind"),
    (("招标", r.WORKS, None, D("1"), None), "budget"),
    (("招标", r.WORKS, D("10"), D("0"), None), "limit"),
    (("招标", r.WORKS, D("10"), D("5"), D("-1")), "bond"),
])
def test_missing_or_odd_terms_are_named_by_field(args, field):
    assert field in fields(r.problems(*args))
