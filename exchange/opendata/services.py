"""Open data and sharing (gov-data-rules 第十一、十七、二十五、二十六条; DESIGN §3.10).

* The public representation of a listing (its announcement) and of a deal (its result) is built here, and only
  here, from an explicit allow-list of fields.  Natural persons appear masked (``张*``); their ID numbers, phones,
  bank accounts, agents, addresses and the contents of their materials never appear at all.  Organisations' names
  stay (legal entities are public).  The rules are those of the public pages (``exchange/trading/documents.py``,
  ``/projects``, ``/publicity``): nothing here shows more than they do.  A procurement project's own part (terms,
  开标 record, 中标候选人, winner) is :mod:`exchange.opendata.procurement`, by the same rules.
* The changes feed reads :class:`~exchange.opendata.models.OpenDataChange` in ``seq`` order.  ``seq`` is the
  audit chain's number, claimed under the audit head's lock and committed with it, so numbers become visible in
  order: a consumer that asks for ``seq > cursor`` never skips a change that commits later with a smaller number.
* Read tokens of government data consumers (:class:`~exchange.opendata.models.DataToken`): created and revoked by
  the admin (``datatokens.manage``), shown once, stored as SHA-256.

Services flush, never commit; the API and the pages commit.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from exchange import clock
from exchange.access import require
from exchange.accounts.models import User
from exchange.audit.models import AuditHead
from exchange.audit.services import record
from exchange.catalog.models import Category
from exchange.db import lock_row
from exchange.errors import ServiceError
from exchange.extensions import db
from exchange.idcheck import mask_name
from exchange.listings.models import Listing
from exchange.listings.rules import PRICE_MODES, TRADING_METHODS, TRANSFEROR_KINDS
from exchange.listings.workflow import PUBLIC_STATES, STATE_LABELS, TRANSITIONS, transitioned
from exchange.opendata.models import DataToken, OpenDataChange
from exchange.orgs.models import OrgUnit
from exchange.registrations.models import Registration
from exchange.trading.models import DEAL_STATES, METHOD_LABELS, Deal

# The deal states the public 交易公示 pages show (exchange/trading/public_views.py): a voided or defaulted deal is
# not public.
from exchange.trading.models import LIVE_DEAL_STATES as PUBLIC_DEAL_STATES  # noqa: E402  (one list)

DEFAULT_ANON_LIMIT = "60/minute"


def anonymous_limit() -> str:
    """The count per address of anonymous reads (open data, public listing and deal pages and API) — enforced by
    exchange/web/ratelimit.py, shown on the integration guide."""
    from flask import current_app
    return current_app.config.get("OPEN_DATA_ANON_LIMIT") or DEFAULT_ANON_LIMIT


@transitioned.connect
def _feed(listing: Listing, *, name: str, before: str, after: str, entry) -> None:
    """The open-data changes feed: a transition into, out of or within the public states is a change; its cursor is
    the transition's audit entry number (see :class:`~exchange.opendata.models.OpenDataChange`)."""
    if before in PUBLIC_STATES or after in PUBLIC_STATES:
        db.session.add(OpenDataChange(seq=entry.seq, listing_id=listing.id, kind=name, at=entry.at))


# Transferor kinds that are organisations (名称公开); anything else, including an unknown kind, is masked.
ORGANISATION_TRANSFERORS = ("collective", "enterprise", "other")

MAX_PER_PAGE = 100
FEED_MAX_LIMIT = 500
FEED_DEFAULT_LIMIT = 100
CURSOR_VERSION = "od1"


class OpenDataError(ServiceError):
    """Bad input to an open endpoint (a filter, a cursor, a page size)."""


class TokenError(ServiceError):
    """A data token that cannot be used: ``reason`` is malformed / unknown / revoked / expired."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


# --- the public representation (the allow-list) ---------------------------------------------------------------

def _is_person(user) -> bool:
    party = getattr(user, "party", None) if user is not None else None
    return party is None or party.kind == "person"  # unknown: a person (mask rather than leak)


def _party_name(user) -> str:
    party = getattr(user, "party", None) if user is not None else None
    if party is not None:
        return party.name or ""
    return getattr(user, "display_name", "") or ""


def transferee_public(deal: Deal) -> str:
    """The transferee as the public sees them (the rule of exchange/trading/documents.public_name)."""
    user = deal.registration.buyer if deal.registration is not None else None
    name = _party_name(user)
    return mask_name(name) if _is_person(user) else name


def transferor_public(listing: Listing) -> str:
    if listing.transferor_kind in ORGANISATION_TRANSFERORS:
        return listing.transferor_name or ""
    return mask_name(listing.transferor_name)


def _location(listing: Listing) -> dict:
    station, point = listing.station, listing.point
    return {
        "town": station.area_name if station else None,
        "town_code": station.code if station else None,
        "village": point.area_name if point else None,
        "village_code": point.code if point else None,
    }


def _listing_summary(listing: Listing) -> dict:
    """The fields a result repeats from its listing."""
    return {
        "project_no": listing.project_no,
        "title": listing.title,
        "category": listing.category.name,
        "category_code": listing.category.code,
        "transfer_method": listing.method.name,
        **_location(listing),
        "quantity": listing.quantity,
        "unit": listing.unit,
    }


def result_public(deal: Deal, *, with_listing: bool = True) -> dict:
    """A deal (成交结果) for open data: no buyer's contact, ID or account; a natural person masked."""
    out = {
        "deal_no": deal.deal_no,
        "state": deal.state,
        "state_label": DEAL_STATES.get(deal.state, deal.state),
        "method": deal.method,
        "method_label": METHOD_LABELS.get(deal.method, deal.method),
        "price": deal.price,
        "concluded_at": deal.concluded_at,
        "concluded_date": clock.to_local(deal.concluded_at).date() if deal.concluded_at else None,
        "publicity_end_at": deal.publicity_end_at,
        "transferee": transferee_public(deal),
        "transferee_kind": "person" if _is_person(deal.registration.buyer if deal.registration else None)
        else "organisation",
        "url": f"/deals/{deal.deal_no}",
    }
    if with_listing:
        listing = deal.listing
        out.update(_listing_summary(listing))
        out["floor_price"] = listing.floor_price if listing.show_floor_price else None
        out["transferor"] = transferor_public(listing)
    return out


def announcement_public(listing: Listing, deal: Deal | None = None) -> dict:
    """A published listing (挂牌公告) for open data, with its result when it has a public one.

    A listing that is not (or no longer) in a public state shows only its number and state."""
    if listing.state not in PUBLIC_STATES:
        return {"project_no": listing.project_no, "state": listing.state,
                "state_label": STATE_LABELS.get(listing.state, listing.state), "public": False, "result": None}
    show_floor = bool(listing.show_floor_price)
    return {
        "project_no": listing.project_no,
        "public": True,
        "title": listing.title,
        "state": listing.state,
        "state_label": STATE_LABELS[listing.state],
        "category": listing.category.name,
        "category_code": listing.category.code,
        "transfer_method": listing.method.name,
        **_location(listing),
        "quantity": listing.quantity,
        "unit": listing.unit,
        "current_use": listing.current_use or "",  # 利用现状 (第十四条(一))
        "term_start": listing.term_start,
        "term_end": listing.term_end,
        "price_mode": listing.price_mode,
        "price_mode_label": PRICE_MODES.get(listing.price_mode, ""),
        "floor_price_public": show_floor,
        "floor_price": listing.floor_price if show_floor else None,
        "floor_unit_price": listing.floor_unit_price if show_floor and listing.price_mode == "per_unit_year"
        else None,
        "deposit_amount": listing.deposit_amount,
        "trading_method": listing.trading_method,
        "trading_method_label": TRADING_METHODS.get(listing.trading_method, ""),
        "transferor_kind": listing.transferor_kind if listing.transferor_kind in TRANSFEROR_KINDS else None,
        "transferor_kind_label": TRANSFEROR_KINDS.get(listing.transferor_kind, ""),
        "transferor": transferor_public(listing),
        "published_at": listing.published_at,
        "announce_start_at": listing.announce_start_at,
        "announce_end_at": listing.announce_end_at,
        "announce_days": listing.announce_days,
        "deposit_deadline_at": listing.deposit_deadline_at,
        "url": f"/projects/{listing.project_no}",
        "result": result_public(deal, with_listing=False) if deal is not None else None,
        # a procurement project (招标/采购/招商): its terms, 开标 record, candidates and winner (opendata.procurement)
        "procurement": _procurement.procurement_public(listing) if listing.is_procurement else None,
    }


# --- loading ------------------------------------------------------------------------------------------------------

_LISTING_LOAD = (selectinload(Listing.category), selectinload(Listing.method), selectinload(Listing.station),
                 selectinload(Listing.point))
_DEAL_LOAD = (selectinload(Deal.registration).selectinload(Registration.buyer).selectinload(User.party),)


def _public_deals_of(listing_ids: list[int]) -> dict[int, Deal]:
    """The public deal of each listing (at most one live deal per listing)."""
    if not listing_ids:
        return {}
    deals = db.session.scalars(select(Deal).where(Deal.listing_id.in_(listing_ids),
                                                  Deal.state.in_(PUBLIC_DEAL_STATES))
                               .options(*_DEAL_LOAD).order_by(Deal.id)).all()
    return {d.listing_id: d for d in deals}  # the latest wins


# --- filters --------------------------------------------------------------------------------------------------------

@dataclass
class Filters:
    category: str | None = None
    town: str | None = None
    state: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    page: int = 1
    per_page: int = 20


@dataclass
class Page:
    items: list[dict]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _check_paging(f: Filters) -> None:
    if not isinstance(f.page, int) or f.page < 1 or f.page > 100000:
        raise OpenDataError("page 应为 1–100000 的整数。", field="page")
    if not isinstance(f.per_page, int) or not 1 <= f.per_page <= MAX_PER_PAGE:
        raise OpenDataError(f"per_page 应为 1–{MAX_PER_PAGE} 的整数。", field="per_page")


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _text(value: str | None, field: str, what: str) -> str:
    value = (value or "").strip()[:60]
    if _CONTROL.search(value):  # PostgreSQL refuses NUL in text; nobody's town has a control character
        raise OpenDataError(f"{what}参数含有不可见的控制字符，请检查。", field=field)
    return value


def _category(value: str) -> Category:
    value = _text(value, "category", "交易品种")
    cat = db.session.scalar(select(Category).where(or_(Category.code == value, Category.name == value)))
    if cat is None:
        raise OpenDataError(f"没有这个交易品种：{value}。请使用交易品种的代码（如 C01）或全称。", field="category")
    return cat


def _towns(value: str) -> list[int]:
    value = _text(value, "town", "镇（街道）")
    ids = list(db.session.scalars(select(OrgUnit.id).where(OrgUnit.kind == "station",
                                                           or_(OrgUnit.code == value, OrgUnit.area_name == value,
                                                               OrgUnit.name == value))))
    if not ids:
        raise OpenDataError(f"没有这个镇（街道）：{value}。请使用镇（街道）名称（如 江南镇）或交易站编码。",
                            field="town")
    return ids


def _period(f: Filters) -> tuple[datetime | None, datetime | None]:
    if f.date_from and f.date_to and f.date_from > f.date_to:
        raise OpenDataError("起始日期不能晚于截止日期。", field="date_from")
    start = clock.local_datetime(f.date_from) if f.date_from else None
    end = clock.local_datetime(f.date_to + timedelta(days=1)) if f.date_to else None
    return start, end


def announcements(f: Filters) -> Page:
    """Published listings, newest first (filters: category, town, state, published between two dates)."""
    _check_paging(f)
    if f.state is not None and f.state not in PUBLIC_STATES:
        raise OpenDataError("state 应为：" + "、".join(PUBLIC_STATES) + "。", field="state")
    conds = [Listing.state == f.state] if f.state else [Listing.state.in_(PUBLIC_STATES)]
    if f.category:
        conds.append(Listing.category_id == _category(f.category).id)
    if f.town:
        conds.append(Listing.station_id.in_(_towns(f.town)))
    start, end = _period(f)
    if start is not None:
        conds.append(Listing.published_at >= start)
    if end is not None:
        conds.append(Listing.published_at < end)
    total = db.session.scalar(select(func.count(Listing.id)).where(*conds)) or 0
    listings = db.session.scalars(select(Listing).where(*conds).options(*_LISTING_LOAD)
                                  .order_by(Listing.published_at.desc(), Listing.id.desc())
                                  .offset((f.page - 1) * f.per_page).limit(f.per_page)).all()
    deals = _public_deals_of([l.id for l in listings])
    return Page([announcement_public(l, deals.get(l.id)) for l in listings], total, f.page, f.per_page)


def announcement(project_no: str) -> dict | None:
    if not project_no or _CONTROL.search(project_no):
        return None
    listing = db.session.scalar(select(Listing).where(Listing.project_no == project_no[:30])
                                .options(*_LISTING_LOAD))
    if listing is None or listing.state not in PUBLIC_STATES:
        return None
    return announcement_public(listing, _public_deals_of([listing.id]).get(listing.id))


def results(f: Filters) -> Page:
    """Deals in 交易公示 or concluded, newest first (filters: category, town, state, concluded between dates)."""
    _check_paging(f)
    if f.state is not None and f.state not in PUBLIC_DEAL_STATES:
        raise OpenDataError("state 应为：" + "、".join(PUBLIC_DEAL_STATES) + "。", field="state")
    conds = [Deal.state == f.state] if f.state else [Deal.state.in_(PUBLIC_DEAL_STATES)]
    if f.category:
        conds.append(Listing.category_id == _category(f.category).id)
    if f.town:
        conds.append(Listing.station_id.in_(_towns(f.town)))
    start, end = _period(f)
    if start is not None:
        conds.append(Deal.concluded_at >= start)
    if end is not None:
        conds.append(Deal.concluded_at < end)
    base = select(Deal).join(Listing, Listing.id == Deal.listing_id).where(*conds)
    total = db.session.scalar(select(func.count(Deal.id)).join(Listing, Listing.id == Deal.listing_id)
                              .where(*conds)) or 0
    deals = db.session.scalars(base.options(*_DEAL_LOAD, selectinload(Deal.listing).options(*_LISTING_LOAD))
                               .order_by(Deal.concluded_at.desc(), Deal.id.desc())
                               .offset((f.page - 1) * f.per_page).limit(f.per_page)).all()
    return Page([result_public(d) for d in deals], total, f.page, f.per_page)


def result(deal_no: str) -> dict | None:
    if not deal_no or _CONTROL.search(deal_no):
        return None
    deal = db.session.scalar(select(Deal).where(Deal.deal_no == deal_no[:30]).options(*_DEAL_LOAD))
    if deal is None or deal.state not in PUBLIC_DEAL_STATES:
        return None
    return result_public(deal)


# --- the changes feed -----------------------------------------------------------------------------------------------

_CURSOR_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def encode_cursor(seq: int) -> str:
    """Opaque to consumers: the version tag and the audit sequence number, base64url without padding."""
    return base64.urlsafe_b64encode(f"{CURSOR_VERSION}:{int(seq)}".encode("ascii")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The sequence number in a cursor this platform issued; anything else is refused (never read as 0)."""
    if cursor is None or cursor == "":
        return 0
    bad = OpenDataError("游标（since）无效：请原样使用上一次响应中的 next_cursor；从头同步时不带 since 参数。",
                        field="since")
    if not _CURSOR_RE.match(cursor):
        raise bad
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad from None
    tag, _, number = raw.partition(":")
    if tag != CURSOR_VERSION or not number.isdigit() or len(number) > 18 or (len(number) > 1 and number[0] == "0"):
        raise bad
    seq = int(number)
    # every cursor this platform issued is at most the last committed audit number: one beyond it would silently
    # skip the changes still to come
    head = db.session.scalar(select(AuditHead.last_seq).where(AuditHead.id == 1)) or 0
    if seq > head:
        raise bad
    return seq


@dataclass
class ChangesPage:
    items: list[dict] = field(default_factory=list)
    next_cursor: str = ""
    has_more: bool = False
    since: int = 0
    last_seq: int = 0


def changes(cursor: str | None, limit: int = FEED_DEFAULT_LIMIT) -> ChangesPage:
    """The changes after ``cursor`` in ``seq`` order, at most ``limit`` of them; several changes of one listing
    within the page are given once, at its latest change, with the listing's current public representation."""
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= FEED_MAX_LIMIT:
        raise OpenDataError(f"limit 应为 1–{FEED_MAX_LIMIT} 的整数。", field="limit")
    since = decode_cursor(cursor)
    rows = db.session.execute(select(OpenDataChange.seq, OpenDataChange.listing_id, OpenDataChange.kind,
                                     OpenDataChange.at)
                              .where(OpenDataChange.seq > since).order_by(OpenDataChange.seq)
                              .limit(limit + 1)).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    latest: dict[int, tuple] = {}
    for row in rows:
        latest.pop(row.listing_id, None)
        latest[row.listing_id] = row  # re-inserted: dict order follows the latest change
    ids = list(latest)
    listings = {l.id: l for l in db.session.scalars(select(Listing).where(Listing.id.in_(ids))
                                                    .options(*_LISTING_LOAD))} if ids else {}
    deals = _public_deals_of(ids)
    items = []
    for listing_id, row in latest.items():
        listing = listings.get(listing_id)
        if listing is None:
            continue
        t = TRANSITIONS.get(row.kind)
        label = t.label if t else _procurement.CHANGE_KINDS.get(row.kind, row.kind)
        items.append({"seq": row.seq, "change": row.kind, "change_label": label,
                      "changed_at": row.at, "listing": announcement_public(listing, deals.get(listing_id))})
    last = rows[-1].seq if rows else since
    return ChangesPage(items=items, next_cursor=encode_cursor(last), has_more=has_more, since=since, last_seq=last)


# --- read tokens ---------------------------------------------------------------------------------------------------

TOKEN_PREFIX = "lxod_"
PER_MINUTE_MAX = 6000


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(actor, *, name: str, consumer: str, contact: str = "", per_minute: int | None = 600,
                 days: int | None = None) -> tuple[DataToken, str]:
    """A read token for a government data consumer; returns the row and the secret (shown once)."""
    require(actor, "datatokens.manage")
    name = (name or "").strip()
    consumer = (consumer or "").strip()
    contact = (contact or "").strip()
    if not name or len(name) > 80:
        raise OpenDataError("请填写对接系统名称（不超过 80 个字）。", field="name")
    if not consumer or len(consumer) > 120:
        raise OpenDataError("请填写使用单位（不超过 120 个字）。", field="consumer")
    if len(contact) > 120:
        raise OpenDataError("联系人和电话不超过 120 个字。", field="contact")
    if per_minute is None:
        per_minute = 600
    if isinstance(per_minute, bool) or not isinstance(per_minute, int) or not 1 <= per_minute <= PER_MINUTE_MAX:
        raise OpenDataError(f"每分钟请求上限应为 1–{PER_MINUTE_MAX} 次。", field="per_minute")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3660):
        raise OpenDataError("有效期应为 1–3660 天。", field="days")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = DataToken(name=name, consumer=consumer, contact=contact, prefix=secret[:12], token_hash=_digest(secret),
                      per_minute=per_minute, created_by_id=actor.id, created_at=clock.now(),
                      expires_at=(clock.now() + timedelta(days=days)) if days else None)
    db.session.add(token)
    db.session.flush()
    record("datatoken.create", f"发放开放数据访问令牌“{name}”（{consumer}，每分钟 {per_minute} 次）",
           obj_type="data_token", obj_id=token.id,
           after={"name": name, "consumer": consumer, "prefix": token.prefix, "per_minute": per_minute,
                  "expires_at": token.expires_at})
    return token, secret


def revoke_token(actor, token_id: int) -> DataToken:
    require(actor, "datatokens.manage")
    token = lock_row(db.session, DataToken, token_id)
    if token is None:
        raise OpenDataError("令牌不存在。")
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        token.revoked_by_id = actor.id
        db.session.flush()
        record("datatoken.revoke", f"吊销开放数据访问令牌“{token.name}”（{token.prefix}…）", obj_type="data_token",
               obj_id=token.id, before={"revoked": False}, after={"revoked": True})
    return token


def tokens() -> list[DataToken]:
    return list(db.session.scalars(select(DataToken).order_by(DataToken.id.desc())))


def authenticate(secret: str) -> DataToken:
    """The usable token for ``secret``; a refusal says why (never a silent fall back to anonymous)."""
    secret = (secret or "").strip()
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        if secret.startswith("lxt_"):
            raise TokenError("这是业务接口的账号令牌，开放数据接口请使用管理员发放的开放数据访问令牌（lxod_ 开头）。",
                             "unknown")
        raise TokenError("开放数据访问令牌无效。", "malformed")
    token = db.session.scalar(select(DataToken).where(DataToken.token_hash == _digest(secret)))
    if token is None:
        raise TokenError("开放数据访问令牌无效，请核对或向交易中心管理员申请。", "unknown")
    if token.revoked_at is not None:
        raise TokenError("该开放数据访问令牌已被吊销，请向交易中心管理员申请新令牌。", "revoked")
    if token.expires_at is not None and token.expires_at <= clock.now():
        raise TokenError("该开放数据访问令牌已过期，请向交易中心管理员申请新令牌。", "expired")
    return token


def touch(token: DataToken) -> bool:
    """Note the token's use, coarsely (a busy consumer does not write on every call); True when it changed."""
    now = clock.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        token.last_used_at = now
        return True
    return False


# a procurement project's public part (and its change in the feed when the winner is confirmed); at the bottom: it
# reads this module's masking rules
from exchange.opendata import procurement as _procurement  # noqa: E402
