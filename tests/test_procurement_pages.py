"""Procurement projects' pages over HTTP (issue 18): the village clerk's intake in four steps (each wrong value refused
beside its field), the terms on the staff, public and PDF pages (never a 底价), a supplier's sealed bid with its receipt
and withdrawal, the public 开标 record before (nothing of the bids, not even how many) and after, and the trading
officer's 最低价法 evaluation — each page for the roles that may and may not open it."""
from __future__ import annotations

import hashlib
import io
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from exchange.listings import services as lsvc
from exchange.listings.models import Listing
from exchange.procurement import services as psvc
from exchange.procurement.models import ProcurementBid
from exchange.registrations import services as rsvc
from exchange.registrations.models import Registration
from tests.builders import PDF, category
from tests.factories import PASSWORD
from tests.helpers import csrf_from, flat, login, pdf_text, post_form, text
from tests.procurement_builders import (collective, draft, pay_bonds, published_project,  # noqa: F401
                                        road_terms, suppliers, to_opening)

pytestmark = pytest.mark.usefixtures("frozen", "uploads", "bid_vault")


def sign_out(client):
    with client.session_transaction() as session:
        session.clear()


def sign_in(client, username):
    sign_out(client)
    login(client, username, PASSWORD)


def field_error(page: str, field_id: str) -> str:
    """The words shown beside a field (``<div class="field-errors" id="…-error">``), '' when none."""
    m = re.search(rf'id="{field_id}-error">(.*?)</div>', page, re.S)
    return re.sub(r"<[^>]+>", "", m.group(1)).strip() if m else ""


def card(page: str, title: str) -> str:
    """The card of ``page`` headed ``title`` (its <section>)."""
    start = page.index(f">{title}</h2>")
    return page[start:page.index("</section>", start)]


def card_of(page: str) -> str:
    """The first project card of the public search's results."""
    start = page.index('class="card project-card"')
    return page[start:page.index("</a>", start)]


def terms_form(**kw) -> dict:
    t = road_terms()
    day, at = t.pop("opens_at").split(" ")
    form = {"kind": t["kind"], "budget": t["budget"], "limit_price": t["limit_price"], "bond": t["bond"],
            "eval_kind": t["eval_kind"], "price_weight": "", "criteria": "", "specialty": "", "panel_size": "3",
            "scope": t["scope"], "requirements": t["requirements"], "opens_date": day, "opens_time": at}
    form.update(kw)
    return form


def buyer_form(**kw) -> dict:
    c = collective()
    form = {k: c[k] for k in ("transferor_name", "transferor_id_no", "transferor_mobile", "decision_type",
                              "decision_date", "reps_total", "reps_for")}
    form.update(kw)
    return form


def upload(client, listing_id: int, kind: str, page: str):
    return client.post(f"/listings/{listing_id}/materials", data={
        "csrf_token": csrf_from(page), "kind": kind, "file": (io.BytesIO(PDF), f"{kind}.pdf")},
        content_type="multipart/form-data")


# --- a new project and who may open it ------------------------------------------------------------------------------

def test_a_clerk_and_the_center_reviewer_open_a_project_nobody_else(client, users, db):
    assert client.get("/procurement/new").status_code == 302  # signed out: to the sign-in page
    for username in ("t_station_a", "t_trader", "t_finance", "t_supervisor", "t_buyer_org"):
        sign_in(client, username)
        assert client.get("/procurement/new").status_code == 403, username
        assert "新建招标采购项目" not in text(client.get("/work"))

    sign_in(client, "t_point_a1")
    work = text(client.get("/work"))
    assert "新建挂牌项目" in work and "新建招标采购项目" in work
    assert "新建招标采购项目" in text(client.get("/listings/"))
    page = text(client.get("/procurement/new"))
    for line in ("招标：修路、水利、建房等工程", "采购：买货物或服务", "招商：为集体的资源、资产或产业项目选投资人"):
        assert line in page
    assert "所在村（社区）" not in page  # the clerk drafts for its own village
    resp = post_form(client, "/procurement/new", {"mode": "", "title": ""})
    assert resp.status_code == 400 and "请选择招标、采购或招商" in text(resp) and "请填写项目名称" in text(resp)
    resp = post_form(client, "/procurement/new", {"mode": "招标", "title": "团湖村通组公路修缮工程"})
    listing = db.session.scalar(select(Listing).where(Listing.title == "团湖村通组公路修缮工程"))
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/procurement/{listing.id}/edit/basic")
    assert listing.is_procurement and listing.method.name == "招标" and listing.point_id == users["point_a1"].org_unit_id
    assert psvc.project_of(listing) is not None

    sign_in(client, "t_reviewer")
    assert "新建招标采购项目" in text(client.get("/work"))
    page = text(client.get("/procurement/new"))
    assert "所在村（社区）" in page and "江南镇 · 团湖村" in page
    resp = post_form(client, "/procurement/new", {"mode": "采购", "title": "村部保洁服务", "point_id": "0"})
    assert resp.status_code == 400 and "请选择项目所在的村（社区）" in field_error(text(resp), "point_id")
    resp = post_form(client, "/procurement/new", {"mode": "采购", "title": "村部保洁服务",
                                                  "point_id": str(users["point_b1"].org_unit_id)})
    assert resp.status_code == 302
    made = db.session.scalar(select(Listing).where(Listing.title == "村部保洁服务"))
    assert made.origin == "direct" and made.point_id == users["point_b1"].org_unit_id and made.method.name == "采购"


# --- the intake steps -------------------------------------------------------------------------------------------------

def test_the_clerk_fills_the_steps_each_wrong_value_refused_beside_its_field(client, users, db):
    sign_in(client, "t_point_a1")
    post_form(client, "/procurement/new", {"mode": "招标", "title": "团湖村通组公路修缮工程"}, page="/procurement/new")
    listing = db.session.scalar(select(Listing).where(Listing.title == "团湖村通组公路修缮工程"))
    base = f"/procurement/{listing.id}/edit"
    page = text(client.get(f"{base}/basic"))
    assert "第 1 步，共 5 步" in page and "采购需求与评标办法" in page and "采购人与民主决策" in page
    assert "第 2 步 采购需求与评标办法" in page  # what remains, step by step
    methods = {m.name: m.id for m in category("C08").methods}
    resp = post_form(client, f"{base}/basic", {"title": listing.title, "method_id": methods["招标"],
                                               "location": "团湖村三组至五组", "description": "村道硬化，资金来自一事一议"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"{base}/terms")

    page = text(client.get(f"{base}/terms"))
    assert "最高限价（元）" in page and "开标日期" in page and "最低价法" in page and "综合评分法" in page
    # a budget at the national threshold of compulsory tendering: refused with the reason, beside the budget
    resp = post_form(client, f"{base}/terms", terms_form(budget="4000000", limit_price="3900000", bond="5000"))
    assert resp.status_code == 400
    assert "依法必须招标，应进入公共资源交易中心交易" in field_error(text(resp), "budget")
    assert 'value="4000000"' in text(resp)  # what was typed is kept
    # a bond over 2 % of the ceiling
    resp = post_form(client, f"{base}/terms", terms_form(bond="6000"))
    assert resp.status_code == 400
    assert field_error(text(resp), "bond").startswith("投标保证金不得超过最高限价的 2%，即 5,600 元")
    # a date that is none
    resp = post_form(client, f"{base}/terms", terms_form(opens_date="2026-13-45"))
    assert resp.status_code == 400
    assert "开标时间请按“2027-01-15 09:30”的格式填写（北京时间）" in field_error(text(resp), "opens_date")
    # an opening on a Sunday
    resp = post_form(client, f"{base}/terms", terms_form(opens_date="2026-12-06"))
    assert "开标时间应在工作日的 8:30 至 17:30 之间" in field_error(text(resp), "opens_date")
    db.session.expire_all()
    assert psvc.project_of(listing).budget is None  # nothing refused was saved
    resp = post_form(client, f"{base}/terms", terms_form())
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"{base}/buyer")
    db.session.expire_all()
    project = psvc.project_of(listing)
    assert project.limit_price == Decimal("280000.00") and listing.deposit_amount == Decimal("5000.00")
    assert project.kind == "works" and project.eval_kind == "lowest_price"
    page = text(client.get(f"{base}/terms"))
    assert 'value="2026-12-07"' in page and 'value="09:30"' in page and 'value="280000.00"' in page

    # the 采购人 and its 四议两公开 decision
    page = text(client.get(f"{base}/buyer"))
    assert "四议两公开" in page and "统一社会信用代码" in page
    resp = post_form(client, f"{base}/buyer", buyer_form(decision_date="2026-02-30"))
    assert resp.status_code == 400 and "格式应为" in field_error(text(resp), "decision_date")
    resp = post_form(client, f"{base}/buyer", buyer_form(transferor_id_no="91430682MA4L00010X"))
    assert resp.status_code == 400 and "统一社会信用代码" in field_error(text(resp), "transferor_id_no")
    assert 'value="91430682MA4L00010X"' in text(resp)
    resp = post_form(client, f"{base}/buyer", buyer_form(reps_total="30", reps_for="31"))
    assert resp.status_code == 400 and "同意人数不能多于" in field_error(text(resp), "reps_for")
    resp = post_form(client, f"{base}/buyer", buyer_form())
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"{base}/materials")

    # the materials: the upload comes back to this step
    page = text(client.get(f"{base}/materials"))
    assert "“四议两公开”决议" in page and "工程量清单或采购（招商）需求清单" in page and "缺" in page
    for kind in ("qualification", "approval", "scope"):
        resp = upload(client, listing.id, kind, page)
        assert resp.status_code == 302 and f"/procurement/{listing.id}/edit/materials?after={kind}" in \
            resp.headers["Location"]
    page = text(client.get(f"{base}/materials"))
    assert "资料已齐全" in page
    detail = text(client.get(f"/listings/{listing.id}"))
    assert "还需补正" not in detail and "提交交易站初审" in detail
    resp = post_form(client, f"/listings/{listing.id}/submit", {}, page=f"/listings/{listing.id}", follow=True)
    assert "已提交交易站初审" in text(resp)
    # submitted: no longer edited
    resp = client.get(f"{base}/terms", follow_redirects=True)
    assert "不能修改" in text(resp)


def test_the_scored_method_and_a_investment_project_read_as_they_are(client, users, db):
    listing = draft(users, mode="招商", title="新建村闲置厂房招商", terms=road_terms(kind="", limit_price="60000",
                                                                              budget="60000", bond="1000"))
    db.session.commit()
    sign_in(client, "t_point_a1")
    base = f"/procurement/{listing.id}/edit"
    page = text(client.get(f"{base}/terms"))
    assert "最低价（元）" in page and "最高限价" not in page and "最高价法（价高者得）" in page
    assert "项目类别" not in page  # 招商 has no 工程/货物/服务
    form = terms_form(kind="", budget="60000", limit_price="60000", bond="1000", eval_kind="scored",
                      price_weight="40", criteria="经营方案:40\n投资实力：20", specialty="agriculture", panel_size="5",
                      trim_extremes="y")
    resp = post_form(client, f"{base}/terms", form | {"price_weight": "50"})
    assert resp.status_code == 400 and "各评分因素分值合计应为 100 分，现为 110.00 分" in text(resp)
    resp = post_form(client, f"{base}/terms", form | {"criteria": "经营方案:40\n经营方案:20"})
    assert resp.status_code == 400 and "评分因素“经营方案”重复了" in field_error(text(resp), "criteria")
    assert post_form(client, f"{base}/terms", form).status_code == 302
    db.session.expire_all()
    project = psvc.project_of(listing)
    assert project.eval_kind == "scored" and project.direction == "higher" and project.panel_size == 5
    assert [(c["name"], c["weight"]) for c in project.criteria] == [("经营方案", "40.00"), ("投资实力", "20.00")]
    page = text(client.get(f"{base}/terms"))
    assert "经营方案:40\n投资实力:20" in page
    detail = card(text(client.get(f"/listings/{listing.id}")), "项目信息")
    assert "最低价" in detail and "最高限价" not in detail and "底价" not in detail
    assert "价格分 = 投资（租金）报价 ÷ 基准价 × 40" in detail and "基准价 = 最高有效报价" in detail
    assert "经营方案 40 分" in detail and "去掉一个最高分和一个最低分" in detail and "农业技术" in detail
    # choosing 最低价法 again leaves the scored fields behind (hidden on the page), never contradicting the method
    assert post_form(client, f"{base}/terms", form | {"eval_kind": "lowest_price"}).status_code == 302
    db.session.expire_all()
    assert project.eval_kind == "lowest_price" and project.criteria == [] and project.price_weight == 0


def test_the_transfer_intake_sends_a_project_to_its_own_steps_and_back(client, users, db):
    listing = draft(users)
    db.session.commit()
    sign_in(client, "t_point_a1")
    for step, target in (("basic", "basic"), ("term", "terms"), ("transferor", "buyer"), ("trade", "terms"),
                         ("materials", "materials")):
        resp = client.get(f"/listings/{listing.id}/edit/{step}")
        assert resp.status_code == 302 and resp.headers["Location"].endswith(
            f"/procurement/{listing.id}/edit/{target}"), step
    detail = text(client.get(f"/listings/{listing.id}"))
    assert f"/procurement/{listing.id}/edit/basic" in detail and f"/procurement/{listing.id}/edit/materials" in detail
    assert "缺少材料：采购人主体资格证明（村集体经济组织登记证书等）；“四议两公开”决议" in detail
    other = lsvc.create_draft(users["point_a1"], category=category("C01"), title="旱地出租")
    db.session.commit()
    resp = client.get(f"/procurement/{other.id}/edit/terms")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/listings/{other.id}/edit/term")
    assert client.get(f"/procurement/{listing.id}/edit/nothing").status_code == 404


def test_who_may_not_edit_a_project(client, users, db):
    listing = draft(users)
    db.session.commit()
    for username in ("t_point_b1", "t_station_a", "t_supervisor", "t_trader"):
        sign_in(client, username)
        assert client.get(f"/procurement/{listing.id}/edit/terms").status_code == 403, username
        resp = post_form(client, f"/procurement/{listing.id}/edit/terms", terms_form(budget="1"), page="/work")
        assert resp.status_code == 403, username
    sign_in(client, "t_buyer_org")
    assert client.get(f"/procurement/{listing.id}/edit/terms").status_code == 403
    db.session.expire_all()
    assert psvc.project_of(listing).budget == Decimal("300000.00")


# --- the terms as published -------------------------------------------------------------------------------------------

def test_the_terms_on_the_staff_page_the_public_page_and_the_announcement(client, users, db):
    listing = published_project(users, db)
    sign_in(client, "t_reviewer")
    staff = text(client.get(f"/listings/{listing.id}"))
    public = text(client.get(f"/projects/{listing.project_no}"))
    for page in (staff, public):
        for words in ("招标", "工程", "预算金额", "300,000.00 元", "最高限价", "280,000.00 元（贰拾捌万元整）",
                      "投标保证金", "5,000.00 元", "最低价法：报价不超过最高限价", "投标截止暨开标时间",
                      "2026-12-07 09:30", "C25 混凝土 18 厘米", "市政公用工程施工总承包三级以上资质", "新建村股份经济合作社"):
            assert words in page, words
        assert "底价" not in page
    assert "招标公告" in public and "网上开标记录" in public
    found = text(client.get("/projects/?q=团湖村通组"))
    assert "最高限价 <strong>280,000.00</strong> 元 · 开标 2026-12-07 09:30" in found and "底价" not in card_of(found)
    assert "最高限价</span> 280,000.00" in text(client.get("/listings/"))
    sign_out(client)
    public = text(client.get(f"/projects/{listing.project_no}"))
    assert "登录后报名" in public and "包括交易中心工作人员" in public
    resp = client.get(f"/projects/{listing.project_no}/announcement.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    printed = flat(pdf_text(resp.data))
    for words in ("招标公告", listing.project_no, "最高限价", "280,000.00元", "投标保证金", "5,000.00元", "最低价法",
                  "2026年12月07日09:30", "网上开标", "新建村股份经济合作社", "市政公用工程施工总承包三级以上资质"):
        assert flat(words) in printed, words
    assert "底价" not in printed and "交易公告" not in printed


# --- a supplier's sealed bid ------------------------------------------------------------------------------------------

def test_a_supplier_bids_resubmits_and_withdraws(client, users, db):
    listing = published_project(users, db)
    suppliers(users)
    pay_bonds(users, listing, keys=("buyer_org",))
    rsvc.apply(users["buyer_3"], listing, accept_declaration=True)
    db.session.commit()
    url = f"/procurement/{listing.id}/bid"
    assert client.get(url).status_code == 302  # signed out: to the sign-in page
    for username in ("t_reviewer", "t_trader", "t_supervisor", "t_point_a1"):
        sign_in(client, username)
        assert client.get(url).status_code == 403, username

    sign_in(client, "t_coop")  # not registered
    page = text(client.get(url))
    assert "请先报名参加该项目" in page and 'name="price"' not in page
    sign_in(client, "t_buyer3")  # registered, in review
    assert "您的报名正在资格审核中" in text(client.get(url))

    sign_in(client, "t_buyer_org")
    assert "提交密封投标" in text(client.get(f"/projects/{listing.project_no}"))
    reg = db.session.scalar(select(Registration).where(Registration.buyer_id == users["buyer_org"].id))
    assert f"/procurement/{listing.id}/bid" in text(client.get(f"/registrations/{reg.id}"))
    page = text(client.get(url))
    assert 'name="price"' in page and "任何人——包括交易中心工作人员——都无法查看您的报价" in page
    assert "不能高于最高限价 280,000.00 元" in page
    token = csrf_from(page)
    resp = client.post(url, data={"csrf_token": token, "price": "280000.01"})
    assert resp.status_code == 400 and "投标报价不能高于最高限价 280,000.00 元" in field_error(text(resp), "price")
    resp = client.post(url, data={"csrf_token": token, "price": "25.6万"})
    assert resp.status_code == 400 and field_error(text(resp), "price")
    resp = client.post(url, data={"csrf_token": token, "price": "256000",
                                  "files": [(io.BytesIO(b"MZ\x90\x00" + b"\x00" * 64), "报价单.exe")]},
                       content_type="multipart/form-data")
    assert resp.status_code == 400 and "投标文件" in field_error(text(resp), "files")
    assert db.session.scalar(select(ProcurementBid)) is None
    resp = client.post(url, data={"csrf_token": token, "price": "256000",
                                  "files": [(io.BytesIO(PDF), "资质证书.pdf")]}, content_type="multipart/form-data")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"{url}/receipt")
    first = db.session.scalar(select(ProcurementBid))
    receipt = text(client.get(f"{url}/receipt"))
    assert first.receipt in receipt and "2026-11-23 09:00:00" in receipt and "投标已密封" in receipt

    page = text(client.get(url))
    assert first.receipt in page and "撤回投标" in page and "重新提交将替换您已提交的投标" in page
    client.post(url, data={"csrf_token": csrf_from(page), "price": "255000"})
    db.session.expire_all()
    second = db.session.scalar(select(ProcurementBid).where(ProcurementBid.state == "sealed"))
    assert first.state == "withdrawn" and second.receipt != first.receipt
    page = text(client.get(url))
    assert second.receipt in page and "已撤回的投标" in page and f"回执 {first.receipt[:16]}…（已作废）" in page

    sign_in(client, "t_coop")  # someone else's bid is not theirs to withdraw
    assert post_form(client, f"/procurement/{listing.id}/bids/{second.id}/withdraw", {}, page="/work"
                     ).status_code == 404
    sign_in(client, "t_buyer_org")
    resp = post_form(client, f"/procurement/{listing.id}/bids/{second.id}/withdraw", {}, page=url, follow=True)
    assert "已撤回投标，原回执作废" in text(resp)
    db.session.expire_all()
    assert second.state == "withdrawn" and 'name="price"' in text(resp)
    assert "您在本项目没有有效的投标" in text(client.get(f"{url}/receipt"))


# --- the public 开标 record -------------------------------------------------------------------------------------------

PRICES = {"buyer_org": "256000", "buyer_3": "249800.50", "buyer_coop": "261000"}


def bidding_project(users, db, files=False):
    listing = published_project(users, db)
    suppliers(users)
    pay_bonds(users, listing)
    for k, p in PRICES.items():
        psvc.submit_bid(users[k], listing, price=p, files=[_pdf("资质证书.pdf")] if files else ())
    db.session.commit()
    return listing


def _pdf(name):
    from werkzeug.datastructures import FileStorage
    return FileStorage(io.BytesIO(PDF), filename=name, content_type="application/pdf")


def test_the_opening_page_says_nothing_of_the_bids_before_and_everything_after(client, users, db):
    listing = bidding_project(users, db, files=True)
    url = f"/projects/{listing.project_no}/opening"
    bids = db.session.scalars(select(ProcurementBid)).all()
    page = text(client.get(url))
    assert "2026-12-07 09:30" in page and "任何人（包括交易中心工作人员）都无法查看报价和文件" in page
    for b in bids:
        assert b.receipt not in page and b.supplier.display_name not in page
        assert client.get(f"{url}/bids/{b.id}.json").status_code == 404
        assert client.get(f"{url}/bids/{b.id}.sealed").status_code == 404
        assert client.get(f"{url}/bids/{b.id}/files/1").status_code == 404
    assert "3 份" not in page and "份投标" not in page and "256,000" not in page
    public = text(client.get(f"/projects/{listing.project_no}"))
    assert all(b.supplier.display_name not in public for b in bids) and "份投标" not in public

    to_opening(listing)
    db.session.commit()
    page = text(client.get(url))
    assert "共 3 份投标" in page and "如何核对" in page and "sha256sum" in page
    for k, price in PRICES.items():
        assert users[k].display_name in page and f"{Decimal(price):,.2f}" in page
    project = psvc.project_of(listing)
    assert project.opened_key.hex() in page
    for b in bids:
        assert b.receipt in page
        doc = client.get(f"{url}/bids/{b.id}.json")
        assert doc.status_code == 200 and doc.mimetype == "application/json"
        assert hashlib.sha256(doc.data).hexdigest() == b.receipt  # what the supplier checks against its receipt
        f = client.get(f"{url}/bids/{b.id}/files/1")
        assert f.status_code == 200 and f.data == PDF and f.mimetype == "application/pdf"
        sealed = client.get(f"{url}/bids/{b.id}.sealed")
        assert sealed.status_code == 200 and sealed.data == bytes(b.sealed)
    assert client.get(f"/projects/{listing.project_no}/opening/bids/999/files/1").status_code == 404
    assert client.get("/projects/LXNCJY-2026-999999/opening").status_code == 404


def test_the_opening_page_of_a_transfer_listing_is_none(client, users, db, announced):
    assert client.get(f"/projects/{announced.project_no}/opening").status_code == 404


# --- 评标 ---------------------------------------------------------------------------------------------------------------

def test_the_officer_evaluates_by_lowest_price_the_others_read(client, users, db):
    listing = bidding_project(users, db)
    url = f"/procurement/{listing.id}/evaluation"
    sign_in(client, "t_trader")
    page = text(client.get(url))
    assert "尚未开标" in page and "256,000" not in page
    to_opening(listing)
    db.session.commit()
    bids = {b.supplier_id: b for b in db.session.scalars(select(ProcurementBid))}
    cheapest = bids[users["buyer_3"].id]

    for username in ("t_point_a1", "t_station_a", "t_buyer_org"):
        sign_in(client, username)
        assert client.get(url).status_code == 403, username
    for username in ("t_reviewer", "t_finance", "t_supervisor"):
        sign_in(client, username)
        page = text(client.get(url))
        assert "249,800.50" in page and "第一中标候选人" in page, username
        assert "确认评标结果</button>" not in page and 'name="reason"' not in page, username
        resp = post_form(client, f"/procurement/{listing.id}/bids/{cheapest.id}/invalid", {"reason": "x"}, page=url)
        assert resp.status_code == 403, username
        assert post_form(client, f"{url}/complete", {}, page=url).status_code == 403, username

    sign_in(client, "t_trader")
    assert client.get(f"/trading/listings/{listing.id}").headers["Location"].endswith(url)
    page = text(client.get(url))
    assert "确认评标结果</button>" in page and page.count('name="reason"') == 3
    assert re.search(r"第一中标候选人</td>\s*<td[^>]*>" + re.escape(users["buyer_3"].display_name), page)
    resp = post_form(client, f"/procurement/{listing.id}/bids/{cheapest.id}/invalid", {"reason": ""}, page=url,
                     follow=True)
    assert "请写明否决的理由" in text(resp)
    resp = post_form(client, f"/procurement/{listing.id}/bids/{cheapest.id}/invalid",
                     {"reason": "未提供市政公用工程施工总承包资质证书"}, page=url, follow=True)
    page = text(resp)
    assert f"已否决 {users['buyer_3'].display_name} 的投标：未提供市政公用工程施工总承包资质证书" in page
    assert "撤销否决" in page
    assert re.search(r"第一中标候选人</td>\s*<td[^>]*>" + re.escape(users["buyer_org"].display_name), page)
    resp = post_form(client, f"/procurement/{listing.id}/bids/{cheapest.id}/valid", {}, page=url, follow=True)
    assert "已撤销对" in text(resp)
    db.session.expire_all()
    assert cheapest.invalid_reason == ""
    post_form(client, f"/procurement/{listing.id}/bids/{cheapest.id}/invalid", {"reason": "未提供资质证书"}, page=url)
    resp = post_form(client, f"{url}/complete", {}, page=url, follow=True)
    page = text(resp)
    assert f"评标完成：第一中标候选人 {users['buyer_org'].display_name}，报价 256,000.00 元" in page
    assert "未通过评审的投标" in page and "未提供资质证书" in page and "确认评标结果</button>" not in page
    db.session.expire_all()
    assert listing.state == "publicity" and psvc.project_of(listing).state == "evaluated"
    # nothing more to decide
    assert post_form(client, f"{url}/complete", {}, page=url, follow=True).status_code == 200
    assert "项目不在评标阶段" in text(post_form(client, f"{url}/complete", {}, page=url, follow=True))

    sign_out(client)
    public = text(client.get(f"/projects/{listing.project_no}"))
    assert "中标候选人公示" in public and "查看公示、提出异议" in public
    assert re.search(r"第一中标候选人</td>\s*<td[^>]*>" + re.escape(users["buyer_org"].display_name), public)
    assert re.search(r"第二中标候选人</td>\s*<td[^>]*>" + re.escape(users["buyer_coop"].display_name), public)
    assert "未提供资质证书" in public
    deal = text(client.get(re.search(r'href="(/deals/[^"]+)"', public).group(1)))
    assert "中标候选人公示" in deal and "提交异议" in deal and "成交结果公示" not in deal
    assert re.search(r"第一中标候选人</dt>\s*<dd>" + re.escape(users["buyer_org"].display_name), deal)


def test_a_scored_project_waits_for_the_panel(client, users, db):
    terms = road_terms(kind="services", budget="90000", limit_price="90000", bond="1000", eval_kind="scored",
                       price_weight="40", criteria="服务方案:40\n类似业绩:20", specialty="other")
    listing = published_project(users, db, mode="采购", title="村部保洁服务", terms=terms)
    suppliers(users)
    pay_bonds(users, listing, keys=("buyer_org",))
    db.session.commit()
    sign_in(client, "t_buyer_org")
    url = f"/procurement/{listing.id}/bid"
    page = text(client.get(url))
    assert "综合评分法必须上传技术方案" in page
    resp = client.post(url, data={"csrf_token": csrf_from(page), "price": "85000"})
    assert resp.status_code == 400 and "综合评分法须上传投标文件" in field_error(text(resp), "files")
    resp = client.post(url, data={"csrf_token": csrf_from(page), "price": "85000",
                                  "files": [(io.BytesIO(PDF), "服务方案.pdf")]}, content_type="multipart/form-data")
    assert resp.status_code == 302
    to_opening(listing)
    db.session.commit()
    sign_in(client, "t_trader")
    page = text(client.get(f"/procurement/{listing.id}/evaluation"))
    assert "等待评标委员会评分" in page and "确认评标结果</button>" not in page and "服务方案.pdf" in page
    assert "价格分 = 基准价 ÷ 投标报价 × 40" in page


# --- a page only reads ------------------------------------------------------------------------------------------------

def test_the_pages_only_read(client, users, db):
    """Every procurement page, at each stage, as each of its readers: no commit and no row written (a GET never
    creates a project's terms row — the intake of a project made as a plain listing of 交易品种 8 shows it empty)."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    plain = lsvc.create_draft(users["point_a1"], category=category("C08"), title="村部维修")  # 招标, no terms row
    listing = bidding_project(users, db)
    assert plain.is_procurement and psvc.project_of(plain) is None
    writes = []

    def flushed(session, context, instances):
        if session.new or session.deleted or any(session.is_modified(o) for o in session.dirty):
            writes.append("flush")

    def pages(stage):
        no = listing.project_no
        out = {"t_point_a1": [f"/procurement/{plain.id}/edit/{s}" for s in ("basic", "terms", "buyer", "materials")]
               + ["/procurement/new", f"/listings/{listing.id}"],
               "t_buyer_org": [f"/procurement/{listing.id}/bid", f"/procurement/{listing.id}/bid/receipt",
                               f"/projects/{no}"],
               "t_trader": [f"/procurement/{listing.id}/evaluation", f"/listings/{listing.id}"],
               "t_supervisor": [f"/procurement/{listing.id}/evaluation"],
               None: [f"/projects/{no}", f"/projects/{no}/opening", f"/projects/{no}/announcement.pdf"]}
        if stage == "opened":
            bid = db.session.scalar(select(ProcurementBid))
            out[None] += [f"/projects/{no}/opening/bids/{bid.id}.json", f"/projects/{no}/opening/bids/{bid.id}.sealed"]
        return out

    def committed(session):
        writes.append("commit")

    event.listen(Session, "before_commit", committed)
    event.listen(Session, "before_flush", flushed)
    try:
        for stage in ("bidding", "opened", "evaluated"):
            if stage == "opened":
                to_opening(listing)
                db.session.commit()
            elif stage == "evaluated":
                psvc.complete_evaluation(users["trading_officer"], listing)
                db.session.commit()
            for username, urls in pages(stage).items():
                if username:
                    sign_in(client, username)
                else:
                    sign_out(client)
                for url in urls:
                    del writes[:]
                    assert client.get(url).status_code == 200, (stage, username, url)
                    assert not writes, (stage, username, url, writes)
    finally:
        event.remove(Session, "before_commit", committed)
        event.remove(Session, "before_flush", flushed)
    db.session.expire_all()
    assert psvc.project_of(plain) is None


def test_too_few_bids_is_said_on_every_page(client, users, db):
    listing = published_project(users, db)
    suppliers(users)
    pay_bonds(users, listing, keys=("buyer_org", "buyer_3"))
    psvc.submit_bid(users["buyer_org"], listing, price="256000")
    psvc.submit_bid(users["buyer_3"], listing, price="249800.50")
    db.session.commit()
    to_opening(listing)  # 招标 with fewer than 3 bids: 流标 at the opening (《招标投标法》第二十八条)
    db.session.commit()
    opening = text(client.get(f"/projects/{listing.project_no}/opening"))
    assert "共 2 份投标" in opening and "本项目已流标" in opening and "249,800.50" in opening
    sign_in(client, "t_trader")
    page = text(client.get(f"/procurement/{listing.id}/evaluation"))
    assert "本项目已流标：投标人不足，依法重新招标" in page and "确认评标结果</button>" not in page


def test_a_supplier_applies_under_the_bidders_declaration(client, users, db):
    """A supplier's application speaks of the 开标, the bond and the bidder's undertakings — not of a buyer's."""
    listing = published_project(users, db)
    suppliers(users)
    db.session.commit()
    login(client, "t_buyer_org", PASSWORD)
    page = text(client.get(f"/registrations/apply/{listing.id}"))
    assert "投标人声明与保证" in page and "不与其他投标人串通投标" in page and "投标保证金 5,000.00 元" in page
    assert "意向受让方声明与保证" not in page and "不改变土地农业用途" not in page
    resp = post_form(client, f"/registrations/apply/{listing.id}", {"accept_declaration": "y",
                                                                     "foreign_kind": "domestic"})
    assert resp.status_code == 302
    reg = db.session.scalar(select(Registration).where(Registration.listing_id == listing.id,
                                                       Registration.buyer_id == users["buyer_org"].id))
    page = text(client.get(f"/registrations/{reg.id}"))
    assert "资质证书（按公告的资格要求）" in page and "投标报名表" in page and "农村产权受让申请书" not in page
    assert rsvc.required_materials(reg) == ["bid_application", "bidder_declaration", "business_license", "certificate"]
    refused = rsvc.add_material  # a buyer's kind is no supplier's paper
    with pytest.raises(rsvc.RegistrationError):
        refused(users["buyer_org"], reg, "credit", PDF, "资信证明.pdf")
