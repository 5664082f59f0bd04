"""gunicorn.conf.py (issue 14, item 17): read the way gunicorn reads it, and a real server started with it keeps
answering while as many clients as it has worker processes hold half-sent requests (bare ``gunicorn -w N``
with sync workers hangs then until its worker timeout kills them)."""
import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from gunicorn.app.base import Application

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "gunicorn.conf.py"
ENV_KNOBS = ("GUNICORN_", "WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS", "GUNICORN_CMD_ARGS")


class _ConfOnly(Application):
    """gunicorn's own loader, given only the file (what ``gunicorn -c gunicorn.conf.py`` does with it)."""

    def __init__(self, path):
        self.path = path
        super().__init__()

    def load_config(self):
        self.load_config_from_file(str(self.path))

    def load(self):  # pragma: no cover - never run
        raise AssertionError


@pytest.fixture
def clean_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith(ENV_KNOBS):
            monkeypatch.delenv(name)
    return monkeypatch


def test_conf_as_gunicorn_reads_it(clean_env):
    cfg = _ConfOnly(CONF).cfg
    assert cfg.worker_class_str == "gthread" and cfg.threads > 1
    assert 2 <= cfg.workers <= 8
    assert 30 <= cfg.timeout <= 120 and 10 <= cfg.graceful_timeout <= cfg.timeout
    assert 1 <= cfg.keepalive <= 30
    assert cfg.max_requests > 0 and 0 < cfg.max_requests_jitter < cfg.max_requests
    assert cfg.preload_app is False  # the sweeper must start in the workers, not in the master (see the file)
    assert cfg.bind == ["127.0.0.1:8000"] and "127.0.0.1" in cfg.forwarded_allow_ips
    assert "%(M)s" in cfg.access_log_format


def test_conf_follows_the_environment(clean_env):
    for name, value in {"GUNICORN_WORKERS": "3", "GUNICORN_THREADS": "6", "GUNICORN_TIMEOUT": "90",
                        "GUNICORN_BIND": "0.0.0.0:9000,unix:/run/exchange.sock",
                        "FORWARDED_ALLOW_IPS": "10.0.0.0/8", "GUNICORN_ACCESSLOG": ""}.items():
        clean_env.setenv(name, value)
    cfg = _ConfOnly(CONF).cfg
    assert (cfg.workers, cfg.threads, cfg.timeout) == (3, 6, 90)
    assert cfg.bind == ["0.0.0.0:9000", "unix:/run/exchange.sock"]
    assert cfg.forwarded_allow_ips == ["10.0.0.0/8"] and cfg.accesslog is None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, path: str = "/", timeout: float = 20.0) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def test_slow_clients_do_not_stall_the_server(app, database_url, tmp_path):
    """As many half-sent requests as worker processes; a normal request still gets its answer (within 20 s, a
    bound only a stalled server misses: with sync workers it would wait for the 60 s worker timeout)."""
    workers = 2
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_KNOBS)}
    env.update(DATABASE_URL=database_url, SECRET_KEY="deploy-test", SCHEDULER="false", TRAINING_MODE="false",
               EXCHANGE_INSTANCE_DIR=str(tmp_path), PYTHONPATH=str(ROOT), GUNICORN_BIND=f"127.0.0.1:{port}",
               GUNICORN_WORKERS=str(workers), GUNICORN_ACCESSLOG="")
    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(CONF), "--no-control-socket",
                                   "wsgi:app"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    slow = []
    try:
        for _ in range(300):  # up to a minute on a busy machine
            assert server.poll() is None, log.read_text(errors="replace")[-3000:]
            try:
                if _get(port, timeout=5) == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("gunicorn did not answer: " + log.read_text(errors="replace")[-3000:])

        for _ in range(workers):  # each sends the start of a request and then nothing
            s = socket.create_connection(("127.0.0.1", port), timeout=20)
            s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow")
            slow.append(s)
        time.sleep(1)  # let the workers pick them up (a sync worker would now be stuck on each)

        for _ in range(3):
            assert _get(port) == 200
        # the slow clients were still there all along, and are served once they finish their requests
        for s in slow:
            s.sendall(b"\r\nConnection: close\r\n\r\n")
            assert s.recv(64).startswith(b"HTTP/1.1 200"), "a slow client's request was dropped"
    finally:
        for s in slow:
            s.close()
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:  # pragma: no cover
            server.kill()
            server.wait()
