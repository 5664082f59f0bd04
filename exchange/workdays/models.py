"""The holiday calendar: the center's settings on top of ``chinese_calendar`` and the law.

``CalendarDay`` marks one date as a holiday (放假) or a working day (调休上班), overriding every other source; its
``origin`` says whether the admin set it by hand (``manual``) or it came from the State Council's notice that
confirmed its year (``notice``).  ``CalendarYear`` records that a year's whole schedule is known: confirmed from
the notice (``source = notice``, with the notice's text and its SHA-256) or entered day by day and confirmed by
hand (``manual``); weekdays of a confirmed year not set otherwise are working days, weekends days off.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from exchange import clock
from exchange.db import UTCDateTime
from exchange.extensions import db

ORIGINS = ("manual", "notice")


class CalendarDay(db.Model):
    __tablename__ = "calendar_day"
    __table_args__ = (CheckConstraint("origin IN ('manual', 'notice')", name="origin"),)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str] = mapped_column(String(60), default="")  # e.g. 春节 / 春节调休上班
    origin: Mapped[str] = mapped_column(String(10), default="manual", server_default="manual")
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)


class CalendarYear(db.Model):
    __tablename__ = "calendar_year"
    __table_args__ = (CheckConstraint("source IN ('manual', 'notice')", name="source"),)

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    note: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(String(10), default="manual", server_default="manual")
    notice_title: Mapped[str] = mapped_column(String(200), default="", server_default="")
    notice_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    notice_sha256: Mapped[str] = mapped_column(String(64), default="", server_default="")
