"""What 中止 (第二十三条) and 终结 (第二十四条) decisions share: one of the article's grounds, the basis written out,
the approving document uploaded (sniffed)."""
from __future__ import annotations

from exchange.errors import ServiceError


def grounded(error: type[ServiceError], grounds: dict, ground: str, basis: str, document, filename, *,
             article: str, what: str, basis_hint: str, document_hint: str):
    """The checked (basis, stored document) of a decision, or ``error`` naming the field to correct."""
    if ground not in grounds:
        raise error(f"请选择{article}规定的{what}情形。", field="ground")
    basis = (basis or "").strip()
    if len(basis) < 4 or len(basis) > 2000:
        raise error(f"请写明{what}的依据：{basis_hint}。", field="basis")
    if document is None:
        raise error(f"请上传{document_hint}的扫描件。", field="document")
    from exchange.uploads import UploadError, accept_upload
    try:
        stored = accept_upload(document, filename)
    except UploadError as exc:
        raise error(f"批准文件：{exc}", field="document") from None
    return basis, stored
