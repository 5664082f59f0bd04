"""The JSON API: OpenAPI document, authentication, errors, scope, and each endpoint."""
import pytest
from exchange import clock
from openapi_spec_validator import validate
from sqlalchemy import func, select

from exchange.accounts.models import User
from exchange.idcheck import make_resident_id
from tests.factories import PASSWORD
from tests.helpers import api_csrf, api_login


def _converted(rule: str) -> str:
    import re
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def test_openapi_document_validates_and_covers_every_route(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    validate(spec)
    documented = set(spec["paths"])
    routes = {_converted(r.rule) for r in app.url_map.iter_rules()
              if r.rule.startswith("/api/v1") and not r.rule.endswith("openapi.json")}
    assert routes, "no API routes?"
    missing = routes - documented
    assert not missing, f"routes missing from the OpenAPI document: {missing}"
    # every operation has a Chinese summary
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                assert op.get("summary"), f"{method} {path} has no summary"


def test_server_time_is_public(client):
    body = client.get("/api/v1/system/time").get_json()
    assert body["now"].endswith("+00:00") and len(body["beijing"]) == 19 and body["training_mode"] is False


def test_unauthenticated_read_is_401_json(client):
    resp = client.get("/api/v1/me")
    assert resp.status_code == 401
    assert resp.get_json() == {"error": "unauthorized", "message": "请先登录或提供有效的访问令牌。"}


@pytest.mark.parametrize("header", ["Bearer lxt_not-a-real-token", "Bearer ", "Basic abc", "Token xyz"])
def test_bad_bearer_tokens_are_401(client, users, header):
    resp = client.get("/api/v1/me", headers={"Authorization": header})
    assert resp.status_code == 401
    body = resp.get_json()
    assert body["error"] == "invalid_token" and "令牌" in body["message"] or "Bearer" in body["message"]


def test_session_login_and_csrf_on_writes(client, users):
    assert api_login(client, "t_admin", PASSWORD).status_code == 200
    assert client.get("/api/v1/me").get_json()["role_label"] == "中心管理员"
    # a write without the CSRF header is refused
    resp = client.post("/api/v1/orgs", json={"kind": "point"})
    assert resp.status_code == 400 and resp.get_json()["error"] == "csrf_failed"


def test_api_login_failure_and_lockout(client, users, frozen):
    for _ in range(4):
        resp = api_login(client, "t_finance", "bad")
        assert resp.status_code == 401 and resp.get_json()["error"] == "login_failed"
        clock.advance(seconds=10)
    resp = api_login(client, "t_finance", "bad")
    assert "不能再登录该账号" in resp.get_json()["message"]
    resp = api_login(client, "t_finance", PASSWORD)
    assert resp.status_code == 401 and "不能再登录该账号" in resp.get_json()["message"]


def test_validation_errors_are_chinese(client, users):
    token = api_csrf(client)
    resp = client.post("/api/v1/auth/login", json={"username": "x"}, headers={"X-CSRFToken": token})
    assert resp.status_code == 422
    body = resp.get_json()
    assert body["error"] == "validation_failed" and body["fields"]["password"] == ["必填项"]


def _token_for(db, users, key):
    from exchange.accounts.services import create_token
    _tok, secret = create_token(users["admin"], users[key], f"test {key}")
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


@pytest.mark.article("三级服务体系")
def test_station_user_cannot_read_another_towns_org(client, users, orgs, db):
    h = _token_for(db, users, "station_a")
    assert client.get(f"/api/v1/orgs/{orgs.point_a1.id}", headers=h).status_code == 200
    resp = client.get(f"/api/v1/orgs/{orgs.point_b1.id}", headers=h)
    assert resp.status_code == 403
    assert resp.get_json() == {"error": "forbidden", "message": "该事项不在您的管辖范围内。"}
    listed = {o["code"] for o in client.get("/api/v1/orgs", headers=h).get_json()}
    assert listed == {"LX-01", "LX-01-01", "LX-01-02"}


@pytest.mark.article("三级服务体系")
def test_point_clerk_sees_only_its_village(client, users, db):
    h = _token_for(db, users, "point_a1")
    assert [o["code"] for o in client.get("/api/v1/orgs", headers=h).get_json()] == ["LX-01-01"]


def test_admin_creates_org_and_staff_by_token(client, users, orgs, db):
    h = _token_for(db, users, "admin")
    resp = client.post("/api/v1/orgs", headers=h, json={
        "kind": "point", "parent_id": orgs.station_a.id, "name": "长安街道白云社区农村产权交易点",
        "area_name": "白云社区", "code": "LX-01-03"})
    assert resp.status_code == 201, resp.get_json()
    point_id = resp.get_json()["id"]
    resp = client.post("/api/v1/users", headers=h, json={
        "username": "baiyun", "display_name": "白云信息员", "role": "point_clerk", "org_unit_id": point_id,
        "password": "Cloud2026xx"})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["org_unit"]["code"] == "LX-01-03"
    # a wrong pairing of role and org is a 400 with the field named
    resp = client.post("/api/v1/users", headers=h, json={
        "username": "wrong1", "display_name": "错", "role": "station_reviewer", "org_unit_id": point_id,
        "password": "Cloud2026xx"})
    assert resp.status_code == 400 and "org_unit_id" in resp.get_json()["fields"]


def test_non_admin_writes_are_403_and_change_nothing(client, users, orgs, db):
    n = db.session.scalar(select(func.count(User.id)))
    for key in ["supervisor", "center_reviewer", "station_a", "point_a1"]:
        h = _token_for(db, users, key)
        resp = client.post("/api/v1/users", headers=h, json={
            "username": f"x_{key}", "display_name": "x", "role": "admin", "org_unit_id": orgs.center.id,
            "password": "Whatever2026"})
        assert resp.status_code == 403, key
        resp = client.patch(f"/api/v1/orgs/{orgs.point_a1.id}", headers=h, json={"name": "改名"})
        assert resp.status_code == 403, key
    assert db.session.scalar(select(func.count(User.id))) == n


def test_public_registration_via_api(client, db):
    token = api_csrf(client)
    good = make_resident_id("43068219770707777")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    payload = {"username": "api_person", "password": "Field2026ok", "kind": "person", "name": "接口注册人",
               "mobile": "13698765432", "id_number": bad}
    resp = client.post("/api/v1/accounts/register", json=payload, headers={"X-CSRFToken": token})
    assert resp.status_code == 400 and "id_number" in resp.get_json()["fields"]
    payload["id_number"] = good
    resp = client.post("/api/v1/accounts/register", json=payload, headers={"X-CSRFToken": token})
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["party"]["id_number_masked"].count("*") >= 8 and good not in str(body)


def test_revoked_token_stops_working(client, users, db):
    from exchange.accounts.models import ApiToken
    h = _token_for(db, users, "supervisor")
    assert client.get("/api/v1/me", headers=h).status_code == 200
    admin_h = _token_for(db, users, "admin")
    tok = db.session.scalars(select(ApiToken).order_by(ApiToken.id)).first()
    assert client.delete(f"/api/v1/tokens/{tok.id}", headers=admin_h).status_code == 200
    assert client.get("/api/v1/me", headers=h).status_code == 401


def test_calendar_due_endpoint(client, users, db):
    h = _token_for(db, users, "center_reviewer")
    # concluded Wednesday 2026-09-30 15:00 Beijing; 5 working days across National Day
    resp = client.get("/api/v1/calendar/due", query_string={"start": "2026-09-30T07:00:00+00:00",
                                                            "working_days": 5}, headers=h)
    body = resp.get_json()
    assert resp.status_code == 200, body
    import chinese_calendar
    from datetime import date, timedelta
    d, n = date(2026, 9, 30), 0
    while n < 5:
        d += timedelta(days=1)
        n += chinese_calendar.is_workday(d)
    assert body["last_day"] == d.isoformat() and body["assumed_years"] == []
    resp = client.get("/api/v1/calendar/due", query_string={"start": "2026-09-30T07:00:00+00:00"}, headers=h)
    assert resp.status_code == 422


def test_calendar_override_requires_admin(client, users, db):
    h = _token_for(db, users, "station_a")
    resp = client.put("/api/v1/calendar/overrides/2027-02-08", headers=h, json={"is_workday": False, "name": "春节"})
    assert resp.status_code == 403
    h = _token_for(db, users, "admin")
    resp = client.put("/api/v1/calendar/overrides/2027-02-08", headers=h, json={"is_workday": False, "name": "春节"})
    assert resp.status_code == 200 and resp.get_json()["is_workday"] is False
    resp = client.put("/api/v1/calendar/overrides/2027-13-40", headers=h, json={"is_workday": False})
    assert resp.status_code == 400 and "日期格式" in resp.get_json()["message"]


def test_audit_verify_endpoint(client, users, db):
    h = _token_for(db, users, "supervisor")
    body = client.get("/api/v1/audit/verify", headers=h).get_json()
    assert body["ok"] is True and body["count"] > 0
    entries = client.get("/api/v1/audit/entries", headers=h, query_string={"per_page": 5}).get_json()
    assert len(entries["items"]) == 5 and entries["total"] == body["count"]
    assert client.get("/api/v1/audit/entries", headers=h, query_string={"per_page": 0}).status_code == 422


def test_api_404_is_json(client):
    resp = client.get("/api/v1/nothing-here")
    assert resp.status_code == 404 and resp.get_json()["error"] == "not_found"
