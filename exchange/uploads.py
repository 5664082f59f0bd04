"""Accepting uploaded files: the type is sniffed from the content (never the name or the browser's
word), the size is limited, the name is made safe, the SHA-256 recorded, and the bytes stored through
:mod:`exchange.storage`.

Accepted: PDF, JPEG, PNG.  HEIC (iPhone photos) is not accepted: most Android phones take JPEG, and an
iPhone can share a photo as JPEG ("最兼容" format); the refusal message says so.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

from flask import Response, current_app

from exchange.storage import get_storage

ALLOWED = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}
TYPE_NAMES = {"application/pdf": "PDF", "image/jpeg": "JPG", "image/png": "PNG"}


class UploadError(ValueError):
    pass


@dataclass(frozen=True)
class StoredFile:
    key: str
    filename: str
    content_type: str
    size: int
    sha256: str


_DANGEROUS = (b"MZ", b"\x7fELF", b"PK\x03\x04", b"#!")
_TEXTY = (b"<html", b"<!doctype", b"<svg", b"<script", b"<?xml", b"<body", b"<iframe")


def sniff(data: bytes) -> str | None:
    """The content type from magic bytes, or None for anything else (and for disguised content)."""
    head = data[:1024]
    if any(head.startswith(sig) for sig in _DANGEROUS):
        return None
    stripped = head.lstrip().lower()
    if any(stripped.startswith(t) for t in _TEXTY):
        return None
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if b"%PDF-" in head:  # the PDF spec tolerates junk before the header
        return "application/pdf"
    return None


def safe_display_name(name: str | None, content_type: str) -> str:
    name = (name or "").replace("\\", "/").split("/")[-1]
    name = unicodedata.normalize("NFC", name)
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = re.sub(r"[^\w\s\-.()（）]", "", name).strip(" .")
    stem = name.rsplit(".", 1)[0] if "." in name else name
    stem = stem[:90].strip() or "附件"
    return stem + ALLOWED[content_type]


def _read(upload, max_bytes: int) -> tuple[bytes, str | None]:
    if isinstance(upload, (bytes, bytearray)):
        data = bytes(upload)
        if len(data) > max_bytes:
            raise UploadError(_too_big(max_bytes))
        return data, None
    stream = getattr(upload, "stream", upload)
    chunks, total = [], 0
    while True:
        chunk = stream.read(64 * 1024)
        if not chunk:
            break
        total += len(chunk)
        if total > max_bytes:
            raise UploadError(_too_big(max_bytes))
        chunks.append(chunk)
    return b"".join(chunks), getattr(upload, "filename", None)


def _too_big(max_bytes: int) -> str:
    return f"文件超过 {max_bytes // (1024 * 1024)} MB，请压缩或分开上传。"


def accept_upload(upload, filename: str | None = None, *, max_bytes: int | None = None,
                  allowed: set[str] | None = None) -> StoredFile:
    if upload is None:
        raise UploadError("请选择要上传的文件。")
    max_bytes = max_bytes or int(current_app.config.get("MAX_UPLOAD_MB", 20)) * 1024 * 1024
    data, given_name = _read(upload, max_bytes)
    if not data:
        raise UploadError("文件是空的，请重新选择。")
    content_type = sniff(data)
    allowed = allowed or set(ALLOWED)
    if content_type not in allowed:
        names = "、".join(TYPE_NAMES[t] for t in ALLOWED if t in allowed)
        raise UploadError(f"只能上传 {names} 文件。手机照片请选择 JPG 格式（苹果手机可在分享时选“最兼容”）。")
    digest = hashlib.sha256(data).hexdigest()
    key = get_storage().save(data)
    return StoredFile(key=key, filename=safe_display_name(filename or given_name, content_type),
                      content_type=content_type, size=len(data), sha256=digest)


def send_stored(key: str, filename: str, content_type: str, *, inline: bool = False) -> Response:
    """The stored bytes as a download; access control is the caller's job."""
    data = get_storage().open(key)
    resp = Response(data, mimetype=content_type)
    disposition = "inline" if inline else "attachment"
    ascii_name = filename.encode("ascii", "ignore").decode() or "file" + ALLOWED.get(content_type, "")
    resp.headers["Content-Disposition"] = (f'{disposition}; filename="{ascii_name}"; '
                                           f"filename*=UTF-8''{quote(filename)}")
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Cache-Control"] = "private, no-store"
    return resp
