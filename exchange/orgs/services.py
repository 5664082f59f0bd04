"""Managing the organisation tree (center admin) and reading it within a user's scope."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from exchange.access import require, scope_clause
from exchange.audit.services import record
from exchange.extensions import db
from exchange.orgs.models import INSTITUTION_TYPES, ORG_KIND_LABELS, PARENT_KIND, OrgKind, OrgUnit
from exchange.errors import ServiceError


class OrgError(ServiceError):
    """A rule of this domain was not met."""


CODE_RE = re.compile(r"^[A-Za-z0-9\-]{2,20}$")
DIVISION_RE = re.compile(r"^\d{6}(\d{3}(\d{3})?)?$")


def _snapshot(o: OrgUnit) -> dict:
    return {"name": o.name, "area_name": o.area_name, "code": o.code, "division_code": o.division_code,
            "kind": o.kind, "parent": o.parent.code if o.parent else None, "active": o.active,
            "address": o.address, "phone": o.phone, "institution_type": o.institution_type, "uscc": o.uscc}


def _validate(*, kind: OrgKind, parent: OrgUnit | None, name: str, area_name: str, code: str,
              division_code: str | None, self_id: int | None = None) -> None:
    if parent is None and None not in PARENT_KIND[kind]:
        raise OrgError(f"{ORG_KIND_LABELS[kind]}必须选择上级机构。", field="parent_id")
    if parent is not None and OrgKind(parent.kind) not in PARENT_KIND[kind]:
        raise OrgError(f"{ORG_KIND_LABELS[kind]}的上级不能是{parent.kind_label}。", field="parent_id")
    if parent is not None and not parent.active:
        raise OrgError("上级机构已停用。", field="parent_id")
    if not name or len(name) > 60:
        raise OrgError("请填写机构名称（不超过 60 个字）。", field="name")
    if not area_name or len(area_name) > 40:
        raise OrgError("请填写所在地名称（如“长安街道”“团湖村”，不超过 40 个字）。", field="area_name")
    if not CODE_RE.match(code or ""):
        raise OrgError("机构编码为 2–20 位字母、数字或连字符。", field="code")
    if division_code and not DIVISION_RE.match(division_code):
        raise OrgError("行政区划代码应为 6、9 或 12 位数字。", field="division_code")
    clash = db.session.scalar(select(OrgUnit.id).where(func.lower(OrgUnit.code) == code.lower()))
    if clash and clash != self_id:
        raise OrgError("机构编码已被使用。", field="code")


def _institution(kind: OrgKind, institution_type: str | None, uscc: str | None) -> tuple[str | None, str | None]:
    """A financial institution's type and 统一社会信用代码 (checked); nothing for the other kinds."""
    if kind != OrgKind.INSTITUTION:
        return None, None
    if institution_type not in INSTITUTION_TYPES:
        raise OrgError("请选择金融机构类型：" + "、".join(INSTITUTION_TYPES.values()) + "。", field="institution_type")
    from exchange.idcheck import IdCheckError, check_uscc
    try:
        return institution_type, check_uscc(uscc or "")
    except IdCheckError as exc:
        raise OrgError(f"统一社会信用代码：{exc}", field="uscc") from None


def create_org(actor, *, kind: str, parent: OrgUnit | None, name: str, area_name: str, code: str,
               division_code: str | None = None, address: str | None = None, phone: str | None = None,
               sort_order: int = 0, institution_type: str | None = None, uscc: str | None = None) -> OrgUnit:
    """Add a unit to the tree (``actor`` None only for seeding from the CLI); a financial institution (under the
    center) with its type and 统一社会信用代码."""
    if actor is not None:
        require(actor, "orgs.manage")
    try:
        kind_enum = OrgKind(kind)
    except ValueError:
        raise OrgError("机构类型不正确。", field="kind") from None
    institution_type, uscc = _institution(kind_enum, institution_type, uscc)
    name, area_name, code = (name or "").strip(), (area_name or "").strip(), (code or "").strip()
    division_code = (division_code or "").strip() or None
    _validate(kind=kind_enum, parent=parent, name=name, area_name=area_name, code=code,
              division_code=division_code)
    org = OrgUnit(kind=kind_enum.value, parent=parent, name=name, area_name=area_name, code=code,
                  division_code=division_code, address=(address or None), phone=(phone or None),
                  sort_order=sort_order, active=True, institution_type=institution_type, uscc=uscc)
    db.session.add(org)
    db.session.flush()
    org.path = f"{parent.path if parent else '/'}{org.id}/"
    db.session.flush()
    record("org.create", f"新增{org.kind_label}“{org.name}”", obj_type="org", obj_id=org.id, after=_snapshot(org))
    return org


def update_org(actor, org: OrgUnit, *, name: str | None = None, area_name: str | None = None,
               code: str | None = None, division_code: str | None = None, address: str | None = None,
               phone: str | None = None, sort_order: int | None = None) -> OrgUnit:
    require(actor, "orgs.manage")
    before = _snapshot(org)
    new = {
        "name": (name if name is not None else org.name).strip(),
        "area_name": (area_name if area_name is not None else org.area_name).strip(),
        "code": (code if code is not None else org.code).strip(),
        "division_code": ((division_code if division_code is not None else org.division_code) or "").strip() or None,
    }
    _validate(kind=OrgKind(org.kind), parent=org.parent, self_id=org.id, **new)
    org.name, org.area_name, org.code, org.division_code = new["name"], new["area_name"], new["code"], new["division_code"]
    if address is not None:
        org.address = address.strip() or None
    if phone is not None:
        org.phone = phone.strip() or None
    if sort_order is not None:
        org.sort_order = sort_order
    db.session.flush()
    after = _snapshot(org)
    if after != before:
        record("org.update", f"修改{org.kind_label}“{org.name}”", obj_type="org", obj_id=org.id,
               before=before, after=after)
    return org


def set_org_active(actor, org: OrgUnit, active: bool) -> OrgUnit:
    require(actor, "orgs.manage")
    if org.active == active:
        return org
    if not active:
        active_children = [c for c in org.children if c.active]
        if active_children:
            raise OrgError(f"“{org.name}”下还有 {len(active_children)} 个启用中的下级机构，请先停用它们。")
        from exchange.accounts.models import User
        active_users = db.session.scalar(select(func.count(User.id)).where(User.org_unit_id == org.id,
                                                                             User.active.is_(True)))
        if active_users:
            raise OrgError(f"“{org.name}”还有 {active_users} 个启用中的工作人员账号，请先停用或调整这些账号。")
    elif org.parent is not None and not org.parent.active:
        raise OrgError("上级机构已停用，不能启用下级机构。")
    org.active = active
    db.session.flush()
    record("org.activate" if active else "org.deactivate", f"{'启用' if active else '停用'}{org.kind_label}“{org.name}”",
           obj_type="org", obj_id=org.id, before={"active": not active}, after={"active": active})
    return org


def get_org(actor, org_id: int) -> OrgUnit | None:
    """The unit if it exists; AccessDenied when it lies outside the actor's scope."""
    org = db.session.get(OrgUnit, org_id)
    if org is None:
        return None
    require(actor, "orgs.view", org)
    return org


def orgs_in_scope(actor, *, kind: str | None = None, include_inactive: bool = True) -> list[OrgUnit]:
    require(actor, "orgs.view", actor.org_unit)
    stmt = select(OrgUnit).where(scope_clause(actor, OrgUnit.path)).order_by(OrgUnit.path)
    if kind:
        stmt = stmt.where(OrgUnit.kind == kind)
    if not include_inactive:
        stmt = stmt.where(OrgUnit.active.is_(True))
    return list(db.session.scalars(stmt))


def tree(units: list[OrgUnit]) -> list[tuple[OrgUnit, list]]:
    """Nest a flat list of units (parents before children) into (unit, children) pairs."""
    by_id: dict[int, tuple[OrgUnit, list]] = {}
    roots: list[tuple[OrgUnit, list]] = []
    for u in sorted(units, key=lambda o: (o.path.count("/"), o.sort_order, o.id)):
        node = (u, [])
        by_id[u.id] = node
        parent = by_id.get(u.parent_id) if u.parent_id else None
        (parent[1] if parent else roots).append(node)
    return roots


def in_tree_order(units: list[OrgUnit]) -> list[OrgUnit]:
    """The units depth first, each level in its ``sort_order`` (the city's order of towns, DESIGN §1, then each
    town's villages): the order of every select list of units.  ``path`` alone sorts "/1/10/" before "/1/2/"."""
    out: list[OrgUnit] = []

    def walk(nodes):
        for unit, children in nodes:
            out.append(unit)
            walk(children)
    # a unit whose parent is not in the list (a village list without its towns) is a root of its own, in the order
    # of its parent, then its own
    parents = {u.parent_id: u.parent for u in units if u.parent_id and u.parent is not None}
    roots_key = {pid: (p.sort_order, p.id) for pid, p in parents.items()}
    nodes = tree(units)
    nodes.sort(key=lambda n: (roots_key.get(n[0].parent_id, (-1, 0)), n[0].sort_order, n[0].id))
    walk(nodes)
    return out


def center(actor=None) -> OrgUnit | None:
    return db.session.scalar(select(OrgUnit).where(OrgUnit.kind == OrgKind.CENTER.value, OrgUnit.parent_id.is_(None))
                             .order_by(OrgUnit.id))
