"""Helpers for tests: fetch CSRF tokens like a browser, sign in, post forms, API tokens; the text of a PDF;
requests at the same instant; walking every mutating route of the application."""
from __future__ import annotations

import re
import subprocess
import threading

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def csrf_from(html: str) -> str:
    m = CSRF_RE.search(html)
    assert m, "page has no csrf_token field"
    return m.group(1) or m.group(2)


def get_csrf(client, url: str = "/login") -> str:
    resp = client.get(url)
    return csrf_from(resp.get_data(as_text=True))


def login(client, username: str, password: str, follow: bool = False):
    token = get_csrf(client, "/login")
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                       follow_redirects=follow)


def post_form(client, url: str, data: dict, *, page: str | None = None, follow: bool = False):
    """POST ``data`` to ``url`` with a CSRF token taken from ``page`` (default: ``url`` itself)."""
    token = get_csrf(client, page or url)
    return client.post(url, data={**data, "csrf_token": token}, follow_redirects=follow)


def api_csrf(client) -> str:
    return client.get("/api/v1/auth/csrf").get_json()["csrf_token"]


def api_login(client, username: str, password: str):
    token = api_csrf(client)
    return client.post("/api/v1/auth/login", json={"username": username, "password": password},
                       headers={"X-CSRFToken": token})


def text(resp) -> str:
    return resp.get_data(as_text=True)


def token_headers(db, users, key: str) -> dict:
    """The ``Authorization`` header of a fresh API token of ``users[key]`` (issued by the admin)."""
    from exchange.accounts.services import create_token
    _t, secret = create_token(users["admin"], users[key], f"t-{key}")
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


# --- documents ------------------------------------------------------------------------------------------------------

def pdf_text(data: bytes) -> str:
    """The text of a PDF as ``pdftotext -layout`` reads it (UTF-8)."""
    out = subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True,
                         check=True, timeout=60)
    return out.stdout.decode("utf-8")


def flat(s: str) -> str:
    """``s`` without any whitespace (PDF text breaks lines and pads columns)."""
    return "".join(s.split())


# --- concurrency ----------------------------------------------------------------------------------------------------

def run_at_once(n: int, work):
    """Run ``work(0)`` … ``work(n - 1)`` in ``n`` threads released together by a barrier; their results in order.
    An exception in any thread fails the test."""
    barrier = threading.Barrier(n)
    results, errors = [None] * n, []

    def one(i):
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 — the test client raises what the app did not handle
            errors.append(repr(exc))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    return results


# --- walking every mutating route of the application -----------------------------------------------------------------

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")

# Routes every signed-in account (or anyone) may use, whatever the role — each with the reason.  Kept short.
OPEN_TO_EVERYONE = {
    "accounts.login": "登录本身（未登录者使用）",
    "accounts.register": "公众注册账号（未登录者使用）",
    "accounts.logout": "退出自己的会话",
    "accounts.change_password": "修改自己的密码",
    "api_auth.login": "API 登录本身",
    "api_auth.logout": "API 退出自己的会话",
    "api_auth.register": "公众注册账号",
    "api_auth.change_password": "修改自己的密码",
    "notifications.read": "把自己的通知标为已读",
    "notifications.read_all": "把自己的通知全部标为已读",
    "api_notifications.mark_read": "把自己的通知标为已读",
    "publicity.file_objection": "交易公示期间任何人都可提出异议（公开表单）",
    "api_publicity.file_objection": "交易公示期间任何人都可提出异议（公开接口）",
    "certificates_public.verify": "公开核验鉴证书（上传 PDF 比对哈希，不写入）",
    "payments.sandbox_bank": "模拟网银页面（演示和测试用的“银行”，凭订单号）",
    "panel.sheet": "评标专家在手机上打分（凭评分条上的链接和密码，专家没有平台账号）",
    "panel.leave": "评标专家退出自己的评分表（凭评分条上的链接）",
    "api_payment_callbacks.provider_callback": "支付机构回调（凭签名认证，不是用户操作）",
}


def write_rules(app):
    """Every (URL rule, method) of the app's FULL url map that may change something, sorted by path."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static":
            continue
        for method in WRITE_METHODS:
            if method in rule.methods:
                yield rule, method


def rule_url(rule, ids: dict) -> str:
    """The URL of ``rule`` with its parameters taken from ``ids`` (else 1)."""
    values = {}
    for name in rule.arguments:
        conv = rule._converters[name].__class__.__name__
        default = 1 if conv in ("IntegerConverter", "NumberConverter") else "1"
        values[name] = ids.get(name, default)
    return rule.build(values, append_unknown=False)[1]


def fingerprint(db) -> tuple:
    """The audit head and, for every table, its row count, its rows per state and the sum of its versions."""
    from sqlalchemy import text as sql
    parts = ["SELECT 'audit_head', last_seq, last_hash FROM audit_head"]
    for table in db.metadata.sorted_tables:
        cols = table.c
        name = table.name
        parts.append(f"SELECT '{name}:rows', COUNT(*), '' FROM \"{name}\"")
        if "state" in cols:
            parts.append(f"SELECT '{name}:state:' || COALESCE(CAST(state AS VARCHAR(40)), ''), COUNT(*), '' "
                         f"FROM \"{name}\" GROUP BY state")
        if "version" in cols:
            parts.append(f"SELECT '{name}:version', COALESCE(SUM(version), 0), '' FROM \"{name}\"")
    rows = db.session.execute(sql(" UNION ALL ".join(parts))).all()
    db.session.rollback()
    return tuple(sorted((str(a), int(b or 0), str(c)) for a, b, c in rows))


# --- the output of `flask simulate` ---------------------------------------------------------------------------------

SIMULATED_CERTIFICATE = re.compile(r"^鉴证书 (临农交鉴〔\d{4}〕第\d{6}号) ([0-9a-f]{64})$")  # its last line
SIMULATED_STAGE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2} \S")  # every line before: a stage at its instant
