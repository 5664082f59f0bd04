"""成交签约 at the service level (第十六条; DESIGN §3.7, §3.11): the contract opens when the deal's publicity ends,
from its category family's standard text, due 5 工作日 after that; the center edits the free clauses until a party
signs; each party signs once, with its own password (the clerk recording a household's paper signature attaches the
signed page); the last signature puts the contract in force (numbered, the listing to 结算), late or not, while no
default is declared; the signed scan (sniffed PDF/JPG/PNG) is checked by the center as part of 鉴证.  The PDF's text
is read back with pdftotext (the Chinese fields and the 大写 amounts)."""
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from exchange import clock
from exchange.access import AccessDenied
from exchange.accounts.services import SignUp, create_staff, register_public
from exchange.audit.services import acting_as
from exchange.contracts import services as csvc
from exchange.contracts.models import Contract
from exchange.contracts.templates_data import family_for
from exchange.deadlines.sweeper import sweep
from exchange.idcheck import make_resident_id
from exchange.listings import services as lsvc
from exchange.listings.models import Listing
from exchange.money import to_chinese_upper
from exchange.trading import services as tsvc
from exchange.trading.models import Deal
from tests.builders import (ALL_OK, EXE, PDF, attach, category, collective_fields, end_publicity, household_fields,
                            pay, station_agrees, to_trading)
from tests.factories import PASSWORD
from tests.helpers import flat, pdf_text

pytestmark = pytest.mark.usefixtures("uploads")

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_family_from_the_category_code():
    assert family_for("C01") == "land" and family_for("C02") == "forest"
    assert {family_for(c) for c in ("C04", "C05", "C07")} == {"collective"}
    assert family_for("C06") == "equipment"
    assert {family_for(c) for c in ("C03", "C08", "C09", "C10", "C11", None, "")} == {"other"}


def test_contract_opens_when_publicity_ends(contract, db):
    deal = contract.deal
    assert contract.state == "draft" and contract.template == "land" and contract.listing.state == "contract"
    assert contract.due_at == deal.contract_due_at and contract.contract_no is None
    assert csvc.open_contract(deal).id == contract.id  # idempotent
    assert db.session.scalars(select(Contract)).all() == [contract]
    # the sweeper running again opens nothing new
    sweep()
    assert len(db.session.scalars(select(Contract)).all()) == 1


@pytest.mark.article("第十六条")
def test_whole_signing_flow(buyers, contract, db):
    users = buyers
    listing = contract.listing
    reviewer, clerk = users["center_reviewer"], users["point_a1"]
    # the center edits the free clauses while nobody has confirmed
    with pytest.raises(AccessDenied):
        csvc.edit_clauses(users["buyer"], contract, {"other": "买方自己加的条款"})
    with pytest.raises(AccessDenied):
        csvc.edit_clauses(users["finance"], contract, {"other": "x"})
    with pytest.raises(csvc.ContractError):
        csvc.edit_clauses(reviewer, contract, {"price": "1 元"})  # fixed clauses are not editable
    with pytest.raises(csvc.ContractError):
        csvc.edit_clauses(reviewer, contract, {"other": "   "})
    csvc.edit_clauses(reviewer, contract, {"other": "乙方优先雇用本村劳动力。"})
    db.session.commit()
    assert csvc.clauses_of(contract)["other"] == "乙方优先雇用本村劳动力。"
    digest_before = csvc.text_digest(contract)
    # strangers, the losing bidders, other villages' clerks and staff cannot confirm
    for outsider in ("buyer_org", "buyer_coop", "buyer_3", "point_b1", "station_a", "center_reviewer",
                     "trading_officer"):
        with pytest.raises(AccessDenied):
            csvc.confirm(users[outsider], contract, PASSWORD)
    # wrong password
    with pytest.raises(csvc.ContractError) as exc:
        csvc.confirm(users["buyer"], contract, "wrong-password")
    assert "密码不正确" in exc.value.message and exc.value.field == "password"
    db.session.rollback()
    assert contract.buyer_confirmed_at is None
    csvc.confirm(users["buyer"], contract, PASSWORD)
    db.session.commit()
    assert contract.buyer_confirmed_by_id == users["buyer"].id and contract.state == "draft"
    assert contract.text_sha256 == digest_before
    # twice
    with pytest.raises(csvc.ContractError) as exc:
        csvc.confirm(users["buyer"], contract, PASSWORD)
    assert "无需重复确认" in exc.value.message
    # the text is frozen once a party confirmed
    with pytest.raises(csvc.ContractError) as exc:
        csvc.edit_clauses(reviewer, contract, {"other": "改一下"})
    assert "不能再修改" in exc.value.message
    # no scan before both signed
    with pytest.raises(csvc.ContractError):
        csvc.upload_scan(users["buyer"], contract, PDF, "合同.pdf")
    assert db.session.get(Listing, listing.id).state == "contract"
    # the household has no account: its village clerk records its paper signature, with the signed page
    with pytest.raises(csvc.ContractError) as exc:
        csvc.confirm(clerk, contract, PASSWORD)
    assert exc.value.field == "file" and "纸质合同上签字" in exc.value.message
    db.session.rollback()
    with pytest.raises(csvc.ContractError) as exc:
        csvc.confirm(clerk, contract, PASSWORD, EXE, "签字页.pdf")
    assert exc.value.field == "file"
    db.session.rollback()
    assert contract.seller_confirmed_at is None
    csvc.confirm(clerk, contract, PASSWORD, PNG, "签字页.png")
    db.session.commit()
    # the last signature: in force from this moment, numbered, the listing on to 结算 (第十六条)
    year = clock.local_now().year
    assert contract.is_in_force and contract.state == "signed" and contract.seller_confirmed_as == csvc.ON_BEHALF
    assert contract.seller_confirmed_by_id == clerk.id and contract.seller_signature_content_type == "image/png"
    assert contract.scan_key is None  # the page the household signed is evidence, not the signed contract
    assert contract.contract_no == f"临农交合〔{year}〕第000001号" and contract.effective_at == clock.now()
    assert contract.signed_on == clock.today_local() and not csvc.signed_late(contract)
    assert db.session.get(Listing, listing.id).state == "settlement"
    assert listing.events[-1].action == "contract_effective"
    with pytest.raises(csvc.ContractError):
        csvc.confirm(clerk, contract, PASSWORD, PDF, "again.pdf")
    effective_at = contract.effective_at
    csvc.upload_scan(users["buyer"], contract, PDF, "双方签章合同.pdf")
    db.session.commit()
    assert contract.state == "uploaded"
    # the center checks the scan (鉴证): only contracts.manage; a return leaves the contract in force
    with pytest.raises(AccessDenied):
        csvc.check(users["buyer"], contract, approve=True)
    with pytest.raises(AccessDenied):
        csvc.check(users["finance"], contract, approve=True)
    with pytest.raises(csvc.ContractError):
        csvc.check(reviewer, contract, approve=False, note="")
    csvc.check(reviewer, contract, approve=False, note="乙方未盖章")
    db.session.commit()
    assert contract.state == "signed" and contract.check_note == "乙方未盖章" and contract.is_in_force
    assert contract.effective_at == effective_at and db.session.get(Listing, listing.id).state == "settlement"
    # uploads: only the parties or the center; only real PDF/JPG/PNG
    with pytest.raises(AccessDenied):
        csvc.upload_scan(users["buyer_org"], contract, PDF, "合同.pdf")
    with pytest.raises(csvc.ContractError) as exc:
        csvc.upload_scan(users["buyer"], contract, EXE, "合同.pdf")
    assert "只能上传" in exc.value.message
    db.session.rollback()
    csvc.upload_scan(clerk, contract, PDF, "签章合同.pdf")
    db.session.commit()
    assert contract.state == "uploaded" and contract.scan_filename == "签章合同.pdf"
    csvc.check(users["trading_officer"], contract, approve=True)
    db.session.commit()
    assert contract.state == "checked" and contract.effective_at == effective_at
    assert contract.contract_no == f"临农交合〔{year}〕第000001号"
    with pytest.raises(csvc.ContractError):
        csvc.check(reviewer, contract, approve=True)
    with pytest.raises(csvc.ContractError):
        csvc.upload_scan(users["buyer"], contract, PDF, "again.pdf")


@pytest.mark.article("第十六条")
def test_a_late_signature_is_accepted_and_marked_late_until_a_default(buyers, contract, db):
    clock.freeze(contract.due_at - timedelta(seconds=1))
    csvc.confirm(buyers["buyer"], contract, PASSWORD)  # the last second of the last day counts
    db.session.commit()
    assert not csvc.is_overdue(contract)
    clock.freeze(contract.due_at + timedelta(days=2))
    assert csvc.is_overdue(contract) and csvc.unsigned_sides(contract) == ["seller"]
    csvc.confirm(buyers["point_a1"], contract, PASSWORD, PDF, "签字页.pdf")
    db.session.commit()
    assert contract.is_in_force and csvc.signed_late(contract) and not csvc.is_overdue(contract)
    assert contract.effective_at == clock.now() and contract.listing.state == "settlement"
    assert "逾期签署" in contract.listing.events[-2].note


def test_the_text_signed_first_is_the_text_signed_second_and_printed(buyers, contract, db):
    """The text is kept as the first party signed it: a later change of the listing's record (or of a template)
    changes neither what the second party signs nor what the PDF prints."""
    listing = contract.listing
    csvc.confirm(buyers["buyer"], contract, PASSWORD)
    db.session.commit()
    signed, digest = contract.text_html, contract.text_sha256
    assert signed and listing.location in csvc.plain_text(signed)
    listing.location = "改过的坐落九组"
    db.session.commit()
    assert "改过的坐落九组" not in csvc.plain_text(csvc.render_text(contract))
    csvc.confirm(buyers["point_a1"], contract, PASSWORD, PDF, "签字页.pdf")
    db.session.commit()
    assert contract.is_in_force and contract.text_html == signed and contract.text_sha256 == digest
    printed = flat(pdf_text(csvc.contract_pdf(contract)))
    assert "改过的坐落九组" not in printed and digest in printed


def test_a_contract_signed_once_before_its_text_was_kept_is_not_signed_on_a_different_text(buyers, contract, db):
    csvc.confirm(buyers["buyer"], contract, PASSWORD)
    db.session.commit()
    contract.text_html = ""  # as a contract signed once before the text was kept
    contract.listing.location = "改过的坐落九组"
    db.session.commit()
    with pytest.raises(csvc.ContractError) as exc:
        csvc.confirm(buyers["point_a1"], contract, PASSWORD, PDF, "签字页.pdf")
    assert "不一致" in exc.value.message
    db.session.rollback()
    assert contract.seller_confirmed_at is None and not contract.is_in_force


@pytest.mark.article("第十六条")
def test_no_signature_once_a_default_is_declared(buyers, contract, db):
    from exchange.incidents import breach
    clock.freeze(contract.due_at + timedelta(minutes=1))
    csvc.confirm(buyers["buyer"], contract, PASSWORD)
    db.session.commit()
    case = breach.declare_default(buyers["center_reviewer"], contract.listing, reason="转让方逾期未签署合同")
    db.session.commit()
    assert case.party == "seller" and contract.state == "void"
    with pytest.raises(csvc.ContractError) as exc:
        csvc.confirm(buyers["point_a1"], contract, PASSWORD, PDF, "签字页.pdf")
    assert "作废" in exc.value.message
    db.session.rollback()
    assert contract.seller_confirmed_at is None


@pytest.mark.article("第十六条")
def test_the_signing_clock_starts_when_publicity_ends_not_at_the_deal(contract, db):
    from exchange.workdays.services import due_after_working_days
    deal = contract.deal
    last_publicity_day = deal.publicity_end_at - timedelta(microseconds=1)  # publicity ends at 24:00 of its last day
    assert deal.contract_due_at == due_after_working_days(last_publicity_day, 5).at
    assert contract.due_at == deal.contract_due_at
    # the parties get the whole 5 工作日 after 交易公示 (3 工作日): 8 from the deal, not 5 (2 left after the publicity)
    assert deal.publicity_end_at == due_after_working_days(deal.concluded_at, 3).at
    assert contract.due_at == due_after_working_days(deal.concluded_at, 8).at


def test_a_transferor_with_an_account_confirms_itself(users, db, frozen, orgs):
    with acting_as("test"):
        seller = register_public(SignUp(
            username="t_seller", password=PASSWORD, kind="person", name="测试转让人", mobile="13900000009",
            id_number=make_resident_id("43068219700101002"), foreign_kind="domestic"))
    listing = lsvc.create_draft(seller, category=category("C01"), point=orgs.point_a1, **household_fields(
        transferor_name=seller.party.name, transferor_id_no=seller.party.id_number, account_name=seller.party.name))
    attach(listing, seller)
    lsvc.submit(seller, listing)
    station_agrees(users, listing)  # 第十四条: a direct application, reviewed with the town's station
    lsvc.center_decide(users["center_reviewer"], listing, "approve", ALL_OK)
    db.session.commit()
    pay(users, listing, ["buyer_org"])
    db.session.commit()
    listing = to_trading(listing)
    deal = tsvc.confirm_agreement(users["trading_officer"], listing)
    db.session.commit()
    c = end_publicity(deal)
    assert csvc.seller_capacity(users["point_a1"], c) is None  # the clerk does not act for an account holder
    with pytest.raises(AccessDenied):
        csvc.confirm(users["point_a1"], c, PASSWORD)
    with pytest.raises(csvc.ContractError):
        csvc.confirm(seller, c, PASSWORD + "x")
    csvc.confirm(seller, c, PASSWORD)  # online, no scan needed
    csvc.confirm(users["buyer_org"], c, PASSWORD)
    db.session.commit()
    assert c.state == "signed" and c.seller_confirmed_as == csvc.SELF and c.scan_key is None


def test_another_clerk_of_the_same_town_cannot_act(users, contract, orgs, db):
    with acting_as("test"):
        other = create_staff(None, username="t_point_a2", display_name="茶园村信息员", role="point_clerk",
                             org=orgs.point_a2, password=PASSWORD, must_change_password=False)
    db.session.commit()
    with pytest.raises(AccessDenied):
        csvc.confirm(other, contract, PASSWORD)
    assert not csvc.may_view(other, contract)
    assert csvc.may_view(users["point_a1"], contract) and csvc.may_view(users["supervisor"], contract)
    assert csvc.may_view(users["station_a"], contract) and not csvc.may_view(users["station_b"], contract)


def test_contract_numbers_are_gap_free_per_year(users, db, frozen):
    from exchange.listings.services import next_number
    year = clock.local_now().year
    assert [csvc.format_no(year, next_number("contract", year)) for _ in range(2)] == [
        f"临农交合〔{year}〕第000001号", f"临农交合〔{year}〕第000002号"]
    db.session.rollback()
    assert next_number("contract", year) == 1  # a rolled-back approval leaves no gap


def test_pdf_text_has_the_fields_and_the_amounts_in_words(buyers, contract, db):
    deal, listing = contract.deal, contract.listing
    csvc.edit_clauses(buyers["center_reviewer"], contract, {"payment": "分两期：签约后 5 日内付清余款。"})
    body = flat(pdf_text(csvc.contract_pdf(contract)))
    assert deal.price == Decimal("160500.00")
    for expected in ("农村土地经营权流转合同", "甲方（出租方）", "农户演示", "乙方（承租方）", "测试受让人",
                     listing.project_no, deal.deal_no, "江南镇团湖村三组", "东至渠道，西至村道", "32亩",
                     "2027年01月01日起至2036年12月31日止，共10年", "160,500.00元", "壹拾陆万零伍佰元整",
                     "16,000.00元", "壹万陆仟元整", "144,500.00元", "壹拾肆万肆仟伍佰元整",
                     "第二十七条", "申请调解", "仲裁", "人民法院", "分两期：签约后5日内付清余款。",
                     "不得改变土地的农业用途", "【合同草稿", "（合同生效时由交易中心编号）",
                     csvc.text_digest(contract)):
        assert flat(expected) in body, expected
    assert to_chinese_upper(Decimal("144500")) == "壹拾肆万肆仟伍佰元整"
    assert listing.transferor_id_no in body  # the parties' ID numbers belong in the contract
    # signed by both and in force: the number and the date appear, the draft mark does not
    csvc.confirm(buyers["buyer"], contract, PASSWORD)
    csvc.confirm(buyers["point_a1"], contract, PASSWORD, PDF, "s.pdf")
    csvc.upload_scan(buyers["buyer"], contract, PDF, "签章合同.pdf")
    csvc.check(buyers["center_reviewer"], contract, approve=True)
    db.session.commit()
    body = flat(pdf_text(csvc.contract_pdf(contract)))
    assert contract.contract_no in body and "【合同草稿" not in body
    assert flat(clock.today_local().strftime("%Y年%m月%d日")) in body
    assert contract.text_sha256 in body  # the text both confirmed is still the text printed
    assert "交易点代为确认（转让方已书面签字）" in body


@pytest.mark.parametrize("code,method,title,words", [
    ("C02", "出租", "林权流转合同", ("森林防火", "采伐许可", "甲方（出租方）")),
    ("C05", "租赁", "农村集体资产（资源）承包租赁合同", ("民主决策程序", "村民代表会议", "评估值60,000.00元")),
    ("C06", "拍卖", "农业生产设施设备买卖（租赁）合同", ("甲方（出卖人）", "乙方（买受人）", "农机牌证")),
    ("C11", "转让", "农村产权流转交易合同", ("权属变更", "甲方（转让方）")),
])
def test_each_family_has_its_own_text(buyers, contract, db, code, method, title, words):
    listing = contract.listing
    listing.category = category(code)
    listing.method = next(m for m in listing.category.methods if m.name == method)
    if code == "C05":
        for k, v in collective_fields().items():
            if k in ("decision_type", "appraisal_agency", "appraisal_report_no", "transferor_kind"):
                setattr(listing, k, v)
        listing.reps_total, listing.reps_for = 30, 19
        listing.appraisal_value = Decimal("60000")
    contract.template = family_for(code)
    body = flat(pdf_text(csvc.contract_pdf(contract)))
    db.session.rollback()
    assert title in body
    for w in words:
        assert w in body, w
    assert "壹拾陆万零伍佰元整" in body and "第二十七条" in body


def test_scan_upload_sniffs_the_type_not_the_name(buyers, contract, db):
    csvc.confirm(buyers["buyer"], contract, PASSWORD)
    csvc.confirm(buyers["point_a1"], contract, PASSWORD, PDF, "签字页.pdf")
    db.session.commit()
    for data, name in ((EXE, "合同.pdf"), (b"<html><script>alert(1)</script>", "合同.jpg"), (b"", "空.pdf"),
                       (b"just text", "合同.png")):
        with pytest.raises(csvc.ContractError) as exc:
            csvc.upload_scan(buyers["center_reviewer"], contract, io.BytesIO(data), name)
        assert exc.value.field == "file"
    assert contract.state == "signed"
    csvc.upload_scan(buyers["trading_officer"], contract, PDF, "scan.exe")
    assert contract.scan_filename == "scan.pdf" and re.fullmatch(r"[0-9a-f]{64}", contract.scan_sha256)


def test_the_deal_winner_is_the_buyer_not_other_paid_bidders(buyers, contract):
    deal = contract.deal
    assert csvc.party_side(buyers["buyer"], contract) == "buyer"
    assert deal.registration.buyer_id == buyers["buyer"].id
    for k in ("buyer_org", "buyer_coop"):
        assert csvc.party_side(buyers[k], contract) is None and not csvc.may_view(buyers[k], contract)
    assert isinstance(deal, Deal)
