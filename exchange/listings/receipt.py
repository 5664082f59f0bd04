"""受理回执 (the receipt a village clerk hands the household when a listing is submitted) and the public progress page
its QR code opens.

The receipt says what was received (the materials), what happens next and when (the stages and their clocks, from
the published 交易规则), who took it in (the clerk, the point, their phone), and where to follow it: the public progress
page ``/projects/progress/<受理编号>/<查询码>`` — stage and dates only, nothing personal.
"""
from __future__ import annotations

from sqlalchemy import select

from exchange import clock
from exchange.extensions import db
from exchange.idcheck import mask_bank_account, mask_resident_id
from exchange.pdf import qr_data_uri
from exchange.listings import rules
from exchange.listings.models import Listing, ListingEvent
from exchange.listings.workflow import STATE_LABELS, TRANSITIONS
from exchange.tradingrules import services as trading_rules

# what a household reads about where its listing is now (the progress page and the receipt)
NOW = {
    "draft": "草稿，尚未提交。",
    "returned": "项目被退回补正。请与交易点信息员联系，补正后重新提交。",
    "station_review": "{station}正在初审。初审通过后报送交易中心审核；需要补正的，交易点信息员会联系您。",
    "center_review": "交易中心正在审核权属、转让方资格、规划和用途、民主决策程序。审核通过后发布交易公告。",
    "announced": "交易公告中。意向受让方在公告期内报名，经资格审核后交纳保证金。",
    "trading": "公告期已满，交易中心正在组织交易。",
    "publicity": "已成交，成交结果公示中。",
    "contract": "公示期满，正在签订合同。",
    "settlement": "合同已生效，交易中心正在结算交易资金。",
    "certification": "资金已结算，交易中心正在出具交易鉴证书。",
    "completed": "交易已完成。",
    "failed": "流拍（没有合格的意向受让方或有效报价）。可与交易点信息员商量是否重新挂牌。",
    "suspended": "交易已中止，各项期限暂停计算。",
    "terminated": "交易已终结。",
    "rejected": "交易中心决定不予受理。请与交易点信息员联系了解原因。",
    "defaulted": "交易一方违约，交易中心正在处理。",
}


def _date(dt) -> str:
    return clock.to_local(dt).strftime("%Y-%m-%d") if dt else ""


def _submitted_by(listing: Listing):
    """The first submission's event and the staff member who made it (the clerk), if any."""
    event = db.session.scalar(select(ListingEvent).where(ListingEvent.listing_id == listing.id,
                                                         ListingEvent.action.in_(("submit", "relist_submit")))
                              .order_by(ListingEvent.id).limit(1))
    user = None
    if event is not None and event.actor_id:
        from exchange.accounts.models import User
        user = db.session.get(User, event.actor_id)
    return event, user


def next_steps(listing: Listing) -> list[tuple[str, str]]:
    """(what, when) of each stage after submission, in the order they come."""
    rule = trading_rules.value
    method = rules.TRADING_METHODS.get(listing.trading_method, "")
    steps = []
    if listing.origin == "point":
        steps.append(("交易站初审", f"{listing.station.name}核对材料和情况；材料齐全、信息属实的报送交易中心，"
                                 "需要补正的由交易点信息员联系您。"))
    steps.append(("交易中心审核", "审核权属、转让方资格、规划和用途、民主决策程序（《管理办法》第十四条）。"))
    steps.append(("发布交易公告", f"审核通过后在本平台公告，公告期 {listing.announce_days} 个工作日，"
                               "项目编号在公告时给出；意向受让方在公告期内报名并交纳保证金。"))
    steps.append(("组织交易", f"公告期满后组织交易（拟采用{method or '交易中心确定的方式'}）；成交结果公示 "
                           f"{rule('publicity_working_days')} 个工作日。"))
    steps.append(("签订合同", f"公示期满后 {rule('contract_working_days')} 个工作日内签订合同（第十六条），"
                           "由转让方本人（或受托人）签字。"))
    steps.append(("资金结算", f"合同生效后 {rule('settlement_days')} 日内结算，价款划入登记的收款账户（第十七条、第二十一条）。"))
    steps.append(("交易鉴证", f"结算后 {rule('certificate_working_days')} 个工作日内出具交易鉴证书（第十八条）。"))
    return steps


def context(listing: Listing, *, progress_url: str) -> dict:
    """Everything the receipt (page and PDF) prints."""
    event, clerk = _submitted_by(listing)
    point = listing.point
    is_person = listing.transferor_kind == "household"
    return {
        "received_on": _date(event.at if event is not None else listing.submitted_at),
        "received_at": clock.to_local(event.at if event is not None else listing.submitted_at),
        "transferor_kind_label": rules.TRANSFEROR_KINDS.get(listing.transferor_kind, ""),
        "transferor_id_masked": mask_resident_id(listing.transferor_id_no) if is_person else listing.transferor_id_no,
        "account_masked": mask_bank_account(listing.account_no) if listing.account_no else "",
        "materials": [(rules.MATERIAL_KINDS[m.kind].label, m.filename) for m in listing.materials],
        "steps": next_steps(listing),
        "clerk_name": clerk.display_name if clerk is not None else "",
        "clerk_unit": (point.name if point is not None else (clerk.org_unit.name if clerk is not None and
                                                             clerk.org_unit is not None else "")),
        "clerk_phone": (point.phone if point is not None and point.phone else "") or (
            clerk.mobile if clerk is not None and clerk.mobile else ""),
        "station_phone": listing.station.phone or "",
        "progress_url": progress_url,
        "qr": qr_data_uri(progress_url),
        "now_text": NOW.get(listing.state, "").format(station=listing.station.name),
    }


def progress(listing: Listing) -> dict:
    """The public progress page: the stage now and the dates of each step so far — no names, numbers or reasons."""
    rows = []
    for e in listing.events:
        if e.from_state == e.to_state or e.action not in TRANSITIONS:
            continue
        rows.append((_date(e.at), TRANSITIONS[e.action].label))
    return {
        "state_label": STATE_LABELS.get(listing.state, ""),
        "now_text": NOW.get(listing.state, "").format(station=listing.station.name),
        "history": rows,
        "steps": next_steps(listing),
        "published": listing.project_no if listing.state in _public_states() else None,
    }


def _public_states():
    from exchange.listings.workflow import PUBLIC_STATES
    return PUBLIC_STATES
