"""The demo's history (``flask seed-demo --history [N]``, ``make run``): about two years of listings driven through
the services by :class:`exchange.training.simulate.Simulation`, as each role's account, in simulated time.

:func:`exchange.demo.seed` calls :meth:`History.begin` first (the org tree and the accounts then exist from the
history's first day) and :meth:`History.play` after the accounts, before today's light listings.  ``play`` starts
``n`` listings (default 48) spread over the two years, all 14 towns in turn and the main categories in turn
(土地经营权, 林权, 集体经营性资产, 四荒, 集体资源性资产, 设施设备), and runs them at once on one frozen clock
(:class:`exchange.training.simulate.Scheduler`): 网络竞价 with refunds to the losers, 协议转让, 流拍; and two
more: one listing suspended (中止) and restarted, one whose buyer never signs and is declared in default (违约).  Then the
listings that leave today's work in every queue, timed to end their stage in the last working days: deposits
awaiting booking and registrations awaiting qualification, a deal in 交易公示 with refunds to make, a contract
awaiting signatures, a settlement awaiting
payment, a certificate awaiting issue, and a listing suspended now.  The clock is then today's again; one pass of
the deadline sweeper at today's time and a refresh of the statistics rollup end it.

Everything is fixed by the seed (quantities, prices, bids, villages): the same data on every run of the same day.
"""
from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from exchange import clock
from exchange.training.simulate import FREE_END, REVIEWER, Buyer, Scheduler, Simulation, SimulationError, Variant

HISTORY_LISTINGS = 48
HISTORY_DAYS = 730
SEED = 17_19  # issue 17, item 19
VIA = "演示"
# the listings of the history, in turn (a 流拍 now and then)
KINDS = ("land", "forest", "asset", "wasteland", "land", "resource", "equipment", "failed")


def _workdays_back(d: date, n: int) -> date:
    from exchange.workdays.services import is_workday
    while n:
        d -= timedelta(days=1)
        n -= is_workday(d)
    return d


def _villages() -> list[list[tuple[str, str, str, int]]]:
    """Per town (in the city's order): its villages (村 only) as (town, pinyin, village, point number)."""
    from exchange.demo import TOWNS
    return [[(t, p, v, j) for j, v in enumerate(vs, start=1) if v.endswith("村")] for t, p, vs in TOWNS]


def _place(k: int) -> tuple[str, str, str, int]:
    """The ``k``-th listing's village: the towns in turn, each town's villages in turn."""
    towns = _villages()
    vs = towns[k % len(towns)]
    return vs[(k // len(towns)) % len(vs)]


def _household(k: int) -> dict:
    from exchange.idcheck import make_resident_id
    name = f"农户演示{k + 11}"
    return dict(transferor_kind="household", transferor_name=name,
                transferor_id_no=make_resident_id(
                    f"430682{1955 + k % 30}{k % 12 + 1:02d}{k % 28 + 1:02d}{500 + k:03d}"),
                transferor_mobile=f"1370000{k:04d}", account_name=name, account_bank="临湘农商银行",
                account_no=f"62101000000{k:05d}")


def _collective(k: int, town: str, village: str, day: date, appraisal: Decimal) -> dict:
    from exchange.idcheck import make_org_code, make_uscc
    name = f"临湘市{town}{village}股份经济合作社"
    return dict(transferor_kind="collective", transferor_name=name,
                transferor_id_no=make_uscc("N2430682" + make_org_code(f"{6200 + k:08d}")),
                transferor_mobile=f"1390000{k:04d}", account_name=name, account_bank="临湘农商银行",
                account_no=f"62102000000{k:05d}", appraisal_value=str(appraisal),
                appraisal_agency="湖南演示资产评估有限公司", appraisal_report_no=f"湘演评字〔{day.year}〕第{k + 1:03d}号",
                decision_type="村民代表会议", decision_date=(day - timedelta(days=12)).isoformat(), reps_total=36,
                reps_for=30)


def _bids(rng: random.Random, payers: int) -> tuple[tuple, int]:
    """A bidding plan for ``payers`` bidders: a few free bids (30 minutes), then one to three in the countdown;
    and the bidder who tries once more too late (never the winner)."""
    steps, who = [], 0
    for n in range(rng.randint(2, 4)):
        steps.append((who, 0 if n == 0 else rng.randint(1, 3), rng.randint(120, 400)))
        who = (who + 1) % payers
    steps.append(FREE_END)
    for _n in range(rng.randint(1, 3)):
        steps.append((who, rng.randint(1, 2), rng.randint(60, 250)))
        who = (who + 1) % payers
    return tuple(steps), who


def _pair(rng: random.Random, names=("buyer_person", "buyer_company", "buyer_coop")) -> list[str]:
    names = list(names)
    rng.shuffle(names)
    return names


def variant(k: int, kind: str, day: date, rng: random.Random) -> Variant:
    """The ``k``-th listing of the history, of ``kind`` (:data:`KINDS`), starting on ``day``."""
    town, pinyin, village, j = _place(k)
    year = day.year
    term = dict(term_start=f"{year + 1}-01-01", term_end=f"{year + rng.choice((5, 8, 10))}-12-31",
                right_end_date="2038-12-31")
    cert = f"430682-演示-{k + 101:04d}"
    group = "一二三四五六七八九"[rng.randint(0, 8)]
    b = _pair(rng)
    if kind in ("land", "failed"):
        mu = rng.choice((12, 18, 25, 30, 40, 56, 80, 120))
        price = rng.choice((380, 420, 450, 480, 500, 520, 560))
        use = rng.choice(("水稻种植", "双季稻", "油菜、红薯", "蔬菜种植"))
        fields = dict(location=f"{town}{village}{group}组", boundaries="东至机耕道，南至水渠，西至山脚，北至村道",
                      quantity=str(mu), current_use=use, **term, price_mode="per_unit_year",
                      floor_unit_price=str(price), price_basis="参照周边近三年流转价格", **_household(k),
                      trading_method="online_bidding", bid_increment=str(rng.choice((200, 500, 1000))),
                      right_cert_no=cert, buyer_conditions="具备农业生产经营能力，不得改变农业用途")
        title = f"{village}{group}组 {mu} 亩{'水田' if '稻' in use else '旱地'}经营权出租"
        if kind == "failed":  # one qualified buyer never pays, another is refused: nobody bids → 流拍
            return Variant(k, "failed", pinyin, village, j, "C01", None, title, fields,
                           (Buyer(b[0], "unpaid"), Buyer("buyer_coop" if b[0] != "buyer_coop" else b[1], "reject",
                                                         "未提供农业生产经营能力证明", "未提供经营能力证明")))
        n = rng.choice((2, 3))
        bids, late = _bids(rng, n)
        buyers = tuple(Buyer(name, "online" if i == 0 else "receipt") for i, name in enumerate(b[:n]))
        return Variant(k, "bidding", pinyin, village, j, "C01", None, title, fields, buyers, bids, late)
    if kind == "forest":
        mu = rng.choice((60, 80, 100, 150, 200, 260))
        fields = dict(location=f"{town}{village}后山", boundaries="东至山脊，南至山塘，西至林道，北至邻村界",
                      quantity=str(mu), current_use=rng.choice(("杉木、油茶混交林", "楠竹林", "油茶林")),
                      term_start=f"{year + 1}-01-01", term_end=f"{year + 15}-12-31", right_end_date="2056-12-31",
                      price_mode="per_unit_year", floor_unit_price=str(rng.choice((45, 60, 75, 90))),
                      price_basis="林地评估参考价", **_household(k), trading_method="online_bidding",
                      bid_increment="200", right_cert_no=cert, buyer_conditions="具备林业经营能力，不得改变林地用途")
        bids, late = _bids(rng, 2)
        return Variant(k, "bidding", pinyin, village, j, "C02", "出租", f"{village}后山 {mu} 亩林地经营权出租", fields,
                       (Buyer(b[0], "online"), Buyer(b[1], "receipt")), bids, late)
    if kind == "wasteland":
        mu = rng.choice((35, 50, 70, 90))
        fields = dict(location=f"{town}{village}荒山", boundaries="东至山脊，南至溪沟，西至村道，北至林场",
                      quantity=str(mu), current_use="荒山（灌木）", **term, obtained_by="open_contract",
                      price_mode="per_unit_year", floor_unit_price=str(rng.choice((30, 40, 55))),
                      price_basis="参照周边荒山流转价格", **_household(k), trading_method="online_bidding",
                      bid_increment="200", right_cert_no=cert, buyer_conditions="用于林果种植，须保持水土")
        bids, late = _bids(rng, 2)
        return Variant(k, "bidding", pinyin, village, j, "C03", "出租", f"{village}荒山 {mu} 亩“四荒”使用权出租",
                       fields, (Buyer(b[0], "online"), Buyer(b[1], "receipt")), bids, late)
    if kind == "resource":  # a collective's pond or water surface, by 网络竞价, at or above the appraisal
        mu = rng.choice((20, 30, 45))
        appraisal = Decimal(rng.choice((60000, 90000, 120000)))
        fields = dict(location=f"{town}{village}山塘", boundaries="东至村道，南至农田，西至山脚，北至水渠",
                      quantity=str(mu), current_use="山塘（闲置）", **term, price_mode="total",
                      floor_price=str(appraisal), price_basis="以评估值为底价",
                      **_collective(k, town, village, day, appraisal), trading_method="online_bidding",
                      bid_increment="1000", right_cert_no=cert, buyer_conditions="用于水产养殖，不得改变用途")
        bids, late = _bids(rng, 2)
        return Variant(k, "bidding", pinyin, village, j, "C04", "出租", f"{village}集体山塘 {mu} 亩水面经营权出租",
                       fields, (Buyer("buyer_company", "online"), Buyer("buyer_coop", "receipt")), bids, late)
    if kind == "asset":  # a collective building, one buyer pays → 协议转让 at its offer
        area = rng.choice((300, 450, 600, 800))
        appraisal = Decimal(rng.choice((80000, 100000, 150000)))
        floor = appraisal * Decimal("0.9")
        fields = dict(location=f"{town}{village}村部东侧", boundaries="东至村道，南至晒谷坪，西至村部，北至水塘",
                      quantity=str(area), unit="平方米", current_use="闲置（原村小学校舍）", **term,
                      price_mode="total", floor_price=str(floor), price_basis="评估值的 90%，经村民代表会议同意",
                      **_collective(k, town, village, day, appraisal), trading_method="online_bidding",
                      bid_increment="500", right_cert_no=cert, buyer_conditions="用于农产品加工仓储，不得改变用途")
        return Variant(k, "agreement", pinyin, village, j, "C05", "租赁", f"{village}集体闲置校舍 {area} 平方米租赁",
                       fields, (Buyer(b[0], "online", offer=str(floor + rng.choice((1000, 2000, 5000)))),
                                Buyer(b[1], "unpaid")))
    if kind == "equipment":  # a used machine, one buyer pays → 协议转让
        what, price = rng.choice((("联合收割机", 60000), ("烘干机组", 45000), ("插秧机", 18000)))
        fields = dict(location=f"{town}{village}农机库", quantity="1", unit="台", current_use="在用，状况良好",
                      price_mode="total", floor_price=str(price), price_basis="按成新率估价", **_household(k),
                      trading_method="online_bidding", bid_increment="500", right_cert_no=cert)
        return Variant(k, "agreement", pinyin, village, j, "C06", "转让", f"{village}{what}一台转让", fields,
                       (Buyer(b[0], "receipt", offer=str(price + rng.choice((500, 1000)))), Buyer(b[1], "unpaid")))
    raise ValueError(kind)


class History:
    def __init__(self, n: int = HISTORY_LISTINGS, *, echo=None, days: int = HISTORY_DAYS):
        if n < 1:
            raise ValueError("n")
        self.n, self.days = n, days
        self.echo = echo or (lambda line: None)
        self.rng = random.Random(SEED)
        self.summary: dict = {}

    # --- the clock ---------------------------------------------------------------------------------

    def begin(self) -> None:
        """Freeze the clock at 08:00 of the history's first working day (the org tree and accounts are written
        then) and make sure the center's signing key is there before any certificate is issued."""
        from exchange.workdays.services import is_workday
        self.was_frozen, self.real = clock.is_frozen(), clock.now()
        self.today = clock.today_local()
        first = self.today - timedelta(days=self.days)
        while not is_workday(first):
            first += timedelta(days=1)
        self.first = first
        clock.freeze(clock.local_datetime(first, 8, 0))
        _ensure_key()

    def end(self) -> None:
        if self.was_frozen:
            clock.freeze(max(clock.now(), self.real))
        else:
            clock.unfreeze()

    # --- the run -----------------------------------------------------------------------------------

    def play(self) -> dict:
        import logging

        from exchange.extensions import db
        sim = Simulation(self.echo, via=VIA, seed=SEED)
        sched = Scheduler()
        quiet = [logging.getLogger(name)
                 for name in ("exchange.deadlines.sweeper", "exchange.notifications", "weasyprint")]
        levels = [q.level for q in quiet]
        for q in quiet:  # two years of sweeper passes and notifications: not for the console
            q.setLevel(logging.WARNING)
        try:
            self._fee_rule(sim)
            self._history(sim, sched)
            self._today(sim, sched)
            before = self.real - timedelta(minutes=5)
            left = sched.run(before=before)
            if left:
                raise SimulationError("演示数据", f"{len(left)} 个项目未能在今天之前走完预定阶段：{', '.join(map(str, left))}")
            results = sched.results
            self.end()  # today's clock again (idempotent: the finally below does it too)
            sim.sweep("今天的到期处理")  # what is due by now, as the app's sweeper would do at start-up
        except SimulationError:
            db.session.rollback()
            raise
        except Exception as exc:  # noqa: BLE001 — name the step after the last one done
            db.session.rollback()
            raise SimulationError(f"{sim.last}之后", f"{type(exc).__name__}: {exc}") from exc
        finally:
            self.end()
            for q, level in zip(quiet, levels):
                q.setLevel(level)
        from exchange.supervision.rollup import refresh
        refresh()  # the dashboard's first read finds the rollup done
        db.session.commit()
        past = [v for k, v in results.items() if isinstance(k, int)]
        self.summary = {"listings": self.n, "certificates": sum(1 for v in past if isinstance(v, tuple)),
                        "failed": sum(1 for v in past if v is None), "today": len(results) - len(past)}
        return self.summary

    def _fee_rule(self, sim: Simulation) -> None:
        from exchange.settlement.services import save_fee_rule
        sim.drive(sim.later_today(8, 45))
        with sim.as_user("admin", "设定收费标准") as admin:
            save_fee_rule(admin, None, basis="rate", rate="0.01", min_fee="100", payer="buyer",
                          note="成交价的 1%，最低 100 元，由受让方支付")

    def _history(self, sim: Simulation, sched: Scheduler) -> None:
        """``n`` listings started evenly over the two years (the last ones about two months ago), the kinds in turn;
        then two more: one suspended and restarted (a third of the way), one in default (two thirds)."""
        span = max(self.days - 75, 30)
        for k in range(self.n):
            day = self.first + timedelta(days=span * k // self.n + 1)
            v = variant(k, KINDS[k % len(KINDS)], day, self.rng)
            sched.add(k, sim.one_listing(v), clock.local_datetime(day, 8, 30))
        for i, (share, flow) in enumerate(((3, self.suspended), (1.5, self.defaulted))):
            k = self.n + i
            day = self.first + timedelta(days=int(span / share))
            v = variant(k, "land", day, self.rng)
            steps = flow(sim, v, restart_after=12) if flow == self.suspended else flow(sim, v)
            sched.add(k, steps, clock.local_datetime(day, 8, 30))

    def _today(self, sim: Simulation, sched: Scheduler) -> None:
        """Work waiting today in every queue, each listing timed to end its stage in the last working days."""
        base = self.n + 2
        live = [  # (stop, working days back, kind)
            ("registrations", 2, "land"),  # a registration awaiting qualification, a deposit awaiting booking
            ("deal", 7, "land"),  # in 交易公示, the losers' refunds awaiting transfer
            ("publicity", 12, "land"),  # a contract awaiting signatures
            ("contract", 12, "forest"),  # a settlement awaiting payment
            ("settlement", 14, "wasteland"),  # a certificate awaiting issue
        ]
        for i, (stop, back, kind) in enumerate(live):
            day = _workdays_back(self.today, back)
            k = base + i
            v = variant(k, kind, day, self.rng)
            if stop == "registrations":
                v = replace(v, buyers=(Buyer("buyer_coop", "applied"), Buyer("buyer_company", "unpaid"),
                                       Buyer("buyer_person", "applied")))
            sched.add(f"today-{stop}", sim.one_listing(v, stop=stop), clock.local_datetime(day, 8, 30))
        day = _workdays_back(self.today, 4)
        v = variant(base + len(live), "forest", day, self.rng)
        sched.add("today-suspended", self.suspended(sim, v, restart_after=None), clock.local_datetime(day, 8, 30))

    # --- the special flows -------------------------------------------------------------------------

    def suspended(self, sim: Simulation, v: Variant, restart_after: int | None):
        """中止 during the announcement (a title dispute reported by the town); with ``restart_after`` days, the
        clerk applies for the restart, the center approves and the listing goes on to its end."""
        from exchange.demo import DEMO_PDF
        from exchange.incidents import suspension
        listing_id = yield from sim.intake_and_review(v)
        yield from sim.registrations(v, listing_id)
        yield from sim.next_workday(10, 0)
        with sim.as_user(REVIEWER, "中止交易") as reviewer:
            suspension.suspend(reviewer, sim.listing(listing_id), ground="title_dispute",
                               basis="镇人民政府来函：相邻农户对项目四至提出异议，权属待核实，请暂停交易",
                               document=DEMO_PDF, document_filename="镇人民政府关于暂停交易的函.pdf")
        sim.say(f"交易中心中止项目 #{listing_id}（产权存在权属争议）")
        if restart_after is None:
            return listing_id
        yield from sim.wait(days=restart_after)
        yield from sim.next_workday(9, 30)
        with sim.as_user(v.clerk, "申请重启交易") as clerk:
            suspension.apply_restart(clerk, sim.listing(listing_id),
                                     reason="镇人民政府已核实四至，相邻农户撤回异议，申请恢复交易")
        yield from sim.later_today(15, 0)
        with sim.as_user(REVIEWER, "认定重启") as reviewer:
            suspension.decide_restart(reviewer, sim.listing(listing_id), approve=True,
                                      decision="中止情形已消除，同意重启，各期限按剩余时间恢复")
        sim.say(f"交易中心同意重启项目 #{listing_id}")
        return (yield from sim.finish(v, listing_id))

    def defaulted(self, sim: Simulation, v: Variant):
        """The winner of a 网络竞价 never signs: after the 签约 deadline the center declares the buyer in default
        (第二十二条) and the deposit is forfeited."""
        from exchange.contracts import services as csvc
        from exchange.contracts.models import Contract
        from exchange.demo import DEMO_PASSWORD, DEMO_PDF
        from exchange.extensions import db
        from exchange.incidents import breach
        listing_id = yield from sim.intake_and_review(v)
        yield from sim.registrations(v, listing_id)
        yield from sim.close_announcement(v, listing_id)
        session_id = yield from sim.trading(v, listing_id)
        deal_id = yield from sim.bidding(v, listing_id, session_id)
        yield from sim.publicity(v, listing_id, deal_id)

        def contract() -> Contract:
            db.session.expire_all()
            return db.session.scalar(select(Contract).where(Contract.deal_id == deal_id))

        yield from sim.next_workday(10, 0)
        with sim.as_user(v.clerk, "登记转让方纸质签字") as clerk:
            csvc.confirm(clerk, contract(), DEMO_PASSWORD, DEMO_PDF, "转让方签字页.pdf")
        yield from sim.until(contract().due_at)
        sim.sweep("签约期限届满（到期处理）")
        yield from sim.next_workday(10, 0)
        with sim.as_user(REVIEWER, "认定违约") as reviewer:
            breach.declare_default(reviewer, sim.listing(listing_id),
                                   reason="受让方在签约期限内未签订合同，经电话和短信催告仍未签约，认定受让方违约")
        sim.say(f"交易中心认定项目 #{listing_id} 的受让方违约，没收其保证金")
        return listing_id


def _ensure_key() -> None:
    """The center's signing key (``certificates init-key``): made now, valid from the history's first day, when
    there is none; an existing one is kept (pyHanko signs with the real time, when any key made by init-key is
    valid)."""
    from exchange.certificates.signing import generate_key, key_paths
    key_path, cert_path = key_paths()
    if key_path.exists() and cert_path.exists():
        return
    from exchange.orgs.services import center
    org = center()
    generate_key(key_path, cert_path, org.name if org is not None else "临湘市农村产权交易中心")

