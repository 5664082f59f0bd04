"""The API contract (issue 14, items 14 and 15): the OpenAPI document says what the API returns and who may call
it, names every operation, documents uploads as they are sent, and a client generated from it can do the whole
job — the buyer finds the bidding session, staff find a deal's contract and settlement — through /api/v1 alone."""
from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest

from exchange import clock
from exchange.settlement import services as stl
from exchange.trading import services as tsvc
from tests.builders import PDF, pay, to_trading
from tests.helpers import token_headers

pytestmark = pytest.mark.usefixtures("uploads")

METHODS = ("get", "put", "post", "patch", "delete")
DECIMAL = {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$"}
SIGNED_IN = [{"bearerAuth": []}, {"cookieAuth": []}]


@pytest.fixture
def spec(client):
    return client.get("/api/v1/openapi.json").get_json()


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield path, method, op


def _schema(spec, ref_or_schema: dict) -> dict:
    ref = ref_or_schema.get("$ref")
    return spec["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else ref_or_schema


def _is_decimal(prop: dict) -> bool:
    return all(prop.get(k) == v for k, v in DECIMAL.items())


def _decimal_string(value) -> bool:
    return isinstance(value, str) and re.fullmatch(DECIMAL["pattern"], value) is not None


# --- item 14: money as strings, the error body, security per operation ----------------------------------------

MONEY_PROPERTIES = {
    "Listing": ["quantity", "floor_price", "floor_unit_price", "appraisal_value", "deposit_amount", "bid_increment"],
    "PublicListing": ["quantity", "floor_price", "deposit_amount"],
    "Registration": ["offer", "deposit_amount"],
    "FeeRule": ["rate", "fixed_amount", "min_fee", "max_fee"],
    "DealFigures": ["area_mu", "amount", "floor_total", "premium_rate", "avg_premium_rate"],
    "ListingFigures": ["failed_rate"],
    "Summary": ["deposits_held"],
    "RankRow": ["amount", "return_rate"],
    "Deal": ["price"],
    "Contract": ["price"],
    "Settlement": ["price", "balance_due", "amount_to_pay"],
    "Announcement": ["quantity", "floor_price", "deposit_amount"],
    "RoomState": ["start_price", "current_price"],
}


def test_money_and_quantities_are_documented_as_decimal_strings(spec):
    schemas = spec["components"]["schemas"]
    for name, props in MONEY_PROPERTIES.items():
        for prop in props:
            assert _is_decimal(schemas[name]["properties"][prop]), (name, prop, schemas[name]["properties"][prop])
    # nothing the API returns as a string is documented as a number
    numbers = [(name, prop) for name, s in schemas.items() for prop, p in s.get("properties", {}).items()
               if p.get("type") == "number" and prop not in ("seconds_left", "countdown_seconds", "speed", "avg_days", "max_days",
                                                             "station_review_days", "center_review_days")]
    assert not numbers, numbers


def _check_decimals(spec, schema: dict, body, where: str) -> int:
    """Every value of ``body`` documented as a decimal is a decimal string; returns how many were checked."""
    schema = _schema(spec, schema)
    n = 0
    if isinstance(body, list):
        return sum(_check_decimals(spec, schema.get("items", {}), item, where) for item in body)
    if not isinstance(body, dict):
        return 0
    for key, value in body.items():
        prop = _schema(spec, schema.get("properties", {}).get(key, {}))
        if _is_decimal(prop):
            assert value is None and prop.get("nullable") or _decimal_string(value), (where, key, value)
            n += 1
        elif prop.get("type") in ("object", "array") or "properties" in prop or "items" in prop:
            n += _check_decimals(spec, prop, value, f"{where}.{key}")
    return n


def _response_schema(spec, path: str, method: str = "get") -> dict:
    op = spec["paths"][path][method]
    ok = next(code for code in op["responses"] if code.startswith("2"))
    return op["responses"][ok]["content"]["application/json"]["schema"]


def test_money_is_returned_as_the_document_says(client, spec, users, effective, db):
    stl.ensure_settlement(effective)
    db.session.commit()
    admin, finance = token_headers(db, users, "admin"), token_headers(db, users, "finance")
    officer = token_headers(db, users, "trading_officer")
    listing, reg = effective.listing_id, effective.registration_id
    checks = [
        ("/api/v1/listings/{listing_id}", f"/api/v1/listings/{listing}", admin),
        ("/api/v1/registrations/{reg_id}", f"/api/v1/registrations/{reg}", admin),
        ("/api/v1/listings/{listing_id}/deal", f"/api/v1/listings/{listing}/deal", officer),
        ("/api/v1/fees", "/api/v1/fees", admin),
        ("/api/v1/stats/summary", "/api/v1/stats/summary?from=2026-01-01&to=2027-12-31", admin),
        ("/api/v1/stats/ranking", "/api/v1/stats/ranking?from=2026-01-01&to=2027-12-31", admin),
        ("/api/v1/settlements/{settlement_id}", f"/api/v1/settlements/{stl.for_deal(effective).id}", finance),
    ]
    for documented, url, headers in checks:
        resp = client.get(url, headers=headers)
        assert resp.status_code == 200, (url, resp.get_json())
        assert _check_decimals(spec, _response_schema(spec, documented), resp.get_json(), url) > 0, url
    body = client.get(f"/api/v1/listings/{listing}", headers=admin).get_json()
    assert body["floor_price"] == "160000.00" and body["quantity"] == "32.00"
    rate = client.get("/api/v1/fees", headers=admin).get_json()[0]["rate"]
    assert _decimal_string(rate) and float(rate) == 0


def test_the_error_schema_allows_what_the_errors_carry(client, spec, users, db):
    error = spec["components"]["schemas"]["Error"]
    for key in ("error", "message", "fields", "problems", "reason", "retry_after"):
        assert key in error["properties"], key
    allowed = set(error["properties"])
    resp = client.get("/api/v1/open/announcements", headers={"Authorization": "Bearer lxod_not-a-token"})
    body = resp.get_json()
    assert resp.status_code == 401 and body["reason"] and set(body) <= allowed, body
    resp = client.post("/api/v1/orgs", headers=token_headers(db, users, "admin"), json={"kind": "nonsense"})
    assert resp.status_code == 422 and set(resp.get_json()) <= allowed
    documented = spec["paths"]["/api/v1/open/announcements"]["get"]["responses"]["401"]
    assert documented["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def _example_path(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda m: "2026" if m.group(0) == "{year}" else "1", path)


def test_security_is_declared_on_each_operation_and_holds(client, spec, users):
    assert "security" not in spec
    schemes = set(spec["components"]["securitySchemes"])
    anonymous, signed_in = [], []
    for path, method, op in _operations(spec):
        assert "security" in op, f"{method} {path} declares no security"
        assert {name for requirement in op["security"] for name in requirement} <= schemes
        if op["security"] == [] or {} in op["security"]:
            anonymous.append((path, method))
        elif op["security"] == SIGNED_IN:
            signed_in.append((path, method))
    assert ("/api/v1/system/time", "get") in anonymous and ("/api/v1/auth/login", "post") in anonymous
    assert ("/api/v1/open/announcements", "get") in anonymous and ("/api/v1/me", "get") in signed_in
    assert spec["paths"]["/api/v1/open/results"]["get"]["security"] == [{}, {"openDataToken": []}]
    assert spec["paths"]["/api/v1/payments/callback/{provider}"]["post"]["security"] == [{"paymentSignature": []}]
    csrf = client.get("/api/v1/auth/csrf").get_json()["csrf_token"]
    for path, method in anonymous:  # answered without credentials (a 404 for a made-up number, a 422 for {})
        resp = client.open(_example_path(path), method=method.upper(), json={} if method != "get" else None,
                           headers={"X-CSRFToken": csrf})
        assert resp.status_code not in (401, 403) and resp.status_code < 500, (method, path, resp.get_json())
    for path, method in signed_in:  # refused without credentials (or its required query is missing first)
        if method == "get":
            required = any(p.get("required") and p["in"] == "query"
                           for p in spec["paths"][path]["get"].get("parameters", []))
            resp = client.get(_example_path(path))
            assert resp.status_code == 401 or required and resp.status_code == 422, (path, resp.status_code)


# --- item 15: a generated client can do the whole job --------------------------------------------------------

def test_every_operation_has_a_stable_unique_operation_id(spec):
    ids = [op.get("operationId") for _p, _m, op in _operations(spec)]
    assert all(ids) and len(ids) == len(set(ids)), [i for i in ids if not i or ids.count(i) > 1]
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*", i) for i in ids), ids
    named = {(path, method): op["operationId"] for path, method, op in _operations(spec)}
    assert named[("/api/v1/listings/{listing_id}", "get")] == "listings.get_listing"
    assert named[("/api/v1/listings/{listing_id}/materials", "post")] == "listings.upload_material"
    assert named[("/api/v1/registrations/{reg_id}/deposit", "post")] == "registrations.confirm_deposit"
    assert named[("/api/v1/auth/login", "post")] == "auth.login"
    assert named[("/api/v1/open/announcements", "get")] == "opendata.announcements"
    assert named[("/api/v1/listings/{listing_id}/session", "get")] == "trading.listing_session"
    assert named[("/api/v1/deals/{deal_id}/contract", "get")] == "trading.deal_contract"
    assert named[("/api/v1/deals/{deal_id}/settlement", "get")] == "trading.deal_settlement"


UPLOADS = {  # path → (file field, required)
    "/api/v1/listings/{listing_id}/materials": ("file", True),
    "/api/v1/registrations/{reg_id}/materials": ("file", True),
    "/api/v1/registrations/{reg_id}/deposit": ("receipt", True),
    "/api/v1/settlements/{settlement_id}/receipt": ("receipt", True),
    "/api/v1/contracts/{contract_id}/scan": ("file", True),
    "/api/v1/contracts/{contract_id}/paper-signature": ("file", True),
    "/api/v1/statements": ("file", True),
    "/api/v1/listings/{listing_id}/offline-result": ("document", True),
    "/api/v1/listings/{listing_id}/terminate": ("document", True),
    "/api/v1/listings/{listing_id}/suspend": ("document", True),
    "/api/v1/disputes/{dispute_id}/close": ("document", False),
}


def test_uploads_are_documented_as_multipart_with_their_file(spec):
    for path, (field, required) in UPLOADS.items():
        content = spec["paths"][path]["post"]["requestBody"]["content"]
        assert list(content) == ["multipart/form-data"], (path, list(content))
        schema = _schema(spec, content["multipart/form-data"]["schema"])
        assert schema["properties"][field]["type"] == "string", path
        assert schema["properties"][field]["format"] == "binary", path
        assert (field in schema.get("required", [])) == required, path
    # nothing else that takes a body is a form
    for path, method, op in _operations(spec):
        content = op.get("requestBody", {}).get("content", {})
        assert "application/x-www-form-urlencoded" not in content, (method, path)
        if "multipart/form-data" in content:
            assert path in UPLOADS, path


def _multipart(spec, path: str, values: dict) -> dict:
    """The form a client generated from the document sends: every documented field, files as files."""
    schema = _schema(spec, spec["paths"][path]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"])
    data = {}
    for name, prop in schema["properties"].items():
        if name not in values:
            assert name not in schema.get("required", []), (path, name)
            continue
        data[name] = (io.BytesIO(values[name]), f"{name}.pdf") if prop.get("format") == "binary" else values[name]
    return {"data": data, "content_type": "multipart/form-data"}


@pytest.fixture
def bidding(buyers, announced, db):
    """A listing in trading: buyer and buyer_org paid, an online bidding session scheduled in an hour."""
    regs = pay(buyers, announced, ["buyer", "buyer_org"])
    db.session.commit()
    listing = to_trading(announced)
    session = tsvc.schedule_online(buyers["trading_officer"], listing, starts_at=clock.now() + timedelta(hours=1),
                                   free_minutes=10, countdown_seconds=300, max_extension_minutes=30)
    db.session.commit()
    return listing, session, regs


def test_a_bidder_finds_the_bidding_session_through_the_api(client, buyers, bidding, db):
    listing, session, regs = bidding
    buyer = token_headers(db, buyers, "buyer")
    mine = client.get("/api/v1/registrations", headers=buyer).get_json()["items"]
    assert [r["session_id"] for r in mine] == [session.id]
    found = client.get(f"/api/v1/listings/{listing.id}/session", headers=buyer)
    assert found.status_code == 200 and found.get_json()["id"] == session.id
    assert found.get_json()["start_price"] == "160000.00"
    state = client.get(f"/api/v1/sessions/{found.get_json()['id']}/state", headers=buyer).get_json()
    assert state["me"]["bidder_no"] == regs["buyer"].bidder_no
    # the trading officer too; a stranger, a buyer without a paid deposit or staff elsewhere are refused
    assert client.get(f"/api/v1/listings/{listing.id}/session",
                      headers=token_headers(db, buyers, "trading_officer")).status_code == 200
    for key in ("buyer_3", "point_b1", "station_b"):
        resp = client.get(f"/api/v1/listings/{listing.id}/session", headers=token_headers(db, buyers, key))
        assert resp.status_code == 403, (key, resp.get_json())
    assert client.get(f"/api/v1/listings/{listing.id}/session").status_code == 401


def test_no_session_yet_is_a_404_for_a_bidder_and_a_403_for_a_stranger(client, buyers, announced, db):
    pay(buyers, announced, ["buyer"])
    db.session.commit()
    buyer = token_headers(db, buyers, "buyer")
    assert client.get(f"/api/v1/listings/{announced.id}/session", headers=buyer).status_code == 404
    assert client.get(f"/api/v1/listings/{announced.id}/session",
                      headers=token_headers(db, buyers, "buyer_3")).status_code == 403
    reg = client.get("/api/v1/registrations", headers=token_headers(db, buyers, "buyer")).get_json()["items"][0]
    assert reg["session_id"] is None


def test_staff_find_a_deals_contract_and_settlement(client, users, effective, db):
    s = stl.ensure_settlement(effective)
    db.session.commit()
    officer, finance = token_headers(db, users, "trading_officer"), token_headers(db, users, "finance")
    deal = client.get(f"/api/v1/listings/{effective.listing_id}/deal", headers=officer).get_json()
    assert deal["contract_id"] and deal["settlement_id"] == s.id
    contract = client.get(f"/api/v1/deals/{deal['id']}/contract", headers=officer)
    assert contract.status_code == 200 and contract.get_json()["id"] == deal["contract_id"]
    assert contract.get_json()["state"] == "signed"  # in force; no signed scan checked yet
    settlement = client.get(f"/api/v1/deals/{deal['id']}/settlement", headers=finance)
    assert settlement.status_code == 200 and settlement.get_json()["id"] == s.id
    assert settlement.get_json()["amount_to_pay"] == "144000.00"
    # the parties too; strangers are refused, whatever exists
    buyer = token_headers(db, users, "buyer_org")
    assert client.get(f"/api/v1/deals/{deal['id']}/contract", headers=buyer).status_code == 200
    assert client.get(f"/api/v1/deals/{deal['id']}/settlement", headers=buyer).status_code == 200
    for key in ("buyer", "station_b"):
        for what in ("contract", "settlement"):
            resp = client.get(f"/api/v1/deals/{deal['id']}/{what}", headers=token_headers(db, users, key))
            assert resp.status_code == 403, (key, what, resp.get_json())
    assert client.get(f"/api/v1/deals/{deal['id'] + 100}/contract", headers=officer).status_code == 404


def test_missing_materials_come_with_their_kind_codes_and_uploads_work_as_documented(client, spec, users, announced,
                                                                                     db):
    buyer = token_headers(db, users, "buyer")
    resp = client.post(f"/api/v1/listings/{announced.id}/registrations", headers=buyer,
                       json={"accept_declaration": True})
    assert resp.status_code == 201, resp.get_json()
    reg = resp.get_json()
    from exchange.registrations.services import BUYER_MATERIALS
    assert reg["missing_material_kinds"] and len(reg["missing_material_kinds"]) == len(reg["missing_materials"])
    assert [BUYER_MATERIALS[k] for k in reg["missing_material_kinds"]] == reg["missing_materials"]
    path = "/api/v1/registrations/{reg_id}/materials"
    kind = reg["missing_material_kinds"][0]
    resp = client.post(path.format(reg_id=reg["id"]), headers=buyer, **_multipart(spec, path, {"kind": kind,
                                                                                                "file": PDF}))
    assert resp.status_code == 201, resp.get_json()
    after = client.get(f"/api/v1/registrations/{reg['id']}", headers=buyer).get_json()
    assert kind not in after["missing_material_kinds"] and BUYER_MATERIALS[kind] not in after["missing_materials"]
    # the listing's materials and the deposit receipt, posted as documented
    clerk = token_headers(db, users, "point_a1")
    created = client.post("/api/v1/listings", headers=clerk, json={"category_id": announced.category_id,
                                                                    "title": "接口上传测试"}).get_json()
    path = "/api/v1/listings/{listing_id}/materials"
    resp = client.post(path.format(listing_id=created["id"]), headers=clerk,
                       **_multipart(spec, path, {"kind": "application", "file": PDF}))
    assert resp.status_code == 201 and resp.get_json()["kind"] == "application", resp.get_json()
    from exchange.registrations import services as rsvc
    from exchange.registrations.models import Registration
    row = db.session.get(Registration, reg["id"])
    for k in rsvc.missing_materials(row):
        rsvc.add_material(users["buyer"], row, k, PDF, f"{k}.pdf")
    rsvc.qualify(users["center_reviewer"], row, "材料齐全")
    db.session.commit()
    path = "/api/v1/registrations/{reg_id}/deposit"
    resp = client.post(path.format(reg_id=reg["id"]), headers=token_headers(db, users, "finance"),
                       **_multipart(spec, path, {"amount": "16000.00", "source_key": "HD-1", "receipt": PDF}))
    assert resp.status_code == 200 and resp.get_json()["state"] == "paid", resp.get_json()
