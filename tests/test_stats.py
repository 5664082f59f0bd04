"""统计分析 and 考评排名: known data → exact figures, filters, bad input, pages, CSV, Excel, API, access."""
from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from exchange import clock
from exchange.supervision import charts, reports, stats
from tests.builders import NOV, bj, stats_deal, stats_listing
from tests.factories import PASSWORD
from tests.helpers import login, text, token_headers

pytestmark = pytest.mark.usefixtures("uploads")

D = Decimal


def f_(db=None, **kw):
    return stats.parse_filters({**NOV, **kw})


def test_summary_of_november_exact(data, orgs):
    s = stats.summary(f_())
    assert s["period"]["text"] == "2026年11月"
    assert s["listings"] == {"submitted": 5, "published": 5, "concluded": 3, "failed": 1, "failed_rate": D("0.2500")}
    d = s["deals"]
    assert d["count"] == 3 and d["amount"] == D("430000.00")
    assert d["area_mu"] == D("153.00")  # 50 亩 + 2000 m² (3 亩) + 100 亩; the 台 of L3 is no area
    assert d["floor_total"] == D("350000.00")
    assert d["premium_rate"] == D("0.2286")  # 430000 / 350000 − 1
    assert d["avg_premium_rate"] == D("0.1667")  # (0.2 + 0 + 0.3) / 3
    assert s["deposits_held"] == D("2000.00")
    st = s["stages"]
    assert st["review"] == {"count": 5, "avg_days": 3.2, "max_days": 5.0}
    assert st["announce"] == {"count": 4, "avg_days": 7.0, "max_days": 7.0}
    assert st["contract"] == {"count": 3, "avg_days": 6.33, "max_days": 10.0}
    assert st["settle"] == {"count": 2, "avg_days": 6.0, "max_days": 8.0}
    assert st["certify"] == {"count": 2, "avg_days": 4.0, "max_days": 7.0}
    c = s["clocks"]
    assert c["contract"] == {"met": 2, "missed": 1, "total": 3, "share": D("0.6667")}
    assert c["settle"] == {"met": 2, "missed": 0, "total": 2, "share": D("1.0000")}
    assert c["certify"] == {"met": 1, "missed": 1, "total": 2, "share": D("0.5000")}
    assert c["refund"] == {"met": 1, "missed": 1, "total": 2, "share": D("0.5000")}


def test_filters_change_the_figures(data, orgs):
    s = stats.summary(f_(town=str(orgs.station_b.id)))
    assert (s["listings"]["submitted"], s["listings"]["concluded"], s["deals"]["amount"]) == (1, 1, D("260000.00"))
    assert s["deposits_held"] == 0
    s = stats.summary(f_(village=str(orgs.point_a1.id)))
    assert (s["listings"]["submitted"], s["listings"]["concluded"], s["listings"]["failed"]) == (3, 1, 1)
    assert s["deposits_held"] == D("2000.00")
    s = stats.summary(f_(category="c01"))  # codes in any case
    assert (s["listings"]["submitted"], s["deals"]["count"], s["deals"]["amount"]) == (4, 2, D("170000.00"))
    s = stats.summary(f_(method="sealed_bid"))
    assert (s["listings"]["submitted"], s["deals"]["count"], s["deals"]["premium_rate"]) == (0, 1, D("0.3000"))
    dec = stats.summary(stats.parse_filters({"month": "2026-12"}))
    assert dec["listings"]["submitted"] == 1 and dec["deals"]["amount"] == D("11000.00")
    assert dec["clocks"]["settle"] == {"met": 0, "missed": 1, "total": 1, "share": D("0.0000")}  # L2, never settled
    assert dec["clocks"]["contract"]["missed"] == 1  # L7: due 12-12, not signed by 12-15
    everything = stats.summary(stats.parse_filters({}))
    assert everything["deals"]["count"] == 4 and everything["period"]["text"] == "全部时间"


def test_month_boundaries_are_beijing_time(data, orgs, db):
    # 2026-11-30 23:30 Beijing is 15:30 UTC on the 30th; 2026-12-01 00:30 Beijing is 16:30 UTC on the 30th
    stats_listing(orgs, 8, station="station_a", point="point_a2", submitted=bj(11, 30, 23), state="station_review")
    stats_listing(orgs, 9, station="station_a", point="point_a2", submitted=bj(12, 1, 0), state="station_review")
    db.session.commit()
    assert stats.summary(f_())["listings"]["submitted"] == 6
    months = {r["key"]: r for r in stats.by_month(stats.parse_filters({"from": "2026-10", "to": "2026-12"}))}
    assert list(months) == ["2026-10", "2026-11", "2026-12"]
    assert [months[k]["listings"]["submitted"] for k in months] == [1, 6, 2]
    assert [months[k]["deals"]["count"] for k in months] == [0, 3, 1]
    assert months["2026-11"]["label"] == "2026年11月"


def test_groups_by_town_village_category_method(data, orgs):
    f = f_()
    towns = {r["label"]: r for r in stats.by_town(f)}
    assert list(towns) == ["长安街道", "江南镇"]
    assert towns["长安街道"]["deals"]["amount"] == D("170000.00") and towns["江南镇"]["deals"]["amount"] == D("260000.00")
    assert sum(r["listings"]["submitted"] for r in towns.values()) == stats.summary(f)["listings"]["submitted"]
    vill = {r["label"]: r for r in stats.by_village(f_(town=str(orgs.station_b.id)))}
    assert list(vill) == ["团湖村", "山峰村", "直接申请（未经交易点）"]
    assert vill["直接申请（未经交易点）"]["listings"]["submitted"] == 1 and vill["团湖村"]["deals"]["count"] == 1
    cats = {r["label"]: r for r in stats.by_category(f)}
    assert len(cats) == 11 and cats["林权"]["deals"]["amount"] == D("260000.00")
    assert cats["农业生产设施设备所有权"]["listings"]["failed"] == 1
    methods = {r["key"]: r for r in stats.by_method(f)}
    assert methods["agreement"]["deals"]["amount"] == D("50000.00") and methods["agreement"]["label"] == "协议转让"
    rows = stats.listings(f_(village=str(orgs.point_a1.id)))
    assert [r["project_no"] for r in rows] == ["LXNCJY-T-7", "LXNCJY-T-1", "LXNCJY-T-3"]  # latest step first


def test_ranking_per_town_and_village(data, orgs):
    rows = stats.ranking(f_())
    a, b = rows
    assert (a["label"], a["rank"], b["label"]) == ("长安街道", 1, "江南镇")
    assert (a["submissions"], a["returns"], a["return_rate"]) == (6, 2, D("0.3333"))
    assert (a["station_reviews"], a["station_review_days"]) == (6, 0.71)  # (0.25+0.5+1+1+0.5+1)/6
    assert (a["center_reviews"], a["center_review_days"]) == (5, 1.25)  # (1.75+2+1+0.5+1)/5
    assert (a["deals"], a["amount"]) == (2, D("170000.00"))
    assert (b["submissions"], b["returns"], b["return_rate"], b["station_review_days"], b["center_review_days"],
            b["deals"], b["amount"]) == (1, 0, D("0.0000"), None, 5.0, 1, D("260000.00"))
    assert [r["label"] for r in stats.ranking(f_(), sort="amount")] == ["江南镇", "长安街道"]
    assert [r["label"] for r in stats.ranking(f_(), sort="return_rate", descending=False)] == ["江南镇", "长安街道"]
    vill = stats.ranking(f_(town=str(orgs.station_a.id)), level="village")
    assert [(r["label"], r["submissions"]) for r in vill] == [("新建村", 4), ("茶园村", 2)]
    with pytest.raises(stats.StatsError):
        stats.ranking(f_(), sort="nonsense")


@pytest.mark.parametrize("args, field", [
    ({"from": "2026-13-01"}, "from"), ({"from": "yesterday"}, "from"), ({"to": "2026-02-30"}, "to"),
    ({"from": "2026-12-01", "to": "2026-11-01"}, "to"), ({"month": "2026-1x"}, "month"), ({"month": "1999-01"}, "month"),
    ({"quarter": "2026Q5"}, "quarter"), ({"town": "abc"}, "town"), ({"town": "99999"}, "town"),
    ({"town": "-1"}, "town"), ({"village": "99999"}, "village"), ({"category": "C99"}, "category"),
    ({"method": "lottery"}, "method"), ({"from": "3000-01-01"}, "from"), ({"town": "1" * 40}, "town"),
])
def test_bad_filters_are_refused_with_the_field(users, orgs, args, field):
    with pytest.raises(stats.StatsError) as exc:
        stats.parse_filters(args)
    assert exc.value.field == field and exc.value.message


def test_village_must_belong_to_the_town_and_a_station_is_no_village(users, orgs):
    with pytest.raises(stats.StatsError, match="不属于"):
        stats.parse_filters({"town": str(orgs.station_a.id), "village": str(orgs.point_b1.id)})
    with pytest.raises(stats.StatsError):
        stats.parse_filters({"town": str(orgs.point_a1.id)})
    with pytest.raises(stats.StatsError):
        stats.parse_filters({"village": str(orgs.station_a.id)})


def test_a_listing_through_the_real_workflow_is_counted(announced, users):
    today = clock.today_local().isoformat()
    s = stats.summary(stats.parse_filters({"from": today, "to": today}))
    assert s["listings"]["submitted"] == 1 and s["listings"]["published"] == 1
    assert s["stages"]["review"]["count"] == 1
    rank = {r["label"]: r for r in stats.ranking(stats.parse_filters({"from": today, "to": today}))}
    assert rank["长安街道"]["submissions"] == 1 and rank["长安街道"]["station_reviews"] == 1


def test_charts_are_accessible_svg_with_the_numbers():
    svg = str(charts.bar_chart("各乡镇成交金额", [("长安街道", D("170000")), ("江南镇", D("260000.5"))], unit="元"))
    assert svg.startswith("<svg") and 'role="img"' in svg and "<title" in svg and "<desc" in svg
    assert "170,000" in svg and "260,000.50" in svg and "长安街道" in svg
    line = str(charts.line_chart("趋势", [("2026年10月", 0), ("2026年11月", D("430000"))], bars=[("2026年11月", 3)],
                                 bar_label="成交宗数"))
    assert "430,000" in line and "<polyline" in line and "成交宗数" in line
    assert "没有数据" in str(charts.bar_chart("空", []))
    assert "&lt;script&gt;" in str(charts.bar_chart("<script>", [("<script>", 1)]))


# --- pages, CSV, Excel, API ------------------------------------------------------------------------------

def _login(client, username):
    resp = login(client, username, PASSWORD)
    assert resp.status_code == 302


@pytest.mark.parametrize("who", ["t_reviewer", "t_supervisor", "t_admin", "t_finance", "t_trader"])
def test_pages_render_for_center_staff_and_the_supervisor(client, data, orgs, who):
    _login(client, who)
    resp = client.get("/supervision/", query_string=NOV)
    html = text(resp)
    assert resp.status_code == 200, html
    assert "统计监督" in html and "430,000" in html and "<svg" in html and "22.9%" in html
    assert f'/supervision/?from=2026-11-01&amp;to=2026-11-30&amp;town={orgs.station_a.id}' in html  # drill-down
    resp = client.get("/supervision/", query_string={**NOV, "town": orgs.station_a.id})
    assert resp.status_code == 200 and "新建村" in text(resp) and f"village={orgs.point_a1.id}" in text(resp)
    resp = client.get("/supervision/", query_string={**NOV, "village": orgs.point_a1.id})
    assert resp.status_code == 200 and "LXNCJY-T-1" in text(resp) and f"/listings/{data.L[1].id}" in text(resp)
    assert client.get("/supervision/listings", query_string=NOV).status_code == 200
    resp = client.get("/supervision/ranking", query_string={**NOV, "sort": "amount"})
    assert resp.status_code == 200 and text(resp).index("江南镇</a>") < text(resp).index("长安街道</a>")
    assert client.get("/supervision/ranking", query_string={**NOV, "level": "village"}).status_code == 200
    assert client.get("/supervision/").status_code == 200  # default: this year so far


@pytest.mark.parametrize("who", ["t_station_a", "t_point_a1", "t_buyer"])
def test_village_and_town_staff_and_buyers_get_403(client, data, who):
    _login(client, who)
    for url in ("/supervision/", "/supervision/ranking", "/supervision/listings", "/supervision/csv/town.csv",
                "/supervision/reports/", "/supervision/reports/monthly.xlsx?month=2026-11",
                "/api/v1/stats/summary"):
        assert client.get(url).status_code == 403, url


def test_signed_out_is_sent_to_login(client, data):
    assert client.get("/supervision/").status_code == 302
    assert client.get("/api/v1/stats/summary").status_code == 401


def test_reports_need_reports_download(client, data):
    _login(client, "t_trader")  # may see the statistics, not download the reports
    assert client.get("/supervision/reports/monthly.xlsx?month=2026-11").status_code == 403
    assert "统计报表" not in text(client.get("/supervision/"))


def test_bad_filters_on_pages_and_api_are_400(client, data):
    _login(client, "t_supervisor")
    for q in ({"from": "2026-99-01"}, {"town": "x"}, {"category": "nope"}, {"from": "2026-12-01", "to": "2026-01-01"}):
        resp = client.get("/supervision/", query_string=q)
        assert resp.status_code == 400 and "alert-error" in text(resp), q
        assert client.get("/supervision/csv/town.csv", query_string=q).status_code == 400
        api = client.get("/api/v1/stats/by-town", query_string=q)
        assert api.status_code == 400 and api.get_json()["error"] == "invalid" and api.get_json()["fields"], q
    assert client.get("/supervision/ranking", query_string={"sort": "x"}).status_code == 400
    assert client.get("/api/v1/stats/ranking", query_string={"sort": "x"}).status_code == 422
    assert client.get("/supervision/csv/nothing.csv").status_code == 404
    assert client.get("/supervision/reports/monthly.xlsx?month=2026-13").status_code == 400
    assert client.get("/supervision/reports/quarterly.xlsx?quarter=Q4").status_code == 400
    assert client.post("/supervision/", data={}).status_code in (400, 405)  # read-only: GET only


def test_csv_matches_the_table(client, data, orgs):
    _login(client, "t_supervisor")
    resp = client.get("/supervision/csv/town.csv", query_string=NOV)
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    body = resp.get_data()
    assert body.startswith("\ufeff".encode())  # BOM for Excel
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    title, cols, table_rows = reports.table("town", f_())
    assert rows[0] == [c.header for c in cols]
    assert rows[1][0] == "长安街道" and rows[2][0] == "江南镇"
    amount = [c.header for c in cols].index("成交金额（元）")
    assert [r[amount] for r in rows[1:]] == ["170000.00", "260000.00"]
    html = text(client.get("/supervision/", query_string=NOV))
    assert "170,000" in html and "260,000" in html
    rank = list(csv.reader(io.StringIO(client.get("/supervision/csv/ranking.csv", query_string={
        **NOV, "sort": "amount"}).get_data().decode("utf-8-sig"))))
    assert [r[1] for r in rank[1:]] == ["江南镇", "长安街道"]
    for name in reports.TABLES:
        assert client.get(f"/supervision/csv/{name}.csv", query_string=NOV).status_code == 200, name


def test_monthly_workbook_opens_and_its_totals_equal_the_summary(client, data):
    from openpyxl import load_workbook
    _login(client, "t_supervisor")
    resp = client.get("/supervision/reports/monthly.xlsx?month=2026-11")
    assert resp.status_code == 200 and "spreadsheetml" in resp.mimetype
    wb = load_workbook(io.BytesIO(resp.get_data()))
    assert wb.sheetnames == ["汇总", "按乡镇", "按品种", "按方式", "成交明细", "期限执行"]
    s = stats.summary(stats.parse_filters({"month": "2026-11"}))
    ws = wb["汇总"]
    assert "2026年11月" in ws["A1"].value and ws.freeze_panes == "A3"
    values = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=2).value for r in range(3, 14)}
    assert values["成交金额（元）"] == s["deals"]["amount"] == D("430000.00")
    assert values["成交（宗）"] == 3 and values["成交面积（亩）"] == D("153.00")
    assert abs(values["溢价率（Σ成交价/Σ底价−1）"] - 0.2286) < 1e-9
    towns = wb["按乡镇"]
    header = [c.value for c in towns[2]]
    col = header.index("成交金额（元）") + 1
    assert towns.cell(row=2 + 3, column=1).value == "合计"
    assert towns.cell(row=5, column=col).value == s["deals"]["amount"]
    assert sum(towns.cell(row=r, column=col).value for r in (3, 4)) == s["deals"]["amount"]
    assert towns.cell(row=3, column=col).number_format == "#,##0.00"
    deals = wb["成交明细"]
    assert deals.max_row == 2 + 3 and sum(deals.cell(row=r, column=11).value for r in range(3, 6)) == D("430000.00")
    clocks = wb["期限执行"]
    assert [c.value for c in clocks[2]][:4] == ["乡镇（街道）", "签约应办", "签约超时", "签约按时率"]
    resp = client.get("/supervision/reports/quarterly.xlsx?quarter=2026Q4")
    assert resp.status_code == 200
    q = load_workbook(io.BytesIO(resp.get_data()))["汇总"]
    assert "2026-10-01 至 2026-12-31" in q["A1"].value


def test_api_figures(client, data, users, db):
    h = token_headers(db, users, "supervisor")
    s = client.get("/api/v1/stats/summary", query_string=NOV, headers=h)
    assert s.status_code == 200, s.get_json()
    body = s.get_json()
    assert body["deals"]["amount"] == "430000.00" and body["deals"]["premium_rate"] == "0.2286"
    assert body["clocks"]["contract"]["share"] == "0.6667" and body["period"]["from"] == "2026-11-01"
    assert body["stages"]["contract"]["max_days"] == 10.0
    towns = client.get("/api/v1/stats/by-town", query_string=NOV, headers=h).get_json()
    assert [(t["label"], t["deals"]["amount"]) for t in towns["items"]] == [("长安街道", "170000.00"),
                                                                           ("江南镇", "260000.00")]
    months = client.get("/api/v1/stats/by-month", query_string={"month": "2026-11"}, headers=h).get_json()
    assert [m["key"] for m in months["items"]] == ["2026-11"]
    rank = client.get("/api/v1/stats/ranking", query_string={**NOV, "sort": "amount"}, headers=h).get_json()
    assert [r["label"] for r in rank["items"]] == ["江南镇", "长安街道"] and rank["items"][0]["rank"] == 1
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/stats/summary" in spec["paths"] and "/api/v1/stats/ranking" in spec["paths"]


def test_deals_count_by_the_method_actually_used(data, orgs, users, db):
    """Announced for 网络竞价, concluded as 协议转让 (one paid buyer): the listing is 网络竞价's, the deal 协议转让's."""
    L8 = stats_listing(orgs, 8, station="station_b", point="point_b1", floor="40000", qty="8", submitted=bj(11, 2),
                  published=bj(11, 3), announce_end=bj(11, 10), state="publicity",
                  events=[("submit", bj(11, 2)), ("center_approve", bj(11, 3))])
    assert L8.trading_method == "online_bidding"
    stats_deal(users, L8, 8, "40000", bj(11, 11, 10), method="agreement", contract_due=bj(11, 18, 10))
    db.session.commit()
    methods = {r["key"]: r for r in stats.by_method(f_())}
    assert methods["agreement"]["deals"]["amount"] == D("90000.00")  # L2's 50 000 and L8's 40 000
    assert methods["agreement"]["deals"]["count"] == 2
    online = methods["online_bidding"]
    assert online["deals"]["amount"] == D("120000.00")  # L1 only
    assert online["listings"]["published"] == 3  # L1, L3 and L8, as announced
    only = stats.summary(f_(method="agreement"))
    assert only["deals"]["count"] == 2


def test_ranking_ties_keep_the_citys_order_and_days_show_two_decimals(data, orgs):
    rows = stats.ranking(stats.parse_filters({"from": "2025-01-01", "to": "2025-01-31"}))  # nothing happened then
    assert [r["key"] for r in rows] == [t.id for t in stats.towns()]
    from exchange.supervision.reports import Column
    assert Column("x", lambda r: r["v"], "days").text({"v": 0.0}) == "0.00"
    assert Column("x", lambda r: r["v"], "days").text({"v": 1.5}) == "1.50"
