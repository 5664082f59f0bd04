"""Serving under load: does one hot PDF slow every other page down?

Builds a fresh database (SQLite file by default, or ``--database postgresql://…``: a fresh database on that
server, dropped afterwards) with the demo data, starts the app under gunicorn on a free port of 127.0.0.1 —
``--server conf`` with ``gunicorn.conf.py`` (gthread), ``--server bare`` the old ``gunicorn -w 4 wsgi:app``
(sync workers) — and measures one probe client fetching another page (``--page``, default the home page)
one request after the other: first alone, then while ``--clients`` clients fetch a published listing's
``announcement.pdf`` in a loop (each on a kept-alive connection).  The clients run in this process (Python
threads): on a 2-core machine they take CPU from the server too, so compare runs made the same way.

The last line is one JSON object: the probe's p50/p95/max in ms alone and under load, the PDF fetches per
second and any errors.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECRET_KEY = "bench-serving"


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    if not values:
        return 0.0
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build(db_url: str, tmp: str) -> str:
    """Migrate, seed the demo data; the project number of a published listing."""
    os.environ["EXCHANGE_INSTANCE_DIR"] = tmp
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import config
    from exchange import create_app

    class Cfg(config.Config):
        SQLALCHEMY_DATABASE_URI = db_url
        SECRET_KEY = SECRET_KEY
        INSTANCE_DIR = tmp
        UPLOAD_ROOT = os.path.join(tmp, "uploads")
        SCHEDULER = False
        TRAINING_MODE = False
        TESTING = True
        PASSWORD_HASH_METHOD = "scrypt:1024:8:1"

    app = create_app(Cfg)
    from flask_migrate import upgrade
    from sqlalchemy import select

    from exchange.audit.services import acting_as
    from exchange.demo import seed
    from exchange.extensions import db
    from exchange.listings.models import Listing
    with app.app_context():
        upgrade()
        with acting_as("bench"):
            seed()
        db.session.commit()
        project_no = db.session.scalar(select(Listing.project_no).where(Listing.state == "announced")
                                       .order_by(Listing.id).limit(1))
        db.session.remove()
        db.engine.dispose()
    if not project_no:
        raise RuntimeError("the demo data has no announced listing")
    return project_no


def start_server(db_url: str, mode: str, tmp: str, workers: int | None) -> tuple[subprocess.Popen, int, Path]:
    port = free_port()
    log = Path(tmp) / f"gunicorn-{mode}.log"
    env = {**os.environ, "DATABASE_URL": db_url, "SECRET_KEY": SECRET_KEY, "SCHEDULER": "false",
           "EXCHANGE_INSTANCE_DIR": tmp, "TRAINING_MODE": "false", "UPLOAD_ROOT": os.path.join(tmp, "uploads"),
           "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_ACCESSLOG": "",
           "OPEN_DATA_ANON_LIMIT": "100000000/minute"}  # all clients are 127.0.0.1: no per-address limit here
    if mode == "conf":
        cmd = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "--no-control-socket"]
        if workers:
            cmd += ["-w", str(workers)]
        cwd = ROOT
    else:  # what the README used to say: sync workers.  Started outside the checkout with --chdir, or gunicorn
        # would read ./gunicorn.conf.py by itself (its default --config)
        cmd = [sys.executable, "-m", "gunicorn", "-w", str(workers or 4), "-b", f"127.0.0.1:{port}",
               "--no-control-socket", "--chdir", str(ROOT)]
        cwd = tmp
    cmd.append("wsgi:app")
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if get(port, "/", timeout=5)[0] == 200:
                return proc, port, log
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"gunicorn did not answer within 60 s:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)


def stop_server(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)  # the group this bench started: the master and its workers
        proc.wait(timeout=30)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def get(port: int, path: str, timeout: float = 60, conn: http.client.HTTPConnection | None = None):
    """(status, body length, seconds); a fresh connection unless ``conn`` is given."""
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        t = time.perf_counter()
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, len(body), time.perf_counter() - t
    finally:
        if own:
            conn.close()


def probe(port: int, path: str, seconds: float, pause: float = 0.05) -> tuple[list[float], list[str]]:
    times, errors = [], []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            status, _n, took = get(port, path)
            times.append(took)
            if status != 200:
                errors.append(f"{path}: {status}")
        except OSError as exc:
            errors.append(f"{path}: {exc!r}")
        time.sleep(pause)
    return times, errors


def _load_thread(port: int, path: str, pause: float, stop: threading.Event, counter, errors: list[str]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    while not stop.is_set():
        try:
            status, _n, _t = get(port, path, conn=conn)
            with counter.get_lock():
                counter.value += 1
            if status != 200:
                errors.append(f"{path}: {status}")
        except (OSError, http.client.HTTPException) as exc:
            errors.append(f"{path}: {exc!r}")
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        if pause:
            time.sleep(pause)
    conn.close()


def _load_process(port: int, path: str, clients: int, pause: float, counter, stop, done) -> None:
    """The load clients, in a process of their own (their GIL is not the probe's)."""
    flag, errors = threading.Event(), []
    threads = [threading.Thread(target=_load_thread, args=(port, path, pause, flag, counter, errors), daemon=True)
               for _ in range(clients)]
    for t in threads:
        t.start()
    stop.wait()
    flag.set()
    for t in threads:
        t.join(timeout=180)
    done.send((errors[:20], len(errors)))


def server_cpu(pid: int) -> float:
    """CPU seconds used so far by the gunicorn master and its current workers."""
    tick = os.sysconf("SC_CLK_TCK")
    pids = [pid] + [int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                                                   text=True).stdout.split()]
    total = 0.0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def ms(values: list[float]) -> dict:
    return {"n": len(values), "p50_ms": round(pct(values, 50) * 1000, 1), "p95_ms": round(pct(values, 95) * 1000, 1),
            "max_ms": round(max(values) * 1000, 1) if values else None}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench serving", description=__doc__.split("\n\n")[0])
    ap.add_argument("--database", default="sqlite",
                    help="sqlite (a file in a temporary folder; default) or a postgresql:// server URL")
    ap.add_argument("--server", choices=("conf", "bare"), default="conf",
                    help="conf: gunicorn -c gunicorn.conf.py; bare: gunicorn -w 4 without it (sync workers)")
    ap.add_argument("--workers", type=int, default=None, help="override the number of workers")
    ap.add_argument("--clients", type=int, default=8, help="clients fetching the announcement PDF in a loop")
    ap.add_argument("--seconds", type=float, default=15.0, help="how long the loaded phase lasts")
    ap.add_argument("--page", default="/", help="the page the probe fetches (default: the home page)")
    ap.add_argument("--pause", type=float, default=0.0, help="each PDF client waits this long between fetches (s)")
    args = ap.parse_args(argv)
    if not (0 <= args.clients <= 200 and 1 <= args.seconds <= 600):
        ap.error("bounds: 0 ≤ clients ≤ 200, 1 ≤ seconds ≤ 600")

    tmp = tempfile.mkdtemp(prefix="bench-serving-")
    admin_url = name = None
    if args.database == "sqlite":
        db_url = f"sqlite:///{os.path.join(tmp, 'bench.db')}"
    else:
        import psycopg
        admin_url = args.database.replace("postgres://", "postgresql://", 1)
        name = f"exchange_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        db_url = f"{admin_url.rsplit('/', 1)[0]}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
    proc = None
    try:
        project_no = build(db_url, tmp)
        proc, port, log = start_server(db_url, args.server, tmp, args.workers)
        pdf_path = f"/projects/{project_no}/announcement.pdf"
        status, size, first = get(port, pdf_path)
        if status != 200:
            raise RuntimeError(f"{pdf_path}: {status}")
        for _ in range(5):  # warm up the probe page in several workers
            get(port, args.page)
        alone, errors = probe(port, args.page, 5)

        import multiprocessing
        ctx = multiprocessing.get_context("fork")
        stop, counter = ctx.Event(), ctx.Value("q", 0)
        recv, send = ctx.Pipe(duplex=False)
        loader = ctx.Process(target=_load_process,
                             args=(port, pdf_path, args.clients, args.pause, counter, stop, send))
        loader.start()
        time.sleep(1)  # the clients are under way
        cpu0, n0, t0 = server_cpu(proc.pid), counter.value, time.monotonic()
        loaded, errs = probe(port, args.page, args.seconds)
        cpu_s, n_pdf, wall = server_cpu(proc.pid) - cpu0, counter.value - n0, time.monotonic() - t0
        stop.set()
        some, n_err = recv.recv()
        loader.join(timeout=60)
        pdf_rate = n_pdf / wall
        errors += errs + some
        n_errors = len(errors) - len(some) + n_err
    finally:
        stop_server(proc)
        if name:
            import psycopg
            with psycopg.connect(admin_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    a, b = ms(alone), ms(loaded)
    print(f"gunicorn {args.server} on {os.cpu_count()} CPU(s), {args.database.split(':')[0]}; first PDF "
          f"{first * 1000:.0f} ms ({size} bytes)")
    print(f"{args.page} alone:                 p50 {a['p50_ms']} ms  p95 {a['p95_ms']} ms  max {a['max_ms']} ms  "
          f"(n={a['n']})")
    print(f"{args.page} with {args.clients} PDF clients: p50 {b['p50_ms']} ms  p95 {b['p95_ms']} ms  "
          f"max {b['max_ms']} ms  (n={b['n']}); PDFs {pdf_rate:.1f}/s")
    print(f"server CPU while loaded: {cpu_s / wall * 100:.0f} % of one core, "
          f"{cpu_s * 1000 / max(1, n_pdf):.1f} ms per PDF fetch (all requests' CPU over the PDF fetches)")
    if n_errors:
        print(f"{n_errors} errors, e.g. {errors[:3]}")
    print(json.dumps({"bench": "serving", "server": args.server, "database": args.database.split(":")[0],
                      "clients": args.clients, "page": args.page, "alone": a, "loaded": b,
                      "pdf_per_s": round(pdf_rate, 1), "first_pdf_ms": round(first * 1000, 1),
                      "server_cpu_ms_per_pdf": round(cpu_s * 1000 / max(1, n_pdf), 2),
                      "errors": n_errors, "cpus": os.cpu_count(),
                      "median_ratio": round(b["p50_ms"] / a["p50_ms"], 1) if a["p50_ms"] else None},
                     ensure_ascii=False))


if __name__ == "__main__":
    main()
