"""Listing pages and API over HTTP: the review chain, uploads, scope, public site, bad input."""
import io
import re

import pytest
from sqlalchemy import select

from exchange.listings.models import Listing, ListingMaterial
from tests.builders import ALL_OK, PDF, attach, category, household_fields, new_household_listing
from tests.factories import PASSWORD
from tests.helpers import api_csrf, csrf_from, get_csrf, login, post_form, text, token_headers

pytestmark = pytest.mark.usefixtures("uploads")

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


# --- pages ------------------------------------------------------------------------------------------

def test_clerk_creates_fills_uploads_and_submits_through_pages(client, users, db):
    login(client, "t_point_a1", PASSWORD)
    resp = post_form(client, "/listings/new", {"category_id": category("C01").id, "title": "新建村 20 亩旱地出租"})
    assert resp.status_code == 302
    listing = db.session.scalar(select(Listing).where(Listing.title == "新建村 20 亩旱地出租"))
    base = f"/listings/{listing.id}/edit"
    f = household_fields()
    post_form(client, f"{base}/basic", {"title": listing.title, "category_id": category("C01").id,
                                        "method_id": listing.method_id, "location": f["location"],
                                        "boundaries": f["boundaries"], "quantity": "20", "unit": "亩",
                                        "current_use": "旱地", "description": ""})
    resp = post_form(client, f"{base}/term", {"right_cert_no": "x1", "right_end_date": "2038-12-31",
                                              "term_start": "2027-01-01", "term_end": "2031-12-31",
                                              "price_mode": "per_unit_year", "floor_unit_price": "400",
                                              "floor_price": "", "price_basis": "周边行情", "show_floor_price": "y",
                                              "appraisal_value": "", "appraisal_agency": "", "appraisal_report_no": ""})
    assert resp.status_code == 302
    db.session.expire_all()
    assert str(db.session.get(Listing, listing.id).floor_price) == "40000.00"  # 400 × 20 × 5
    post_form(client, f"{base}/transferor", {k: f[k] for k in (
        "transferor_kind", "transferor_name", "transferor_id_no", "transferor_mobile", "account_name", "account_bank",
        "account_no")} | {"decision_type": ""})
    post_form(client, f"{base}/trade", {"buyer_conditions": "不得改变农业用途", "buyer_restriction": "none",
                                        "trading_method": "online_bidding", "bid_increment": "200",
                                        "deposit_amount": "", "announce_days": "5"})
    page = text(client.get(f"{base}/materials"))
    assert "缺" in page and "转出申请书" in page
    token = csrf_from(page)
    for kind in ["application", "qualification", "ownership", "object_info", "price_basis",
                 "contractor_filing"]:  # a household's 承包地 for rent: the 备案 with the 发包方 (第十二条(四))
        resp = client.post(f"/listings/{listing.id}/materials", data={
            "csrf_token": token, "kind": kind, "file": (io.BytesIO(PDF), f"{kind}.pdf")},
            content_type="multipart/form-data")
        assert resp.status_code == 302
    detail = text(client.get(f"/listings/{listing.id}"))
    assert "提交交易站初审" in detail and "还需补正" not in detail
    resp = post_form(client, f"/listings/{listing.id}/submit", {}, page=f"/listings/{listing.id}", follow=True)
    assert "已提交交易站初审" in text(resp)
    db.session.expire_all()
    assert db.session.get(Listing, listing.id).state == "station_review"


def test_station_and_center_decide_through_pages(client, users, db, frozen):
    listing = new_household_listing(users)
    attach(listing, users["point_a1"])
    from exchange.listings import services as svc
    svc.submit(users["point_a1"], listing)
    db.session.commit()
    login(client, "t_station_a", PASSWORD)
    resp = post_form(client, f"/listings/{listing.id}/station/pass", {"reason": "材料齐全"},
                     page=f"/listings/{listing.id}", follow=True)
    assert "已报送交易中心" in text(resp)
    client.post("/logout", data={"csrf_token": get_csrf(client, "/work")})
    login(client, "t_reviewer", PASSWORD)
    # a checklist item left unticked: refused with the reason
    resp = post_form(client, f"/listings/{listing.id}/center", {
        "decision": "approve", "ownership": "y", "qualification": "y", "planning": "", "decision_ok": "y"},
        page=f"/listings/{listing.id}", follow=True)
    assert "审核要点未全部通过" in text(resp)
    resp = post_form(client, f"/listings/{listing.id}/center", {
        "decision": "approve", "ownership": "y", "qualification": "y", "planning": "y", "decision_ok": "y",
        "reason": "同意"}, page=f"/listings/{listing.id}", follow=True)
    body = text(resp)
    assert "已发布公告，项目编号 LXNCJY-2026-000001" in body
    # public site
    client.post("/logout", data={"csrf_token": get_csrf(client, "/work")})
    page = text(client.get("/projects/?q=团湖"))
    assert "LXNCJY-2026-000001" in page
    project = text(client.get("/projects/LXNCJY-2026-000001"))
    assert "2026-11-23" in project and "2026-11-30 24:00" in project and "5 个工作日" in project
    # a household's name is masked and the ID number never shown publicly
    assert "农户演示" not in project and "农**" in project
    assert listing.transferor_id_no not in project
    home = text(client.get("/"))
    assert "团湖村 32 亩水田经营权出租" in home


def test_station_return_reason_reaches_the_clerk(client, users, db):
    listing = new_household_listing(users)
    attach(listing, users["point_a1"])
    from exchange.listings import services as svc
    svc.submit(users["point_a1"], listing)
    db.session.commit()
    login(client, "t_station_a", PASSWORD)
    resp = post_form(client, f"/listings/{listing.id}/station/return", {"reason": ""},
                     page=f"/listings/{listing.id}", follow=True)
    assert "请填写" in text(resp) and "理由" in text(resp)
    post_form(client, f"/listings/{listing.id}/station/return", {"reason": "四至不清"},
              page=f"/listings/{listing.id}")
    client.post("/logout", data={"csrf_token": get_csrf(client, "/work")})
    login(client, "t_point_a1", PASSWORD)
    assert "退回理由：四至不清" in text(client.get(f"/listings/{listing.id}"))


def test_other_village_clerk_gets_403_everywhere(client, users, db):
    listing = new_household_listing(users)
    attach(listing, users["point_a1"], ["application"])
    db.session.commit()
    material = db.session.scalar(select(ListingMaterial))
    login(client, "t_point_b1", PASSWORD)
    token = get_csrf(client, "/work")
    assert client.get(f"/listings/{listing.id}").status_code == 403
    assert client.get(f"/listings/{listing.id}/edit/basic").status_code == 403
    assert client.get(f"/listings/{listing.id}/materials/{material.id}").status_code == 403
    resp = client.post(f"/listings/{listing.id}/edit/basic", data={"csrf_token": token, "title": "改名"})
    assert resp.status_code == 403
    resp = client.post(f"/listings/{listing.id}/materials/{material.id}/delete", data={"csrf_token": token})
    assert resp.status_code == 403
    db.session.expire_all()
    assert db.session.get(Listing, listing.id).title.startswith("团湖村")
    assert db.session.get(ListingMaterial, material.id) is not None


def test_draft_materials_are_not_public(client, users, db):
    listing = new_household_listing(users)
    attach(listing, users["point_a1"], ["photo"])
    db.session.commit()
    material = db.session.scalar(select(ListingMaterial))
    resp = client.get(f"/listings/{listing.id}/materials/{material.id}")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_uploading_an_executable_named_pdf_is_refused(client, users, db):
    listing = new_household_listing(users)
    db.session.commit()
    login(client, "t_point_a1", PASSWORD)
    token = get_csrf(client, f"/listings/{listing.id}/edit/materials")
    resp = client.post(f"/listings/{listing.id}/materials", data={
        "csrf_token": token, "kind": "application", "file": (io.BytesIO(b"MZ\x90\x00" + b"\x00" * 100), "申请书.pdf")},
        content_type="multipart/form-data", follow_redirects=True)
    assert "PDF" in text(resp) and "JPG" in text(resp)
    assert db.session.scalar(select(ListingMaterial)) is None


def test_path_in_file_name_is_dropped(client, users, db):
    listing = new_household_listing(users)
    db.session.commit()
    login(client, "t_point_a1", PASSWORD)
    token = get_csrf(client, f"/listings/{listing.id}/edit/materials")
    client.post(f"/listings/{listing.id}/materials", data={
        "csrf_token": token, "kind": "photo", "file": (io.BytesIO(PNG), "../../etc/现场.png")},
        content_type="multipart/form-data")
    material = db.session.scalar(select(ListingMaterial))
    assert material.filename == "现场.png" and "/" not in material.storage_key


def test_script_in_description_is_inert(client, users, db):
    listing = new_household_listing(users, description="<script>alert('x')</script>好地")
    db.session.commit()
    login(client, "t_point_a1", PASSWORD)
    body = text(client.get(f"/listings/{listing.id}"))
    assert "<script>alert" not in body and "&lt;script&gt;" in body


def test_public_search_names_a_filter_it_cannot_use(client):
    for qs in ["page=-5", "page=abc"]:  # a mistyped page number still shows the list
        assert client.get(f"/projects/?{qs}").status_code == 200, qs
    # a filter value that is no number (or does not fit its column), or no choice of its list, is never dropped
    # silently: the list of the other filters with a 400 naming the field (exchange.inputs; tests/test_public_pages.py)
    for qs, field in [("price_min=abc", "最低底价"), ("category=xyz", "交易品种"), ("area_max=1e999", "最大数量"),
                      ("sort=drop_table", "排序方式"), ("status=draft", "状态"), ("method=lottery", "交易方式")]:
        resp = client.get(f"/projects/?{qs}")
        assert resp.status_code == 400 and field in text(resp) and "筛选条件填写有误" in text(resp), qs
    assert client.get("/projects/LXNCJY-0000-000000").status_code == 404


# --- API ---------------------------------------------------------------------------------------------

def test_api_full_chain_and_scope(client, users, db, frozen):
    clerk = token_headers(db, users, "point_a1")
    other = token_headers(db, users, "point_b1")
    body = dict(household_fields(), category_id=category("C01").id)
    resp = client.post("/api/v1/listings", json=body, headers=clerk)
    assert resp.status_code == 201, resp.get_json()
    lid = resp.get_json()["id"]
    assert resp.get_json()["floor_price"] == "160000.00"
    # another village's clerk: 403, and the listing is not in its list
    assert client.get(f"/api/v1/listings/{lid}", headers=other).status_code == 403
    assert client.get("/api/v1/listings", headers=other).get_json()["total"] == 0
    resp = client.post(f"/api/v1/listings/{lid}/submit", headers=clerk)
    assert resp.status_code == 409 and any("缺少材料" in p for p in resp.get_json()["problems"])
    for kind in ["application", "qualification", "ownership", "object_info", "price_basis",
                 "contractor_filing"]:  # a household's 承包地 for rent: the 备案 with the 发包方 (第十二条(四))
        resp = client.post(f"/api/v1/listings/{lid}/materials", headers=clerk,
                           data={"kind": kind, "file": (io.BytesIO(PDF), f"{kind}.pdf")},
                           content_type="multipart/form-data")
        assert resp.status_code == 201, resp.get_json()
    assert client.post(f"/api/v1/listings/{lid}/submit", headers=clerk).get_json()["state"] == "station_review"
    station = token_headers(db, users, "station_a")
    resp = client.post(f"/api/v1/listings/{lid}/station-review", headers=station, json={"decision": "pass"})
    assert resp.get_json()["state"] == "center_review"
    center = token_headers(db, users, "center_reviewer")
    resp = client.post(f"/api/v1/listings/{lid}/center-review", headers=center,
                       json={"decision": "approve", "checklist": ALL_OK})
    data = resp.get_json()
    assert data["state"] == "announced" and re.fullmatch(r"LXNCJY-2026-\d{6}", data["project_no"])
    # the open endpoint: no login, personal data masked
    pub = client.get(f"/api/v1/public/listings/{data['project_no']}").get_json()
    assert pub["transferor"] == "农***" and "transferor_id_no" not in pub and "account_no" not in pub
    assert client.get("/api/v1/public/listings", query_string={"q": "团湖"}).get_json()["total"] == 1


def test_api_rejects_bad_listing_input(client, users, db):
    clerk = token_headers(db, users, "point_a1")
    body = dict(household_fields(floor_unit_price="abc"), category_id=category("C01").id)
    resp = client.post("/api/v1/listings", json=body, headers=clerk)
    assert resp.status_code == 400 and "floor_unit_price" in resp.get_json()["fields"]
    body = dict(household_fields(), category_id=category("C01").id, state="announced")
    assert client.post("/api/v1/listings", json=body, headers=clerk).status_code == 422
    assert client.get("/api/v1/public/listings", query_string={"price_min": "-1"}).status_code == 422
    assert client.get("/api/v1/public/listings", query_string={"per_page": 100000}).status_code == 422


def test_api_writes_need_csrf_with_a_session(client, users, db):
    from tests.helpers import api_login
    api_login(client, "t_point_a1", PASSWORD)
    body = dict(household_fields(), category_id=category("C01").id)
    assert client.post("/api/v1/listings", json=body).status_code == 400
    resp = client.post("/api/v1/listings", json=body, headers={"X-CSRFToken": api_csrf(client)})
    assert resp.status_code == 201


def test_announcement_pdf_reads_right(client, users, db, frozen, tmp_path):
    import subprocess
    from exchange.listings import services as svc
    listing = new_household_listing(users)
    attach(listing, users["point_a1"])
    svc.submit(users["point_a1"], listing)
    svc.station_decide(users["station_a"], listing, True)
    svc.center_decide(users["center_reviewer"], listing, "approve", ALL_OK)
    db.session.commit()
    resp = client.get(f"/projects/{listing.project_no}/announcement.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    pdf = tmp_path / "a.pdf"
    pdf.write_bytes(resp.data)
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    flat = "".join(out.split())
    assert "农村产权流转交易公告" in flat and listing.project_no in flat
    assert "160,000.00元（壹拾陆万元整）" in flat
    assert "农户演示" not in flat and "农**" in flat
    assert client.get("/projects/NOPE-1/announcement.pdf").status_code == 404


def test_oversized_upload_is_refused(client, app, users, db, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_UPLOAD_MB", 1)
    listing = new_household_listing(users)
    db.session.commit()
    login(client, "t_point_a1", PASSWORD)
    token = get_csrf(client, f"/listings/{listing.id}/edit/materials")
    big = PDF + b"0" * (1024 * 1024 + 10)
    resp = client.post(f"/listings/{listing.id}/materials", data={
        "csrf_token": token, "kind": "application", "file": (io.BytesIO(big), "大文件.pdf")},
        content_type="multipart/form-data", follow_redirects=True)
    assert "文件超过 1 MB" in text(resp)
    assert db.session.scalar(select(ListingMaterial)) is None
