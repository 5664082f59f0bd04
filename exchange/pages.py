"""What every page view shares, whichever domain package it lives in: the one way a page runs an action
(:func:`run_action`), a service's refusal shown on its form, and a safe ``next`` target.  A foundation module (DESIGN §4.1): it knows Flask and nothing of the domain, so the views of
every stage may use it without importing a later layer."""
from __future__ import annotations

from typing import Any, Callable, NamedTuple, TypeVar
from urllib.parse import urlsplit

from flask import abort, flash, redirect, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy.orm.exc import StaleDataError

from exchange.errors import ServiceError
from exchange.extensions import db

T = TypeVar("T")
STALE = "数据已被他人同时修改，请核对后重试。"


class Message(NamedTuple):
    """What :func:`run_action` flashes when the action went through in another tone than ``success`` (a temporary
    password shown once is a ``warning``, "nothing to remove" an ``info``)."""

    text: str
    category: str = "success"


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


def refusal_text(exc: Exception) -> str:
    """A service's refusal as one line: its message and the problems it lists (补正 items)."""
    message = getattr(exc, "message", str(exc))
    problems = getattr(exc, "problems", None) or []
    return message + ("" if not problems else " " + " ".join(problems))


def run_action(action: Callable[[], T], *,
               done: str | Message | Callable[[T], str | Message | None] | None, back: str,
               then: Callable[[T], str] | None = None, form: FlaskForm | None = None, invalid: str | None = None,
               refused: Callable[[ServiceError], Any] | None = None, stale: str = STALE):
    """The one way a page runs an action, after the view has loaded the row and authorised the user (who asks
    first).  The form (if any) must validate — else ``invalid`` is flashed and the user sent ``back``, or, without
    ``invalid``, 400.  Then the one service call; on success commit, flash ``done`` (or ``done(result)``; a
    :class:`Message` for another tone than success, None for no message — a payment goes on to the bank's page)
    and redirect to ``then(result)`` if given, else ``back``.  A refusal (:class:`ServiceError`) rolls back and is
    either shown by ``refused(exc)`` (a form page shown again with the message at its field) or flashed, with its
    problems, before going back.  A row changed by someone else meanwhile (the optimistic version check) rolls back
    and says so.  A unique key's refusal is answered by the app's IntegrityError handler."""
    if form is not None and not form.validate_on_submit():
        if invalid is None:
            abort(400)
        flash(invalid, "error")
        return redirect(back)
    try:
        result = action()
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        if refused is not None:
            return refused(exc)
        flash(refusal_text(exc), "error")
        return redirect(back)
    except StaleDataError:
        db.session.rollback()
        flash(stale, "error")
        return redirect(back)
    message = done(result) if callable(done) else done
    if message is not None:
        text, category = (message.text, message.category) if isinstance(message, Message) else (message, "success")
        flash(text, category)
    return redirect(then(result) if then else back)
