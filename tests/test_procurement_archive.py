"""A procurement project's archive (issue 18 item 8; DESIGN §3.7): its listing's ZIP holds the terms, the 开标 record
(each opened bid document — its SHA-256 the supplier's receipt —, the sealed bytes it was kept as, every opened file),
the panel's draw (seed, eligible, excluded with why, members) with each signed sheet's digest checked, the 评标报告 and
the 中标通知书 when they exist; before the opening nothing readable of a bid, because there is none."""
from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest
from sqlalchemy import text

from exchange.archive.services import build_archive
from exchange.procurement import panel as panel_draw
from exchange.procurement import scoring, vault
from exchange.procurement import services as psvc
from tests.builders import PDF
from tests.factories import PASSWORD
from tests.helpers import login, pdf_text
from tests.procurement_flows import PRICES, bid, contracted, money, scored_evaluated, with_bonds

pytestmark = pytest.mark.usefixtures("frozen", "uploads", "bid_vault", "signing_key")

DOCS = "03-交易文书"


def _zip(data: bytes) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(data))


def _checked(z: zipfile.ZipFile) -> dict:
    """The manifest, once every file's digest in it is checked."""
    manifest = json.loads(z.read("manifest.json"))
    listed = {f["path"]: f["sha256"] for f in manifest["files"]}
    for name in z.namelist():
        if name != "manifest.json":
            assert listed[name] == hashlib.sha256(z.read(name)).hexdigest(), name
    return manifest


def test_a_road_repair_archive_from_terms_to_the_notice(client, users, db):
    listing, deal, contract = contracted(users, db)
    project = psvc.project_of(listing)
    login(client, "t_supervisor", PASSWORD)
    resp = client.get(f"/listings/{listing.id}/archive.zip")
    assert resp.status_code == 200
    z = _zip(resp.data)
    manifest = _checked(z)
    assert manifest["missing"] == [], manifest["missing"]
    names = z.namelist()
    # the terms, as announced
    terms = z.read(f"{DOCS}/招标采购条款.txt").decode("utf-8")
    assert "最高限价（元）：280000.00" in terms and "最低价法" in terms and "2026-12-07 09:30" in terms
    assert f"{DOCS}/招标采购公告-{listing.project_no}.pdf" in names
    # the opening: each bid document byte for byte (its SHA-256 is the receipt) and the sealed bytes it opens from
    record = json.loads(z.read("records/procurement.json"))
    assert record["terms"]["limit_price"] == "280000.00" and record["terms"]["opened_key"] == project.opened_key.hex()
    bids = {b["supplier"]: b for b in record["bids"]}
    assert len(bids) == 4 and {b["state"] for b in bids.values()} == {"opened"}
    opened_docs = sorted(n for n in names if n.startswith(f"{DOCS}/开标记录/") and n.endswith("投标文件.json"))
    assert len(opened_docs) == 4
    for k, price in PRICES.items():
        b = bids[users[k].display_name]
        assert b["price"] == str(money(price))
        doc_name = next(n for n in opened_docs if users[k].display_name in n)
        document = z.read(doc_name)
        assert hashlib.sha256(document).hexdigest() == b["receipt"]
        sealed = z.read(doc_name.replace("投标文件.json", "密封原件.bin"))
        assert vault.unseal(project.opened_key, sealed, listing.project_no, users[k].id) == document
    opening = z.read(f"{DOCS}/开标记录.txt").decode("utf-8")
    assert "249,800.50 元" in opening and project.opened_key.hex() in opening
    # the evaluation report and the notice
    report = pdf_text(z.read(f"{DOCS}/评标报告-{listing.project_no}.pdf"))
    assert "评标报告" in report.replace(" ", "")
    notice = f"{DOCS}/中标通知书-{project.notice_no}.pdf"
    assert z.read(notice).startswith(b"%PDF")
    assert record["award"]["notice_no"] == project.notice_no and record["outcome"]["ranked"][0]["price"] == "249800.50"
    assert record["panel"] is None and record["checks"] == []
    assert manifest["procurement"] == {"stage": "awarded", "opened_bids": 4, "panel_seed": None,
                                       "notice_no": project.notice_no, "checks": []}
    # the bids' audit entries are the listing's
    audit = {a["action"] for a in json.loads(z.read("records/audit.json"))}
    assert {"procurement.publish", "procurement.bid", "procurement.open", "procurement.evaluated",
            "procurement.award"} <= audit


def test_a_scored_projects_archive_keeps_the_draw_the_files_and_the_signed_sheets(users, orgs, db):
    listing, _deal, slips = scored_evaluated(users, orgs, db)
    panel = scoring.panel_of(listing)
    z = _zip(build_archive(listing))
    manifest = _checked(z)
    assert manifest["missing"] == [], manifest["missing"]
    record = json.loads(z.read("records/procurement.json"))
    draw = record["panel"]
    assert draw["seed"] == "archive-seed" and draw["eligible"] == panel.eligible and draw["size"] == 3
    assert draw["redo_matches"] and draw["chosen"] == [s.member.expert_id for s in slips]
    assert panel_draw.redo(panel_draw.Draw(draw["seed"], tuple(draw["eligible"]), tuple(draw["chosen"]))) == tuple(
        draw["chosen"])
    assert list(draw["excluded"].values()) == ["与项目所在村（社区）有利害关系，回避"]
    for m, member in zip(draw["members"], panel.members):
        assert m["sheet_digest"] == member.sheet_digest == m["digest_recomputed"]
        assert m["signed_at"] and set(m["scores"]) == {str(b.id) for b in psvc.opening_record(listing)}
    txt = z.read(f"{DOCS}/评标委员会抽取记录.txt").decode("utf-8")
    assert "随机种子：archive-seed" in txt and "以种子重抽核对：一致" in txt and txt.count("（核对一致）") == 3
    assert "专家0（岳阳市公路局）：与项目所在村（社区）有利害关系，回避" in txt
    # each proposal file as opened, with the digest its bid document lists
    files = [n for n in z.namelist() if "-附件1-" in n]
    assert len(files) == 3 and all(z.read(n) == PDF for n in files)
    assert f"{DOCS}/评标报告-{listing.project_no}.pdf" in z.namelist()
    assert not any("中标通知书" in n for n in z.namelist())  # not awarded yet
    assert manifest["procurement"]["panel_seed"] == "archive-seed"
    audit = {a["action"] for a in json.loads(z.read("records/audit.json"))}
    assert {"procurement.panel", "procurement.sign"} <= audit


def test_before_the_opening_the_archive_holds_nothing_readable_of_a_bid(users, db):
    listing, _regs = with_bonds(users, db)
    receipts = bid(users, listing)
    db.session.commit()
    z = _zip(build_archive(listing))
    manifest = _checked(z)
    record = json.loads(z.read("records/procurement.json"))
    assert {b["receipt"] for b in record["bids"]} == set(receipts.values())
    assert all(b["price"] is None and b["state"] == "sealed" for b in record["bids"])
    assert record["terms"]["opened_key"] is None and record["outcome"] is None and record["award"] is None
    assert not any("/开标记录/" in n for n in z.namelist()) and not any("评标报告" in n for n in z.namelist())
    everything = b"".join(z.read(n) for n in z.namelist())
    for p in PRICES.values():
        assert f'"price": "{p}'.encode() not in everything
    assert "尚未开标" in z.read(f"{DOCS}/开标记录.txt").decode("utf-8")
    assert manifest["procurement"]["opened_bids"] == 0


def test_an_altered_bid_document_is_named_in_the_manifest(users, db):
    from tests.procurement_flows import opened
    listing, receipts = opened(users, db)
    db.session.execute(text("UPDATE procurement_bid SET document = replace(document, '270000.00', '170000.00')"))
    db.session.commit()
    manifest = json.loads(_zip(build_archive(listing)).read("manifest.json"))
    assert len(manifest["missing"]) == 1 and "SHA-256 与回执不符" in manifest["missing"][0]
    assert manifest["procurement"]["checks"] == manifest["missing"]
