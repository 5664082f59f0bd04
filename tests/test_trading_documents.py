"""Deal documents: 成交确认书 and 竞价记录 as PDFs (WeasyPrint), their text read back with pdftotext, and who
may download them (the parties and the center's staff; not a losing bidder, not the public)."""
import pytest

from exchange import clock
from exchange.money import to_chinese_upper
from exchange.trading import services as tsvc
from tests.builders import end_publicity
from tests.factories import PASSWORD
from tests.helpers import flat, login, pdf_text

pytestmark = pytest.mark.usefixtures("uploads")


def fetch(app, username, url):
    c = app.test_client()
    if username:
        login(c, username, PASSWORD)
    return c.get(url)


def test_confirmation_pdf_has_the_key_fields(app, online_deal):
    deal, regs = online_deal
    listing = deal.listing
    resp = fetch(app, "t_trader", f"/deals/{deal.deal_no}/confirmation.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.data.startswith(b"%PDF")
    body = flat(pdf_text(resp.data))
    for expected in ("农村产权流转交易成交确认书", deal.deal_no, listing.project_no, listing.title, listing.category.name,
                     "江南镇团湖村三组", "32亩", "2027-01-01至2036-12-31", "农户演示", "测试受让人", "网络竞价",
                     "160,000.00元", "壹拾陆万元整",  # 底价
                     "160,500.00元", "壹拾陆万零伍佰元整",  # 成交价 and its 大写
                     "成交日期2026年12月01日00:21",
                     "交易公示期2026-12-0100:21至2026-12-0424:00",  # 3 工作日: 12-2, 12-3, 12-4
                     "临湘市农村产权交易中心"):
        assert flat(expected) in body, expected
    # 第十六条: the 5 工作日 to sign run from the end of the publicity — no date yet at the conclusion
    assert deal.contract_due_at is None
    assert "签约期限交易公示期满之日起5个工作日内" in body and "签约期限2026" not in body
    assert to_chinese_upper(deal.price) == "壹拾陆万零伍佰元整"
    assert listing.transferor_id_no not in body  # the parties' names, not their ID numbers

    # the publicity over (12-4 24:00): the confirmation now shows the date, 12-7, 12-8, 12-9, 12-10, 12-11
    end_publicity(deal)
    body = flat(pdf_text(fetch(app, "t_trader", f"/deals/{deal.deal_no}/confirmation.pdf").data))
    assert "签约期限2026-12-1124:00前（交易公示期满之日起5个工作日内）" in body


def test_bidding_record_pdf_lists_every_bid_with_the_digest(app, online_deal):
    deal, regs = online_deal
    bids = tsvc.bids_of(deal.session)
    resp = fetch(app, "t_trader", f"/deals/{deal.deal_no}/bidding-record.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    raw = pdf_text(resp.data)
    body = flat(raw)
    assert "网络竞价记录" in body and deal.deal_no in body
    for b in bids:
        assert b.registration.bidder_no in body
        assert flat(clock.to_local(b.at).strftime("%Y-%m-%d %H:%M:%S")) in body  # to the second, Beijing time
    assert sum("160,000.00" in ln for ln in raw.splitlines()) >= 2 and "160,500.00" in body
    assert "优先权人同价跟价" in body
    assert tsvc.bids_digest(bids) in body  # the same SHA-256 as the audit entry at the end of the session
    # staff see which name is behind each 竞买号
    assert "竞买号与竞买人对照" in body
    for name in ("测试受让人", "t_buyer_org测试公司", "t_coop测试公司"):
        assert name in body, name


def test_the_winner_gets_the_documents_without_the_other_bidders_names(app, online_deal):
    deal, _ = online_deal
    resp = fetch(app, "t_buyer", f"/deals/{deal.deal_no}/confirmation.pdf")
    assert resp.status_code == 200 and "测试受让人" in flat(pdf_text(resp.data))
    resp = fetch(app, "t_buyer", f"/deals/{deal.deal_no}/bidding-record.pdf")
    assert resp.status_code == 200
    body = flat(pdf_text(resp.data))
    assert "160,500.00" in body and "竞买号与竞买人对照" not in body and "测试公司" not in body


@pytest.mark.parametrize("username,confirmation,record", [
    (None, 302, 302), ("t_point_a1", 403, 403), ("t_station_a", 403, 403), ("t_buyer3", 403, 403),
    # the losing bidders open the record of their own session (竞买号 only), not the winner's 成交确认书
    ("t_buyer_org", 403, 200), ("t_coop", 403, 200),
    ("t_buyer", 200, 200), ("t_trader", 200, 200), ("t_reviewer", 200, 200), ("t_finance", 200, 200),
    ("t_supervisor", 200, 200),
])
def test_who_may_download_the_documents(app, online_deal, username, confirmation, record):
    deal, _ = online_deal
    for doc, status in (("confirmation.pdf", confirmation), ("bidding-record.pdf", record)):
        resp = fetch(app, username, f"/deals/{deal.deal_no}/{doc}")
        assert resp.status_code == status, (username, doc)
        if status == 302:
            assert "/login" in resp.headers["Location"]
        if status == 200:
            assert resp.mimetype == "application/pdf"
        else:
            assert not resp.data.startswith(b"%PDF")


def test_a_losing_bidder_reads_the_record_without_names(app, online_deal):
    deal, _ = online_deal
    resp = fetch(app, "t_buyer_org", f"/deals/{deal.deal_no}/bidding-record.pdf")
    body = flat(pdf_text(resp.data))
    assert "160,500.00" in body and "竞买号与竞买人对照" not in body and "测试受让人" not in body


def test_the_listings_transferor_account_gets_the_confirmation(app, online_deal, db, buyers):
    deal, _ = online_deal
    listing = deal.listing
    listing.transferor_user_id = buyers["buyer_3"].id  # a household that applied directly (第十一条)
    db.session.commit()
    assert fetch(app, "t_buyer3", f"/deals/{deal.deal_no}/confirmation.pdf").status_code == 200


def test_agreement_has_no_bidding_record(app, agreement_deal):
    deal = agreement_deal
    assert fetch(app, "t_trader", f"/deals/{deal.deal_no}/bidding-record.pdf").status_code == 404
    resp = fetch(app, "t_buyer_org", f"/deals/{deal.deal_no}/confirmation.pdf")
    assert resp.status_code == 200
    body = flat(pdf_text(resp.data))
    assert "协议转让" in body and "t_buyer_org测试公司" in body and "160,000.00" in body and "壹拾陆万元整" in body
    assert fetch(app, "t_trader", "/deals/CJ-none/confirmation.pdf").status_code == 404
