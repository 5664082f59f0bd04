"""The announcement PDF of a published listing is rendered once per version of what it prints and then served
from the shared cache (issue 14, item 17): ETag / Last-Modified / 304, a new PDF as soon as anything printed
changes (a restart's new deadlines; a town renamed, which the listing's own version does not see), and who may
not see a listing is refused before the cache is looked at."""
import subprocess
from datetime import timedelta

import pytest

from exchange import clock
from exchange import pdf as pdfmod
from exchange.incidents import suspension as ssvc
from exchange.listings.models import Listing
from exchange.orgs.services import update_org
from exchange.workdays.display import fmt_due
from tests.builders import PDF

pytestmark = pytest.mark.usefixtures("uploads")


@pytest.fixture
def renders(app, tmp_path, monkeypatch):
    """Each WeasyPrint rendering of the cache, counted; the cache in a folder of this test."""
    monkeypatch.setitem(app.config, "PDF_CACHE_DIR", str(tmp_path / "pdf-cache"))
    calls = []
    real = pdfmod.html_to_pdf

    def counting(html):
        calls.append(html)
        return real(html)

    monkeypatch.setattr(pdfmod, "html_to_pdf", counting)
    return calls


def _url(listing):
    return f"/projects/{listing.project_no}/announcement.pdf"


def _text(data: bytes, tmp_path) -> str:
    path = tmp_path / "a.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return "".join(out.split())


def _flat(s) -> str:
    return "".join(str(s).split())


def test_second_fetch_comes_from_the_cache(client, announced, renders, tmp_path):
    first = client.get(_url(announced))
    assert first.status_code == 200 and first.mimetype == "application/pdf"
    assert len(renders) == 1
    second = client.get(_url(announced))
    assert second.status_code == 200 and second.data == first.data
    assert len(renders) == 1, "the second fetch rendered the PDF again"
    # on disk, where every process of the machine finds it: nothing is kept in the process
    assert [p.name for p in (tmp_path / "pdf-cache" / "announcement").glob("*.pdf")] == \
        [f"{announced.id}-{first.get_etag()[0]}.pdf"]
    assert first.get_etag()[1] is True  # weak: two machines' renderings may differ in bytes
    assert first.headers["ETag"] == second.headers["ETag"] and first.last_modified is not None
    assert {"public", "no-cache"} <= {d.strip() for d in first.headers["Cache-Control"].split(",")}
    assert "LXNCJY-" in first.headers["Content-Disposition"]
    assert announced.project_no in _text(second.data, tmp_path)


def test_revalidation_gets_304_without_the_pdf(client, announced, renders):
    first = client.get(_url(announced))
    etag = first.headers["ETag"]
    again = client.get(_url(announced), headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    since = client.get(_url(announced), headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert since.status_code == 304
    other = client.get(_url(announced), headers={"If-None-Match": 'W/"0000"'})
    assert other.status_code == 200 and other.data == first.data
    assert len(renders) == 1


def test_restart_moves_the_deadlines_and_the_pdf_follows(client, users, announced, renders, db,
                                                         tmp_path):
    before = client.get(_url(announced))
    old_due = _flat(fmt_due(announced.deposit_deadline_at))
    assert old_due in _text(before.data, tmp_path)
    clock.advance(days=1)
    ssvc.suspend(users["center_reviewer"], announced, ground="authority", basis="临农函〔2026〕101号：权属待核实，中止交易",
                 document=PDF, document_filename="中止通知.pdf")
    db.session.commit()
    clock.advance(days=14)
    ssvc.apply_restart(users["center_reviewer"], announced, reason="权属已核实清楚，申请重启交易")
    ssvc.decide_restart(users["center_reviewer"], announced, approve=True, decision="中止情形已消除，同意重启")
    db.session.commit()
    listing = db.session.get(Listing, announced.id)
    new_due = _flat(fmt_due(listing.deposit_deadline_at))
    assert new_due != old_due

    after = client.get(_url(listing), headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    text = _text(after.data, tmp_path)
    assert new_due in text and old_due not in text
    assert len(renders) == 2
    # the older version is gone from the cache; the new one is served from it
    assert len(list((tmp_path / "pdf-cache" / "announcement").glob(f"{listing.id}-*.pdf"))) == 1
    assert client.get(_url(listing)).data == after.data and len(renders) == 2


def test_a_town_renamed_is_a_new_pdf_though_the_listing_did_not_change(client, users, announced, renders, db,
                                                                       tmp_path):
    announced.location = "新建村三组"  # 坐落 from the village: printed after the town's name (Listing.place)
    db.session.commit()
    before = client.get(_url(announced))
    version = announced.version
    station = announced.station
    update_org(users["admin"], station, area_name="临湘市桃林镇")
    db.session.commit()
    assert db.session.get(Listing, announced.id).version == version  # the listing itself is untouched
    after = client.get(_url(announced))
    assert after.headers["ETag"] != before.headers["ETag"] and len(renders) == 2
    assert "临湘市桃林镇" in _text(after.data, tmp_path)


def test_a_listing_not_public_is_refused_though_its_pdf_is_cached(client, announced, renders, db):
    assert client.get(_url(announced)).status_code == 200
    listing = db.session.get(Listing, announced.id)
    listing.state = "center_review"  # not public (whatever put it there): the cached file must not leak
    db.session.commit()
    assert client.get(_url(listing)).status_code == 404
    assert client.get(_url(listing), headers={"If-None-Match": "*"}).status_code == 404
    assert client.get("/projects/LXNCJY-2026-999999/announcement.pdf").status_code == 404
    assert len(renders) == 1


def test_an_unwritable_cache_still_serves_the_pdf(client, app, announced, monkeypatch, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setitem(app.config, "PDF_CACHE_DIR", str(blocker))
    resp = client.get(_url(announced))
    assert resp.status_code == 200 and resp.data.startswith(b"%PDF")
