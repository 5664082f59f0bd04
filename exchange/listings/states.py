"""The listing's states (第十一–二十四条): the values stored, their labels and the named sets.  The transition
table is :mod:`exchange.listings.workflow`."""
from __future__ import annotations

from enum import nonmember

from exchange.machine import States


class ListingState(States):
    DRAFT = "draft", "草稿"
    STATION_REVIEW = "station_review", "交易站初审中"
    CENTER_REVIEW = "center_review", "交易中心审核中"
    RETURNED = "returned", "已退回"
    REJECTED = "rejected", "不予受理"
    ANNOUNCED = "announced", "公告中"
    TRADING = "trading", "交易中"
    PUBLICITY = "publicity", "交易公示"
    CONTRACT = "contract", "签约中"
    SETTLEMENT = "settlement", "结算中"
    CERTIFICATION = "certification", "鉴证中"
    COMPLETED = "completed", "已完成"
    SUSPENDED = "suspended", "已中止"
    TERMINATED = "terminated", "已终结"
    FAILED = "failed", "流拍"
    DEFAULTED = "defaulted", "违约处理中"

    # shown to the public (announced onwards)
    PUBLIC = nonmember(frozenset({"announced", "trading", "publicity", "contract", "settlement", "certification",
                                  "completed", "suspended", "terminated", "failed", "defaulted"}))
    # the deal's money stage has begun: the price is being settled or has been
    SETTLING = nonmember(frozenset({"settlement", "certification", "completed"}))
    # still editable by its submitter
    EDITABLE = nonmember(frozenset({"draft", "returned"}))
    # waiting for a reviewer
    IN_REVIEW = nonmember(frozenset({"station_review", "center_review"}))
    # the trade is being organised or concluded (its 组织交易 page is the way on): trading to 鉴证
    IN_TRADE = nonmember(frozenset({"trading", "publicity", "contract", "settlement", "certification"}))
    # the stages whose deadline a buyer can miss (签约, 结算; 第二十二条): a default may be declared
    DEFAULTABLE = nonmember(frozenset({"contract", "settlement"}))


# --- the listing's own clocks (exchange/stages.py: 中止 freezes them, 重启 gives them back) ---------------------------

def _declare_stage() -> None:
    from exchange import stages
    from exchange.extensions import db

    def load(listing_id):
        from exchange.listings.models import Listing
        return db.session.get(Listing, listing_id)

    stages.declare(stages.Stage(
        "listing", 10, rows=lambda listing: [listing], load=load,
        clocks=(stages.Clock("announce_end_at", stages.WORKDAYS, "公告期"),
                stages.Clock("deposit_deadline_at", stages.WORKDAYS, "保证金截止"))))


_declare_stage()
