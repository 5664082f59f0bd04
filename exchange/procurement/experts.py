"""The center's 专家库 (issue 18 item 4; DESIGN §3.12): keeping the experts, their specialties and their ties, and
giving the panel's draw (:mod:`exchange.procurement.panel`) its plain values.

Kept by the center's admin and reviewer (``experts.manage``), read by them and the supervisor (``experts.view``).
Every input goes through the parsers of :mod:`exchange.inputs` (texts, ids) and :func:`exchange.idcheck.check_mobile`;
a refusal is an :class:`ExpertError` naming its field.  Every change is audited.  One entry per person: the same
name with the same mobile number is refused in plain words (and by the unique key, should two admins save the same
expert at once).  An expert is deactivated, never deleted.
"""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import Select, exists, func, or_, select

from exchange import clock
from exchange.access import require
from exchange.accounts.models import Party
from exchange.audit.services import record
from exchange.errors import ServiceError
from exchange.extensions import db
from exchange.idcheck import IdCheckError, check_mobile, mask_mobile
from exchange.inputs import InputError, parse_id, parse_text
from exchange.orgs.models import OrgKind, OrgUnit
from exchange.orgs.services import in_tree_order
from exchange.procurement import panel
from exchange.procurement.models import (SPECIALTIES, Expert, ExpertPartyTie, ExpertSpecialty,
                                         ExpertVillageTie)

NAME_MAX, EMPLOYER_MAX, TITLE_MAX, REASON_MAX = 30, 100, 40, 200
STALE_EXPERT = "该专家的信息刚被他人修改过，请刷新页面核对后再保存。"


class ExpertError(ServiceError):
    """A rule of the 专家库 not met."""


# --- input -----------------------------------------------------------------------------------------------------------

def _text(raw, field: str, label: str, max_length: int, required: bool = True) -> str:
    try:
        return parse_text(raw, field=field, label=label, max_length=max_length, required=required)
    except InputError as exc:
        raise ExpertError(exc.message, field) from None


def _mobile(raw) -> str:
    if not str(raw or "").strip():
        raise ExpertError("请填写手机号码（抽中后用于通知专家）。", "mobile")
    try:
        return check_mobile(str(raw))
    except IdCheckError as exc:
        raise ExpertError(str(exc), "mobile") from None


def check_specialty(raw, field: str = "specialty") -> str:
    """A specialty code of :data:`SPECIALTIES`."""
    code = str(raw or "").strip()
    if code not in SPECIALTIES:
        raise ExpertError("请从列表中选择专业。", field)
    return code


def _specialties(raw: Iterable | None) -> list[str]:
    codes = {check_specialty(code, "specialties") for code in (raw or []) if str(code or "").strip()}
    if not codes:
        raise ExpertError("请至少选择一个专业。", "specialties")
    return [code for code in SPECIALTIES if code in codes]


def _id(raw, field: str, label: str) -> int:
    try:
        return parse_id(raw, field=field, label=label)
    except InputError as exc:
        raise ExpertError(exc.message, field) from None


def _snapshot(expert: Expert) -> dict:
    return {"name": expert.name, "mobile": expert.mobile, "employer": expert.employer, "title": expert.title,
            "specialties": expert.specialties, "active": expert.active}


def _refuse_duplicate(name: str, mobile: str, expert: Expert | None = None) -> None:
    stmt = select(Expert.id).where(Expert.name == name, Expert.mobile == mobile)
    if expert is not None and expert.id is not None:
        stmt = stmt.where(Expert.id != expert.id)
    if db.session.scalar(stmt.limit(1)) is not None:
        raise ExpertError(f"专家库中已有“{name}”（手机 {mask_mobile(mobile)}），请勿重复登记；"
                          "如需修改，请在列表中找到该专家后编辑。", "name")


def _set_specialties(expert: Expert, codes: list[str]) -> None:
    keep = set(codes)
    for row in list(expert.specialty_rows):
        if row.specialty not in keep:
            expert.specialty_rows.remove(row)
    have = {row.specialty for row in expert.specialty_rows}
    for code in codes:
        if code not in have:
            expert.specialty_rows.append(ExpertSpecialty(specialty=code))


# --- the expert --------------------------------------------------------------------------------------------------------

def create_expert(actor, *, name, mobile, employer, title="", specialties: Iterable | None = None) -> Expert:
    require(actor, "experts.manage")
    name = _text(name, "name", "姓名", NAME_MAX)
    mobile = _mobile(mobile)
    employer = _text(employer, "employer", "工作单位", EMPLOYER_MAX)
    title = _text(title, "title", "职称", TITLE_MAX, required=False)
    codes = _specialties(specialties)
    _refuse_duplicate(name, mobile)
    expert = Expert(name=name, mobile=mobile, employer=employer, title=title, active=True)
    _set_specialties(expert, codes)
    db.session.add(expert)
    db.session.flush()
    record("expert.create", f"专家库新增专家 {name}（{'、'.join(expert.specialty_labels)}）", obj_type="expert",
           obj_id=expert.id, after=_snapshot(expert))
    return expert


def update_expert(actor, expert: Expert, *, name, mobile, employer, title="", specialties: Iterable | None = None,
                  version=None) -> Expert:
    """Save the expert's details and specialties.  ``version``: the one the form was shown with — a form shown
    before someone else saved is refused rather than overwriting what they saved."""
    require(actor, "experts.manage")
    if version not in (None, ""):
        if _id(version, "version", "版本") != expert.version:
            raise ExpertError(STALE_EXPERT)
    before = _snapshot(expert)
    name = _text(name, "name", "姓名", NAME_MAX)
    mobile = _mobile(mobile)
    employer = _text(employer, "employer", "工作单位", EMPLOYER_MAX)
    title = _text(title, "title", "职称", TITLE_MAX, required=False)
    codes = _specialties(specialties)
    _refuse_duplicate(name, mobile, expert)
    expert.name, expert.mobile, expert.employer, expert.title = name, mobile, employer, title
    _set_specialties(expert, codes)
    after = _snapshot(expert)
    if after != before:
        _touch(expert)  # the row itself changes with its specialties alone too: a new version
        db.session.flush()
        record("expert.update", f"修改专家 {name} 的信息", obj_type="expert", obj_id=expert.id, before=before,
               after=after)
    return expert


def set_active(actor, expert: Expert, active: bool) -> Expert:
    """Deactivate (停用: never drawn again, kept for the panels that name them) or reactivate an expert."""
    require(actor, "experts.manage")
    if expert.active == bool(active):
        raise ExpertError(f"该专家已经是{'启用' if active else '停用'}状态。")
    expert.active = bool(active)
    db.session.flush()
    record("expert.activate" if active else "expert.deactivate",
           f"{'启用' if active else '停用'}专家 {expert.name}", obj_type="expert", obj_id=expert.id,
           before={"active": not active}, after={"active": bool(active)})
    return expert


def deactivate(actor, expert: Expert) -> Expert:
    return set_active(actor, expert, False)


def _touch(expert: Expert) -> None:
    """A change of the expert's specialties or ties is a change of the expert: its version moves (a form shown
    before is stale, two admins saving at once are told)."""
    expert.updated_at = clock.now()


# --- ties ---------------------------------------------------------------------------------------------------------------

def add_village_tie(actor, expert: Expert, org_unit_id, reason) -> ExpertVillageTie:
    require(actor, "experts.manage")
    if str(org_unit_id if org_unit_id is not None else "").strip() in ("", "0"):  # the select's blank
        raise ExpertError("请从列表中选择村（社区）交易点。", "org_unit_id")
    org_id = _id(org_unit_id, "org_unit_id", "村（社区）")
    reason = _text(reason, "reason", "回避原因", REASON_MAX)
    org = db.session.get(OrgUnit, org_id)
    if org is None or org.kind != OrgKind.POINT.value:
        raise ExpertError("请从列表中选择村（社区）交易点。", "org_unit_id")
    if any(t.org_unit_id == org.id for t in expert.village_ties):
        raise ExpertError(f"已登记过该专家与“{org.area_name}”的利害关系。", "org_unit_id")
    tie = ExpertVillageTie(org_unit=org, reason=reason)
    expert.village_ties.append(tie)
    _touch(expert)
    db.session.flush()
    record("expert.village_tie_add", f"登记专家 {expert.name} 与 {org.area_name} 的利害关系：{reason}",
           obj_type="expert", obj_id=expert.id, after={"org": org.code, "reason": reason})
    return tie


def remove_village_tie(actor, tie: ExpertVillageTie) -> None:
    require(actor, "experts.manage")
    expert, org = tie.expert, tie.org_unit
    before = {"org": org.code, "reason": tie.reason}
    expert.village_ties.remove(tie)
    _touch(expert)
    db.session.flush()
    record("expert.village_tie_remove", f"删除专家 {expert.name} 与 {org.area_name} 的利害关系",
           obj_type="expert", obj_id=expert.id, before=before)


def add_party_tie(actor, expert: Expert, party_id, reason) -> ExpertPartyTie:
    require(actor, "experts.manage")
    pid = _id(party_id, "party_id", "交易主体")
    reason = _text(reason, "reason", "回避原因", REASON_MAX)
    party = db.session.get(Party, pid)
    if party is None:
        raise ExpertError("该交易主体不存在，请重新查找。", "party_id")
    if any(t.party_id == party.id for t in expert.party_ties):
        raise ExpertError(f"已登记过该专家与“{party.name}”的利害关系。", "party_id")
    tie = ExpertPartyTie(party=party, reason=reason)
    expert.party_ties.append(tie)
    _touch(expert)
    db.session.flush()
    record("expert.party_tie_add", f"登记专家 {expert.name} 与 {party.name} 的利害关系：{reason}",
           obj_type="expert", obj_id=expert.id, after={"party": party.id, "reason": reason})
    return tie


def remove_party_tie(actor, tie: ExpertPartyTie) -> None:
    require(actor, "experts.manage")
    expert, party = tie.expert, tie.party
    before = {"party": party.id, "reason": tie.reason}
    expert.party_ties.remove(tie)
    _touch(expert)
    db.session.flush()
    record("expert.party_tie_remove", f"删除专家 {expert.name} 与 {party.name} 的利害关系",
           obj_type="expert", obj_id=expert.id, before=before)


# --- reading ------------------------------------------------------------------------------------------------------------

def experts_query(actor, *, specialty: str | None = None, active: bool | None = None, q: str | None = None) -> Select:
    """The experts (by name), of a specialty, active or not, whose name or employer holds ``q``."""
    require(actor, "experts.view")
    stmt = select(Expert).order_by(Expert.name, Expert.id)
    if specialty:
        code = check_specialty(specialty)
        stmt = stmt.where(exists().where(ExpertSpecialty.expert_id == Expert.id, ExpertSpecialty.specialty == code))
    if active is not None:
        stmt = stmt.where(Expert.active.is_(bool(active)))
    if q:
        like = f"%{_like(q)}%"
        stmt = stmt.where(or_(Expert.name.ilike(like, escape="\\"), Expert.employer.ilike(like, escape="\\")))
    return stmt


def get_expert(actor, expert_id: int) -> Expert | None:
    require(actor, "experts.view")
    return db.session.get(Expert, expert_id)


def village_units(actor) -> list[OrgUnit]:
    """The active towns (交易站) and their villages (交易点) in the city's order — the choices of a village tie."""
    require(actor, "experts.view")
    units = db.session.scalars(select(OrgUnit).where(
        OrgUnit.active.is_(True), OrgUnit.kind.in_([OrgKind.STATION.value, OrgKind.POINT.value]))).all()
    return in_tree_order(list(units))


def search_parties(actor, q: str | None, limit: int = 20) -> list[Party]:
    """Registered parties (enterprises and people) whose name holds ``q``, or whose USCC is ``q``."""
    require(actor, "experts.manage")
    text = (q or "").strip()
    if not text:
        return []
    text = _text(text, "q", "查找内容", 60)
    stmt = (select(Party).where(or_(Party.name.ilike(f"%{_like(text)}%", escape="\\"), Party.uscc == text.upper()))
            .order_by(func.length(Party.name), Party.name, Party.id).limit(limit))
    return list(db.session.scalars(stmt))


def _like(text: str) -> str:
    """``text`` for a LIKE pattern, its wildcards taken literally (escape character ``\\``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def as_plain(expert: Expert) -> panel.Expert:
    return panel.Expert(id=expert.id, name=expert.name, specialties=frozenset(expert.specialties),
                        villages=frozenset(t.org_unit_id for t in expert.village_ties),
                        parties=frozenset(t.party_id for t in expert.party_ties), active=expert.active)


def pool(specialty: str) -> list[panel.Expert]:
    """Every expert of ``specialty`` (a code of :data:`SPECIALTIES`), active or not, as the plain values
    :func:`exchange.procurement.panel.draw` takes: it leaves out the deactivated and the tied with the reason and
    records it.  In id order, the order the draw reads them in."""
    code = check_specialty(specialty)
    stmt = (select(Expert).join(ExpertSpecialty, ExpertSpecialty.expert_id == Expert.id)
            .where(ExpertSpecialty.specialty == code).order_by(Expert.id))
    return [as_plain(e) for e in db.session.scalars(stmt)]
