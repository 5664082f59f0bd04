"""The center admin's holiday calendar: overrides on top of ``chinese_calendar``.

``CalendarDay`` marks one date as a holiday (放假) or a working day (调休上班), overriding the
statutory data.  ``CalendarYear`` records that the admin has entered a year's whole schedule
(the State Council publishes it each autumn), so weekdays of that year are no longer merely
*assumed* to be working days.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from exchange import clock
from exchange.db import UTCDateTime
from exchange.extensions import db


class CalendarDay(db.Model):
    __tablename__ = "calendar_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str] = mapped_column(String(60), default="")  # e.g. 春节 / 春节调休上班
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)


class CalendarYear(db.Model):
    __tablename__ = "calendar_year"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    note: Mapped[str] = mapped_column(String(200), default="")
