"""The public pages a first-time visitor meets (issue 17 item 18): a listing in 交易中 shows its bidding session
(start, current price, end — never who bids), the project list folds its filters behind 筛选 and names a filter it
could not use, the home page stays short on a phone, the 坐落 is printed once, the OpenAPI tags speak Chinese."""
from __future__ import annotations

import re

import pytest

from exchange import clock
from exchange.trading import services as tsvc
from tests import builders as b
from tests.helpers import text

pytestmark = pytest.mark.usefixtures("uploads")


def seen(resp) -> str:
    """What the page says: its text without the markup, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", text(resp)).split())


# --- a listing in 交易中 ----------------------------------------------------------------------------------------------

def test_a_listing_in_trading_shows_its_online_session_without_bidders(client, buyers, trading, db):
    listing, regs = trading
    url = f"/projects/{listing.project_no}"
    page = seen(client.get(url))
    assert "公告期已结束，交易中心正在组织交易（交易方式：网络竞价）" in page and "竞价时间确定后在此公布" in page

    session = b.live(buyers, listing)  # scheduled 5 minutes ahead; the clock at its start
    clock.advance(seconds=-120)
    page = seen(client.get(url))
    assert "等待开始" in page and "开始时间" in page and "起始价" in page and "160,000.00 元" in page
    assert "尚无报价" not in page

    clock.freeze(session.starts_at)
    tsvc.place_bid(buyers["buyer_org"], session.id, "160000", key=b.key())
    clock.advance(seconds=30)
    tsvc.place_bid(buyers["buyer"], session.id, "160500", key=b.key())
    db.session.commit()
    clock.advance(seconds=30)
    resp = client.get(url)
    page = seen(resp)
    assert resp.status_code == 200
    assert "自由报价期" in page and "当前最高价" in page and "160,500.00 元" in page and "壹拾陆万零伍佰元整" in page
    assert "已有 2 次有效报价" in page and "最迟" in page
    # no bidder's identity: no 竞买号, no name
    for reg in regs.values():
        assert reg.bidder_no not in page
    for who in ("测试受让人", buyers["buyer_org"].display_name):
        assert who not in page


def test_a_sealed_bid_session_shows_its_times_not_its_offers(client, buyers, trading, db):
    listing, regs = trading
    start = clock.now() + b.timedelta(minutes=5)
    s = tsvc.schedule_sealed(buyers["trading_officer"], listing, starts_at=start,
                             closes_at=start + b.timedelta(hours=1), opens_at=start + b.timedelta(hours=2))
    db.session.commit()
    page = seen(client.get(f"/projects/{listing.project_no}"))
    assert "一次性报价" in page and "开标时间" in page and "开标前任何人" in page
    assert s.id


# --- the project list -------------------------------------------------------------------------------------------------

def test_the_filters_are_folded_behind_one_button_and_the_results_come_first(client, announced):
    page = client.get("/projects/").get_data(as_text=True)
    assert re.search(r'<details class="search-filters">\s*<summary[^>]*>筛选', page)
    assert page.index('id="q"') < page.index("<details") < page.index("project-card")
    page = client.get("/projects/?method=online_bidding&price_min=1000").get_data(as_text=True)
    assert "筛选（已选 2 项）" in page and '<details class="search-filters">' in page  # folded: results first


@pytest.mark.parametrize("query,field,says", [
    ("price_min=abc", "price_min", "最低底价：金额格式不正确"),
    ("price_max=-5", "price_max", "最高底价不能小于 0"),
    ("area_min=很多", "area_min", "最小数量：数值格式不正确"),
    ("category=xyz", "category", "交易品种应为整数"),
    ("category=999", "category", "没有这个交易品种"),
    ("method=lottery", "method", "交易方式没有“lottery”这一项"),
    ("status=draft", "status", "状态没有“draft”这一项"),
    ("sort=drop_table", "sort", "排序方式没有“drop_table”这一项"),
])
def test_a_filter_that_cannot_be_used_is_named_beside_its_field(client, announced, query, field, says):
    resp = client.get(f"/projects/?{query}&q=团湖村")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "筛选条件填写有误，这次查询没有用它" in html and says in html
    assert f'id="{field}-error"' in html and f'aria-describedby="{field}-error"' in html
    assert '<details class="search-filters" open>' in html  # opened where the mistake is
    assert announced.title in html  # the results of the other filters are still there
    if field.startswith(("price", "area")):  # the typed value kept to be corrected
        assert f'value="{query.split("=", 1)[1]}"' in html


# --- 坐落 once ---------------------------------------------------------------------------------------------------------

def test_the_project_page_prints_the_place_once(client, users, db, frozen):
    listing = b.published(users, location="新建村三组")
    db.session.commit()
    page = seen(client.get(f"/projects/{listing.project_no}"))
    assert "长安街道新建村三组" in page and "新建村新建村" not in page and "所在地" not in page


# --- the home page ------------------------------------------------------------------------------------------------------

def test_the_home_page_is_short(client, announced):
    html = client.get("/").get_data(as_text=True)
    assert "交易程序" in html and "查看全部项目" in html and announced.title in html
    assert html.count("<tr>") == 0  # the 11 categories are a compact list, not a table of rows that wrap on a phone


# --- OpenAPI ------------------------------------------------------------------------------------------------------------

def test_openapi_tags_are_named_in_chinese_as_the_guide_names_them(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    names = [t["name"] for t in spec["tags"]]
    assert names and not [n for n in names if re.match(r"^[A-Za-z_]+$", n)], names
    assert "开放数据" in names
    used = {t for op in (o for p in spec["paths"].values() for o in p.values() if isinstance(o, dict))
            for t in op.get("tags", [])}
    assert used <= set(names), used - set(names)
    guide = text(client.get("/open-data"))
    assert "开放数据" in guide
