"""招标采购 in open data (issue 18 item 8; DESIGN §3.10): ``/api/v1/open/procurement`` publishes the announcements'
terms, the 开标 record and the winners, masked as every open endpoint is (a natural person by the surname only, no ID,
phone or account of anyone); before the 开标 nothing of any bid; a procurement listing's announcement carries the same
part; the changes feed tells a data platform of the opening, the evaluation and — though no listing state moves —
the award."""
from __future__ import annotations

import json

import pytest

from exchange.procurement import services as psvc
from tests.builders import end_publicity
from tests.helpers import text
from tests.procurement_builders import to_opening  # noqa: F401
from tests.procurement_flows import bid, evaluated, with_bonds

pytestmark = pytest.mark.usefixtures("frozen", "uploads", "bid_vault", "signing_key")

OPEN = "/api/v1/open"


def read_all(client, since=None):
    items, cursor = [], since
    while True:
        body = client.get(f"{OPEN}/changes", query_string={"limit": 500, **({"since": cursor} if cursor else {})}
                          ).get_json()
        items += body["items"]
        cursor = body["next_cursor"]
        if not body["has_more"]:
            return items, cursor


def _get(client, url, **query):
    resp = client.get(url, query_string=query)
    assert resp.status_code == 200, text(resp)
    return resp.get_json()


def test_the_terms_are_open_and_nothing_of_a_bid_before_the_opening(client, users, db):
    listing, _regs = with_bonds(users, db)
    receipts = bid(users, listing)
    db.session.commit()
    page = _get(client, f"{OPEN}/procurement")
    assert (page["total"], page["pages"]) == (1, 1)
    item = page["items"][0]
    assert item == _get(client, f"{OPEN}/procurement/{listing.project_no}")
    assert (item["project_no"], item["mode"], item["stage"], item["stage_label"]) == (
        listing.project_no, "招标", "bidding", "接受投标")
    assert (item["limit_price"], item["bond"], item["eval_label"], item["town"], item["village"]) == (
        "280000.00", "5000.00", "最低价法", "长安街道", "新建村")
    assert item["opening"] is None and item["evaluation"] is None and item["award"] is None
    assert "listing_id" not in item  # no internal id in open data (the business API gives it to suppliers)
    everything = json.dumps(page, ensure_ascii=False)
    assert not any(r in everything for r in receipts.values())
    assert not any(users[k].display_name in everything for k in receipts)
    # the listing's announcement carries the same part, a transfer's none
    ann = _get(client, f"{OPEN}/announcements/{listing.project_no}")
    part = {k: v for k, v in item.items() if k in ann["procurement"]}
    assert ann["procurement"] == part and ann["trading_method"] == "procurement" and ann["floor_price"] is None


def test_after_the_award_the_opening_candidates_and_winner_are_open_and_masked(client, users, db):
    listing, deal, receipts = evaluated(users, db)
    end_publicity(deal)
    psvc.award(users["point_a1"], listing)
    db.session.commit()
    item = _get(client, f"{OPEN}/procurement/{listing.project_no}")
    opening = item["opening"]
    assert opening["bid_count"] == 4 and {b["receipt"] for b in opening["bids"]} == set(receipts.values())
    prices = {b["bidder"]: b["price"] for b in opening["bids"]}
    assert prices == {"测****": "270000.00", "t_buyer_org 测试公司": "256000.00", "t_buyer3 测试公司": "249800.50",
                      "t_coop 测试公司": "261000.00"}
    assert [c["bidder"] for c in item["evaluation"]["candidates"]] == ["t_buyer3 测试公司", "t_buyer_org 测试公司",
                                                                       "t_coop 测试公司"]
    project = psvc.project_of(listing)
    assert item["award"]["winner"] == "t_buyer3 测试公司" and item["award"]["notice_no"] == project.notice_no
    assert item["award"]["price"] == "249800.50"
    # the winner's deal among the results (the buyer is the 中标人)
    result = _get(client, f"{OPEN}/results/{deal.deal_no}")
    assert (result["method"], result["price"], result["transferee"]) == ("procurement", "249800.50",
                                                                         "t_buyer3 测试公司")
    # no personal data of the natural person who bid, anywhere open
    person = users["buyer"].party
    bodies = "\n".join(text(client.get(u)) for u in (
        f"{OPEN}/procurement", f"{OPEN}/procurement/{listing.project_no}", f"{OPEN}/announcements",
        f"{OPEN}/announcements/{listing.project_no}", f"{OPEN}/results", f"{OPEN}/changes?limit=500"))
    for secret in (person.name, person.id_number, person.mobile):
        assert secret and secret not in bodies, secret
    assert "测****" in bodies  # not vacuous


def test_the_changes_feed_tells_the_opening_the_evaluation_and_the_award(client, users, db):
    listing, _regs = with_bonds(users, db)
    bid(users, listing)
    db.session.commit()
    items, cursor = read_all(client)
    assert [(i["listing"]["project_no"], i["change"]) for i in items] == [(listing.project_no, "center_approve")]
    assert items[0]["listing"]["procurement"]["stage"] == "bidding"
    to_opening(listing)
    items, cursor = read_all(client, cursor)
    assert [i["change"] for i in items] == ["open_bids"]
    assert items[0]["listing"]["procurement"]["opening"]["bid_count"] == 4
    deal = psvc.complete_evaluation(users["trading_officer"], listing)
    db.session.commit()
    items, cursor = read_all(client, cursor)
    assert [i["change"] for i in items] == ["conclude"]
    assert len(items[0]["listing"]["procurement"]["evaluation"]["candidates"]) == 3
    end_publicity(deal)
    items, cursor = read_all(client, cursor)
    assert [i["change"] for i in items] == ["publicity_end"]
    assert items[0]["listing"]["procurement"]["award"] is None
    psvc.award(users["point_a1"], listing)  # no listing state moves
    db.session.commit()
    items, cursor = read_all(client, cursor)
    assert [(i["change"], i["change_label"]) for i in items] == [("procurement_award", "确定中标人（中标通知书）")]
    assert items[0]["listing"]["procurement"]["award"]["notice_no"] == psvc.project_of(listing).notice_no
    assert read_all(client, cursor) == ([], cursor)


def test_filters_and_bad_input(client, users, db):
    listing, _regs = with_bonds(users, db, keys=())
    assert _get(client, f"{OPEN}/procurement", stage="bidding", mode="招标", town="长安街道")["total"] == 1
    assert _get(client, f"{OPEN}/procurement", town=listing.station.code)["total"] == 1
    for query in ({"stage": "opened"}, {"mode": "招商"}, {"town": "江南镇"}, {"date_from": "2026-11-24"},
                  {"date_to": "2026-11-22"}):
        assert _get(client, f"{OPEN}/procurement", **query)["total"] == 0, query
    assert _get(client, f"{OPEN}/procurement", date_from="2026-11-23", date_to="2026-11-23")["total"] == 1
    for query, field in (({"stage": "nonsense"}, "stage"), ({"mode": "拍卖"}, "mode"), ({"town": "不存在镇"}, "town"),
                         ({"per_page": "1000"}, "per_page"), ({"date_from": "2026-13-01"}, "date_from"),
                         ({"date_from": "2026-12-01", "date_to": "2026-11-01"}, "date_from")):
        resp = client.get(f"{OPEN}/procurement", query_string=query)
        assert resp.status_code == 400 and field in resp.get_json()["fields"], (query, resp.get_json())
    assert client.get(f"{OPEN}/procurement/LXNCJY-2099-000001").status_code == 404


def test_a_project_not_yet_published_and_a_transfer_are_not_open_procurement(client, users, db, announced):
    from tests.procurement_builders import draft
    draft(users)
    db.session.commit()
    assert _get(client, f"{OPEN}/procurement")["total"] == 0
    assert client.get(f"{OPEN}/procurement/{announced.project_no}").status_code == 404
    assert _get(client, f"{OPEN}/announcements/{announced.project_no}")["procurement"] is None


def test_the_open_endpoints_are_documented(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in (f"{OPEN}/procurement", f"{OPEN}/procurement/{{project_no}}"):
        op = spec["paths"][path]["get"]
        assert op["security"] == [{}, {"openDataToken": []}] and op["tags"] == ["开放数据"]
        assert {"200", "400", "401", "429"} <= set(op["responses"])
    ann = spec["components"]["schemas"]["Announcement"]["properties"]["procurement"]
    assert ann["anyOf"][0] == {"$ref": "#/components/schemas/ProcurementPart"}
    guide = text(client.get("/open-data"))
    assert "open/<wbr>procurement" in guide and "procurement_award" in guide and "个人投标人" in guide


def test_every_answer_matches_the_document(client, users, db):
    """The open answers with a procurement project in them (announcement, feed, list, one project, an error) against
    the response schemas of the OpenAPI document (schemathesis' validation)."""
    from tests.api_schema import schema
    listing, deal, _receipts = evaluated(users, db)
    end_publicity(deal)
    psvc.award(users["point_a1"], listing)
    db.session.commit()
    no = listing.project_no
    for url, path in ((f"{OPEN}/procurement", f"{OPEN}/procurement"),
                      (f"{OPEN}/procurement?stage=awarded&mode=招标", f"{OPEN}/procurement"),
                      (f"{OPEN}/procurement?stage=nonsense", f"{OPEN}/procurement"),
                      (f"{OPEN}/procurement/{no}", f"{OPEN}/procurement/{{project_no}}"),
                      (f"{OPEN}/procurement/nothing", f"{OPEN}/procurement/{{project_no}}"),
                      (f"{OPEN}/announcements/{no}", f"{OPEN}/announcements/{{project_no}}"),
                      (f"{OPEN}/announcements", f"{OPEN}/announcements"),
                      (f"{OPEN}/changes?limit=500", f"{OPEN}/changes")):
        resp = client.get(url)
        assert resp.status_code in (200, 400, 404), url
        schema[path]["GET"].validate_response(resp)
