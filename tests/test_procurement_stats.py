"""招标采购 in the statistics (issue 18 item 8; DESIGN §3.9): a procurement's price is money the collective pays a
supplier (招商: money an investor pays it), not a transfer's proceeds — it is never added into the transfers' 成交金额,
成交宗数, 溢价率 or the ranking's amount; the ``procurement`` block reports the projects apart (提交, 发布, 成交, 流标), the
招标采购金额 against the 最高限价 (节约资金) and 招商 on its own.  The rollup still equals the direct queries; the pages,
CSV, Excel and API show the same."""
from __future__ import annotations

import io
from decimal import Decimal

import pytest

from exchange import clock
from exchange.procurement import services as psvc
from exchange.supervision import reports, stats
from tests.builders import bj
from tests.factories import PASSWORD
from tests.helpers import login, text, token_headers
from tests.procurement_builders import pay_bonds, published_project, suppliers, to_opening  # noqa: F401
from tests.stats_reference import direct_by, direct_ranking, direct_summary

pytestmark = pytest.mark.usefixtures("uploads", "bid_vault", "signing_key")

D = Decimal
PERIOD = {"from": "2026-11-01", "to": "2026-12-31"}
INVEST_TERMS = dict(kind="", budget="500000", limit_price="100000", bond="2000", eval_kind="lowest_price",
                    scope="新建村闲置校舍（原村小学，建筑面积 860 平方米）招商，用于农产品加工，租期 10 年，报价为首年租金。",
                    requirements="具有独立法人资格的农业企业或农民专业合作社。", opens_at="2026-12-07 09:30")


def _three_projects(users, db):
    """Published on Monday 23 Nov, all opened by the sweeper on 7 Dec: a road repair by 招标 (3 bids, the lowest
    249 800.50 under a ceiling of 280 000), street lights by 招标 with 2 bids (流标), an idle school offered by 招商
    (one offer, 120 000 over the least 100 000).  The road and the school are evaluated the same day."""
    clock.freeze(bj(11, 23, 9))
    road = published_project(users, db)
    lights = published_project(users, db, title="团湖村路灯采购安装工程")
    school = published_project(users, db, mode="招商", title="新建村闲置校舍招商", terms=INVEST_TERMS)
    suppliers(users)
    pay_bonds(users, road, ("buyer_org", "buyer_3", "buyer_coop"))
    pay_bonds(users, lights, ("buyer_org", "buyer_3"))
    pay_bonds(users, school, ("buyer_coop",))
    for k, p in {"buyer_org": "256000", "buyer_3": "249800.50", "buyer_coop": "261000"}.items():
        psvc.submit_bid(users[k], road, price=p)
    psvc.submit_bid(users["buyer_org"], lights, price="150000")
    psvc.submit_bid(users["buyer_3"], lights, price="151000")
    psvc.submit_bid(users["buyer_coop"], school, price="120000")
    db.session.commit()
    to_opening(road)  # one sweep opens the three
    db.session.expire_all()
    assert (lights.state, psvc.project_of(lights).state) == ("failed", "failed")
    road_deal = psvc.complete_evaluation(users["trading_officer"], road)
    school_deal = psvc.complete_evaluation(users["trading_officer"], school)
    db.session.commit()
    return road, lights, school, road_deal, school_deal


def _same_both_ways(f):
    assert stats.summary(f) == direct_summary(f)
    for group in stats.BY:
        assert stats.BY[group](f) == direct_by(group, f), group
    for level in ("town", "village"):
        assert stats.ranking(f, level, "amount") == direct_ranking(f, level, "amount"), level


def test_procurement_amounts_are_reported_apart_from_transfers(data, orgs, users, db):
    f = stats.parse_filters(PERIOD)
    before = stats.summary(f)
    before_rank = stats.ranking(f, "town", "amount")
    road, lights, school, road_deal, school_deal = _three_projects(users, db)
    assert (road_deal.method, road_deal.price, school_deal.price) == ("procurement", D("249800.50"), D("120000.00"))
    after = stats.summary(f)
    # the transfers' figures do not move: no procurement price in 成交金额, no project in 提交/发布/成交/流拍
    assert after["deals"] == before["deals"] and after["listings"] == before["listings"]
    assert [(r["deals"], r["amount"]) for r in stats.ranking(f, "town", "amount")] == [
        (r["deals"], r["amount"]) for r in before_rank]
    p = after["procurement"]
    assert p == {"submitted": 3, "published": 3, "concluded": 2, "failed": 1, "failed_rate": D("0.3333"),
                 "purchase_count": 1, "purchase_amount": D("249800.50"), "limit_total": D("280000.00"),
                 "savings": D("30199.50"), "savings_rate": D("0.1079"),  # 30 199.50 / 280 000
                 "invest_count": 1, "invest_amount": D("120000.00")}
    assert before["procurement"]["concluded"] == 0 and before["procurement"]["savings_rate"] is None
    # the work of the center counts for all: the announcements the projects ran are in the 公告 stage
    assert after["stages"]["announce"]["count"] == before["stages"]["announce"]["count"] + 3
    # the rollup equals the direct queries with procurement in the data, at several instants
    _same_both_ways(f)
    for at in (bj(12, 7, 10), bj(12, 20, 9)):
        clock.freeze(at)
        _same_both_ways(f)
        _same_both_ways(stats.parse_filters({"method": "procurement"}))


def test_procurement_by_month_town_category_and_method(data, orgs, users, db):
    _three_projects(users, db)
    f = stats.parse_filters(PERIOD)
    months = {r["key"]: r["procurement"] for r in stats.by_month(f)}
    assert (months["2026-11"]["published"], months["2026-11"]["concluded"]) == (3, 0)  # published in November
    assert (months["2026-12"]["concluded"], months["2026-12"]["failed"], months["2026-12"]["purchase_amount"]) == (
        2, 1, D("249800.50"))  # opened and evaluated in December
    towns = {r["label"]: r for r in stats.by_town(f)}
    assert towns["长安街道"]["procurement"]["purchase_amount"] == D("249800.50")
    assert towns["江南镇"]["procurement"]["concluded"] == 0
    villages = {r["label"]: r["procurement"] for r in stats.by_village(stats.parse_filters(
        {**PERIOD, "town": str(orgs.station_a.id)}))}
    assert villages["新建村"]["invest_amount"] == D("120000.00")
    cats = {r["label"]: r for r in stats.by_category(f)}
    c08 = cats["农村建设项目招标、货物和服务采购、产业项目招商和转让"]
    assert c08["deals"]["amount"] == 0 and c08["procurement"]["purchase_amount"] == D("249800.50")
    methods = {r["key"]: r for r in stats.by_method(f)}
    assert methods["procurement"]["deals"]["count"] == 0 and methods["procurement"]["listings"]["published"] == 0
    assert methods["procurement"]["procurement"]["concluded"] == 2
    assert all(r["procurement"]["concluded"] == 0 for k, r in methods.items() if k != "procurement")
    # the method filter: transfers only → no procurement; procurement only → no transfer
    assert stats.summary(stats.parse_filters({**PERIOD, "method": "agreement"}))["procurement"]["published"] == 0
    only = stats.summary(stats.parse_filters({**PERIOD, "method": "procurement"}))
    assert only["deals"]["count"] == 0 and only["deals"]["amount"] == 0 and only["procurement"]["concluded"] == 2
    # 成交明细 are the transfers'; 招标采购明细 the projects', with what was saved
    assert all(r["method"] != "招标采购（网上开标）" for r in stats.deal_rows(f))
    rows = stats.procurement_rows(f)
    assert [(r["mode"], r["price"], r["limit_price"], r["savings"], r["savings_rate"]) for r in rows] == [
        ("招标", D("249800.50"), D("280000.00"), D("30199.50"), D("0.1079")),
        ("招商", D("120000.00"), D("100000.00"), None, None)]
    assert rows[1]["limit_label"] == "最低价"


def test_a_voided_deal_leaves_the_procurement_figures(users, orgs, db):
    from exchange.incidents import termination
    from tests.builders import PDF
    road, _lights, _school, road_deal, _ = _three_projects(users, db)
    f = stats.parse_filters(PERIOD)
    assert stats.summary(f)["procurement"]["purchase_count"] == 1
    termination.terminate(users["center_reviewer"], road, ground="authority", basis="镇人民政府来函：项目调整",
                          document=PDF, document_filename="来函.pdf")
    db.session.commit()
    p = stats.summary(f)["procurement"]
    assert (p["purchase_count"], p["purchase_amount"], p["savings_rate"], p["invest_count"]) == (0, 0, None, 1)
    _same_both_ways(f)


def test_pages_csv_excel_and_api_show_the_procurement_figures(client, users, orgs, db):
    _three_projects(users, db)
    login(client, "t_supervisor", PASSWORD)
    page = text(client.get("/supervision/", query_string=PERIOD))
    assert "招标采购（另行统计）" in page and "249,800.50" in page and "30,199.50" in page and "招标采购明细" in page
    title, cols, rows = reports.table("summary", stats.parse_filters(PERIOD))
    values = {r["label"]: r["value"] for r in rows}
    assert values["招标采购金额（元，招标和采购的中标价）"] == D("249800.50") and values["节约资金（元）"] == D("30199.50")
    assert values["成交金额（元）"] == 0  # no transfer in this world
    csv_body = client.get("/supervision/csv/procurement.csv", query_string=PERIOD).get_data().decode("utf-8-sig")
    assert "249800.50" in csv_body and "30199.50" in csv_body and csv_body.count("\n") == 3
    town_csv = client.get("/supervision/csv/town.csv", query_string=PERIOD).get_data().decode("utf-8-sig")
    header = town_csv.splitlines()[0].split(",")
    assert "招标采购金额（元）" in header and "成交金额（元）" in header
    from openpyxl import load_workbook
    wb = load_workbook(io.BytesIO(client.get("/supervision/reports/monthly.xlsx?month=2026-12").get_data()))
    assert wb.sheetnames[-1] == "招标采购明细" and wb["招标采购明细"].max_row == 2 + 2
    nov = load_workbook(io.BytesIO(client.get("/supervision/reports/monthly.xlsx?month=2026-11").get_data()))
    assert "招标采购明细" not in nov.sheetnames  # no procurement deal in November
    body = client.get("/api/v1/stats/summary", query_string=PERIOD,
                      headers=token_headers(db, users, "supervisor")).get_json()
    assert body["procurement"]["purchase_amount"] == "249800.50" and body["procurement"]["savings_rate"] == "0.1079"
    assert body["deals"]["amount"] == "0.00"
    open_stats = client.get("/api/v1/open/statistics", query_string=PERIOD).get_json()
    assert open_stats["summary"]["procurement"]["invest_amount"] == "120000.00"
