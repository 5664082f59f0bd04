"""Issue 16, items 8–10: what a listing must carry and who must have reviewed it.

* 第十二条(四) 准予产权交易的证明: the collective's 决议或批复; for a household's 承包地 the 发包方's written consent to a
  转让 or the 备案 of an 出租/入股 (DESIGN §3.11), named so a village clerk knows what to fetch.
* 第十四条 会同交易站: a listing that did not pass a station's 初审 (a direct application) is approved only with the
  town station's opinion — or the center's record of why it could not be had; 利用现状 is required and published.
* 第九条/第十条: a 四荒 right follows how it was obtained; catalogue methods the text does not name are the center's.
"""
from __future__ import annotations

import io
import json
import re
import zipfile

import pytest
from sqlalchemy import func, select, text as sql
from sqlalchemy.exc import IntegrityError

from exchange.access import AccessDenied
from exchange.catalog import services as cat_svc
from exchange.catalog.data import CATEGORIES, STATUTORY_METHODS
from exchange.catalog.models import TransferMethod
from exchange.listings import rules
from exchange.listings import services as svc
from exchange.listings.models import Listing, StationOpinion
from exchange.listings.workflow import WorkflowError, fire
from tests.builders import (ALL_OK, EXE, PDF, attach, category, collective_fields, household_fields,
                            new_household_listing, published, station_agrees)
from tests.factories import PASSWORD
from tests.helpers import csrf_from, login, post_form, text, token_headers

pytestmark = pytest.mark.usefixtures("uploads")


def method(cat_code: str, name: str) -> TransferMethod:
    cat = category(cat_code)
    return next(m for m in cat.methods if m.name == name)


def direct_application(users, orgs, **kw):
    """A household's application entered by the center (直接申请, 第十一条) for 团湖村 (江南镇, station_b): complete and
    submitted, in the center's review."""
    listing = svc.create_draft(users["center_reviewer"], category=category(kw.pop("cat", "C01")),
                               point=orgs.point_b1, **household_fields(**kw))
    attach(listing, users["center_reviewer"])
    svc.submit(users["center_reviewer"], listing)
    assert listing.origin == "direct" and listing.state == "center_review"
    return listing


def sihuang(users, obtained_by, method_name, **kw):
    """A draft of a 四荒 right (C03) of a household in 新建村."""
    return svc.create_draft(users["point_a1"], category=category("C03"), method=method("C03", method_name),
                            **household_fields(title="新建村后山 40 亩荒山使用权流转", current_use="荒山（杂草灌木）",
                                               obtained_by=obtained_by, **kw))


# === 第十二条(四) 准予产权交易的证明 ============================================================================================

@pytest.mark.article("第十二条")
def test_household_renting_its_contracted_land_must_show_the_filing_with_the_contractor(users, db):
    listing = new_household_listing(users)  # C01 农户承包土地经营权, 出租, a household
    assert rules.permission_material(listing) == "contractor_filing"
    assert rules.MATERIAL_KINDS["contractor_filing"].label == "向发包方备案的回执或证明"
    attach(listing, users["point_a1"], [k for k in rules.required_materials(listing) if k != "contractor_filing"])
    with pytest.raises(WorkflowError) as exc:
        svc.submit(users["point_a1"], listing)
    assert any("缺少材料" in p and "向发包方备案的回执或证明" in p for p in exc.value.problems)
    assert listing.state == "draft"
    svc.add_material(users["point_a1"], listing, "contractor_filing", PDF, "备案回执.pdf")
    svc.submit(users["point_a1"], listing)
    assert listing.state == "station_review"


@pytest.mark.article("第十二条")
def test_household_transferring_its_contracted_land_needs_the_contractors_written_consent(users, db):
    land = category("C01")
    transfer = cat_svc.add_method(users["admin"], land, "转让")  # the center's own addition (not in 二(三)1)
    listing = new_household_listing(users)
    svc.update_draft(users["point_a1"], listing, method=transfer)
    assert "contractor_consent" in rules.required_materials(listing)
    assert "contractor_filing" not in rules.required_materials(listing) and "approval" not in \
        rules.required_materials(listing)
    attach(listing, users["point_a1"], [k for k in rules.required_materials(listing) if k != "contractor_consent"])
    with pytest.raises(WorkflowError) as exc:
        svc.submit(users["point_a1"], listing)
    assert any("发包方同意转让的书面证明" in p for p in exc.value.problems)
    svc.add_material(users["point_a1"], listing, "contractor_consent", PDF, "同意书.pdf")
    svc.submit(users["point_a1"], listing)
    assert listing.state == "station_review"


@pytest.mark.article("第十二条")
def test_a_collective_needs_its_resolution_and_other_private_rights_need_no_contractors_paper(users, db):
    warehouse = svc.create_draft(users["point_a1"], category=category("C05"), **collective_fields(reps_for="20"))
    assert rules.permission_material(warehouse) == "approval"
    assert {"contractor_consent", "contractor_filing"}.isdisjoint(rules.required_materials(warehouse))
    machine = svc.create_draft(users["point_a1"], category=category("C06"), method=method("C06", "转让"),
                               **household_fields(title="旧碾米机组转让", unit="套", quantity="1", price_mode="total",
                                                  floor_price="18000", term_start="", term_end=""))
    assert rules.permission_material(machine) is None  # a household's machine is not 承包地
    assert "approval" not in rules.required_materials(machine)
    company = new_household_listing(users, transferor_kind="enterprise", transferor_id_no="")
    assert rules.permission_material(company) is None  # no 发包方 between a company and its lessor here


@pytest.mark.article("第十二条")
def test_materials_page_names_the_document_and_why_a_clerk_needs_it(client, users, db):
    listing = new_household_listing(users)
    db.session.commit()
    login(client, "t_point_a1", PASSWORD)
    page = text(client.get(f"/listings/{listing.id}/edit/materials"))
    assert "向发包方备案的回执或证明" in page and "农村土地承包法" in page and "第三十六条" in page
    # uploading it through the page clears the missing item
    resp = client.post(f"/listings/{listing.id}/materials", data={
        "csrf_token": csrf_from(page), "kind": "contractor_filing", "file": (io.BytesIO(PDF), "备案回执.pdf")},
        content_type="multipart/form-data")
    assert resp.status_code == 302
    db.session.expire_all()
    assert "contractor_filing" not in rules.missing_materials(db.session.get(Listing, listing.id))


@pytest.mark.article("第十二条")
def test_hostile_uploads_of_the_consent_change_nothing(client, users, db):
    listing = new_household_listing(users)
    db.session.commit()
    login(client, "t_point_b1", PASSWORD)  # another town's clerk
    token = csrf_from(text(client.get("/work")))
    resp = client.post(f"/listings/{listing.id}/materials", data={
        "csrf_token": token, "kind": "contractor_filing", "file": (io.BytesIO(PDF), "x.pdf")},
        content_type="multipart/form-data")
    assert resp.status_code == 403
    client.post("/logout", data={"csrf_token": token})
    login(client, "t_point_a1", PASSWORD)
    page = text(client.get(f"/listings/{listing.id}/edit/materials"))
    for kind, payload in (("contractor_filing", EXE), ("备案", PDF)):
        client.post(f"/listings/{listing.id}/materials", data={
            "csrf_token": csrf_from(page), "kind": kind, "file": (io.BytesIO(payload), "备案回执.pdf")},
            content_type="multipart/form-data")
    db.session.expire_all()
    assert db.session.get(Listing, listing.id).materials == []


@pytest.mark.article("第十二条")
def test_api_lists_the_missing_permission_by_name(client, users, db):
    listing = new_household_listing(users)
    db.session.commit()
    body = client.get(f"/api/v1/listings/{listing.id}", headers=token_headers(db, users, "point_a1")).get_json()
    assert any("向发包方备案的回执或证明" in p for p in body["problems"])


# === 第十四条 会同交易站 =====================================================================================================

@pytest.mark.article("第十四条")
def test_a_direct_application_is_not_approved_without_the_station(users, orgs, db):
    listing = direct_application(users, orgs)
    with pytest.raises(WorkflowError) as exc:
        svc.center_decide(users["center_reviewer"], listing, "approve", ALL_OK)
    assert any("会同江南镇农村产权交易站" in p for p in exc.value.problems)
    assert listing.state == "center_review"
    svc.request_station_opinion(users["center_reviewer"], listing, "请核实该地块有无承包纠纷")
    with pytest.raises(WorkflowError):  # asked is not answered
        svc.center_decide(users["center_reviewer"], listing, "approve", ALL_OK)
    op = svc.give_station_opinion(users["station_b"], listing, "经实地核实，权属清晰，无纠纷", verdict="agree")
    assert op.verdict == "agree" and op.station_id == orgs.station_b.id and op.given_by_id == users["station_b"].id
    event = svc.center_decide(users["center_reviewer"], listing, "approve", ALL_OK)
    assert listing.state == "announced"
    assert json.loads(event.data)["station_opinion"]["verdict"] == "agree"


@pytest.mark.article("第十四条")
def test_a_transferors_own_online_application_needs_the_station_too(users, orgs, db):
    seller = users["buyer"]
    listing = svc.create_draft(seller, category=category("C01"), point=orgs.point_b1, **household_fields(
        transferor_name=seller.party.name, transferor_id_no=seller.party.id_number, account_name=seller.party.name))
    attach(listing, seller)
    svc.submit(seller, listing)
    with pytest.raises(WorkflowError):
        svc.center_decide(users["center_reviewer"], listing, "approve", ALL_OK)
    station_agrees(users, listing)
    svc.center_decide(users["center_reviewer"], listing, "approve", ALL_OK)
    assert listing.state == "announced"


@pytest.mark.article("第十四条")
def test_only_the_station_of_that_town_gives_the_opinion(users, orgs, db):
    listing = direct_application(users, orgs)
    svc.request_station_opinion(users["center_reviewer"], listing, "请核实")
    for key in ("station_a", "center_reviewer", "point_b1", "admin", "supervisor", "buyer"):
        with pytest.raises(AccessDenied):
            svc.give_station_opinion(users[key], listing, "同意", verdict="agree")
    assert svc.station_opinion(listing) is None


@pytest.mark.article("第十四条")
@pytest.mark.parametrize("verdict,reasons,message", [
    (None, "经核实无纠纷", "同意"), ("maybe", "经核实无纠纷", "同意"), ("agree", "   ", "理由"),
    ("disagree", "", "理由"), ("agree", "长" * 1001, "1000"),
])
def test_the_opinion_needs_a_verdict_and_reasons(users, orgs, db, verdict, reasons, message):
    listing = direct_application(users, orgs)
    with pytest.raises(WorkflowError) as exc:
        svc.give_station_opinion(users["station_b"], listing, reasons, verdict=verdict)
    assert message in exc.value.message
    assert svc.station_opinion(listing) is None


@pytest.mark.article("第十四条")
def test_over_the_stations_disagreement_the_center_writes_why(users, orgs, db):
    listing = direct_application(users, orgs)
    station_agrees(users, listing, verdict="disagree", reasons="该地块东侧 3 亩与邻户有边界争议")
    with pytest.raises(WorkflowError) as exc:
        svc.center_decide(users["center_reviewer"], listing, "approve", ALL_OK)
    assert "不同意" in exc.value.message and "边界争议" in exc.value.message
    svc.center_decide(users["center_reviewer"], listing, "approve", ALL_OK,
                      note="争议地块已由镇调解委员会调解结案，附调解书")
    assert listing.state == "announced"


@pytest.mark.article("第十四条")
def test_when_the_station_cannot_answer_the_center_records_why_after_asking(users, orgs, db):
    listing = direct_application(users, orgs)
    with pytest.raises(WorkflowError) as exc:  # not without asking first
        svc.record_opinion_unavailable(users["center_reviewer"], listing, "联系不上")
    assert "先征求" in exc.value.message
    svc.request_station_opinion(users["center_reviewer"], listing, "请核实四至")
    with pytest.raises(WorkflowError):
        svc.record_opinion_unavailable(users["center_reviewer"], listing, "  ")
    with pytest.raises(AccessDenied):  # the station cannot excuse itself
        svc.record_opinion_unavailable(users["station_b"], listing, "没空")
    op = svc.record_opinion_unavailable(users["center_reviewer"], listing, "交易站初审员病休，三次电话未能联系")
    assert op.verdict == "unavailable" and op.given_by_id == users["center_reviewer"].id
    with pytest.raises(WorkflowError):  # recorded once: the station is not asked again in this round
        svc.give_station_opinion(users["station_b"], listing, "同意", verdict="agree")
    svc.center_decide(users["center_reviewer"], listing, "approve", ALL_OK)
    assert listing.state == "announced"
    assert [e.action for e in listing.events if e.action.startswith("opinion")] == [
        "opinion_requested", "opinion_unavailable"]


@pytest.mark.article("第十四条")
def test_one_opinion_per_submission_and_a_resubmission_asks_again(users, orgs, db):
    listing = direct_application(users, orgs)
    station_agrees(users, listing)
    with pytest.raises(WorkflowError):
        svc.give_station_opinion(users["station_b"], listing, "再说一次", verdict="disagree")
    db.session.commit()
    with pytest.raises(IntegrityError):  # the database keeps one per submission too
        db.session.add(StationOpinion(listing_id=listing.id, submission_id=svc.current_submission(listing).id,
                                      verdict="agree", reasons="x", station_id=orgs.station_b.id))
        db.session.flush()
    db.session.rollback()
    svc.center_decide(users["center_reviewer"], listing, "return", note="请补充四至")
    svc.update_draft(users["center_reviewer"], listing, boundaries="东至渠道，西至村道，南至山脚，北至河堤")
    svc.submit(users["center_reviewer"], listing)
    assert svc.station_opinion(listing) is None  # the earlier opinion was on the earlier submission
    with pytest.raises(WorkflowError):
        svc.center_decide(users["center_reviewer"], listing, "approve", ALL_OK)
    station_agrees(users, listing)
    svc.center_decide(users["center_reviewer"], listing, "approve", ALL_OK)
    assert db.session.scalar(select(func.count(StationOpinion.id)).where(StationOpinion.listing_id == listing.id)) == 2


@pytest.mark.article("第十四条")
def test_a_village_listing_has_the_stations_initial_review(users, db):
    listing = published(users)  # 交易点 → 交易站初审 → 交易中心: no separate opinion needed
    assert listing.state == "announced" and svc.station_opinion(listing) is None


@pytest.mark.article("第十四条")
def test_a_relisting_carries_the_stations_part_in_the_review_it_repeats(users, orgs, db):
    original = direct_application(users, orgs)
    station_agrees(users, original)
    svc.center_decide(users["center_reviewer"], original, "approve", ALL_OK)
    copy = svc.create_draft(users["center_reviewer"], category=category("C01"), point=orgs.point_b1,
                            **household_fields())
    attach(copy, users["center_reviewer"])
    copy.relisted_from_id = original.id
    fire(copy, "relist_submit", users["center_reviewer"], reason="流拍后重新挂牌")
    assert svc.station_problems(copy) == []
    stranger = direct_application(users, orgs, title="没有交易站意见的项目")
    lone = svc.create_draft(users["center_reviewer"], category=category("C01"), point=orgs.point_b1,
                            **household_fields())
    attach(lone, users["center_reviewer"])
    lone.relisted_from_id = stranger.id
    fire(lone, "relist_submit", users["center_reviewer"], reason="x")
    assert svc.station_problems(lone)  # nobody from the station ever looked at either


@pytest.mark.article("第十四条")
def test_the_station_gives_its_opinion_on_the_page_and_it_shows_in_the_log(client, users, orgs, db):
    listing = direct_application(users, orgs)
    db.session.commit()
    url = f"/listings/{listing.id}"
    # the center's approval through the page, without the station: refused, nothing changes
    login(client, "t_reviewer", PASSWORD)
    page = text(client.get(url))
    assert "交易站意见" in page and "会同江南镇农村产权交易站" in page
    resp = client.post(f"{url}/center", data={"csrf_token": csrf_from(page), "decision": "approve", "ownership": "y",
                                              "qualification": "y", "planning": "y", "decision_ok": "y"},
                       follow_redirects=True)
    assert "会同" in text(resp)
    db.session.expire_all()
    assert db.session.get(Listing, listing.id).state == "center_review"
    post_form(client, f"{url}/opinion/request", {"reason": "请核实该地块有无承包纠纷"}, page=url)
    client.post("/logout", data={"csrf_token": csrf_from(text(client.get("/work")))})
    # another town's station: 403; the right one without a verdict: refused; then its opinion
    login(client, "t_station_a", PASSWORD)
    assert client.post(f"{url}/opinion/give", data={"csrf_token": csrf_from(text(client.get("/work"))),
                                                    "verdict": "agree", "reasons": "x"}).status_code == 403
    client.post("/logout", data={"csrf_token": csrf_from(text(client.get("/work")))})
    login(client, "t_station_b", PASSWORD)
    page = text(client.get(url))
    assert "请核实该地块有无承包纠纷" in page and "送出本站意见" in page
    resp = post_form(client, f"{url}/opinion/give", {"reasons": "经核实无纠纷"}, page=url, follow=True)
    assert "请选择“同意”或“不同意”" in text(resp)
    resp = post_form(client, f"{url}/opinion/give", {"verdict": "agree", "reasons": "经核实，权属清晰，无纠纷"}, page=url,
                     follow=True)
    assert "意见已送交易中心" in text(resp)
    page = text(client.get(url))
    assert "经核实，权属清晰，无纠纷" in page and "交易站出具意见" in page and "送出本站意见" not in page
    client.post("/logout", data={"csrf_token": csrf_from(page)})
    login(client, "t_reviewer", PASSWORD)
    page = text(client.get(url))
    resp = client.post(f"{url}/center", data={"csrf_token": csrf_from(page), "decision": "approve", "ownership": "y",
                                              "qualification": "y", "planning": "y", "decision_ok": "y"},
                       follow_redirects=True)
    assert "已发布公告" in text(resp)


@pytest.mark.article("第十四条")
def test_the_center_records_on_the_page_why_the_opinion_could_not_be_had(client, users, orgs, db):
    listing = direct_application(users, orgs)
    svc.request_station_opinion(users["center_reviewer"], listing, "请核实")
    db.session.commit()
    url = f"/listings/{listing.id}"
    login(client, "t_reviewer", PASSWORD)
    assert "交易站无法出具意见" in text(client.get(url))
    resp = post_form(client, f"{url}/opinion/unavailable", {"reason": ""}, page=url, follow=True)
    assert "请写明未能取得交易站意见的原因" in text(resp)
    resp = post_form(client, f"{url}/opinion/unavailable", {"reason": "交易站三次电话未接"}, page=url, follow=True)
    assert "已记录" in text(resp) and "交易站三次电话未接" in text(resp)
    db.session.expire_all()
    assert svc.station_opinion(db.session.get(Listing, listing.id)).verdict == "unavailable"


@pytest.mark.article("第十四条")
def test_the_opinion_over_the_api_and_in_the_archive(client, users, orgs, db):
    listing = direct_application(users, orgs)
    db.session.commit()
    center, station = token_headers(db, users, "center_reviewer"), token_headers(db, users, "station_b")
    base = f"/api/v1/listings/{listing.id}"
    assert client.post(f"{base}/opinion-request", json={"text": "请核实"}, headers=center).status_code == 200
    resp = client.post(f"{base}/opinion", json={"text": "同意", "verdict": "perhaps"}, headers=station)
    assert resp.status_code in (400, 422)
    resp = client.post(f"{base}/opinion", json={"text": "经核实权属清晰"}, headers=station)
    assert resp.status_code in (400, 422)
    resp = client.post(f"{base}/opinion", json={"text": "经核实权属清晰", "verdict": "agree"}, headers=station)
    assert resp.status_code == 200 and resp.get_json()["station_opinion"]["verdict"] == "agree"
    resp = client.post(f"{base}/center-review", json={"decision": "approve", "checklist": ALL_OK}, headers=center)
    assert resp.status_code == 200, resp.get_json()
    login(client, "t_admin", PASSWORD)
    resp = client.get(f"/listings/{listing.id}/archive.zip")
    assert resp.status_code == 200
    z = zipfile.ZipFile(io.BytesIO(resp.get_data()))
    [op] = json.loads(z.read("records/station_opinions.json"))
    assert op["verdict"] == "agree" and op["reasons"] == "经核实权属清晰"
    assert "opinion_given" in z.read("records/history.csv").decode("utf-8-sig")


# === 第十四条(一) 利用现状 ==================================================================================================

@pytest.mark.article("第十四条")
@pytest.mark.parametrize("value", ["", "   "])
def test_current_use_is_required_to_submit(users, db, value):
    listing = new_household_listing(users, current_use=value)
    attach(listing, users["point_a1"])
    with pytest.raises(WorkflowError) as exc:
        svc.submit(users["point_a1"], listing)
    assert any("利用现状" in p for p in exc.value.problems)
    assert listing.state == "draft"


@pytest.mark.article("第十四条")
def test_current_use_is_bounded_and_stored_as_text(users, db):
    with pytest.raises(svc.ListingError) as exc:
        new_household_listing(users, current_use="水" * 301)
    assert exc.value.field == "current_use"
    db.session.rollback()
    listing = new_household_listing(users, current_use="  <b>水稻</b>种植  ")
    assert listing.current_use == "<b>水稻</b>种植"


@pytest.mark.article("第十四条")
def test_current_use_is_published_on_the_page_the_pdf_and_the_open_data(client, users, db):
    listing = published(users, current_use="水稻种植（一季稻）")
    db.session.commit()
    page = text(client.get(f"/projects/{listing.project_no}"))
    assert "利用现状" in page and "水稻种植（一季稻）" in page
    body = client.get(f"/api/v1/open/announcements/{listing.project_no}").get_json()
    assert body["current_use"] == "水稻种植（一季稻）"
    items = client.get("/api/v1/open/announcements").get_json()["items"]
    assert [i["current_use"] for i in items] == ["水稻种植（一季稻）"]
    public = client.get("/api/v1/public/listings").get_json()["items"]
    assert public[0]["current_use"] == "水稻种植（一季稻）"


def test_the_column_has_a_server_default_and_refuses_null(users, db):
    """利用现状 stays NOT NULL: a row written without it (raw SQL) gets '' and is caught at submit, never NULL."""
    listing = new_household_listing(users)
    db.session.commit()
    with pytest.raises(IntegrityError):
        db.session.execute(sql("UPDATE listing SET current_use = NULL WHERE id = :i"), {"i": listing.id})
    db.session.rollback()


# === 第九条 / 第十条 四荒 by how it was obtained; the center's own methods =======================================================

@pytest.mark.article("第九条")
@pytest.mark.article("第十条")
@pytest.mark.parametrize("obtained_by,method_name,ok", [
    ("household_contract", "出租", True), ("household_contract", "入股", True),
    ("household_contract", "转让", False), ("household_contract", "抵押", False),
    ("open_contract", "转让", True), ("open_contract", "出租", True), ("open_contract", "入股", True),
    ("open_contract", "抵押", True),
])
def test_a_sihuang_right_is_transferred_as_it_was_obtained(users, db, obtained_by, method_name, ok):
    listing = sihuang(users, obtained_by, method_name)
    problems = [p for p in rules.problems(listing) if "按农户承包土地经营权的规定流转" in p]
    assert (not problems) == ok, problems
    if not ok:
        assert "可选：出租、入股" in problems[0] and "家庭承包方式取得" in problems[0]


@pytest.mark.article("第九条")
@pytest.mark.article("第十条")
def test_a_sihuang_listing_must_say_how_the_right_was_obtained(users, db):
    listing = sihuang(users, "", "转让")
    attach(listing, users["point_a1"])
    with pytest.raises(WorkflowError) as exc:
        svc.submit(users["point_a1"], listing)
    assert any("取得方式" in p for p in exc.value.problems)
    svc.update_draft(users["point_a1"], listing, obtained_by="open_contract")
    svc.submit(users["point_a1"], listing)
    assert listing.state == "station_review"


@pytest.mark.article("第十条")
@pytest.mark.parametrize("value", ["family", "HOUSEHOLD_CONTRACT", 3, "household_contract; DROP TABLE listing"])
def test_a_bad_acquisition_is_refused(users, db, value):
    with pytest.raises(svc.ListingError) as exc:
        sihuang(users, value, "出租")
    assert exc.value.field == "obtained_by"


@pytest.mark.article("第十条")
def test_only_sihuang_keeps_an_acquisition(users, db):
    listing = new_household_listing(users, obtained_by="open_contract")  # C01: not asked
    assert listing.obtained_by == ""
    sih = sihuang(users, "open_contract", "转让")
    svc.update_draft(users["point_a1"], sih, category=category("C01"), method=method("C01", "出租"))
    assert sih.obtained_by == ""
    db.session.commit()
    with pytest.raises(IntegrityError):
        db.session.execute(sql("UPDATE listing SET obtained_by = 'bought' WHERE id = :i"), {"i": sih.id})
    db.session.rollback()


@pytest.mark.article("第十条")
@pytest.mark.article("第十二条")
def test_household_contracted_sihuang_follows_the_household_rules_for_its_papers_too(users, db):
    listing = sihuang(users, "household_contract", "出租")
    assert rules.permission_material(listing) == "contractor_filing"
    open_ = sihuang(users, "open_contract", "转让")
    assert rules.permission_material(open_) is None  # 招标、拍卖、公开协商取得: no 发包方 consent asked by 第十二条(四)


@pytest.mark.article("第十条")
def test_the_household_route_follows_the_catalogue_of_category_1(users, db):
    cat_svc.set_method_active(users["admin"], method("C01", "出租"), False)
    listing = sihuang(users, "household_contract", "出租")
    assert any("可选：入股" in p for p in rules.problems(listing))


@pytest.mark.article("第十条")
def test_the_acquisition_on_the_form_and_the_announcement(client, users, db):
    listing = sihuang(users, "", "出租")
    db.session.commit()
    login(client, "t_point_a1", PASSWORD)
    url = f"/listings/{listing.id}/edit/basic"
    page = text(client.get(url))
    assert "取得方式" in page and "家庭承包方式取得" in page
    data = {k: v for k, v in household_fields().items() if k in ("location", "boundaries", "unit")}
    resp = post_form(client, url, {**data, "title": listing.title, "category_id": listing.category_id,
                                   "method_id": listing.method_id, "quantity": "40", "current_use": "荒山",
                                   "obtained_by": "stolen", "description": ""})
    assert resp.status_code == 400 and "取得方式不正确" in text(resp)
    resp = post_form(client, url, {**data, "title": listing.title, "category_id": listing.category_id,
                                   "method_id": listing.method_id, "quantity": "40", "current_use": "荒山",
                                   "obtained_by": "household_contract", "description": ""})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Listing, listing.id).obtained_by == "household_contract"
    land = new_household_listing(users)
    db.session.commit()
    assert 'name="obtained_by"' not in text(client.get(f"/listings/{land.id}/edit/basic"))  # asked of 四荒 only


@pytest.mark.article("第九条")
def test_methods_the_text_does_not_name_are_the_centers_own(users, db):
    named = {code: set(STATUTORY_METHODS[code]) for code, *_ in CATEGORIES}
    for code, _name, methods, *_ in CATEGORIES:
        for m in category(code).methods:
            assert cat_svc.is_statutory(m) == (m.name in named[code])
    assert not any(cat_svc.is_statutory(m) for m in category("C10").methods)  # 二(三)10 names none
    assert all(cat_svc.is_statutory(m) for m in category("C01").methods)
    added = cat_svc.add_method(users["admin"], category("C01"), "转包")
    assert not cat_svc.is_statutory(added)


@pytest.mark.article("第九条")
def test_the_catalogue_page_shows_the_centers_additions_apart(client, users, db):
    cat_svc.add_method(users["admin"], category("C01"), "转包")
    db.session.commit()
    login(client, "t_admin", PASSWORD)
    page = text(client.get("/admin/catalog"))
    rows = {m.group(1): m.group(2) for m in re.finditer(
        r'<td data-label="编码" class="mono">(C\d\d)</td>(.*?)</tr>', page, re.S)}
    assert "中心增设" in rows["C01"] and "转包" in rows["C01"].split("中心增设", 1)[1]
    assert "出租、入股" in rows["C01"].split("中心增设", 1)[0]
    assert "中心增设" in rows["C10"] and "（文件未列明）" in rows["C10"]
    assert "中心增设" not in rows["C02"] and "中心增设" not in rows["C03"]
    assert "家庭承包方式取得的" in rows["C03"]
    edit = text(client.get(f"/admin/catalog/{category('C01').id}"))
    assert edit.count("中心增设") >= 2 and "文件（" in edit
