"""Who is calling an open endpoint, and how often they may (Flask-Limiter).

* ``Authorization: Bearer lxod_…`` names a :class:`~exchange.opendata.models.DataToken`; a bad, revoked or
  expired token is a 401 — never silently treated as anonymous.  No header: anonymous, limited per client IP.
* One shared moving-window limit (no burst or reset at a minute boundary) over every ``/api/v1/open/`` endpoint: per token its ``per_minute``, anonymous
  ``OPEN_DATA_ANON_LIMIT`` (default ``60/minute``).  Over it: 429 with ``Retry-After``.
* The counters live in ``RATELIMIT_STORAGE_URI``: ``memory://`` (one process; the default) or ``redis://host:6379``
  (several gunicorn workers or machines share one count).  Rate limiting measures real elapsed time, not the
  business clock of :mod:`exchange.clock` (a frozen or accelerated training clock must not freeze the limits).

The same limiter holds the application's other limits of anonymous callers:

* **Anonymous reads of listings and deals** — the public API (``/api/v1/public/listings``, ``…/deals``) and the
  public pages (``/projects/``, a project, its announcement PDF, ``/publicity``, a deal) count in the *same*
  per-address window as the anonymous open-data endpoints: what ``/api/v1/open/announcements`` serves cannot be
  scraped without limit through another door.  Signed-in users are not counted (they are known and accountable).
* **Payment callbacks** — ``PAYMENT_CALLBACK_LIMIT`` (default ``120/minute``) per address on
  ``/api/v1/payments/callback/<provider>``; a bank sends far fewer.
"""
from __future__ import annotations

import math
import time

from flask import Flask, current_app, g, request
from flask_limiter import Limiter

from exchange.api.common import ApiError
from exchange.opendata import services as svc

EXTENSION = "opendata_limiter"
SCOPE = "open-data"
_UNSET = object()


def client():
    """The caller's usable token, or None for an anonymous caller (cached for the request)."""
    cached = g.get("open_data_client", _UNSET)
    if cached is not _UNSET:
        return cached
    header = request.headers.get("Authorization", "")
    token = None
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise ApiError(401, "invalid_token", "Authorization 请求头格式应为：Bearer <开放数据访问令牌>。"
                           "匿名访问请不要带 Authorization 请求头。")
        try:
            token = svc.authenticate(secret.strip())
        except svc.TokenError as exc:
            raise ApiError(401, "invalid_token", exc.message, reason=exc.reason) from None
    g.open_data_client = token
    return token


anonymous_limit = svc.anonymous_limit


def _limit_value() -> str:
    token = client()
    return f"{token.per_minute}/minute" if token is not None else anonymous_limit()


def _key() -> str:
    token = client()
    return f"token:{token.id}" if token is not None else f"ip:{request.remote_addr or 'unknown'}"


# the endpoints of anonymous listing and deal reads (pages and the public API), counted with the open-data endpoints
ANONYMOUS_READS = ("public.search", "public.project", "public.announcement_pdf", "publicity.index",
                   "publicity.deal", "api_listings.public_listings", "api_listings.public_listing",
                   "api_publicity.public_deals", "api_publicity.public_deal",
                   # a procurement project's public 开标 record and what it publishes (issue 18)
                   "procurement.opening", "procurement.opened_document", "procurement.sealed_document",
                   "procurement.opened_file",
                   # the public procurement reads of the API (the same representation as the open data's)
                   "api_procurement.list_projects", "api_procurement.get_project")
CALLBACK_SCOPE = "payment-callback"
CALLBACK_ENDPOINT = "api_payment_callbacks.provider_callback"
DEFAULT_CALLBACK_LIMIT = "120/minute"


def _address_key() -> str:
    return f"ip:{request.remote_addr or 'unknown'}"


def _signed_in() -> bool:
    from flask_login import current_user
    return bool(getattr(current_user, "is_authenticated", False))


def callback_limit() -> str:
    return current_app.config.get("PAYMENT_CALLBACK_LIMIT") or DEFAULT_CALLBACK_LIMIT


def limiter_of(app: Flask) -> Limiter | None:
    return app.extensions.get(EXTENSION)


def init_app(app: Flask) -> None:
    """One limiter per application, limiting only the open-data API blueprint."""
    from exchange.api.opendata import blp
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    limiter = Limiter(key_func=_key, default_limits=[], headers_enabled=False, strategy="moving-window",
                      key_prefix="lxod")
    limiter.shared_limit(_limit_value, scope=SCOPE)(blp)
    # anonymous listing reads: the same scope, key and limit as an anonymous open-data call, so one count
    reads = limiter.shared_limit(anonymous_limit, scope=SCOPE, key_func=_address_key, exempt_when=_signed_in)
    for endpoint in ANONYMOUS_READS:
        app.view_functions[endpoint] = reads(app.view_functions[endpoint])
    app.view_functions[CALLBACK_ENDPOINT] = limiter.limit(callback_limit, key_func=_address_key,
                                                         scope=CALLBACK_SCOPE)(app.view_functions[CALLBACK_ENDPOINT])
    limiter.init_app(app)
    app.extensions[EXTENSION] = limiter
    app.register_error_handler(429, too_many)
    app.after_request(_limited_headers)


def _limited_headers(response):
    if request.endpoint in ANONYMOUS_READS or request.endpoint == CALLBACK_ENDPOINT:
        return rate_headers(response)
    return response


def too_many(exc):
    """429 in Chinese, with Retry-After: JSON under /api/, the error page elsewhere."""
    from exchange.extensions import db
    db.session.rollback()
    limiter = limiter_of(current_app)
    current = limiter.current_limit if limiter is not None else None
    wait = retry_after(current) if current is not None else 60
    headers = {"Retry-After": str(wait)}
    token = client() if request.path.startswith("/api/v1/open/") else None
    if request.endpoint == CALLBACK_ENDPOINT:
        message = f"回调过于频繁，请 {wait} 秒后再试。"
    elif token is not None:
        message = f"请求过于频繁：该令牌每分钟最多 {token.per_minute} 次，请 {wait} 秒后再试。"
    else:
        message = (f"请求过于频繁：匿名访问每分钟最多 {anonymous_limit().split('/')[0]} 次（按 IP 计，项目公告、"
                   f"成交公示和开放数据合计），请 {wait} 秒后再试；登录后浏览不受此限制，"
                   f"政务数据平台请向交易中心申请开放数据访问令牌。")
    if request.path.startswith("/api/"):
        return {"error": "too_many_requests", "message": message, "retry_after": wait}, 429, headers
    from flask import render_template
    return render_template("errors/generic.html", code=429, title="访问过于频繁", message=message), 429, headers


def rate_headers(response):
    """X-RateLimit-* on every open response, Retry-After (whole seconds, at least 1) on a 429."""
    limiter = limiter_of(current_app)
    current = limiter.current_limit if limiter is not None else None
    if current is None:
        return response
    try:
        reset_at = current.reset_at
        response.headers["X-RateLimit-Limit"] = str(current.limit.amount)
        response.headers["X-RateLimit-Remaining"] = str(max(0, current.remaining))
        response.headers["X-RateLimit-Reset"] = str(int(reset_at))
        if response.status_code == 429:
            response.headers["Retry-After"] = str(retry_after(current))
    except Exception:  # noqa: BLE001 — a storage hiccup must not turn a good answer into a 500
        current_app.logger.exception("rate limit headers")
    return response


def retry_after_seconds(reset_at: float, window: int | None = None) -> int:
    """Whole seconds until the window ends: at least 1, at most the window (the store rounds its reset up)."""
    # the store's reset is real (Unix) time, so it is compared with real time, not exchange.clock: a frozen or
    # accelerated training clock must not freeze or speed up the limits
    wait = max(1, math.ceil(reset_at - time.time()))
    return min(wait, window) if window else wait


def retry_after(current) -> int:
    return retry_after_seconds(current.reset_at, current.limit.get_expiry())
