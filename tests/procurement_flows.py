"""Procurement projects taken further than tests/procurement_builders.py takes them, for the API, open-data, statistics
and archive tests: sealed bids from four suppliers (a natural person among them, to see the masking), the 开标, the
最低价法 evaluation, the award and the contract; and a 综合评分法 project with its panel drawn, scoring and signing."""
from __future__ import annotations

from decimal import Decimal
from io import BytesIO

from werkzeug.datastructures import FileStorage

from exchange.procurement import services as psvc
from tests.builders import PDF, end_publicity
from tests.factories import PASSWORD
from tests.procurement_builders import pay_bonds, published_project, road_terms, suppliers, to_opening

# the person 测试受让人 (masked 测****) and three organisations; the person's bid is the highest
BIDDERS = ("buyer", "buyer_org", "buyer_3", "buyer_coop")
PRICES = {"buyer": "270000", "buyer_org": "256000", "buyer_3": "249800.50", "buyer_coop": "261000"}
SCORED = dict(eval_kind="scored", price_weight="40", criteria=[{"name": "施工方案", "weight": "35"},
                                                                {"name": "业绩与信誉", "weight": "25"}],
              specialty="roads_water", panel_size="3")


def pdf_upload(name: str) -> FileStorage:
    return FileStorage(stream=BytesIO(PDF), filename=name, content_type="application/pdf")


def with_bonds(users, db, keys=BIDDERS, **kw):
    """A published road repair with ``keys`` qualified and their bonds paid."""
    listing = published_project(users, db, **kw)
    suppliers(users)
    regs = pay_bonds(users, listing, keys)
    db.session.commit()
    return listing, regs


def bid(users, listing, prices=None, files: bool = False) -> dict:
    """Each supplier's sealed bid (their receipts by key)."""
    out = {}
    for k, p in (prices or PRICES).items():
        extra = {"files": [pdf_upload(f"{k}-技术方案.pdf")]} if files else {}
        out[k] = psvc.submit_bid(users[k], listing, price=p, **extra).receipt
    return out


def opened(users, db, prices=None, **kw):
    """Bids sealed and opened by the sweeper at the 开标 time: (listing, receipts by supplier key)."""
    listing, _regs = with_bonds(users, db, keys=tuple(prices or PRICES), **kw)
    receipts = bid(users, listing, prices)
    db.session.commit()
    to_opening(listing)
    db.session.expire_all()
    return listing, receipts


def evaluated(users, db, prices=None, **kw):
    """最低价法: the 3 candidates ranked, candidate 1 the deal under 交易公示: (listing, deal, receipts)."""
    listing, receipts = opened(users, db, prices, **kw)
    deal = psvc.complete_evaluation(users["trading_officer"], listing)
    db.session.commit()
    return listing, deal, receipts


def awarded(users, db, prices=None, **kw):
    """The 公示 over, the collective confirmed candidate 1: the 中标通知书 (listing, deal, receipts)."""
    listing, deal, receipts = evaluated(users, db, prices, **kw)
    end_publicity(deal)
    psvc.award(users["point_a1"], listing)
    db.session.commit()
    return listing, deal, receipts


def contracted(users, db, prices=None, **kw):
    """The contract signed by both (bonds back with interest): (listing, deal, contract)."""
    from exchange.contracts import services as csvc
    listing, deal, _receipts = awarded(users, db, prices, **kw)
    contract = csvc.contract_for_deal(deal)
    csvc.confirm(users["point_a1"], contract, PASSWORD, PDF, "采购人签字页.pdf")
    csvc.confirm(deal.registration.buyer, contract, PASSWORD)
    db.session.commit()
    return listing, deal, contract


def experts(users, orgs):
    """Six road experts, the first tied to the village (never drawn)."""
    from exchange.procurement import experts as pool
    made = [pool.create_expert(users["admin"], name=f"专家{i}", mobile=f"1390000010{i}", employer="岳阳市公路局",
                               specialties=["roads_water"]) for i in range(6)]
    pool.add_village_tie(users["admin"], made[0], orgs.point_a1.id, "家住新建村")
    return made


SCORED_PRICES = {"buyer_org": "250000", "buyer_3": "240000", "buyer_coop": "260000"}
# each member's marks (施工方案, 业绩与信誉) per supplier key: coop ranks first on the total
SHEETS = [{"buyer_org": ("30", "20"), "buyer_3": ("20", "15"), "buyer_coop": ("34", "24")},
          {"buyer_org": ("31", "21"), "buyer_3": ("22", "16"), "buyer_coop": ("33", "23")},
          {"buyer_org": ("29", "20"), "buyer_3": ("21", "14"), "buyer_coop": ("35", "25")}]


def scored_evaluated(users, orgs, db, *, seed: str | None = "archive-seed"):
    """综合评分法 with proposals attached: the panel drawn (seed given), each member scoring and signing on the
    slip's password, the evaluation completed: (listing, deal, slips)."""
    from exchange.procurement import scoring
    experts(users, orgs)
    listing, _regs = with_bonds(users, db, keys=tuple(SCORED_PRICES), terms=road_terms(**SCORED))
    bid(users, listing, SCORED_PRICES, files=True)
    db.session.commit()
    to_opening(listing)
    slips = scoring.draw_panel(users["trading_officer"], listing, seed=seed)
    by_supplier = {b.supplier_id: b.id for b in psvc.opening_record(listing)}
    for slip, marks in zip(slips, SHEETS):
        member = scoring.member_by_token(slip.token)
        scoring.open_sheet(member, slip.password)
        scoring.save_scores(member, {by_supplier[users[k].id]: {"c1": a, "c2": b} for k, (a, b) in marks.items()})
        scoring.sign_sheet(member, slip.password)
    deal = psvc.complete_evaluation(users["trading_officer"], listing)
    db.session.commit()
    return listing, deal, slips


def money(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))
