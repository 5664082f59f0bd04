"""Issue 17 item 5: 新建挂牌项目 on the village clerk's 工作台; after submitting, a 受理回执 (page and PDF) to hand to the
household — 受理编号, the transferor, what was received, what happens next and when, the clerk and the point, a QR code
to the public progress page, which shows the stage and the dates and nothing personal."""
import re

import pytest

from exchange.listings import rules
from exchange.listings import services as svc
from tests.builders import ALL_OK, attach, new_household_listing
from tests.factories import PASSWORD
from tests.helpers import flat, get_csrf, login, pdf_text, post_form, text

pytestmark = pytest.mark.usefixtures("uploads")


def sign_out(client):
    client.post("/logout", data={"csrf_token": get_csrf(client, "/work")})


def _submitted(client, users, db):
    listing = new_household_listing(users)
    attach(listing, users["point_a1"])
    db.session.commit()
    login(client, "t_point_a1", PASSWORD)
    resp = post_form(client, f"/listings/{listing.id}/submit", {}, page=f"/listings/{listing.id}")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/listings/{listing.id}/receipt")
    db.session.expire_all()
    return listing


def test_the_clerks_work_page_starts_a_new_listing(client, users):
    login(client, "t_point_a1", PASSWORD)
    html = text(client.get("/work"))
    assert '<a class="btn btn-primary" href="/listings/new">新建挂牌项目</a>' in html
    sign_out(client)
    login(client, "t_station_a", PASSWORD)
    assert "新建挂牌项目" not in text(client.get("/work"))


def test_submitting_gives_an_intake_number_and_a_receipt(client, users, db):
    listing = _submitted(client, users, db)
    assert re.fullmatch(r"LXSL-\d{4}-\d{6}", listing.intake_no) and len(listing.progress_key) == 8
    html = text(client.get(f"/listings/{listing.id}/receipt"))
    assert "已提交交易站初审。请打印受理回执交给转让方。" in html
    for words in (listing.intake_no, "团湖村 32 亩水田经营权出租", "农户演示（农户（自然人））", "430682********4521"[:6],
                  "收到的材料（6 份）", rules.MATERIAL_KINDS["application"].label, "交易站初审", "交易中心审核",
                  "公告期 5 个工作日", "成交结果公示 3 个工作日", "5 个工作日内签订合同", "10 日内结算",
                  "不代表审核通过", "经办人", "江南镇", "扫码查看办理进度"):
        assert words in html, words
    assert listing.transferor_id_no not in html  # the full ID number is not printed
    assert f"/projects/progress/{listing.intake_no}/{listing.progress_key}" in html
    assert 'src="data:image/svg+xml' in html
    # a resubmission after 退回 keeps the number
    number = listing.intake_no
    svc.station_decide(users["station_a"], listing, False, "请补充四至")
    svc.submit(users["point_a1"], listing)
    db.session.commit()
    assert listing.intake_no == number


def test_the_receipt_pdf_says_the_same(client, users, db):
    listing = _submitted(client, users, db)
    resp = client.get(f"/listings/{listing.id}/receipt.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    body = flat(pdf_text(resp.data))
    for words in ("农村产权流转交易受理回执", listing.intake_no, "团湖村32亩水田经营权出租", "收到的材料（共6份）",
                  "农村产权转出申请书", "接下来怎么办、要多久", "交易站初审", "经办人签字", "转让方签收", "扫码查看办理进度"):
        assert flat(words) in body, words


def test_only_who_may_see_the_listing_opens_its_receipt(client, users, db):
    listing = _submitted(client, users, db)
    sign_out(client)
    login(client, "t_point_b1", PASSWORD)  # another village
    assert client.get(f"/listings/{listing.id}/receipt").status_code == 403
    sign_out(client)
    assert client.get(f"/listings/{listing.id}/receipt").status_code == 302  # to sign in
    draft = new_household_listing(users, title="还没提交的")
    db.session.commit()
    login(client, "t_point_a1", PASSWORD)
    assert client.get(f"/listings/{draft.id}/receipt").status_code == 404


def test_the_public_progress_page_shows_stage_and_dates_only(client, users, db):
    listing = _submitted(client, users, db)
    sign_out(client)
    url = f"/projects/progress/{listing.intake_no}/{listing.progress_key}"
    html = text(client.get(url))
    assert "交易站初审中" in html or "初审" in html
    assert "提交审核" in html and listing.intake_no in html
    for private in (listing.transferor_name, listing.transferor_id_no, listing.transferor_mobile, listing.account_no,
                    "160,000", listing.title):
        assert private not in html, private
    # the number alone, or a wrong key, opens nothing
    assert client.get(f"/projects/progress/{listing.intake_no}/AAAAAAAA").status_code == 404
    assert client.get(f"/projects/progress/{listing.intake_no}/键").status_code == 404
    # published: a link to the announcement
    svc.station_decide(users["station_a"], listing, True, "材料齐全")
    svc.center_decide(users["center_reviewer"], listing, "approve", ALL_OK)
    db.session.commit()
    html = text(client.get(url))
    assert f'href="/projects/{listing.project_no}"' in html and "公告" in html
