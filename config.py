"""Configuration, read from the environment.

Every setting has a safe default so the first run needs nothing but Python:
an SQLite database under ``instance/`` and a secret key generated once and
kept in ``instance/secret_key``.  Production sets ``DATABASE_URL`` (PostgreSQL)
and ``SECRET_KEY`` in the environment.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("EXCHANGE_INSTANCE_DIR", BASE_DIR / "instance"))


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated on first run and kept."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        # O_EXCL: two processes starting at once must not write two different keys.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
    return path.read_text().strip()


def database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{INSTANCE_DIR / 'exchange.db'}"
    # Accept the common "postgres://" and plain "postgresql://" spellings; we use psycopg 3.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


class Config:
    SECRET_KEY = _secret_key()
    SQLALCHEMY_DATABASE_URI = database_url()
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    INSTANCE_DIR = str(INSTANCE_DIR)

    # Sessions and cookies
    SESSION_COOKIE_NAME = "lxnc_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)  # True behind HTTPS
    REMEMBER_COOKIE_DURATION = 0
    STAFF_IDLE_MINUTES = int(os.environ.get("STAFF_IDLE_MINUTES", "30"))
    PUBLIC_IDLE_MINUTES = int(os.environ.get("PUBLIC_IDLE_MINUTES", "120"))
    # Sign-in throttling (exchange/accounts/throttle.py; README "Security"): one client (a browser with the account's
    # device cookie, else an address) waits 2 s, 4 s, 8 s after its 2nd, 3rd, 4th wrong password and is stopped
    # from that account for LOGIN_LOCK_MINUTES at the LOGIN_MAX_FAILURES-th; one address is stopped after
    # LOGIN_ADDRESS_MAX_FAILURES over all accounts; one account is slowed (1 s doubling up to LOGIN_ACCOUNT_MAX_DELAY)
    # for clients that never signed in to it after LOGIN_ACCOUNT_SLOWDOWN failures — never locked for everyone.
    LOGIN_MAX_FAILURES = int(os.environ.get("LOGIN_MAX_FAILURES", "5"))
    LOGIN_LOCK_MINUTES = int(os.environ.get("LOGIN_LOCK_MINUTES", "15"))
    LOGIN_ADDRESS_MAX_FAILURES = int(os.environ.get("LOGIN_ADDRESS_MAX_FAILURES", "30"))
    LOGIN_ACCOUNT_SLOWDOWN = int(os.environ.get("LOGIN_ACCOUNT_SLOWDOWN", "10"))
    LOGIN_ACCOUNT_MAX_DELAY = int(os.environ.get("LOGIN_ACCOUNT_MAX_DELAY", "60"))
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session

    # Uploads
    MAX_UPLOAD_MB = int(os.environ.get("MAX_UPLOAD_MB", "20"))
    MAX_CONTENT_LENGTH = (MAX_UPLOAD_MB + 1) * 1024 * 1024

    # 演练模式 (training deployment): the clock runs accelerated and every page shows a banner.
    TRAINING_MODE = _bool("TRAINING_MODE", False)
    # simulated seconds per real second (3600: one real second is one simulated hour)
    TRAINING_SPEED = float(os.environ.get("TRAINING_SPEED", "3600"))

    # Where the platform is reached from outside (QR codes on certificates, e-mails).
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    # rendered public PDFs (announcements), shared by the processes of a machine (exchange/pdf.py); a cache:
    # deleting it only costs renderings.  Default <INSTANCE_DIR>/cache/pdf.
    PDF_CACHE_DIR = os.environ.get("PDF_CACHE_DIR", "")
    # the sealed-bid vault's key (exchange/procurement/vault.py): outside the database and its backups, the same file
    # on every machine.  Default <INSTANCE_DIR>/procurement/vault.key, made on first use.
    BID_VAULT_KEY_PATH = os.environ.get("BID_VAULT_KEY_PATH", "")
    # the deadline sweeper runs every SWEEP_SECONDS inside each app process (one at a time sweeps);
    # set SCHEDULER=false where it runs as its own process instead (`flask scheduler`)
    SCHEDULER = _bool("SCHEDULER", True)
    SWEEP_SECONDS = int(os.environ.get("SWEEP_SECONDS", "60"))
    # The deployment: development (the default: `make run`), demo, training (演练), test, production.  Production
    # refuses to start with the sandbox bank (exchange/payments/providers.py: check_configuration).
    EXCHANGE_ENV = os.environ.get("EXCHANGE_ENV", "development").strip().lower()
    # online payment providers (comma-separated): "sandbox" plays the bank (development, demo, training, tests only);
    # a bank's adapter is named "package.module:Class".  In production the default is none: deposits arrive by bank
    # transfer and are confirmed from the imported statement.
    PAYMENT_PROVIDERS = os.environ.get("PAYMENT_PROVIDERS", "" if EXCHANGE_ENV == "production" else "sandbox")
    # the HMAC secret shared with the sandbox provider (default: derived from SECRET_KEY)
    PAYMENT_SANDBOX_SECRET = os.environ.get("PAYMENT_SANDBOX_SECRET", "")

    # Notifications (exchange/notifications/channels.py), sent by the sweeper after commit.
    # e-mail: console (written to the log; default) / smtp / "module:Class"
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "console")
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)  # STARTTLS
    MAIL_USE_SSL = _bool("MAIL_USE_SSL", False)  # implicit TLS (port 465)
    MAIL_FROM = os.environ.get("MAIL_FROM", "noreply@localhost")
    # SMS: log (written to the log; default) / "module:Class" (a gateway client with send(mobile, text))
    SMS_BACKEND = os.environ.get("SMS_BACKEND", "log")

    # 监督预警 (exchange/supervision/alerts.py): deal price below this share of the appraisal; the same buyer
    # winning this many deals without competition within that many days; an asset failing this many times;
    # how far back shared phones/IPs/accounts and low prices are looked for
    ALERT_LOW_PRICE_SHARE = os.environ.get("ALERT_LOW_PRICE_SHARE", "0.70")
    ALERT_REPEAT_WINNER_MIN = int(os.environ.get("ALERT_REPEAT_WINNER_MIN", "3"))
    ALERT_REPEAT_WINNER_DAYS = int(os.environ.get("ALERT_REPEAT_WINNER_DAYS", "365"))
    ALERT_FAILURES_MIN = int(os.environ.get("ALERT_FAILURES_MIN", "2"))
    ALERT_LOOKBACK_DAYS = int(os.environ.get("ALERT_LOOKBACK_DAYS", "365"))

    # Open-data endpoints (/api/v1/open/, exchange/web/ratelimit.py): anonymous callers per IP; read tokens carry
    # their own per-minute limit.  The counters live in RATELIMIT_STORAGE_URI: memory:// counts per process; with
    # several gunicorn workers or machines use a shared store, e.g. redis://127.0.0.1:6379/0.
    # The same anonymous count per address also covers the public listing and deal pages and /api/v1/public/* (one
    # policy for every anonymous read of listings; signed-in users are not counted).
    OPEN_DATA_ANON_LIMIT = os.environ.get("OPEN_DATA_ANON_LIMIT", "60/minute")
    # provider callbacks per address (a bank sends far fewer; a flood of forgeries is cut off here)
    PAYMENT_CALLBACK_LIMIT = os.environ.get("PAYMENT_CALLBACK_LIMIT", "120/minute")
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    # if the shared store is unreachable, count per process rather than refuse the open endpoints
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    # behind a reverse proxy (nginx): how many proxies to trust for X-Forwarded-For / -Proto (0: none)
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))

    # OpenAPI (flask-smorest)
    API_TITLE = "临湘市农村产权流转交易平台 API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"

    TESTING = False


class TestConfig(Config):
    TESTING = True
    EXCHANGE_ENV = "test"
    PAYMENT_PROVIDERS = "sandbox"
    WTF_CSRF_ENABLED = True  # tests that post forms fetch the token like a browser does
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    SECRET_KEY = "test-secret-key"
    TRAINING_MODE = False
    SCHEDULER = False  # tests run the sweeper explicitly
    MAIL_BACKEND = "memory"  # notifications kept in an outbox, nothing leaves the machine
    SMS_BACKEND = "memory"
    OPEN_DATA_ANON_LIMIT = "100000/minute"  # tests that check the limit set their own (tests/test_opendata.py)
    PAYMENT_CALLBACK_LIMIT = "100000/minute"
