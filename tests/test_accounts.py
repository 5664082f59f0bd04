"""Account rules at the service level: staff creation, registration, lock-out, passwords, tokens."""

import pytest
from sqlalchemy import func, select

from exchange import clock
from exchange.access import AccessDenied
from exchange.accounts import services as acc
from exchange.accounts.models import ApiToken, Party, User
from exchange.audit.models import AuditEntry
from exchange.idcheck import make_resident_id
from tests.factories import PASSWORD


def count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


def reg(**kw):
    base = dict(username="new_person", password="Farm2026ok", kind="person", name="新测试人", mobile="13712345678",
                id_number=make_resident_id("43068219850606123"))
    base.update(kw)
    return acc.SignUp(**base)


# --- passwords ---------------------------------------------------------------------------------

@pytest.mark.parametrize("pw,fragment", [
    ("short1a", "至少 8 位"),
    ("abcdefghij", "字母和数字"),
    ("1234567890", "字母和数字"),
    ("password1", "常见"),
    ("aaaa1111", "常见"),
    ("xx_new_person_1", "登录名"),
    ("a13712345678", "手机号"),
])
def test_weak_passwords_are_refused(pw, fragment):
    problems = acc.password_problems(pw, username="new_person", mobile="13712345678")
    assert any(fragment in p for p in problems), problems


def test_reasonable_password_passes():
    assert acc.password_problems("Tuanhu2026", username="clerk", mobile="13712345678") == []


# --- staff ---------------------------------------------------------------------------------------

def test_admin_creates_staff_bound_to_matching_org(users, orgs, db):
    u = acc.create_staff(users["admin"], username="new_clerk", display_name="新信息员", role="point_clerk",
                         org=orgs.point_b2, password="Clerk2026x")
    assert u.org_unit is orgs.point_b2 and u.must_change_password
    assert u.password_hash != "Clerk2026x" and u.password_hash.startswith("scrypt")
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "user.create")
                               .order_by(AuditEntry.seq.desc())).first()
    assert entry.object_id == str(u.id) and "new_clerk" in entry.summary


@pytest.mark.article("三级服务体系")
@pytest.mark.parametrize("role,org_attr", [
    ("point_clerk", "station_a"),      # a clerk belongs to a village point
    ("station_reviewer", "point_a1"),  # a station reviewer to a station
    ("center_reviewer", "station_b"),  # center roles to the center
])
def test_staff_role_must_match_org_kind(users, orgs, db, role, org_attr):
    before = count(db, User)
    with pytest.raises(acc.AccountError) as exc:
        acc.create_staff(users["admin"], username="x_user", display_name="某人", role=role,
                         org=getattr(orgs, org_attr), password="Valid2026x")
    assert "只能归属" in exc.value.message
    assert count(db, User) == before


def test_only_admin_creates_staff(users, orgs):
    with pytest.raises(AccessDenied):
        acc.create_staff(users["station_a"], username="sneaky", display_name="某人", role="point_clerk",
                         org=orgs.point_a1, password="Valid2026x")


def test_duplicate_username_is_refused_case_insensitively(users, orgs):
    with pytest.raises(acc.AccountError) as exc:
        acc.create_staff(users["admin"], username="T_ADMIN", display_name="重复", role="admin", org=orgs.center,
                         password="Valid2026x")
    assert exc.value.field == "username"


def test_admin_cannot_deactivate_self(users):
    with pytest.raises(acc.AccountError):
        acc.update_staff(users["admin"], users["admin"], active=False)


def test_deactivating_ends_sessions(users, db):
    clerk = users["point_a1"]
    old = clerk.get_id()
    acc.update_staff(users["admin"], clerk, active=False)
    assert acc.load_session_user(old) is None


# --- public registration ---------------------------------------------------------------------

def test_person_registers(db):
    u = acc.register_public(reg())
    assert u.role == "public" and u.org_unit is None
    assert u.party.kind == "person" and u.party.id_number.endswith(u.party.id_number[-1])


@pytest.mark.parametrize("field,value,fragment", [
    ("id_number", "BAD_CHECK_DIGIT", "校验位"),
    ("id_number", "43068219850606123", "18位"),
    ("id_number", "430682198502301231", "出生日期"),
    ("mobile", "1371234567", "11位"),
    ("mobile", "23712345678", "11位"),
    ("password", "weakpass", "字母和数字"),
    ("username", "a b", "登录名"),
])
def test_bad_registration_input_changes_nothing(db, field, value, fragment):
    if value == "BAD_CHECK_DIGIT":
        good = make_resident_id("43068219850606123")
        value = good[:-1] + ("0" if good[-1] != "0" else "1")
    before = count(db, User), count(db, Party)
    with pytest.raises(acc.AccountError) as exc:
        acc.register_public(reg(**{field: value}))
    assert fragment in exc.value.message, exc.value.message
    db.session.rollback()
    assert (count(db, User), count(db, Party)) == before


def test_organisation_needs_valid_uscc_and_type(db):
    from exchange.demo import _demo_uscc
    good = _demo_uscc("9143068200000077")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    with pytest.raises(acc.AccountError) as exc:
        acc.register_public(reg(kind="organisation", id_number=None, uscc=bad, org_type="enterprise",
                                contact_name="联系人"))
    assert exc.value.field == "uscc"
    with pytest.raises(acc.AccountError) as exc:
        acc.register_public(reg(kind="organisation", id_number=None, uscc=good, org_type="",
                                contact_name="联系人"))
    assert exc.value.field == "org_type"
    u = acc.register_public(reg(kind="organisation", id_number=None, uscc=good.lower(), org_type="cooperative",
                                contact_name="联系人"))
    assert u.party.uscc == good


def test_one_account_per_identity(db):
    acc.register_public(reg())
    with pytest.raises(acc.AccountError) as exc:
        acc.register_public(reg(username="someone_else"))
    assert "已注册" in exc.value.message


# --- sign-in and lock-out -----------------------------------------------------------------------

def _fail(login, password="wrong-password", ip="10.0.0.1"):
    with pytest.raises(acc.LoginError) as exc:
        acc.authenticate(login, password, ip=ip)
    return exc.value.message


def test_a_client_waits_longer_after_each_failure_then_is_stopped_for_fifteen_minutes(users, frozen, db):
    assert _fail("t_point_a1") == "账号或密码不正确。"
    waits = []
    for left in (3, 2, 1):
        message = _fail("t_point_a1")
        assert f"再错 {left} 次，本设备将 15 分钟内不能登录该账号" in message
        seconds = int(message.split("请 ")[1].split(" 秒")[0])
        waits.append(seconds)
        # trying again before the wait is over is refused unchecked — even with the right password — and not counted
        assert _fail("t_point_a1", PASSWORD) == f"登录尝试过于频繁，请 {seconds} 秒后再试。"
        clock.advance(seconds=seconds)
    assert waits == [2, 4, 8]
    assert "连续 5 次登录失败，15 分钟内不能再登录该账号" in _fail("t_point_a1")
    # even the right password is refused from this client while it is stopped
    assert "15 分钟内不能再登录该账号" in _fail("t_point_a1", PASSWORD)
    clock.advance(minutes=14, seconds=59)
    assert "1 分钟内不能再登录该账号" in _fail("t_point_a1", PASSWORD)
    clock.advance(seconds=2)
    user = acc.authenticate("t_point_a1", PASSWORD, ip="10.0.0.1")
    assert user.failed_logins == 0


def test_the_owner_signs_in_from_another_client_while_a_guesser_is_stopped(users, frozen, db):
    for _ in range(5):
        _fail("t_point_a1", ip="203.0.113.9")
        clock.advance(seconds=10)
    assert "不能再登录该账号" in _fail("t_point_a1", PASSWORD, ip="203.0.113.9")
    assert acc.authenticate("t_point_a1", PASSWORD, ip="10.0.0.2").username == "t_point_a1"
    # the users list shows the account as restricted for that client until its lock ends
    assert users["point_a1"].is_locked()


def test_failures_after_a_lock_expires_count_afresh(users, frozen):
    for _ in range(5):
        _fail("t_station_a", "nope")
        clock.advance(seconds=10)
    clock.advance(minutes=16)
    assert _fail("t_station_a", "nope") == "账号或密码不正确。"
    assert "再错 3 次" in _fail("t_station_a", "nope")


def test_unknown_user_gets_the_same_message(users):
    assert _fail("nobody_here", "whatever1") == "账号或密码不正确。"


def test_public_user_may_sign_in_with_mobile(users):
    assert acc.authenticate("13900000001", PASSWORD).username == "t_buyer"


def test_inactive_user_cannot_sign_in(users, db):
    acc.update_staff(users["admin"], users["finance"], active=False)
    with pytest.raises(acc.LoginError) as exc:
        acc.authenticate("t_finance", PASSWORD)
    assert "停用" in exc.value.message


def test_password_change_ends_other_sessions(users):
    user = users["finance"]
    old_session = user.get_id()
    acc.change_password(user, PASSWORD, "NewFinance2026")
    assert acc.load_session_user(old_session) is None
    assert acc.load_session_user(user.get_id()) is user
    with pytest.raises(acc.AccountError):
        acc.change_password(user, "wrong-old", "Another2026x")


def test_reset_password_forces_change(users):
    temp = acc.reset_password(users["admin"], users["point_b1"])
    assert acc.password_problems(temp, username="t_point_b1") == []
    assert users["point_b1"].must_change_password
    assert acc.authenticate("t_point_b1", temp).username == "t_point_b1"


# --- API tokens ---------------------------------------------------------------------------------

def test_token_lifecycle(users, frozen, db):
    token, secret = acc.create_token(users["admin"], users["supervisor"], "市大数据中心同步", days=30)
    assert secret.startswith("lxt_") and token.token_hash != secret
    assert db.session.scalar(select(ApiToken.token_hash)) != secret  # only the digest is stored
    assert acc.user_for_token(secret) is users["supervisor"]
    assert acc.user_for_token(secret + "x") is None
    clock.advance(days=31)
    assert acc.user_for_token(secret) is None  # expired
    clock.advance(days=-31)
    acc.revoke_token(users["admin"], token)
    assert acc.user_for_token(secret) is None


def test_only_admin_issues_tokens(users):
    with pytest.raises(AccessDenied):
        acc.create_token(users["supervisor"], users["supervisor"], "自己发")
