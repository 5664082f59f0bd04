"""The pages of a procurement project (招标/采购/招商, issue 18; DESIGN §3.12), up to the 最低价法 evaluation.

* ``/procurement/new`` and ``/procurement/<id>/edit/<step>`` — the village point's (or the center's) intake in four
  steps: 项目概况, 采购需求与评标办法, 采购人与民主决策 (四议两公开), 材料.  A procurement project is a listing, so it is
  submitted, reviewed and published on the listing's own pages; these pages only fill it in.
* ``/procurement/<id>/bid`` — a supplier's sealed bid, its receipt (SHA-256) and its withdrawal before the deadline.
* ``/projects/<no>/opening`` — the public 开标 record: before the opening only the time (never how many bid, 《招标投标法》
  第二十二条), after it every opened bid with its document, files and the project's published key.
* ``/procurement/<id>/evaluation`` — the trading officer's 评标 for 最低价法 (否决 with a reason, the ranking, 确认);
  read by the reviewer, finance and the supervisor.

Thin views: every rule is the services' (``listings.services`` for what a listing has, ``procurement.services`` for the
terms, the bids and the evaluation); a refusal is shown beside its field.  Pages never write on a GET (no
``ensure_project`` here: a project without its terms row yet is shown empty)."""
from __future__ import annotations

import json
from decimal import Decimal

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from exchange import clock
from exchange.access import AccessDenied, can, require
from exchange.accounts.models import Role
from exchange.catalog.models import Category, TransferMethod
from exchange.errors import ServiceError, redisplay_on_csrf
from exchange.extensions import db
from exchange.listings import rules as lrules
from exchange.listings import services as lsvc
from exchange.listings.forms import MaterialForm
from exchange.listings.models import Listing
from exchange.listings.views import next_missing_kind
from exchange.listings.workflow import PUBLIC_STATES, STATE_LABELS
from exchange.money import format_yuan
from exchange.orgs.models import OrgKind, OrgUnit
from exchange.orgs.services import in_tree_order
from exchange.pages import ActionForm, run_action
from exchange.procurement import services as psvc
from exchange.procurement.models import ProcurementBid, ProcurementProject
from exchange.procurement.project_forms import MODES, STEPS, BidForm, InvalidForm, NewProjectForm
from exchange.registrations.models import Registration
from exchange.uploads import content_disposition, send_stored

bp = Blueprint("procurement", __name__)

# the listing fields (and the terms' fields) each step asks for: where a problem of ``listings.rules.checks`` is shown
STEP_OF = {
    "title": "basic", "location": "basic", "description": "basic", "category_id": "basic", "method_id": "basic",
    "procurement": "terms", "method": "basic", "limit": "terms", "bond": "terms", "opens_at": "terms",
    **{name: "terms" for name in psvc.TERMS_FIELDS},
    **{name: "buyer" for name in ("transferor_name", "transferor_id_no", "transferor_mobile", "transferor_kind",
                                  "decision_type", "decision_date", "reps_total", "reps_for", "entrusted",
                                  "agent_name", "agent_id_no", "agent_mobile")},
    "materials": "materials",
}
# a service's field name → the form field that shows its refusal
FORM_FIELD = {"limit": "limit_price", "opens_at": "opens_date", "method": "method_id", "mode": "mode"}
# the materials a procurement project may carry (listings.rules.required_materials says which are required), as the
# 采购人 reads them
MATERIALS = {k: lrules.PROCUREMENT_MATERIAL_LABELS.get(k, lrules.MATERIAL_KINDS[k].label)
             for k in ("qualification", "approval", "scope", "entrustment", "agent_id", "photo", "other")}
# why a material is asked for, in the words a village clerk passes on
REASONS = {**lrules.MATERIAL_REASONS,
           "approval": "村级项目须经“四议两公开”：请上传村民会议或村民代表会议的决议，附会议记录和签名"
                       "（《管理办法》第十二条（四））。",
           "qualification": "村（组）集体经济组织的登记证书，或村民委员会的统一社会信用代码证书。"}


# --- loading ----------------------------------------------------------------------------------------------------------

def _listing(listing_id: int) -> Listing:
    """A listing the signed-in staff member (or its transferor) may see."""
    listing = db.session.get(Listing, listing_id)
    if listing is None:
        abort(404)
    lsvc.require_view(current_user, listing)
    return listing


def _published(listing_id: int) -> Listing:
    """A published procurement project (the public's pages)."""
    listing = db.session.get(Listing, listing_id)
    if listing is None or not listing.is_procurement or listing.state not in PUBLIC_STATES \
            or psvc.project_of(listing) is None:
        abort(404)
    return listing


def _by_number(project_no: str) -> tuple[Listing, ProcurementProject]:
    listing = db.session.scalar(select(Listing).where(Listing.project_no == project_no[:30]))
    project = psvc.project_of(listing) if listing is not None and listing.is_procurement else None
    if project is None or listing.state not in PUBLIC_STATES:
        abort(404)
    return listing, project


def _supplier_registration(listing: Listing) -> Registration | None:
    if not current_user.is_authenticated or current_user.role != Role.PUBLIC:
        return None
    return db.session.scalar(select(Registration).where(Registration.listing_id == listing.id,
                                                        Registration.buyer_id == current_user.id))


def _require_supplier() -> None:
    if current_user.role != Role.PUBLIC:  # who asks first: staff learn nothing of the project's bids
        raise AccessDenied("工作人员账号不能投标，请使用供应商（交易主体）账号登录。")


# --- read-only helpers for templates (the listing's pages show a project's terms through them) ------------------------

@bp.app_template_global("procurement_of")
def procurement_of(listing) -> ProcurementProject | None:
    """The terms of a procurement listing (None for any other listing, or before its terms were first saved)."""
    if listing is None or not getattr(listing, "is_procurement", False):
        return None
    return psvc.project_of(listing)


@bp.app_template_global("procurement_outcome")
def procurement_outcome(project) -> dict | None:
    """The ranking as the evaluation stored it: {"ranked": [...], "invalid": [...]} (None before)."""
    if project is None or not project.outcome_json:
        return None
    return json.loads(project.outcome_json)


@bp.app_template_global("procurement_material")
def procurement_material(kind: str) -> str:
    """A material's name as a procurement project's pages say it (采购人, 四议两公开 决议 …)."""
    return MATERIALS.get(kind) or lrules.MATERIAL_KINDS[kind].label


@bp.app_template_global("supplier_registration")
def supplier_registration(listing) -> Registration | None:
    """The signed-in supplier's registration on this project (None for anyone else)."""
    return _supplier_registration(listing)


@bp.app_template_filter("weight")
def _weight(value) -> str:
    """A score or weight without trailing zeros: 30.00 → 30, 12.50 → 12.5."""
    if value in (None, ""):
        return ""
    return format(Decimal(str(value)).normalize(), "f")


# --- a new project ----------------------------------------------------------------------------------------------------

def _require_creator() -> None:
    if current_user.role not in (Role.POINT_CLERK, Role.CENTER_REVIEWER):
        raise AccessDenied("只有交易点信息员或交易中心审核员可以新建招标采购项目。")


@bp.route("/procurement/new", methods=["GET", "POST"])
@login_required
def new():
    _require_creator()
    form = NewProjectForm()
    direct = current_user.role == Role.CENTER_REVIEWER
    if direct:
        points = in_tree_order(list(db.session.scalars(
            select(OrgUnit).where(OrgUnit.kind == OrgKind.POINT.value, OrgUnit.active.is_(True)))))
        form.point_id.choices = [(0, "请选择村（社区）")] + [(p.id, f"{p.parent.area_name} · {p.area_name}")
                                                          for p in points]
    else:
        del form.point_id  # a village clerk always drafts for their own village

    def page(status: int = 200):
        return render_template("procurement/new.html", form=form, direct=direct), status

    def refused(exc):
        _show_refusal(form, exc)
        return page(400)

    if g.get("csrf_failed"):
        form.form_errors.append(g.csrf_failed)
        return page(400)
    if not form.validate_on_submit():
        return page(400 if request.method == "POST" else 200)
    point = None
    if direct:
        point = db.session.get(OrgUnit, form.point_id.data) if form.point_id.data else None
        if point is None:
            form.point_id.errors = list(form.point_id.errors) + ["请选择项目所在的村（社区）。"]
            return page(400)
    return run_action(lambda: psvc.create_project(current_user, mode=form.mode.data, title=form.title.data,
                                                  point=point),
                      refused=refused, back=url_for("procurement.new"),
                      done="草稿已建立。请按步骤填写，可随时保存，下次接着填。",
                      then=lambda listing: url_for("procurement.edit", listing_id=listing.id, step="basic"))


redisplay_on_csrf("procurement.new")


# --- the intake steps -------------------------------------------------------------------------------------------------

LISTING_STEP = {"basic": "basic", "terms": "term", "buyer": "transferor", "materials": "materials"}


def _step(name: str):
    for i, (key, label, form_cls) in enumerate(STEPS):
        if key == name:
            return i, key, label, form_cls
    abort(404)


def _show_refusal(form, exc) -> None:
    """A service's refusal on the form: each wrong value beside its field (all at once), the rest on top."""
    errors = getattr(exc, "errors", None) or [(getattr(exc, "field", None), exc.message)]
    for name, words in errors:
        name = FORM_FIELD.get(name, name)
        field = getattr(form, name, None) if name else None
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors) + [words]
        else:
            form.form_errors.append(words)


def _todo(listing: Listing, current: str, *, for_submit: bool = False) -> list[dict]:
    """What is still to be done before submitting, step by step (the current step first)."""
    groups: dict[str, list[str]] = {}
    for p in lrules.checks(listing, for_submit=for_submit):
        groups.setdefault(STEP_OF.get(p.field, "basic"), []).append(p.message)
    out = []
    for i, (key, label, _cls) in enumerate(STEPS):
        if key in groups:
            out.append({"key": key, "label": f"第 {i + 1} 步 {label}", "current": key == current,
                        "url": url_for("procurement.edit", listing_id=listing.id, step=key), "items": groups[key]})
    out.sort(key=lambda g: not g["current"])
    return out


def _procurement_methods() -> list[TransferMethod]:
    category = db.session.scalar(select(Category).where(Category.code == lrules.PROCUREMENT_CATEGORY))
    if category is None:
        return []
    return [m for m in category.active_methods() if m.name in lrules.PROCUREMENT_METHODS]


def _money_text(value) -> str:
    return "" if value is None else f"{value:.2f}"


def _criteria_text(project: ProcurementProject | None) -> str:
    if project is None:
        return ""
    return "\n".join(f"{c['name']}:{_weight(c['weight'])}" for c in project.criteria)


def _fill(form, key: str, listing: Listing, project: ProcurementProject | None) -> None:
    """A step's form as the project stands (a GET)."""
    if key == "basic":
        form.method_id.data = listing.method_id
    elif key == "terms" and project is not None:
        form.kind.data = project.kind or None
        form.budget.data = _money_text(project.budget)
        form.limit_price.data = _money_text(project.limit_price)
        form.eval_kind.data = project.eval_kind
        form.price_weight.data = _weight(project.price_weight) if project.price_weight else ""
        form.criteria.data = _criteria_text(project)
        form.trim_extremes.data = project.trim_extremes
        form.specialty.data = project.specialty
        form.panel_size.data = str(project.panel_size)
        form.scope.data = project.scope
        form.requirements.data = project.requirements
        if project.opens_at is not None:
            local = clock.to_local(project.opens_at)
            form.opens_date.data, form.opens_time.data = f"{local:%Y-%m-%d}", f"{local:%H:%M}"
    if key == "terms":
        form.bond.data = _money_text(listing.deposit_amount)


def _terms_values(form, buying: bool) -> dict:
    """The terms as typed, for ``save_terms`` (which parses and checks each).  The 综合评分法 fields are that method's:
    with 最低价法 chosen they are saved empty (the page hides them), never left to contradict the method."""
    scored = form.eval_kind.data == "scored"
    day, at = (form.opens_date.data or "").strip(), (form.opens_time.data or "").strip()
    values = {
        "budget": form.budget.data, "limit_price": form.limit_price.data, "bond": form.bond.data,
        "eval_kind": form.eval_kind.data or "", "price_weight": form.price_weight.data if scored else "",
        "criteria": form.criteria.data if scored else "", "trim_extremes": bool(form.trim_extremes.data) and scored,
        "specialty": form.specialty.data or "", "panel_size": form.panel_size.data or "3",
        "scope": form.scope.data or "", "requirements": form.requirements.data or "",
        "opens_at": f"{day} {at}" if (day or at) else "",
    }
    if buying:
        values["kind"] = form.kind.data or ""
    return values


def _save(key: str, form, listing: Listing, methods: list[TransferMethod]):
    """The one save of a step (its service call)."""
    if key == "basic":
        method = next((m for m in methods if m.id == form.method_id.data), None)
        changed = method is not None and method.id != listing.method_id

        def save():
            lsvc.update_draft(current_user, listing, method=method, title=form.title.data,
                              location=form.location.data or "", description=form.description.data or "")
            if changed or psvc.project_of(listing) is None:
                psvc.save_terms(current_user, listing)  # the terms follow the method (招商: higher is better)
            return listing
        return save
    if key == "terms":
        buying = not (listing.method and listing.method.name == "招商")
        return lambda: psvc.save_terms(current_user, listing, **_terms_values(form, buying))
    fields = {name: form[name].data for name in ("transferor_name", "transferor_id_no", "transferor_mobile",
                                                 "decision_type", "decision_date", "reps_total", "reps_for",
                                                 "agent_name", "agent_id_no", "agent_mobile")}
    fields = {k: (v or "") for k, v in fields.items()}
    fields["entrusted"] = bool(form.entrusted.data)
    return lambda: lsvc.update_draft(current_user, listing, **fields)


@bp.route("/procurement/<int:listing_id>/edit/<step>", methods=["GET", "POST"])
@login_required
def edit(listing_id: int, step: str):
    listing = _listing(listing_id)
    lsvc.authorise_edit(current_user, listing)  # who may never edit it is refused first, whatever was sent
    if not listing.is_procurement:  # a listing that is no procurement project has the transfer intake
        return redirect(url_for("listings.edit", listing_id=listing.id, step=LISTING_STEP.get(step, "basic")))
    if listing.state not in lsvc.EDITABLE_STATES:
        flash(f"项目当前状态为“{STATE_LABELS[listing.state]}”，不能修改。", "warning")
        return redirect(url_for("listings.detail", listing_id=listing.id))
    index, key, label, form_cls = _step(step)
    project = psvc.project_of(listing)
    if form_cls is None:
        return _materials_page(listing, index)
    form = form_cls(obj=listing) if request.method == "GET" else form_cls()
    methods = _procurement_methods()
    if key == "basic":
        form.method_id.choices = [(m.id, MODES.get(m.name, m.name)) for m in methods]
    if request.method == "GET":
        _fill(form, key, listing, project)
    investing = listing.method is not None and listing.method.name == "招商"
    if key == "terms" and investing:  # 招商: the collective receives; the best price is the highest
        form.limit_price.label.text = "最低价（元）"
        form.scope.label.text = "招商内容"
        form.eval_kind.choices = [("lowest_price", "最高价法（价高者得）"), ("scored", "综合评分法")]

    def page():
        posted = request.method == "POST"
        return render_template("procurement/edit.html", listing=listing, project=project, form=form, steps=STEPS,
                               index=index, step=key, step_label=label, investing=investing,
                               todo=[t for t in _todo(listing, key) if not (posted and t["current"])],
                               earliest=psvc.earliest_opening() if key == "terms" else None,
                               thresholds=psvc.thresholds()), (400 if posted else 200)

    def refused(exc):
        _show_refusal(form, exc)
        return page()

    if g.get("csrf_failed"):  # shown again with what was typed, nothing saved (exchange/errors.py)
        form.form_errors.append(g.csrf_failed)
        return page()
    if not form.validate_on_submit():
        return page()
    stay = request.form.get("go") == "stay"
    nxt = key if stay else STEPS[min(index + 1, len(STEPS) - 1)][0]
    return run_action(_save(key, form, listing, methods), refused=refused, done="已保存。" if stay else None,
                      back=url_for("procurement.edit", listing_id=listing.id, step=nxt))


redisplay_on_csrf("procurement.edit")


def _materials_page(listing: Listing, index: int):
    form = MaterialForm()
    required, missing = lrules.required_materials(listing), lrules.missing_materials(listing)
    form.kind.choices = [(k, MATERIALS[k]) for k in MATERIALS]
    after = request.args.get("after")
    kind = next_missing_kind(listing, after if after in lrules.MATERIAL_KINDS else None)
    form.kind.data = kind if kind in MATERIALS else "other"
    return render_template("procurement/materials.html", listing=listing, form=form, steps=STEPS, index=index,
                           step="materials", step_label="材料", required=required, missing=missing,
                           labels=MATERIALS, kinds=lrules.MATERIAL_KINDS, reasons=REASONS,
                           problems=lrules.problems(listing, for_submit=True),
                           todo=_todo(listing, "materials", for_submit=True))


# --- a supplier's sealed bid ------------------------------------------------------------------------------------------

def _my_bids(listing: Listing) -> list[ProcurementBid]:
    return list(db.session.scalars(select(ProcurementBid).where(ProcurementBid.listing_id == listing.id,
                                                                ProcurementBid.supplier_id == current_user.id)
                                   .order_by(ProcurementBid.submitted_at.desc(), ProcurementBid.id.desc())))


def _bid_page(listing: Listing, form: BidForm, status: int = 200):
    project = psvc.project_of(listing)
    reg = _supplier_registration(listing)
    mine = _my_bids(listing)
    standing = next((b for b in mine if b.state in ("sealed", "opened")), None)
    refusal = psvc.bid_refusal(current_user, listing)
    if not project.buying:
        form.price.label.text = "投资（租金）报价（元）"
    return render_template("procurement/bid.html", listing=listing, project=project, reg=reg, form=form,
                           standing=standing, history=[b for b in mine if b is not standing], refusal=refusal,
                           now=clock.now(), action_form=ActionForm(), max_files=psvc.MAX_FILES), status


@bp.route("/procurement/<int:listing_id>/bid", methods=["GET", "POST"])
@login_required
def bid(listing_id: int):
    _require_supplier()
    listing = _published(listing_id)
    form = BidForm()
    if g.get("csrf_failed"):
        form.form_errors.append(g.csrf_failed)
        return _bid_page(listing, form, 400)
    if not form.validate_on_submit():
        return _bid_page(listing, form, 400 if request.method == "POST" else 200)

    def refused(exc):
        _show_refusal(form, exc)
        return _bid_page(listing, form, 400)

    return run_action(lambda: psvc.submit_bid(current_user, listing, price=form.price.data,
                                              files=request.files.getlist(form.files.name)),
                      refused=refused, back=url_for("procurement.bid", listing_id=listing.id),
                      done="投标已密封提交。请复制或打印下面的回执（SHA-256），开标后用它核对您的投标。",
                      then=lambda b: url_for("procurement.receipt", listing_id=listing.id))


redisplay_on_csrf("procurement.bid")


@bp.route("/procurement/<int:listing_id>/bid/receipt")
@login_required
def receipt(listing_id: int):
    _require_supplier()
    listing = _published(listing_id)
    standing = next((b for b in _my_bids(listing) if b.state in ("sealed", "opened")), None)
    return render_template("procurement/receipt.html", listing=listing, project=psvc.project_of(listing),
                           bid=standing, now=clock.now(), action_form=ActionForm())


@bp.route("/procurement/<int:listing_id>/bids/<int:bid_id>/withdraw", methods=["POST"])
@login_required
def withdraw(listing_id: int, bid_id: int):
    _require_supplier()
    listing = _published(listing_id)
    found = db.session.get(ProcurementBid, bid_id)
    if found is None or found.listing_id != listing.id or found.supplier_id != current_user.id:
        abort(404)
    return run_action(lambda: psvc.withdraw_bid(current_user, found), form=ActionForm(),
                      done="已撤回投标，原回执作废。投标截止前可以重新提交。",
                      back=url_for("procurement.bid", listing_id=listing.id))


# --- the public 开标 record --------------------------------------------------------------------------------------------

@bp.route("/projects/<project_no>/opening")
def opening(project_no: str):
    listing, project = _by_number(project_no)
    bids = psvc.opening_record(listing)
    return render_template("procurement/opening.html", listing=listing, project=project, bids=bids,
                           now=clock.now(), opened=project.opened_at is not None)


def _opened_bid(project_no: str, bid_id: int) -> tuple[Listing, ProcurementBid]:
    listing, project = _by_number(project_no)
    found = db.session.get(ProcurementBid, bid_id)
    if project.opened_at is None or found is None or found.listing_id != listing.id or found.state != "opened":
        abort(404)  # nothing of a bid is served before the opening
    return listing, found


@bp.route("/projects/<project_no>/opening/bids/<int:bid_id>.json")
def opened_document(project_no: str, bid_id: int):
    """The opened bid document, byte for byte what was sealed: its SHA-256 is the supplier's receipt."""
    listing, found = _opened_bid(project_no, bid_id)
    resp = Response(found.document.encode("utf-8"), mimetype="application/json")
    resp.headers["Content-Disposition"] = content_disposition(f"{listing.project_no}-投标-{found.id}.json",
                                                              content_type="application/json")
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


@bp.route("/projects/<project_no>/opening/bids/<int:bid_id>.sealed")
def sealed_document(project_no: str, bid_id: int):
    """The sealed bytes as they were kept until the opening (to re-open with the published key)."""
    listing, found = _opened_bid(project_no, bid_id)
    resp = Response(bytes(found.sealed), mimetype="application/octet-stream")
    resp.headers["Content-Disposition"] = content_disposition(f"{listing.project_no}-密封投标-{found.id}.bin")
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


@bp.route("/projects/<project_no>/opening/bids/<int:bid_id>/files/<int:seq>")
def opened_file(project_no: str, bid_id: int, seq: int):
    _listing_, found = _opened_bid(project_no, bid_id)
    f = next((f for f in found.files if f.seq == seq and f.open_key), None)
    if f is None:
        abort(404)
    return send_stored(f.open_key, f.filename or f"file-{seq}", f.content_type or "application/octet-stream",
                       inline=request.args.get("inline") == "1")


# --- 评标 (the trading officer; read by the reviewer, finance and the supervisor) ---------------------------------------

def _evaluation_listing(listing_id: int) -> tuple[Listing, ProcurementProject]:
    listing = db.session.get(Listing, listing_id)
    project = psvc.project_of(listing) if listing is not None and listing.is_procurement else None
    if project is None or listing.project_no is None:
        abort(404)
    return listing, project


@bp.route("/procurement/<int:listing_id>/evaluation")
@login_required
def evaluation(listing_id: int):
    require(current_user, "procurement.view")
    listing, project = _evaluation_listing(listing_id)
    bids = psvc.opening_record(listing)
    preview, problem = None, None
    from exchange.procurement import scoring
    panel = scoring.panel_of(listing) if project.eval_kind == "scored" else None
    if project.state == "opened" and bids:
        sheets = scoring.signed_sheets(listing) if project.eval_kind == "scored" else None
        if project.eval_kind == "lowest_price" or sheets is not None:  # 综合评分法: once every member has signed
            try:
                preview = psvc.outcome(listing, sheets)
            except ServiceError as exc:
                problem = exc.message
    by_id = {b.id: b for b in bids}
    may_evaluate = can(current_user, "procurement.evaluate") and project.state == "opened" \
        and listing.state == "trading"
    return render_template("procurement/evaluation.html", listing=listing, project=project, bids=bids,
                           by_id=by_id, preview=preview, problem=problem, outcome=procurement_outcome(project),
                           may_evaluate=may_evaluate, invalid_form=InvalidForm(), action_form=ActionForm(), panel=panel,
                           now=clock.now())


def _evaluation_bid(listing_id: int, bid_id: int) -> tuple[Listing, ProcurementBid]:
    require(current_user, "procurement.evaluate")  # who asks first, then what was sent
    listing, _project = _evaluation_listing(listing_id)
    found = db.session.get(ProcurementBid, bid_id)
    if found is None or found.listing_id != listing.id:
        abort(404)
    return listing, found


@bp.route("/procurement/<int:listing_id>/bids/<int:bid_id>/invalid", methods=["POST"])
@login_required
def mark_invalid(listing_id: int, bid_id: int):
    listing, found = _evaluation_bid(listing_id, bid_id)
    form = InvalidForm()
    name = found.supplier.display_name
    return run_action(lambda: psvc.mark_invalid(current_user, found, form.reason.data), form=form,
                      invalid="请写明否决的理由（如：缺少资质证明、报价超过最高限价）。",
                      done=lambda b: f"已否决 {name} 的投标：{b.invalid_reason}",
                      back=url_for("procurement.evaluation", listing_id=listing.id))


@bp.route("/procurement/<int:listing_id>/bids/<int:bid_id>/valid", methods=["POST"])
@login_required
def mark_valid(listing_id: int, bid_id: int):
    listing, found = _evaluation_bid(listing_id, bid_id)
    name = found.supplier.display_name
    return run_action(lambda: psvc.mark_invalid(current_user, found, ""), form=ActionForm(),
                      done=f"已撤销对 {name} 投标的否决，该投标重新参加评审。",
                      back=url_for("procurement.evaluation", listing_id=listing.id))


@bp.route("/procurement/<int:listing_id>/evaluation/complete", methods=["POST"])
@login_required
def complete(listing_id: int):
    require(current_user, "procurement.evaluate")
    listing, _project = _evaluation_listing(listing_id)

    def done(deal):
        if deal is None:
            return "评标完成：没有有效投标，本项目流标，投标保证金将退还。"
        return (f"评标完成：第一中标候选人 {deal.registration.buyer.display_name}，报价 {format_yuan(deal.price)} 元。"
                f"中标候选人公示至 {_due(deal.publicity_end_at)}。")

    return run_action(lambda: psvc.complete_evaluation(current_user, listing), form=ActionForm(), done=done,
                      back=url_for("procurement.evaluation", listing_id=listing.id))


def _due(at) -> str:
    from exchange.workdays.services import due_text
    return due_text(at) if at else ""
