"""Attachment storage and upload checks (DESIGN §5: uploads are type-sniffed, size-limited, stored
outside static/ under random names, served only through a view)."""
from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import struct
import subprocess
import zipfile
import zlib
from pathlib import Path

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import NotFound
from werkzeug.http import parse_options_header

from exchange import storage as storage_mod
from exchange.storage import LocalStorage, Storage, get_storage
from exchange.uploads import (
    ALLOWED,
    StoredFile,
    UploadError,
    accept_upload,
    safe_display_name,
    send_stored,
    sniff,
)

# --- real sample files, built with the standard library only -----------------------------------------

def make_pdf(text: str = "Linxiang rural exchange") -> bytes:
    """A minimal but complete one-page PDF (catalog, pages, page, font, content, xref, trailer)."""
    content = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> "
         b"/Contents 5 0 R >>"),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def make_png(width: int = 3, height: int = 2) -> bytes:
    """An 8-bit RGB PNG: signature, IHDR, one zlib-compressed IDAT, IEND, each chunk with its CRC."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"".join(bytes((x * 80 % 256, y * 120 % 256, 200)) for x in range(width))
                    for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def make_jpeg() -> bytes:
    """A baseline 8×8 grey JPEG: one component, flat quantisation table, one-code Huffman tables
    (DC category 0, AC end-of-block), so the entropy-coded block is the two bits ``00``."""
    def segment(marker: int, payload: bytes) -> bytes:
        return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload
    app0 = segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    dqt = segment(0xDB, b"\x00" + bytes([1] * 64))
    sof0 = segment(0xC0, struct.pack(">BHHB", 8, 8, 8, 1) + b"\x01\x11\x00")
    counts = bytes([1] + [0] * 15)
    dht = segment(0xC4, b"\x00" + counts + b"\x00" + b"\x10" + counts + b"\x00")
    sos = segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    return b"\xff\xd8" + app0 + dqt + sof0 + dht + sos + b"\x3f" + b"\xff\xd9"


PDF, PNG, JPEG = make_pdf(), make_png(), make_jpeg()
SAMPLES = {"application/pdf": PDF, "image/png": PNG, "image/jpeg": JPEG}


def make_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


# --- fixtures ----------------------------------------------------------------------------------------

@pytest.fixture
def root(app, tmp_path, monkeypatch):
    """Uploads go to a fresh folder for this test; the cached storage is dropped before and after."""
    path = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_ROOT", str(path))
    app.extensions.pop("exchange_storage", None)
    yield path
    app.extensions.pop("exchange_storage", None)


@pytest.fixture
def ctx(app, root):
    with app.test_request_context("/"):
        yield app


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def upload(data: bytes, name: str | None, content_type: str = "application/octet-stream") -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=name, content_type=content_type)


# --- the samples are real files ------------------------------------------------------------------------

def test_sample_files_are_real():
    from PIL import Image
    with Image.open(io.BytesIO(PNG)) as im:
        im.load()
        assert (im.format, im.size) == ("PNG", (3, 2))
    with Image.open(io.BytesIO(JPEG)) as im:
        im.load()
        assert (im.format, im.size) == ("JPEG", (8, 8))
    out = subprocess.run(["pdftotext", "-", "-"], input=PDF, capture_output=True, check=True).stdout
    assert b"Linxiang rural exchange" in out


# --- accepting --------------------------------------------------------------------------------------

@pytest.mark.parametrize("content_type", sorted(ALLOWED))
def test_accepts_pdf_jpeg_png_and_stores_them_outside_static(ctx, root, content_type):
    data = SAMPLES[content_type]
    # the browser's word and the name are both wrong on purpose: only the bytes count
    result = accept_upload(upload(data, "村民会议决议.dat", "text/html"))
    assert isinstance(result, StoredFile)
    assert result.content_type == content_type
    assert result.filename == "村民会议决议" + ALLOWED[content_type]
    assert result.size == len(data)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{32}", result.key)

    storage = get_storage()
    assert storage.open(result.key) == data and storage.exists(result.key) and storage.size(result.key) == len(data)
    files = stored_files(root)
    assert len(files) == 1
    path = files[0]
    assert path == root.resolve() / result.key[:2] / result.key[2:4] / result.key
    assert path.read_bytes() == data
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    static = Path(ctx.static_folder).resolve()
    assert static not in path.resolve().parents
    assert not any(p.name == result.key for p in static.rglob("*"))
    assert "村民" not in str(path)  # the user's name never reaches the disk


def test_raw_bytes_with_a_filename(ctx, root):
    result = accept_upload(PDF, "土地承包经营权证.pdf")
    assert (result.filename, result.content_type) == ("土地承包经营权证.pdf", "application/pdf")
    assert get_storage().open(result.key) == PDF


def test_each_upload_gets_its_own_random_key(ctx, root):
    keys = {accept_upload(PNG, "同一张.png").key for _ in range(5)}
    assert len(keys) == 5 and len(stored_files(root)) == 5


def test_an_image_named_pdf_gets_the_extension_of_what_it_is(ctx):
    assert accept_upload(upload(JPEG, "身份证正面.pdf", "application/pdf")).filename == "身份证正面.jpg"
    assert accept_upload(upload(PNG, "photo.heic")).filename == "photo.png"


def test_pdf_header_may_follow_some_junk_within_1024_bytes():
    assert sniff(b"\x00" * 100 + PDF) == "application/pdf"
    assert sniff(b"junk" * 200 + PDF) == "application/pdf"  # header at byte 800
    assert sniff(b"x" * 1020 + PDF) is None  # header not entirely inside the first 1024 bytes
    assert sniff(b"x" * 2000 + PDF) is None


@pytest.mark.parametrize("label,data", [
    ("exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 50 + b"This program cannot be run in DOS mode" + PDF),
    ("elf", b"\x7fELF\x02\x01\x01" + b"\x00" * 60 + PDF),
    ("zip", make_zip()),
    ("zip_with_pdf_inside", b"PK\x03\x04" + b"\x00" * 26 + PDF),
    ("shell", b"#!/bin/sh\nrm -rf /\n" + PDF),
    ("html", b"<html><body><script>alert(1)</script></body></html>"),
    ("html_then_pdf", b"<HTML><script>alert(document.cookie)</script>\n" + PDF),
    ("doctype", b"\n\n  <!DOCTYPE html><title>x</title>" + PDF),
    ("bom_html", b"\xef\xbb\xbf  <html>" + PDF),
    ("svg", b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>"),
    ("script", b"\t<script>alert(1)</script>"),
    ("xml", b"<?xml version='1.0'?><svg/>" + PDF),
    ("junk_then_markup_then_pdf", b"hello\n<script>alert(1)</script>\n" + PDF),
    ("text", "这不是 PDF，只是一段文字。".encode()),
    ("gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"),
])
def test_dangerous_or_unknown_content_is_refused_whatever_its_name(ctx, root, label, data):
    assert sniff(data) is None
    with pytest.raises(UploadError) as exc:
        accept_upload(upload(data, "转出申请书.pdf", "application/pdf"))
    assert str(exc.value) == "只能上传 PDF、JPG 或 PNG 文件；手机照片请选择 JPG 格式。"
    assert stored_files(root) == []


def test_heic_photos_are_refused_with_what_to_do_instead(ctx, root):
    heic = struct.pack(">I", 24) + b"ftypheic" + b"\x00\x00\x00\x00mif1heic" + b"\x00" * 100
    assert sniff(heic) is None
    with pytest.raises(UploadError) as exc:
        accept_upload(upload(heic, "IMG_0001.HEIC", "image/heic"))
    message = str(exc.value)
    assert "HEIC" in message and "JPG" in message and "兼容性最佳" in message
    assert stored_files(root) == []


def test_empty_file_and_no_file(ctx, root):
    with pytest.raises(UploadError, match="文件是空的"):
        accept_upload(upload(b"", "空文件.pdf"))
    with pytest.raises(UploadError, match="文件是空的"):
        accept_upload(b"", "空文件.pdf")
    with pytest.raises(UploadError, match="请选择要上传的文件"):
        accept_upload(upload(b"", ""))  # a form posted with no file chosen
    with pytest.raises(UploadError, match="请选择要上传的文件"):
        accept_upload(None)
    assert stored_files(root) == []


class CountingStream(io.BytesIO):
    def __init__(self, data: bytes):
        super().__init__(data)
        self.consumed = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.consumed += len(chunk)
        return chunk


def test_oversized_file_is_refused_without_reading_it_all(ctx, root, monkeypatch):
    monkeypatch.setitem(ctx.config, "MAX_UPLOAD_MB", 1)
    limit = 1024 * 1024
    stream = CountingStream(PDF + b"0" * (10 * limit))
    with pytest.raises(UploadError) as exc:
        accept_upload(FileStorage(stream=stream, filename="扫描件.pdf"))
    assert str(exc.value) == "文件超过 1 MB，请压缩或分开上传。"
    assert stream.consumed <= limit + 1
    assert stored_files(root) == []

    exact = PDF + b"0" * (limit - len(PDF))
    assert accept_upload(upload(exact, "正好.pdf")).size == limit
    with pytest.raises(UploadError, match="文件超过 1 MB"):
        accept_upload(exact + b"0", "多一个字节.pdf")


def test_default_limit_is_the_configured_number_of_mb(ctx, monkeypatch):
    monkeypatch.setitem(ctx.config, "MAX_UPLOAD_MB", 20)
    big = PDF + b"0" * (20 * 1024 * 1024)
    with pytest.raises(UploadError) as exc:
        accept_upload(upload(big, "大文件.pdf"))
    assert str(exc.value) == "文件超过 20 MB，请压缩或分开上传。"


def test_max_bytes_argument(ctx, root):
    with pytest.raises(UploadError, match="文件超过 1 KB"):
        accept_upload(upload(PDF + b" " * 2048, "a.pdf"), max_bytes=1024)
    with pytest.raises(UploadError, match="文件超过 1.5 MB"):
        accept_upload(PDF + b" " * (2 * 1024 * 1024), "a.pdf", max_bytes=3 * 512 * 1024)
    assert accept_upload(PDF, "a.pdf", max_bytes=len(PDF)).size == len(PDF)
    with pytest.raises(ValueError):
        accept_upload(PDF, "a.pdf", max_bytes=0)


def test_allowed_narrows_the_types(ctx, root):
    with pytest.raises(UploadError) as exc:
        accept_upload(PDF, "照片.pdf", allowed={"image/jpeg", "image/png"})
    assert str(exc.value) == "只能上传 JPG 或 PNG 文件；手机照片请选择 JPG 格式。"
    with pytest.raises(UploadError) as exc:
        accept_upload(JPEG, "合同.jpg", allowed={"application/pdf"})
    assert str(exc.value) == "只能上传 PDF 文件。"
    assert accept_upload(JPEG, "现场.jpg", allowed={"image/jpeg"}).content_type == "image/jpeg"
    with pytest.raises(ValueError):
        accept_upload(PDF, "a.pdf", allowed={"text/html"})
    assert len(stored_files(root)) == 1


# --- names -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,content_type,expected", [
    ("../../a.pdf", "application/pdf", "a.pdf"),
    ("C:\\x\\y.pdf", "application/pdf", "y.pdf"),
    ("..\\..\\windows\\system32\\合同.pdf", "application/pdf", "合同.pdf"),
    ("/etc/passwd", "application/pdf", "passwd.pdf"),
    ("土地承包经营权出租合同（2024年）.pdf", "application/pdf", "土地承包经营权出租合同（2024年）.pdf"),
    ("团湖村 三组_决议-v2 (盖章).PDF", "application/pdf", "团湖村 三组_决议-v2 (盖章).pdf"),
    ("身份证.pdf", "image/jpeg", "身份证.jpg"),
    ("IMG_2024.JPEG", "image/jpeg", "IMG_2024.jpg"),
    ("scan.png", "application/pdf", "scan.pdf"),
    ("第1.2版", "application/pdf", "第1.2版.pdf"),
    ("a\x00b\x07c\r\nd.pdf", "application/pdf", "abc d.pdf"),
    ("\u202egpj.exe", "image/jpeg", "gpj.jpg"),  # right-to-left override dropped
    ("<script>alert(1)</script>.pdf", "application/pdf", "script.pdf"),
    ('a"b;c\'d<e>f|g*h?i:j.pdf', "application/pdf", "abcdefghij.pdf"),
    ("...", "application/pdf", "附件.pdf"),
    ("<>:*?.pdf", "application/pdf", "附件.pdf"),
    ("\u3000合同\u00a0副本.pdf", "application/pdf", "合同 副本.pdf"),
    ("../", "image/png", "附件.png"),
    ("", "application/pdf", "附件.pdf"),
    (None, "image/jpeg", "附件.jpg"),
    (".pdf", "application/pdf", "附件.pdf"),
    ("  报告  .pdf  ", "application/pdf", "报告.pdf"),
])
def test_safe_display_name(name, content_type, expected):
    assert safe_display_name(name, content_type) == expected


def test_safe_display_name_is_at_most_100_characters():
    name = safe_display_name("农" * 300 + ".pdf", "application/pdf")
    assert len(name) == 100 and name.endswith(".pdf") and name.startswith("农")


def test_uploaded_names_are_sanitised(ctx):
    assert accept_upload(upload(PDF, "../../a.pdf")).filename == "a.pdf"
    assert accept_upload(upload(PDF, "C:\\x\\y.pdf")).filename == "y.pdf"
    assert accept_upload(PDF, "临湘市/长安街道/授权委托书.pdf").filename == "授权委托书.pdf"
    # the explicit name wins over the FileStorage's
    assert accept_upload(upload(PNG, "IMG_1.png"), "宗地图.png").filename == "宗地图.png"


# --- storage -----------------------------------------------------------------------------------------

BAD_KEYS = ["../../etc/passwd", "..", "", "ab/cd/" + "a" * 32, "A" * 32, "a" * 31, "a" * 33, "g" * 32,
            "a" * 32 + "\n", "/" + "a" * 31, "a" * 30 + "/.", None, 123, b"a" * 32]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_keys_cannot_traverse(ctx, key):
    storage = get_storage()
    for call in (storage.open, storage.exists, storage.delete, storage.size):
        with pytest.raises(ValueError):
            call(key)
    with pytest.raises(ValueError):
        send_stored(key, "a.pdf", "application/pdf")


def test_local_storage_round_trip(tmp_path):
    storage = LocalStorage(tmp_path / "store")
    assert isinstance(storage, Storage)
    key = storage.save(b"hello")
    assert storage.exists(key) and storage.open(key) == b"hello" and storage.size(key) == 5
    assert storage.path(key).relative_to(storage.root).parts == (key[:2], key[2:4], key)
    storage.delete(key)
    assert not storage.exists(key)
    storage.delete(key)  # deleting twice is fine
    with pytest.raises(FileNotFoundError):
        storage.open(key)
    with pytest.raises(FileNotFoundError):
        storage.size(key)
    assert [p for p in storage.root.rglob("*") if p.is_file()] == []


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path, monkeypatch):
    storage = LocalStorage(tmp_path / "store")
    storage.save(b"first")

    def broken_replace(src, dst):
        raise OSError("disk full")
    monkeypatch.setattr(storage_mod.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        storage.save(b"second")
    names = [p.name for p in storage.root.rglob("*") if p.is_file()]
    assert len(names) == 1 and not any(n.startswith(".up-") for n in names)


def test_get_storage_is_cached_and_follows_the_config(app, root, tmp_path, monkeypatch):
    with app.app_context():
        first = get_storage()
        assert isinstance(first, LocalStorage) and isinstance(first, Storage)
        assert first is get_storage() is app.extensions["exchange_storage"]
        assert first.root == root.resolve()

        monkeypatch.setitem(app.config, "UPLOAD_ROOT", None)
        monkeypatch.setitem(app.config, "INSTANCE_DIR", str(tmp_path / "instance"))
        default = get_storage()
        assert default.root == (tmp_path / "instance" / "uploads").resolve()

        monkeypatch.setitem(app.config, "UPLOAD_ROOT", os.path.join(app.static_folder, "uploads"))
        app.extensions.pop("exchange_storage", None)
        with pytest.raises(RuntimeError, match="static"):
            get_storage()
    assert not os.path.exists(os.path.join(app.static_folder, "uploads"))


def test_default_upload_root_is_outside_static(app):
    instance = Path(app.config["INSTANCE_DIR"]).resolve() / "uploads"
    static = Path(app.static_folder).resolve()
    assert static not in instance.parents and instance != static


# --- serving -----------------------------------------------------------------------------------------

def test_send_stored_headers_and_chinese_filename(ctx):
    stored = accept_upload(PDF, "临湘市团湖村土地流转合同（盖章）.pdf")
    resp = send_stored(stored.key, stored.filename, stored.content_type)
    assert resp.status_code == 200
    assert resp.get_data() == PDF
    assert resp.mimetype == "application/pdf"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Cache-Control"] == "private, no-store"
    assert resp.headers["Content-Length"] == str(len(PDF))
    disposition = resp.headers["Content-Disposition"]
    disposition.encode("latin-1")  # a header value must be plain bytes
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''" in disposition
    assert "%E4%B8%B4%E6%B9%98" in disposition  # 临湘, percent-encoded UTF-8
    assert 'filename="file.pdf"' in disposition  # ASCII fallback for very old clients
    kind, params = parse_options_header(disposition)
    assert kind == "attachment" and params["filename"] == "临湘市团湖村土地流转合同（盖章）.pdf"


def test_send_stored_inline_for_images_and_pdf(ctx):
    for data, name in ((JPEG, "现场照片.jpg"), (PNG, "宗地图.png"), (PDF, "公告.pdf")):
        stored = accept_upload(data, name)
        resp = send_stored(stored.key, stored.filename, stored.content_type, inline=True)
        kind, params = parse_options_header(resp.headers["Content-Disposition"])
        assert kind == "inline" and params["filename"] == name
        assert resp.mimetype == stored.content_type
        assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_send_stored_ascii_name_and_hostile_names(ctx):
    stored = accept_upload(PNG, "map.png")
    resp = send_stored(stored.key, "site map (v2).png", "image/png")
    assert 'filename="site map (v2).png"' in resp.headers["Content-Disposition"]
    # a name that did not come through safe_display_name still cannot break the header
    resp = send_stored(stored.key, 'evil"\r\nSet-Cookie: x=1\\..\\a.png', "image/png")
    value = resp.headers["Content-Disposition"]
    assert "\r" not in value and "\n" not in value and '"evil' not in value
    assert parse_options_header(value)[1]["filename"].endswith(".png")


def test_send_stored_never_trusts_a_wrong_content_type(ctx):
    stored = accept_upload(PNG, "图.png")
    resp = send_stored(stored.key, "图.html", "text/html", inline=True)
    assert resp.mimetype == "application/octet-stream"
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    resp = send_stored(stored.key, "图.pdf", "application/pdf", inline=True)  # the bytes are a PNG
    assert resp.mimetype == "application/octet-stream"
    assert resp.headers["Content-Disposition"].startswith("attachment;")


def test_send_stored_missing_file_is_404(ctx):
    with pytest.raises(NotFound):
        send_stored("0" * 32, "a.pdf", "application/pdf")
