"""Accepting and serving uploaded files (listings' materials, buyers' papers, contracts, receipts).

:func:`accept_upload` reads the upload in chunks (never more than the limit + 1 byte), refuses empty
and oversized files, decides the type from the content's magic bytes — never from the file name or
the browser's Content-Type — computes the SHA-256, stores the bytes through
:func:`exchange.storage.get_storage` under a random key, and returns a :class:`StoredFile` the caller
keeps in its own table.  :func:`send_stored` serves the bytes back; **access control is the caller's
job** (check who may see the file before calling it).

Accepted: PDF, JPEG, PNG.  HEIC/HEIF is not accepted, because staff PCs on the government intranet
cannot open it: phone photos must be JPEG or PNG.  Most Android phones already take JPEG; an iPhone
can take JPEG (设置 → 相机 → 格式 → 兼容性最佳) or share a photo as JPEG.  The refusal message tells
the user exactly that.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

from flask import Response, abort, current_app

from exchange.storage import get_storage

ALLOWED = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}
TYPE_NAMES = {"application/pdf": "PDF", "image/jpeg": "JPG", "image/png": "PNG"}
INLINE_TYPES = frozenset(ALLOWED)
CHUNK = 64 * 1024
MAX_NAME = 100
DEFAULT_STEM = "附件"

PDF_MAGIC = b"%PDF-"
JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SNIFF_WINDOW = 1024  # the PDF spec's implementations accept the header anywhere in the first 1024 bytes

# Executables and archives (a renamed .exe, an ELF binary, a ZIP or an Office document, a script).
_BINARY_DANGER = (b"MZ", b"\x7fELF", b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08", b"#!",
                  b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"Rar!", b"7z\xbc\xaf")
# Markup a browser would render (HTML, SVG, XML, scripts), looked for after whitespace and a BOM.
_MARKUP_DANGER = (b"<html", b"<!doctype", b"<head", b"<body", b"<svg", b"<script", b"<?xml", b"<?",
                  b"<!--", b"<iframe", b"<object", b"<embed", b"<meta", b"<a ", b"<img", b"<div", b"<style")
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1",
                b"avif", b"avis"}


class UploadError(ValueError):
    """An upload refused; ``str(exc)`` is a Chinese message for the person uploading."""

    @property
    def message(self) -> str:
        return str(self)


@dataclass(frozen=True)
class StoredFile:
    key: str            # the storage key (opaque, random)
    filename: str       # a safe display name whose extension matches content_type
    content_type: str   # one of ALLOWED, sniffed from the content
    size: int           # bytes
    sha256: str         # lowercase hex digest of the stored bytes


# --- type sniffing ------------------------------------------------------------------------------

def _strip_text_start(head: bytes) -> bytes:
    for bom in _BOMS:
        if head.startswith(bom):
            head = head[len(bom):]
            break
    return head.lstrip(b" \t\r\n\f\v\x00").lower()


def _looks_dangerous(head: bytes) -> bool:
    if head.startswith(_BINARY_DANGER):
        return True
    return _strip_text_start(head).startswith(_MARKUP_DANGER)


def is_heif(data: bytes) -> bool:
    """An HEIC/HEIF/AVIF photo (an ISO-BMFF ``ftyp`` box with an image brand)."""
    return len(data) >= 12 and data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS


def sniff(data: bytes) -> str | None:
    """The content type decided from the bytes alone: ``application/pdf``, ``image/jpeg``,
    ``image/png``, or None for anything else — including executables, archives and HTML/SVG/XML/script
    text disguised as one of those (whatever the file is called)."""
    head = bytes(data[:SNIFF_WINDOW])
    if not head or _looks_dangerous(head):
        return None
    if head.startswith(JPEG_MAGIC):
        return "image/jpeg"
    if head.startswith(PNG_MAGIC):
        return "image/png"
    at = head.find(PDF_MAGIC)
    if at == 0:
        return "application/pdf"
    if at > 0:
        # junk before the header is tolerated, but not markup that a browser could render
        prefix = head[:at].lower()
        if any(marker in prefix for marker in _MARKUP_DANGER if len(marker) >= 4):
            return None
        return "application/pdf"
    return None


# --- names --------------------------------------------------------------------------------------

_DROP = re.compile(r"[^\w \-.()（）]")
_OLD_EXT = re.compile(r"[A-Za-z0-9]{1,5}")


def safe_display_name(name: str | None, content_type: str) -> str:
    """A name safe to show and to put in a download header.

    Keeps Chinese characters, letters, digits, spaces and ``-_.()（）``; drops any path (``/`` and
    ``\\``), control and formatting characters (e.g. right-to-left overrides); at most 100 characters;
    the extension always matches the sniffed type (``照片.pdf`` that is really a JPEG → ``照片.jpg``).
    Nothing left → ``附件.pdf`` (or ``.jpg``/``.png``).
    """
    if content_type not in ALLOWED:
        raise ValueError(f"not an accepted content type: {content_type!r}")
    ext = ALLOWED[content_type]
    text = unicodedata.normalize("NFC", str(name or ""))
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(" " if ch.isspace() else ch for ch in text
                   if ch.isspace() or unicodedata.category(ch)[0] != "C")
    text = _DROP.sub("", text)
    text = re.sub(r" {2,}", " ", text).strip()
    stem, dot, old = text.rpartition(".")
    if dot and _OLD_EXT.fullmatch(old):  # the name's own extension gives way to the sniffed one
        text = stem
    text = text.strip(" .")[:MAX_NAME - len(ext)].rstrip(" .")
    return (text or DEFAULT_STEM) + ext


# --- accepting ----------------------------------------------------------------------------------

def format_limit(max_bytes: int) -> str:
    """``20 MB``, ``1.5 MB`` or ``500 KB`` for messages."""
    mib = 1024 * 1024
    if max_bytes >= mib:
        value = max_bytes / mib
        return f"{value:g} MB" if value == int(value) else f"{value:.1f} MB"
    return f"{max(1, max_bytes // 1024)} KB"


def _too_big(max_bytes: int) -> UploadError:
    return UploadError(f"文件超过 {format_limit(max_bytes)}，请压缩或分开上传。")


def _type_message(allowed: set[str]) -> str:
    names = [TYPE_NAMES[t] for t in ALLOWED if t in allowed]
    listed = names[0] if len(names) == 1 else "、".join(names[:-1]) + " 或 " + names[-1]
    tail = "；手机照片请选择 JPG 格式" if allowed & {"image/jpeg", "image/png"} else ""
    return f"只能上传 {listed} 文件{tail}。"


HEIF_MESSAGE = ("这是苹果手机的 HEIC 格式照片，电脑上打不开，不能上传。请在手机“设置 → 相机 → 格式”中选择"
                "“兼容性最佳”后重新拍照，或把照片存为 JPG 格式后再上传。")


def _read(upload, max_bytes: int) -> tuple[bytes, str | None]:
    """The upload's bytes (reading at most ``max_bytes + 1``) and the name it came with."""
    if isinstance(upload, (bytes, bytearray, memoryview)):
        data = bytes(upload)
        if len(data) > max_bytes:
            raise _too_big(max_bytes)
        return data, None
    stream = getattr(upload, "stream", upload)
    if not hasattr(stream, "read"):
        raise TypeError("accept_upload needs a FileStorage, a binary stream or bytes")
    chunks: list[bytes] = []
    total = 0
    while total <= max_bytes:
        chunk = stream.read(min(CHUNK, max_bytes + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    if total > max_bytes:
        raise _too_big(max_bytes)
    return b"".join(chunks), getattr(upload, "filename", None)


@dataclass(frozen=True)
class CheckedFile:
    """An upload checked but not stored (a sealed bid's document is sealed before anything is written)."""
    data: bytes
    filename: str
    content_type: str
    sha256: str


def check_upload(upload, filename: str | None = None, *, max_bytes: int | None = None,
                 allowed: set[str] | None = None) -> CheckedFile:
    """The checks of :func:`accept_upload` (size, type from the content, the name), nothing stored."""
    if max_bytes is None:
        max_bytes = int(current_app.config.get("MAX_UPLOAD_MB", 20)) * 1024 * 1024
    if max_bytes <= 0:
        raise ValueError("max_bytes must be positive")
    allowed = set(ALLOWED) if allowed is None else set(allowed)
    if not allowed or not allowed <= set(ALLOWED):
        raise ValueError(f"allowed must be a non-empty subset of {sorted(ALLOWED)}")
    if upload is None:
        raise UploadError("请选择要上传的文件。")
    data, given_name = _read(upload, max_bytes)
    name = filename if filename is not None else given_name
    if not data:
        if not name and not isinstance(upload, (bytes, bytearray, memoryview)):
            raise UploadError("请选择要上传的文件。")  # a form posted with no file chosen
        raise UploadError("文件是空的，请重新选择。")
    content_type = sniff(data)
    if content_type is None and is_heif(data):
        raise UploadError(HEIF_MESSAGE)
    if content_type not in allowed:
        raise UploadError(_type_message(allowed))
    return CheckedFile(data=data, filename=safe_display_name(name, content_type), content_type=content_type,
                       sha256=hashlib.sha256(data).hexdigest())


def accept_upload(upload, filename: str | None = None, *, max_bytes: int | None = None,
                  allowed: set[str] | None = None) -> StoredFile:
    """Check and store one uploaded file; :class:`UploadError` (Chinese message) if refused.

    ``upload`` is a Werkzeug ``FileStorage`` (its ``filename`` is used unless ``filename`` is given),
    a binary stream, or raw ``bytes`` with ``filename``.  ``max_bytes`` defaults to
    ``MAX_UPLOAD_MB`` MB; ``allowed`` (a subset of :data:`ALLOWED`) to all three types.  Nothing is
    stored when the file is refused.
    """
    checked = check_upload(upload, filename, max_bytes=max_bytes, allowed=allowed)
    key = get_storage().save(checked.data)
    return StoredFile(key=key, filename=checked.filename, content_type=checked.content_type,
                      size=len(checked.data), sha256=checked.sha256)


# --- serving ------------------------------------------------------------------------------------

def content_disposition(filename: str, *, inline: bool = False, content_type: str | None = None) -> str:
    """``attachment``/``inline`` with an ASCII ``filename`` fallback and the RFC 5987/6266 UTF-8
    ``filename*`` (so Chinese names survive in every current browser)."""
    name = "".join(ch for ch in unicodedata.normalize("NFC", filename or "")
                   if unicodedata.category(ch)[0] != "C")
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip() or DEFAULT_STEM + ALLOWED.get(content_type or "", "")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    ascii_stem = re.sub(r"[^A-Za-z0-9 ._()\-]", "", stem).strip(" .") or "file"
    ascii_ext = re.sub(r"[^A-Za-z0-9]", "", ext)
    fallback = ascii_stem + ("." + ascii_ext if ascii_ext else "")
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def send_stored(stored_key: str, filename: str, content_type: str, *, inline: bool = False) -> Response:
    """A response carrying the stored file.

    **Access control is the caller's job**: call this only after deciding the current user may see
    the file.  The Content-Type is the stored (sniffed) one; if the bytes no longer sniff as that type
    they are sent as ``application/octet-stream``.  ``inline=True`` (show in the browser) is honoured
    for PDF and images only; otherwise the file is a download.  Headers: ``Content-Disposition`` with
    a UTF-8 name, ``X-Content-Type-Options: nosniff``, ``Cache-Control: private, no-store``.  A key with
    nothing stored is a 404; a malformed key raises ``ValueError``.
    """
    try:
        data = get_storage().open(stored_key)
    except FileNotFoundError:
        abort(404)
    if content_type not in ALLOWED or sniff(data) != content_type:
        content_type, inline = "application/octet-stream", False
    resp = Response(data, mimetype=content_type)
    resp.headers["Content-Disposition"] = content_disposition(
        filename, inline=inline and content_type in INLINE_TYPES, content_type=content_type)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Cache-Control"] = "private, no-store"
    if not inline:  # a download is never rendered here; if a browser tried, it would get nothing to run
        resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return resp
