"""Issue 16, item 13 — 实施方案 二(四)3 交易主体: "外资企业和境外投资者按照有关法律、法规执行".

A buyer declares at sign-up (or, for an account from before the question, at its first application) whether it is a
外资企业 or a 境外投资者 (natural person or organisation).  Such an application is flagged to the qualification
reviewer, must carry the 外商投资 审批/备案 documents (for farmland: the approval — foreign investment in farmland is
restricted), and is never qualified without the reviewer's record that those documents were checked (a CHECK in the
database too).  Marked 第十三条: the qualification review of 意向受让方.
"""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select, text as sql
from sqlalchemy.exc import IntegrityError

from exchange.accounts import services as acc
from exchange.accounts.models import Party, User
from exchange.audit.models import AuditEntry
from exchange.idcheck import make_resident_id
from exchange.registrations import services as rsvc
from exchange.registrations.models import Registration
from tests.builders import PDF, applied
from tests.factories import PASSWORD, make_org_buyer
from tests.helpers import api_csrf, get_csrf, login, post_form, text, token_headers

pytestmark = [pytest.mark.usefixtures("uploads"), pytest.mark.article("第十三条")]

CHECKED = "核验商务部门外商投资企业设立备案回执（编号 湘外资备 2026-0088）及县农业农村局同意租赁农地的批复，均真实有效"


def foreign_company(users, key="buyer_fdi"):
    users[key] = make_org_buyer("t_fdi", "9143068200000033", foreign_kind="foreign_enterprise")
    return users[key]


def foreign_person(users, key="buyer_hk"):
    users[key] = acc.register_public(acc.SignUp(
        username="t_hk", password=PASSWORD, kind="person", name="港澳居民测试", mobile="13900000077",
        id_number=make_resident_id("81000019800101001"), foreign_kind="foreign_person"))
    return users[key]


def undeclared(users, key="buyer_old"):
    """An account opened before the question was asked (SignUp without a declaration)."""
    users[key] = acc.register_public(acc.SignUp(
        username="t_old", password=PASSWORD, kind="person", name="老账号测试", mobile="13900000066",
        id_number=make_resident_id("43068219750505005")))
    return users[key]


# --- the declaration -----------------------------------------------------------------------------------------------

def test_sign_up_records_the_declaration_and_refuses_one_that_does_not_fit(users, db):
    assert foreign_company(users).party.foreign_kind == "foreign_enterprise"
    assert users["buyer"].party.foreign_kind == "domestic" and not users["buyer"].party.is_foreign
    db.session.commit()
    before = db.session.scalar(select(func.count(Party.id)))
    for i, (kind, value, field) in enumerate((("person", "foreign_enterprise", "foreign_kind"),
                                              ("person", "外资", "foreign_kind"),
                                              ("organisation", "foreign_person", "foreign_kind"))):
        data = dict(username=f"x_bad{i}", password=PASSWORD, kind=kind, name="某主体", mobile="13900000055")
        if kind == "person":
            data["id_number"] = make_resident_id("43068219880808001")
        else:
            from exchange.demo import _demo_uscc
            data.update(uscc=_demo_uscc("9143068200000041"), org_type="enterprise", contact_name="联系人")
        with pytest.raises(acc.AccountError) as exc:
            acc.register_public(acc.SignUp(foreign_kind=value, **data))
        assert exc.value.field == field
        db.session.rollback()
    assert db.session.scalar(select(func.count(Party.id))) == before


def test_the_database_refuses_a_declaration_that_does_not_fit(users, db):
    party = users["buyer"].party  # a natural person
    with pytest.raises(IntegrityError):
        db.session.execute(sql("UPDATE party SET foreign_kind = 'foreign_enterprise' WHERE id = :i"), {"i": party.id})
    db.session.rollback()
    with pytest.raises(IntegrityError):
        db.session.execute(sql("UPDATE party SET foreign_kind = 'alien' WHERE id = :i"), {"i": party.id})
    db.session.rollback()


def test_the_sign_up_page_asks_and_refuses_no_answer(client, db):
    page = text(client.get("/register"))
    assert "是否为外资企业或境外投资者" in page and "外资企业（外商投资企业）" in page
    data = {"kind": "person", "name": "页面注册人", "id_number": make_resident_id("43068219880808888"),
            "mobile": "13611112222", "username": "page_person", "password": "Paddy2026ok", "confirm": "Paddy2026ok",
            "agree": "y"}
    for bad in ({}, {"foreign_kind": "martian"}, {"foreign_kind": "foreign_org"}):
        resp = post_form(client, "/register", {**data, **bad})
        assert resp.status_code == 400, bad
        assert "外资企业或境外投资者" in text(resp) or "境外" in text(resp)
    assert db.session.scalar(select(func.count(User.id))) == 0
    resp = post_form(client, "/register", {**data, "foreign_kind": "foreign_person"}, follow=True)
    assert "注册成功" in text(resp)
    assert db.session.scalar(select(Party.foreign_kind)) == "foreign_person"


def test_an_account_that_never_declared_declares_when_it_applies(users, announced, db):
    old = undeclared(users)
    with pytest.raises(rsvc.RegistrationError) as exc:
        rsvc.apply(old, announced, accept_declaration=True)
    assert exc.value.field == "foreign_kind" and "外资企业或境外投资者" in exc.value.message
    with pytest.raises(rsvc.RegistrationError) as exc:
        rsvc.apply(old, announced, accept_declaration=True, foreign_kind="foreign_enterprise")  # a person
    assert exc.value.field == "foreign_kind"
    reg = rsvc.apply(old, announced, accept_declaration=True, foreign_kind="domestic")
    assert reg.foreign_kind == "domestic" and old.party.foreign_kind == "domestic" and not reg.is_foreign


def test_a_declared_foreign_investor_cannot_shed_the_flag_when_applying(users, announced, db):
    fdi = foreign_company(users)
    reg = rsvc.apply(fdi, announced, accept_declaration=True, foreign_kind="domestic")
    assert reg.is_foreign and reg.foreign_kind == "foreign_enterprise" and fdi.party.foreign_kind == "foreign_enterprise"


def test_a_domestic_account_declaring_foreign_at_application_is_flagged_and_remembered(users, announced, db):
    reg = rsvc.apply(users["buyer_org"], announced, accept_declaration=True, foreign_kind="foreign_org")
    assert reg.is_foreign and users["buyer_org"].party.foreign_kind == "foreign_org"
    assert db.session.scalar(select(func.count(AuditEntry.seq)).where(AuditEntry.action == "party.foreign_kind")) == 1


# --- the flag, the documents and the reviewer's check ---------------------------------------------------------------------

def test_the_reviewer_is_told_and_the_approval_papers_are_required(users, announced, db):
    reg = rsvc.apply(foreign_person(users), announced, accept_declaration=True)
    assert reg.is_foreign and "境外自然人" in reg.flags and "核验外商投资审批或备案文件" in reg.flags
    assert "农用地" in reg.flags  # 团湖村 paddy: foreign investment in farmland is restricted
    assert "foreign_approval" in rsvc.required_materials(reg)
    domestic = applied(users, announced, key="buyer_org")
    assert "foreign_approval" not in rsvc.required_materials(domestic) and "外资" not in domestic.flags


def test_no_qualification_without_the_documents_and_the_recorded_check(users, announced, db):
    fdi = foreign_company(users)
    reg = rsvc.apply(fdi, announced, accept_declaration=True)
    for kind in rsvc.required_materials(reg):
        if kind != "foreign_approval":
            rsvc.add_material(fdi, reg, kind, PDF, f"{kind}.pdf")
    reviewer = users["center_reviewer"]
    with pytest.raises(rsvc.RegistrationError) as exc:
        rsvc.qualify(reviewer, reg, foreign_checked=True, foreign_check_note=CHECKED)
    assert "外商投资审批或备案文件" in exc.value.message  # the document is missing
    rsvc.add_material(fdi, reg, "foreign_approval", PDF, "外商投资备案回执.pdf")
    with pytest.raises(rsvc.RegistrationError) as exc:  # never silently passed
        rsvc.qualify(reviewer, reg)
    assert exc.value.field == "foreign_checked" and "外资企业" in exc.value.message
    with pytest.raises(rsvc.RegistrationError) as exc:
        rsvc.qualify(reviewer, reg, foreign_checked=True, foreign_check_note="   ")
    assert exc.value.field == "foreign_check_note"
    with pytest.raises(rsvc.RegistrationError):
        rsvc.qualify(reviewer, reg, foreign_checked=True, foreign_check_note="查" * 501)
    assert reg.state == "applied" and reg.foreign_checked_at is None
    rsvc.qualify(reviewer, reg, "材料齐全", foreign_checked=True, foreign_check_note=CHECKED)
    assert reg.state == "qualified" and reg.foreign_checked_by_id == reviewer.id and reg.foreign_checked_at
    assert reg.foreign_check_note == CHECKED
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "registration.qualify")).one()
    assert "湘外资备" in entry.after


def test_a_domestic_buyer_is_qualified_as_before(users, announced, db):
    reg = applied(users, announced)
    rsvc.qualify(users["center_reviewer"], reg)
    assert reg.state == "qualified" and reg.foreign_checked_at is None


def test_the_database_refuses_a_foreign_application_qualified_unchecked(users, announced, db):
    reg = rsvc.apply(foreign_company(users), announced, accept_declaration=True)
    db.session.commit()
    with pytest.raises(IntegrityError):
        db.session.execute(sql("UPDATE registration SET state = 'qualified' WHERE id = :i"), {"i": reg.id})
    db.session.rollback()


# --- pages and the API ---------------------------------------------------------------------------------------------

def _foreign_application_ready(users, announced, db):
    fdi = foreign_company(users)
    reg = rsvc.apply(fdi, announced, accept_declaration=True)
    for kind in rsvc.required_materials(reg):
        rsvc.add_material(fdi, reg, kind, PDF, "外商投资备案回执.pdf" if kind == "foreign_approval" else f"{kind}.pdf")
    db.session.commit()
    return reg


def test_the_reviewer_sees_the_flag_and_opens_the_documents_on_the_page(client, users, announced, db):
    reg = _foreign_application_ready(users, announced, db)
    login(client, "t_reviewer", PASSWORD)
    page = text(client.get(f"/registrations/{reg.id}"))
    assert "外资企业（外商投资企业）" in page and "外商投资农地受限制" in page and "已核验外商投资审批或备案文件" in page
    approval = next(m for m in reg.materials if m.kind == "foreign_approval")
    link = f"/registrations/{reg.id}/materials/{approval.id}"
    assert link in page
    resp = client.get(link)
    assert resp.status_code == 200 and resp.get_data() == PDF
    assert "外资" in text(client.get("/registrations/?state=applied"))
    # qualifying without ticking the check: refused, nothing changes
    resp = post_form(client, f"/registrations/{reg.id}/qualify", {"note": "同意"}, page=f"/registrations/{reg.id}",
                     follow=True)
    assert "已核验审批或备案文件" in text(resp)
    db.session.expire_all()
    assert db.session.get(Registration, reg.id).state == "applied"
    resp = post_form(client, f"/registrations/{reg.id}/qualify",
                     {"note": "同意", "foreign_checked": "y", "foreign_check_note": CHECKED},
                     page=f"/registrations/{reg.id}", follow=True)
    assert "已确认资格" in text(resp)
    db.session.expire_all()
    reg = db.session.get(Registration, reg.id)
    assert reg.state == "qualified" and reg.foreign_check_note == CHECKED
    assert CHECKED in text(client.get(f"/registrations/{reg.id}"))


def test_another_buyer_cannot_open_the_documents(client, users, announced, db):
    reg = _foreign_application_ready(users, announced, db)
    approval = next(m for m in reg.materials if m.kind == "foreign_approval")
    login(client, "t_buyer", PASSWORD)
    assert client.get(f"/registrations/{reg.id}/materials/{approval.id}").status_code == 403
    other = applied(users, announced)
    db.session.commit()
    # its own registration id with someone else's material id: not found
    assert client.get(f"/registrations/{other.id}/materials/{approval.id}").status_code == 404
    assert client.get(f"/registrations/{reg.id}/materials/999999").status_code == 403
    client.post("/logout", data={"csrf_token": get_csrf(client, "/work")})
    assert client.get(f"/registrations/{reg.id}/materials/{approval.id}").status_code in (302, 401)


def test_the_application_page_asks_an_undeclared_account(client, users, announced, db):
    undeclared(users)
    db.session.commit()
    login(client, "t_old", PASSWORD)
    url = f"/registrations/apply/{announced.id}"
    page = text(client.get(url))
    assert "是否为外资企业或境外投资者" in page
    resp = post_form(client, url, {"accept_declaration": "y"})
    assert resp.status_code == 400 and "请声明您是否为外资企业或境外投资者" in text(resp)
    resp = post_form(client, url, {"accept_declaration": "y", "foreign_kind": "<script>"})
    assert resp.status_code == 400
    assert db.session.scalar(select(func.count(Registration.id))) == 0
    resp = post_form(client, url, {"accept_declaration": "y", "foreign_kind": "foreign_person"})
    assert resp.status_code == 302
    assert db.session.scalar(select(Registration.foreign_kind)) == "foreign_person"


def test_the_api_declares_flags_and_needs_the_check(client, users, announced, db):
    token = api_csrf(client)
    resp = client.post("/api/v1/accounts/register", headers={"X-CSRFToken": token}, json={
        "username": "api_fdi", "password": "Field2026ok", "kind": "person", "name": "接口境外人",
        "mobile": "13698765400", "id_number": make_resident_id("43068219770707701"), "foreign_kind": "alien"})
    assert resp.status_code in (400, 422)
    fdi = foreign_company(users)
    db.session.commit()
    buyer = token_headers(db, users, "buyer_fdi")
    reviewer = token_headers(db, users, "center_reviewer")
    resp = client.post(f"/api/v1/listings/{announced.id}/registrations", headers=buyer,
                       json={"accept_declaration": True})
    assert resp.status_code == 201 and resp.get_json()["foreign_kind"] == "foreign_enterprise"
    body = resp.get_json()
    assert "foreign_approval" in body["missing_material_kinds"]
    reg_id = body["id"]
    reg = db.session.get(Registration, reg_id)
    for kind in rsvc.required_materials(reg):
        rsvc.add_material(fdi, reg, kind, PDF, f"{kind}.pdf")
    db.session.commit()
    resp = client.post(f"/api/v1/registrations/{reg_id}/qualify", headers=reviewer, json={"note": "ok"})
    assert resp.status_code in (400, 409, 422) and "核验" in str(resp.get_json())
    resp = client.post(f"/api/v1/registrations/{reg_id}/qualify", headers=reviewer,
                       json={"foreign_checked": True, "foreign_check_note": CHECKED})
    assert resp.status_code == 200 and resp.get_json()["state"] == "qualified"
    assert resp.get_json()["foreign_check_note"] == CHECKED


def test_the_archive_keeps_the_declaration_and_the_check(client, users, announced, db):
    import json
    import zipfile
    reg = _foreign_application_ready(users, announced, db)
    rsvc.qualify(users["center_reviewer"], reg, foreign_checked=True, foreign_check_note=CHECKED)
    db.session.commit()
    login(client, "t_reviewer", PASSWORD)
    z = zipfile.ZipFile(io.BytesIO(client.get(f"/listings/{announced.id}/archive.zip").get_data()))
    [row] = json.loads(z.read("records/decisions.json"))["registrations"]
    assert row["foreign_kind"] == "foreign_enterprise" and row["foreign_check_note"] == CHECKED
    assert any(n.endswith("外商投资备案回执.pdf") for n in z.namelist())
