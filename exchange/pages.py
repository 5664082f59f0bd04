"""What every page view shares, whichever domain package it lives in: a service's refusal shown on its form, and a
safe ``next`` target.  A foundation module (DESIGN §4.1): it knows Flask and nothing of the domain, so the views of
every stage may use it without importing a later layer."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import request, url_for
from flask_wtf import FlaskForm


class ActionForm(FlaskForm):
    """A form with only its CSRF token: the POST buttons of a page (审核通过, 撤销, 确认 …)."""


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
