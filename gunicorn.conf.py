"""gunicorn settings for the exchange: ``gunicorn -c gunicorn.conf.py wsgi:app`` (behind nginx, see README).

Why not bare ``gunicorn -w 4 wsgi:app``: the default ``sync`` worker serves one connection at a time and
blocks while it reads the request, so as many slow clients as there are workers (a phone on a village
network, or anyone sending a request slowly on purpose) stall the whole site until gunicorn kills the
workers (``WORKER TIMEOUT``).  The ``gthread`` worker keeps idle and half-sent connections in its event
loop and only hands a connection to one of its threads once a request is there, so a few slow clients
do not block the others; nginx in front (``proxy_buffering``, see README) absorbs slow clients entirely.

Every setting can be changed with the environment variable named in its comment (the value shown is the
default).  Anything not set here is gunicorn's default; command-line flags override this file.  gunicorn
also reads this file by itself when started in this directory without ``-c`` (its default ``--config``).
"""
from __future__ import annotations

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


# --- where and how many ---------------------------------------------------------------------------

# GUNICORN_BIND: address (or unix:/path) to listen on; nginx proxies to it.  Keep it on loopback or a
# private interface: the app trusts X-Forwarded-* only from the proxy (TRUSTED_PROXIES, forwarded_allow_ips).
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",")

# GUNICORN_WORKER_CLASS: gthread (threads per process).  sync is only safe when nginx buffers every
# request, and even then one slow PDF rendering holds a whole process (gunicorn runs gthread anyway
# when threads > 1).
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")

# GUNICORN_WORKERS (or WEB_CONCURRENCY): processes; default 2 × CPUs + 1, at most 8 (each process holds the
# app, WeasyPrint and its fonts: ~150 MB).  Processes give CPU parallelism (PDF rendering, templates).
workers = _int("GUNICORN_WORKERS", _int("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 8)))

# GUNICORN_THREADS: threads per process, i.e. requests one process serves at once (waiting on the
# database, on a client, on the disk).  Each thread may hold one database connection: workers × (threads
# + 2 for the sweeper's pass and its advisory lock) must stay below PostgreSQL's max_connections (100 by
# default); SQLAlchemy's default pool (5 + 10 overflow per process) covers up to 13 threads.
threads = _int("GUNICORN_THREADS", 4)

# GUNICORN_WORKER_CONNECTIONS: open connections (keep-alive included) one gthread process keeps at most.
worker_connections = _int("GUNICORN_WORKER_CONNECTIONS", 1000)

# GUNICORN_BACKLOG: connections waiting in the kernel to be accepted.
backlog = _int("GUNICORN_BACKLOG", 2048)

# --- time limits ----------------------------------------------------------------------------------

# GUNICORN_TIMEOUT (s): a process whose main loop has not checked in for this long is killed and
# replaced.  With gthread the loop keeps running while threads work, so this does not cut long
# requests (the slowest ones: a 鉴证书 or announcement PDF, ~0.5 s; an archive ZIP, a few seconds).
timeout = _int("GUNICORN_TIMEOUT", 60)

# GUNICORN_GRACEFUL_TIMEOUT (s): on reload or stop, how long running requests may finish (a bid, a PDF,
# a payment callback) before the process is killed.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)

# GUNICORN_KEEPALIVE (s): how long an idle kept-alive connection stays open.  Behind nginx this is the
# upstream connection pool; nginx's upstream ``keepalive_timeout`` must be shorter (README: 4 s) so nginx
# never reuses a connection gunicorn is just closing.
keepalive = _int("GUNICORN_KEEPALIVE", 5)

# --- recycling --------------------------------------------------------------------------------------

# GUNICORN_MAX_REQUESTS / GUNICORN_MAX_REQUESTS_JITTER: restart a process gracefully after about this
# many requests (0: never), bounding memory growth (WeasyPrint, fontconfig caches); the jitter keeps
# the processes from restarting all at once.  The app keeps no state in a process, so a restart loses
# nothing (sessions are signed cookies; deadlines, bids and counters are in the database; rate-limit
# counters only with RATELIMIT_STORAGE_URI=memory://, which several processes should not use anyway).
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 200)

# Not configurable: the app is imported in each worker, never in the master (preload_app = False).
# create_app() starts the deadline sweeper (APScheduler thread) in every serving process; with
# preload the master would run it and the forked workers would share the master's database
# connections.  Several workers each running a sweeper is intended: on PostgreSQL a pass takes an
# advisory lock (one process sweeps, the others skip that tick); on SQLite each item re-reads its row
# under the write lock.  To run it once per deployment instead, set SCHEDULER=false for gunicorn and
# run `flask --app wsgi scheduler` as its own process (README, deployment).
preload_app = False

# GUNICORN_WORKER_TMP_DIR: where workers' heartbeat files live; a tmpfs (/dev/shm) so a slow or full
# disk cannot make gunicorn think a worker hangs.
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR") or ("/dev/shm" if os.path.isdir("/dev/shm") else None)

# --- behind nginx -----------------------------------------------------------------------------------

# FORWARDED_ALLOW_IPS: the proxies whose X-Forwarded-Proto gunicorn believes (for the URL scheme);
# comma-separated addresses or networks, the proxy's address as gunicorn sees it.  The app itself reads
# the client's address from X-Forwarded-For only with TRUSTED_PROXIES=<number of proxies> (ProxyFix in
# exchange/__init__.py): set both, or neither.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# --- logs -------------------------------------------------------------------------------------------

# GUNICORN_ACCESSLOG / GUNICORN_ERRORLOG: files, or "-" for stdout / stderr (journald, docker).
# GUNICORN_ACCESSLOG="" turns the access log off (nginx keeps one too).
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None
errorlog = os.environ.get("GUNICORN_ERRORLOG", "-")
# GUNICORN_LOGLEVEL: debug, info, warning, error, critical.
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
# the client as nginx saw it (X-Forwarded-For), the peer, the request, status, bytes, referer, agent,
# and the time taken in milliseconds (%(M)s).
access_log_format = os.environ.get(
    "GUNICORN_ACCESS_LOG_FORMAT",
    '%({x-forwarded-for}i)s %(h)s %(t)s "%(r)s" %(s)s %(B)s "%(f)s" "%(a)s" %(M)sms')

# GUNICORN_PROC_NAME: the name in ps / top.
proc_name = os.environ.get("GUNICORN_PROC_NAME", "exchange")
