"""档案管理: the listing's ZIP carries its exception records — objections with their decisions, disputes with
their notes, outcome and scan, suspensions (frozen clocks, restart, approving document), the termination and
its document, default cases with the runner-up offers — and every deal of the listing (the defaulted one
beside the runner-up's), as readable texts plus the stored documents, each in the manifest and SHA256SUMS.

Suspension, DefaultCase and RunnerUpOffer rows are written here directly through the models (their services
are another module's); disputes go through :mod:`exchange.incidents.disputes`; objections and the
termination through their services."""
import hashlib
import io
import json
import secrets
import zipfile
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from exchange import clock
from exchange.deadlines.sweeper import sweep
from exchange.incidents import disputes as dsvc
from exchange.incidents import termination as xsvc
from exchange.incidents.models import DefaultCase, RunnerUpOffer, Suspension
from exchange.listings.models import Listing
from exchange.listings.workflow import fire
from exchange.trading import services as tsvc
from exchange.trading.models import Deal
from exchange.uploads import accept_upload
from tests.builders import PDF
from tests.factories import PASSWORD
from tests.helpers import login

pytestmark = pytest.mark.usefixtures("uploads")

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _archive(app, listing_id: int, username: str = "t_supervisor") -> zipfile.ZipFile:
    c = app.test_client()
    login(c, username, PASSWORD)
    resp = c.get(f"/listings/{listing_id}/archive.zip")
    assert resp.status_code == 200 and resp.mimetype == "application/zip"
    return zipfile.ZipFile(io.BytesIO(resp.data))


def _check_manifest(z: zipfile.ZipFile) -> dict:
    manifest = json.loads(z.read("manifest.json"))
    listed = {f["path"]: f["sha256"] for f in manifest["files"]}
    assert set(z.namelist()) - {"manifest.json"} == set(listed)
    sums = z.read("SHA256SUMS").decode()
    for name, digest in listed.items():
        assert digest == hashlib.sha256(z.read(name)).hexdigest(), name
        if name != "SHA256SUMS":
            assert f"{digest}  {name}\n" in sums, name
    return manifest


def _one(z: zipfile.ZipFile, prefix: str, suffix: str = "") -> str:
    names = [n for n in z.namelist() if n.startswith(prefix) and n.endswith(suffix)]
    assert len(names) == 1, (prefix, suffix, z.namelist())
    return names[0]


def _suspension(users, listing, *, state: str, document: bool = True, **kw) -> Suspension:
    stored = accept_upload(PDF, "主管部门中止函.pdf") if document else None
    now = clock.now()
    frozen = [{"model": "deal", "field": "publicity_end_at", "kind": "workdays", "label": "交易公示期",
               "id": kw.pop("clock_id", listing.id), "due": (now + timedelta(days=2)).isoformat(), "time": "24:00",
               "remaining": 2}]
    if state == "restarted":
        frozen[0]["restored"] = (now + timedelta(days=9)).isoformat()
    s = Suspension(listing_id=listing.id, state=state, ground=kw.pop("ground", "title_dispute"),
                   basis="团湖村三组村民对地块东侧边界提出权属争议，镇人民政府函请暂停",
                   from_state=kw.pop("from_state", listing.state), frozen=json.dumps(frozen, ensure_ascii=False),
                   suspended_by_id=users["center_reviewer"].id, suspended_at=now,
                   document_key=stored.key if stored else None,
                   document_filename=stored.filename if stored else "",
                   document_content_type=stored.content_type if stored else "",
                   document_sha256=stored.sha256 if stored else "", **kw)
    if state == "restarted":
        s.restart_reason = "边界已由镇人民政府调处确认，申请重启"
        s.restart_requested_by_id = users["point_a1"].id
        s.restart_requested_at = now + timedelta(days=6)
        s.restart_decision = "权属争议已消除，同意重启"
        s.restarted_by_id = users["center_reviewer"].id
        s.restarted_at = now + timedelta(days=7)
    from exchange.extensions import db
    db.session.add(s)
    db.session.flush()
    return s


def test_objections_disputes_suspension_default_and_both_deals(app, buyers, online_deal, db):
    users = buyers
    deal, regs = online_deal
    listing_id, first_no = deal.listing_id, deal.deal_no
    reviewer = users["center_reviewer"]
    # an objection during publicity, dismissed
    obj = tsvc.file_objection(None, deal, name="某村民", contact="13900001111",
                              content="该地块东侧约三亩属于我家承包范围，请核实。", ip="10.0.0.8")
    tsvc.decide_objection(reviewer, obj, upheld=False, decision="经核实四至清楚，东侧三亩不在本次流转范围内，异议不成立。")
    # a suspension that was restarted (row written directly), with its approving letter
    susp = _suspension(users, deal.listing, state="restarted", clock_id=deal.id)
    db.session.commit()
    # publicity ends: contract; then the winner fails to sign — default, the runner-up accepts
    clock.freeze(deal.publicity_end_at + timedelta(minutes=1))
    sweep()
    db.session.expire_all()
    deal = db.session.get(Deal, deal.id)
    listing = db.session.get(Listing, listing_id)
    assert listing.state == "contract"
    fire(listing, "default", reviewer, reason="买受人逾期未签订合同（第十六条）")
    deal.state = "defaulted"
    case = DefaultCase(listing_id=listing.id, deal_id=deal.id, registration_id=deal.registration_id, stage="contract",
                       state="accepted", reason="成交后 5 个工作日内未签订合同，经催告仍未签订",
                       forfeited=Decimal("0.00"), declared_by_id=reviewer.id)
    db.session.add(case)
    db.session.flush()
    runner = regs["buyer_coop"]
    offer = RunnerUpOffer(case_id=case.id, registration_id=runner.id, price=Decimal("160000.00"), state="accepted",
                          due_at=clock.now() + timedelta(days=3), offered_by_id=reviewer.id,
                          answered_at=clock.now() + timedelta(hours=2), answer_note="同意按本人最后报价受让")
    db.session.add(offer)
    second = Deal(deal_no=f"{first_no}-R", listing_id=listing.id, registration_id=runner.id, buyer_id=runner.buyer_id,
                  method=deal.method, price=Decimal("160000.00"), session_id=deal.session_id,
                  concluded_at=clock.now(), confirmed_by_id=reviewer.id, state="publicity",
                  publicity_end_at=clock.now() + timedelta(days=5))
    db.session.add(second)
    db.session.flush()
    case.new_deal_id = second.id
    fire(listing, "runner_up_accept", reviewer)
    # a dispute through the service, mediated and settled with the scanned agreement
    d = dsvc.open_dispute(reviewer, listing, applicant="临湘市某某农业合作社", respondent="测试受让人",
                          claims="次高报价人认为原买受人违约造成其损失，请求协调赔偿交通误工费用。")
    dsvc.add_note(reviewer, d, "12月1日在交易中心调解，双方到场陈述。")
    dsvc.add_note(reviewer, d, "原买受人同意补偿误工费 800 元。")
    dsvc.close(reviewer, d, outcome="settled", text="原买受人于 12 月 5 日前支付误工费 800 元，双方再无争议。",
               document=PNG, document_filename="调解协议书.png")
    open_dispute = dsvc.open_dispute(reviewer, listing, applicant="团湖村三组村民", respondent="农户演示",
                                     claims="村民认为地块东侧边界与承包合同不一致，请求调解。")
    db.session.commit()
    dispute_sha = d.document_sha256

    z = _archive(app, listing_id)
    manifest = _check_manifest(z)
    assert manifest["missing"] == [], manifest["missing"]
    names = z.namelist()
    # both deals, the defaulted one beside the runner-up's
    assert f"03-交易文书/成交确认书-{first_no}.pdf" in names and f"03-交易文书/成交确认书-{first_no}-R.pdf" in names
    assert any(n.startswith("04-合同/合同文本-") for n in names)  # the defaulted deal's contract draft
    deals = json.loads(z.read("records/deals.json"))
    assert [(x["deal_no"], x["state"], x["current"]) for x in deals] == [(first_no, "defaulted", False),
                                                                        (f"{first_no}-R", "publicity", True)]
    assert manifest["deal_no"] == f"{first_no}-R" and [x["deal_no"] for x in manifest["deals"]] == [first_no,
                                                                                                  f"{first_no}-R"]
    assert manifest["exceptions"] == {"objections": 1, "disputes": 2, "suspensions": 1, "termination": False,
                                      "defaults": 1, "runner_up_offers": 1}
    # the objection and its decision
    text = z.read(_one(z, "07-异常处理/异议/", f"-{first_no}.txt")).decode()
    assert "某村民" in text and "异议不成立" in text and "经核实四至清楚" in text and "13900001111" in text
    # the disputes: notes in order, outcome, the scan with its digest
    texts = [z.read(n).decode() for n in names if n.startswith("07-异常处理/纠纷调解/") and n.endswith(".txt")]
    assert len(texts) == 2
    settled = next(t for t in texts if "调解成功" in t)
    assert settled.index("12月1日在交易中心调解") < settled.index("原买受人同意补偿误工费")
    assert "支付误工费 800 元" in settled and dispute_sha in settled and "临湘市某某农业合作社" in settled
    assert "1. " in settled and "2. " in settled and "北京时间" in settled
    scan = _one(z, "07-异常处理/纠纷调解/", "调解协议书.png")
    assert hashlib.sha256(z.read(scan)).hexdigest() == dispute_sha and z.read(scan) == PNG
    assert any("调解中" in t and "（无）" in t for t in texts)  # the open one, no notes yet
    # the suspension: ground, frozen clock, restart, document
    text = z.read(_one(z, "07-异常处理/中止/", ".txt")).decode()
    for expected in ("产权存在权属争议", "交易公示期", "剩余 2 个工作日", "重启后到期", "权属争议已消除，同意重启",
                     "已重启", susp.document_sha256):
        assert expected in text, expected
    letter = _one(z, "07-异常处理/中止/", "主管部门中止函.pdf")
    assert hashlib.sha256(z.read(letter)).hexdigest() == susp.document_sha256
    # the default case and the runner-up offer
    text = z.read(_one(z, "07-异常处理/违约/", f"-{first_no}.txt")).decode()
    for expected in ("逾期未签订合同", "次高报价人已接受", runner.bidder_no, "160000.00 元", "已接受", f"{first_no}-R",
                     "同意按本人最后报价受让", regs["buyer"].bidder_no):
        assert expected in text, expected
    # the same as data
    data = json.loads(z.read("records/exceptions.json"))
    assert [x["state"] for x in data["disputes"]] == ["settled", "open"]
    assert [n["text"] for n in data["disputes"][0]["notes"]] == ["12月1日在交易中心调解，双方到场陈述。",
                                                                 "原买受人同意补偿误工费 800 元。"]
    assert data["suspensions"][0]["frozen"][0]["label"] == "交易公示期" and data["termination"] is None
    assert data["defaults"][0]["offers"][0]["bidder_no"] == runner.bidder_no
    assert data["objections"][0]["deal_no"] == first_no
    decisions = json.loads(z.read("records/decisions.json"))
    assert [o["deal_no"] for o in decisions["objections"]] == [first_no]
    # the audit trail of the listing includes the disputes' and the objection's entries
    actions = {(a["action"], a["object_type"]) for a in json.loads(z.read("records/audit.json"))}
    assert {("dispute.open", "dispute"), ("dispute.note", "dispute"), ("dispute.close", "dispute"),
            ("objection.decide", "objection"), ("listing.default", "listing")} <= actions
    assert len([a for a in json.loads(z.read("records/audit.json")) if a["action"] == "dispute.open"]) == 2
    assert open_dispute.state == "open"


def test_termination_and_an_earlier_suspension(app, users, announced, db):
    from exchange.extensions import db as _db
    s = _suspension(users, announced, state="restarted", ground="authority", from_state="announced")
    missing = _suspension(users, announced, state="restarted", document=False, ground="center",
                          from_state="announced")
    missing.document_key, missing.document_filename = secrets.token_hex(32), "丢失的批复.pdf"  # a blob that is gone
    _db.session.commit()
    t = xsvc.terminate(users["center_reviewer"], announced, ground="authority",
                       basis="临湘市农业农村局 临农函〔2026〕88号：该地块涉及征收，终结交易", document=PDF,
                       document_filename="终结批复.pdf")
    db.session.commit()
    z = _archive(app, announced.id, "t_reviewer")
    manifest = _check_manifest(z)
    assert manifest["exceptions"]["termination"] is True and manifest["exceptions"]["suspensions"] == 2
    assert manifest["deals"] == [] and manifest["deal_no"] is None
    text = z.read("07-异常处理/终结/终结交易.txt").decode()
    for expected in ("相关行政主管部门提出终结交易", "临农函〔2026〕88号", "公告中", t.document_sha256, "北京时间"):
        assert expected in text, expected
    doc = _one(z, "07-异常处理/终结/终结交易-批准文件-")
    assert hashlib.sha256(z.read(doc)).hexdigest() == t.document_sha256
    texts = [z.read(n).decode() for n in z.namelist() if n.startswith("07-异常处理/中止/") and n.endswith(".txt")]
    assert len(texts) == 2 and any("相关行政主管部门提出中止交易" in x for x in texts)
    assert hashlib.sha256(z.read(_one(z, "07-异常处理/中止/", "主管部门中止函.pdf"))).hexdigest() == s.document_sha256
    # a document whose blob is gone is reported, the archive still downloads
    assert any("丢失的批复.pdf" in m and "找不到" in m for m in manifest["missing"]), manifest["missing"]
    data = json.loads(z.read("records/exceptions.json"))
    assert data["termination"]["ground"] == "authority" and data["termination"]["refunds_opened"] == 0


def test_a_listing_without_exceptions_has_no_folder_07(app, users, announced, db):
    z = _archive(app, announced.id, "t_trader")
    manifest = _check_manifest(z)
    assert not any(n.startswith("07-") for n in z.namelist())
    assert manifest["exceptions"] == {"objections": 0, "disputes": 0, "suspensions": 0, "termination": False,
                                      "defaults": 0, "runner_up_offers": 0}
    assert json.loads(z.read("records/exceptions.json")) == {"objections": [], "disputes": [], "suspensions": [],
                                                             "termination": None, "defaults": [],
                                                             "force_majeure": []}
