"""The sealed-bid vault (issue 18 item 3; DESIGN §3.12): nobody reads a bid before the 开标 time.

How a bid is kept secret and how a supplier checks it afterwards:

* **A key per project.**  When a procurement project is published it gets its own X25519 key pair
  (:func:`new_project_key`).  The public key is stored with the project; the private key is stored only *wrapped*
  (AES-256-GCM) under the platform's vault key, a file outside the database (``<INSTANCE_DIR>/procurement/vault.key``
  or ``BID_VAULT_KEY_PATH``; :func:`vault_key`).  The wrap is bound to the project and its opening time, so a wrapped
  key copied to another project, or a project whose 开标 time was moved in the database, does not unwrap.
* **A bid is sealed to the project's public key** (:func:`seal`: an ephemeral X25519 key, HKDF-SHA256, AES-256-GCM —
  an ECIES "sealed box"), bound to the project and the supplier.  The database holds only the sealed bytes: no price,
  no document name, nothing a reader (or a backup, or a replica) can learn from.  Submitting needs only the public key,
  so the platform never has the private key in hand until the opening.
* **The receipt.**  What is sealed is a canonical document (:func:`bid_document`: project, supplier, price, the
  SHA-256 of each attached document, the time, and 16 random bytes of salt); its SHA-256 (:func:`receipt`) is given to
  the supplier at submission.  The salt makes the hash useless for guessing the price (prices are few; without salt
  anyone could hash every candidate price and compare).
* **The opening** (:func:`unwrap_private_key`, refused before the 开标 time): the private key is unwrapped and
  *published* with the project, every bid is unsealed and its document published beside the hash; anyone can then
  recompute each receipt and each supplier compare it with the one it holds.

The vault key is what stands between a database reader and the bids before the opening: keep it out of database
backups, readable only by the platform's processes, the same file on every machine that serves the site.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from exchange.errors import ServiceError

VERSION = b"LXBID1"              # the format of a sealed bid and of a wrapped key
KEY_BYTES = 32                   # X25519 keys, AES-256 keys, the vault key
NONCE_BYTES = 12                 # AES-GCM
SALT_BYTES = 16                  # of a bid document


class VaultError(ServiceError):
    """A bid or a key that cannot be opened: tampered with, of another project, or asked for before the opening."""


# --- the vault key (outside the database) ------------------------------------------------------------------------

def vault_key_path(config) -> Path:
    return Path(config.get("BID_VAULT_KEY_PATH") or Path(config["INSTANCE_DIR"]) / "procurement" / "vault.key")


def vault_key(config, *, create: bool = True) -> bytes:
    """The platform's vault key (32 bytes, hex in a file of mode 0600), created on first use — by one process only
    when several start at once (O_EXCL); every process and machine then reads the same file."""
    path = vault_key_path(config)
    if not path.exists():
        if not create:
            raise VaultError(f"未找到投标保密密钥文件（{path}）。")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(KEY_BYTES))
    try:
        key = bytes.fromhex(path.read_text().strip())
    except ValueError:
        raise VaultError(f"投标保密密钥文件（{path}）内容无效。") from None
    if len(key) != KEY_BYTES:
        raise VaultError(f"投标保密密钥文件（{path}）内容无效。")
    return key


# --- a project's key pair ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ProjectKey:
    public: bytes          # 32 bytes, stored with the project from publication
    wrapped_private: bytes  # the private key under the vault key, bound to the project and its opening time


def _binding(project_no: str, opens_at: datetime) -> bytes:
    return b"|".join([VERSION, project_no.encode("utf-8"), _utc_text(opens_at).encode("ascii")])


def _utc_text(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("the opening time must be timezone-aware")
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_project_key(vault: bytes, project_no: str, opens_at: datetime) -> ProjectKey:
    private = X25519PrivateKey.generate()
    raw = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
    nonce = secrets.token_bytes(NONCE_BYTES)
    wrapped = VERSION + nonce + AESGCM(vault).encrypt(nonce, raw, _binding(project_no, opens_at))
    return ProjectKey(public=private.public_key().public_bytes(serialization.Encoding.Raw,
                                                               serialization.PublicFormat.Raw),
                      wrapped_private=wrapped)


def unwrap_private_key(vault: bytes, wrapped: bytes, project_no: str, opens_at: datetime, now: datetime) -> bytes:
    """The project's private key, from the 开标 time on only: before it the vault refuses, whoever asks."""
    if now < opens_at:
        raise VaultError("未到开标时间，任何人都不能打开投标文件。")
    if not wrapped.startswith(VERSION) or len(wrapped) < len(VERSION) + NONCE_BYTES + KEY_BYTES + 16:
        raise VaultError("项目的开标密钥格式不正确。")
    nonce = wrapped[len(VERSION):len(VERSION) + NONCE_BYTES]
    try:
        return AESGCM(vault).decrypt(nonce, wrapped[len(VERSION) + NONCE_BYTES:], _binding(project_no, opens_at))
    except InvalidTag:
        raise VaultError("项目的开标密钥无法解开（密钥文件不符，或项目编号、开标时间已被改动）。") from None


def rewrap(vault: bytes, wrapped: bytes, project_no: str, bound_to: datetime, new_binding: datetime) -> bytes:
    """The project's private key wrapped again for another opening time — the 开标 postponed by a 中止 and given back
    by the 重启 (第二十三条).  The key is unwrapped here only to be wrapped again, never returned."""
    if not wrapped.startswith(VERSION) or len(wrapped) < len(VERSION) + NONCE_BYTES + KEY_BYTES + 16:
        raise VaultError("项目的开标密钥格式不正确。")
    nonce = wrapped[len(VERSION):len(VERSION) + NONCE_BYTES]
    try:
        raw = AESGCM(vault).decrypt(nonce, wrapped[len(VERSION) + NONCE_BYTES:], _binding(project_no, bound_to))
    except InvalidTag:
        raise VaultError("项目的开标密钥无法解开（密钥文件不符，或项目编号、开标时间已被改动）。") from None
    fresh = secrets.token_bytes(NONCE_BYTES)
    return VERSION + fresh + AESGCM(vault).encrypt(fresh, raw, _binding(project_no, new_binding))


# --- sealing a bid ----------------------------------------------------------------------------------------------

def _aad(project_no: str, supplier_id: int) -> bytes:
    return b"|".join([VERSION, project_no.encode("utf-8"), str(int(supplier_id)).encode("ascii")])


def _box_key(shared: bytes, ephemeral_public: bytes, project_public: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None,
                info=VERSION + ephemeral_public + project_public).derive(shared)


def seal(project_public: bytes, plaintext: bytes, project_no: str, supplier_id: int) -> bytes:
    """``plaintext`` sealed to the project's public key, bound to the project and the supplier: only the project's
    private key (from the opening on) opens it, and only as this supplier's bid in this project."""
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = ephemeral.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(project_public))
    nonce = secrets.token_bytes(NONCE_BYTES)
    body = AESGCM(_box_key(shared, ephemeral_public, project_public)).encrypt(
        nonce, plaintext, _aad(project_no, supplier_id))
    return VERSION + ephemeral_public + nonce + body


def unseal(project_private: bytes, sealed: bytes, project_no: str, supplier_id: int) -> bytes:
    head = len(VERSION)
    if not sealed.startswith(VERSION) or len(sealed) < head + KEY_BYTES + NONCE_BYTES + 16:
        raise VaultError("投标文件格式不正确。")
    ephemeral_public = sealed[head:head + KEY_BYTES]
    nonce = sealed[head + KEY_BYTES:head + KEY_BYTES + NONCE_BYTES]
    private = X25519PrivateKey.from_private_bytes(project_private)
    project_public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    shared = private.exchange(X25519PublicKey.from_public_bytes(ephemeral_public))
    try:
        return AESGCM(_box_key(shared, ephemeral_public, project_public)).decrypt(
            nonce, sealed[head + KEY_BYTES + NONCE_BYTES:], _aad(project_no, supplier_id))
    except InvalidTag:
        raise VaultError("投标文件无法解开：内容已被改动，或不属于本项目、本投标人。") from None


# --- the bid document and its receipt ---------------------------------------------------------------------------

def bid_document(project_no: str, supplier_id: int, price: Decimal, documents: dict[str, str],
                 submitted_at: datetime, salt: bytes | None = None) -> bytes:
    """The canonical bytes of a bid (what is sealed and what the receipt hashes): sorted keys, no spaces, the price
    with two decimals, each attached document by name → SHA-256, the time in UTC, and random salt."""
    if not isinstance(price, Decimal) or not price.is_finite():
        raise ValueError("price must be a finite Decimal")
    doc = {"v": VERSION.decode("ascii"), "project": project_no, "supplier": int(supplier_id),
           "price": f"{price.quantize(Decimal('0.01'))}", "documents": dict(sorted(documents.items())),
           "submitted_at": _utc_text(submitted_at), "salt": (salt or secrets.token_bytes(SALT_BYTES)).hex()}
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def read_document(plaintext: bytes) -> dict:
    """An opened bid document as data (the price as Decimal)."""
    doc = json.loads(plaintext.decode("utf-8"))
    if doc.get("v") != VERSION.decode("ascii"):
        raise VaultError("投标文件版本不正确。")
    doc["price"] = Decimal(doc["price"])
    return doc


def receipt(plaintext: bytes) -> str:
    """The SHA-256 the supplier keeps from submission and compares with the opened bid."""
    return hashlib.sha256(plaintext).hexdigest()
