"""Writing and verifying the audit trail.

Every transition and every staff action calls :func:`record`.  The actor comes from the
current request (the logged-in user and the client IP) or, outside a request, from
:func:`acting_as` (CLI commands, the sweeper).  :func:`record` only flushes; the caller's
transaction commits the entry together with the change it describes, or neither.
"""
from __future__ import annotations

import contextlib
import contextvars
import hashlib
import ipaddress
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Iterator

from blinker import Namespace
from sqlalchemy import select, update

from exchange import clock
from exchange.audit.models import GENESIS_HASH, AuditEntry, AuditHead
from exchange.extensions import db

# Sent with each new entry, inside the transaction that wrote it.  Later layers react (the notifications an event
# gives) without the audit trail — the bottom of the house — knowing them (DESIGN §4.1).
recorded = Namespace().signal("audit-recorded")


@dataclass(frozen=True)
class Actor:
    id: int | None
    name: str
    role: str | None = None
    org_id: int | None = None
    ip: str | None = None


SYSTEM = Actor(id=None, name="系统")

_actor_override: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("audit_actor", default=None)


@contextlib.contextmanager
def acting_as(actor: Actor | str) -> Iterator[Actor]:
    """Attribute audit entries written inside the block to ``actor`` (CLI, sweeper, tests)."""
    if isinstance(actor, str):
        actor = Actor(id=None, name=actor)
    token = _actor_override.set(actor)
    try:
        yield actor
    finally:
        _actor_override.reset(token)


def actor_for_user(user, ip: str | None = None) -> Actor:
    return Actor(id=user.id, name=f"{user.display_name}({user.username})", role=user.role,
                 org_id=user.org_unit_id, ip=ip)


def current_actor() -> Actor:
    override = _actor_override.get()
    if override is not None:
        return override
    from flask import has_request_context, request
    if has_request_context():
        from flask_login import current_user
        ip = request.remote_addr
        if current_user and getattr(current_user, "is_authenticated", False):
            return actor_for_user(current_user, ip)
        return Actor(id=None, name="匿名访问者", ip=ip)
    return SYSTEM


def usable_ip(value: str | None) -> bool:
    """Whether a recorded address is a real client's: the sweeper's and the training run's markers ("演练") and
    loopback (a proxy in front of the app that does not pass the client on) say nothing about who sent a request."""
    try:
        ip = ipaddress.ip_address((value or "").strip())
    except ValueError:
        return False
    return not (ip.is_loopback or ip.is_unspecified)


def _default(value: Any):
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, set):
        return sorted(value)
    return str(value)


def canonical_json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=_default)


def _entry_digest(e: AuditEntry | dict) -> str:
    get = (lambda k: e[k]) if isinstance(e, dict) else (lambda k: getattr(e, k))
    at = get("at")
    material = canonical_json({
        "seq": get("seq"),
        "at": clock.ensure_aware(at).isoformat(timespec="microseconds"),
        "actor_id": get("actor_id"),
        "actor_name": get("actor_name"),
        "actor_role": get("actor_role"),
        "org_id": get("org_id"),
        "ip": get("ip"),
        "action": get("action"),
        "object_type": get("object_type"),
        "object_id": get("object_id"),
        "summary": get("summary"),
        "before": get("before"),
        "after": get("after"),
        "prev_hash": get("prev_hash"),
    })
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def _ensure_head() -> None:
    if db.session.get(AuditHead, 1) is None:
        db.session.add(AuditHead(id=1, last_seq=0, last_hash=GENESIS_HASH))
        db.session.flush()


def record(action: str, summary: str, *, obj_type: str | None = None, obj_id: Any = None,
           before: dict | None = None, after: dict | None = None, actor: Actor | None = None) -> AuditEntry:
    """Append one entry to the chain (flushes; the caller commits)."""
    actor = actor or current_actor()
    db.session.flush()  # the change being audited goes to the database first
    _ensure_head()
    # Claim the next sequence number: this UPDATE takes the row (PostgreSQL) or database (SQLite)
    # write lock, so concurrent writers line up here and each reads the hash its predecessor left.
    row = db.session.execute(
        update(AuditHead).where(AuditHead.id == 1)
        .values(last_seq=AuditHead.last_seq + 1)
        .returning(AuditHead.last_seq, AuditHead.last_hash)
        .execution_options(synchronize_session=False)
    ).one()
    seq, prev_hash = row
    entry = AuditEntry(
        seq=seq, at=clock.now(), actor_id=actor.id, actor_name=actor.name[:60], actor_role=actor.role,
        org_id=actor.org_id, ip=actor.ip, action=action,
        object_type=obj_type, object_id=None if obj_id is None else str(obj_id),
        summary=summary[:500], before=canonical_json(before), after=canonical_json(after),
        prev_hash=prev_hash,
    )
    entry.hash = _entry_digest(entry)
    db.session.add(entry)
    db.session.execute(
        update(AuditHead).where(AuditHead.id == 1).values(last_hash=entry.hash)
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    head = db.session.get(AuditHead, 1)
    if head is not None:
        db.session.expire(head)
    recorded.send(entry)  # inside the transaction: e.g. the notifications this event gives (exchange.notifications)
    return entry


@dataclass
class VerifyResult:
    ok: bool
    count: int
    broken_seq: int | None = None
    reason: str | None = None

    def message(self) -> str:
        if self.ok:
            return f"审计链完整：共 {self.count} 条记录，逐条核对无误"
        return f"审计链已被破坏：第 {self.broken_seq} 条记录 {self.reason}"


def verify(batch: int = 2000) -> VerifyResult:
    """Walk the chain in order and recompute every hash."""
    prev_hash = GENESIS_HASH
    expected_seq = 1
    count = 0
    last_id = 0
    while True:
        rows = db.session.execute(
            select(AuditEntry.__table__).where(AuditEntry.seq >= expected_seq)
            .order_by(AuditEntry.seq).limit(batch)
        ).mappings().all()
        if not rows:
            break
        for r in rows:
            if r["seq"] != expected_seq:
                return VerifyResult(False, count, expected_seq, "缺失（记录被删除或序号被改动）")
            if r["prev_hash"] != prev_hash:
                return VerifyResult(False, count, r["seq"], "与前一条记录的链接不符（前一条被改动或删除）")
            data = dict(r)
            if _entry_digest(data) != r["hash"]:
                return VerifyResult(False, count, r["seq"], "内容与其哈希不符（记录被改动）")
            prev_hash = r["hash"]
            expected_seq += 1
            count += 1
            last_id = r["seq"]
    head = db.session.get(AuditHead, 1)
    head_seq = head.last_seq if head else 0
    head_hash = head.last_hash if head else GENESIS_HASH
    if head_seq != count or head_hash != prev_hash:
        return VerifyResult(False, count, last_id + 1, "之后的记录缺失（链尾被截断）")
    return VerifyResult(True, count)


def entries_for(obj_type: str, obj_id: Any) -> list[AuditEntry]:
    return list(db.session.scalars(
        select(AuditEntry).where(AuditEntry.object_type == obj_type, AuditEntry.object_id == str(obj_id))
        .order_by(AuditEntry.seq)
    ))
