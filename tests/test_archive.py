"""档案管理: one ZIP per listing with its materials, decisions, PDFs, ledger entries and audit trail, with a
manifest of SHA-256 digests; downloadable by the center's staff and the supervisor only."""
import csv
import hashlib
import io
import json
import zipfile

import pytest

from exchange.certificates import services as csvc
from tests.factories import PASSWORD
from tests.helpers import login

pytestmark = pytest.mark.usefixtures("signing_key", "uploads")


def _zip(resp) -> zipfile.ZipFile:
    assert resp.status_code == 200 and resp.mimetype == "application/zip"
    return zipfile.ZipFile(io.BytesIO(resp.data))


def test_supervisor_downloads_the_whole_archive(client, buyers, certifiable, db):
    cert = csvc.issue(buyers["center_reviewer"], certifiable)
    db.session.commit()
    listing_id = certifiable.listing_id
    login(client, "t_supervisor", PASSWORD)
    z = _zip(client.get(f"/listings/{listing_id}/archive.zip"))
    names = z.namelist()
    manifest = json.loads(z.read("manifest.json"))
    # every file is in the manifest with its digest
    listed = {f["path"]: f["sha256"] for f in manifest["files"]}
    for name in names:
        if name != "manifest.json":
            assert listed[name] == hashlib.sha256(z.read(name)).hexdigest(), name
    sums = z.read("SHA256SUMS").decode()
    assert all(f"{digest}  {path}" in sums for path, digest in listed.items() if path != "SHA256SUMS")
    assert manifest["missing"] == [], manifest["missing"]
    # materials, registrations and receipts, documents, contract scan, certificate
    assert any(n.startswith("01-挂牌材料/") for n in names)
    assert any(n.startswith("02-受让登记/") and "保证金回单" in n for n in names)
    assert any(n.startswith("03-交易文书/挂牌公告") for n in names)
    assert any(n.startswith("03-交易文书/成交确认书") for n in names)
    assert any(n.startswith("03-交易文书/线下交易结果") for n in names)
    assert any(n.startswith("04-合同/签章扫描件") for n in names)
    cert_files = [n for n in names if n.startswith("06-鉴证书/")]
    assert len(cert_files) == 1 and hashlib.sha256(z.read(cert_files[0])).hexdigest() == cert.pdf_sha256
    assert manifest["certificates"][0]["cert_no"] == cert.cert_no
    # the records
    history = list(csv.reader(io.StringIO(z.read("records/history.csv").decode("utf-8-sig"))))
    actions = [r[1] for r in history[1:]]
    assert {"submit", "center_approve", "conclude", "contract_effective", "settled", "certified"} <= set(actions)
    ledger = list(csv.reader(io.StringIO(z.read("records/ledger.csv").decode("utf-8-sig"))))
    kinds = {r[2] for r in ledger[1:]}
    assert {"deposit_in", "convert", "price_in", "fee", "payout"} <= kinds
    assert sum(float(r[7]) for r in ledger[1:]) == 0  # balanced
    audit = json.loads(z.read("records/audit.json"))
    actions = {a["action"] for a in audit}
    assert "certificate.issue" in actions and "listing.certified" in actions and "ledger.fee" in actions
    assert any(a["object_type"] == "registration" for a in audit)
    seqs = [a["seq"] for a in audit]
    assert seqs == sorted(seqs)
    decisions = json.loads(z.read("records/decisions.json"))
    assert len(decisions["registrations"]) == 3
    # the download itself is audited
    from exchange.audit.services import entries_for
    assert any(e.action == "archive.download" for e in entries_for("listing", listing_id))


def test_center_staff_may_download_buyers_and_clerks_may_not(app, buyers, certifiable, db):
    listing_id = certifiable.listing_id
    url = f"/listings/{listing_id}/archive.zip"
    for username in ("t_point_a1", "t_station_a", "t_buyer"):
        c = app.test_client()
        login(c, username, PASSWORD)
        assert c.get(url).status_code == 403, username
    assert app.test_client().get(url).status_code in (302, 401)  # not signed in
    for username in ("t_finance", "t_trader", "t_supervisor"):
        c = app.test_client()
        login(c, username, PASSWORD)
        assert c.get(url).status_code == 200, username
    assert c.get("/listings/999999/archive.zip").status_code == 404


def test_archive_of_a_listing_without_a_deal(client, users, announced, db):
    login(client, "t_reviewer", PASSWORD)
    z = _zip(client.get(f"/listings/{announced.id}/archive.zip"))
    manifest = json.loads(z.read("manifest.json"))
    assert manifest["deal_no"] is None and manifest["certificates"] == []
    assert any(n.startswith("01-挂牌材料/") for n in z.namelist())
