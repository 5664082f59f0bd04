"""A village's road repair by 招标 in a real browser on a phone (issue 18): the clerk of 新建村 drafts it in four steps
(a budget over the national threshold refused beside its field first) and submits it; once published, a supplier bids
on its phone and keeps the receipt; anyone reads the 开标 record, before (nothing of the bids) and after; the trading
officer rejects a bid with its reason and confirms the 最低价法 ranking, published as the 中标候选人公示; after it the
clerk confirms the winner for the collective, the winner downloads the 中标通知书 and signs the contract, the clerk
records the collective's paper signature and the contract is in force.  Every page passes the accessibility check
(axe-core, WCAG 2 AA) at 390 × 844."""
import pytest

from exchange.listings import services as lsvc
from exchange.listings.models import Listing
from exchange.procurement import services as psvc
from tests.browser.a11y import check_page, check_reflow
from tests.browser.conftest import shot, sign_in
from tests.builders import ALL_OK, COLLECTIVE_USCC, PDF
from tests.factories import PASSWORD
from tests.procurement_builders import pay_bonds, suppliers, to_opening  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("frozen", "uploads", "bid_vault")]


def sign_out(pg):
    pg.context.clear_cookies()


def _save(pg):
    pg.click("button:has-text('保存并下一步')")
    pg.wait_for_load_state()


def test_a_road_repair_from_the_clerks_phone_to_the_award_and_the_contract(phone, live_server, users, db, tmp_path):
    pg, base = phone, live_server
    pg.on("dialog", lambda d: d.accept())
    pdf = tmp_path / "决议.pdf"
    pdf.write_bytes(PDF)

    # the clerk drafts the project
    sign_in(pg, base, "t_point_a1", PASSWORD)
    pg.click("text=新建招标采购项目")
    pg.wait_for_url("**/procurement/new")
    check_page(pg, "新建招标采购项目")
    shot(pg, "procurement-new-phone")
    pg.check("input[name=mode][value=招标]")
    pg.fill("input[name=title]", "团湖村通组公路修缮工程")
    pg.click("button:has-text('建立草稿')")
    pg.wait_for_url("**/edit/basic")
    check_page(pg, "项目概况")
    pg.fill("input[name=location]", "团湖村三组至五组")
    pg.fill("textarea[name=description]", "三组至五组通组公路年久失修，经村民代表会议决议修缮，资金来自一事一议财政奖补。")
    _save(pg)
    pg.wait_for_url("**/edit/terms")
    check_page(pg, "采购需求与评标办法")
    pg.check("input[name=kind][value=works]")
    pg.fill("input[name=budget]", "4000000")
    pg.fill("input[name=limit_price]", "3900000")
    pg.fill("input[name=bond]", "5000")
    pg.fill("input[name=opens_date]", "2026-12-07")
    pg.fill("input[name=opens_time]", "09:30")
    pg.fill("textarea[name=scope]", "三组至五组通组公路修缮，全长 1.2 公里，路面宽 3.5 米，C25 混凝土 18 厘米。")
    pg.fill("textarea[name=requirements]", "具有独立法人资格，具备市政公用工程施工总承包三级以上资质，近三年有类似业绩。")
    assert not pg.is_visible("textarea[name=criteria]")  # 综合评分法's fields only when it is chosen
    _save(pg)
    assert "依法必须招标" in pg.inner_text("#budget-error")
    check_page(pg, "采购需求（预算超过限额）")
    shot(pg, "procurement-terms-refused-phone")
    pg.fill("input[name=budget]", "300000")
    pg.fill("input[name=limit_price]", "280000")
    _save(pg)
    pg.wait_for_url("**/edit/buyer")
    check_page(pg, "采购人与民主决策")
    pg.fill("input[name=transferor_name]", "新建村股份经济合作社")
    pg.fill("input[name=transferor_id_no]", COLLECTIVE_USCC)
    pg.fill("input[name=transferor_mobile]", "13800000005")
    pg.select_option("select[name=decision_type]", "村民代表会议")
    pg.fill("input[name=decision_date]", "2026-11-01")
    pg.fill("input[name=reps_total]", "30")
    pg.fill("input[name=reps_for]", "25")
    shot(pg, "procurement-buyer-phone")
    _save(pg)
    pg.wait_for_url("**/edit/materials")
    for label in ("采购人主体资格证明（村集体经济组织登记证书等）", "“四议两公开”决议（村民会议或村民代表会议决议）",
                  "工程量清单或采购（招商）需求清单"):
        pg.select_option("select[name=kind]", label=label)
        pg.set_input_files("input[name=file]", str(pdf))
        pg.click("button:has-text('上传')")
        pg.wait_for_load_state()
    assert "资料已齐全" in pg.inner_text("main")
    check_page(pg, "材料")
    shot(pg, "procurement-materials-phone")
    pg.click("a:has-text('预览与提交') >> nth=-1")
    check_page(pg, "预览与提交")
    shot(pg, "procurement-preview-phone")
    pg.click("button:has-text('提交交易站初审')")
    pg.wait_for_selector("text=已提交交易站初审")
    sign_out(pg)

    # the station and the center pass it; three suppliers pay their bonds
    listing = db.session.query(Listing).filter_by(title="团湖村通组公路修缮工程").one()
    lsvc.station_decide(users["station_a"], listing, True)
    lsvc.center_decide(users["center_reviewer"], listing, "approve", ALL_OK)
    suppliers(users)
    pay_bonds(users, listing)
    db.session.commit()
    no = listing.project_no

    # a supplier bids on its phone
    sign_in(pg, base, "t_buyer_org", PASSWORD)
    pg.goto(f"{base}/projects/{no}")
    check_page(pg, "招标公告")
    check_reflow(pg)
    shot(pg, "procurement-project-phone")
    pg.click("text=提交密封投标 / 查看我的投标")
    check_page(pg, "投标")
    shot(pg, "procurement-bid-phone")
    pg.fill("input[name=price]", "256000")
    pg.set_input_files("input[name=files]", str(pdf))
    pg.click("button:has-text('提交投标')")
    pg.wait_for_url("**/bid/receipt")
    check_page(pg, "投标回执")
    shot(pg, "procurement-receipt-phone")
    receipt = pg.inner_text(".receipt-hash").strip()
    assert len(receipt) == 64
    sign_out(pg)
    psvc.submit_bid(users["buyer_3"], listing, price="249800.50")
    psvc.submit_bid(users["buyer_coop"], listing, price="261000")
    db.session.commit()

    # anyone: the 开标 record before and after the opening
    pg.goto(f"{base}/projects/{no}/opening")
    check_page(pg, "开标前")
    assert "256,000" not in pg.inner_text("main") and users["buyer_org"].display_name not in pg.inner_text("main")
    shot(pg, "procurement-opening-before-phone")
    to_opening(listing)
    db.session.commit()
    pg.goto(f"{base}/projects/{no}/opening")
    check_page(pg, "开标后")
    check_reflow(pg)
    assert receipt in pg.inner_text("main") and "249,800.50" in pg.inner_text("main")
    shot(pg, "procurement-opening-after-phone")

    # the trading officer evaluates
    sign_in(pg, base, "t_trader", PASSWORD)
    pg.goto(f"{base}/procurement/{listing.id}/evaluation")
    check_page(pg, "评标")
    shot(pg, "procurement-evaluation-phone")
    bid_3 = next(b for b in psvc.opening_record(listing) if b.supplier_id == users["buyer_3"].id)
    pg.fill(f"#reason-{bid_3.id}", "未提供市政公用工程施工总承包资质证书")
    pg.click(f"form:has(#reason-{bid_3.id}) button")
    pg.wait_for_selector("text=已否决")
    pg.click("button:has-text('确认评标结果')")
    pg.wait_for_selector("text=评标完成：第一中标候选人")
    check_page(pg, "评标结果")
    shot(pg, "procurement-evaluated-phone")
    sign_out(pg)
    pg.goto(f"{base}/projects/{no}")
    check_page(pg, "中标候选人公示")
    assert "中标候选人公示" in pg.inner_text("main")
    shot(pg, "procurement-candidates-phone")

    # the 公示 over with no objection: the collective's clerk confirms candidate 1 on the phone and the 中标通知书 is
    # out; the winner downloads it and signs the contract; the clerk records the collective's paper signature
    from exchange.trading.services import deal_for
    from tests.builders import end_publicity
    end_publicity(deal_for(listing))
    db.session.commit()
    pg.context.clear_cookies()
    sign_in(pg, base, "t_point_a1", PASSWORD)
    pg.goto(f"{base}/listings/{listing.id}")
    pg.click("a:has-text('确定中标人')")
    pg.wait_for_url("**/award")
    check_page(pg, "确定中标人")
    assert pg.is_checked(f"input[name=registration_id][value='{deal_for(listing).registration_id}']")
    pg.click("button:has-text('确定中标人并发出中标通知书')")
    pg.wait_for_selector("text=已确定中标人，中标通知书已发出")
    check_page(pg, "已确定中标人")
    shot(pg, "procurement-awarded-phone")
    notice = pg.request.get(f"{base}/procurement/{listing.id}/notice.pdf")
    assert notice.status == 200 and notice.body().startswith(b"%PDF")
    sign_out(pg)

    winner = users["buyer_org"]  # buyer_3's lower bid was rejected
    sign_in(pg, base, "t_buyer_org", PASSWORD)
    reg = deal_for(listing).registration
    assert reg.buyer_id == winner.id
    pg.goto(f"{base}/registrations/{reg.id}")
    check_page(pg, "报名详情（中标）")
    assert "您已被确定为中标人" in pg.inner_text("main")
    pg.click("a:has-text('查看合同')")
    check_page(pg, "合同（中标人）")
    body = pg.inner_text("main")
    assert "中标通知书发出之日起 5 个工作日内" in body and "中标人签署" in body and "交清价款" not in body
    pg.fill("input[name=password]", PASSWORD)
    pg.click("button:has-text('签署合同')")
    pg.wait_for_selector("text=等待对方签署")
    shot(pg, "procurement-contract-signed-phone")
    contract_url = pg.url.split("#")[0]
    sign_out(pg)
    sign_in(pg, base, "t_point_a1", PASSWORD)
    pg.goto(contract_url)
    check_page(pg, "合同（代采购人登记签字）")
    pg.set_input_files("input[name=file]", str(pdf))
    pg.fill("input[name=password]", PASSWORD)
    pg.click("button:has-text('代采购人登记签字')")
    pg.wait_for_selector("text=合同已生效")
    check_page(pg, "合同已生效")
    db.session.expire_all()
    assert db.session.get(Listing, listing.id).state == "settlement"
