"""Browser tests: Playwright drives Debian's Chromium against the app served on a local port."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


@pytest.fixture(scope="session")
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"Chromium not found at {CHROMIUM}: `make test` installs Debian's chromium package")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def demo(app, appctx, tmp_path, monkeypatch):
    """The demo data (``flask seed-demo``), its stored files under ``tmp_path``."""
    monkeypatch.setitem(app.config, "UPLOAD_ROOT", str(tmp_path / "uploads"))
    app.extensions.pop("exchange_storage", None)
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    yield
    app.extensions.pop("exchange_storage", None)


@pytest.fixture
def page(browser, appctx):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(15000)
    yield pg
    context.close()


@pytest.fixture
def phone(browser, appctx):
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True, device_scale_factor=2)
    pg = context.new_page()
    pg.set_default_timeout(15000)
    yield pg
    context.close()


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}-{os.environ.get('EXCHANGE_TEST_DB', 'sqlite')}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(pg, base, username, password=None):
    from exchange.demo import DEMO_PASSWORD
    pg.goto(base + "/login")
    pg.fill("input[name=username]", username)
    pg.fill("input[name=password]", password or DEMO_PASSWORD)
    pg.click("form:not([action='/logout']) button[type=submit]")
    pg.wait_for_url("**/work")


def sign_out(pg):
    pg.click("form[action='/logout'] button")


def save_step(pg):
    pg.click("button:has-text('保存并下一步')")
    pg.wait_for_load_state()


def upload_materials(pg, labels, path) -> None:
    """Upload the file at ``path`` once for each material type label, through the page's form."""
    for label in labels:
        pg.select_option("select[name=kind]", label=label)
        pg.set_input_files("input[name=file]", str(path))
        pg.click("button:has-text('上传')")
        pg.wait_for_load_state()
