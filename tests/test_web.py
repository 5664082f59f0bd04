"""Pages over HTTP: sign-in, registration, sessions, CSRF, headers, error pages, admin pages."""
import re

import pytest
from sqlalchemy import func, select

from exchange import clock
from exchange.accounts.models import OrgUnit, User
from exchange.idcheck import make_resident_id
from tests.factories import PASSWORD
from tests.helpers import csrf_from, get_csrf, login, post_form, text


def test_home_page_is_public_and_chinese(client):
    resp = client.get("/")
    assert resp.status_code == 200
    body = text(resp)
    assert "临湘市农村产权流转交易平台" in body and "交易程序" in body and "出具交易鉴证" in body


def test_security_headers(client):
    resp = client.get("/")
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_private_pages_are_not_cached(client, users):
    login(client, "t_admin", PASSWORD)
    resp = client.get("/work")
    assert resp.status_code == 200
    assert "no-store" in resp.headers["Cache-Control"]


def test_no_inline_scripts_or_styles_in_pages(client, users):
    login(client, "t_admin", PASSWORD)
    for url in ["/", "/work", "/admin/orgs", "/admin/users", "/admin/tokens", "/audit/", "/admin/calendar/",
                "/account/password"]:
        body = text(client.get(url))
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body), url
        assert " style=" not in body and "<style" not in body, url
        assert not re.search(r"\son[a-z]+=", body), url


def test_login_success_and_logout(client, users):
    resp = login(client, "t_station_a", PASSWORD, follow=True)
    body = text(resp)
    assert "我的工作台" in body and "交易站初审员" in body and "长安街道农村产权交易站" in body
    token = csrf_from(body)
    resp = client.post("/logout", data={"csrf_token": token}, follow_redirects=True)
    assert "您已安全退出" in text(resp)
    assert client.get("/work").status_code == 302


def test_logout_by_get_is_not_allowed(client, users):
    login(client, "t_admin", PASSWORD)
    assert client.get("/logout").status_code == 405


def test_wrong_password_shows_chinese_message(client, users, frozen):
    resp = login(client, "t_admin", "wrong-one")
    assert resp.status_code == 200 and "账号或密码不正确" in text(resp)
    resp = login(client, "t_admin", "wrong-one")
    assert "再错 3 次，本设备将 15 分钟内不能登录该账号；请 2 秒后再试。" in text(resp)


def test_lockout_after_five_failures_via_page(client, users, frozen):
    for _ in range(5):
        login(client, "t_admin", "wrong-one")
        clock.advance(seconds=10)
    resp = login(client, "t_admin", PASSWORD)
    assert "15 分钟内不能再登录该账号" in text(resp)
    clock.advance(minutes=16)
    resp = login(client, "t_admin", PASSWORD)
    assert resp.status_code == 302


def test_missing_csrf_token_is_refused(client, users, db):
    resp = client.post("/login", data={"username": "t_admin", "password": PASSWORD})
    assert resp.status_code == 400
    assert "页面已过期" in text(resp)
    n = db.session.scalar(select(func.count(User.id)))
    resp = client.post("/register", data={"username": "x1", "password": "Abcdefg123"})
    assert resp.status_code == 400
    assert db.session.scalar(select(func.count(User.id))) == n


def test_open_redirect_is_ignored(client, users):
    token = get_csrf(client, "/login")
    resp = client.post("/login?next=https://evil.example/", data={
        "username": "t_admin", "password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/work")


def test_next_inside_site_is_followed(client, users):
    token = get_csrf(client, "/login")
    resp = client.post("/login?next=/admin/users", data={
        "username": "t_admin", "password": PASSWORD, "csrf_token": token})
    assert resp.headers["Location"].endswith("/admin/users")


def test_staff_session_expires_after_30_idle_minutes(client, users, frozen):
    login(client, "t_finance", PASSWORD)
    clock.advance(minutes=29)
    assert client.get("/work").status_code == 200
    clock.advance(minutes=29)  # active 29 minutes ago: still fine
    assert client.get("/work").status_code == 200
    clock.advance(minutes=31)
    resp = client.get("/work", follow_redirects=True)
    assert "超过 30 分钟未操作" in text(resp)
    assert client.get("/work").status_code == 302


def test_public_session_lasts_longer(client, users, frozen):
    login(client, "t_buyer", PASSWORD)
    clock.advance(minutes=45)
    assert client.get("/work").status_code == 200


def test_forced_password_change_after_reset(client, users, db):
    from exchange.accounts.services import reset_password
    temp = reset_password(users["admin"], users["point_a1"])
    db.session.commit()
    resp = login(client, "t_point_a1", temp)
    assert resp.headers["Location"].endswith("/account/password")
    assert client.get("/work").status_code == 302  # nothing else until the password is changed
    resp = post_form(client, "/account/password", {"old_password": temp, "new_password": "Village2026ok",
                                                    "confirm": "Village2026ok"}, follow=True)
    assert "密码已修改" in text(resp)
    assert client.get("/work").status_code == 200


def test_change_password_errors_are_shown(client, users):
    login(client, "t_admin", PASSWORD)
    resp = post_form(client, "/account/password", {"old_password": "bad", "new_password": "Valid2026x",
                                                   "confirm": "Valid2026x"})
    assert "原密码不正确" in text(resp)
    resp = post_form(client, "/account/password", {"old_password": PASSWORD, "new_password": "abc",
                                                   "confirm": "abd"})
    assert "两次输入的新密码不一致" in text(resp)


# --- registration page ----------------------------------------------------------------------------

def _reg_data(**kw):
    data = {"kind": "person", "name": "页面注册人", "id_number": make_resident_id("43068219880808888"),
            "mobile": "13611112222", "username": "page_person", "password": "Paddy2026ok",
            "confirm": "Paddy2026ok", "agree": "y", "foreign_kind": "domestic"}
    data.update(kw)
    return data


def test_register_person_via_page(client, db):
    resp = post_form(client, "/register", _reg_data(), follow=True)
    assert "注册成功" in text(resp)
    user = db.session.scalar(select(User).where(User.username == "page_person"))
    assert user.party.name == "页面注册人"


@pytest.mark.parametrize("override,message", [
    ({"id_number": "430682198808088880"}, "校验位"),
    ({"mobile": "12345"}, "手机号码应为11位数字"),
    ({"password": "short", "confirm": "short"}, "至少 8 位"),
    ({"confirm": "Different2026"}, "两次输入的密码不一致"),
    ({"agree": ""}, "请阅读并同意交易规则"),
    ({"kind": "organisation", "uscc": "91430682MA4L00000X"}, "统一社会信用代码"),
])
def test_register_bad_input_shows_message_and_changes_nothing(client, db, override, message):
    data = _reg_data(**override)
    if "id_number" in override:
        good = make_resident_id("43068219880808888")
        data["id_number"] = good[:-1] + ("0" if good[-1] != "0" else "1")
    before = db.session.scalar(select(func.count(User.id)))
    resp = post_form(client, "/register", data)
    assert resp.status_code == 400
    assert message in text(resp), text(resp)[:3000]
    assert db.session.scalar(select(func.count(User.id))) == before


def test_html_in_names_is_rendered_inert(client, users, db):
    post_form(client, "/register", _reg_data(name="<script>alert(1)</script>"), follow=True)
    body = text(client.get("/work"))
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;" in body


# --- error pages --------------------------------------------------------------------------------

def test_404_page_is_chinese(client):
    resp = client.get("/no-such-page")
    assert resp.status_code == 404 and "页面不存在" in text(resp)


def test_403_page_for_out_of_role_page(client, users):
    login(client, "t_station_a", PASSWORD)
    for url in ["/admin/orgs", "/admin/users", "/admin/tokens", "/audit/"]:
        resp = client.get(url)
        assert resp.status_code == 403, url
        assert "无权访问" in text(resp)


def test_500_page_is_chinese(app, client, users, monkeypatch):
    login(client, "t_admin", PASSWORD)

    def boom(user):
        raise RuntimeError("boom")
    monkeypatch.setattr("exchange.web.views.work_panels", boom)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        resp = client.get("/work")
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = None
    assert resp.status_code == 500 and "系统繁忙" in text(resp)


# --- admin pages --------------------------------------------------------------------------------

@pytest.mark.article("三级服务体系")
def test_admin_creates_a_village_point_and_its_clerk(client, users, orgs, db):
    login(client, "t_admin", PASSWORD)
    resp = post_form(client, "/admin/orgs/new", {
        "kind": "point", "parent_id": orgs.station_b.id, "name": "江南镇新桥村农村产权交易点", "area_name": "新桥村",
        "code": "LX-05-09", "division_code": "", "sort_order": "3"}, follow=True)
    assert "已新增交易点" in text(resp)
    point = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "LX-05-09"))
    assert point.parent_id == orgs.station_b.id and point.path.startswith(orgs.station_b.path)
    resp = post_form(client, "/admin/users/new", {
        "username": "xinqiao_clerk", "display_name": "新桥信息员", "role": "point_clerk", "org_unit_id": point.id,
        "mobile": "13512345678", "password": "Xinqiao2026"}, follow=True)
    assert "已新建账号 xinqiao_clerk" in text(resp)
    # the station reviewer of 江南镇 now sees the new point in scope
    from exchange.access import in_scope
    assert in_scope(users["station_b"], point) and not in_scope(users["station_a"], point)


@pytest.mark.article("三级服务体系")
def test_admin_org_form_rejects_wrong_parent(client, users, orgs, db):
    login(client, "t_admin", PASSWORD)
    resp = post_form(client, "/admin/orgs/new", {
        "kind": "point", "parent_id": orgs.center.id, "name": "错误交易点", "area_name": "某村", "code": "LX-99"})
    assert "交易点的上级不能是交易中心" in text(resp)
    assert db.session.scalar(select(OrgUnit).where(OrgUnit.code == "LX-99")) is None


def test_admin_cannot_deactivate_station_with_active_points(client, users, orgs):
    login(client, "t_admin", PASSWORD)
    resp = post_form(client, f"/admin/orgs/{orgs.station_a.id}/active", {"active": "0"}, page="/admin/orgs",
                     follow=True)
    assert "下还有 2 个启用中的下级机构" in text(resp)


def test_station_reviewer_cannot_post_admin_forms(client, users, orgs, db):
    login(client, "t_station_a", PASSWORD)
    token = get_csrf(client, "/work")
    resp = client.post("/admin/users/new", data={
        "csrf_token": token, "username": "evil", "display_name": "坏人", "role": "admin",
        "org_unit_id": orgs.center.id, "password": "Evil2026xx"})
    assert resp.status_code == 403
    assert db.session.scalar(select(User).where(User.username == "evil")) is None


def test_admin_pages_render(client, users):
    login(client, "t_admin", PASSWORD)
    for url, needle in [("/admin/orgs", "长安街道农村产权交易站"), ("/admin/users", "t_point_a1"),
                        ("/admin/tokens", "发放新令牌"), ("/audit/", "审计链校验：完整"),
                        ("/admin/calendar/", "2026")]:
        resp = client.get(url)
        assert resp.status_code == 200, url
        assert needle in text(resp), url


def test_admin_issues_token_shown_once(client, users):
    login(client, "t_admin", PASSWORD)
    resp = post_form(client, "/admin/tokens", {"user_id": users["supervisor"].id, "name": "数据同步", "days": "30"})
    body = text(resp)
    secret = re.search(r"(lxt_[A-Za-z0-9_\-]+)", body).group(1)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).get_json()["username"] == \
        "t_supervisor"
    assert secret not in text(client.get("/admin/tokens"))


def test_supervisor_sees_audit_but_cannot_manage(client, users):
    login(client, "t_supervisor", PASSWORD)
    assert client.get("/audit/").status_code == 200
    assert client.get("/admin/users").status_code == 403
    assert client.get("/admin/orgs").status_code == 403
