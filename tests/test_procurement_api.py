"""招标采购 over the API (issue 18 item 8): the public reads of published procurement projects — their terms before the
开标 and nothing of any bid (not even how many: 《招标投标法》第二十二条), the opening record after it (bidders masked as
in open data, prices, receipts, the documents whose SHA-256 are the receipts), the 中标候选人 after the evaluation,
the winner and the 中标通知书 number after the award — and a supplier's sealed bid, its receipt and its withdrawal
through ``/api/v1/procurement``; the OpenAPI document describes all of it."""
from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal

import pytest
from sqlalchemy import text

from exchange import clock
from exchange.procurement import services as psvc
from exchange.procurement.models import ProcurementBid
from tests.helpers import token_headers
from tests.procurement_builders import LIMIT, published_project  # noqa: F401
from tests.procurement_flows import PRICES, awarded, bid, evaluated, with_bonds

pytestmark = pytest.mark.usefixtures("frozen", "uploads", "bid_vault", "signing_key")

API = "/api/v1/procurement/projects"
DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")


def _project(client, listing, headers=None):
    resp = client.get(f"{API}/{listing.project_no}", headers=headers or {})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_before_the_opening_the_terms_are_public_and_nothing_of_any_bid(client, users, db):
    listing, _regs = with_bonds(users, db)
    receipts = bid(users, listing)
    db.session.commit()
    project = psvc.project_of(listing)
    body = _project(client, listing)  # anonymous
    assert body["project_no"] == listing.project_no and body["listing_id"] == listing.id
    assert (body["mode"], body["kind"], body["eval_kind"], body["direction"]) == ("招标", "works", "lowest_price",
                                                                                  "lower")
    assert (body["budget"], body["limit_price"], body["bond"]) == ("300000.00", "280000.00", "5000.00")
    assert body["limit_label"] == "最高限价" and body["min_bids"] == 3 and body["purchaser"] == "新建村股份经济合作社"
    assert body["stage"] == "bidding" and body["state"] == "announced"
    assert body["opens_at"] == project.opens_at.isoformat() and "通组公路" in body["scope"]
    assert body["criteria"] == [] and body["price_weight"] is None
    assert body["opening"] is None and body["evaluation"] is None and body["award"] is None
    # nothing of the four sealed bids: no receipt, price, bidder name, count
    raw = json.dumps(body, ensure_ascii=False)
    for k, receipt in receipts.items():
        assert receipt not in raw and users[k].display_name not in raw
    for p in PRICES.values():
        assert p not in raw and p.replace(".50", "") not in raw
    assert "bid_count" not in raw
    resp = client.get(API)
    listed = resp.get_json()
    assert listed["total"] == 1 and listed["items"][0] == body
    assert resp.headers["X-RateLimit-Limit"]  # counted with the other anonymous reads of listings
    assert client.get(API, query_string={"stage": "opened"}).get_json()["total"] == 0
    assert client.get(API, query_string={"mode": "招商"}).get_json()["total"] == 0
    assert client.get(API, query_string={"mode": "招标", "town_id": listing.station_id}).get_json()["total"] == 1
    assert client.get(API, query_string={"stage": "nonsense"}).status_code == 422
    assert client.get(f"{API}/LXNCJY-2026-999999").status_code == 404


def test_a_draft_and_a_transfer_listing_are_not_procurement_projects(client, users, db, announced):
    from tests.procurement_builders import draft
    unpublished = draft(users)
    db.session.commit()
    assert client.get(API).get_json()["total"] == 0
    assert client.get(f"{API}/{announced.project_no}").status_code == 404
    assert unpublished.project_no is None


def test_a_supplier_submits_withdraws_and_resubmits_a_sealed_bid(client, users, db):
    listing, _regs = with_bonds(users, db, keys=("buyer_org", "buyer_3"))
    url = f"{API}/{listing.project_no}/bids"
    org = token_headers(db, users, "buyer_org")
    csrf = client.get("/api/v1/auth/csrf").get_json()["csrf_token"]  # signed out: the session's CSRF token only
    assert client.post(url, json={"price": "256000"}, headers={"X-CSRFToken": csrf}).status_code == 401
    for staff in ("trading_officer", "center_reviewer", "point_a1"):  # staff never bid nor read bids
        h = token_headers(db, users, staff)
        assert client.post(url, headers=h, json={"price": "256000"}).status_code == 403
        assert client.get(url, headers=h).status_code == 403
    stranger = token_headers(db, users, "buyer")  # registered for nothing
    resp = client.post(url, headers=stranger, json={"price": "256000"})
    assert resp.status_code == 403 and "报名" in resp.get_json()["message"]
    assert client.get(url, headers=stranger).get_json() == []
    # the values the parsers refuse: over the ceiling, not a whole number of 分, a float, nothing
    resp = client.post(url, headers=org, json={"price": str(LIMIT + Decimal("0.01"))})
    assert resp.status_code == 400 and "最高限价" in resp.get_json()["fields"]["price"][0]
    for bad in ({"price": "250000.005"}, {"price": 250000.5}, {"price": "abc"}, {}):
        assert client.post(url, headers=org, json=bad).status_code == 422, bad
    resp = client.post(url, headers=org, json={"price": "260000"})
    assert resp.status_code == 201, resp.get_json()
    first = resp.get_json()
    row = db.session.get(ProcurementBid, first["id"])
    assert first["receipt"] == row.receipt and len(first["receipt"]) == 64
    assert first["state"] == "sealed" and first["price"] is None and first["file_count"] == 0
    # the database holds no price (the CHECK and the vault): a reader finds none
    assert db.session.execute(text("SELECT price, document FROM procurement_bid")).all() == [(None, None)]
    # another supplier's bid is not found; its own is withdrawn, then a new one stands
    theirs = client.post(url, headers=token_headers(db, users, "buyer_3"), json={"price": "255000"}).get_json()
    assert client.post(f"{url}/{theirs['id']}/withdraw", headers=org).status_code == 404
    resp = client.post(f"{url}/{first['id']}/withdraw", headers=org)
    assert resp.status_code == 200 and resp.get_json()["state"] == "withdrawn" and resp.get_json()["withdrawn_at"]
    assert client.post(f"{url}/{first['id']}/withdraw", headers=org).status_code == 400  # already withdrawn
    second = client.post(url, headers=org, json={"price": "258000.50"}).get_json()
    third = client.post(url, headers=org, json={"price": "257000"}).get_json()  # replaces the second
    mine = client.get(url, headers=org).get_json()
    assert [(b["id"], b["state"]) for b in mine] == [(third["id"], "sealed"), (second["id"], "withdrawn"),
                                                     (first["id"], "withdrawn")]
    assert len({b["receipt"] for b in mine}) == 3 and all(b["price"] is None for b in mine)
    # the deadline: no bid, no withdrawal from the 开标 time on
    clock.freeze(psvc.project_of(listing).opens_at)
    assert client.post(url, headers=org, json={"price": "250000"}).status_code == 400
    assert client.post(f"{url}/{third['id']}/withdraw", headers=org).status_code == 400


def test_a_supplier_whose_bond_has_not_arrived_is_told_why(client, users, db):
    from exchange.registrations import services as rsvc
    from tests.builders import PDF
    listing = published_project(users, db)
    reg = rsvc.apply(users["buyer_org"], listing, accept_declaration=True)
    for kind in rsvc.required_materials(reg):
        rsvc.add_material(users["buyer_org"], reg, kind, PDF, f"{kind}.pdf")
    rsvc.qualify(users["center_reviewer"], reg)
    db.session.commit()
    resp = client.post(f"{API}/{listing.project_no}/bids", headers=token_headers(db, users, "buyer_org"),
                       json={"price": "250000"})
    assert resp.status_code == 400 and "保证金尚未到账" in resp.get_json()["message"]


def test_after_the_opening_the_record_is_public_and_each_receipt_checks(client, users, db):
    listing, _deal, receipts = evaluated(users, db)
    project = psvc.project_of(listing)
    body = _project(client, listing)
    opening = body["opening"]
    assert body["stage"] == "evaluated" and opening["bid_count"] == 4
    assert opening["opened_key"] == project.opened_key.hex() and opening["public_key"] == project.public_key.hex()
    by_receipt = {b["receipt"]: b for b in opening["bids"]}
    assert set(by_receipt) == set(receipts.values())
    for k, receipt in receipts.items():
        b = by_receipt[receipt]
        assert hashlib.sha256(b["document"].encode("utf-8")).hexdigest() == receipt  # anyone can check
        assert Decimal(b["price"]) == Decimal(PRICES[k]) and DECIMAL.match(b["price"])
        assert b["document_url"] == f"/projects/{listing.project_no}/opening/bids/{b['bid_id']}.json"
    # the natural person masked, organisations in full
    person = by_receipt[receipts["buyer"]]
    assert (person["bidder"], person["bidder_kind"]) == ("测****", "person")
    assert "测试受让人" not in json.dumps(body, ensure_ascii=False)
    org = by_receipt[receipts["buyer_org"]]
    assert (org["bidder"], org["bidder_kind"]) == ("t_buyer_org 测试公司", "organisation")
    # 最低价法: the three lowest are the candidates; the person's highest price is fourth, not published as one
    ranked = body["evaluation"]["candidates"]
    assert [(c["rank"], c["bidder"], c["price"]) for c in ranked] == [
        (1, "t_buyer3 测试公司", "249800.50"), (2, "t_buyer_org 测试公司", "256000.00"), (3, "t_coop 测试公司", "261000.00")]
    assert body["evaluation"]["invalid"] == [] and body["award"] is None
    assert all(c["total"] is None and c["price_score"] is None for c in ranked)
    # the supplier now sees its price
    mine = client.get(f"{API}/{listing.project_no}/bids", headers=token_headers(db, users, "buyer_3")).get_json()
    assert [(b["state"], b["price"]) for b in mine] == [("opened", "249800.50")]


def test_after_the_award_the_winner_and_the_notice_number_are_public(client, users, db):
    listing, deal, _receipts = awarded(users, db)
    project = psvc.project_of(listing)
    body = _project(client, listing)
    assert body["stage"] == "awarded" and body["state"] == "contract"
    assert body["award"] == {"winner": "t_buyer3 测试公司", "winner_kind": "organisation", "rank": 1,
                             "price": "249800.50", "notice_no": project.notice_no,
                             "awarded_at": project.awarded_at.isoformat()}
    assert client.get(API, query_string={"stage": "awarded"}).get_json()["items"][0]["award"]["notice_no"] \
        == project.notice_no


def test_an_invalid_bid_is_published_with_its_reason_after_the_evaluation(client, users, db):
    from tests.procurement_flows import opened
    listing, receipts = opened(users, db)
    bids = {b.supplier_id: b for b in psvc.opening_record(listing)}
    psvc.mark_invalid(users["trading_officer"], bids[users["buyer_3"].id], "缺少市政公用工程施工总承包资质证书")
    db.session.commit()
    assert _project(client, listing)["evaluation"] is None  # the marking is not public before the evaluation
    psvc.complete_evaluation(users["trading_officer"], listing)
    db.session.commit()
    ev = _project(client, listing)["evaluation"]
    assert ev["invalid"] == [{"bid_id": bids[users["buyer_3"].id].id, "bidder": "t_buyer3 测试公司",
                              "bidder_kind": "organisation", "price": "249800.50",
                              "reason": "缺少市政公用工程施工总承包资质证书"}]
    assert [c["bidder"] for c in ev["candidates"]] == ["t_buyer_org 测试公司", "t_coop 测试公司", "测****"]


def test_the_openapi_document_describes_the_procurement_api(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    ops = {("get", "/api/v1/procurement/projects"): ("procurement.list_projects", []),
           ("get", "/api/v1/procurement/projects/{project_no}"): ("procurement.get_project", []),
           ("get", "/api/v1/procurement/projects/{project_no}/bids"): ("procurement.my_bids", None),
           ("post", "/api/v1/procurement/projects/{project_no}/bids"): ("procurement.submit_bid", None),
           ("post", "/api/v1/procurement/projects/{project_no}/bids/{bid_id}/withdraw"):
               ("procurement.withdraw_bid", None)}
    for (method, path), (op_id, security) in ops.items():
        op = paths[path][method]
        assert op["operationId"] == op_id and op["tags"] == ["招标采购"]
        assert op["security"] == (security if security is not None else [{"bearerAuth": []}, {"cookieAuth": []}])
    schemas = spec["components"]["schemas"]
    decimal = {"type": "string", "format": "decimal", "pattern": DECIMAL.pattern}
    for name, props in {"ProcurementPart": ["budget", "limit_price", "bond", "price_weight"],
                        "OpenedBid": ["price"], "Candidate": ["price", "price_score", "panel_score", "total"],
                        "Award": ["price"], "SupplierBid": ["price"], "SealedBidArgs": ["price"]}.items():
        for prop in props:
            assert all(schemas[name]["properties"][prop].get(k) == v for k, v in decimal.items()), (name, prop)
    assert schemas["SealedBidArgs"]["required"] == ["price"] and list(schemas["SealedBidArgs"]["properties"]) == [
        "price"]  # the price only: no file through the API
    assert "开标前" in schemas["ProcurementPart"]["properties"]["opening"]["description"]


def test_every_answer_matches_the_document(client, users, db):
    """Each procurement answer — public and the supplier's, before the opening, after it and after the award, an
    error too — against the response schema the OpenAPI document gives (schemathesis' validation)."""
    from tests.procurement_flows import opened
    from tests.api_schema import schema
    from tests.procurement_builders import road_terms
    # a project still taking bids when the other's are opened
    sealed, _regs = with_bonds(users, db, keys=("buyer_org",), terms=road_terms(opens_at="2026-12-14 09:30"))
    listing, _receipts = opened(users, db)  # bids opened: the opening record
    org = token_headers(db, users, "buyer_org")
    calls = [("GET", "/api/v1/procurement/projects", {}, None), ("GET", f"{API}/{sealed.project_no}", {}, None),
             ("POST", f"{API}/{sealed.project_no}/bids", org, {"price": "250000"}),
             ("POST", f"{API}/{sealed.project_no}/bids", org, {"price": "300000"}),  # 400: over the ceiling
             ("POST", f"{API}/{sealed.project_no}/bids", org, {"price": 1.5}),  # 422
             ("GET", f"{API}/{sealed.project_no}/bids", org, None),
             ("GET", f"{API}/{listing.project_no}", {}, None), ("GET", f"{API}/{listing.project_no}/bids", org, None),
             ("GET", f"{API}/nothing-here", {}, None)]
    documented = {"/api/v1/procurement/projects": "/api/v1/procurement/projects"}

    def check(method, url, headers, body):
        resp = client.open(url, method=method, headers=headers, json=body)
        path = documented.get(url) or re.sub(r"^/api/v1/procurement/projects/[^/]+", API + "/{project_no}", url)
        schema[path][method].validate_response(resp)
        return resp

    for call in calls:
        check(*call)
    bid_id = client.get(f"{API}/{sealed.project_no}/bids", headers=org).get_json()[0]["id"]
    resp = client.post(f"{API}/{sealed.project_no}/bids/{bid_id}/withdraw", headers=org)
    schema[API + "/{project_no}/bids/{bid_id}/withdraw"]["POST"].validate_response(resp)
    assert resp.status_code == 200
    # evaluated and awarded: the candidates and the award
    from tests.builders import end_publicity
    deal = psvc.complete_evaluation(users["trading_officer"], listing)
    db.session.commit()
    check("GET", f"{API}/{listing.project_no}", {}, None)
    end_publicity(deal)
    psvc.award(users["point_a1"], listing)
    db.session.commit()
    body = check("GET", f"{API}/{listing.project_no}", {}, None).get_json()
    assert body["award"] and body["evaluation"] and body["opening"]
    check("GET", "/api/v1/procurement/projects", {}, None)
