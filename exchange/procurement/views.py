"""The 专家库's pages (issue 18) under /admin/experts: the list (by specialty and state), an expert's form, and an
expert's page with the ties the draw leaves them out for — villages chosen from the org tree, parties found by name
or USCC.  Read by the center's admin and reviewer and the supervisor; kept by the admin and the reviewer."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from flask_login import current_user, login_required

from exchange.access import can, require
from exchange.extensions import db
from exchange.idcheck import mask_mobile
from exchange.inputs import arg_page
from exchange.orgs.models import OrgKind
from exchange.pages import ActionForm, apply_service_error, run_action
from exchange.procurement import experts as svc
from exchange.procurement.forms import ExpertForm, PartyTieForm, VillageTieForm
from exchange.procurement.models import SPECIALTIES, Expert, ExpertPartyTie, ExpertVillageTie

bp = Blueprint("experts", __name__, url_prefix="/admin/experts")

ACTIVE_CHOICES = {"1": "在用", "0": "已停用"}


@bp.before_request
@login_required
def _signed_in():
    return None


def _expert_or_404(expert_id: int) -> Expert:
    expert = db.session.get(Expert, expert_id)
    if expert is None:
        abort(404)
    return expert


def _tie_or_404(model, expert: Expert, tie_id: int):
    tie = db.session.get(model, tie_id)
    if tie is None or tie.expert_id != expert.id:
        abort(404)
    return tie


# --- the list ------------------------------------------------------------------------------------------------------------

@bp.route("")
def index():
    require(current_user, "experts.view")
    specialty = request.args.get("specialty") or ""
    if specialty not in SPECIALTIES:
        specialty = ""
    active = request.args.get("active") or ""
    if active not in ACTIVE_CHOICES:
        active = ""
    q = (request.args.get("q") or "").strip()[:30]
    stmt = svc.experts_query(current_user, specialty=specialty or None,
                             active=None if not active else active == "1", q=q or None)
    page = db.paginate(stmt, page=arg_page(), per_page=30, error_out=False)
    return render_template("procurement/experts.html", page=page, specialty=specialty, active=active, q=q,
                           specialties=SPECIALTIES, active_choices=ACTIVE_CHOICES,
                           manage=can(current_user, "experts.manage"), mask_mobile=mask_mobile)


# --- an expert -----------------------------------------------------------------------------------------------------------

def _form_page(form, expert: Expert | None):
    def shown(exc=None):
        if exc is not None:
            apply_service_error(form, exc)
        return render_template("procurement/expert_form.html", form=form, expert=expert)
    return shown


@bp.route("/new", methods=["GET", "POST"])
def new():
    require(current_user, "experts.manage")
    form = ExpertForm()
    shown = _form_page(form, None)
    if not form.validate_on_submit():
        return shown()
    return run_action(lambda: svc.create_expert(current_user, name=form.name.data, mobile=form.mobile.data,
                                                employer=form.employer.data, title=form.title.data or "",
                                                specialties=form.specialties.data),
                      refused=shown, done=lambda e: f"已将“{e.name}”加入专家库。请在下面登记其回避关系（如有）。",
                      back=url_for("experts.index"), then=lambda e: url_for("experts.detail", expert_id=e.id))


@bp.route("/<int:expert_id>/edit", methods=["GET", "POST"])
def edit(expert_id: int):
    require(current_user, "experts.manage")
    expert = _expert_or_404(expert_id)
    if request.method == "GET":
        form = ExpertForm(obj=expert)
        form.specialties.data = expert.specialties
        form.version.data = str(expert.version)
    else:
        form = ExpertForm()
    shown = _form_page(form, expert)
    if not form.validate_on_submit():
        return shown()
    return run_action(lambda: svc.update_expert(current_user, expert, name=form.name.data, mobile=form.mobile.data,
                                                employer=form.employer.data, title=form.title.data or "",
                                                specialties=form.specialties.data, version=form.version.data),
                      refused=shown, done=lambda e: f"已保存“{e.name}”的信息。",
                      back=url_for("experts.detail", expert_id=expert.id))


@bp.route("/<int:expert_id>/active", methods=["POST"])
def set_active(expert_id: int):
    require(current_user, "experts.manage")
    expert = _expert_or_404(expert_id)
    active = request.form.get("active") == "1"
    return run_action(lambda: svc.set_active(current_user, expert, active), form=ActionForm(),
                      done=f"已{'启用' if active else '停用'}专家“{expert.name}”。"
                           + ("" if active else "停用后不会再被抽取，已抽取的评标委员会不受影响。"),
                      back=url_for("experts.detail", expert_id=expert.id))


# --- an expert's page: the ties ------------------------------------------------------------------------------------------

def _village_choices() -> dict:
    """The villages (交易点) under their towns, in the city's order, after a blank."""
    groups: dict = {None: [(0, "请选择村（社区）")]}
    town = None
    for unit in svc.village_units(current_user):
        if unit.kind == OrgKind.STATION.value:
            town = unit.area_name
            groups.setdefault(town, [])
        elif unit.kind == OrgKind.POINT.value:
            groups.setdefault(town or "其他", []).append((unit.id, unit.area_name))
    return {k: v for k, v in groups.items() if v}


def _detail(expert: Expert, *, village_form: VillageTieForm | None = None, party_form: PartyTieForm | None = None,
            q: str | None = None, status: int = 200):
    manage = can(current_user, "experts.manage")
    if manage:
        village_form = village_form or VillageTieForm(formdata=None)
        village_form.org_unit_id.choices = _village_choices()
        party_form = party_form or PartyTieForm(formdata=None)
    q = (q if q is not None else request.args.get("q") or "").strip()[:60]
    found = svc.search_parties(current_user, q) if manage and q else []
    tied = {t.party_id for t in expert.party_ties}
    return render_template("procurement/expert_detail.html", expert=expert, manage=manage, village_form=village_form,
                           party_form=party_form, q=q, found=found, tied=tied, action_form=ActionForm(),
                           mask_mobile=mask_mobile), status


@bp.route("/<int:expert_id>")
def detail(expert_id: int):
    require(current_user, "experts.view")
    return _detail(_expert_or_404(expert_id))


@bp.route("/<int:expert_id>/villages", methods=["POST"])
def village_add(expert_id: int):
    require(current_user, "experts.manage")
    expert = _expert_or_404(expert_id)
    form = VillageTieForm()
    form.org_unit_id.choices = _village_choices()

    def refused(exc=None):
        if exc is not None:
            apply_service_error(form, exc)
        return _detail(expert, village_form=form)

    if not form.validate_on_submit():
        return refused()
    return run_action(lambda: svc.add_village_tie(current_user, expert, form.org_unit_id.data, form.reason.data),
                      refused=refused, done=lambda t: f"已登记：{expert.name} 与 {t.org_unit.area_name} 有利害关系，"
                                                      "该村的项目抽取评标专家时回避。",
                      back=url_for("experts.detail", expert_id=expert.id))


@bp.route("/<int:expert_id>/villages/<int:tie_id>/remove", methods=["POST"])
def village_remove(expert_id: int, tie_id: int):
    require(current_user, "experts.manage")
    expert = _expert_or_404(expert_id)
    tie = _tie_or_404(ExpertVillageTie, expert, tie_id)
    village = tie.org_unit.area_name
    return run_action(lambda: svc.remove_village_tie(current_user, tie), form=ActionForm(),
                      done=f"已删除 {expert.name} 与 {village} 的利害关系。",
                      back=url_for("experts.detail", expert_id=expert.id))


@bp.route("/<int:expert_id>/parties", methods=["POST"])
def party_add(expert_id: int):
    require(current_user, "experts.manage")
    expert = _expert_or_404(expert_id)
    form = PartyTieForm()

    def refused(exc=None):
        if exc is not None:
            apply_service_error(form, exc)
        return _detail(expert, party_form=form, q=form.q.data or "")

    if not form.validate_on_submit():
        return refused()
    return run_action(lambda: svc.add_party_tie(current_user, expert, form.party_id.data, form.reason.data),
                      refused=refused, done=lambda t: f"已登记：{expert.name} 与 {t.party.name} 有利害关系，"
                                                      "其参与投标的项目抽取评标专家时回避。",
                      back=url_for("experts.detail", expert_id=expert.id))


@bp.route("/<int:expert_id>/parties/<int:tie_id>/remove", methods=["POST"])
def party_remove(expert_id: int, tie_id: int):
    require(current_user, "experts.manage")
    expert = _expert_or_404(expert_id)
    tie = _tie_or_404(ExpertPartyTie, expert, tie_id)
    name = tie.party.name
    return run_action(lambda: svc.remove_party_tie(current_user, tie), form=ActionForm(),
                      done=f"已删除 {expert.name} 与 {name} 的利害关系。",
                      back=url_for("experts.detail", expert_id=expert.id))
