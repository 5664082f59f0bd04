"""Account rules: staff creation, public registration, sign-in with lock-out, passwords, API tokens.

Every entry point (pages, API, CLI) calls these functions; they flush and never commit.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, or_, select
from werkzeug.security import check_password_hash, generate_password_hash

from exchange import clock
from exchange.access import require
from exchange.accounts.models import (FOREIGN_KIND_LABELS, FOREIGN_KINDS_FOR, ROLE_LABELS, ROLE_ORG_KIND, ApiToken,
                                      OrgType, Party, PartyKind, Role, User)
from exchange.audit.services import actor_for_user, record
from exchange.extensions import db
from exchange.idcheck import IdCheckError, check_mobile, check_resident_id, check_uscc
from exchange.orgs.models import OrgUnit
from exchange.errors import ServiceError


class AccountError(ServiceError):
    """A rule about accounts was not met; ``message`` is shown to the user as is."""


USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{3,40}$")
COMMON_PASSWORDS = {
    "password", "password1", "12345678", "123456789", "1234567890", "11111111", "88888888",
    "qwerty123", "abc12345", "abcd1234", "a1234567", "aa123456", "1qaz2wsx", "qwertyui",
    "admin123", "admin1234", "woaini1314", "iloveyou", "p@ssw0rd", "passw0rd", "asdf1234",
    "zxcvbnm1", "1q2w3e4r", "q1w2e3r4", "123qweasd", "qweasdzxc",
}


# --- passwords --------------------------------------------------------------------------------

def password_problems(password: str, *, username: str | None = None, mobile: str | None = None) -> list[str]:
    """Reasons (Chinese) why a password is too weak; empty when acceptable."""
    problems = []
    if len(password) < 8:
        problems.append("密码至少 8 位")
    if len(password) > 64:
        problems.append("密码不能超过 64 位")
    classes = sum(bool(re.search(p, password)) for p in (r"[a-z]", r"[A-Z]", r"\d", r"[^A-Za-z0-9]"))
    if not (re.search(r"[A-Za-z]", password) and re.search(r"\d", password)) or classes < 2:
        problems.append("密码需同时包含字母和数字")
    if password.lower() in COMMON_PASSWORDS or len(set(password)) <= 3:
        problems.append("密码过于常见或简单，请换一个")
    low = password.lower()
    if username and len(username) >= 3 and username.lower() in low:
        problems.append("密码不能包含登录名")
    if mobile and mobile in password:
        problems.append("密码不能包含手机号")
    return problems


def check_password_strength(password: str, **kw) -> None:
    problems = password_problems(password, **kw)
    if problems:
        raise AccountError("；".join(problems) + "。", field="password")


def hash_password(password: str) -> str:
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    return generate_password_hash(password, method=method)


# --- staff ------------------------------------------------------------------------------------

def _check_username(username: str) -> str:
    username = (username or "").strip()
    if not USERNAME_RE.match(username):
        raise AccountError("登录名为 3–40 位字母、数字、下划线、点或连字符。", field="username")
    exists = db.session.scalar(select(User.id).where(func.lower(User.username) == username.lower()))
    if exists:
        raise AccountError("该登录名已被使用，请换一个。", field="username")
    return username


def _check_staff_org(role: Role, org: OrgUnit | None) -> OrgUnit:
    if org is None:
        raise AccountError("工作人员必须归属一个组织机构。", field="org_unit_id")
    if not org.active:
        raise AccountError("该组织机构已停用，不能新增人员。", field="org_unit_id")
    wanted = ROLE_ORG_KIND[role]
    if org.kind != wanted:
        from exchange.orgs.models import ORG_KIND_LABELS
        raise AccountError(f"{ROLE_LABELS[role]}只能归属{ORG_KIND_LABELS[wanted]}，"
                           f"“{org.name}”是{org.kind_label}。", field="org_unit_id")
    return org


def _clean_mobile(mobile: str | None, required: bool) -> str | None:
    if not mobile:
        if required:
            raise AccountError("请填写手机号码。", field="mobile")
        return None
    try:
        return check_mobile(mobile)
    except IdCheckError as exc:
        raise AccountError(str(exc), field="mobile") from None


def create_staff(actor, *, username: str, display_name: str, role: str, org: OrgUnit | None,
                 password: str, mobile: str | None = None, email: str | None = None,
                 must_change_password: bool = True) -> User:
    """An admin creates a staff account bound to an org unit (for the CLI, ``actor`` may be None)."""
    if actor is not None:
        require(actor, "users.manage")
    try:
        role_enum = Role(role)
    except ValueError:
        raise AccountError("角色不正确。", field="role") from None
    if role_enum is Role.PUBLIC:
        raise AccountError("交易主体账号请通过公众注册创建。", field="role")
    username = _check_username(username)
    display_name = (display_name or "").strip()
    if not display_name or len(display_name) > 60:
        raise AccountError("请填写姓名（不超过 60 个字）。", field="display_name")
    org = _check_staff_org(role_enum, org)
    mobile = _clean_mobile(mobile, required=False)
    check_password_strength(password, username=username, mobile=mobile)
    user = User(username=username, display_name=display_name, role=role_enum.value, org_unit=org,
                mobile=mobile, email=(email or None), password_hash=hash_password(password),
                must_change_password=must_change_password, password_changed_at=clock.now())
    db.session.add(user)
    db.session.flush()
    record("user.create", f"新建工作人员账号 {username}（{ROLE_LABELS[role_enum]}，{org.name}）",
           obj_type="user", obj_id=user.id,
           after={"username": username, "role": role_enum.value, "org": org.code, "name": display_name})
    return user


def update_staff(actor, user: User, *, display_name: str | None = None, org: OrgUnit | None = None,
                 role: str | None = None, mobile: str | None = None, active: bool | None = None) -> User:
    require(actor, "users.manage")
    if user.role == Role.PUBLIC:
        raise AccountError("交易主体账号不能在此修改。")
    before = _staff_snapshot(user)
    new_role = Role(role) if role else Role(user.role)
    new_org = org if org is not None else user.org_unit
    if role or org is not None:
        _check_staff_org(new_role, new_org)
    if actor.id == user.id and (active is False or (role and new_role != Role.ADMIN)):
        raise AccountError("不能停用自己的账号或取消自己的管理员角色。")
    if display_name is not None:
        display_name = display_name.strip()
        if not display_name or len(display_name) > 60:
            raise AccountError("请填写姓名（不超过 60 个字）。", field="display_name")
        user.display_name = display_name
    if mobile is not None:
        user.mobile = _clean_mobile(mobile, required=False)
    if new_role.value != user.role or new_org is not user.org_unit:
        user.session_version += 1  # a new role or unit: the open sessions (and their rights) end
    user.role = new_role.value
    user.org_unit = new_org
    if active is not None:
        if not active:
            user.session_version += 1  # ends the account's open sessions
        user.active = active
    db.session.flush()
    after = _staff_snapshot(user)
    if after != before:
        record("user.update", f"修改工作人员账号 {user.username}", obj_type="user", obj_id=user.id,
               before=before, after=after)
    return user


def _staff_snapshot(user: User) -> dict:
    return {"name": user.display_name, "role": user.role, "org": user.org_unit.code if user.org_unit else None,
            "mobile": user.mobile, "active": user.active}


def reset_password(actor, user: User, new_password: str | None = None) -> str:
    """An admin sets a temporary password; the user must change it at next sign-in."""
    require(actor, "users.manage")
    temp = new_password or generate_temporary_password()
    check_password_strength(temp, username=user.username, mobile=user.mobile)
    user.password_hash = hash_password(temp)
    user.must_change_password = True
    user.failed_logins = 0
    user.locked_until = None
    user.session_version += 1
    user.password_changed_at = clock.now()
    db.session.flush()
    record("user.reset_password", f"重置账号 {user.username} 的密码", obj_type="user", obj_id=user.id)
    return temp


def unlock(actor, user: User) -> None:
    """解除锁定: every client's count and wait on the account end."""
    from exchange.accounts import throttle
    require(actor, "users.manage")
    throttle.clear_account(user)
    user.failed_logins = 0
    user.locked_until = None
    db.session.flush()
    record("user.unlock", f"解除账号 {user.username} 的锁定", obj_type="user", obj_id=user.id)


def generate_temporary_password() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz"
    digits = "23456789"
    core = "".join(secrets.choice(alphabet) for _ in range(6)) + "".join(secrets.choice(digits) for _ in range(3))
    return core + secrets.choice("@#%")


# --- public registration ------------------------------------------------------------------------

@dataclass
class SignUp:
    """What a person or an organisation fills in to open a public account (注册), not a buyer's application to a
    listing (:class:`exchange.registrations.models.Registration`)."""

    username: str
    password: str
    kind: str  # person / organisation
    name: str
    mobile: str
    contact_name: str | None = None
    id_number: str | None = None
    uscc: str | None = None
    org_type: str | None = None
    legal_rep: str | None = None
    address: str | None = None
    # 外资企业 / 境外投资者 (FOREIGN_KIND_LABELS); the sign-up page always asks, None leaves it to the first application
    foreign_kind: str | None = None


def check_foreign_kind(value: str | None, party_kind: str, *, field: str = "foreign_kind") -> str:
    """A declaration of 外资企业 / 境外投资者 that fits the kind of party (实施方案 二(四)3); '' when none given."""
    value = (value or "").strip()
    if not value:
        return ""
    if value not in FOREIGN_KIND_LABELS:
        raise AccountError("请选择是否为外资企业或境外投资者。", field=field)
    if value not in FOREIGN_KINDS_FOR.get(party_kind, ()):
        allowed = "、".join(FOREIGN_KIND_LABELS[k] for k in FOREIGN_KINDS_FOR.get(party_kind, ()))
        raise AccountError(f"{'自然人' if party_kind == 'person' else '法人或其他组织'}只能声明为：{allowed}。",
                           field=field)
    return value


def register_public(reg: SignUp) -> User:
    """Anyone registers a public account as a natural person or an organisation."""
    username = _check_username(reg.username)
    name = (reg.name or "").strip()
    if not name or len(name) > 100:
        raise AccountError("请填写姓名或单位全称（不超过 100 个字）。", field="name")
    mobile = _clean_mobile(reg.mobile, required=True)
    try:
        kind = PartyKind(reg.kind)
    except ValueError:
        raise AccountError("请选择主体类型。", field="kind") from None
    id_number = uscc = org_type = None
    if kind is PartyKind.PERSON:
        try:
            id_number = check_resident_id(reg.id_number or "", today=clock.today_local())
        except IdCheckError as exc:
            raise AccountError(str(exc), field="id_number") from None
        if db.session.scalar(select(Party.id).where(Party.id_number == id_number)):
            raise AccountError("该身份证号已注册过账号。如忘记密码，请联系交易中心。", field="id_number")
        contact = name
    else:
        try:
            uscc = check_uscc(reg.uscc or "")
        except IdCheckError as exc:
            raise AccountError(str(exc), field="uscc") from None
        try:
            org_type = OrgType(reg.org_type or "").value
        except ValueError:
            raise AccountError("请选择组织类型。", field="org_type") from None
        if db.session.scalar(select(Party.id).where(Party.uscc == uscc)):
            raise AccountError("该统一社会信用代码已注册过账号。如忘记密码，请联系交易中心。", field="uscc")
        contact = (reg.contact_name or "").strip()
        if not contact:
            raise AccountError("请填写联系人姓名。", field="contact_name")
    foreign_kind = check_foreign_kind(reg.foreign_kind, kind.value)
    check_password_strength(reg.password, username=username, mobile=mobile)
    user = User(username=username, role=Role.PUBLIC.value, org_unit=None, display_name=name[:60],
                mobile=mobile, password_hash=hash_password(reg.password), password_changed_at=clock.now())
    user.party = Party(kind=kind.value, name=name, id_number=id_number, uscc=uscc, org_type=org_type,
                       legal_rep=(reg.legal_rep or None), contact_name=contact[:60], mobile=mobile,
                       address=(reg.address or None), foreign_kind=foreign_kind)
    db.session.add(user)
    db.session.flush()
    record("user.register", f"公众注册账号 {username}（{user.party.kind_label}）", obj_type="user",
           obj_id=user.id, actor=actor_for_user(user, _client_ip()),
           after={"username": username, "kind": kind.value, "foreign_kind": foreign_kind or None})
    return user


def _client_ip() -> str | None:
    from flask import has_request_context, request
    return request.remote_addr if has_request_context() else None


# --- sign-in ------------------------------------------------------------------------------------

class LoginError(AccountError):
    pass


def find_login_user(login: str) -> User | None:
    login = (login or "").strip()
    if not login:
        return None
    user = db.session.scalar(select(User).where(func.lower(User.username) == login.lower()))
    if user is None and re.fullmatch(r"1\d{10}", login):
        # public accounts may also sign in with their mobile number when it is unique
        matches = db.session.scalars(select(User).where(User.mobile == login, User.role == Role.PUBLIC.value)
                                     .limit(2)).all()
        if len(matches) == 1:
            user = matches[0]
    return user


def authenticate(login: str, password: str, ip: str | None = None) -> User:
    """Check the credentials, throttled per account *and* client (:mod:`exchange.accounts.throttle`).

    Every answer costs one password hash and says nothing of whether the account exists.  The caller commits
    in every case: failed attempts must be stored.
    """
    from exchange.accounts import throttle
    user = find_login_user(login)
    attempt = throttle.begin(user, login, ip)
    refused = throttle.refusal(attempt)
    # one hash whatever happens, so the time taken does not tell a real account from an unknown one
    target = user.password_hash if user is not None and refused is None else _DUMMY_HASH()
    ok = check_password_hash(target, password or "") and user is not None and refused is None
    subject = (dict(obj_type="user", obj_id=user.id, name=user.username) if user is not None
               else dict(obj_type="login", obj_id=None, name=repr(login[:30])))
    if refused is not None:
        record("auth.login_throttled", f"账号 {subject['name']} 的登录尝试被限制：{refused}",
               obj_type=subject["obj_type"], obj_id=subject["obj_id"], actor=_anon(ip))
        raise LoginError(refused)
    if not ok:
        message, locked = throttle.failed(attempt)
        if user is not None:
            user.failed_logins += 1
        if locked and user is not None:  # the users list shows the account as 锁定 (for that client) until then
            user.locked_until = max(user.locked_until or attempt.pair.wait_until, attempt.pair.wait_until)
        if locked:
            record("auth.locked", f"来自 {ip or '未知地址'} 的客户端连续 {attempt.pair.failures} 次登录账号 "
                                  f"{subject['name']} 失败，暂停其登录该账号", obj_type=subject["obj_type"],
                   obj_id=subject["obj_id"], actor=_anon(ip))
        else:
            record("auth.login_failed", f"账号 {subject['name']} 登录失败（本客户端第 {attempt.pair.failures} 次）",
                   obj_type=subject["obj_type"], obj_id=subject["obj_id"], actor=_anon(ip))
        raise LoginError(message)
    throttle.succeeded(attempt)
    if not user.active:
        record("auth.login_inactive", f"已停用账号 {user.username} 尝试登录", obj_type="user", obj_id=user.id,
               actor=_anon(ip))
        raise LoginError("该账号已停用，请联系交易中心。")
    user.failed_logins = 0  # other clients' locks run on: locked_until stays
    user.last_login_at = clock.now()
    user.last_login_ip = ip
    db.session.flush()
    record("auth.login", f"{user.display_name}（{user.username}）登录", obj_type="user", obj_id=user.id,
           actor=actor_for_user(user, ip))
    return user


def _anon(ip: str | None):
    from exchange.audit.services import Actor
    return Actor(id=None, name="登录尝试", ip=ip)


_dummy_hash_cache: dict[str, str] = {}


def _DUMMY_HASH() -> str:
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    if method not in _dummy_hash_cache:
        _dummy_hash_cache[method] = generate_password_hash(secrets.token_hex(8), method=method)
    return _dummy_hash_cache[method]


def change_password(user: User, old_password: str, new_password: str) -> None:
    if not check_password_hash(user.password_hash, old_password or ""):
        raise AccountError("原密码不正确。", field="old_password")
    if old_password == new_password:
        raise AccountError("新密码不能与原密码相同。", field="new_password")
    try:
        check_password_strength(new_password, username=user.username, mobile=user.mobile)
    except AccountError as exc:
        raise AccountError(exc.message, field="new_password") from None
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    user.session_version += 1
    user.password_changed_at = clock.now()
    db.session.flush()
    record("user.change_password", f"{user.username} 修改了密码", obj_type="user", obj_id=user.id)


def end_sessions(user: User) -> None:
    """Sign-out: every session of the account ends at once, on every device and cookie copy (the session id
    carries the version; the loader refuses an old one).  Flushes; the caller commits."""
    user.session_version += 1
    db.session.flush()


def load_session_user(session_id: str) -> User | None:
    """Flask-Login loader: ``"<id>:<session_version>"``; a bumped version ends old sessions."""
    try:
        uid, version = session_id.split(":", 1)
        user = db.session.get(User, int(uid))
    except (ValueError, TypeError):
        return None
    if user is None or str(user.session_version) != version or not user.active:
        return None
    return user


# --- API tokens ---------------------------------------------------------------------------------

TOKEN_PREFIX = "lxt_"


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(actor, user: User, name: str, days: int | None = None) -> tuple[ApiToken, str]:
    """Returns the token row and the secret (shown once)."""
    require(actor, "tokens.manage")
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise AccountError("请填写令牌用途（不超过 80 个字）。", field="name")
    if days is not None and not (1 <= days <= 3660):
        raise AccountError("有效期应为 1–3660 天。", field="days")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name, prefix=secret[:12], token_hash=_token_digest(secret),
                     created_by_id=actor.id,
                     expires_at=(clock.now() + timedelta(days=days)) if days else None)
    db.session.add(token)
    db.session.flush()
    record("token.create", f"为账号 {user.username} 创建 API 令牌“{name}”", obj_type="api_token",
           obj_id=token.id, after={"user": user.username, "name": name, "prefix": token.prefix,
                                   "expires_at": token.expires_at})
    return token, secret


def revoke_token(actor, token: ApiToken) -> None:
    require(actor, "tokens.manage")
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        db.session.flush()
        record("token.revoke", f"吊销 API 令牌“{token.name}”（{token.prefix}…）", obj_type="api_token",
               obj_id=token.id)


def user_for_token(secret: str) -> User | None:
    if not secret or not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_digest(secret)))
    if token is None or not token.is_usable() or not token.user.active:
        return None
    now = clock.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        token.last_used_at = now  # coarse, so a busy consumer does not write on every call
    return token.user


def staff_query(actor, *, q: str | None = None, role: str | None = None, org_id: int | None = None):
    require(actor, "users.view")
    stmt = select(User).order_by(User.role, User.username)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(User.username.ilike(like), User.display_name.ilike(like), User.mobile.ilike(like)))
    if role:
        stmt = stmt.where(User.role == role)
    if org_id:
        stmt = stmt.where(User.org_unit_id == org_id)
    return stmt
