"""The center's digital signature on 鉴证书 PDFs (PAdES, pyHanko).

The key and certificate are PEM files: ``CERT_KEY_PATH`` / ``CERT_PATH`` from the config, else
``<INSTANCE_DIR>/certificates/center-key.pem`` and ``center-cert.pem``.  Production puts the center's
real key and certificate there (issued by a CA that banks and the 不动产/林业 offices trust);
``flask --app wsgi certificates init-key`` makes a self-signed pair for demo and tests.

:func:`sign` adds one PAdES signature covering the whole file, so a PDF reader shows the document as
signed and any change to a signed byte breaks it.  :func:`verify` validates an uploaded PDF against
the center's certificate and tells, in Chinese, whether it is intact.
"""
from __future__ import annotations

import io
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app

FIELD_NAME = "CenterSignature"
_CACHE: dict[tuple, object] = {}
_LOCK = threading.Lock()


class SigningKeyMissing(RuntimeError):
    """No key/certificate where the config says: run ``flask certificates init-key`` (demo) or install the real one."""


def key_paths() -> tuple[Path, Path]:
    cfg = current_app.config
    base = Path(cfg["INSTANCE_DIR"]) / "certificates"
    key = Path(cfg.get("CERT_KEY_PATH") or base / "center-key.pem")
    cert = Path(cfg.get("CERT_PATH") or base / "center-cert.pem")
    return key, cert


def generate_key(key_path: Path, cert_path: Path, common_name: str = "临湘市农村产权交易中心",
                 *, days: int = 3650, overwrite: bool = False) -> None:
    """A new EC P-256 key and a self-signed certificate for document signing (demo and tests only)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key_path, cert_path = Path(key_path), Path(cert_path)
    if not overwrite and (key_path.exists() or cert_path.exists()):
        raise FileExistsError(f"{key_path if key_path.exists() else cert_path} 已存在")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                      x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "湖南省"),
                      x509.NameAttribute(NameOID.LOCALITY_NAME, "临湘市"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, common_name),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    from exchange import clock
    now = clock.now()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_cert_sign=True,
                                         crl_sign=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False),
                           critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    key_path.parent.mkdir(parents=True, exist_ok=True)
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _stamp(path: Path) -> tuple:
    st = path.stat()
    return str(path), st.st_mtime_ns, st.st_size


def _signer():
    """The center's signer, loaded once per key file version."""
    key_path, cert_path = key_paths()
    if not key_path.is_file() or not cert_path.is_file():
        raise SigningKeyMissing(f"未找到交易中心的签章密钥（{key_path}、{cert_path}）。"
                                "演示环境请运行 flask --app wsgi certificates init-key。")
    cache_key = ("signer", _stamp(key_path), _stamp(cert_path))
    with _LOCK:
        signer = _CACHE.get(cache_key)
        if signer is None:
            from pyhanko.sign import signers
            passphrase = current_app.config.get("CERT_KEY_PASSPHRASE")
            signer = signers.SimpleSigner.load(str(key_path), str(cert_path),
                                               key_passphrase=passphrase.encode() if passphrase else None)
            if signer is None:
                raise SigningKeyMissing(f"无法读取签章密钥 {key_path}。")
            _CACHE.clear()
            _CACHE[cache_key] = signer
        return signer


def center_certificate():
    """The center's certificate (asn1crypto) that verification trusts."""
    return _signer().signing_cert


def sign(pdf: bytes, *, reason: str = "农村产权流转交易鉴证", location: str = "湖南省临湘市",
         name: str | None = None) -> bytes:
    """``pdf`` with the center's PAdES signature over the whole file."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    signer = _signer()
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    meta = signers.PdfSignatureMetadata(field_name=FIELD_NAME, md_algorithm="sha256",
                                        subfilter=fields.SigSeedSubFilter.PADES, reason=reason,
                                        location=location, name=name)
    out = _off_loop(signers.sign_pdf, writer, meta, signer=signer)
    return out.getvalue()


def _off_loop(fn, *args, **kwargs):
    """Call a pyHanko function that runs its own asyncio loop.  Where this thread already runs one (an async
    server, or a test process driving a browser), run it in a helper thread instead of failing."""
    import asyncio
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn(*args, **kwargs)
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args, **kwargs).result()


@dataclass(frozen=True)
class SignatureCheck:
    ok: bool  # signed by the center, cryptographically intact and covering the whole file
    message: str  # Chinese, for the verification page
    signer: str = ""
    signed_at: datetime | None = None


def verify(data: bytes) -> SignatureCheck:
    """Validate the signature of an uploaded PDF against the center's certificate."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation.errors import SignatureValidationError
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        sigs = reader.embedded_signatures
    except Exception:  # noqa: BLE001 — anything unreadable is simply not a valid signed PDF
        return SignatureCheck(False, "文件无法按 PDF 解析（可能已损坏或被改动），数字签名无法验证。")
    if not sigs:
        return SignatureCheck(False, "文件中没有数字签名，不是交易中心出具的电子鉴证书原件。")
    center = center_certificate()
    vc = ValidationContext(trust_roots=[center], allow_fetching=False)
    sig = sigs[0]
    try:
        status = _off_loop(validate_pdf_signature, sig, vc)
    except (SignatureValidationError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return SignatureCheck(False, f"数字签名验证失败：签名数据无法解析（{type(exc).__name__}），文件已被改动或损坏。")
    except Exception as exc:  # noqa: BLE001
        return SignatureCheck(False, f"数字签名验证失败（{type(exc).__name__}），文件已被改动或损坏。")
    signer_cert = status.signing_cert
    signer_name = signer_cert.subject.human_friendly if signer_cert is not None else ""
    signed_at = getattr(status, "signer_reported_dt", None)
    if not (status.intact and status.valid):
        return SignatureCheck(False, "数字签名验证失败：签名后文件内容已被改动。", signer_name, signed_at)
    if signer_cert is None or signer_cert.public_key.dump() != center.public_key.dump():
        return SignatureCheck(False, "数字签名完好，但签名人不是本交易中心。", signer_name, signed_at)
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE or len(sigs) != 1:
        return SignatureCheck(False, "数字签名之后文件又被追加修改，不是原件。", signer_name, signed_at)
    return SignatureCheck(True, "数字签名有效：由本交易中心签署，签署后未被改动。", signer_name, signed_at)
