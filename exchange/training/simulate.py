"""演练：complete listings on a fresh training database (``flask --app wsgi simulate [--listings N]``).

:func:`run` builds a new application on an empty database (a new SQLite file under
``instance/simulate-<timestamp>/`` unless ``--database URL`` names another empty one), migrates it,
writes the demo org tree and accounts (:func:`exchange.demo.seed`), makes a training signing key and
then drives ``listings`` listings (1 to 20), one after the other, from 信息收集 to their end in simulated
time: the clock is frozen at 08:30 of a working day far enough back that the last listing is over before
today (so this year's statistics and warnings show them) and moved stage by stage; each next listing
starts the working day after the previous one ended.  Every step is the service call a page makes, as
the account of the role that acts there, and the statutory clocks are moved on by the deadline sweeper
as in production.  The first listing is always the same (江南村, 30 亩水田, 网络竞价); the others
(:func:`variant`) vary the village, the category (集体经营性资产, 林权, 土地), the quantity, the prices and
the bids, and end by 协议转让 (one buyer pays) or 流拍 (nobody pays).  Each stage prints one line with its
simulated (Beijing) time; with more than one listing a summary ``共 N 个项目：成交 x，流拍 y，鉴证书 z 份``
follows the checks; the last line is ``鉴证书 <number> <sha256>`` of the last certificate issued.  A
failing stage raises :class:`SimulationError` naming it.

The stages are generators that yield the instant of their next step (:class:`Simulation`): ``simulate`` drives
them one listing after the other; the demo's history (exchange/training/history.py, ``seed-demo --history``)
drives many at once with a :class:`Scheduler`, and stops some of them part-way (``one_listing(stop=…)``).
"""
from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Callable, Iterator

from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from exchange import clock

FEE_RATE, FEE_MIN = "0.01", "100"
SIM_BUYERS = ("buyer_person", "buyer_company", "buyer_coop")  # the third is not qualified
CLERK, STATION, REVIEWER, OFFICER, ADMIN = "cun_jiangnan_1", "zhan_jiangnan", "shenhe", "jiaoyi", "admin"
FINANCE, FINANCE2 = "caiwu1", "caiwu2"


FREE_END = "free_end"  # in a bidding plan: the free-bidding period ends, the countdown starts


@dataclass(frozen=True)
class Buyer:
    """One would-be buyer of a variant: ``does`` is what happens to them — ``online`` (qualified, pays the deposit
    through the sandbox bank), ``receipt`` (qualified, the deposit is booked from a bank receipt), ``unpaid``
    (qualified, never pays: 视为放弃 at the deadline), ``reject`` (not qualified: ``reason``, shown as ``short``) or
    ``applied`` (applies and is never reviewed: a listing stopped after its registrations)."""

    username: str
    does: str
    reason: str = ""
    short: str = ""
    offer: str | None = None  # 意向报价 (the price of a 协议转让)


@dataclass(frozen=True)
class Variant:
    """What one simulated listing looks like and how it ends: ``way`` is ``bidding`` (网络竞价 between the paying
    buyers), ``agreement`` (one buyer pays: 协议转让 at the offer) or ``failed`` (nobody pays: 流拍)."""

    index: int
    way: str
    pinyin: str
    village: str
    point_no: int
    category: str
    method: str | None  # the transfer method's name (出租, 租赁 …); None: the category's first
    title: str
    fields: dict
    buyers: tuple[Buyer, ...]
    bids: tuple = ()  # (payer index, increments above the last price, seconds after the previous step) or FREE_END
    late: int = 1  # the payer who bids once more after the countdown (refused)

    @property
    def clerk(self) -> str:
        return f"cun_{self.pinyin}_{self.point_no}"

    @property
    def station(self) -> str:
        return f"zhan_{self.pinyin}"

    @property
    def payers(self) -> list[str]:
        return [b.username for b in self.buyers if b.does in ("online", "receipt")]


_GRAIN = "经营范围不含粮食种植，且未提供农业生产经营能力证明"
# the village points of the first five listings; later ones go round the other towns' villages
_FIRST_POINTS = [("jiangnan", 1), ("taolin", 1), ("huanggai", 2), ("yanglousi", 2), ("changan", 3)]


def _points() -> list[tuple[str, str, int]]:
    """(pinyin, village, point number) of every listing: the first five, then each other town's villages (村 only,
    the first of each town before the second), from exchange.demo.TOWNS."""
    from exchange.demo import TOWNS
    villages = {p: [(v, j) for j, v in enumerate(vs, start=1) if v.endswith("村")] for _t, p, vs in TOWNS}
    first = [(p, dict((j, v) for v, j in villages[p])[j], j) for p, j in _FIRST_POINTS]
    rest, depth = [], max(len(v) for v in villages.values())
    for k in range(depth):
        for _t, p, _vs in TOWNS:
            if k < len(villages[p]) and (p, villages[p][k][1]) not in _FIRST_POINTS:
                rest.append((p, villages[p][k][0], villages[p][k][1]))
    return first + rest


def _household(i: int) -> dict:
    from exchange.idcheck import make_resident_id
    name = "农户演练" if i == 0 else f"农户演练{i + 1}"
    id_no = "43068219700606123" if i == 0 else f"430682{1960 + i}{i % 12 + 1:02d}{i % 28 + 1:02d}{300 + i:03d}"
    return dict(transferor_kind="household", transferor_name=name, transferor_id_no=make_resident_id(id_no),
                transferor_mobile=f"13800000{299 + i * 7:03d}", account_name=name, account_bank="临湘农商银行",
                account_no=f"6210000000000{299 + i * 7:03d}")


def variant(i: int, today: date) -> Variant:
    """The ``i``-th listing of a run starting ``today``: 0 is the classic one (江南村, 30 亩水田, three buyers,
    网络竞价); then a collective asset sold by 协议转让 below 70 % of its appraisal (one buyer pays), a 流拍
    (nobody pays), 林地 and 旱地 by 网络竞价, and round again in other villages with larger quantities."""
    year = today.year
    term = dict(term_start=f"{year + 1}-01-01", term_end=f"{year + 5}-12-31", right_end_date="2038-12-31")
    if i == 0:
        return Variant(
            0, "bidding", "jiangnan", "江南村", 1, "C01", None, "江南村二组 30 亩水田经营权出租（演练）",
            dict(location="江南镇江南村二组", boundaries="东至机耕道，南至水渠，西至山脚，北至村道", quantity="30",
                 current_use="水稻种植", **term, price_mode="per_unit_year", floor_unit_price="500",
                 price_basis="参照周边近三年流转价格", **_household(0), trading_method="online_bidding",
                 bid_increment="500", right_cert_no="430682-演练-0001",
                 buyer_conditions="具备农业生产经营能力，不得改变农业用途"),
            (Buyer("buyer_person", "online"), Buyer("buyer_company", "receipt"),
             Buyer("buyer_coop", "reject", _GRAIN, "经营范围不符")),
            ((0, 0, 180), (1, 2, 420), (0, 1, 660), FREE_END, (1, 1, 200), (0, 1, 240)), late=1)
    from exchange.demo import TOWNS
    points = _points()
    pinyin, village, j = points[i % len(points)]
    town = next(t for t, p, _v in TOWNS if p == pinyin)
    kind, rnd = (i - 1) % 4, (i - 1) // 4  # which of the four, and how many times round
    bigger = Decimal(1) + Decimal(rnd) / 4
    cert_no = f"430682-演练-{i + 1:04d}"
    if kind == 0:  # a collective asset, one buyer pays → 协议转让 at the offer, below 70 % of the appraisal
        from exchange.idcheck import make_org_code, make_uscc
        area = int(600 * bigger)
        floor, appraisal = 65000 * bigger, 100000 * bigger
        name = f"临湘市{town}{village}股份经济合作社"
        return Variant(
            i, "agreement", pinyin, village, j, "C05", "租赁", f"{village}集体闲置仓库 {area} 平方米租赁（演练）",
            dict(location=f"{town}{village}村部东侧", boundaries="东至村道，南至晒谷坪，西至村部，北至水塘",
                 quantity=str(area), unit="平方米", current_use="闲置（原粮站仓库）", **term, price_mode="total",
                 floor_price=str(floor), price_basis="评估值的 65%，经村民代表会议三分之二以上同意",
                 appraisal_value=str(appraisal), appraisal_agency="湖南演练资产评估有限公司",
                 appraisal_report_no=f"湘演评字〔{year}〕第{i + 1:03d}号", transferor_kind="collective",
                 transferor_name=name, transferor_id_no=make_uscc("N2430682" + make_org_code(f"{5200 + i:08d}")),
                 transferor_mobile=f"13800001{i:03d}", account_name=name, account_bank="临湘农商银行",
                 account_no=f"6210000000001{i:03d}", decision_type="村民代表会议",
                 decision_date=(today - timedelta(days=12)).isoformat(), reps_total=36, reps_for=28,
                 trading_method="online_bidding", bid_increment="500", right_cert_no=cert_no,
                 buyer_conditions="用于农产品仓储，不得改变用途"),
            (Buyer("buyer_company", "online", offer=str(floor + 1000)), Buyer("buyer_person", "unpaid")))
    if kind == 1:  # nobody pays the deposit → 流拍 when the announcement ends
        mu = int(12 * bigger)
        return Variant(
            i, "failed", pinyin, village, j, "C01", None, f"{village}四组 {mu} 亩旱地经营权出租（演练）",
            dict(location=f"{town}{village}四组", boundaries="东至山脚，南至农户自留地，西至村道，北至水渠",
                 quantity=str(mu), current_use="旱地（撂荒两年）", term_start=f"{year + 1}-01-01",
                 term_end=f"{year + 3}-12-31", right_end_date="2038-12-31", price_mode="per_unit_year",
                 floor_unit_price=str(420 + 10 * rnd), price_basis="参照周边旱地流转价格", **_household(i),
                 trading_method="online_bidding", bid_increment="200", right_cert_no=cert_no,
                 buyer_conditions="具备农业生产经营能力，不得改变农业用途"),
            (Buyer("buyer_coop", "reject", "未提供农业生产经营能力证明", "未提供经营能力证明"),
             Buyer("buyer_company", "unpaid")))
    if kind == 2:  # 林地 by 网络竞价, two bidders, the cooperative wins
        mu = int(80 * bigger)
        return Variant(
            i, "bidding", pinyin, village, j, "C02", "出租", f"{village}后山 {mu} 亩林地经营权出租（演练）",
            dict(location=f"{town}{village}后山", boundaries="东至山脊，南至山塘，西至林道，北至邻村界",
                 quantity=str(mu), current_use="杉木、油茶混交林", term_start=f"{year + 1}-01-01",
                 term_end=f"{year + 10}-12-31", right_end_date="2056-12-31", price_mode="per_unit_year",
                 floor_unit_price=str(60 + 5 * rnd), price_basis="林地评估参考价", **_household(i),
                 trading_method="online_bidding", bid_increment="200", right_cert_no=cert_no,
                 buyer_conditions="具备林业经营能力，不得改变林地用途"),
            (Buyer("buyer_coop", "online"), Buyer("buyer_company", "receipt")),
            ((0, 0, 300), (1, 1, 240), (0, 3, 600), (1, 1, 480), FREE_END, (0, 1, 150), (1, 2, 100), (0, 1, 250)),
            late=1)
    mu = int(45 * bigger)  # 旱地 by 网络竞价, three bidders, the grower wins
    return Variant(
        i, "bidding", pinyin, village, j, "C01", None, f"{village}六组 {mu} 亩旱地经营权出租（演练）",
        dict(location=f"{town}{village}六组", boundaries="东至茶园，南至村道，西至水库，北至山脚", quantity=str(mu),
             current_use="旱地（油菜、红薯）", **term, price_mode="per_unit_year", floor_unit_price=str(400 + 10 * rnd),
             price_basis="参照周边近三年流转价格", **_household(i), trading_method="online_bidding",
             bid_increment="1000", right_cert_no=cert_no, buyer_conditions="具备农业生产经营能力，不得改变农业用途"),
        (Buyer("buyer_company", "online"), Buyer("buyer_person", "receipt"), Buyer("buyer_coop", "receipt")),
        ((2, 0, 120), (0, 1, 300), (1, 2, 420), (2, 1, 540), (0, 1, 300), FREE_END, (1, 1, 120), (2, 1, 180),
         (1, 1, 200)), late=2)


class SimulationError(Exception):
    """The simulation stopped: ``stage`` is where, ``message`` why."""

    def __init__(self, stage: str, message: str):
        super().__init__(f"演练在“{stage}”阶段失败：{message}")
        self.stage, self.message = stage, message


@dataclass
class Result:
    database_url: str
    workdir: Path
    listing_id: int  # the listing of the last certificate
    cert_no: str
    sha256: str
    listings: int = 1
    deals: int = 1
    failed: int = 0
    certificates: int = 1


def normalise_url(url: str) -> str:
    """The spellings config.database_url accepts (postgres://, postgresql://) → psycopg 3."""
    url = url.strip()
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def check_empty(url: str) -> None:
    """Refuse a database that holds anything: a training run never writes into real data.  A database
    that was only migrated (no org units yet) counts as empty."""
    stage = "检查演练数据库"
    try:
        engine = create_engine(url)
    except Exception as exc:  # noqa: BLE001 — a malformed URL
        raise SimulationError(stage, f"数据库地址无效：{exc}") from None
    try:
        with engine.connect() as conn:
            names = set(inspect(conn).get_table_names())
            if not names:
                return
            if {"alembic_version", "org_unit"} <= names and not conn.execute(
                    text("SELECT count(*) FROM org_unit")).scalar():
                return
    except SimulationError:
        raise
    except Exception as exc:  # noqa: BLE001 — unreachable server, missing database …
        raise SimulationError(stage, f"无法连接数据库 {shown(url)}：{str(exc).splitlines()[0]}") from None
    finally:
        engine.dispose()
    raise SimulationError(stage, f"数据库 {shown(url)} 不是空的（已有 {len(names)} 张表和数据）。演练只在新建的空数据库上"
                                 "运行，以免改动真实数据：请新建一个空数据库（如 createdb），或不加 --database 使用新的 SQLite 文件。")


def _config_class(url: str, workdir: Path, inherit: dict):
    import config

    class SimulationConfig(config.Config):
        SQLALCHEMY_DATABASE_URI = url
        INSTANCE_DIR = str(workdir)
        UPLOAD_ROOT = str(workdir / "uploads")
        CERT_KEY_PATH = str(workdir / "certificates" / "center-key.pem")
        CERT_PATH = str(workdir / "certificates" / "center-cert.pem")
        TRAINING_MODE = False  # the simulation drives a frozen clock itself
        SCHEDULER = False  # … and runs the sweeper when its clocks are due
        EXCHANGE_ENV = "training"  # a simulation is a rehearsal on its own database, never production
        PAYMENT_PROVIDERS = "sandbox"
        TESTING = False

    for key in ("SECRET_KEY", "PAYMENT_SANDBOX_SECRET", "PASSWORD_HASH_METHOD", "PUBLIC_BASE_URL"):
        if inherit.get(key) not in (None, ""):
            setattr(SimulationConfig, key, inherit[key])
    return SimulationConfig


MAX_LISTINGS = 20


def run(database: str | None = None, workdir: str | Path | None = None, *, echo: Callable[[str], None] = print,
        inherit: dict | None = None, listings: int = 1, procurement: bool = False) -> Result:
    """Run the whole simulation; returns what the last line prints.  ``inherit``: settings carried over from
    the calling application (secret key, sandbox secret, password hashing, public address); ``listings``:
    how many listings (1 to 20)."""
    inherit = dict(inherit or {})
    if not 1 <= listings <= MAX_LISTINGS:
        raise SimulationError("开始", f"项目数应为 1 到 {MAX_LISTINGS} 个")
    import config
    stamp = clock.local_now().strftime("%Y%m%d-%H%M%S")
    base = Path(inherit.get("INSTANCE_DIR") or config.INSTANCE_DIR)
    workdir = Path(workdir) if workdir else base / f"simulate-{stamp}"
    workdir = workdir.resolve()
    url = normalise_url(database) if database else f"sqlite:///{workdir / 'simulate.db'}"
    if database:
        check_empty(url)  # before anything is written
    workdir.mkdir(parents=True, exist_ok=True)
    if not database:
        check_empty(url)

    cfg = _config_class(url, workdir, inherit)
    from exchange import create_app
    from exchange.extensions import db
    app = create_app(cfg)
    was_frozen, before = clock.is_frozen(), clock.now()
    quiet = logging.getLogger("exchange.deadlines.sweeper")
    old_level = quiet.level
    quiet.setLevel(logging.WARNING)
    try:
        with app.app_context():
            try:
                from flask_migrate import upgrade
                with _stage("建立演练数据库"):
                    upgrade()
                sim = Simulation(echo)
                try:
                    if procurement:
                        return sim.play_procurement(url, workdir)
                    return sim.play(url, workdir, listings)
                except SimulationError:
                    raise
                except Exception as exc:  # noqa: BLE001 — between two stages: name the one after the last line
                    db.session.rollback()
                    raise SimulationError(f"{sim.last}之后", f"{type(exc).__name__}: {exc}") from exc
            finally:
                db.session.remove()
                db.engine.dispose()
    finally:
        quiet.setLevel(old_level)
        if was_frozen:
            clock.freeze(before)
        else:
            clock.unfreeze()  # keeps a training deployment's accelerated clock


@contextlib.contextmanager
def _stage(name: str) -> Iterator[None]:
    from exchange.extensions import db
    try:
        yield
    except SimulationError:
        raise
    except Exception as exc:  # noqa: BLE001 — every failure names its stage
        db.session.rollback()
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        problems = getattr(exc, "problems", None)
        if problems:
            message += "（" + "；".join(map(str, problems)) + "）"
        raise SimulationError(name, message) from exc


class _Errors(logging.Handler):
    """Collects the errors the sweeper logs during one pass (the sweeper logs and goes on; the simulation stops)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        exc = record.exc_info[1] if record.exc_info else None
        detail = f"{type(exc).__name__}: {exc}" if exc is not None else record.getMessage()
        self.messages.append(f"{record.getMessage()}（{detail}）"[:300])


class Scheduler:
    """Many stage generators (:meth:`Simulation.one_listing` …) on one frozen clock: the earliest instant any of
    them waits for comes first, so the clock only moves forward and every step happens at the instant its listing
    asked for; steps due at the same instant run in the order they were added.  ``run(before=…)`` stops at the
    first instant not before that one, leaving the rest unfinished (where they are is where they stay)."""

    def __init__(self) -> None:
        self._queue: list = []
        self._n = 0
        self.results: dict = {}

    def add(self, name, steps, at) -> None:
        import heapq
        heapq.heappush(self._queue, (clock.ensure_aware(at), self._n, name, steps))
        self._n += 1

    def run(self, before=None) -> list:
        """Run until every generator ended (or the next instant is not before ``before``); returns the names of
        those left unfinished.  ``results[name]`` is what each finished one returned."""
        import heapq
        while self._queue:
            at, n, name, steps = self._queue[0]
            if before is not None and at >= before:
                break
            heapq.heappop(self._queue)
            clock.freeze(max(clock.now(), at) if clock.is_frozen() else at)
            try:
                nxt = next(steps)
            except StopIteration as stop:
                self.results[name] = stop.value
                continue
            heapq.heappush(self._queue, (clock.ensure_aware(nxt), n, name, steps))
        return [name for _at, _n, name, _s in sorted(self._queue)]


class Simulation:
    """The steps of a listing, each done by its role's account through the services, in simulated time.

    Every stage is a generator: before each step it *yields the instant* the step happens at, and whoever drives
    it moves the clock there — :meth:`drive` for one listing after the other (``flask simulate``), a
    :class:`Scheduler` for many listings at once (the demo's history, exchange/training/history.py), where the
    clock only ever moves forward to the earliest instant any listing waits for.  ``via`` labels the audit trail's
    actor (演练, 演示)."""

    def __init__(self, echo: Callable[[str], None], *, via: str = "演练", seed: int = 20260101):
        import random
        self.echo = echo
        self.via = via
        self.last = "开始"
        self.rng = random.Random(seed)  # transfer and receipt numbers, bid keys: the same on every run

    # --- time and output -----------------------------------------------------------------------

    def say(self, line: str) -> None:
        self.echo(f"{clock.local_now():%Y-%m-%d %H:%M} {line}")
        self.last = line.split("：")[0][:40]

    def key(self, prefix: str) -> str:
        return f"SIM-{prefix}-{self.rng.getrandbits(40):010X}"

    @staticmethod
    def drive(steps):
        """Run one stage generator to its end on the frozen clock, moving the clock to each instant it waits
        for; returns what the generator returns."""
        try:
            at = next(steps)
            while True:
                clock.freeze(max(clock.now(), at) if clock.is_frozen() else at)  # the first: the run's first day
                at = steps.send(None)
        except StopIteration as stop:
            return stop.value

    @staticmethod
    def at_local(d, hour: int, minute: int = 0, second: int = 0):
        target = clock.local_datetime(d, hour, minute, second)
        if clock.is_frozen() and target < clock.now():
            raise RuntimeError(f"模拟时钟不能倒退到 {clock.to_local(target):%Y-%m-%d %H:%M}")
        yield target

    def later_today(self, hour: int, minute: int = 0):
        return self.at_local(clock.today_local(), hour, minute)

    def next_workday(self, hour: int, minute: int = 0):
        """``hour:minute`` of the next working day (today's, if it is a working day and still ahead)."""
        from exchange.workdays.services import add_working_days, is_workday
        d = clock.today_local()
        if not (is_workday(d) and clock.local_datetime(d, hour, minute) > clock.now()):
            d = add_working_days(d, 1)
        return self.at_local(d, hour, minute)

    @staticmethod
    def until(instant, *, plus: timedelta = timedelta(minutes=1)):
        yield max(clock.now(), clock.ensure_aware(instant) + plus)

    @staticmethod
    def wait(**delta):
        yield clock.now() + timedelta(**delta)

    @contextlib.contextmanager
    def as_user(self, username: str, stage: str) -> Iterator:
        """One step of ``stage`` done by ``username`` (audited as that account), committed like a request."""
        from exchange.audit.services import acting_as, actor_for_user
        from exchange.extensions import db
        with _stage(stage):
            user = self.user(username)
            with acting_as(actor_for_user(user, self.via)):
                yield user
            db.session.commit()

    def user(self, username: str):
        from exchange.accounts.models import User
        from exchange.extensions import db
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            raise RuntimeError(f"演示账号 {username} 不存在")
        return user

    def sweep(self, stage: str) -> dict:
        """One pass of the deadline sweeper; any item it could not handle stops the simulation at ``stage``
        (the sweeper itself only logs it and retries next pass), naming the handler, the items and why."""
        from exchange.deadlines.sweeper import HANDLERS, log as sweeper_log, sweep
        errors = _Errors()
        sweeper_log.addHandler(errors)
        try:
            with _stage(stage):
                result = sweep()
                if not result.ran:
                    raise RuntimeError("到期处理被另一个进程占用，请稍后重试")
        finally:
            sweeper_log.removeHandler(errors)
        if result.failed:
            parts = []
            for name, ids in result.failed.items():
                label = getattr(HANDLERS.get(name), "label", "") or name
                which = "查找到期事项时出错" if ids == ["*"] else f"编号 {', '.join(map(str, ids))}"
                parts.append(f"{label}（{name}）失败 {len(ids)} 项，{which}")
            why = f"；原因：{'；'.join(errors.messages[:3])}" if errors.messages else ""
            raise SimulationError(stage, "到期处理未完成：" + "；".join(parts) + why)
        return result.counts

    # --- the run -------------------------------------------------------------------------------

    def play(self, url: str, workdir: Path, listings: int = 1) -> Result:
        from exchange.audit.services import acting_as
        from exchange.demo import DEMO_PASSWORD, seed
        from exchange.extensions import db

        self.drive(self.at_local(self.first_day(listings), 8, 30))
        self.signing_key()
        with _stage("写入演示机构和账号"):
            with acting_as("演练 simulate"):
                seed(DEMO_PASSWORD)
            db.session.commit()
        self.say(f"演练数据库 {shown(url)}：交易中心、14 个交易站及交易点、各角色演示账号（密码 {DEMO_PASSWORD}），"
                 f"附件和签章密钥在 {workdir}")

        self.drive(self.later_today(8, 45))
        with self.as_user(ADMIN, "设定收费标准") as admin:
            from exchange.settlement.services import save_fee_rule
            save_fee_rule(admin, None, basis="rate", rate=FEE_RATE, min_fee=FEE_MIN, payer="buyer",
                          note="演练：成交价的 1%，最低 100 元，受让方支付")
        self.say("中心管理员设定收费标准：成交价 1%，最低 100 元，由受让方支付")

        deals = failed = 0
        last = None
        for i in range(listings):
            if i:
                self.drive(self.next_workday(9, 0))  # the next listing starts the working day after the last one ended
            outcome = self.drive(self.one_listing(variant(i, clock.today_local())))
            if outcome is None:
                failed += 1
            else:
                deals += 1
                last = outcome
        listing_id, cert_no, sha = last
        self.checks(cert_no, sha)
        if listings > 1:
            self.echo(f"共 {listings} 个项目：成交 {deals}，流拍 {failed}，鉴证书 {deals} 份")
        self.echo(f"鉴证书 {cert_no} {sha}")
        return Result(url, workdir, listing_id, cert_no, sha, listings=listings, deals=deals, failed=failed,
                      certificates=deals)

    def play_procurement(self, url: str, workdir: Path) -> Result:
        """``flask simulate --procurement``: one village procurement project (exchange.training.procurement_run)."""
        from exchange.audit.services import acting_as
        from exchange.demo import DEMO_PASSWORD, seed
        from exchange.extensions import db
        from exchange.training.procurement_run import procurement_project
        from exchange.workdays.services import is_workday
        d = clock.today_local()
        need = 22  # working days: the bid period, the 公示, the award, the contract, the settlement, the 鉴证书
        while need:
            d -= timedelta(days=1)
            need -= is_workday(d)
        self.drive(self.at_local(d, 8, 30))
        self.signing_key()
        with _stage("写入演示机构和账号"):
            with acting_as("演练 simulate"):
                seed(DEMO_PASSWORD)
            db.session.commit()
        self.say(f"演练数据库 {shown(url)}：交易中心、交易站及交易点、专家库、各角色演示账号（密码 {DEMO_PASSWORD}），"
                 f"附件和签章密钥在 {workdir}")
        listing_id, cert_no, sha = self.drive(procurement_project(self))
        self.checks(cert_no, sha)
        self.echo(f"鉴证书 {cert_no} {sha}")
        return Result(url, workdir, listing_id, cert_no, sha, listings=1, deals=1, failed=0, certificates=1)

    def first_day(self, listings: int):
        """The working day the run starts on: far enough back that all ``listings`` are over before today, so
        the statistics and warnings of this year (their default period) show them, and no clock of the
        platform runs ahead of the real one when the database is served."""
        from exchange.catalog.models import Category
        from exchange.extensions import db
        from exchange.tradingrules.services import value
        from exchange.workdays.services import is_workday
        today = clock.today_local()
        publicity = value("publicity_working_days")  # the run's own new database: the 交易规则 default
        announce = dict(db.session.execute(select(Category.code, Category.announce_days)).all())
        # a listing takes its announcement, its publicity and four working days more (trading, contract,
        # settlement, certificate); a 流拍 ends the day after its announcement; two spare days at the end
        need = 2 + sum(announce.get(v.category, 5) + (2 if v.way == "failed" else publicity + 4)
                       for v in (variant(i, today) for i in range(listings)))
        d = today
        while need:
            d -= timedelta(days=1)
            need -= is_workday(d)
        return d

    def signing_key(self) -> None:
        """The run's signing key and certificate, valid from before the run's first (simulated) day."""
        from cryptography import x509
        from flask import current_app

        from exchange.certificates.signing import generate_key
        key_path, cert_path = Path(current_app.config["CERT_KEY_PATH"]), Path(current_app.config["CERT_PATH"])
        if key_path.exists() and cert_path.exists():
            with contextlib.suppress(ValueError):
                cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
                if cert.not_valid_before_utc <= clock.now() <= cert.not_valid_after_utc:
                    return
        with _stage("生成演练签章密钥"):
            generate_key(key_path, cert_path, "临湘市农村产权交易中心（演练）", overwrite=True)

    STOPS = ("review", "registrations", "deal", "publicity", "contract", "settlement")

    def one_listing(self, v: Variant, stop: str | None = None):
        """One listing from intake to its end: (listing, certificate number, sha256), or None for a 流拍.  With
        ``stop`` (one of :attr:`STOPS`) it ends after that stage and returns the listing's id (the demo's work in
        progress: a listing left there waits for the next role)."""
        if stop is not None and stop not in self.STOPS:
            raise ValueError(stop)
        listing_id = yield from self.intake_and_review(v)
        if stop == "review":
            return listing_id
        yield from self.registrations(v, listing_id)
        if stop == "registrations":
            return listing_id
        return (yield from self.finish(v, listing_id, stop))

    def finish(self, v: Variant, listing_id: int, stop: str | None = None):
        """:meth:`one_listing` from the end of its announcement on."""
        way = yield from self.close_announcement(v, listing_id)
        if way == "failed":
            return None
        if way == "agreement":
            deal_id = yield from self.agreement(listing_id)
        else:
            session_id = yield from self.trading(v, listing_id)
            deal_id = yield from self.bidding(v, listing_id, session_id)
        if stop == "deal":
            return listing_id
        yield from self.publicity(v, listing_id, deal_id)
        if stop == "publicity":
            return listing_id
        yield from self.contract(v, deal_id)
        if stop == "contract":
            return listing_id
        yield from self.settlement(deal_id)
        if stop == "settlement":
            return listing_id
        cert_no, sha = yield from self.certificate(deal_id)
        return listing_id, cert_no, sha

    # --- one listing ---------------------------------------------------------------------------

    def listing(self, listing_id: int):
        from exchange.extensions import db
        from exchange.listings.models import Listing
        db.session.expire_all()
        return db.session.get(Listing, listing_id)

    def intake_and_review(self, v: Variant) -> int:
        from exchange.catalog.models import Category, TransferMethod
        from exchange.demo import DEMO_PDF
        from exchange.extensions import db
        from exchange.listings import rules
        from exchange.listings import services as svc
        from exchange.listings.workflow import STATE_LABELS
        from exchange.money import format_yuan

        yield from self.later_today(9, 0)
        stage = "交易点录入并提交"
        with self.as_user(v.clerk, stage) as clerk:
            cat = db.session.scalar(select(Category).where(Category.code == v.category))
            method = None
            if v.method:
                method = db.session.scalar(select(TransferMethod).where(TransferMethod.category_id == cat.id,
                                                                        TransferMethod.name == v.method))
            listing = svc.create_draft(clerk, category=cat, method=method, title=v.title, **v.fields)
            for kind in rules.required_materials(listing):
                svc.add_material(clerk, listing, kind, DEMO_PDF, f"{rules.MATERIAL_KINDS[kind].label}.pdf")
            svc.submit(clerk, listing)
            listing_id = listing.id
        listing = self.listing(listing_id)
        appraisal = ""
        if listing.appraisal_value is not None:
            appraisal = f"（评估值 {format_yuan(listing.appraisal_value)} 元，村民代表 {listing.reps_for}/{listing.reps_total} 同意）"
        self.say(f"交易点录入并提交项目 #{listing.id}《{listing.title}》：底价 "
                 f"{format_yuan(listing.floor_price)} 元{appraisal}，{len(listing.materials)} 份材料（{self.user(v.clerk).display_name}）")

        yield from self.later_today(10, 30)
        with self.as_user(v.station, "交易站初审") as station:
            svc.station_decide(station, self.listing(listing_id), True, "材料齐全，情况属实")
        self.say(f"交易站初审通过，报交易中心审核（{self.user(v.station).display_name}）")

        yield from self.later_today(15, 0)
        with self.as_user(REVIEWER, "交易中心审核并发布") as reviewer:
            svc.center_decide(reviewer, self.listing(listing_id), "approve",
                              {k: {"ok": True} for k in svc.CENTER_CHECKLIST}, "权属清楚，程序合规，同意发布")
        listing = self.listing(listing_id)
        if listing.state != "announced":
            raise SimulationError("交易中心审核并发布", f"项目状态为“{STATE_LABELS.get(listing.state)}”，不是公告中")
        self.say(f"交易中心审核通过并发布公告 {listing.project_no}：公告期至 "
                 f"{clock.to_local(listing.announce_end_at - timedelta(microseconds=1)):%Y-%m-%d}，保证金 "
                 f"{format_yuan(listing.deposit_amount)} 元须于 {clock.to_local(listing.deposit_deadline_at):%Y-%m-%d %H:%M} 前到账")
        return listing_id

    def registrations(self, v: Variant, listing_id: int) -> None:
        from exchange.demo import DEMO_PDF
        from exchange.extensions import db
        from exchange.payments import services as psvc
        from exchange.payments.providers import get_provider
        from exchange.registrations import services as rsvc
        from exchange.payments import deposits
        from exchange.registrations.models import Registration

        yield from self.next_workday(9, 30)
        for b in v.buyers:
            with self.as_user(b.username, "意向受让方报名") as buyer:
                reg = rsvc.apply(buyer, self.listing(listing_id), accept_declaration=True, offer=b.offer)
                for kind in rsvc.required_materials(reg):
                    rsvc.add_material(buyer, reg, kind, DEMO_PDF, f"{rsvc.BUYER_MATERIALS[kind]}.pdf")
            offer = f"（意向报价 {self.yuan(reg.offer)} 元）" if b.offer else ""
            self.say(f"{buyer.display_name} 在线报名{offer}并上传资格材料")
            yield from self.wait(minutes=20)

        def reg_of(username: str) -> Registration:
            db.session.expire_all()
            return db.session.scalar(select(Registration).where(Registration.listing_id == listing_id,
                                                                Registration.buyer_id == self.user(username).id))

        yield from self.later_today(15, 0)
        for b in v.buyers:
            if b.does == "applied":  # left for the reviewer (the demo's queue)
                continue
            if b.does == "reject":
                with self.as_user(REVIEWER, "受让方资格审核") as reviewer:
                    rsvc.reject(reviewer, reg_of(b.username), b.reason)
                self.say(f"交易中心审核 {reg_of(b.username).buyer.display_name} 的资格：不予登记（{b.short}）")
            else:
                with self.as_user(REVIEWER, "受让方资格审核") as reviewer:
                    rsvc.qualify(reviewer, reg_of(b.username), "资格材料齐全，符合受让条件")
                self.say(f"交易中心审核 {reg_of(b.username).buyer.display_name} 的资格：合格，缴款码 "
                         f"{reg_of(b.username).payment_ref}")

        online = [b.username for b in v.buyers if b.does == "online"]
        receipt = [b.username for b in v.buyers if b.does == "receipt"]
        if online or receipt:
            yield from self.next_workday(10, 0)
        for name in online:
            stage = "网上支付保证金"
            with self.as_user(name, stage) as buyer:
                order = psvc.start_online_payment(buyer, reg_of(name), "sandbox")
                order_no = order.order_no
            with _stage(stage):
                order = db.session.scalar(select(psvc.PaymentOrder).where(psvc.PaymentOrder.order_no == order_no))
                body, headers = get_provider("sandbox").notification_for(order)
                result = psvc.receive_notification("sandbox", body, headers, remote_addr="sandbox")
                db.session.commit()
                if result.outcome != "booked":
                    raise RuntimeError(f"模拟网银通知未入账（{result.outcome}）：{result.message}")
            reg = reg_of(name)
            self.say(f"{reg.buyer.display_name} 网上支付保证金 {self.yuan(reg.deposit_amount)} 元（模拟网银签名通知 {order_no}），"
                     f"竞买号 {reg.bidder_no}")
            yield from self.wait(minutes=20)

        if receipt:
            yield from self.later_today(11, 0)
        for name in receipt:
            with self.as_user(FINANCE, "银行回单确认保证金") as finance:
                reg = reg_of(name)
                deposits.confirm_deposit(finance, reg, reg.deposit_amount,
                                     source_key=self.key("HX"),
                                     receipt=DEMO_PDF, receipt_filename="银行回单.pdf")
            reg = reg_of(name)
            self.say(f"中心财务凭银行回单确认 {reg.buyer.display_name} 的保证金 {self.yuan(reg.deposit_amount)} 元，"
                     f"竞买号 {reg.bidder_no}")
            yield from self.wait(minutes=20)

    @staticmethod
    def yuan(value) -> str:
        from exchange.money import format_yuan
        return format_yuan(value)

    def close_announcement(self, v: Variant, listing_id: int) -> str:
        """The sweeper ends the announcement: 组织交易 (``bidding`` or ``agreement``), or 流拍 (``failed``)."""
        from exchange.trading import services as tsvc
        stage = "公告期满（到期处理）"
        listing = self.listing(listing_id)
        yield from self.until(max(listing.announce_end_at, listing.deposit_deadline_at))
        self.sweep(stage)
        listing = self.listing(listing_id)
        paid = tsvc.paid_registrations(listing) if listing.state == "trading" else []
        way = "failed" if listing.state == "failed" else "agreement" if len(paid) == 1 else "bidding"
        if listing.state not in ("trading", "failed") or way != v.way:
            raise SimulationError(stage, f"项目没有按预期{'流拍' if v.way == 'failed' else '进入组织交易'}"
                                         f"（当前：{listing.state}，已交保证金 {len(paid)} 人）")
        if way == "failed":
            abandoned = sum(1 for b in v.buyers if b.does == "unpaid")
            why = (f"{abandoned} 个合格的意向受让方未在截止时间前交纳保证金（视为放弃）" if abandoned
                   else "没有合格且已交保证金的意向受让方")
            self.say(f"到期处理：公告期满，{why}，项目流拍")
        elif way == "agreement":
            self.say(f"到期处理：公告期满，只有 {paid[0].buyer.display_name} 交纳了保证金，项目进入组织交易，按协议转让成交")
        else:
            self.say(f"到期处理：公告期满，{len(paid)} 个竞买人已交保证金，项目进入组织交易")
        return way

    def agreement(self, listing_id: int) -> int:
        """协议转让: the trading officer confirms the deal with the one paid buyer at the offer."""
        from exchange.trading import services as tsvc
        yield from self.next_workday(9, 0)
        with self.as_user(OFFICER, "确认协议转让") as officer:
            deal = tsvc.confirm_agreement(officer, self.listing(listing_id))
            deal_id = deal.id
        listing = self.listing(listing_id)
        deal = tsvc.deal_for(listing)
        self.say(f"中心交易员确认协议转让：{deal.registration.buyer.display_name} 以意向报价 {self.yuan(deal.price)} 元受让"
                 f"（底价 {self.yuan(listing.floor_price)} 元），成交 {deal.deal_no}，交易公示至 "
                 f"{clock.to_local(deal.publicity_end_at - timedelta(microseconds=1)):%Y-%m-%d}")
        yield from self.wait(minutes=1)  # the sweeper's next pass, as every minute in production (warnings found then)
        self.sweep("确认协议转让（到期处理）")
        return deal_id

    def trading(self, v: Variant, listing_id: int) -> int:
        from exchange.trading import services as tsvc
        yield from self.next_workday(9, 0)
        start_day = clock.today_local()
        with self.as_user(OFFICER, "安排网络竞价") as officer:
            session = tsvc.schedule_online(officer, self.listing(listing_id),
                                           starts_at=clock.local_datetime(start_day, 14, 30), free_minutes=30,
                                           countdown_seconds=300, max_extension_minutes=30)
            session_id = session.id
            increment = session.increment
        self.say(f"中心交易员安排网络竞价：{start_day:%m-%d} 14:30 开始，自由报价 30 分钟，限时报价倒计时 5 分钟"
                 f"（出价即重新计时，最多延长 30 分钟），加价幅度 {increment:,.0f} 元")
        return session_id

    def bidding(self, v: Variant, listing_id: int, session_id: int) -> int:
        from exchange.extensions import db
        from exchange.trading import services as tsvc
        from exchange.trading.models import BiddingSession, Deal

        def session() -> BiddingSession:
            db.session.expire_all()
            return db.session.get(BiddingSession, session_id)

        def bid(username: str, amount: Decimal) -> None:
            with self.as_user(username, "网络竞价出价") as buyer:
                tsvc.place_bid(buyer, session_id, str(amount), key=self.key("BID"), ip=self.via)
            s = session()
            tail = ""
            if clock.now() >= s.free_end_at:
                tail = f"，倒计时重新开始，结束时间延至 {clock.to_local(s.ends_at):%H:%M:%S}"
            self.say(f"{buyer.display_name} 出价 {self.yuan(amount)} 元{tail}")

        s = session()
        yield from self.until(s.starts_at, plus=timedelta(0))
        self.say(f"网络竞价开始，起始价 {self.yuan(s.start_price)} 元")
        inc, price = s.increment, s.start_price
        bidders = v.payers
        for step in v.bids:
            if step == FREE_END:
                s = session()
                yield from self.until(s.free_end_at, plus=timedelta(0))
                self.say(f"自由报价期结束，进入限时报价期：倒计时至 {clock.to_local(s.ends_at):%H:%M:%S}")
                continue
            who, steps, seconds = step
            yield from self.wait(seconds=seconds)
            price += steps * inc
            bid(bidders[who], price)
        late_bidder = self.user(bidders[v.late])
        s = session()
        yield from self.until(s.ends_at, plus=timedelta(seconds=1))
        with _stage("竞价结束"):
            try:
                tsvc.place_bid(late_bidder, session_id, str(price + inc), key=self.key("BID"))
            except tsvc.BidRefused as exc:
                db.session.rollback()
                late = exc.message
            else:
                raise RuntimeError("倒计时结束后的报价竟被接受")
        self.say(f"倒计时结束后 {late_bidder.display_name} 再出价被拒绝：{late}")
        self.sweep("竞价结束（到期处理）")
        s = session()
        deal = db.session.scalar(select(Deal).where(Deal.listing_id == listing_id))
        if s.state != "ended" or deal is None:
            raise SimulationError("竞价结束（到期处理）", f"竞价没有成交（{s.state}，{s.outcome}）")
        self.say(f"到期处理：竞价结束，{s.outcome}，共 {s.seq} 次报价；成交 {deal.deal_no}，交易公示至 "
                 f"{clock.to_local(deal.publicity_end_at - timedelta(microseconds=1)):%Y-%m-%d}")
        return deal.id

    def publicity(self, v: Variant, listing_id: int, deal_id: int) -> None:
        from exchange.extensions import db
        from exchange.ledger import refunds
        from exchange.ledger.models import Refund
        from exchange.trading.models import Deal

        yield from self.next_workday(10, 0)
        db.session.expire_all()
        ids = db.session.scalars(select(Refund.id).where(Refund.listing_id == listing_id, Refund.reason == "lost",
                                                         Refund.state == "pending")).all()
        if len(v.payers) > 1 and not ids:
            raise SimulationError("退还保证金", "未成交竞买人的保证金没有列入退款")
        for rid in ids:
            with self.as_user(FINANCE, "退还保证金（登记）") as maker:
                refund = refunds.record_transfer(maker, db.session.get(Refund, rid),
                                                 self.key("TK"))
                amount, payee = refund.amount, refund.payee
            yield from self.wait(minutes=30)
            with self.as_user(FINANCE2, "退还保证金（复核）") as checker:
                refunds.approve(checker, db.session.get(Refund, rid))
            self.say(f"中心财务退还未成交竞买人 {payee} 的保证金 {self.yuan(amount)} 元（登记 {self.user(FINANCE).display_name}，"
                     f"复核 {self.user(FINANCE2).display_name}）")

        deal = db.session.get(Deal, deal_id)
        yield from self.until(deal.publicity_end_at)
        self.sweep("交易公示期满（到期处理）")
        listing = self.listing(listing_id)
        if listing.state != "contract":
            raise SimulationError("交易公示期满（到期处理）", f"项目没有进入签约（当前：{listing.state}）")
        from exchange.contracts.models import Contract
        contract = db.session.scalar(select(Contract).where(Contract.deal_id == deal_id))
        self.say(f"到期处理：交易公示期满无异议，生成合同文本，双方须于 "
                 f"{clock.to_local(contract.due_at - timedelta(microseconds=1)):%Y-%m-%d} 前签约")

    def contract(self, v: Variant, deal_id: int) -> None:
        from exchange.contracts import services as csvc
        from exchange.contracts.models import Contract
        from exchange.demo import DEMO_PASSWORD, DEMO_PDF
        from exchange.extensions import db
        from exchange.trading.models import Deal

        def contract() -> Contract:
            db.session.expire_all()
            return db.session.scalar(select(Contract).where(Contract.deal_id == deal_id))

        winner = db.session.get(Deal, deal_id).registration.buyer.username
        seller = "农户" if v.fields.get("transferor_kind", "household") == "household" else "村集体经济组织"
        yield from self.next_workday(9, 30)
        with self.as_user(winner, "受让方签署合同") as buyer:
            csvc.confirm(buyer, contract(), DEMO_PASSWORD)
        self.say(f"受让方 {buyer.display_name} 输入登录密码在线签署合同")
        yield from self.later_today(10, 0)
        with self.as_user(v.clerk, "登记转让方纸质签字") as clerk:
            csvc.confirm(clerk, contract(), DEMO_PASSWORD, DEMO_PDF, "转让方签字页.pdf")
        c = contract()
        self.say(f"交易点信息员 {clerk.display_name} 登记无账号的{seller}在纸质合同上的签字并上传签字页，"
                 f"双方均已签署，合同 {c.contract_no} 生效，项目进入资金结算")
        yield from self.later_today(10, 30)
        with self.as_user(v.clerk, "上传签章合同扫描件") as clerk:
            csvc.upload_scan(clerk, contract(), DEMO_PDF, "合同签章件.pdf")
        self.say("交易点上传双方签字盖章的合同扫描件")
        yield from self.later_today(14, 0)
        with self.as_user(REVIEWER, "交易中心核验签章合同") as reviewer:
            csvc.check(reviewer, contract(), approve=True, note="签章齐全，与双方签署的文本一致")
        self.say("交易中心核验签章合同扫描件无误（鉴证时查验）")

    def settlement(self, deal_id: int) -> None:
        from exchange.extensions import db
        from exchange.payments import services as psvc
        from exchange.payments.providers import get_provider
        from exchange.settlement import services as stl
        from exchange.settlement.models import Settlement
        from exchange.trading.models import Deal

        def settlement() -> Settlement:
            db.session.expire_all()
            return db.session.scalar(select(Settlement).where(Settlement.deal_id == deal_id))

        winner = db.session.get(Deal, deal_id).registration.buyer.username
        yield from self.later_today(14, 30)
        s = settlement()
        if s is None:  # opened in the same transaction as the contract's effect (第十七条), by nobody's click
            raise SimulationError("开始资金结算", "合同生效后没有生成结算单")
        self.say(f"合同生效即生成结算单 {s.payment_ref}：成交价 {self.yuan(s.price)} 元，保证金转价款 {self.yuan(s.deposit_converted)} 元，"
                 f"服务费 {self.yuan(s.buyer_fee)} 元（受让方），应付 {self.yuan(s.amount_to_pay)} 元，"
                 f"{clock.to_local(s.due_at - timedelta(microseconds=1)):%Y-%m-%d} 前付清")
        yield from self.later_today(15, 0)
        stage = "网上支付价款"
        with self.as_user(winner, stage) as buyer:
            order_no = psvc.start_price_payment(buyer, settlement(), "sandbox").order_no
        with _stage(stage):
            order = db.session.scalar(select(psvc.PaymentOrder).where(psvc.PaymentOrder.order_no == order_no))
            body, headers = get_provider("sandbox").notification_for(order)
            result = psvc.receive_notification("sandbox", body, headers, remote_addr="sandbox")
            db.session.commit()
            if result.outcome != "booked":
                raise RuntimeError(f"模拟网银通知未入账（{result.outcome}）：{result.message}")
        s = settlement()
        self.say(f"{buyer.display_name} 网上支付余款和服务费 {self.yuan(order.amount)} 元（模拟网银签名通知 {order_no}）")

        yield from self.next_workday(10, 0)
        with self.as_user(FINANCE, "收取服务费并登记划付") as maker:
            payout = stl.charge_fees(maker, settlement())
            stl.record_transfer(maker, payout, self.key("HK"))
            amount, payee = payout.amount, payout.payee_name
            payout_id = payout.id
        self.say(f"中心财务收取服务费 {self.yuan(s.buyer_fee + s.seller_fee)} 元，登记划付 {self.yuan(amount)} 元至 {payee}"
                 f"（{maker.display_name}）")
        yield from self.later_today(10, 30)
        with self.as_user(FINANCE2, "复核划付") as checker:
            from exchange.settlement.models import Payout
            stl.approve(checker, db.session.get(Payout, payout_id))
        s = settlement()
        self.say(f"另一名财务 {checker.display_name} 复核通过划付，资金结算完毕，鉴证书须于 "
                 f"{clock.to_local(s.certificate_due_at - timedelta(microseconds=1)):%Y-%m-%d} 前出具")

    def certificate(self, deal_id: int) -> tuple[str, str]:
        from exchange.certificates import services as cert_svc
        from exchange.extensions import db
        from exchange.trading.models import Deal
        yield from self.later_today(14, 0)
        with self.as_user(REVIEWER, "出具鉴证书") as reviewer:
            cert = cert_svc.issue(reviewer, db.session.get(Deal, deal_id))
            cert_no, sha = cert.cert_no, cert.pdf_sha256
        listing = db.session.get(Deal, deal_id).listing
        self.say(f"交易中心出具鉴证书 {cert_no}（已签章），项目 {listing.project_no} 办结")
        return cert_no, sha

    def checks(self, cert_no: str, sha: str) -> None:
        from flask import current_app

        from exchange.audit.services import verify
        from exchange.ledger.services import check
        with _stage("账务校验"):
            problems = check()
            if problems:
                raise RuntimeError("；".join(problems))
        with _stage("审计链校验"):
            result = verify()
            if not result.ok:
                raise RuntimeError(result.message())
        with _stage("鉴证书核验"):
            from exchange.certificates.services import short_number
            response = current_app.test_client().get(f"/verify/{short_number(cert_no)}")
            body = response.get_data(as_text=True)
            if response.status_code != 200 or "有效" not in body or sha not in body:
                raise RuntimeError(f"/verify 页面没有显示有效和哈希（HTTP {response.status_code}）")
        self.say(f"账务校验通过（借贷平衡、进账 = 出账 + 在账），审计链完整；/verify/{short_number(cert_no)} 显示有效")
