"""Procurement projects (issue 18) built through the services, step by step: a village's road repair by 招标 (最低价法)
drafted by the clerk of 新建村, passed by the station, published by the center; three suppliers qualified with their
bond paid; sealed bids; the 开标 by the sweeper."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from exchange import clock
from exchange.deadlines.sweeper import sweep
from exchange.listings import services as lsvc
from exchange.payments import deposits
from exchange.procurement import services as psvc
from exchange.registrations import services as rsvc
from tests.builders import ALL_OK, COLLECTIVE_USCC, PDF, add_buyers, attach

OPENS_AT = "2026-12-07 09:30"  # a Monday, 10 working days after the frozen clock's Monday 2026-11-23 09:00
LIMIT = Decimal("280000.00")
BOND = Decimal("5000.00")
SUPPLIERS = ("buyer_org", "buyer_3", "buyer_coop")


def road_terms(**kw) -> dict:
    t = dict(kind="works", budget="300000", limit_price=str(LIMIT), bond=str(BOND), eval_kind="lowest_price",
             scope="团湖村三组至五组通组公路修缮，全长 1.2 公里，路面宽 3.5 米，C25 混凝土 18 厘米。",
             requirements="具有独立法人资格，具备市政公用工程施工总承包三级以上资质，近三年有类似业绩。",
             opens_at=OPENS_AT)
    t.update(kw)
    return t


def collective(**kw) -> dict:
    f = dict(location="江南镇团湖村三组至五组", transferor_name="新建村股份经济合作社", transferor_id_no=COLLECTIVE_USCC,
             transferor_mobile="13800000005", decision_type="村民代表会议", decision_date="2026-11-01",
             reps_total="30", reps_for="25")
    f.update(kw)
    return f


def draft(users, mode="招标", title="团湖村通组公路修缮工程", terms=None, **fields):
    clerk = users["point_a1"]
    listing = psvc.create_project(clerk, mode=mode, title=title)
    lsvc.update_draft(clerk, listing, **collective(**fields))
    psvc.save_terms(clerk, listing, **(road_terms() if terms is None else terms))
    return listing


def publish(users, listing):
    attach(listing, users["point_a1"])
    lsvc.submit(users["point_a1"], listing)
    lsvc.station_decide(users["station_a"], listing, True)
    lsvc.center_decide(users["center_reviewer"], listing, "approve", ALL_OK)
    return listing


def published_project(users, db, **kw):
    listing = publish(users, draft(users, **kw))
    db.session.commit()
    return listing


def suppliers(users) -> dict:
    if "buyer_coop" not in users:
        add_buyers(users)
    return users


def pay_bonds(users, listing, keys=SUPPLIERS) -> dict:
    regs = {}
    for k in keys:
        reg = rsvc.apply(users[k], listing, accept_declaration=True)
        for kind in rsvc.required_materials(reg):
            rsvc.add_material(users[k], reg, kind, PDF, f"{kind}.pdf")
        rsvc.qualify(users["center_reviewer"], reg)
        deposits.confirm_deposit(users["finance"], reg, str(listing.deposit_amount), source_key=f"{listing.id}-{k}",
                                 receipt=PDF, receipt_filename="回单.pdf")
        regs[k] = reg
    return regs


def to_opening(listing) -> datetime:
    """The clock at the 开标 time and the sweeper run."""
    project = psvc.project_of(listing)
    clock.freeze(project.opens_at + timedelta(seconds=1))
    sweep()
    return clock.now()


# --- 综合评分法 and the panel ------------------------------------------------------------------------------------------

SCORED = dict(eval_kind="scored", price_weight="40", criteria=[{"name": "施工方案", "weight": "35"},
                                                                {"name": "业绩与信誉", "weight": "25"}],
              specialty="roads_water", panel_size="3")


def pdf_upload(name):
    """A PDF as a browser sends it (a FileStorage)."""
    from io import BytesIO
    from werkzeug.datastructures import FileStorage
    return FileStorage(stream=BytesIO(PDF), filename=name, content_type="application/pdf")


def experts(users, orgs):
    """Six experts of 道路与水利工程, the first tied to 新建村 (point_a1)."""
    from exchange.procurement import experts as pool
    made = [pool.create_expert(users["admin"], name=f"专家{i}", mobile=f"1390000010{i}", employer="岳阳市公路局",
                               specialties=["roads_water"]) for i in range(6)]
    pool.add_village_tie(users["admin"], made[0], orgs.point_a1.id, "家住新建村")
    return made


def evaluated(users, db):
    """A road repair (最低价法) opened and evaluated: candidate 1 is buyer_3 at 249 800.50 元, under 公示."""
    listing = published_project(users, db)
    suppliers(users)
    pay_bonds(users, listing)
    for k, p in {"buyer_org": "256000", "buyer_3": "249800.50", "buyer_coop": "261000"}.items():
        psvc.submit_bid(users[k], listing, price=p)
    db.session.commit()
    to_opening(listing)
    deal = psvc.complete_evaluation(users["trading_officer"], listing)
    db.session.commit()
    return listing, deal


def opened_scored(users, orgs, db):
    """A 综合评分法 road repair with three bids and their proposals, opened; the 专家库 has six experts."""
    experts(users, orgs)
    listing = published_project(users, db, terms=road_terms(**SCORED))
    suppliers(users)
    pay_bonds(users, listing)
    for k, p in {"buyer_org": "250000", "buyer_3": "240000", "buyer_coop": "260000"}.items():
        psvc.submit_bid(users[k], listing, price=p, files=[pdf_upload(f"{k}.pdf")])
    db.session.commit()
    to_opening(listing)
    return listing
