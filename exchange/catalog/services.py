"""Editing the catalogue (center admin).  Methods are deactivated, never deleted: old listings keep them."""
from __future__ import annotations

from sqlalchemy import select

from exchange.access import require
from exchange.audit.services import record
from exchange.catalog.data import ACQUISITION_RULES, STATUTORY_METHODS
from exchange.catalog.models import Category, TransferMethod
from exchange.extensions import db
from exchange.errors import ServiceError


class CatalogError(ServiceError):
    """A rule of this domain was not met."""


def categories(include_inactive: bool = True) -> list[Category]:
    stmt = select(Category).order_by(Category.seq)
    if not include_inactive:
        stmt = stmt.where(Category.active.is_(True))
    return list(db.session.scalars(stmt))


# --- what the text names, and how a right was obtained (第九条, 第十条) ----------------------------------------------

def statutory_names(category: Category) -> tuple[str, ...]:
    """The 流转方式 the city's text names for this category (catalog.data.STATUTORY_METHODS)."""
    return STATUTORY_METHODS.get(category.code, ())


def is_statutory(method: TransferMethod) -> bool:
    """Named by the text for its category; otherwise one of the center's own additions (中心增设)."""
    return method.name in statutory_names(method.category)


def needs_acquisition(category: Category | None) -> bool:
    """Whether a listing of this category must say how the right was obtained (四荒: 第九条 3, 第十条)."""
    return category is not None and category.code in ACQUISITION_RULES


def allowed_methods(category: Category, obtained_by: str = "") -> list[TransferMethod]:
    """The active methods a listing of ``category`` may use.  A right of a category in ACQUISITION_RULES obtained by
    家庭承包 follows the 农户承包 rules: only the methods that category (C01) allows too (第九条 3, 第十条)."""
    methods = category.active_methods()
    if needs_acquisition(category) and obtained_by == "household_contract":
        follows = db.session.scalar(select(Category).where(Category.code == ACQUISITION_RULES[category.code]))
        names = {m.name for m in follows.active_methods()} if follows is not None else set()
        methods = [m for m in methods if m.name in names]
    return methods


def update_category(actor, category: Category, *, name: str, announce_days: int, collective: bool,
                    restricts_buyers: bool, farmland: bool, active: bool, description: str = "") -> Category:
    require(actor, "catalog.manage")
    name = (name or "").strip()
    if not name or len(name) > 60:
        raise CatalogError("请填写品种名称（不超过 60 个字）。", field="name")
    if not 1 <= int(announce_days) <= 60:
        raise CatalogError("公告期应为 1–60 个工作日。", field="announce_days")
    before = _snap(category)
    category.name, category.announce_days = name, int(announce_days)
    category.collective, category.restricts_buyers, category.farmland = collective, restricts_buyers, farmland
    category.active, category.description = active, (description or "").strip()[:300]
    db.session.flush()
    if _snap(category) != before:
        record("catalog.update", f"修改交易品种“{category.name}”", obj_type="category", obj_id=category.id,
               before=before, after=_snap(category))
    return category


def add_method(actor, category: Category, name: str) -> TransferMethod:
    require(actor, "catalog.manage")
    name = (name or "").strip()
    if not name or len(name) > 20:
        raise CatalogError("请填写流转方式名称（不超过 20 个字）。", field="name")
    for m in category.methods:
        if m.name == name:
            if m.active:
                raise CatalogError(f"“{category.name}”已有流转方式“{name}”。", field="name")
            m.active = True
            db.session.flush()
            record("catalog.method_enable", f"恢复“{category.name}”的流转方式“{name}”", obj_type="category",
                   obj_id=category.id)
            return m
    method = TransferMethod(category=category, name=name, seq=len(category.methods) + 1, active=True)
    db.session.add(method)
    db.session.flush()
    record("catalog.method_add", f"为“{category.name}”增加流转方式“{name}”", obj_type="category", obj_id=category.id)
    return method


def set_method_active(actor, method: TransferMethod, active: bool) -> None:
    require(actor, "catalog.manage")
    if not active and len(method.category.active_methods()) <= 1 and method.active:
        raise CatalogError("每个交易品种至少保留一种流转方式。")
    method.active = active
    db.session.flush()
    record("catalog.method_enable" if active else "catalog.method_disable",
           f"{'启用' if active else '停用'}“{method.category.name}”的流转方式“{method.name}”", obj_type="category",
           obj_id=method.category_id)


def _snap(c: Category) -> dict:
    return {"name": c.name, "announce_days": c.announce_days, "collective": c.collective,
            "restricts_buyers": c.restricts_buyers, "farmland": c.farmland, "active": c.active}
