"""Who is calling an open endpoint, and how often they may (Flask-Limiter).

* ``Authorization: Bearer lxod_…`` names a :class:`~exchange.opendata.models.DataToken`; a bad, revoked or
  expired token is a 401 — never silently treated as anonymous.  No header: anonymous, limited per client IP.
* One shared moving-window limit (no burst or reset at a minute boundary) over every ``/api/v1/open/`` endpoint: per token its ``per_minute``, anonymous
  ``OPEN_DATA_ANON_LIMIT`` (default ``60/minute``).  Over it: 429 with ``Retry-After``.
* The counters live in ``RATELIMIT_STORAGE_URI``: ``memory://`` (one process; the default) or ``redis://host:6379``
  (several gunicorn workers or machines share one count).  Rate limiting measures real elapsed time, not the
  business clock of :mod:`exchange.clock` (a frozen or accelerated training clock must not freeze the limits).
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
DEFAULT_ANON_LIMIT = "60/minute"
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


def anonymous_limit() -> str:
    return current_app.config.get("OPEN_DATA_ANON_LIMIT") or DEFAULT_ANON_LIMIT


def _limit_value() -> str:
    token = client()
    return f"{token.per_minute}/minute" if token is not None else anonymous_limit()


def _key() -> str:
    token = client()
    return f"token:{token.id}" if token is not None else f"ip:{request.remote_addr or 'unknown'}"


def limiter_of(app: Flask) -> Limiter | None:
    return app.extensions.get(EXTENSION)


def init_app(app: Flask) -> None:
    """One limiter per application, limiting only the open-data API blueprint."""
    from exchange.api.opendata import blp
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    limiter = Limiter(key_func=_key, default_limits=[], headers_enabled=False, strategy="moving-window",
                      key_prefix="lxod")
    limiter.shared_limit(_limit_value, scope=SCOPE)(blp)
    limiter.init_app(app)
    app.extensions[EXTENSION] = limiter


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
