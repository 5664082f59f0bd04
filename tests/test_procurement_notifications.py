"""What the people of a procurement project are told (issue 18): the suppliers at the opening, the candidates and the
collective after the evaluation, the winner and the others after the award — never a transfer's words (竞买号, 成交,
无息退还) where they would mislead."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from exchange.notifications.models import Notification
from exchange.procurement import services as psvc
from tests.builders import end_publicity
from tests.procurement_builders import pay_bonds, published_project, suppliers, to_opening  # noqa: F401

pytestmark = pytest.mark.usefixtures("frozen", "uploads", "bid_vault")


def told(db, user, kind=None):
    stmt = select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
    if kind:
        stmt = stmt.where(Notification.kind == kind)
    return list(db.session.scalars(stmt))


def test_suppliers_are_told_to_bid_at_the_opening_and_of_the_result(users, db):
    listing = published_project(users, db)
    published = told(db, users["point_a1"], "listing.published")[-1]
    assert "投标截止暨网上开标时间为 2026-12-07 09:30" in published.body and "公告期" not in published.body
    suppliers(users)
    pay_bonds(users, listing)
    paid = told(db, users["buyer_org"], "deposit.received")[-1]
    assert "现在可以提交密封投标" in paid.body and "竞买号" not in paid.body
    for k, p in {"buyer_org": "256000", "buyer_3": "249800", "buyer_coop": "261000"}.items():
        psvc.submit_bid(users[k], listing, price=p)
    db.session.commit()
    to_opening(listing)
    opened = told(db, users["buyer_coop"], "procurement.opened")
    assert len(opened) == 1 and "回执" in opened[0].body and opened[0].link == f"/projects/{listing.project_no}/opening"
    psvc.complete_evaluation(users["trading_officer"], listing)
    db.session.commit()
    assert not told(db, users["buyer_3"], "deal.concluded")  # no "恭喜您成交" before the award
    result = told(db, users["buyer_org"], "procurement.evaluated")[-1]
    assert f"第1名 {users['buyer_3'].display_name}（249,800.00 元）" in result.body and "公示至" in result.body
    assert told(db, users["point_a1"], "procurement.evaluated")
    from exchange.trading.services import deal_for
    end_publicity(deal_for(listing))
    psvc.award(users["point_a1"], listing)
    db.session.commit()
    won = told(db, users["buyer_3"], "procurement.awarded")[-1]
    lost = told(db, users["buyer_coop"], "procurement.awarded")[-1]
    assert "中标人" in won.title or "中标通知" in won.title
    assert "连同银行同期存款利息退还" in lost.body and "无息" not in lost.body
    contract = told(db, users["buyer_3"], "contract.due")[-1]
    assert "中标通知书已发出" in contract.body
