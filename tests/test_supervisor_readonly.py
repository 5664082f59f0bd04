"""The supervisor (监管) is read-only (issue 8 item 7; 第二十六条): every mutating route of the application — the
FULL ``app.url_map``, walked at run time so routes added later are covered without editing this file — is called
as a signed-in supervisor (browser session with its CSRF token) and, for the API, with the supervisor's bearer
token.  Each call must be refused (403; or 400/404/405/422 where the route cannot be reached for another reason)
and must change nothing: the audit chain's head and a fingerprint of every table (row counts, states, versions)
are the same before and after.

URL parameters are filled with the ids of real objects (a listing in 签约 with its registrations, bidding session,
deal, contract, refunds and a supervision warning), else 1.  API bodies are generated from the app's own
OpenAPI document (every property given a value that satisfies its schema), so that a refusal is the access
check and not a validation error wherever the schema can be satisfied.
"""
from __future__ import annotations

import io
from collections import Counter

import pytest
from sqlalchemy import select, text as sql

from exchange.supervision import alerts as svc
from exchange.supervision.models import SupervisionAlert
from tests.factories import PASSWORD
from tests.helpers import csrf_from, login, text
from tests.test_defaults import overdue_contract  # noqa: F401  (fixture)
from tests.test_listings import PDF
from tests.test_publicity import online_deal  # noqa: F401  (fixture)
from tests.test_registrations import _h, _uploads, announced  # noqa: F401  (fixtures)
from tests.test_trading import buyers, trading  # noqa: F401  (fixtures)

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")

# Routes every signed-in account (or anyone) may use, whatever the role — each with the reason.  Kept short.
OPEN_TO_EVERYONE = {
    "accounts.login": "登录本身（未登录者使用）",
    "accounts.register": "公众注册账号（未登录者使用）",
    "accounts.logout": "退出自己的会话",
    "accounts.change_password": "修改自己的密码",
    "api_auth.login": "API 登录本身",
    "api_auth.logout": "API 退出自己的会话",
    "api_auth.register": "公众注册账号",
    "api_auth.change_password": "修改自己的密码",
    "notifications.read": "把自己的通知标为已读",
    "notifications.read_all": "把自己的通知全部标为已读",
    "api_notifications.mark_read": "把自己的通知标为已读",
    "publicity.file_objection": "交易公示期间任何人都可提出异议（公开表单）",
    "api_publicity.file_objection": "交易公示期间任何人都可提出异议（公开接口）",
    "certificates_public.verify": "公开核验鉴证书（上传 PDF 比对哈希，不写入）",
    "payments.sandbox_bank": "模拟网银页面（演示和测试用的“银行”，凭订单号）",
    "api_payment_callbacks.provider_callback": "支付机构回调（凭签名认证，不是用户操作）",
}

ALLOWED = {400, 403, 404, 405, 422}


@pytest.fixture
def world(buyers, overdue_contract, db):  # noqa: F811
    """A listing in 签约 (contract overdue) with three paid registrations, an ended bidding session, the deal,
    its contract, the losers' refunds and a supervision warning; ids for the URL parameters."""
    from exchange.contracts.models import Contract
    from exchange.ledger.models import Refund
    from exchange.trading.models import BiddingSession
    deal, regs = overdue_contract
    svc.detect()
    db.session.commit()
    contract = db.session.scalar(select(Contract).where(Contract.deal_id == deal.id))
    session = db.session.scalar(select(BiddingSession).where(BiddingSession.listing_id == deal.listing_id))
    refund = db.session.scalar(select(Refund).order_by(Refund.id))
    alert = db.session.scalar(select(SupervisionAlert).order_by(SupervisionAlert.id))
    assert contract and session and refund and alert
    ids = {
        "listing_id": deal.listing_id, "reg_id": regs["buyer_org"].id, "deal_id": deal.id, "deal_no": deal.deal_no,
        "contract_id": contract.id, "session_id": session.id, "refund_id": refund.id, "alert_id": alert.id,
        "user_id": buyers["point_a1"].id, "org_id": buyers["point_a1"].org_unit_id, "category_id": 1,
        "method_id": 1, "year": 2026, "day": "2026-10-01", "key": "default", "step": "basics",
        "provider": "sandbox", "order_no": "X", "number": "X",
    }
    return ids


def _url(rule, ids: dict) -> str:
    values = {}
    for name in rule.arguments:
        conv = rule._converters[name].__class__.__name__
        default = 1 if conv in ("IntegerConverter", "NumberConverter") else "1"
        values[name] = ids.get(name, default)
    return rule.build(values, append_unknown=False)[1]


def _fingerprint(db) -> tuple:
    """The audit head and, for every table, its row count, its rows per state and the sum of its versions."""
    parts = ["SELECT 'audit_head', last_seq, last_hash FROM audit_head"]
    for table in db.metadata.sorted_tables:
        cols = table.c
        name = table.name
        parts.append(f"SELECT '{name}:rows', COUNT(*), '' FROM \"{name}\"")
        if "state" in cols:
            parts.append(f"SELECT '{name}:state:' || COALESCE(CAST(state AS VARCHAR(40)), ''), COUNT(*), '' "
                         f"FROM \"{name}\" GROUP BY state")
        if "version" in cols:
            parts.append(f"SELECT '{name}:version', COALESCE(SUM(version), 0), '' FROM \"{name}\"")
    rows = db.session.execute(sql(" UNION ALL ".join(parts))).all()
    db.session.rollback()
    return tuple(sorted((str(a), int(b or 0), str(c)) for a, b, c in rows))


# --- request bodies from the OpenAPI document ---------------------------------------------------------------

def _resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _value(spec: dict, schema: dict, name: str = ""):
    schema = _resolve(spec, schema or {})
    if "enum" in schema:
        return schema["enum"][0]
    kind, fmt = schema.get("type"), schema.get("format")
    if kind == "integer":
        return max(int(schema.get("minimum", 1)), 1) if "maximum" not in schema else int(schema.get("minimum", 1))
    if kind == "number":
        return schema.get("minimum", 1)
    if kind == "boolean":
        return True
    if kind == "array":
        return [_value(spec, schema.get("items", {}), name)]
    if kind == "object" or "properties" in schema:
        return {k: _value(spec, v, k) for k, v in schema.get("properties", {}).items() if not v.get("readOnly")}
    if fmt == "binary":
        return (io.BytesIO(PDF), "文件.pdf")
    if fmt == "date":
        return "2026-12-01"
    if fmt == "date-time":
        return "2026-12-01T08:00:00+00:00"
    if fmt == "email":
        return "someone@example.com"
    low, high = schema.get("minLength", 0), schema.get("maxLength", 200)
    textv = "监管人员只读测试：这是一段足够长的说明文字，用来通过长度校验。" + name
    return textv[:max(min(high, len(textv)), 1)] if len(textv) >= low else textv + "字" * (low - len(textv))


def _body(spec: dict, path: str, method: str) -> tuple[dict, str | None]:
    op = spec["paths"].get(path, {}).get(method.lower(), {})
    content = op.get("requestBody", {}).get("content", {})
    for ctype in ("application/json", "multipart/form-data", "application/x-www-form-urlencoded"):
        if ctype in content:
            value = _value(spec, content[ctype].get("schema", {}))
            return (value if isinstance(value, dict) else {}), ctype
    return {}, None


def _openapi_path(rule) -> str:
    out = rule.rule
    for name in rule.arguments:
        for conv in ("int:", "string:", "path:", ""):
            out = out.replace(f"<{conv}{name}>", "{" + name + "}")
    return out


# --- the walk -----------------------------------------------------------------------------------------------

def _write_rules(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static":
            continue
        for method in WRITE_METHODS:
            if method in rule.methods:
                yield rule, method


def test_the_open_list_names_real_routes(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules()}
    assert set(OPEN_TO_EVERYONE) <= endpoints, set(OPEN_TO_EVERYONE) - endpoints
    assert len(list(_write_rules(app))) > 100  # the whole map, not a sample


def test_every_mutating_route_refuses_the_supervisor(app, client, buyers, world, db):
    spec = client.get("/api/v1/openapi.json").get_json()
    bearer = _h(db, buyers, "supervisor")
    login(client, "t_supervisor", PASSWORD)
    token = csrf_from(text(client.get("/work")))
    before = _fingerprint(db)
    failures, statuses, called = [], Counter(), 0
    for rule, method in _write_rules(app):
        if rule.endpoint in OPEN_TO_EVERYONE:
            continue
        url = _url(rule, world)
        api = rule.rule.startswith("/api/")
        if api:
            body, ctype = _body(spec, _openapi_path(rule), method)
            kwargs = {"headers": bearer}
            if ctype == "application/json":
                kwargs["json"] = body
            elif ctype:
                kwargs["data"], kwargs["content_type"] = body, "multipart/form-data"
            channels = [("bearer", kwargs), ("session", {**kwargs, "headers": {"X-CSRFToken": token}})]
        else:
            channels = [("session", {"data": {"csrf_token": token}})]
        for channel, kwargs in channels:
            if "data" in kwargs and isinstance(kwargs["data"], dict):  # file tuples are consumed per request
                kwargs = {**kwargs, "data": {k: ((io.BytesIO(PDF), v[1]) if isinstance(v, tuple) else v)
                                             for k, v in kwargs["data"].items()}}
            resp = client.open(url, method=method, **kwargs)
            called += 1
            statuses[resp.status_code] += 1
            if resp.status_code not in ALLOWED:
                failures.append(f"{method} {url} ({rule.endpoint}, {channel}) → {resp.status_code}")
            after = _fingerprint(db)
            if after != before:
                changed = sorted(set(after) ^ set(before))
                failures.append(f"{method} {url} ({rule.endpoint}, {channel}) changed the database: {changed[:6]}")
                before = after
    assert called > 150
    assert not failures, "\n".join(failures)
    assert statuses[403] > statuses[400] + statuses[422]  # mostly the access check itself


def test_the_supervisor_can_still_read(client, buyers, world, db):
    login(client, "t_supervisor", PASSWORD)
    for url in ("/work", f"/listings/{world['listing_id']}", "/audit/", "/supervision/alerts/",
                f"/supervision/alerts/{world['alert_id']}", f"/finance/refunds/{world['refund_id']}"):
        assert client.get(url).status_code == 200, url
