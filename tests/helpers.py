"""HTTP helpers for tests: fetch CSRF tokens like a browser, sign in, post forms."""
from __future__ import annotations

import re

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
