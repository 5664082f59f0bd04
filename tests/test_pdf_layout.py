"""Every generated document of a listing with long names (issue 17 item 20): its long title, a long village name, a
long 坐落, long party names — 公告, 竞价记录, 成交确认书, 合同, 结算单 and 鉴证书, read back with pdftotext.

No part of the 坐落 printed twice (the town and the village once each), the contract number on one line, the
announcement with its 项目说明, every field the page shows printed in full.  ``PDF_LAYOUT_DIR=<dir>`` keeps the PDFs
there to be looked at (``pdftoppm -png -r 80``).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select

from exchange.certificates import services as certs
from exchange.contracts import services as csvc
from exchange.contracts.models import Contract
from exchange.settlement import documents as sdocs
from exchange.settlement.models import Settlement
from exchange.trading import documents as tdocs
from tests import builders as b
from tests.helpers import flat, pdf_text

pytestmark = pytest.mark.usefixtures("uploads", "signing_key")

TOWN = "长安街道"
VILLAGE = "老屋场枫树湾联合村"  # the village point's area name, made long
GROUP = "第十三村民小组（原枫树湾组）大塘坝下游东侧"
TITLE = "长安街道老屋场枫树湾联合村第十三村民小组大塘坝下游东侧连片水田三十二亩土地经营权出租（含配套灌溉渠道、机耕道及晒谷坪）"
TRANSFEROR = "欧阳长青、欧阳建国、欧阳建华、欧阳秀英（家庭承包共有人）"
BUYER_ORG = "湖南省岳阳市临湘市长安街道老屋场枫树湾联合村绿色生态种养殖农民专业合作社联合社"
DESCRIPTION = "本宗水田位于大塘坝下游，灌溉便利，机耕道直通地块；流转后须保持耕地用途，不得建设永久性建筑。"


def _long_names(users, orgs, db):
    orgs.point_a1.area_name = VILLAGE
    party = users["buyer_org"].party
    party.name = BUYER_ORG
    db.session.commit()


def _keep(name: str, data: bytes) -> None:
    where = os.environ.get("PDF_LAYOUT_DIR")
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        (Path(where) / f"{name}.pdf").write_bytes(data)


def _won_by_the_long_named_org(users, listing, regs, db):
    from exchange import clock
    from exchange.deadlines.sweeper import sweep
    from exchange.trading import services as tsvc
    from exchange.trading.models import Deal
    s = b.live(users, listing)
    tsvc.place_bid(users["buyer"], s.id, "160000", key=b.key())
    clock.advance(seconds=9)
    tsvc.place_bid(users["buyer_org"], s.id, "160500", key=b.key())
    db.session.commit()
    clock.freeze(s.ends_at)
    sweep()
    db.session.expire_all()
    deal = db.session.scalar(select(Deal).where(Deal.listing_id == listing.id))
    assert deal.registration_id == regs["buyer_org"].id
    return deal


def _settle(users, deal, db) -> Settlement:
    """The price paid in through the designated account (the deposit converted), the proceeds paid out, no fee."""
    import uuid
    from datetime import timedelta

    from exchange import clock
    from exchange.ledger import services as led
    from exchange.listings.workflow import fire
    listing, buyer = deal.listing, deal.registration.buyer
    led.convert_deposit(listing, buyer)
    led.record_price_payment(listing, deal.price - b.DEPOSIT, key=f"JS-{uuid.uuid4().hex[:8]}")
    led.pay_out(listing, deal.price, key=f"PO-{uuid.uuid4().hex[:8]}")
    now = clock.now()
    s = db.session.scalar(select(Settlement).where(Settlement.deal_id == deal.id))
    if s is None:
        s = Settlement(deal_id=deal.id, listing_id=listing.id, payment_ref="JS2026LONG01", due_at=now + timedelta(days=10))
        db.session.add(s)
    s.state, s.price, s.deposit_converted, s.balance_due = "settled", deal.price, b.DEPOSIT, deal.price - b.DEPOSIT
    s.buyer_fee = s.seller_fee = b.Decimal("0.00")
    s.paid_at = s.settled_at = now
    s.certificate_due_at, s.source, s.source_ref = now + timedelta(days=3), "receipt", "BANK-0001"
    fire(listing, "settled", users["finance"])
    db.session.commit()
    return s


@pytest.fixture
def documents(users, orgs, db, frozen):
    """The long-named listing won online by buyer_org, signed, settled and certified: {name: pdf bytes}."""
    _long_names(users, orgs, db)
    b.add_buyers(users)
    listing = b.published(users, title=TITLE, location=f"{GROUP}", transferor_name=TRANSFEROR,
                          account_name=TRANSFEROR, description=DESCRIPTION)
    db.session.commit()
    out = {"announcement": None}
    from exchange.pdf import render_pdf
    out["announcement"] = render_pdf("public/announcement_pdf.html", listing=listing)
    listing, regs = b.open_trading(users, listing, db)
    deal = _won_by_the_long_named_org(users, listing, regs, db)
    out["confirmation"] = tdocs.confirmation_pdf(deal)
    out["bidding_record"] = tdocs.bidding_record_pdf(deal, with_names=True)
    assert b.end_publicity(deal) is not None
    b.make_contract_effective(users, deal, db)
    contract = db.session.scalar(select(Contract).where(Contract.deal_id == deal.id))
    contract.contract_no = "临农交合〔2026〕第000123号"
    db.session.commit()
    out["contract"] = csvc.contract_pdf(contract)
    s = _settle(users, deal, db)
    out["statement"] = sdocs.statement_pdf(s, full_account=True)
    cert = certs.issue(users["center_reviewer"], deal)
    db.session.commit()
    out["certificate"] = certs.pdf_bytes(cert)
    for name, data in out.items():
        _keep(name, data)
    return {name: pdf_text(data) for name, data in out.items()}


PLACE = f"{TOWN}{VILLAGE}{GROUP}"  # 坐落: the town, the village and the clerk's location, each once
CONTRACT_NO = "临农交合〔2026〕第000123号"


def lines_with(text: str, needle: str) -> list[str]:
    return [ln for ln in text.splitlines() if needle in "".join(ln.split())]


def test_every_document_prints_each_long_name_in_full_and_once(documents):
    for name, text in documents.items():
        body = flat(text)
        assert "None" not in body, name
        assert flat(TITLE) in body, name
        for twice in (TOWN + TOWN, VILLAGE + VILLAGE, f"{VILLAGE}{TOWN}", f"{TOWN}{VILLAGE}{TOWN}"):
            assert twice not in body, (name, twice)
    for name in ("announcement", "confirmation", "contract", "certificate"):
        assert flat(PLACE) in flat(documents[name]), name  # 坐落 whole
    for name in ("confirmation", "contract", "statement", "certificate"):
        assert flat(TRANSFEROR) in flat(documents[name]) and flat(BUYER_ORG) in flat(documents[name]), name
    assert flat(BUYER_ORG) in flat(documents["bidding_record"])  # the staff copy names the bidders


def test_the_contract_number_stays_on_one_line(documents):
    for name in ("contract", "statement", "certificate"):
        assert lines_with(documents[name], CONTRACT_NO), (name, documents[name])


def test_the_certificate_fields(documents):
    body = flat(documents["certificate"])
    assert "挂牌期2026年11月23日至2026年11月30日" in body  # the announcement's last day, not the midnight after it
    assert "农户（自然人）" in body and "签订日期2026年12月5日" in body
    assert lines_with(documents["certificate"], "农户（自然人）")  # the kind of transferor is not cut


def test_the_announcement_prints_what_the_project_page_shows(documents):
    body = flat(documents["announcement"])
    assert "项目说明" + flat(DESCRIPTION) in body
    assert "即500.00元/亩/年" in body and "（农户（自然人））" in body and "16,000.00元" in body
    assert documents["announcement"].count("\f") <= 1  # one page: the center's name and date not alone on a second


@pytest.mark.parametrize("town,village,location,place", [
    ("江南镇", "江南村", "江南镇江南村二组", "江南镇江南村二组"),  # the clerk wrote it in full: printed once
    ("江南镇", "团湖村", "团湖村三组", "江南镇团湖村三组"),
    ("江南镇", "团湖村", "三组", "江南镇团湖村三组"),
    ("江南镇", "团湖村", "江南镇三组", "江南镇团湖村三组"),
    ("江南镇", "团湖村", "第十三村民小组", "江南镇团湖村第十三村民小组"),  # a 村民小组 is no village
    ("江南镇", "团湖村", "临湘市江南镇团湖村三组", "临湘市江南镇团湖村三组"),
    ("江南镇", "", "后山林地", "江南镇后山林地"),  # a direct application: no village point
    ("江南镇", "团湖村", "", "江南镇团湖村"),
])
def test_the_place_is_composed_once(town, village, location, place):
    from exchange.listings.models import compose_place
    assert compose_place(town, village, location) == place
