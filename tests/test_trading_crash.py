"""A worker process killed in the middle of a busy session: after gunicorn restarts it, every bid the
bidders were told was accepted is in the database, nothing else is, and the session ends correctly."""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from exchange import clock
from exchange.trading import services as tsvc
from exchange.trading.models import BiddingSession
from tests.builders import pay, to_trading

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.concurrency, pytest.mark.usefixtures("uploads")]


# a worker killed mid-request: the connection drops, or the answer is cut short
RETRYABLE = (OSError, http.client.HTTPException, ValueError)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(url, token, body=None, timeout=5.0):
    req = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                                 method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _workers(master_pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master_pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]


def test_killed_worker_loses_no_accepted_bid(app, database_url, buyers, announced, db, tmp_path):
    from exchange.accounts.services import create_token
    regs = pay(buyers, announced, ["buyer", "buyer_org"])
    db.session.commit()
    listing = to_trading(announced)
    clock.reset()  # the server runs on the real clock
    s = tsvc.schedule_online(buyers["trading_officer"], listing, starts_at=clock.now() + timedelta(seconds=1),
                             free_minutes=30, countdown_seconds=60, max_extension_minutes=10, max_steps=5)
    tokens = [create_token(buyers["admin"], buyers[k], f"crash-{k}")[1] for k in ("buyer", "buyer_org")]
    db.session.commit()
    sid = s.id

    port = _free_port()
    env = dict(os.environ, DATABASE_URL=database_url, SECRET_KEY="crash-test", SCHEDULER="false",
               EXCHANGE_INSTANCE_DIR=str(tmp_path), PYTHONPATH=str(ROOT))
    master = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}",
                               "--graceful-timeout", "1", "wsgi:app"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/api/v1/sessions/{sid}"
    acknowledged, errors, stop = [], [], threading.Event()
    try:
        for _ in range(100):
            try:
                if _call(base + "/state", tokens[0])[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not start")
        time.sleep(1.1)  # the session opens

        def bidder(token):
            deadline = time.monotonic() + 8
            while not stop.is_set() and time.monotonic() < deadline:
                try:
                    code, st = _call(base + "/state", token)
                except RETRYABLE:
                    time.sleep(0.05)
                    continue
                if code != 200 or not st.get("me") or st["me"]["leading"]:
                    time.sleep(0.02)
                    continue
                key, amount = uuid.uuid4().hex, st["me"]["next_min"]
                for _attempt in range(20):  # a killed worker: resend the same request (same key)
                    try:
                        code, body = _call(base + "/bids", token, {"amount": amount, "key": key})
                        break
                    except RETRYABLE:  # the worker died before (or while) answering
                        time.sleep(0.1)
                else:
                    errors.append("gave up")
                    return
                if code == 201:
                    acknowledged.append((body["seq"], body["amount"]))
                elif code != 400:
                    errors.append((code, body))

        def guarded(token):
            try:
                bidder(token)
            except Exception as exc:  # noqa: BLE001 — a bidder thread must not die silently
                errors.append(repr(exc))

        threads = [threading.Thread(target=guarded, args=(t,)) for t in tokens]
        for t in threads:
            t.start()
        time.sleep(2)
        killed = _workers(master.pid)
        assert killed, "no worker to kill"
        os.kill(killed[0], signal.SIGKILL)  # mid-session, mid-request perhaps
        time.sleep(3)
        stop.set()
        for t in threads:
            t.join(timeout=30)
        assert set(_workers(master.pid)) - set(killed), "gunicorn did not replace the killed worker"
    finally:
        master.send_signal(signal.SIGTERM)
        master.wait(timeout=30)

    assert not errors, errors
    db.session.expire_all()
    session = db.session.get(BiddingSession, sid)
    stored = [(b.seq, str(b.amount)) for b in tsvc.bids_of(session)]
    assert len(stored) >= 10, stored
    # every acknowledged bid is stored exactly as acknowledged; nothing else was accepted
    assert sorted(set(acknowledged)) == sorted(acknowledged) == stored
    assert [seq for seq, _ in stored] == list(range(1, len(stored) + 1))
    amounts = [float(a) for _, a in stored]
    assert all(b > a for a, b in zip(amounts, amounts[1:]))
    # and the session ends with the last accepted bid as the winner
    clock.freeze(session.ends_at)
    tsvc.close_session(sid)
    db.session.commit()
    deal = tsvc.deal_for(listing)
    assert str(deal.price) == stored[-1][1] and session.state == "ended"
    assert {regs["buyer"].id, regs["buyer_org"].id} >= {deal.registration_id}
