"""``flask simulate --procurement``: one village procurement project end to end on the simulated clock (issue 18,
DESIGN §3.12) — 团湖村's road repair by 招标, 最低价法, three suppliers: the clerk's intake with the 四议两公开 决议, the
station's 初审, the center's publication with the 开标 time, the suppliers' registration, bonds and sealed bids with
their receipts, the online 开标 by the sweeper, the evaluation, the 中标候选人公示, the collective's award with the
中标通知书, the contract, the bonds back with interest, the service fee, and the 鉴证书 — each step through the same
services the pages call, as the account that would do it, one line per step."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from exchange import clock

CLERK, STATION = "cun_jiangnan_2", "zhan_jiangnan"  # 江南镇团湖村 (exchange.demo: the second village of 江南镇)
SUPPLIERS = (("supplier_road", "268500"), ("supplier_build", "259800"), ("buyer_company", "272000"))
TERMS = dict(kind="works", budget="300000", limit_price="280000", bond="5000", eval_kind="lowest_price",
             scope="团湖村三组至五组通组公路修缮：全长 1.2 公里，路面宽 3.5 米，C25 混凝土路面厚 18 厘米，含排水边沟。",
             requirements="具有独立法人资格的施工企业，具备公路工程或市政公用工程施工总承包三级以上资质，近三年有类似业绩。")
FEE_NOTE = "演练：招标采购项目服务费为中标价的 1%，由中标人支付"


def procurement_project(sim):
    """A generator for :meth:`exchange.training.simulate.Simulation.drive`; returns (listing id, 鉴证书 number,
    its SHA-256)."""
    from exchange.contracts import services as csvc
    from exchange.demo import DEMO_PASSWORD, DEMO_PDF
    from exchange.extensions import db
    from exchange.listings import rules
    from exchange.listings import services as lsvc
    from exchange.listings.models import Listing
    from exchange.payments import deposits
    from exchange.procurement import documents
    from exchange.procurement import services as psvc
    from exchange.registrations import services as rsvc
    from exchange.registrations.models import Registration
    from exchange.settlement import services as stl
    from exchange.trading.services import deal_for
    from exchange.training.simulate import ADMIN, FINANCE, FINANCE2, OFFICER, REVIEWER, SimulationError
    from exchange.workdays.services import add_working_days, due_text

    def listing() -> Listing:
        db.session.expire_all()
        return db.session.get(Listing, listing_id)

    yield from sim.later_today(8, 45)
    with sim.as_user(ADMIN, "设定招标采购项目收费标准") as admin:
        from exchange.catalog.models import Category
        c08 = db.session.scalar(select(Category).where(Category.code == "C08"))
        stl.save_fee_rule(admin, c08.id, basis="rate", rate="0.01", min_fee="100", payer="buyer", note=FEE_NOTE)
    sim.say("中心管理员设定交易品种 8 的收费标准：中标价 1%，最低 100 元，由中标人支付")

    yield from sim.later_today(9, 0)
    opening_day = add_working_days(clock.today_local(), 8)
    with sim.as_user(CLERK, "交易点录入招标项目") as clerk:
        project_listing = psvc.create_project(clerk, mode="招标", title="团湖村三组至五组通组公路修缮工程")
        listing_id = project_listing.id
        lsvc.update_draft(clerk, project_listing, location="团湖村三组至五组", description="村道年久失修，雨季泥泞，村民代表会议决定修缮。",
                          transferor_name="团湖村股份经济合作社", transferor_id_no=_collective_uscc(),
                          transferor_mobile="13800000011", decision_type="村民代表会议", decision_date=(
                              clock.today_local() - timedelta(days=10)).isoformat(), reps_total="35", reps_for="31")
        psvc.save_terms(clerk, project_listing, **TERMS, opens_at=f"{opening_day.isoformat()} 09:30")
        for kind in rules.required_materials(project_listing):
            lsvc.add_material(clerk, project_listing, kind, DEMO_PDF, f"{rules.MATERIAL_KINDS[kind].label}.pdf")
        lsvc.submit(clerk, project_listing)
    sim.say(f"交易点录入招标项目 #{listing_id}《团湖村三组至五组通组公路修缮工程》：预算 30 万元，最高限价 28 万元，"
            f"投标保证金 5,000 元，最低价法，{opening_day:%Y-%m-%d} 09:30 网上开标；上传四议两公开决议和工程量清单并提交")

    yield from sim.later_today(10, 30)
    with sim.as_user(STATION, "交易站初审") as station:
        lsvc.station_decide(station, listing(), True, "四议两公开程序完整，工程量清单与现场一致")
    sim.say("交易站初审通过，报交易中心审核")
    yield from sim.later_today(15, 0)
    with sim.as_user(REVIEWER, "交易中心审核并发布招标公告") as reviewer:
        lsvc.center_decide(reviewer, listing(), "approve", {k: {"ok": True} for k in lsvc.CENTER_CHECKLIST},
                           "民主决策程序合规，预算和限价合理，同意发布招标公告")
    project = psvc.project_of(listing())
    if listing().state != "announced" or project.public_key is None:
        raise SimulationError("交易中心审核并发布招标公告", "项目没有进入公告，或没有生成密封投标的密钥")
    sim.say(f"交易中心发布招标公告 {listing().project_no}：投标截止暨开标 {due_text(project.opens_at)}，"
            "生成本项目的密封投标密钥（私钥开标前任何人都无法取用）")

    yield from sim.next_workday(9, 30)
    receipts = {}
    for username, price in SUPPLIERS:
        with sim.as_user(username, "供应商报名") as supplier:
            reg = rsvc.apply(supplier, listing(), accept_declaration=True)
            for kind in rsvc.required_materials(reg):
                rsvc.add_material(supplier, reg, kind, DEMO_PDF, f"{rsvc.BUYER_MATERIALS[kind]}.pdf")
        sim.say(f"{supplier.display_name} 报名并上传营业执照、资质证书")
        yield from sim.wait(minutes=15)
    yield from sim.later_today(14, 0)
    with sim.as_user(REVIEWER, "资格审核") as reviewer:
        for username, _ in SUPPLIERS:
            reg = db.session.scalar(select(Registration).where(Registration.listing_id == listing_id,
                                                               Registration.buyer_id == sim.user(username).id))
            rsvc.qualify(reviewer, reg, "营业执照、资质证书齐全有效")
    sim.say("交易中心审核三家供应商资格通过，发给投标保证金缴款码")
    yield from sim.next_workday(10, 0)
    with sim.as_user(FINANCE, "确认投标保证金到账") as finance:
        for username, _ in SUPPLIERS:
            reg = db.session.scalar(select(Registration).where(Registration.listing_id == listing_id,
                                                               Registration.buyer_id == sim.user(username).id))
            deposits.confirm_deposit(finance, reg, "5000", source_key=sim.key("BZJ"), receipt=DEMO_PDF,
                                     receipt_filename="银行回单.pdf")
    sim.say("中心财务凭银行回单确认三家的投标保证金各 5,000 元到账")
    yield from sim.later_today(15, 0)
    for username, price in SUPPLIERS:
        with sim.as_user(username, "提交密封投标") as supplier:
            bid = psvc.submit_bid(supplier, listing(), price=price)
            receipts[username] = bid.receipt
        sim.say(f"{supplier.display_name} 提交密封投标，取得回执 SHA-256 {bid.receipt[:16]}…（报价开标前无人可见）")
        yield from sim.wait(minutes=10)

    yield from sim.until(project.opens_at, plus=timedelta(seconds=30))
    sim.sweep("网上开标")
    opened = psvc.opening_record(listing())
    if len(opened) != len(SUPPLIERS) or any(b.receipt != receipts[b.supplier.username] for b in opened):
        raise SimulationError("网上开标", "开标记录与各供应商的回执不一致")
    sim.say("到点自动开标：公布私钥和三份投标（" + "，".join(f"{b.supplier.display_name} {sim.yuan(b.price)} 元"
                                               for b in opened) + "），回执全部核对一致")

    yield from sim.later_today(14, 0)
    with sim.as_user(OFFICER, "评标") as trader:
        deal = psvc.complete_evaluation(trader, listing())
        deal_id = deal.id
    ranked = psvc.candidates(psvc.project_of(listing()))
    sim.say("中心交易员确认评标结果（最低价法）：" + "；".join(f"第{c['rank']}名 {c['supplier']} {sim.yuan(c['price'])} 元"
                                                 for c in ranked) + f"，中标候选人公示至 {due_text(deal.publicity_end_at)}")

    yield from sim.until(db.session.get(type(deal), deal_id).publicity_end_at)
    sim.sweep("中标候选人公示期满")
    yield from sim.next_workday(9, 30)
    with sim.as_user(CLERK, "采购人确定中标人") as clerk:
        psvc.award(clerk, listing())
    project = psvc.project_of(listing())
    deal = deal_for(listing())
    notice = documents.notice_pdf(listing())
    sim.say(f"采购人确定第一中标候选人 {deal.registration.buyer.display_name} 为中标人，发出中标通知书 {project.notice_no}"
            f"（PDF {len(notice) // 1024} KB），{due_text(deal.contract_due_at)} 前签订合同")

    contract = csvc.contract_for_deal(deal)
    winner = deal.registration.buyer.username
    yield from sim.later_today(14, 0)
    with sim.as_user(winner, "中标人签署合同") as supplier:
        csvc.confirm(supplier, csvc.contract_for_deal(deal_for(listing())), DEMO_PASSWORD)
    with sim.as_user(CLERK, "登记采购人签字") as clerk:
        csvc.confirm(clerk, csvc.contract_for_deal(deal_for(listing())), DEMO_PASSWORD, DEMO_PDF, "采购人签章页.pdf")
        csvc.upload_scan(clerk, csvc.contract_for_deal(deal_for(listing())), DEMO_PDF, "合同签章件.pdf")
    contract = csvc.contract_for_deal(deal_for(listing()))
    sim.say(f"双方签署《村级建设工程施工合同》{contract.contract_no}，合同生效；三家的投标保证金在 5 日内连同利息退还")
    yield from sim.later_today(15, 0)
    with sim.as_user(REVIEWER, "核验签章合同") as reviewer:
        csvc.check(reviewer, contract, approve=True, note="签章齐全")
    from exchange.ledger.models import Refund
    refunds = list(db.session.scalars(select(Refund).where(Refund.listing_id == listing_id).order_by(Refund.id)))
    sim.say("应退投标保证金：" + "；".join(f"{r.payee} {sim.yuan(r.amount)} 元 + 利息 {sim.yuan(r.interest)} 元"
                                     for r in refunds))

    yield from sim.next_workday(9, 0)
    from exchange.ledger import refunds as refund_svc
    with sim.as_user(FINANCE, "登记退还投标保证金") as maker:
        for r in refunds:
            refund_svc.record_transfer(maker, db.session.get(Refund, r.id), sim.key("TK"))
    with sim.as_user(FINANCE2, "复核退还投标保证金") as checker:
        for r in refunds:
            refund_svc.approve(checker, db.session.get(Refund, r.id))
    sim.say(f"中心财务登记、另一名财务复核，退还三家投标保证金及利息共 "
            f"{sim.yuan(sum((r.amount + r.interest for r in refunds), Decimal('0')))} 元（合同签订后 5 日内）")

    s = stl.for_deal(deal_for(listing()))
    yield from sim.later_today(10, 0)
    with sim.as_user(FINANCE, "确认服务费到账并结算") as finance:
        s = stl.for_deal(deal_for(listing()))
        if s.state == "awaiting":
            stl.confirm_receipt(finance, s, str(s.amount_to_pay), source_key=sim.key("FW"), receipt=DEMO_PDF,
                                receipt_filename="服务费回单.pdf")
        stl.charge_fees(finance, stl.for_deal(deal_for(listing())))
    sim.say(f"中心财务确认中标人交纳的服务费 {sim.yuan(s.amount_to_pay)} 元，结算完成（合同价款由采购人直接支付给中标人）")

    yield from sim.next_workday(10, 0)
    from exchange.certificates import services as cert_svc
    with sim.as_user(REVIEWER, "出具鉴证书") as reviewer:
        cert = cert_svc.issue(reviewer, deal_for(listing()))
        cert_no, sha = cert.cert_no, cert.pdf_sha256
    sim.say(f"交易中心出具鉴证书 {cert_no}（采购人、中标人、中标价 {sim.yuan(deal.price)} 元），项目 {listing().project_no} 办结")
    return listing_id, cert_no, sha


def _collective_uscc() -> str:
    """团湖村股份经济合作社: a village-level collective economic organisation (登记管理部门 N, 类别 2), 临湘 430682."""
    from exchange.idcheck import make_org_code, make_uscc
    return make_uscc("N2430682" + make_org_code("MA4L0T01"))
