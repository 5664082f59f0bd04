"""Small helpers shared by the page views."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import request, url_for


def apply_service_error(form, exc) -> None:
    """Show a service's rule violation next to its field, or at the top of the form."""
    message = getattr(exc, "message", str(exc))
    field = getattr(exc, "field", None)
    if field and hasattr(form, field):
        getattr(form, field).errors = list(getattr(form, field).errors) + [message]
    else:
        form.form_errors.append(message)


def safe_next(default_endpoint: str = "web.work") -> str:
    """The ``next`` parameter if it points inside this site, else the default page."""
    target = request.args.get("next") or request.form.get("next") or ""
    parts = urlsplit(target)
    if target and not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//") \
            and "\\" not in target:
        return target
    return url_for(default_endpoint)
