"""Sign-in throttling: stop password guessing without letting a stranger lock somebody out.

Who is trying matters as much as which account is tried.  A *client* is the browser's device cookie when it
carries one for the account (a browser that signed in to it before), otherwise the network address.  Failed
attempts are counted in three scopes (rows of :class:`~exchange.accounts.models.LoginThrottle`):

* **pair** — one account from one client.  After the 2nd failure the client waits 2 s, then 4 s, 8 s before the
  next try; at ``LOGIN_MAX_FAILURES`` (5) that client may not try the account for ``LOGIN_LOCK_MINUTES`` (15).
  The account itself is not locked: its owner on another client, or on a browser that signed in before, still
  signs in with the right password.
* **address** — one network address over every account (typed names that exist or not), for clients without a
  device cookie for the account they try: ``LOGIN_ADDRESS_MAX_FAILURES`` (30) within the window stops the address
  for ``LOGIN_LOCK_MINUTES``.  Stops one machine trying many accounts.
* **account** — one account over every client without its device cookie: from the ``LOGIN_ACCOUNT_SLOWDOWN``-th
  (10th) failure within the window each further try waits 1 s, 2 s, 4 s … up to ``LOGIN_ACCOUNT_MAX_DELAY``
  (60 s).  Guessing from many addresses is slowed to a crawl but never locks the account; browsers that signed in
  to it before are not slowed at all.

A try refused by a delay or a lock is not checked and not counted.  Counters start afresh when the last failure in
the scope is older than the window (``LOGIN_LOCK_MINUTES``).  A typed name that no account has is counted under
that name exactly as a real account is — the same messages at the same moments, the same password-hash work — so
the answers never tell which accounts exist.  The rows are removed by the sweeper a day after their last failure,
and an administrator's 解除锁定 removes the account's.
"""
from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, or_, select

from exchange import clock
from exchange.accounts.models import LoginThrottle, User
from exchange.db import get_or_create
from exchange.extensions import db

DEVICE_COOKIE = "lxnc_device"
DEVICE_MAX_AGE = 365 * 24 * 3600
DEVICE_MAX_ACCOUNTS = 8  # accounts remembered per browser (a shared office computer)
STALE_AFTER = timedelta(days=1)


def _cfg(name: str, default: int) -> int:
    return int(current_app.config.get(name, default))


def window() -> timedelta:
    return timedelta(minutes=_cfg("LOGIN_LOCK_MINUTES", 15))


# --- the device cookie --------------------------------------------------------------------------

def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="login-device")


def _device_entries() -> list[list]:
    raw = request.cookies.get(DEVICE_COOKIE) if request else None
    if not raw or len(raw) > 2000:
        return []
    try:
        entries = _serializer().loads(raw, max_age=DEVICE_MAX_AGE)
    except (BadSignature, ValueError, TypeError):
        return []
    if not isinstance(entries, list):
        return []
    return [e for e in entries if isinstance(e, list) and len(e) == 2 and isinstance(e[0], int)
            and isinstance(e[1], str) and len(e[1]) <= 40]


def device_for(user: User | None) -> str | None:
    """The nonce of this browser's device cookie for ``user``, when it carries a valid one."""
    if user is None:
        return None
    for user_id, nonce in _device_entries():
        if user_id == user.id:
            return nonce
    return None


def remember_device(user: User) -> None:
    """Mark this browser as one that signed in to ``user`` (the cookie is set on this request's response; kept a
    year; the nonce is renewed each sign-in)."""
    from flask import after_this_request
    value = _device_value(user)

    @after_this_request
    def _set(response):
        response.set_cookie(DEVICE_COOKIE, value, max_age=DEVICE_MAX_AGE, httponly=True, samesite="Lax",
                            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")), path="/")
        return response


def _device_value(user: User) -> str:
    entries = [e for e in _device_entries() if e[0] != user.id]
    entries.insert(0, [user.id, secrets.token_urlsafe(16)])
    return _serializer().dumps(entries[:DEVICE_MAX_ACCOUNTS])


# --- counting -----------------------------------------------------------------------------------

def account_key(user: User | None, login: str) -> str:
    if user is not None:
        return f"u{user.id}"
    typed = (login or "").strip().lower()[:200]
    return "n" + hashlib.sha256(typed.encode("utf-8", "surrogatepass")).hexdigest()[:40]


@dataclass
class Attempt:
    """The throttle rows one sign-in attempt is counted in, locked for this transaction.  The account and address
    rows are made at the first failure (a sign-in that succeeds leaves nothing behind but its pair row's removal)."""
    account_key: str
    address_key: str
    user_id: int | None
    pair: LoginThrottle
    address: LoginThrottle | None
    account: LoginThrottle | None
    trusted: bool  # the browser carries the account's device cookie: only the pair counts


def _select(scope: str, key: str):
    stmt = select(LoginThrottle).where(LoginThrottle.scope == scope, LoginThrottle.key == key)
    if db.session.get_bind().dialect.name != "sqlite":
        stmt = stmt.with_for_update()
    return stmt.execution_options(populate_existing=True)


def _existing(scope: str, key: str) -> LoginThrottle | None:
    return db.session.scalar(_select(scope, key))


def _row(scope: str, key: str, user_id: int | None) -> LoginThrottle:
    """The scope's row, locked (created when missing; a concurrent creation is waited for, not an error)."""
    return get_or_create(db.session, LoginThrottle, lock=True, scope=scope, key=key,
                         defaults=dict(user_id=user_id, failures=0))


def begin(user: User | None, login: str, ip: str | None) -> Attempt:
    """Lock the rows this attempt counts in, always in the order pair → account → address (no deadlock).  The pair
    row is made at once, so concurrent tries from one client on one account queue behind each other."""
    if db.session.get_bind().dialect.name == "sqlite":
        from exchange.db import take_write_lock
        take_write_lock(db.session)  # SQLite: one writer at a time stands in for the row locks
    account = account_key(user, login)
    address = (ip or "?")[:160]
    nonce = device_for(user)
    client = f"d:{nonce}" if nonce else f"a:{address}"
    user_id = user.id if user is not None else None
    now = clock.now()
    pair = _fresh(_row("pair", f"{account}|{client}"[:160], user_id), now)
    common = dict(account_key=account, address_key=address, user_id=user_id, pair=pair)
    if nonce:
        return Attempt(**common, address=None, account=None, trusted=True)
    acct = _existing("account", account)
    addr = _existing("address", address)
    return Attempt(**common, account=acct and _fresh(acct, now), address=addr and _fresh(addr, now), trusted=False)


def _fresh(row: LoginThrottle, now: datetime) -> LoginThrottle:
    """Counters start afresh once the last failure is older than the window and no wait is running."""
    if row.last_failure_at is not None and row.last_failure_at + window() <= now \
            and (row.wait_until is None or row.wait_until <= now):
        row.failures, row.wait_until = 0, None
    return row


def refusal(attempt: Attempt) -> str | None:
    """Why this attempt is not even checked (a delay or a lock running), or None."""
    now = clock.now()
    pair = attempt.pair
    if pair.wait_until is not None and pair.wait_until > now:
        if pair.failures >= _cfg("LOGIN_MAX_FAILURES", 5):
            minutes = _minutes_left(pair.wait_until, now)
            return (f"本设备已连续 {pair.failures} 次登录失败，{minutes} 分钟内不能再登录该账号。"
                    f"在曾经登录过的设备上仍可登录；忘记密码请联系交易中心重置。")
        return f"登录尝试过于频繁，请 {_seconds_left(pair.wait_until, now)} 秒后再试。"
    addr = attempt.address
    if addr is not None and addr.wait_until is not None and addr.wait_until > now:
        return (f"本网络地址登录失败次数过多，{_minutes_left(addr.wait_until, now)} 分钟内不能再尝试登录"
                f"（曾在本设备登录过的账号不受影响）。")
    acct = attempt.account
    if acct is not None and acct.wait_until is not None and acct.wait_until > now:
        return f"该账号近期登录失败较多，为防止猜测密码，请 {_seconds_left(acct.wait_until, now)} 秒后再试。"
    return None


def _seconds_left(until: datetime, now: datetime) -> int:
    return max(1, math.ceil((until - now).total_seconds()))


def _minutes_left(until: datetime, now: datetime) -> int:
    return max(1, math.ceil((until - now).total_seconds() / 60))


def failed(attempt: Attempt) -> tuple[str, bool]:
    """Count a wrong password (or an unknown name) in every scope of the attempt: the message to show and
    whether the client has just been locked out of the account."""
    now = clock.now()
    limit = _cfg("LOGIN_MAX_FAILURES", 5)
    lock = window()
    pair = attempt.pair
    pair.failures += 1
    pair.last_failure_at = now
    locked = pair.failures >= limit
    if locked:
        pair.wait_until = now + lock
    elif pair.failures >= 2:
        pair.wait_until = now + timedelta(seconds=2 ** (pair.failures - 1))
    if not attempt.trusted:
        attempt.account = attempt.account or _fresh(_row("account", attempt.account_key, attempt.user_id), now)
        attempt.address = attempt.address or _fresh(_row("address", attempt.address_key, None), now)
        addr = attempt.address
        addr.failures += 1
        addr.last_failure_at = now
        if addr.failures >= _cfg("LOGIN_ADDRESS_MAX_FAILURES", 30):
            addr.wait_until = now + lock
        acct = attempt.account
        acct.failures += 1
        acct.last_failure_at = now
        over = acct.failures - _cfg("LOGIN_ACCOUNT_SLOWDOWN", 10)
        if over >= 0:
            acct.wait_until = now + timedelta(seconds=min(2 ** over, _cfg("LOGIN_ACCOUNT_MAX_DELAY", 60)))
    db.session.flush()
    minutes = _cfg("LOGIN_LOCK_MINUTES", 15)
    if locked:
        return (f"账号或密码不正确。本设备已连续 {pair.failures} 次登录失败，{minutes} 分钟内不能再登录该账号。"
                f"忘记密码请联系交易中心重置。"), True
    left = limit - pair.failures
    if pair.failures == 1:
        return "账号或密码不正确。", False
    return (f"账号或密码不正确。再错 {left} 次，本设备将 {minutes} 分钟内不能登录该账号；"
            f"请 {2 ** (pair.failures - 1)} 秒后再试。"), False


def succeeded(attempt: Attempt) -> None:
    """The right password: this client's count for the account ends (the account and address counts run out by
    time, so a success in between does not give a guesser a fresh start)."""
    db.session.delete(attempt.pair)
    db.session.flush()


def clear_account(user: User) -> int:
    """An administrator's 解除锁定: every count and wait on the account, from every client."""
    n = db.session.execute(delete(LoginThrottle).where(LoginThrottle.user_id == user.id)).rowcount
    db.session.flush()
    return n or 0


@dataclass
class Status:
    failures: int  # failed attempts on the account within the window, from clients without its device cookie
    locked_clients: int  # clients that may not try the account now
    slowed_until: datetime | None  # the account-wide wait, when one is running
    until: datetime | None  # the latest wait of any kind

    @property
    def restricted(self) -> bool:
        return self.locked_clients > 0 or self.slowed_until is not None


def status(user: User) -> Status:
    now = clock.now()
    rows = db.session.scalars(select(LoginThrottle).where(LoginThrottle.user_id == user.id)).all()
    limit = _cfg("LOGIN_MAX_FAILURES", 5)
    acct = next((r for r in rows if r.scope == "account"), None)
    recent = acct is not None and acct.last_failure_at is not None and acct.last_failure_at + window() > now
    locked = [r for r in rows if r.scope == "pair" and r.failures >= limit and r.wait_until and r.wait_until > now]
    slowed = acct.wait_until if acct is not None and acct.wait_until and acct.wait_until > now else None
    waits = [r.wait_until for r in locked] + ([slowed] if slowed else [])
    return Status(acct.failures if recent else 0, len(locked), slowed, max(waits) if waits else None)


def restricted_user_ids(ids) -> set[int]:
    """Of these accounts, those some client is locked out of now (the users list's badge)."""
    ids = list(ids)
    if not ids:
        return set()
    now = clock.now()
    limit = _cfg("LOGIN_MAX_FAILURES", 5)
    rows = db.session.execute(select(LoginThrottle.user_id).where(
        LoginThrottle.user_id.in_(ids), LoginThrottle.wait_until > now,
        or_(LoginThrottle.scope == "account",
            (LoginThrottle.scope == "pair") & (LoginThrottle.failures >= limit)))).scalars().all()
    return set(rows)


def sweep_stale(now: datetime) -> int:
    """Forget counts a day after their last failure once no wait runs (the sweeper)."""
    cutoff = now - STALE_AFTER
    n = db.session.execute(delete(LoginThrottle).where(
        or_(LoginThrottle.last_failure_at.is_(None), LoginThrottle.last_failure_at < cutoff),
        or_(LoginThrottle.wait_until.is_(None), LoginThrottle.wait_until < now))).rowcount
    return n or 0
