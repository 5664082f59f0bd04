"""纠纷调解 (第二十七条): the center's reviewer records a dispute on a published listing (parties, claims),
appends mediation notes (time and who; never edited), and closes it — settled with the agreement (and the
scanned 调解协议书), failed with the advice given (仲裁 / 人民法院), or withdrawn; closed records are
read-only; every step audited.  Pages and API, for the roles that may and may not."""
import io
import json

import pytest
from sqlalchemy import func, select

from exchange import clock
from exchange.access import AccessDenied
from exchange.audit.models import AuditEntry
from exchange.incidents import disputes as dsvc
from exchange.incidents.models import Dispute
from exchange.listings import services as lsvc
from tests.builders import PDF, attach, new_household_listing
from tests.factories import PASSWORD
from tests.helpers import csrf_from, login, text, token_headers

pytestmark = pytest.mark.usefixtures("uploads")

EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64
CLAIMS = "受让方称地块实际面积比公告少约两亩，请求按实际面积核减租金并由转让方补正四至。"
OPEN = dict(applicant="临湘市某某农业合作社", respondent="农户演示", parties="团湖村村民委员会（见证）", claims=CLAIMS)


def audits(db, action):
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)).all()


# --- the service ----------------------------------------------------------------------------------------

def test_register_mediate_and_settle_with_the_agreement(users, agreement_deal, db):
    reviewer = users["center_reviewer"]
    listing = agreement_deal.listing
    d = dsvc.open_dispute(reviewer, listing, **OPEN)
    db.session.commit()
    assert d.state == "open" and d.state_label == "调解中" and d.opened_by_id == reviewer.id
    assert (d.applicant, d.respondent, d.claims) == (OPEN["applicant"], OPEN["respondent"], CLAIMS)
    first_at = clock.now()
    dsvc.add_note(reviewer, d, "11月24日上午在团湖村村部调解，双方到场；转让方同意重新丈量。")
    clock.advance(days=2, hours=3)
    dsvc.add_note(reviewer, d, "重新丈量结果 30.1 亩，双方同意按实际面积计租。")
    db.session.commit()
    notes = dsvc.notes_of(db.session.get(Dispute, d.id))
    assert [n["text"][:6] for n in notes] == ["11月24日", "重新丈量结果"]
    assert notes[0]["at"] == first_at.isoformat() and notes[1]["at"] == clock.now().isoformat()
    assert notes[0]["by"] == f"{reviewer.display_name}（{reviewer.role_label}）" and notes[0]["by_id"] == reviewer.id
    d = dsvc.close(reviewer, d, outcome="settled", text="双方同意按实测 30.1 亩计租，年租金相应核减，其余按原合同履行。",
                   document=PDF, document_filename="调解协议书.pdf")
    db.session.commit()
    assert d.state == "settled" and d.closed_by_id == reviewer.id and d.closed_at == clock.now()
    assert d.outcome.startswith("双方同意按实测") and d.document_filename == "调解协议书.pdf"
    assert d.document_content_type == "application/pdf" and len(d.document_sha256) == 64
    # the audit trail has each step, the notes with their text
    assert [a.object_id for a in audits(db, "dispute.open")] == [str(d.id)]
    notes_audit = audits(db, "dispute.note")
    assert len(notes_audit) == 2 and "重新丈量结果" in notes_audit[1].after
    closed = audits(db, "dispute.close")
    assert len(closed) == 1 and json.loads(closed[0].after)["document_sha256"] == d.document_sha256
    # the listing's state is untouched by a dispute
    assert listing.state == "publicity"


def test_a_closed_record_is_read_only(users, announced, db):
    reviewer = users["center_reviewer"]
    d = dsvc.open_dispute(reviewer, announced, **OPEN)
    dsvc.close(reviewer, d, outcome="withdrawn", text="申请人 11 月 25 日书面撤回调解申请。")
    db.session.commit()
    before = (d.mediation, d.outcome, d.state)
    with pytest.raises(dsvc.DisputeError) as exc:
        dsvc.add_note(reviewer, d, "再补一条调解记录")
    assert "已结案" in exc.value.message
    with pytest.raises(dsvc.DisputeError):
        dsvc.close(reviewer, d, outcome="settled", text="事后又达成了调解协议的内容")
    db.session.rollback()
    d = db.session.get(Dispute, d.id)
    assert (d.mediation, d.outcome, d.state) == before
    # no function edits or deletes a note: the module offers none
    assert not [n for n in dir(dsvc) if n.startswith(("edit", "delete", "remove", "update"))]


def test_failed_mediation_states_the_advice_given(users, announced, db):
    reviewer = users["center_reviewer"]
    d = dsvc.open_dispute(reviewer, announced, **OPEN)
    with pytest.raises(dsvc.DisputeError) as exc:
        dsvc.close(reviewer, d, outcome="failed", text="双方对面积差额分歧较大，未能达成一致。")
    assert exc.value.field == "advice" and "仲裁" in exc.value.message and "人民法院" in exc.value.message
    with pytest.raises(dsvc.DisputeError) as exc:
        dsvc.close(reviewer, d, outcome="failed", text="双方对面积差额分歧较大。", advice="mediate_again")
    assert exc.value.field == "advice"
    with pytest.raises(dsvc.DisputeError) as exc:
        dsvc.close(reviewer, d, outcome="settled", text="双方达成一致，按实际面积计租金。", advice="court")
    assert exc.value.field == "advice"
    assert db.session.get(Dispute, d.id).state == "open"
    dsvc.close(reviewer, d, outcome="failed", text="双方对面积差额分歧较大，未能达成一致。", advice="both")
    db.session.commit()
    assert d.state == "failed" and d.state_label == "调解不成"
    assert "依照合同约定申请仲裁" in d.outcome and "向人民法院提起诉讼" in d.outcome and "第二十七条" in d.outcome
    d2 = dsvc.open_dispute(reviewer, announced, **OPEN)
    dsvc.close(reviewer, d2, outcome="failed", text="被申请人拒绝参加调解。", advice="arbitration")
    assert "仲裁" in d2.outcome and "法院" not in d2.outcome


def test_only_the_center_reviewer_manages(users, announced, db):
    d = dsvc.open_dispute(users["center_reviewer"], announced, **OPEN)
    db.session.commit()
    for who in ("trading_officer", "finance", "supervisor", "admin", "station_a", "point_a1", "buyer"):
        with pytest.raises(AccessDenied):
            dsvc.open_dispute(users[who], announced, **OPEN)
        with pytest.raises(AccessDenied):
            dsvc.add_note(users[who], d, "越权写入的调解记录")
        with pytest.raises(AccessDenied):
            dsvc.close(users[who], d, outcome="withdrawn", text="越权结案的说明")
        db.session.rollback()
    for who in ("station_a", "point_a1", "finance", "buyer", "admin"):
        with pytest.raises(AccessDenied):
            dsvc.search(users[who])
    for who in ("center_reviewer", "trading_officer", "supervisor"):
        assert db.session.scalars(dsvc.search(users[who])).all() == [d]
    assert db.session.get(Dispute, d.id).state == "open" and dsvc.notes_of(d) == []


@pytest.mark.parametrize("change, field", [
    ({"applicant": ""}, "applicant"), ({"applicant": "张"}, "applicant"), ({"applicant": "长" * 101}, "applicant"),
    ({"respondent": "   "}, "respondent"), ({"respondent": "临湘市某某农业合作社"}, "respondent"),
    ({"parties": "人" * 1001}, "parties"), ({"claims": "太短的请求"}, "claims"), ({"claims": "理" * 4001}, "claims"),
    ({"claims": None}, "claims"), ({"applicant": 123}, "applicant"),
])
def test_bad_registration_is_refused_with_the_field(users, announced, db, change, field):
    with pytest.raises(dsvc.DisputeError) as exc:
        dsvc.open_dispute(users["center_reviewer"], announced, **{**OPEN, **change})
    assert exc.value.field == field and exc.value.message
    db.session.rollback()
    assert db.session.scalar(select(func.count(Dispute.id))) == 0


def test_bad_notes_and_closings_change_nothing(users, announced, db):
    reviewer = users["center_reviewer"]
    d = dsvc.open_dispute(reviewer, announced, **OPEN)
    db.session.commit()
    for note in ("", "   ", "短", "记" * 2001, None):
        with pytest.raises(dsvc.DisputeError) as exc:
            dsvc.add_note(reviewer, d, note)
        assert exc.value.field == "note"
    for kw, field in [({"outcome": "won"}, "outcome"), ({"outcome": "settled", "text": "太短"}, "text"),
                      ({"outcome": "settled", "text": "协" * 4001}, "text"), ({"outcome": "withdrawn", "text": ""}, "text"),
                      ({"outcome": "settled", "text": "双方达成一致，按实际面积计租金。", "document": EXE,
                        "document_filename": "协议.pdf"}, "document"),
                      ({"outcome": "settled", "text": "双方达成一致，按实际面积计租金。", "document": b"",
                        "document_filename": "协议.pdf"}, "document")]:
        with pytest.raises(dsvc.DisputeError) as exc:
            dsvc.close(reviewer, d, **{"text": "", **kw})
        assert exc.value.field == field, kw
    db.session.rollback()
    d = db.session.get(Dispute, d.id)
    assert d.state == "open" and d.mediation == "" and d.document_key is None


def test_only_published_listings(users, db, frozen):
    listing = new_household_listing(users)
    attach(listing, users["point_a1"])
    with pytest.raises(dsvc.DisputeError) as exc:
        dsvc.open_dispute(users["center_reviewer"], listing, **OPEN)
    assert "尚未发布" in exc.value.message
    lsvc.submit(users["point_a1"], listing)
    with pytest.raises(dsvc.DisputeError):
        dsvc.open_dispute(users["center_reviewer"], listing, **OPEN)


# --- pages ----------------------------------------------------------------------------------------------

def _post(client, url, data, page_url, **kw):
    token = csrf_from(text(client.get(page_url)))
    return client.post(url, data={**data, "csrf_token": token}, **kw)


def test_the_reviewer_works_a_dispute_through_the_pages(client, users, agreement_deal, db):
    listing = agreement_deal.listing
    login(client, "t_reviewer", PASSWORD)
    detail = text(client.get(f"/listings/{listing.id}"))
    assert "纠纷调解（第二十七条）" in detail and f"/disputes?listing_id={listing.id}" in detail
    page = text(client.get(f"/disputes?listing_id={listing.id}"))
    assert "登记纠纷调解申请" in page and "没有符合条件的纠纷调解记录" in page
    new_url = f"/listings/{listing.id}/disputes/new"
    resp = _post(client, new_url, {**OPEN, "claims": "太短"}, new_url)
    assert resp.status_code == 400 and "请写明调解请求和事实理由" in text(resp)
    assert db.session.scalar(select(func.count(Dispute.id))) == 0
    resp = _post(client, new_url, OPEN, new_url, follow_redirects=True)
    assert resp.status_code == 200 and "已登记纠纷调解申请" in text(resp)
    d = db.session.scalar(select(Dispute))
    url = f"/disputes/{d.id}"
    assert "尚无调解记录" in text(client.get(url))
    resp = _post(client, f"{url}/notes", {"note": "短"}, url)
    assert resp.status_code == 400 and "请填写调解情况" in text(resp)
    resp = _post(client, f"{url}/notes", {"note": "在村部调解，双方同意重新丈量。"}, url, follow_redirects=True)
    assert "已记录本次调解情况" in text(resp) and "在村部调解，双方同意重新丈量。" in text(resp)
    # failed without the advice: refused with the reason; then with it
    resp = _post(client, f"{url}/close", {"outcome": "failed", "text": "双方分歧较大，未能达成一致。"}, url,
                 content_type="multipart/form-data")
    assert resp.status_code == 400 and "仲裁" in text(resp)
    resp = _post(client, f"{url}/close", {"outcome": "settled", "text": "双方同意按实测面积计租，其余照旧。",
                                          "document": (io.BytesIO(EXE), "协议.pdf")}, url,
                 content_type="multipart/form-data")
    assert resp.status_code == 400 and "调解文书扫描件" in text(resp)
    assert db.session.get(Dispute, d.id).state == "open"
    resp = _post(client, f"{url}/close", {"outcome": "settled", "text": "双方同意按实测面积计租，其余照旧。",
                                          "document": (io.BytesIO(PDF), "调解协议书.pdf")}, url,
                 content_type="multipart/form-data", follow_redirects=True)
    body = text(resp)
    assert "纠纷调解已结案：调解成功" in body and "本纠纷调解已结案，记录只读" in body and "保存记录" not in body
    doc = client.get(f"{url}/document")
    assert doc.status_code == 200 and doc.data == PDF
    # read-only afterwards, also over a forged post
    page = text(client.get(url))
    resp = client.post(f"{url}/notes", data={"note": "结案后再补记一条", "csrf_token": csrf_from(page)})
    assert resp.status_code == 400 and "已结案" in text(resp)
    # the list filters
    assert listing.title in text(client.get("/disputes?state=closed"))
    assert listing.title not in text(client.get("/disputes?state=open"))
    assert listing.title in text(client.get("/disputes?state=bogus"))  # an unknown filter shows all


def test_who_may_see_and_who_may_act_over_http(app, users, announced, db):
    d = dsvc.open_dispute(users["center_reviewer"], announced, **OPEN)
    dsvc.close(users["center_reviewer"], d, outcome="settled", text="双方同意按实测面积计租，其余照旧。", document=PDF,
               document_filename="调解协议书.pdf")
    d2 = dsvc.open_dispute(users["center_reviewer"], announced, **OPEN)
    db.session.commit()
    urls = ["/disputes", f"/disputes/{d.id}", f"/disputes/{d.id}/document", f"/disputes?listing_id={announced.id}"]
    for username in ("t_point_a1", "t_station_a", "t_finance", "t_admin", "t_buyer"):
        c = app.test_client()
        login(c, username, PASSWORD)
        for u in urls + [f"/listings/{announced.id}/disputes/new", "/disputes/999999"]:
            assert c.get(u).status_code == 403, (username, u)
    anonymous = app.test_client()
    assert anonymous.get("/disputes").status_code in (302, 401)
    for username in ("t_supervisor", "t_trader"):
        c = app.test_client()
        login(c, username, PASSWORD)
        for u in urls:
            assert c.get(u).status_code == 200, (username, u)
        assert "纠纷调解（第二十七条）" in text(c.get(f"/listings/{announced.id}")) or username == "t_trader"
        page = text(c.get(f"/disputes/{d2.id}"))
        assert "您可以查看纠纷调解记录" in page and "保存记录" not in page and "登记纠纷调解申请" not in text(
            c.get(f"/disputes?listing_id={announced.id}"))
        token = csrf_from(text(c.get("/work")))
        assert c.get(f"/listings/{announced.id}/disputes/new").status_code == 403
        assert c.post(f"/listings/{announced.id}/disputes/new", data={**OPEN, "csrf_token": token}).status_code == 403
        assert c.post(f"/disputes/{d2.id}/notes", data={"note": "越权写入的记录", "csrf_token": token}).status_code == 403
        assert c.post(f"/disputes/{d2.id}/close", data={"outcome": "withdrawn", "text": "越权结案的说明",
                                                        "csrf_token": token}).status_code == 403
    reviewer = app.test_client()
    login(reviewer, "t_reviewer", PASSWORD)
    assert reviewer.get("/disputes/999999").status_code == 404
    assert reviewer.get(f"/disputes/{d2.id}/document").status_code == 404  # no document yet
    assert reviewer.get("/disputes?listing_id=999999").status_code == 404
    assert reviewer.get("/listings/999999/disputes/new").status_code == 404
    # without the CSRF token nothing is written
    assert reviewer.post(f"/disputes/{d2.id}/notes", data={"note": "没有令牌的记录"}).status_code == 400
    db.session.expire_all()
    assert db.session.get(Dispute, d2.id).mediation == ""
    assert db.session.scalar(select(func.count(Dispute.id))) == 2


def test_the_new_page_for_a_listing_not_yet_published(client, users, db, frozen):
    listing = new_household_listing(users)
    db.session.commit()
    login(client, "t_reviewer", PASSWORD)
    url = f"/listings/{listing.id}/disputes/new"
    assert "尚未发布交易公告" in text(client.get(url))
    resp = _post(client, url, OPEN, url)
    assert resp.status_code == 400 and "尚未发布交易公告" in text(resp)
    assert db.session.scalar(select(func.count(Dispute.id))) == 0


# --- API ------------------------------------------------------------------------------------------------

def test_the_api(client, users, announced, db):
    reviewer, trader, supervisor, finance, buyer = (token_headers(db, users, k) for k in (
        "center_reviewer", "trading_officer", "supervisor", "finance", "buyer"))
    base = f"/api/v1/listings/{announced.id}/disputes"
    assert client.post(base, headers=trader, json=OPEN).status_code == 403
    assert client.post(base, headers=supervisor, json=OPEN).status_code == 403
    assert client.post(base, json=OPEN).status_code in (400, 401)  # neither token nor session (CSRF / sign-in)
    bad = client.post(base, headers=reviewer, json={**OPEN, "claims": "太短"})
    assert bad.status_code == 400 and bad.get_json()["fields"] == {"claims": [bad.get_json()["message"]]}
    missing = client.post(base, headers=reviewer, json={"applicant": "某合作社"})
    assert missing.status_code == 422 and set(missing.get_json()["fields"]) == {"respondent", "claims"}
    assert client.post(base, headers=reviewer, data="not json", content_type="text/plain").status_code in (415, 422)
    assert client.post("/api/v1/listings/999999/disputes", headers=reviewer, json=OPEN).status_code == 404
    created = client.post(base, headers=reviewer, json=OPEN)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    did = body["id"]
    assert body["state"] == "open" and body["project_no"] == announced.project_no and body["notes"] == []
    note = client.post(f"/api/v1/disputes/{did}/notes", headers=reviewer, json={"note": "电话联系双方，约定下周调解。"})
    assert note.status_code == 201 and note.get_json()["notes"][0]["text"] == "电话联系双方，约定下周调解。"
    assert "by_id" not in note.get_json()["notes"][0]
    assert client.post(f"/api/v1/disputes/{did}/notes", headers=trader, json={"note": "越权写入"}).status_code == 403
    assert client.post(f"/api/v1/disputes/{did}/notes", headers=reviewer, json={"note": ""}).status_code == 400
    assert client.post("/api/v1/disputes/999999/notes", headers=reviewer, json={"note": "不存在的记录"}).status_code == 404
    # reads: reviewer, trader, supervisor; not finance or a buyer (and no id is revealed to them)
    for h in (reviewer, trader, supervisor):
        assert client.get(f"/api/v1/disputes/{did}", headers=h).status_code == 200
        assert client.get("/api/v1/disputes?state=open", headers=h).get_json()["total"] == 1
    for h in (finance, buyer):
        assert client.get(f"/api/v1/disputes/{did}", headers=h).status_code == 403
        assert client.get("/api/v1/disputes/999999", headers=h).status_code == 403
        assert client.get("/api/v1/disputes", headers=h).status_code == 403
    assert client.get("/api/v1/disputes/999999", headers=reviewer).status_code == 404
    assert client.get("/api/v1/disputes?state=nonsense", headers=reviewer).status_code == 422
    # closing: failed needs the advice; a scan may come along
    url = f"/api/v1/disputes/{did}/close"
    resp = client.post(url, headers=reviewer, data={"outcome": "failed", "text": "双方分歧较大，未能达成一致。"},
                       content_type="multipart/form-data")
    assert resp.status_code == 400 and resp.get_json()["fields"].keys() == {"advice"}
    resp = client.post(url, headers=reviewer, data={"outcome": "failed", "text": "双方分歧较大，未能达成一致。",
                                                    "advice": "court", "document": (io.BytesIO(EXE), "x.pdf")},
                       content_type="multipart/form-data")
    assert resp.status_code == 400 and "document" in resp.get_json()["fields"]
    assert client.post(url, headers=trader, data={"outcome": "withdrawn", "text": "越权结案的说明"},
                       content_type="multipart/form-data").status_code == 403
    resp = client.post(url, headers=reviewer, data={"outcome": "failed", "text": "双方分歧较大，未能达成一致。",
                                                    "advice": "court", "document": (io.BytesIO(PDF), "调解记录.pdf")},
                       content_type="multipart/form-data")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["state"] == "failed" and "人民法院" in body["outcome"] and body["document"]["filename"] == "调解记录.pdf"
    again = client.post(url, headers=reviewer, data={"outcome": "withdrawn", "text": "重复结案的说明"},
                        content_type="multipart/form-data")
    assert again.status_code == 400 and "已结案" in again.get_json()["message"]
    listed = client.get(f"/api/v1/disputes?state=closed&listing_id={announced.id}", headers=supervisor).get_json()
    assert listed["total"] == 1 and listed["items"][0]["state_label"] == "调解不成"
    assert client.get("/api/v1/disputes?state=open", headers=supervisor).get_json()["total"] == 0
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/disputes", "/api/v1/disputes/{dispute_id}", "/api/v1/listings/{listing_id}/disputes",
                 "/api/v1/disputes/{dispute_id}/notes", "/api/v1/disputes/{dispute_id}/close"):
        assert path in spec["paths"], path


def test_odd_api_input_is_a_clear_4xx_never_a_500(client, users, announced, db):
    reviewer = token_headers(db, users, "center_reviewer")
    d = dsvc.open_dispute(users["center_reviewer"], announced, **OPEN)
    db.session.commit()
    base = f"/api/v1/listings/{announced.id}/disputes"
    odd_json = [None, [], "x", 1, {"applicant": None, "respondent": None, "claims": None},
                {**OPEN, "applicant": ["a"]}, {**OPEN, "claims": {"x": 1}}, {**OPEN, "extra": "field"},
                {**OPEN, "applicant": "\x00\x01"}, {**OPEN, "claims": "　" * 20}]
    for body in odd_json:
        resp = client.post(base, headers=reviewer, json=body)
        assert 400 <= resp.status_code < 500 and resp.get_json()["message"], (body, resp.status_code)
    for body in (None, {}, {"note": None}, {"note": 5}, {"note": "x" * 5000}, {"note": "ok note", "by": "forged"}):
        resp = client.post(f"/api/v1/disputes/{d.id}/notes", headers=reviewer, json=body)
        assert 400 <= resp.status_code < 500, (body, resp.status_code)
    for form in ({}, {"outcome": "settled"}, {"outcome": "", "text": "双方达成一致的协议内容"},
                 {"outcome": "failed", "text": "双方分歧较大，未能达成一致。", "advice": "nonsense"},
                 {"outcome": "settled", "text": "x" * 5000}):
        resp = client.post(f"/api/v1/disputes/{d.id}/close", headers=reviewer, data=form,
                           content_type="multipart/form-data")
        assert 400 <= resp.status_code < 500, (form, resp.status_code)
    for query in ("page=0", "per_page=1000", "listing_id=abc", "state=", "page=-1"):
        resp = client.get(f"/api/v1/disputes?{query}", headers=reviewer)
        assert resp.status_code in (200, 422), (query, resp.status_code)
    assert client.get("/api/v1/disputes/abc", headers=reviewer).status_code == 404
    db.session.expire_all()
    d = db.session.get(Dispute, d.id)
    assert d.state == "open" and d.mediation == ""
    assert db.session.scalar(select(func.count(Dispute.id))) == 1
