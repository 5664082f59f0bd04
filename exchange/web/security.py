"""Cross-cutting web concerns: sign-in sessions, idle timeout, security headers, error pages,
template globals (menu, training banner, server time) and Jinja filters."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import Flask, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, logout_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError

from exchange import clock, labels
from exchange.access import ACTIONS, AccessDenied, can
from exchange.db import unique_violation
from exchange.errors import duplicate_message
from exchange.extensions import db, login_manager
from exchange.tradingrules.services import value as trading_rule
from exchange.workdays.display import fmt_dt, fmt_due, fmt_lastday  # noqa: F401  (Jinja filters; kept importable here)

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
       "form-action 'self'; frame-ancestors 'none'")


@dataclass
class NavItem:
    url: str
    label: str
    active: bool = False
    children: list[NavItem] = field(default_factory=list)  # a group of the staff menu (业务 / 资金 / 监管 / 系统)


# The staff menu in groups, each (group, [(endpoint, label, action the user must be allowed)]); the group's
# label None: its items stand alone.  One line at 1366 px whatever the role (issue 17).
MENU = [
    (None, [("web.work", "我的工作台", "work.view")]),
    ("业务", [
        ("listings.index", "挂牌项目", "listings.view"),
        ("registrations.index", "意向受让登记", "listings.view"),
        ("trading.index", "组织交易", "trading.view"),
        ("contracts.index", "合同签订", "contracts.manage"),
        ("disputes.index", "纠纷调解", "disputes.view"),
        ("conduct.index", "禁止行为认定", "conduct.view"),
    ]),
    ("资金", [
        ("settlement.index", "资金结算", "settlement.manage"),
        ("payments.statements", "银行流水对账", "ledger.view"),
        ("ledger.refunds", "保证金退款", "ledger.view"),
        ("ledger.ledger", "资金台账", "ledger.view"),
    ]),
    ("监管", [
        ("supervision.dashboard", "统计监督", "stats.view"),
        ("alerts.index", "监督预警", "alerts.view"),
        ("audit.index", "审计日志", "audit.view"),
    ]),
    ("系统", [
        ("admin.orgs", "组织机构", "orgs.manage"),
        ("admin.users", "用户管理", "users.manage"),
        ("admin.catalog", "交易品种", "catalog.manage"),
        ("experts.index", "专家库", "experts.view"),
        ("settlement.fees", "收费标准", "fees.manage"),
        ("workdays.calendar", "工作日历", "calendar.view"),
        ("admin.trading_rules", "交易规则设置", "rules.manage"),
        ("admin.center_account", "收款账户", "orgs.manage"),
        ("admin.tokens", "API 令牌", "tokens.manage"),
        ("opendata.tokens", "开放数据令牌", "datatokens.manage"),
    ]),
]
# up to this many entries of their own, a person's menu stays flat (a village clerk's, a buyer's): no groups to open
FLAT_MENU_MAX = 4


def _allowed(action: str) -> bool:
    return can(current_user, action, current_user.org_unit if ACTIONS[action].scoped else None) or (
        action == "listings.view" and current_user.role == "public")


def _is_current(url: str) -> bool:
    return request.path == url or (url != "/" and request.path.startswith(url.rstrip("/") + "/"))


def nav_items() -> list[NavItem]:
    search = url_for("public.search")
    items = [NavItem(search, "交易项目", request.path.startswith(search))]
    publicity = url_for("publicity.index")
    items.append(NavItem(publicity, "交易公示", request.path.startswith(publicity) or request.path.startswith("/deals/")))
    rules = url_for("web.rules")
    items.append(NavItem(rules, "交易规则", request.path == rules))
    if not current_user.is_authenticated:
        return items
    groups: list[tuple[str | None, list[NavItem]]] = []
    for group, entries in MENU:
        mine = []
        for endpoint, label, action in entries:
            if not _allowed(action):
                continue
            url = url_for(endpoint)
            if endpoint == "listings.index" and current_user.role == "public":
                label = "我的转出申请"
            if endpoint == "registrations.index" and current_user.role == "public":
                label = "我的报名"
            mine.append(NavItem(url, label, _is_current(url)))
        if mine:
            groups.append((group, mine))
    own = [item for _, mine in groups for item in mine]
    active = [i for i in items + own if i.active]
    if len(active) > 1:  # nested sections (/supervision/ and /supervision/alerts/): the deepest one is current
        deepest = max(active, key=lambda i: len(i.url))
        for item in active:
            item.active = item is deepest
    if len(own) <= FLAT_MENU_MAX + 1:  # 我的工作台 and a few: one flat line
        return items + own
    for group, mine in groups:
        if group is None or len(mine) == 1:
            items += mine
        else:
            items.append(NavItem("", group, any(i.active for i in mine), mine))
    return items


def _form_page() -> str:
    """The page of the form just sent (to go back to after signing in): the same-site page it was sent from, else
    the address it was sent to."""
    from urllib.parse import urlsplit
    ref = request.referrer or ""
    if ref.startswith(request.host_url):
        parts = urlsplit(ref)
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return request.path


def _needs_sign_in(view) -> bool:
    """Whether a view is behind Flask-Login's ``login_required`` (anywhere in its chain of decorators): only such a
    form, sent without a session, was sent by someone whose sign-in was lost; a public form (an objection to a deal,
    the registration form) was never signed in."""
    from flask_login import login_required
    marker = login_required(lambda: None).__code__
    while view is not None:
        if getattr(view, "__code__", None) is marker:
            return True
        view = getattr(view, "__wrapped__", None)
    return False


def init_app(app: Flask) -> None:
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "请先登录。"
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def _load(session_id: str):
        from exchange.accounts.services import load_session_user
        return load_session_user(session_id)

    @app.before_request
    def _idle_timeout():
        g.request_started = clock.now()
        if request.endpoint == "static" or not current_user.is_authenticated:
            return None
        if getattr(g, "api_token_auth", False):
            return None
        limit = app.config["STAFF_IDLE_MINUTES"] if current_user.is_staff else app.config["PUBLIC_IDLE_MINUTES"]
        now = clock.now()
        last = session.get("last_seen")
        if last is not None:
            try:
                last_dt = datetime.fromisoformat(last)
            except (TypeError, ValueError):
                last_dt = None
            if last_dt is None or now - last_dt > timedelta(minutes=limit):
                logout_user()
                session.clear()
                if request.path.startswith("/api/"):
                    return None  # the API answers 401 on its own
                if request.method == "GET":
                    flash(f"您已超过 {limit} 分钟未操作，为保障账号安全已自动退出，请重新登录。", "warning")
                    return redirect(url_for("accounts.login", next=request.full_path))
                # a form sent after the timeout: nothing saved; back to the form after signing in, where the
                # browser fills in again what was typed (static/js/app.js, forms marked data-keep)
                flash(f"您已超过 {limit} 分钟未操作，为保障账号安全已自动退出，刚才的内容还没有保存。请重新登录，"
                      "登录后回到原来的页面，已填写的内容会自动填回。", "warning")
                return redirect(url_for("accounts.login", next=_form_page()))
        session["last_seen"] = now.isoformat()
        # a password the admin reset must be changed before anything else
        if (current_user.must_change_password and request.endpoint not in
                {"accounts.change_password", "accounts.logout", "static"} and not request.path.startswith("/api/")):
            flash("为保障账号安全，请先修改初始密码。", "warning")
            return redirect(url_for("accounts.change_password"))
        return None

    @app.after_request
    def _headers(resp):
        resp.headers.setdefault("Content-Security-Policy", CSP)
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "same-origin"
        resp.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        resp.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if app.config.get("SESSION_COOKIE_SECURE"):
            resp.headers["Strict-Transport-Security"] = "max-age=31536000"
        if request.endpoint != "static" and (current_user.is_authenticated or request.path.startswith("/api/")
                                             or request.method != "GET"):
            if "no-store" not in resp.headers.get("Cache-Control", ""):
                resp.headers["Cache-Control"] = "no-store"
            resp.headers["Pragma"] = "no-cache"
        return resp

    @app.context_processor
    def _globals():
        return {
            "nav_items": nav_items() if request else [],
            "training_mode": app.config.get("TRAINING_MODE", False),
            "training_now": fmt_dt(clock.now()),
            "server_now": fmt_dt(clock.now()),
            "can": lambda action, org=None: can(current_user, action, org),
            # a center rule's value now (exchange/tradingrules), for the texts that state it: trading_rule("…")
            "trading_rule": trading_rule,
        }

    app.jinja_env.filters["dt"] = fmt_dt
    # a code's Chinese name (exchange.labels): {{ e.action|label("action") }}, {{ u.role|label("role") }}
    app.jinja_env.filters["label"] = lambda code, kind: labels.label(kind, code)
    app.jinja_env.globals["audit_object"] = labels.audit_object
    app.jinja_env.filters["num"] = lambda v: "" if v is None else (
        format(v.normalize(), "f") if hasattr(v, "normalize") else str(v))
    # a deadline stored as the instant the period ends (local midnight) shown as its last day
    app.jinja_env.filters["lastday"] = fmt_lastday
    app.jinja_env.filters["due"] = fmt_due
    app.jinja_env.filters["date"] = lambda v: fmt_dt(v, "%Y-%m-%d") if isinstance(v, datetime) else (
        v.strftime("%Y-%m-%d") if v else "")

    from exchange.money import format_yuan, to_chinese_upper
    app.jinja_env.filters["yuan"] = lambda v: "" if v is None else format_yuan(v)
    app.jinja_env.filters["daxie"] = lambda v: "" if v is None else to_chinese_upper(v)

    def _wants_json() -> bool:
        return request.path.startswith("/api/")

    def _error(code: int, title: str, message: str, error: str):
        db.session.rollback()
        if _wants_json():
            return {"error": error, "message": message}, code
        template = f"errors/{code}.html" if code in (400, 403, 404, 500) else "errors/generic.html"
        return render_template(template, code=code, title=title, message=message), code

    @app.errorhandler(AccessDenied)
    def _denied(exc: AccessDenied):
        return _error(403, "无权访问", exc.message, "forbidden")

    @app.errorhandler(CSRFError)
    def _csrf(exc):
        """A form sent with a stale token never acts; what was typed is kept (issue 17 item 6): signed out, to sign in
        and back to the form; signed in, the form shown again with the typed values (pages that can), else a page
        that says so and leads back, where the browser fills the typed text in again (static/js/app.js)."""
        from exchange.errors import (CSRF_EXPIRED_MESSAGE, CSRF_REDISPLAY_MESSAGE, CSRF_SIGNED_OUT_MESSAGE,
                                     REDISPLAY_ON_CSRF)
        if _wants_json() or request.method in ("GET", "HEAD"):
            return _error(400, "请求有误", "页面已过期或来源无法验证，请刷新页面后重试。", "csrf_failed")
        db.session.rollback()
        carried = (getattr(exc, "description", "") or "") != "The CSRF token is missing."  # a form of this site's
        if (not current_user.is_authenticated and carried
                and _needs_sign_in(app.view_functions.get(request.endpoint or ""))):
            flash(CSRF_SIGNED_OUT_MESSAGE, "warning")
            return redirect(url_for("accounts.login", next=_form_page()))
        if request.endpoint in REDISPLAY_ON_CSRF:
            g.csrf_failed = CSRF_REDISPLAY_MESSAGE
            return app.view_functions[request.endpoint](**(request.view_args or {}))
        return _error(400, "页面已过期", CSRF_EXPIRED_MESSAGE, "csrf_failed")

    @app.errorhandler(400)
    def _400(exc):
        return _error(400, "请求有误", getattr(exc, "description", None) or "请求内容有误。", "bad_request")

    @app.errorhandler(403)
    def _403(exc):
        return _error(403, "无权访问", "您没有权限访问此页面或执行此操作。", "forbidden")

    @app.errorhandler(404)
    def _404(exc):
        return _error(404, "页面不存在", "您访问的页面不存在或已被移除。", "not_found")

    @app.errorhandler(405)
    def _405(exc):
        return _error(405, "请求方式不正确", "该地址不支持此请求方式。", "method_not_allowed")

    @app.errorhandler(413)
    def _413(exc):
        return _error(413, "文件过大", f"上传的内容超过了 {app.config['MAX_UPLOAD_MB']} MB 的限制。",
                      "payload_too_large")

    @app.errorhandler(IntegrityError)
    def _integrity(exc: IntegrityError):
        """A unique key refused a row another request created a moment before (two clicks, two buyers at once):
        409 with what already exists, on pages and in the API alike.  Any other integrity error is a bug."""
        constraint = unique_violation(exc)
        if constraint is None:
            raise exc
        return _error(409, "数据冲突", duplicate_message(constraint), "conflict")

    @app.errorhandler(500)
    def _500(exc):
        return _error(500, "系统繁忙", "服务器出现了问题，我们已记录。请稍后重试；如急需办理，请致电交易中心。",
                      "internal_error")
