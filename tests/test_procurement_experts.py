"""The center's 专家库 (issue 18 item 4): who keeps it, what an entry must hold, one entry per person, the ties to
villages and parties, deactivation — and the pool the panel's draw takes, which leaves the tied and the deactivated
out; then the pages under /admin/experts (list and filters, a bad mobile beside its field, edit, ties, CSRF)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from exchange.access import AccessDenied
from exchange.audit.services import entries_for
from exchange.procurement import experts as svc
from exchange.procurement import panel
from exchange.procurement.models import Expert, ExpertPartyTie, ExpertVillageTie
from tests.factories import PASSWORD
from tests.helpers import csrf_from, login, post_form, text, token_headers

ROADS, LAW = "roads_water", "law"


def _new(users, name="王建国", mobile="13800001111", specialties=(ROADS,), actor="admin", **kw):
    values = {"employer": "临湘市水利局", "title": "高级工程师", **kw}
    return svc.create_expert(users[actor], name=name, mobile=mobile, specialties=list(specialties), **values)


def _count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(Expert))


# --- who keeps the pool ------------------------------------------------------------------------------------------------

def test_admin_and_reviewer_keep_the_pool_the_supervisor_reads_others_are_refused(users, orgs, db):
    a = _new(users, actor="admin")
    r = _new(users, name="李明", mobile="13800002222", actor="center_reviewer")
    db.session.commit()
    assert {e.id for e in db.session.scalars(svc.experts_query(users["supervisor"]))} == {a.id, r.id}
    assert svc.get_expert(users["supervisor"], a.id) is a
    for key in ("supervisor", "trading_officer", "finance", "station_a", "point_a1", "buyer"):
        with pytest.raises(AccessDenied):
            _new(users, name="赵六", mobile="13800003333", actor=key)
        with pytest.raises(AccessDenied):
            svc.deactivate(users[key], a)
        with pytest.raises(AccessDenied):
            svc.add_village_tie(users[key], a, orgs.point_a1.id, "户籍在该村")
    for key in ("trading_officer", "finance", "station_a", "point_a1", "buyer"):
        with pytest.raises(AccessDenied):
            svc.experts_query(users[key])
    db.session.rollback()
    assert _count(db) == 2


# --- what an entry holds -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("change,field,words", [
    ({"mobile": "1380000111"}, "mobile", "11位"),
    ({"mobile": ""}, "mobile", "手机号码"),
    ({"name": "  "}, "name", "请填写姓名"),
    ({"name": "王" * 31}, "name", "不能超过 30 个字"),
    ({"employer": ""}, "employer", "请填写工作单位"),
    ({"specialties": ()}, "specialties", "至少选择一个专业"),
    ({"specialties": ("road",)}, "specialties", "请从列表中选择专业"),
])
def test_each_input_is_parsed_and_refused_beside_its_field(users, db, change, field, words):
    with pytest.raises(svc.ExpertError) as exc:
        _new(users, **change)
    assert exc.value.field == field and words in exc.value.message
    db.session.rollback()
    assert _count(db) == 0


def test_texts_are_tidied_and_the_mobile_normalised(users, db):
    e = _new(users, name=" 王\u3000建国 ", mobile="+86 138-0000-1111", employer=" 临湘市  水利局 ", title="",
             specialties=(LAW, ROADS, LAW))
    assert (e.name, e.mobile, e.employer, e.title) == ("王 建国", "13800001111", "临湘市 水利局", "")
    assert e.specialties == [ROADS, LAW] and e.specialty_labels == ["道路与水利工程", "法律"]
    assert [x.action for x in entries_for("expert", e.id)] == ["expert.create"]


def test_the_same_person_twice_is_refused_in_plain_words(users, db):
    first = _new(users)
    db.session.commit()
    with pytest.raises(svc.ExpertError) as exc:
        _new(users, specialties=(LAW,))
    assert exc.value.field == "name" and "已有“王建国”" in exc.value.message and "138****1111" in exc.value.message
    db.session.rollback()
    other = _new(users, mobile="13800009999")  # a namesake with another number is another person
    db.session.commit()
    with pytest.raises(svc.ExpertError):  # nor can an edit make two entries one person
        svc.update_expert(users["admin"], other, name="王建国", mobile="13800001111", employer="x",
                          specialties=[ROADS])
    db.session.rollback()
    assert _count(db) == 2 and first.id != other.id


def test_an_edit_is_audited_and_a_form_shown_before_another_save_is_refused(users, db):
    e = _new(users)
    db.session.commit()
    shown = e.version
    svc.update_expert(users["center_reviewer"], e, name="王建国", mobile="13800001111", employer="临湘市交通运输局",
                      title="正高级工程师", specialties=[ROADS, "cost"], version=str(shown))
    db.session.commit()
    assert e.employer == "临湘市交通运输局" and e.specialties == [ROADS, "cost"] and e.version > shown
    entry = entries_for("expert", e.id)[-1]
    assert entry.action == "expert.update" and "cost" in entry.after and "cost" not in entry.before
    with pytest.raises(svc.ExpertError) as exc:  # the other admin's form still carries the old version
        svc.update_expert(users["admin"], e, name="王建国", mobile="13800001111", employer="临湘市水利局",
                          specialties=[ROADS], version=str(shown))
    assert exc.value.message == svc.STALE_EXPERT


# --- ties and deactivation ----------------------------------------------------------------------------------------------

def test_ties_to_villages_and_parties(users, orgs, db):
    e = _new(users)
    party = users["buyer_org"].party
    v = svc.add_village_tie(users["admin"], e, str(orgs.point_a1.id), "户籍在该村")
    p = svc.add_party_tie(users["center_reviewer"], e, party.id, "曾在该公司任技术负责人")
    db.session.commit()
    assert (v.org_unit, v.reason) == (orgs.point_a1, "户籍在该村") and p.party is party
    with pytest.raises(svc.ExpertError) as exc:
        svc.add_village_tie(users["admin"], e, orgs.point_a1.id, "再登记一次")
    assert exc.value.field == "org_unit_id" and "已登记过" in exc.value.message
    with pytest.raises(svc.ExpertError) as exc:  # a town is no village: the draw compares the project's village
        svc.add_village_tie(users["admin"], e, orgs.station_a.id, "在镇政府任职")
    assert exc.value.field == "org_unit_id"
    for bad in ("abc", "0", "99999999999", 9999):
        with pytest.raises(svc.ExpertError):
            svc.add_village_tie(users["admin"], e, bad, "户籍在该村")
        with pytest.raises(svc.ExpertError):
            svc.add_party_tie(users["admin"], e, bad, "任职")
    with pytest.raises(svc.ExpertError) as exc:
        svc.add_village_tie(users["admin"], e, orgs.point_b1.id, "")
    assert exc.value.field == "reason"
    db.session.rollback()
    svc.remove_village_tie(users["admin"], v)
    db.session.commit()
    assert e.village_ties == [] and [t.party_id for t in e.party_ties] == [party.id]
    assert db.session.scalar(select(func.count()).select_from(ExpertVillageTie)) == 0
    assert [x.action for x in entries_for("expert", e.id)] == [
        "expert.create", "expert.village_tie_add", "expert.party_tie_add", "expert.village_tie_remove"]


def test_deactivation_keeps_the_expert_and_is_audited(users, db):
    e = _new(users)
    svc.deactivate(users["center_reviewer"], e)
    db.session.commit()
    assert not e.active and _count(db) == 1
    with pytest.raises(svc.ExpertError):
        svc.deactivate(users["admin"], e)
    db.session.rollback()
    svc.set_active(users["admin"], e, True)
    assert e.active
    assert [x.action for x in entries_for("expert", e.id)] == ["expert.create", "expert.deactivate",
                                                               "expert.activate"]
    assert [x.id for x in db.session.scalars(svc.experts_query(users["admin"], active=True))] == [e.id]


# --- the pool the draw takes -----------------------------------------------------------------------------------------

def test_the_pool_feeds_the_draw_which_leaves_out_the_tied_and_the_deactivated(users, orgs, db):
    admin, bidder = users["admin"], users["buyer_org"].party
    made = [_new(users, name=f"专家{i}", mobile=f"1380000{i:04d}", specialties=(ROADS, LAW) if i % 2 else (ROADS,))
            for i in range(1, 8)]
    _new(users, name="律师甲", mobile="13900005555", specialties=(LAW,))
    village, party, off = made[0], made[1], made[2]
    svc.add_village_tie(admin, village, orgs.point_a1.id, "户籍在该村")
    svc.add_party_tie(admin, party, bidder.id, "在该公司任职")
    svc.deactivate(admin, off)
    db.session.commit()

    experts = svc.pool(ROADS)
    assert [x.id for x in experts] == [e.id for e in made]  # of the specialty, in id order, the inactive included
    assert all(isinstance(x, panel.Expert) for x in experts)
    plain = {x.id: x for x in experts}
    assert plain[village.id].villages == {orgs.point_a1.id} and plain[party.id].parties == {bidder.id}
    assert not plain[off.id].active and plain[made[3].id].specialties == {ROADS}

    result = panel.draw(experts, 3, ROADS, orgs.point_a1.id, {bidder.id}, seed="fixed")
    assert set(result.eligible) == {e.id for e in made[3:]}
    assert set(result.excluded) == {village.id, party.id, off.id}
    assert "回避" in result.excluded[village.id] and "投标人" in result.excluded[party.id]
    assert result.excluded[off.id] == "已停用"
    assert not set(result.chosen) & {village.id, party.id, off.id} and panel.redo(result) == result.chosen

    # another village's project, another bidder: the ties do not matter there
    elsewhere = panel.draw(experts, 5, ROADS, orgs.point_b1.id, set(), seed="x")
    assert village.id in elsewhere.eligible and party.id in elsewhere.eligible
    with pytest.raises(panel.DrawError) as exc:  # too few, named by the specialty's name
        panel.draw(experts, 5, ROADS, orgs.point_a1.id, {bidder.id})
    assert "“道路与水利工程”专业" in exc.value.message
    with pytest.raises(svc.ExpertError):
        svc.pool("roads")


# --- the pages ----------------------------------------------------------------------------------------------------------

def _sign_in(client, username):
    assert login(client, username, PASSWORD).status_code == 302


def test_the_list_filters_by_specialty_and_state_and_the_supervisor_only_reads(client, users, db):
    _new(users)
    lawyer = _new(users, name="李律师", mobile="13900006666", specialties=(LAW,), employer="湘北律师事务所")
    svc.deactivate(users["admin"], lawyer)
    db.session.commit()
    _sign_in(client, "t_admin")
    body = text(client.get("/admin/experts"))
    assert "王建国" in body and "李律师" in body and "13800001111" in body and "新增专家" in body
    assert "专家库" in body and 'href="/admin/experts"' in body  # in the staff menu
    body = text(client.get("/admin/experts?specialty=law"))
    assert "李律师" in body and "王建国" not in body
    body = text(client.get("/admin/experts?active=1"))
    assert "王建国" in body and "李律师" not in body
    body = text(client.get("/admin/experts?specialty=nonsense&active=x&page=abc"))  # odd filters: the whole list
    assert "王建国" in body and "李律师" in body

    client.post("/logout", data={"csrf_token": csrf_from(body)})
    _sign_in(client, "t_supervisor")
    resp = client.get("/admin/experts")
    body = text(resp)
    assert resp.status_code == 200 and "王建国" in body and "138****1111" in body and "13800001111" not in body
    assert "新增专家" not in body and "/edit" not in body
    assert client.get("/admin/experts/new").status_code == 403
    expert_id = db.session.scalar(select(Expert.id).where(Expert.name == "王建国"))
    detail = client.get(f"/admin/experts/{expert_id}")
    assert detail.status_code == 200 and "登记利害关系" not in text(detail)
    token = csrf_from(text(detail))  # the sign-out form's
    assert client.post(f"/admin/experts/{expert_id}/active", data={"active": "0", "csrf_token": token}
                       ).status_code == 403
    assert db.session.get(Expert, expert_id).active


def test_other_staff_do_not_see_the_pool(client, users, db):
    _sign_in(client, "t_trader")
    assert client.get("/admin/experts").status_code == 403
    assert "/admin/experts" not in text(client.get("/work"))


def test_create_with_a_bad_mobile_shows_it_beside_the_field_then_saves(client, users, db):
    _sign_in(client, "t_reviewer")
    form = {"name": "王建国", "mobile": "1380000111", "employer": "临湘市水利局", "title": "高级工程师",
            "specialties": [ROADS, "cost"]}
    resp = post_form(client, "/admin/experts/new", form)
    body = text(resp)
    assert resp.status_code == 200 and _count(db) == 0
    assert 'id="mobile-error"' in body and "手机号码应为11位数字" in body and 'aria-invalid="true"' in body
    assert 'value="王建国"' in body and re.search(r'<input checked[^>]*value="cost"', body)

    resp = post_form(client, "/admin/experts/new", {**form, "mobile": "138 0000 1111"})
    assert resp.status_code == 302
    expert = db.session.scalar(select(Expert))
    assert resp.headers["Location"].endswith(f"/admin/experts/{expert.id}")
    assert expert.mobile == "13800001111" and expert.specialties == [ROADS, "cost"]

    resp = post_form(client, "/admin/experts/new", {**form, "mobile": "13800001111"})  # the same person again
    assert resp.status_code == 200 and "已有“王建国”" in text(resp) and _count(db) == 1

    resp = post_form(client, "/admin/experts/new", {**form, "mobile": "13800001112", "specialties": []})
    assert resp.status_code == 200 and "请至少选择一个专业" in text(resp) and _count(db) == 1


def test_edit_and_deactivate(client, users, db):
    expert = _new(users)
    db.session.commit()
    _sign_in(client, "t_admin")
    page = text(client.get(f"/admin/experts/{expert.id}/edit"))
    assert 'value="临湘市水利局"' in page and 'name="version"' in page
    resp = client.post(f"/admin/experts/{expert.id}/edit", data={
        "csrf_token": csrf_from(page), "version": str(expert.version), "name": "王建国", "mobile": "13800001111",
        "employer": "临湘市交通运输局", "title": "", "specialties": [ROADS, "buildings"]})
    assert resp.status_code == 302
    db.session.refresh(expert)
    assert expert.employer == "临湘市交通运输局" and expert.specialties == [ROADS, "buildings"]
    # the same (now stale) form sent again: refused on the form, nothing overwritten
    resp = client.post(f"/admin/experts/{expert.id}/edit", data={
        "csrf_token": csrf_from(page), "version": "1", "name": "王建国", "mobile": "13800001111",
        "employer": "别的单位", "specialties": [ROADS]})
    assert resp.status_code == 200 and "刚被他人修改过" in text(resp)
    db.session.refresh(expert)
    assert expert.employer == "临湘市交通运输局"
    detail = text(client.get(f"/admin/experts/{expert.id}"))
    resp = client.post(f"/admin/experts/{expert.id}/active", data={"csrf_token": csrf_from(detail), "active": "0"})
    assert resp.status_code == 302
    db.session.refresh(expert)
    assert not expert.active
    assert "重新启用" in text(client.get(f"/admin/experts/{expert.id}"))
    assert client.get("/admin/experts/99999/edit").status_code == 404


def test_ties_on_the_experts_page(client, users, orgs, db):
    expert = _new(users)
    db.session.commit()
    _sign_in(client, "t_reviewer")
    url = f"/admin/experts/{expert.id}"
    page = text(client.get(url))
    # the villages under their towns, in the city's order
    assert page.index('label="长安街道"') < page.index("新建村") < page.index("茶园村") < page.index('label="江南镇"') \
        < page.index("团湖村")
    resp = client.post(f"{url}/villages", data={"csrf_token": csrf_from(page), "org_unit_id": str(orgs.point_b1.id),
                                                "reason": ""})
    assert resp.status_code == 200 and "请填写回避原因" in text(resp) and expert.village_ties == []
    resp = client.post(f"{url}/villages", data={"csrf_token": csrf_from(page), "org_unit_id": "0",
                                                "reason": "户籍在该村"})
    assert resp.status_code == 200 and "请从列表中选择村（社区）交易点" in text(resp)
    resp = client.post(f"{url}/villages", data={"csrf_token": csrf_from(page), "org_unit_id": str(orgs.point_b1.id),
                                                "reason": "户籍在该村"})
    assert resp.status_code == 302
    db.session.refresh(expert)
    assert [t.org_unit_id for t in expert.village_ties] == [orgs.point_b1.id]

    party = users["buyer_org"].party
    found = text(client.get(f"{url}?q={party.uscc}"))
    assert party.name in found and 'name="party_id"' in found
    assert "测试受让人" in text(client.get(f"{url}?q=受让"))  # people by name too
    assert "没有找到" in text(client.get(f"{url}?q=不存在的公司"))
    resp = client.post(f"{url}/parties", data={"csrf_token": csrf_from(found), "party_id": str(party.id),
                                               "reason": "", "q": party.uscc})
    assert resp.status_code == 200 and "请填写回避原因" in text(resp) and 'id="reason-%d-error"' % party.id in text(resp)
    resp = client.post(f"{url}/parties", data={"csrf_token": csrf_from(found), "party_id": str(party.id),
                                               "reason": "在该公司任职", "q": party.uscc})
    assert resp.status_code == 302
    db.session.refresh(expert)
    assert [t.party_id for t in expert.party_ties] == [party.id]
    assert "已登记" in text(client.get(f"{url}?q={party.uscc}"))

    page = text(client.get(url))
    tie = db.session.scalar(select(ExpertPartyTie))
    other = _new(users, name="另一位", mobile="13800007777")
    db.session.commit()
    # a tie removed through another expert's address is not found
    assert client.post(f"/admin/experts/{other.id}/parties/{tie.id}/remove",
                       data={"csrf_token": csrf_from(page)}).status_code == 404
    assert client.post(f"{url}/parties/{tie.id}/remove", data={"csrf_token": csrf_from(page)}).status_code == 302
    village_tie = db.session.scalar(select(ExpertVillageTie))
    assert client.post(f"{url}/villages/{village_tie.id}/remove",
                       data={"csrf_token": csrf_from(page)}).status_code == 302
    db.session.refresh(expert)
    assert expert.village_ties == [] and expert.party_ties == []


def test_a_form_without_its_csrf_token_does_nothing(client, users, orgs, db):
    expert = _new(users)
    db.session.commit()
    _sign_in(client, "t_admin")
    before = [x.seq for x in entries_for("expert", expert.id)]
    sent = [("/admin/experts/new", {"name": "赵六", "mobile": "13800003333", "employer": "x", "specialties": [LAW]}),
            (f"/admin/experts/{expert.id}/edit", {"name": "改名", "mobile": "13800001111", "employer": "x",
                                                   "specialties": [LAW]}),
            (f"/admin/experts/{expert.id}/active", {"active": "0"}),
            (f"/admin/experts/{expert.id}/villages", {"org_unit_id": str(orgs.point_a1.id), "reason": "户籍"})]
    for url, data in sent:
        assert client.post(url, data=data).status_code == 400, url
        assert client.post(url, data={**data, "csrf_token": "forged"}).status_code == 400, url
    db.session.refresh(expert)
    assert _count(db) == 1 and expert.name == "王建国" and expert.active and expert.village_ties == []
    assert [x.seq for x in entries_for("expert", expert.id)] == before


# --- the API (read) ---------------------------------------------------------------------------------------------------

def test_the_api_reads_the_pool(client, users, orgs, db):
    e = _new(users, specialties=(ROADS, LAW))
    svc.add_village_tie(users["admin"], e, orgs.point_a1.id, "户籍在该村")
    _new(users, name="林业专家", mobile="13800008888", specialties=("forestry",))
    db.session.commit()
    admin = token_headers(db, users, "admin")
    body = client.get("/api/v1/experts?specialty=law", headers=admin).get_json()
    assert body["total"] == 1 and body["items"][0]["mobile"] == "13800001111"
    item = body["items"][0]
    assert item["specialties"] == [ROADS, LAW] and item["specialty_labels"] == ["道路与水利工程", "法律"]
    assert item["village_ties"][0]["org_unit_id"] == orgs.point_a1.id and item["village_ties"][0]["village"] == "新建村"
    sup = token_headers(db, users, "supervisor")
    one = client.get(f"/api/v1/experts/{e.id}", headers=sup)
    assert one.status_code == 200 and one.get_json()["mobile"] == "138****1111"
    assert client.get("/api/v1/experts/99999", headers=sup).status_code == 404
    assert client.get("/api/v1/experts?specialty=nope", headers=sup).status_code == 422
    assert client.get("/api/v1/experts", headers=token_headers(db, users, "finance")).status_code == 403
