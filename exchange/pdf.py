"""PDF rendering with WeasyPrint and a Song-style CJK font (AR PL UMing, Debian's fonts-arphic-uming).

DESIGN §4.8: UMing keeps a one-page document near half a second on these machines; Noto CJK takes
several seconds because subsetting its huge CFF font dominates.  Templates use the ``cjk`` family.

Public documents fetched again and again (the announcement of a published listing) go through
:func:`pdf_response`: the PDF is cached on disk under ``PDF_CACHE_DIR`` (default
``<INSTANCE_DIR>/cache/pdf``; every process of the machine shares it, several machines may share a mount),
keyed by the SHA-256 of the HTML WeasyPrint would render (plus the stylesheet and WeasyPrint's version).
So the cache is exactly right whatever changes what the document prints — the listing, its town's or
category's name, a deadline recounted, the provisional-calendar mark — at the cost of rendering the
template (milliseconds) instead of the PDF (a tenth of a second to half a second, all of it CPU).  The
digest is also the ETag: a client or nginx revalidating gets a 304 without the PDF being read.  Callers
authorise before calling it: the cache never decides who may see a document.
"""
from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import tempfile
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from flask import Response, current_app, render_template, request

log = logging.getLogger(__name__)

FONT_CSS = """
@page { size: A4; margin: 22mm 20mm 20mm 20mm; }
html { font-family: "AR PL UMing CN", "AR PL UMing TW", "AR PL UMing", serif; font-size: 11pt; line-height: 1.6; }
"""


def render_pdf(template: str, **context) -> bytes:
    return html_to_pdf(render_template(template, **context))


def qr_data_uri(url: str) -> str:
    """A QR code of ``url`` as an SVG data URI, for a document to print (the 鉴证书's verification, the 受理回执's
    progress page)."""
    import segno
    return segno.make(url, error="m", micro=False).svg_data_uri(scale=4, border=1, dark="#000")


def html_to_pdf(html: str) -> bytes:
    from weasyprint import CSS, HTML
    return HTML(string=html).write_pdf(stylesheets=[CSS(string=FONT_CSS)])


# --- cached public documents ------------------------------------------------------------------------

def cache_dir() -> Path:
    cfg = current_app.config
    return Path(cfg.get("PDF_CACHE_DIR") or os.path.join(cfg["INSTANCE_DIR"], "cache", "pdf"))


def _digest(html: str) -> str:
    import weasyprint
    h = hashlib.sha256()
    for part in (f"weasyprint {weasyprint.__version__}", FONT_CSS, html):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


@contextmanager
def _locked(path: Path):
    """An exclusive lock on ``path`` (a lock file) across threads and processes: one renders, the others
    wait and read what it stored."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _read(path: Path) -> tuple[bytes, datetime] | None:
    try:
        with open(path, "rb") as fh:
            mtime = os.fstat(fh.fileno()).st_mtime
            return fh.read(), datetime.fromtimestamp(int(mtime), timezone.utc)
    except OSError:  # not there (or the cache is unusable: writing it will say so in the log)
        return None


def _store(folder: Path, name: str, prefix: str, data: bytes) -> None:
    """Write atomically (a reader sees the whole file or none), then drop the subject's older versions."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".pdf")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o640)
        os.replace(tmp, folder / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    for old in folder.glob(f"{prefix}*.pdf"):
        if old.name != name:
            old.unlink(missing_ok=True)


def cached_pdf(kind: str, subject_id: int, html: str, digest: str | None = None) -> tuple[bytes, datetime]:
    """(PDF bytes, when this version was first rendered) of ``html``, rendered once per version.

    ``kind`` names the document (a folder), ``subject_id`` what it is about: a new version replaces the
    subject's older ones.  If the cache cannot be written (disk full, read-only) the PDF is still served."""
    digest = digest or _digest(html)
    folder = cache_dir() / kind
    prefix = f"{int(subject_id)}-"
    name = f"{prefix}{digest}.pdf"
    hit = _read(folder / name)
    if hit is not None:
        return hit
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with _locked(folder / f"{prefix}lock"):
            hit = _read(folder / name)  # another thread or process rendered it while we waited
            if hit is not None:
                return hit
            data = html_to_pdf(html)
            _store(folder, name, prefix, data)
    except OSError:
        log.warning("PDF cache %s not usable; serving %s %s uncached", folder, kind, subject_id, exc_info=True)
        data = html_to_pdf(html)
    return data, datetime.now(timezone.utc).replace(microsecond=0)


def pdf_response(kind: str, subject_id: int, template: str, filename: str, **context) -> Response:
    """A public, cacheable PDF of ``template``: rendered once per version (:func:`cached_pdf`), with a weak
    ETag (the digest: two machines' renderings of the same HTML may differ in bytes), Last-Modified, and
    ``Cache-Control: public, no-cache`` (clients and proxies may keep it but ask each time — a 304 when it
    is unchanged, so a corrected announcement is never served stale); 304 on If-None-Match /
    If-Modified-Since.  Authorise before calling."""
    html = render_template(template, **context)
    digest = _digest(html)
    if request.if_none_match.contains_weak(digest):  # the client has this version: the PDF is not even read
        resp = Response(status=304)
    else:
        data, modified = cached_pdf(kind, subject_id, html, digest)
        resp = Response(data, mimetype="application/pdf")
        resp.last_modified = modified
        resp.headers["Content-Disposition"] = f"inline; filename*=UTF-8''{filename}"
    resp.set_etag(digest, weak=True)
    resp.cache_control.public = True
    resp.cache_control.no_cache = True
    return resp.make_conditional(request) if resp.status_code == 200 else resp
