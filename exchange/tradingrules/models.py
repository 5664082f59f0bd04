"""The value of one of the center's adjustable trading rules, once the center has changed it from its declared
default (``exchange.tradingrules.services.RULES``).  A rule never changed has no row: its default applies.

``value`` is the canonical text of the value (``"3"`` 工作日, ``"16:00"``); ``basis`` is what the change rests on
(the center's meeting minutes, a notice …), published with the rule; ``changed_at`` is from when it applies — to
clocks started afterwards only.  Every change is in the audit trail with its before and after."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from exchange import clock
from exchange.db import UTCDateTime
from exchange.extensions import db


class TradingRuleSetting(db.Model):
    __tablename__ = "trading_rule"
    __table_args__ = (CheckConstraint("value <> ''", name="value_given"),
                      CheckConstraint("basis <> ''", name="basis_given"))

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(20))
    basis: Mapped[str] = mapped_column(String(200))
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}
