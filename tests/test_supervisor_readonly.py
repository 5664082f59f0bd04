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

from tests.builders import PDF
from tests.factories import PASSWORD
from tests.helpers import OPEN_TO_EVERYONE, csrf_from, fingerprint, login, rule_url, text, token_headers, write_rules

pytestmark = pytest.mark.usefixtures("uploads")

ALLOWED = {400, 403, 404, 405, 422}


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


def test_the_open_list_names_real_routes(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules()}
    assert set(OPEN_TO_EVERYONE) <= endpoints, set(OPEN_TO_EVERYONE) - endpoints
    assert len(list(write_rules(app))) > 100  # the whole map, not a sample


def test_every_mutating_route_refuses_the_supervisor(app, client, buyers, overdue_world, db):
    spec = client.get("/api/v1/openapi.json").get_json()
    bearer = token_headers(db, buyers, "supervisor")
    login(client, "t_supervisor", PASSWORD)
    token = csrf_from(text(client.get("/work")))
    before = fingerprint(db)
    failures, statuses, called = [], Counter(), 0
    for rule, method in write_rules(app):
        if rule.endpoint in OPEN_TO_EVERYONE:
            continue
        url = rule_url(rule, overdue_world)
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
            after = fingerprint(db)
            if after != before:
                changed = sorted(set(after) ^ set(before))
                failures.append(f"{method} {url} ({rule.endpoint}, {channel}) changed the database: {changed[:6]}")
                before = after
    assert called > 150
    assert not failures, "\n".join(failures)
    assert statuses[403] > statuses[400] + statuses[422]  # mostly the access check itself


def test_the_supervisor_can_still_read(client, buyers, overdue_world, db):
    login(client, "t_supervisor", PASSWORD)
    ids = overdue_world
    for url in ("/work", f"/listings/{ids['listing_id']}", "/audit/", "/supervision/alerts/",
                f"/supervision/alerts/{ids['alert_id']}", f"/finance/refunds/{ids['refund_id']}"):
        assert client.get(url).status_code == 200, url
