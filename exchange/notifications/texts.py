"""What a notification says and where it links: the links to the pages a person acts on and the Chinese date-time
of a deadline, shared by the event rules and the reminders."""
from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import select

from exchange.extensions import db


# --- links ----------------------------------------------------------------------------------------

def path_for(endpoint: str, **values) -> str:
    """A path inside the platform, also outside a request (the sweeper)."""
    return current_app.url_map.bind("localhost").build(endpoint, values)


def _registration_of(listing_id: int, user_id: int):
    from exchange.registrations.models import Registration
    return db.session.scalar(select(Registration).where(Registration.listing_id == listing_id,
                                                        Registration.buyer_id == user_id))


def listing_link(ctx: dict, user_id: int) -> str:
    """A buyer's own registration page, else the listing's page (its staff and its transferor)."""
    listing = ctx["listing"]
    reg = _registration_of(listing.id, user_id)
    if reg is not None:
        return path_for("registrations.detail", reg_id=reg.id)
    return path_for("listings.detail", listing_id=listing.id)


def registration_link(ctx: dict, user_id: int) -> str:
    return path_for("registrations.detail", reg_id=ctx["reg"].id)


def contract_link(ctx: dict, user_id: int) -> str:
    return path_for("contracts.detail", contract_id=ctx["contract"].id)


def settlement_link(ctx: dict, user_id: int) -> str:
    s = ctx.get("settlement")
    if s is None:
        return listing_link(ctx, user_id)
    return path_for("settlement.detail", settlement_id=s.id)


def certificate_link(ctx: dict, user_id: int) -> str:
    return path_for("certificates_public.verify", number=ctx["cert"].cert_no)


# --- texts ----------------------------------------------------------------------------------------

def when(dt: datetime | None) -> str:
    """A deadline as a village clerk reads it; a stored midnight is shown as 24:00 of its last day."""
    from exchange.workdays.services import due_text
    return "—" if dt is None else due_text(dt)


class _Fields(dict):
    def __missing__(self, key):
        return ""


def fill(template: str, ctx: dict) -> str:
    return template.format_map(_Fields({k: v for k, v in ctx.items() if isinstance(v, (str, int))}))
