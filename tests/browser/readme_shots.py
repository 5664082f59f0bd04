"""The README's screenshots (``make screenshots``): the demo of ``make run`` — two years of history, today's queues
and a bidding session about to start — seeded into a scratch instance directory, served on a free port, and the
main pages photographed in Chromium as each person meets them (phones for the clerk, the buyer and the visitor;
1366 px for center staff), into ``static/screenshots/``.

Not a test: run it after a change of a main page and look at the pictures before committing them.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "static" / "screenshots"
PY = sys.executable
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 1}
DESKTOP = {"viewport": {"width": 1366, "height": 768}, "device_scale_factor": 1}


def flask(env: dict, *args: str) -> str:
    out = subprocess.run([PY, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True)
    return out.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ids(env: dict) -> dict:
    """What the pages to photograph are: read from the seeded database."""
    code = (
        "from wsgi import app\n"
        "from sqlalchemy import select\n"
        "from exchange.extensions import db\n"
        "from exchange.certificates.models import Certificate\n"
        "from exchange.registrations.models import Registration\n"
        "from exchange.trading.models import BiddingSession\n"
        "with app.app_context():\n"
        "    s = db.session.scalars(select(BiddingSession).order_by(BiddingSession.id.desc())).first()\n"
        "    r = db.session.scalars(select(Registration).where(Registration.state == 'applied')"
        ".order_by(Registration.id)).first()\n"
        "    c = db.session.scalars(select(Certificate).order_by(Certificate.id.desc())).first()\n"
        "    print(s.id, r.id, f'{c.year}-{c.seq:06d}')\n")
    session_id, reg_id, number = subprocess.run([PY, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True,
                                                text=True).stdout.split()
    return {"session": session_id, "registration": reg_id, "certificate": number}


def main() -> None:
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import sign_in
    work = Path(tempfile.mkdtemp(prefix="screenshots-"))
    env = {**os.environ, "EXCHANGE_INSTANCE_DIR": str(work), "DATABASE_URL": f"sqlite:///{work}/demo.db",
           "FLASK_DEBUG": "0"}
    print("seeding the demo into", work)
    flask(env, "db", "upgrade")
    flask(env, "certificates", "init-key", "--if-missing")
    flask(env, "seed-demo", "--history")
    found = ids(env)
    port = free_port()
    server = subprocess.Popen([PY, "-m", "flask", "--app", "wsgi", "run", "--port", str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    OUT.mkdir(parents=True, exist_ok=True)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True)

            def take(name: str, size: dict, path: str, user: str | None = None, height: int = 0) -> None:
                """``height``: photograph the page's top ``height`` CSS px instead of one screen."""
                ctx = browser.new_context(locale="zh-CN", **size)
                pg = ctx.new_page()
                if user:
                    sign_in(pg, base, user)
                pg.goto(base + path)
                pg.wait_for_load_state("networkidle")
                clip = {"x": 0, "y": 0, "width": size["viewport"]["width"], "height": height} if height else None
                pg.screenshot(path=str(OUT / f"{name}.png"), full_page=bool(height), clip=clip)
                ctx.close()
                print("  ", name, path)

            take("home-phone", PHONE, "/")
            take("clerk-work-phone", PHONE, "/work", "cun_jiangnan_1")
            take("bidding-room-phone", PHONE, f"/trading/sessions/{found['session']}", "buyer_person")
            take("reviewer-registration", DESKTOP, f"/registrations/{found['registration']}", "shenhe", height=1100)
            take("supervisor-dashboard", DESKTOP, "/supervision/", "jianguan", height=1900)
            take("certificate-verify-phone", PHONE, f"/verify/{found['certificate']}")
            browser.close()
    finally:
        server.terminate()
        server.wait(10)
    print("written to", OUT)


if __name__ == "__main__":
    main()
