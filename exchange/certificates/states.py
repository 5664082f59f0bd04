"""A 鉴证书 as a state machine: issued valid; revoked with a reason shown on the public verification page (a
corrected one is a new certificate with a new number, ``replaces_id`` the revoked one)."""
from __future__ import annotations

from exchange.machine import Machine, States, Transition


class CertState(States):
    VALID = "valid", "有效"
    REVOKED = "revoked", "已撤销"


CERTIFICATE = Machine("certificate", CertState, [
    Transition("revoke", "撤销鉴证书", frozenset({"valid"}), "revoked", "certificates.issue", reason_required=True),
], what=lambda cert: f"鉴证书 {cert.cert_no} ")
