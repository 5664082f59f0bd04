"""Attachment storage behind one small interface.

``LocalStorage`` keeps files under ``<instance>/uploads`` (``UPLOAD_ROOT``), outside ``static/``, under
random keys sharded into folders; nothing is served from there except through a view that checks
access.  An S3-compatible backend is another class with the same five methods.
"""
from __future__ import annotations

import os
import re
import secrets
import tempfile
from pathlib import Path
from typing import Protocol

from flask import current_app

KEY_RE = re.compile(r"^[0-9a-f]{32}$")


class Storage(Protocol):
    def save(self, data: bytes) -> str: ...
    def open(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...
    def size(self, key: str) -> int: ...


class LocalStorage:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        if not isinstance(key, str) or not KEY_RE.match(key):
            raise ValueError("invalid storage key")
        return self.root / key[:2] / key[2:4] / key

    def save(self, data: bytes) -> str:
        key = secrets.token_hex(16)
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".up-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o640)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return key

    def open(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def size(self, key: str) -> int:
        return self._path(key).stat().st_size


def get_storage() -> Storage:
    storage = current_app.extensions.get("exchange_storage")
    if storage is None:
        root = current_app.config.get("UPLOAD_ROOT") or os.path.join(current_app.config["INSTANCE_DIR"], "uploads")
        storage = LocalStorage(root)
        current_app.extensions["exchange_storage"] = storage
    return storage
