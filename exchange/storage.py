"""Attachment storage behind one small interface.

Listings' materials, buyers' qualification papers, contracts and receipts are all kept here as
opaque blobs; the callers keep the metadata (display name, type, size, SHA-256, key) in their own
tables.  Nothing in this module knows about users or access: the bytes are served only through a
view that checks access first (:func:`exchange.uploads.send_stored`).

:class:`LocalStorage` keeps files under ``UPLOAD_ROOT`` (default ``<INSTANCE_DIR>/uploads``), which
is outside ``static/`` so the web server never serves them directly.  Keys are random
(``secrets.token_hex(16)``: 32 lowercase hex digits) and sharded into folders (``ab/cd/abcd…``) so no
folder grows huge; writes are atomic (temporary file in the same folder, then ``os.replace``); every
call validates the key, so a key such as ``../../etc/passwd`` raises :class:`ValueError` and can never
reach outside the root.

When one machine is not enough (DESIGN §4.6), attachments move to S3-compatible storage: that is a
new class with the same five methods (``save`` puts an object under a random key, ``open`` gets it,
…), returned by :func:`get_storage`; callers do not change.
"""
from __future__ import annotations

import os
import re
import secrets
import tempfile
from pathlib import Path
from typing import Protocol, runtime_checkable

from flask import current_app

KEY_RE = re.compile(r"[0-9a-f]{32}")
FILE_MODE = 0o640
DIR_MODE = 0o750
EXTENSION_KEY = "exchange_storage"


@runtime_checkable
class Storage(Protocol):
    """Where attachments' bytes live.  Keys are opaque strings chosen by the storage."""

    def save(self, data: bytes) -> str:
        """Store ``data`` under a new random key and return the key."""
        ...

    def open(self, key: str) -> bytes:
        """The stored bytes; ``FileNotFoundError`` when nothing is stored under ``key``."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove the blob; deleting a missing key is not an error."""
        ...

    def size(self, key: str) -> int: ...


def validate_key(key: object) -> str:
    """The key itself if it is one this storage could have made, else ``ValueError``."""
    if not isinstance(key, str) or not KEY_RE.fullmatch(key):
        raise ValueError(f"invalid storage key: {key!r:.80}")
    return key


class LocalStorage:
    """Files on the local disk (or a shared mount) under ``root``."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).resolve()
        self.root.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    def path(self, key: str) -> Path:
        """The file for ``key`` (validated; always inside the root)."""
        validate_key(key)
        return self.root / key[:2] / key[2:4] / key

    def save(self, data: bytes) -> str:
        data = bytes(data)
        while True:  # a collision of 128 random bits will not happen, but never overwrite
            key = secrets.token_hex(16)
            path = self.path(key)
            if not path.exists():
                break
        path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".up-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, FILE_MODE)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        _fsync_dir(path.parent)
        return key

    def open(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def size(self, key: str) -> int:
        return self.path(key).stat().st_size


def _fsync_dir(path: Path) -> None:
    """Make the rename durable (a crash right after ``save`` returns must not lose the file)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def upload_root() -> Path:
    """The configured root: ``UPLOAD_ROOT``, else ``<INSTANCE_DIR>/uploads``."""
    cfg = current_app.config
    root = cfg.get("UPLOAD_ROOT") or os.path.join(cfg["INSTANCE_DIR"], "uploads")
    root = Path(root).resolve()
    static = current_app.static_folder
    if static:
        static = Path(static).resolve()
        if root == static or static in root.parents:
            raise RuntimeError(f"UPLOAD_ROOT must not be inside the static folder ({static}): "
                               "uploads would be served without access checks")
    return root


def get_storage() -> Storage:
    """The application's attachment storage, built once from the config and cached in
    ``current_app.extensions['exchange_storage']``.

    Today this is a :class:`LocalStorage`.  An S3-compatible backend is a new class implementing
    :class:`Storage` (same five methods), chosen here from the config; a test or a deployment may
    also put any :class:`Storage` into ``app.extensions['exchange_storage']`` directly.
    """
    storage = current_app.extensions.get(EXTENSION_KEY)
    if storage is not None and not isinstance(storage, LocalStorage):
        return storage
    root = upload_root()
    if storage is None or storage.root != root:  # rebuilt if UPLOAD_ROOT changed
        storage = LocalStorage(root)
        current_app.extensions[EXTENSION_KEY] = storage
    return storage
