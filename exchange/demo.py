"""Demo data that looks like the county: the center, the 14 town stations with a few village
points each, a demo account for every role, and three buyers.

All people and villages' officers here are fictitious ("演示" in every person's name); the
identity numbers are generated with valid check digits and belong to nobody.
"""
from __future__ import annotations

from datetime import timedelta

import click
from sqlalchemy import func, select

from exchange.accounts.models import OrgType, Role, User
from exchange.accounts.services import SignUp, create_staff, register_public
from exchange.extensions import db
from exchange.idcheck import make_resident_id, make_uscc
from exchange.orgs.services import create_org

DEMO_PASSWORD = "Demo@2026"

# (town, pinyin, [villages/communities]) — the 4 街道 and 10 镇 of Linxiang (DESIGN §1).
TOWNS = [
    ("长安街道", "changan", ["白云社区", "新建村", "茶园村"]),
    ("五里牌街道", "wulipai", ["五里社区", "毛家村"]),
    ("云湖街道", "yunhu", ["云湖社区", "白石村"]),
    ("桃矿街道", "taokuang", ["桃矿社区", "青山村"]),
    ("江南镇", "jiangnan", ["江南村", "团湖村", "山峰村"]),
    ("聂市镇", "nieshi", ["聂市村", "古镇社区"]),
    ("羊楼司镇", "yanglousi", ["羊楼司村", "龙源村", "茶乡村"]),
    ("黄盖镇", "huanggai", ["黄盖村", "湖滨村"]),
    ("桃林镇", "taolin", ["桃林村", "胜峰村"]),
    ("坦渡镇", "tandu", ["坦渡村", "双港村"]),
    ("白羊田镇", "baiyangtian", ["白羊田村", "方山村"]),
    ("长塘镇", "changtang", ["长塘村", "大云村"]),
    ("詹桥镇", "zhanqiao", ["詹桥村", "壁山村"]),
    ("忠防镇", "zhongfang", ["忠防村", "芭蕉村"]),
]

CENTER_STAFF = [
    ("admin", "管演示", Role.ADMIN),
    ("shenhe", "审演示", Role.CENTER_REVIEWER),
    ("jiaoyi", "易演示", Role.TRADING_OFFICER),
    ("caiwu1", "财演示甲", Role.FINANCE),
    ("caiwu2", "财演示乙", Role.FINANCE),
    ("jianguan", "监演示", Role.SUPERVISOR),
]

SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张"


def seed(password: str = DEMO_PASSWORD, history: int = 0) -> dict:
    """The org tree, the accounts and today's light listings; with ``history`` (``seed-demo --history``) also that
    many listings over the last two years driven through the services (exchange/training/history.py): the org
    tree and accounts are then written on the history's first day, the listings after them."""
    story = None
    if history:
        from exchange.training.history import History
        story = History(history)
        story.begin()  # freezes the clock two years back (History.play gives it back)
    center = create_org(None, kind="center", parent=None, name="临湘市农村产权交易中心", area_name="临湘市",
                        code="LX", division_code="430682", address="临湘市智慧政务中心", phone="0730-0000000")
    for username, name, role in CENTER_STAFF:
        create_staff(None, username=username, display_name=name, role=role.value, org=center, password=password,
                     must_change_password=False)
    from exchange.payments.models import CenterAccount  # 收款账户 (issue 17): shown with every 缴款码; fictitious
    db.session.add(CenterAccount(org_unit_id=center.id, account_name="临湘市农村产权交易中心",
                                 bank_name="演示银行临湘市支行营业部", account_no="6200000000000000017"))
    n = 0
    for i, (town, pinyin, villages) in enumerate(TOWNS, start=1):
        station = create_org(None, kind="station", parent=center, name=f"{town}农村产权交易站", area_name=town,
                             code=f"LX-{i:02d}", sort_order=i)
        create_staff(None, username=f"zhan_{pinyin}", display_name=f"{SURNAMES[i % len(SURNAMES)]}演示",
                     role=Role.STATION_REVIEWER.value, org=station, password=password, must_change_password=False)
        for j, village in enumerate(villages, start=1):
            point = create_org(None, kind="point", parent=station, name=f"{town}{village}农村产权交易点",
                               area_name=village, code=f"LX-{i:02d}-{j:02d}", sort_order=j)
            n += 1
            create_staff(None, username=f"cun_{pinyin}_{j}",
                         display_name=f"{SURNAMES[(i + j) % len(SURNAMES)]}村演示{j}",
                         role=Role.POINT_CLERK.value, org=point, password=password, must_change_password=False)
    buyers = [
        SignUp(username="buyer_person", password=password, kind="person", name="种粮大户演示",
                     mobile="13800000001", id_number=make_resident_id("43068219800101123"),
                     address="临湘市江南镇团湖村", foreign_kind="domestic"),
        SignUp(username="buyer_company", password=password, kind="organisation",
                     name="临湘演示农业发展有限公司", mobile="13800000002", uscc=_demo_uscc("9143068200000001"),
                     org_type=OrgType.ENTERPRISE.value, legal_rep="企演示", contact_name="企演示",
                     address="临湘市长安街道", foreign_kind="domestic"),
        SignUp(username="buyer_coop", password=password, kind="organisation",
                     name="临湘市演示茶叶种植专业合作社", mobile="13800000003", uscc=_demo_uscc("9343068200000002"),
                     org_type=OrgType.COOPERATIVE.value, legal_rep="社演示", contact_name="社演示",
                     address="临湘市羊楼司镇", foreign_kind="domestic"),
        SignUp(username="seller_household", password=password, kind="person", name="农户演示",
                     mobile="13800000004", id_number=make_resident_id("43068219650315452"),
                     address="临湘市江南镇团湖村", foreign_kind="domestic"),
        # suppliers of the villages' procurement projects (招标/采购, DESIGN §3.12)
        SignUp(username="supplier_road", password=password, kind="organisation",
                     name="临湘演示路桥工程有限公司", mobile="13800000005", uscc=_demo_uscc("9143068200000003"),
                     org_type=OrgType.ENTERPRISE.value, legal_rep="路演示", contact_name="路演示",
                     address="临湘市五里牌街道", foreign_kind="domestic"),
        SignUp(username="supplier_build", password=password, kind="organisation",
                     name="岳阳演示建筑工程有限公司", mobile="13800000006", uscc=_demo_uscc("9143060200000004"),
                     org_type=OrgType.ENTERPRISE.value, legal_rep="建演示", contact_name="建演示",
                     address="岳阳市岳阳楼区", foreign_kind="domestic"),
    ]
    for reg in buyers:
        register_public(reg)
    db.session.flush()
    seed_experts()
    past = story.play() if story is not None else {}
    listings = seed_listings()
    listings += seed_procurement()
    seed_registrations()
    seed_bidding()
    return {"center": center, "points": n, "listings": listings, "history": past}


# the center's 专家库 (DESIGN §3.12): name, employer, title, specialties — enough for a panel of 3 in each specialty a
# village project needs, with one expert tied to a village to show the draw leaving them out
DEMO_EXPERTS = [
    ("周建国", "临湘市公路建设养护中心", "高级工程师", ["roads_water"]),
    ("吴立新", "临湘市水利局", "高级工程师", ["roads_water"]),
    ("郑红梅", "岳阳市公路桥梁设计院", "工程师", ["roads_water", "cost"]),
    ("王志强", "湖南理工学院土木工程学院", "副教授", ["roads_water", "buildings"]),
    ("冯晓燕", "临湘市住房和城乡建设局", "高级工程师", ["buildings"]),
    ("陈伟", "岳阳市建筑设计院", "工程师", ["buildings", "cost"]),
    ("褚丽华", "临湘市农业技术推广中心", "高级农艺师", ["agriculture"]),
    ("卫东升", "临湘市林业局", "林业工程师", ["forestry", "agriculture"]),
    ("蒋明", "湖南某会计师事务所岳阳分所", "注册会计师", ["cost"]),
    ("沈静", "湖南某律师事务所", "律师", ["law"]),
]


def seed_experts() -> None:
    from exchange.procurement import experts as pool
    admin = db.session.scalar(select(User).where(User.username == "admin"))
    from exchange.procurement.models import Expert
    if admin is None or db.session.scalar(select(func.count()).select_from(Expert)):
        return
    for i, (name, employer, title, specialties) in enumerate(DEMO_EXPERTS):
        pool.create_expert(admin, name=name, mobile=f"139{i:08d}", employer=employer, title=title,
                           specialties=specialties)


def seed_bidding() -> None:
    """A listing announced two weeks ago whose two paid buyers (buyer_person, buyer_company) meet in an
    online bidding session that opens ten minutes after the demo is seeded."""
    from datetime import timedelta

    from exchange import clock
    from exchange.catalog.models import Category
    from exchange.listings import rules
    from exchange.listings import services as svc
    from exchange.registrations import services as rsvc
    from exchange.payments import deposits
    from exchange.trading import services as tsvc
    users = {u.username: u for u in db.session.scalars(select(User))}
    real_now = clock.now()
    was_frozen = clock.is_frozen()
    clerk = users["cun_jiangnan_1"]
    try:
        clock.freeze(real_now - timedelta(days=21))
        cat = db.session.scalar(select(Category).where(Category.code == "C01"))
        listing = svc.create_draft(
            clerk, category=cat, title="江南村一组 50 亩水田经营权出租（竞价演示）", location="江南镇江南村一组",
            quantity="50", current_use="水稻种植", term_start="2027-01-01", term_end="2031-12-31",
            right_end_date="2038-12-31", price_mode="per_unit_year", floor_unit_price="480", price_basis="周边行情",
            transferor_kind="household", transferor_name="农户演示竞价", transferor_id_no=make_resident_id("43068219720808121"),
            transferor_mobile="13800000199", account_name="农户演示竞价", account_bank="临湘农商银行",
            account_no="6210000000000099", trading_method="online_bidding", bid_increment="500",
            right_cert_no="430682-演示-0099")
        for kind in rules.required_materials(listing):
            svc.add_material(clerk, listing, kind, DEMO_PDF, f"{rules.MATERIAL_KINDS[kind].label}.pdf")
        svc.submit(clerk, listing)
        svc.station_decide(users["zhan_jiangnan"], listing, True, "材料齐全")
        svc.center_decide(users["shenhe"], listing, "approve", {k: {"ok": True} for k in svc.CENTER_CHECKLIST}, "同意发布")
        for i, name in enumerate(("buyer_person", "buyer_company")):
            reg = rsvc.apply(users[name], listing, accept_declaration=True)
            for kind in rsvc.required_materials(reg):
                rsvc.add_material(users[name], reg, kind, DEMO_PDF, f"{rsvc.BUYER_MATERIALS[kind]}.pdf")
            rsvc.qualify(users["shenhe"], reg, "材料齐全（演示）")
            deposits.confirm_deposit(users["caiwu1"], reg, reg.deposit_amount,
                                     source_key=f"DEMO-HX-{listing.id}-{i + 1}",  # unique: refresh_bidding repeats it
                                     receipt=DEMO_PDF, receipt_filename="银行回单.pdf")
    finally:
        if was_frozen:
            clock.freeze(real_now)
        else:
            clock.unfreeze()  # keeps a training deployment's accelerated clock
    tsvc.close_announcements(clock.now())
    tsvc.schedule_online(users["jiaoyi"], listing, starts_at=clock.now() + timedelta(minutes=10), free_minutes=30,
                         countdown_seconds=300, max_extension_minutes=120)


def refresh_bidding() -> str:
    """``make run`` on an existing demo database: the bidding session seeded with it is long over, so unless a
    session is still to start or running, arm a new one (:func:`seed_bidding`: a new listing whose two paid
    buyers meet ten minutes from now).  Returns what it did."""
    from exchange import clock
    from exchange.trading.models import BiddingSession
    if db.session.scalar(select(User.id).where(User.username == "jiaoyi")) is None:
        return "数据库中没有演示账号，未安排演示竞价。"
    now = clock.now()
    upcoming = db.session.scalar(select(BiddingSession).where(BiddingSession.method == "online_bidding",
                                                              BiddingSession.state == "scheduled",
                                                              BiddingSession.ends_at > now)
                                 .order_by(BiddingSession.starts_at))
    if upcoming is not None:
        return f"已有演示竞价：{clock.to_local(upcoming.starts_at):%Y-%m-%d %H:%M} 开始。"
    seed_bidding()
    return f"已重新安排演示竞价：{clock.to_local(clock.now() + timedelta(minutes=10)):%H:%M} 开始。"


def seed_registrations() -> None:
    """buyer_person is qualified for the forest listing and can pay its deposit online (sandbox bank)."""
    from exchange.listings.models import Listing
    from exchange.registrations import services as rsvc
    users = {u.username: u for u in db.session.scalars(select(User))}
    listing = db.session.scalar(select(Listing).where(Listing.title == "茶乡村 120 亩林地经营权出租"))
    if listing is None or listing.state != "announced":
        return
    reg = rsvc.apply(users["buyer_person"], listing, accept_declaration=True)
    for kind in rsvc.required_materials(reg):
        rsvc.add_material(users["buyer_person"], reg, kind, DEMO_PDF, f"{rsvc.BUYER_MATERIALS[kind]}.pdf")
    rsvc.qualify(users["shenhe"], reg, "材料齐全（演示）")


DEMO_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")

# (clerk, category, title, fields, how far it goes)
DEMO_LISTINGS = [
    ("cun_jiangnan_2", "C01", "团湖村三组 32 亩水田经营权出租",
     dict(location="江南镇团湖村三组", boundaries="东至渠道，南至山脚，西至村道，北至河堤", quantity="32", current_use="水稻种植",
          term_start="2027-01-01", term_end="2036-12-31", right_end_date="2038-12-31", price_mode="per_unit_year",
          floor_unit_price="520", price_basis="参照周边近三年流转价格"), "announced"),
    ("cun_yanglousi_3", "C02", "茶乡村 120 亩林地经营权出租",
     dict(location="羊楼司镇茶乡村后山", quantity="120", current_use="杉木林", term_start="2027-03-01",
          term_end="2052-02-28", right_end_date="2056-12-31", price_mode="per_unit_year", floor_unit_price="60",
          price_basis="林地评估参考价"), "announced"),
    ("cun_changan_2", "C01", "新建村 15 亩旱地经营权出租",
     dict(location="长安街道新建村五组", quantity="15", current_use="旱地（油菜）", term_start="2027-01-01",
          term_end="2031-12-31", right_end_date="2038-12-31", price_mode="per_unit_year", floor_unit_price="380",
          price_basis="周边行情"), "center_review"),
    ("cun_huanggai_1", "C06", "黄盖村旧碾米机组转让",
     dict(location="黄盖镇黄盖村米厂", quantity="1", unit="套", current_use="闲置", price_mode="total",
          floor_price="18000", price_basis="按成新率估价"), "station_review"),
    ("cun_jiangnan_1", "C01", "江南村五组 8 亩水田经营权出租",
     dict(location="江南镇江南村五组", quantity="8", current_use="水稻", term_start="2027-01-01", term_end="2029-12-31",
          right_end_date="2038-12-31", price_mode="per_unit_year", floor_unit_price="450", price_basis="周边行情"),
     "draft"),
]


def seed_listings() -> int:
    """A few listings at different stages, so every queue and the public site have something to show."""
    from exchange.catalog.models import Category
    from exchange.listings import rules
    from exchange.listings import services as svc
    users = {u.username: u for u in db.session.scalars(select(User))}
    reviewer, n = users["shenhe"], 0
    for i, (clerk_name, code, title, extra, goal) in enumerate(DEMO_LISTINGS, start=1):
        clerk = users[clerk_name]
        cat = db.session.scalar(select(Category).where(Category.code == code))
        fields = dict(transferor_kind="household", transferor_name=f"农户演示{i}",
                      transferor_id_no=make_resident_id(f"430682197001{i:02d}12{i}"),
                      transferor_mobile=f"1380000010{i}", account_name=f"农户演示{i}", account_bank="临湘农商银行",
                      account_no=f"62100000000000{i:02d}", trading_method="online_bidding", bid_increment="200",
                      right_cert_no=f"430682-演示-{i:04d}", buyer_conditions="具备农业生产经营能力，不得改变农业用途")
        fields.update(extra)
        listing = svc.create_draft(clerk, category=cat, title=title, **fields)
        n += 1
        if goal == "draft":
            continue
        for kind in rules.required_materials(listing):
            svc.add_material(clerk, listing, kind, DEMO_PDF, f"{rules.MATERIAL_KINDS[kind].label}.pdf")
        svc.submit(clerk, listing)
        if goal == "station_review":
            continue
        station_user = users[f"zhan_{clerk_name.split('_')[1]}"]
        svc.station_decide(station_user, listing, True, "材料齐全，情况属实")
        if goal == "center_review":
            continue
        svc.center_decide(reviewer, listing, "approve", {k: {"ok": True} for k in svc.CENTER_CHECKLIST}, "同意发布")
    db.session.flush()
    return n


def seed_procurement() -> int:
    """A village procurement project in its bid period (DESIGN §3.12): 团湖村's road repair by 招标, published, one
    supplier's bond paid and its bid sealed, another supplier waiting for the reviewer — the 开标 in 8 working days."""
    from exchange.listings import rules
    from exchange.listings import services as svc
    from exchange.payments import deposits
    from exchange.procurement import services as psvc
    from exchange.registrations import services as rsvc
    from exchange.workdays.services import add_working_days
    from exchange import clock
    users = {u.username: u for u in db.session.scalars(select(User))}
    clerk = users["cun_jiangnan_2"]
    listing = psvc.create_project(clerk, mode="招标", title="团湖村三组至五组通组公路修缮工程")
    svc.update_draft(clerk, listing, location="团湖村三组至五组", description="村道年久失修，雨季泥泞，经村民代表会议决定修缮。",
                     transferor_name="团湖村股份经济合作社", transferor_id_no=_collective_uscc("MA4L0T01"),
                     transferor_mobile="13800000011", decision_type="村民代表会议",
                     decision_date=(clock.today_local() - timedelta(days=10)).isoformat(), reps_total="35",
                     reps_for="31")
    opens = add_working_days(clock.today_local(), 8)
    psvc.save_terms(clerk, listing, kind="works", budget="300000", limit_price="280000", bond="5000",
                    eval_kind="lowest_price", opens_at=f"{opens.isoformat()} 09:30",
                    scope="团湖村三组至五组通组公路修缮：全长 1.2 公里，路面宽 3.5 米，C25 混凝土路面厚 18 厘米，含排水边沟。",
                    requirements="具有独立法人资格的施工企业，具备公路工程或市政公用工程施工总承包三级以上资质，近三年有类似业绩。")
    for kind in rules.required_materials(listing):
        svc.add_material(clerk, listing, kind, DEMO_PDF, f"{rules.MATERIAL_KINDS[kind].label}.pdf")
    svc.submit(clerk, listing)
    svc.station_decide(users["zhan_jiangnan"], listing, True, "四议两公开程序完整，工程量清单与现场一致")
    svc.center_decide(users["shenhe"], listing, "approve", {k: {"ok": True} for k in svc.CENTER_CHECKLIST},
                      "民主决策程序合规，预算和限价合理，同意发布招标公告")
    for name in ("supplier_road", "supplier_build"):
        reg = rsvc.apply(users[name], listing, accept_declaration=True)
        for kind in rsvc.required_materials(reg):
            rsvc.add_material(users[name], reg, kind, DEMO_PDF, f"{rsvc.BUYER_MATERIALS[kind]}.pdf")
    from exchange.registrations.models import Registration
    road = db.session.scalar(select(Registration).where(Registration.listing_id == listing.id,
                                                        Registration.buyer_id == users["supplier_road"].id))
    rsvc.qualify(users["shenhe"], road, "营业执照、资质证书齐全有效")
    deposits.confirm_deposit(users["caiwu1"], road, "5000", source_key=f"DEMO-BZJ-{listing.id}", receipt=DEMO_PDF,
                             receipt_filename="银行回单.pdf")
    psvc.submit_bid(users["supplier_road"], listing, price="268500")
    db.session.flush()
    return 1


def _collective_uscc(code8: str) -> str:
    """A village collective economic organisation's USCC (登记管理部门 N, 类别 2, 临湘 430682)."""
    from exchange.idcheck import make_org_code
    return make_uscc("N2430682" + make_org_code(code8))


def _demo_uscc(prefix16: str) -> str:
    """A fictitious USCC with valid check characters (organisation-code check included)."""
    from exchange.idcheck import make_org_code_check
    return make_uscc(prefix16 + make_org_code_check(prefix16[8:16]))


def print_accounts(password: str, only_existing: bool = False) -> None:
    users = {u.username: u for u in db.session.scalars(select(User))}
    click.echo("")
    click.echo("演示账号（统一密码 %s）：" % (password if not only_existing else "为首次写入时的密码，默认 " + DEMO_PASSWORD))
    rows = [(u, r) for u, _n, r in CENTER_STAFF]
    rows += [("zhan_changan", Role.STATION_REVIEWER), ("cun_changan_1", Role.POINT_CLERK),
             ("zhan_jiangnan", Role.STATION_REVIEWER), ("cun_jiangnan_2", Role.POINT_CLERK),
             ("buyer_person", Role.PUBLIC), ("buyer_company", Role.PUBLIC), ("buyer_coop", Role.PUBLIC),
             ("seller_household", Role.PUBLIC), ("supplier_road", Role.PUBLIC), ("supplier_build", Role.PUBLIC)]
    for username, _role in rows:
        u = users.get(username)
        if u is None:
            continue
        where = u.org_unit.name if u.org_unit else (u.party.name if u.party else "")
        click.echo(f"  {username:<18} {u.role_label:<8} {where}")
    click.echo("  其余各交易站、交易点：zhan_<镇拼音>、cun_<镇拼音>_<序号>，如 zhan_yanglousi、cun_yanglousi_3。")
    click.echo("")
