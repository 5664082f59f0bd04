"""Issue 18 item 4, 评标 arithmetic (exchange/procurement/evaluation.py) and the panel's draw (panel.py): 最低价法 and
综合评分法 in both price directions, the ceiling, invalid bids, the price formula, the panel average with extreme totals
left out, tie-breaking, the three candidates; a panel of an odd number drawn by specialty with conflicts excluded,
repeatable from its seed."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal as D

import pytest

from exchange.procurement import evaluation as ev
from exchange.procurement import panel

T0 = datetime(2027, 3, 1, 1, 0, tzinfo=timezone.utc)


def bid(i, price, minutes=0, invalid=""):
    return ev.Bid(i, D(price), T0 + timedelta(minutes=minutes), invalid)


ROAD = ev.Method(ev.LOWEST_PRICE, ev.LOWER, limit=D("400000"))


def test_lowest_price_ranks_the_valid_bids_lowest_first_and_refuses_the_ceiling_and_marked_bids():
    out = ev.evaluate(ROAD, [bid(1, "386500"), bid(2, "401000"), bid(3, "352000"), bid(4, "360000", invalid="缺少资质证书"),
                             bid(5, "400000")])
    assert [r.bid.id for r in out.ranked] == [3, 1, 5] and [r.rank for r in out.ranked] == [1, 2, 3]
    assert {b.id: why for b, why in out.invalid} == {2: "报价超过最高限价 400000 元", 4: "缺少资质证书"}
    assert [c.bid.id for c in out.candidates] == [3, 1, 5]


def test_a_tie_goes_to_the_earlier_submission():
    out = ev.evaluate(ROAD, [bid(1, "352000", minutes=30), bid(2, "352000", minutes=5), bid(3, "380000")])
    assert [r.bid.id for r in out.ranked] == [2, 1, 3]


def test_only_three_candidates_and_a_zero_price_is_no_bid():
    out = ev.evaluate(ROAD, [bid(i, str(300000 + i)) for i in range(1, 6)] + [bid(9, "0")])
    assert [c.bid.id for c in out.candidates] == [1, 2, 3] and len(out.ranked) == 5
    assert out.invalid[0][0].id == 9


def test_investment_ranks_the_highest_first_and_refuses_below_its_minimum():
    method = ev.Method(ev.LOWEST_PRICE, ev.HIGHER, limit=D("50000"))
    out = ev.evaluate(method, [bid(1, "52000"), bid(2, "49000"), bid(3, "61000")])
    assert [r.bid.id for r in out.ranked] == [3, 1] and out.invalid[0][1] == "报价低于最低限价 50000 元"


SCORED = ev.Method(ev.SCORED, ev.LOWER, limit=D("400000"), price_weight=D("40"),
                   criteria=(ev.Criterion("plan", "施工方案", D("35")), ev.Criterion("record", "业绩与信誉", D("25"))))


def sheets(scores):
    """member → bid → (plan, record)"""
    return {m: {b: {"plan": D(p), "record": D(r)} for b, (p, r) in by_bid.items()} for m, by_bid in scores.items()}


def test_scored_price_formula_panel_average_and_ranking():
    bids = [bid(1, "350000"), bid(2, "380000"), bid(3, "420000")]  # 3 is over the ceiling
    out = ev.evaluate(SCORED, bids, sheets({
        11: {1: ("20", "15"), 2: ("33", "24")},
        12: {1: ("22", "15"), 2: ("30", "22")},
        13: {1: ("21", "16"), 2: ("31", "23")}}))
    first, second = out.ranked
    # 基准价 = 350000 (the lowest valid); bid 2: 350000 / 380000 × 40 = 36.842… → 36.84
    assert second.bid.id == 1 and second.price_score == D("40.00") and second.panel_score == D("36.33")
    assert first.bid.id == 2 and first.price_score == D("36.84") and first.panel_score == D("54.33")
    assert first.total == D("91.17") and second.total == D("76.33")
    assert first.members == {11: D("57"), 12: D("52"), 13: D("54")}
    assert [b.id for b, _ in out.invalid] == [3]


def test_extreme_totals_are_left_out_with_five_members_when_the_setting_says_so():
    method = ev.Method(**{**SCORED.__dict__, "trim_extremes": True})
    scores = {m: {1: (p, "20")} for m, p in zip((1, 2, 3, 4, 5), ("10", "30", "30", "30", "35"))}
    out = ev.evaluate(method, [bid(1, "350000")], sheets(scores))
    assert out.ranked[0].panel_score == D("50.00")  # (50 + 50 + 50) / 3: 30 and 55 left out
    plain = ev.evaluate(SCORED, [bid(1, "350000")], sheets(scores))
    assert plain.ranked[0].panel_score == D("47.00")  # (30 + 50 + 50 + 50 + 55) / 5
    three = {m: {1: (p, "20")} for m, p in zip((1, 2, 3), ("10", "30", "35"))}
    assert ev.evaluate(method, [bid(1, "350000")], sheets(three)).ranked[0].panel_score == D("45.00")  # not trimmed


def test_scored_tie_goes_to_the_better_price_then_the_earlier_submission():
    m = ev.Method(ev.SCORED, ev.LOWER, price_weight=D("50"), criteria=(ev.Criterion("plan", "方案", D("50")),))
    # bid 1: price score 50, panel 40 → 90; bid 2: price 40 (400/500×50), panel 50 → 90: equal totals
    out = ev.evaluate(m, [bid(1, "400", minutes=10), bid(2, "500")],
                      {k: {1: {"plan": D("40")}, 2: {"plan": D("50")}} for k in (1, 2, 3)})
    assert [r.total for r in out.ranked] == [D("90.00"), D("90.00")] and [r.bid.id for r in out.ranked] == [1, 2]


@pytest.mark.parametrize("bad, words", [
    ({11: {1: ("20", "15")}, 12: {1: ("22", "15")}}, "单数"),
    ({11: {1: ("20", "15")}, 12: {1: ("22", "15")}, 13: {}}, "不完整"),
    ({11: {1: ("20", "15")}, 12: {1: ("22", "15")}, 13: {1: ("36", "15")}}, "0 至 35"),
    ({11: {1: ("20", "15")}, 12: {1: ("22", "15")}, 13: {1: ("-1", "15")}}, "0 至 35"),
])
def test_a_panel_or_a_sheet_that_cannot_count_is_refused(bad, words):
    with pytest.raises(ev.EvaluationError) as exc:
        ev.evaluate(SCORED, [bid(1, "350000")], sheets(bad))
    assert words in exc.value.message


@pytest.mark.parametrize("method, words", [
    (ev.Method(ev.SCORED, price_weight=D("40"), criteria=(ev.Criterion("a", "方案", D("50")),)), "合计应为 100"),
    (ev.Method(ev.SCORED, price_weight=D("40")), "评分因素"),
    (ev.Method(ev.LOWEST_PRICE, price_weight=D("40")), "只比较价格"),
    (ev.Method("auction"), "最低价法或综合评分法"),
    (ev.Method(ev.LOWEST_PRICE, "sideways"), "报价方向"),
    (ev.Method(ev.SCORED, price_weight=D("40"), criteria=(ev.Criterion("a", "方案", D("30")),
                                                          ev.Criterion("a", "方案", D("30")))), "重复"),
])
def test_a_method_that_cannot_be_published_is_refused(method, words):
    with pytest.raises(ev.EvaluationError) as exc:
        method.check()
    assert words in exc.value.message


# --- the panel's draw -------------------------------------------------------------------------------------------

ROADS = frozenset({"道路工程"})


def experts():
    return [panel.Expert(1, "甲", ROADS), panel.Expert(2, "乙", ROADS, villages=frozenset({70})),
            panel.Expert(3, "丙", ROADS, parties=frozenset({501})), panel.Expert(4, "丁", ROADS),
            panel.Expert(5, "戊", ROADS, active=False), panel.Expert(6, "己", frozenset({"农业"})),
            panel.Expert(7, "庚", ROADS), panel.Expert(8, "辛", ROADS | {"农业"})]


def test_the_panel_is_drawn_by_specialty_without_those_tied_to_the_village_or_a_bidder():
    d = panel.draw(experts(), 3, "道路工程", village_id=70, bidder_party_ids={501, 502}, seed="fixed-seed")
    assert d.eligible == (1, 4, 7, 8)
    assert d.excluded == {2: "与项目所在村（社区）有利害关系，回避", 3: "与投标人有利害关系，回避（投标人 501）", 5: "已停用"}
    assert len(set(d.chosen)) == 3 and set(d.chosen) <= set(d.eligible)
    assert panel.redo(d) == d.chosen  # anyone repeats it from the seed


def test_the_draw_is_random_and_recorded_with_its_seed():
    draws = {panel.draw(experts(), 3, "道路工程", 70, set()).chosen for _ in range(40)}
    assert len(draws) > 1
    d = panel.draw(experts(), 3, "道路工程", 70, set())
    assert len(d.seed) == 32 and panel.redo(d) == d.chosen


@pytest.mark.parametrize("size", [1, 2, 4])
def test_a_panel_is_an_odd_number_of_at_least_three(size):
    with pytest.raises(panel.DrawError):
        panel.draw(experts(), size, "道路工程", None, set())


def test_too_few_experts_left_is_said_plainly():
    with pytest.raises(panel.DrawError) as exc:
        panel.draw(experts(), 5, "道路工程", 70, {501})
    assert "只有 4 人，不足 5 人" in exc.value.message
