"""Listing pages: my listings and queues, the step-by-step intake form, materials, review decisions;
and the public site (search, project pages)."""
from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from exchange import clock
from exchange.access import AccessDenied, can, require
from exchange.accounts.models import Role
from exchange.catalog.models import Category, TransferMethod
from exchange.catalog.data import ACQUISITIONS
from exchange.catalog.services import needs_acquisition
from exchange.errors import redisplay_on_csrf
from exchange.extensions import db
from exchange.inputs import InputError, arg_id, arg_money, arg_page, arg_quantity
from exchange.listings import rules
from exchange.listings import services as svc
from exchange.orgs.services import in_tree_order
from exchange.listings.forms import (STEPS, CenterReviewForm, MaterialForm, NewListingForm, ReasonForm,
                                     StationOpinionForm)
from exchange.listings.models import Listing, ListingMaterial
from exchange.listings.workflow import PUBLIC_STATES, STATE_LABELS, allowed
from exchange.orgs.models import OrgKind, OrgUnit
from exchange.pages import ActionForm, apply_service_error, run_action

bp = Blueprint("listings", __name__, url_prefix="/listings")
public_bp = Blueprint("public", __name__, url_prefix="/projects")


def _listing(listing_id: int) -> Listing:
    listing = db.session.get(Listing, listing_id)
    if listing is None:
        abort(404)
    svc.require_view(current_user, listing)
    return listing


def _categories():
    return list(db.session.scalars(select(Category).where(Category.active.is_(True)).order_by(Category.seq)))


# --- lists and queues -------------------------------------------------------------------------------

QUEUE_STATES = {
    Role.POINT_CLERK: ("draft", "returned"),
    Role.STATION_REVIEWER: ("station_review",),
    Role.CENTER_REVIEWER: ("center_review",),
    Role.PUBLIC: ("draft", "returned"),
}


@bp.route("/")
@login_required
def index():
    state = request.args.get("state") or None
    if state and state not in STATE_LABELS:
        state = None
    stmt = svc.scoped_listings(current_user)
    if state:
        stmt = stmt.where(Listing.state == state)
    stmt = stmt.order_by(Listing.state_since.desc())
    page = db.paginate(stmt, page=arg_page(), per_page=20, error_out=False)
    return render_template("listings/index.html", page=page, state=state, states=STATE_LABELS, now=clock.now())


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    if current_user.role not in (Role.POINT_CLERK, Role.CENTER_REVIEWER, Role.PUBLIC):
        raise AccessDenied("只有交易点信息员、交易中心审核员或转让方本人可以新建挂牌项目。")
    form = NewListingForm()
    form.category_id.choices = [(c.id, c.name) for c in _categories()]
    direct = current_user.role != Role.POINT_CLERK
    if direct:
        points = in_tree_order(  # the city's order of towns (DESIGN §1), then each town's villages
            list(db.session.scalars(select(OrgUnit).where(OrgUnit.kind == OrgKind.POINT.value,
                                                          OrgUnit.active.is_(True)))))
        form.point_id.choices = [(p.id, f"{p.parent.area_name} · {p.area_name}") for p in points]
    else:
        del form.point_id  # a village clerk always drafts for their own village

    def page(status: int = 200):
        return render_template("listings/new.html", form=form, direct=direct), status

    def refused(exc):
        apply_service_error(form, exc)
        return page()

    if g.get("csrf_failed"):  # shown again with what was typed, nothing created (exchange/errors.py)
        form.form_errors.append(g.csrf_failed)
        return page(400)
    if not form.validate_on_submit():
        return page()
    cat = db.session.get(Category, form.category_id.data)
    point = db.session.get(OrgUnit, form.point_id.data) if direct and form.point_id.data else None
    if direct and point is None:
        form.form_errors.append("请选择项目所在的村（社区）。")
        return page(400)
    return run_action(lambda: svc.create_draft(current_user, category=cat, point=point, title=form.title.data),
                      refused=refused, done="草稿已建立。请按步骤填写，可随时保存，下次接着填。",
                      back=url_for("listings.new"),
                      then=lambda listing: url_for("listings.edit", listing_id=listing.id, step="basic"))


redisplay_on_csrf("listings.new")


# --- the step-by-step form ----------------------------------------------------------------------------

def _step(name: str):
    for i, (key, label, form_cls) in enumerate(STEPS):
        if key == name:
            return i, key, label, form_cls
    abort(404)


def _fill_choices(form, listing: Listing) -> None:
    if hasattr(form, "category_id"):
        form.category_id.choices = [(c.id, c.name) for c in _categories()]
    if hasattr(form, "method_id"):
        cat_id = form.category_id.data or listing.category_id
        methods = db.session.scalars(select(TransferMethod).where(TransferMethod.category_id == cat_id,
                                                                  TransferMethod.active.is_(True))
                                     .order_by(TransferMethod.seq)).all()
        form.method_id.choices = [(m.id, m.name) for m in methods]


def _form_values(form, listing: Listing) -> dict:
    values = {}
    for name, field in form._fields.items():
        if name in ("csrf_token", "category_id", "method_id"):
            continue
        if name in svc.EDITABLE_FIELDS:
            data = field.data
            if isinstance(data, Decimal):
                data = str(data)
            values[name] = data
    return values


def _money_text(value) -> str:
    return "" if value is None else f"{value:.2f}"


# a procurement project (招标/采购/招商) has its own intake steps (exchange.procurement.project_views, a later stage
# named by its endpoint only): this form's step → that one's
PROCUREMENT_STEPS = {"basic": "basic", "term": "terms", "transferor": "buyer", "trade": "terms",
                     "materials": "materials"}


def _edit_url(listing: Listing, step: str, **args) -> str:
    """The intake step of this listing: the transfer form's, or a procurement project's own."""
    if listing.is_procurement:
        return url_for("procurement.edit", listing_id=listing.id, step=PROCUREMENT_STEPS.get(step, "basic"), **args)
    return url_for("listings.edit", listing_id=listing.id, step=step, **args)


@bp.route("/<int:listing_id>/edit/<step>", methods=["GET", "POST"])
@login_required
def edit(listing_id: int, step: str):
    listing = _listing(listing_id)
    if listing.is_procurement:
        _require_editor(listing)  # who asks first
        return redirect(_edit_url(listing, step))
    if not svc.can_edit(current_user, listing):
        _require_editor(listing)
        if listing.state not in svc.EDITABLE_STATES:
            flash(f"项目当前状态为“{STATE_LABELS[listing.state]}”，不能修改。", "warning")
            return redirect(url_for("listings.detail", listing_id=listing.id))
        raise AccessDenied("您没有权限修改该项目。")
    index, key, label, form_cls = _step(step)
    if form_cls is None:
        return _materials_page(listing, index)
    if request.method == "GET":
        form = form_cls(obj=listing)
        for name in svc.MONEY_FIELDS:
            if hasattr(form, name):
                getattr(form, name).data = _money_text(getattr(listing, name))
    else:
        form = form_cls()
    _fill_choices(form, listing)

    def page():
        return render_template("listings/edit.html", listing=listing, form=form, steps=STEPS, index=index,
                               step=key, step_label=label,
                               # a step sent back (refused) says its own problems beside its fields, as typed
                               todo=[t for t in _todo(listing, key) if not (request.method == "POST" and t["current"])],
                               acquisition=needs_acquisition(listing.category)), \
            (400 if request.method == "POST" else 200)

    def refused(exc):
        _show_refusal(form, exc)
        return page()

    if g.get("csrf_failed"):  # shown again with what was typed, nothing saved (exchange/errors.py)
        form.form_errors.append(g.csrf_failed)
        return page()

    if not form.validate_on_submit():
        return page()
    kwargs = _form_values(form, listing)
    cat = db.session.get(Category, form.category_id.data) if hasattr(form, "category_id") else None
    method = db.session.get(TransferMethod, form.method_id.data) if hasattr(form, "method_id") else None
    if method is not None and cat is not None and method.category_id != cat.id:
        method = cat.active_methods()[0] if cat.active_methods() else None
    stay = request.form.get("go") == "stay"  # 保存 stays on the step; 保存并下一步 goes on to the next one
    nxt = key if stay else STEPS[min(index + 1, len(STEPS) - 1)][0]
    return run_action(lambda: svc.update_draft(current_user, listing, category=cat, method=method, **kwargs),
                      refused=refused, done="已保存。" if stay else None,
                      back=url_for("listings.edit", listing_id=listing.id, step=nxt))


def _show_refusal(form, exc) -> None:
    """A service's refusal on the form: each wrong value beside its field (all of them at once), the rest on top."""
    errors = getattr(exc, "errors", None)
    if not errors:
        apply_service_error(form, exc)
        return
    for name, words in errors:
        field = getattr(form, name, None) if name else None
        if field is not None:
            field.errors = list(field.errors) + [words]
        else:
            form.form_errors.append(words)


def _step_fields() -> dict[str, str]:
    """Which step of the form asks for each field (a Listing attribute; ``materials`` for the materials step)."""
    from wtforms.fields.core import UnboundField
    out = {"materials": "materials"}
    for key, _label, form_cls in STEPS:
        if form_cls is not None:
            out.update({n: key for n in dir(form_cls) if isinstance(getattr(form_cls, n, None), UnboundField)})
    return out


def _todo(listing: Listing, current: str, *, for_submit: bool = False) -> list[dict]:
    """What is still to be done, step by step (the current step first), each with the step's link."""
    where = _step_fields()
    groups: dict[str, list[str]] = {}
    for p in rules.checks(listing, for_submit=for_submit):
        groups.setdefault(where.get(p.field, "basic"), []).append(p.message)
    out = []
    for i, (key, label, _cls) in enumerate(STEPS):
        if key in groups:
            out.append({"key": key, "label": f"第 {i + 1} 步 {label}", "current": key == current,
                        "url": url_for("listings.edit", listing_id=listing.id, step=key), "items": groups[key]})
    out.sort(key=lambda g: not g["current"])
    return out


redisplay_on_csrf("listings.edit")


def _require_editor(listing: Listing) -> None:
    """Who may never edit this listing (whatever its state — 监管 is read-only) is refused before anything else."""
    svc.authorise_edit(current_user, listing)


def next_missing_kind(listing: Listing, after: str | None = None) -> str:
    """The material type the upload form offers next: the first required type still missing after ``after`` (the one
    just uploaded), else the first missing one, else 其他材料."""
    missing = rules.missing_materials(listing)
    if not missing:
        return "other"
    order = list(rules.MATERIAL_KINDS)
    if after in order:
        later = [k for k in missing if order.index(k) > order.index(after)]
        if later:
            return later[0]
    return missing[0]


def _materials_page(listing: Listing, index: int):
    form = MaterialForm()
    required, missing = rules.required_materials(listing), rules.missing_materials(listing)
    after = request.args.get("after")
    form.kind.data = next_missing_kind(listing, after if after in rules.MATERIAL_KINDS else None)
    return render_template("listings/materials.html", listing=listing, form=form, steps=STEPS, index=index,
                           step="materials", step_label="材料", required=required, missing=missing,
                           kinds=rules.MATERIAL_KINDS, reasons=rules.MATERIAL_REASONS,
                           problems=rules.problems(listing, for_submit=True),
                           todo=_todo(listing, "materials", for_submit=True), action_form=ActionForm())


@bp.route("/<int:listing_id>/materials", methods=["POST"])
@login_required
def upload(listing_id: int):
    listing = _listing(listing_id)
    _require_editor(listing)
    form = MaterialForm()
    back = _edit_url(listing, "materials")
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for e in errors:
                flash(e if isinstance(e, str) else "上传失败，请重试。", "error")
        return redirect(back)
    def uploaded(material):
        left = rules.missing_materials(listing)
        then = f"还缺 {len(left)} 项必需材料。" if left else "必需材料已齐全。"
        return f"已上传“{rules.MATERIAL_KINDS[material.kind].label}”。{then}"

    return run_action(lambda: svc.add_material(current_user, listing, form.kind.data, form.file.data),
                      done=uploaded, back=back, then=lambda m: _edit_url(listing, "materials", after=m.kind))


@bp.route("/<int:listing_id>/materials/<int:material_id>/delete", methods=["POST"])
@login_required
def delete_material(listing_id: int, material_id: int):
    listing = _listing(listing_id)
    _require_editor(listing)
    material = db.session.get(ListingMaterial, material_id)
    if material is None or material.listing_id != listing.id:
        abort(404)
    return run_action(lambda: svc.remove_material(current_user, material), form=ActionForm(), done="材料已删除。",
                      back=_edit_url(listing, "materials"))


@bp.route("/<int:listing_id>/materials/<int:material_id>")
def download(listing_id: int, material_id: int):
    material = db.session.get(ListingMaterial, material_id)
    if material is None or material.listing_id != listing_id:
        abort(404)
    if not svc.can_download(current_user, material):
        if not current_user.is_authenticated:
            return redirect(url_for("accounts.login", next=request.path))
        raise AccessDenied("您没有权限下载该材料。")
    from exchange.uploads import send_stored
    inline = request.args.get("inline") == "1"
    return send_stored(material.storage_key, material.filename, material.content_type, inline=inline)


# --- detail and decisions ----------------------------------------------------------------------------

@bp.route("/<int:listing_id>")
@login_required
def detail(listing_id: int):
    listing = _listing(listing_id)
    transitions = {t.name for t in allowed(listing, current_user)}
    review_form = CenterReviewForm()
    return render_template("listings/detail.html", listing=listing, transitions=transitions,
                           reason_form=ReasonForm(), review_form=review_form, checklist=svc.CENTER_CHECKLIST,
                           problems=rules.problems(listing, for_submit=True), kinds=rules.MATERIAL_KINDS,
                           can_edit=svc.can_edit(current_user, listing), pending=svc.pending_opinion(listing),
                           action_form=ActionForm(), events=list(reversed(listing.events)),
                           station=_station_part(listing), opinion_form=StationOpinionForm())


def _station_part(listing: Listing) -> dict:
    """第十四条: what the station did in the review under way, and who may act on it now (for the page)."""
    in_review = listing.is_center_review
    opinion = svc.station_opinion(listing)
    passed = svc.station_passed(listing)
    user = current_user
    is_center = in_review and user.is_authenticated and can(user, "listings.center_review", listing.org)
    is_station = in_review and user.is_authenticated and can(user, "listings.station_review", listing.org)
    pending = svc.pending_opinion(listing)
    return {"opinion": opinion, "passed": passed, "pending": pending,
            "missing": svc.station_problems(listing) if in_review else [],
            "may_request": is_center and opinion is None and pending is None,
            "may_record_unavailable": is_center and opinion is None and pending is not None,
            "may_give": is_station and opinion is None and (passed is None or pending is not None)}


def _back(listing: Listing) -> str:
    return url_for("listings.detail", listing_id=listing.id)


@bp.route("/<int:listing_id>/submit", methods=["POST"])
@login_required
def submit(listing_id: int):
    listing = _listing(listing_id)
    return run_action(lambda: svc.submit(current_user, listing), form=ActionForm(), back=_back(listing),
                      done=lambda _: "已提交" + ("交易站初审" if listing.is_station_review else "交易中心审核")
                      + "。请打印受理回执交给转让方。",
                      then=lambda _: url_for("listings.receipt", listing_id=listing.id))


# --- 受理回执 (the receipt handed to the household) and the public progress page its QR code opens ---------------

def _receipt_context(listing: Listing) -> dict:
    from exchange.listings import receipt
    return receipt.context(listing, progress_url=url_for("public.progress", intake_no=listing.intake_no,
                                                         key=listing.progress_key, _external=True))


@bp.route("/<int:listing_id>/receipt")
@login_required
def receipt(listing_id: int):
    listing = _listing(listing_id)
    if not listing.intake_no:
        abort(404)
    return render_template("listings/receipt.html", listing=listing, **_receipt_context(listing))


@bp.route("/<int:listing_id>/receipt.pdf")
@login_required
def receipt_pdf(listing_id: int):
    listing = _listing(listing_id)
    if not listing.intake_no:
        abort(404)
    from urllib.parse import quote

    from flask import Response

    from exchange.pdf import render_pdf
    data = render_pdf("listings/receipt_pdf.html", listing=listing, **_receipt_context(listing))
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f"inline; filename*=UTF-8''{quote('受理回执-' + listing.intake_no + '.pdf')}"})


def _station(listing_id: int, passed: bool):
    listing = _listing(listing_id)
    svc.authorise_station_review(current_user, listing)  # who asks first, then what was sent
    form = ReasonForm()
    return run_action(lambda: svc.station_decide(current_user, listing, passed, form.reason.data or ""),
                      form=form, back=_back(listing), done="已报送交易中心。" if passed else "已退回交易点。")


@bp.route("/<int:listing_id>/station/pass", methods=["POST"])
@login_required
def station_pass(listing_id: int):
    return _station(listing_id, True)


@bp.route("/<int:listing_id>/station/return", methods=["POST"])
@login_required
def station_return(listing_id: int):
    return _station(listing_id, False)


CENTER_DONE = {"approve": "已发布公告，项目编号 {no}。", "return": "已退回修改。", "reject": "已作出不予受理决定。"}


@bp.route("/<int:listing_id>/center", methods=["POST"])
@login_required
def center(listing_id: int):
    """The center's review: one decision (审核结论 approve / return / reject) with its checklist."""
    listing = _listing(listing_id)
    require(current_user, "listings.center_review", listing.org)
    form = CenterReviewForm()
    checklist = {
        "ownership": {"ok": form.ownership.data, "note": form.ownership_note.data},
        "qualification": {"ok": form.qualification.data, "note": form.qualification_note.data},
        "planning": {"ok": form.planning.data, "note": form.planning_note.data},
        "decision": {"ok": form.decision_ok.data, "note": form.decision_ok_note.data},
    }
    return run_action(lambda: svc.center_decide(current_user, listing, form.decision.data, checklist,
                                                form.reason.data or ""),
                      form=form, invalid="请选择审核结论。", back=_back(listing),
                      done=lambda _: CENTER_DONE[form.decision.data].format(no=listing.project_no))


@bp.route("/<int:listing_id>/opinion/request", methods=["POST"])
@login_required
def request_opinion(listing_id: int):
    """The center asks the town station's opinion (征求意见)."""
    listing = _listing(listing_id)
    svc.authorise_center_review(current_user, listing)
    form = ReasonForm()
    return run_action(lambda: svc.request_station_opinion(current_user, listing, form.reason.data or ""),
                      form=form, back=_back(listing), done=lambda _: f"已征求{listing.station.name}意见。")


@bp.route("/<int:listing_id>/opinion/give", methods=["POST"])
@login_required
def give_opinion(listing_id: int):
    """The town station gives its opinion (第十四条): agree or disagree, with its reasons."""
    listing = _listing(listing_id)
    svc.authorise_station_review(current_user, listing)
    form = StationOpinionForm()
    return run_action(lambda: svc.give_station_opinion(current_user, listing, form.reasons.data or "",
                                                       verdict=form.verdict.data),
                      form=form, invalid="请选择“同意”或“不同意”，并写明理由。", back=_back(listing),
                      done="意见已送交易中心。")


@bp.route("/<int:listing_id>/opinion/unavailable", methods=["POST"])
@login_required
def opinion_unavailable(listing_id: int):
    """The center records why the station's opinion could not be had (第十四条)."""
    listing = _listing(listing_id)
    svc.authorise_center_review(current_user, listing)
    form = ReasonForm()
    return run_action(lambda: svc.record_opinion_unavailable(current_user, listing, form.reason.data or ""),
                      form=form, back=_back(listing), done="已记录未能取得交易站意见的原因。")


# --- public site ------------------------------------------------------------------------------------

@public_bp.route("/")
def search():
    """The public project list.  Each filter is read by the shared parser of its kind (exchange.inputs); a value that
    cannot be used is left out of the search and named on the page beside its field (answered 400), never dropped
    silently: the visitor sees the results of the other filters and what to correct."""
    problems: dict[str, str] = {}

    def read(name, parse):
        try:
            return parse()
        except InputError as exc:
            problems[name] = exc.message.rstrip("。")
            return None

    def choice(name, label, allowed, default=None):
        raw = (request.args.get(name) or "").strip()
        if raw and raw not in allowed:
            problems[name] = f"{label}没有“{raw[:20]}”这一项，请从列表中选择"
            return default
        return raw or default

    categories = _categories()
    towns = db.session.scalars(select(OrgUnit).where(OrgUnit.kind == OrgKind.STATION.value,
                                                     OrgUnit.active.is_(True)).order_by(OrgUnit.sort_order)).all()
    category_id = read("category", lambda: arg_id("category", "交易品种"))
    if category_id is not None and category_id not in {c.id for c in categories}:
        problems["category"], category_id = "没有这个交易品种，请从列表中选择", None
    station_id = read("town", lambda: arg_id("town", "镇（街道）"))
    if station_id is not None and station_id not in {t.id for t in towns}:
        problems["town"], station_id = "没有这个镇（街道），请从列表中选择", None
    params = svc.SearchParams(
        q=(request.args.get("q") or "").strip()[:40],
        category_id=category_id,
        station_id=station_id,
        method=choice("method", "交易方式", rules.TRADING_METHODS),
        status=choice("status", "状态", PUBLIC_STATES),
        price_min=read("price_min", lambda: arg_money("price_min", "最低底价", minimum=0)),
        price_max=read("price_max", lambda: arg_money("price_max", "最高底价", minimum=0)),
        area_min=read("area_min", lambda: arg_quantity("area_min", "最小数量", minimum=0)),
        area_max=read("area_max", lambda: arg_quantity("area_max", "最大数量", minimum=0)),
        sort=choice("sort", "排序方式", svc.SORTS, "newest"),
        page=arg_page(),
    )
    page = svc.public_search(params)
    args = {k: v for k, v in request.args.items() if k != "page" and v and k not in problems}
    raw = {k: (request.args.get(k) or "").strip()[:40] for k in ("price_min", "price_max", "area_min", "area_max")}
    return render_template("public/search.html", page=page, params=params, categories=categories, towns=towns,
                           methods=rules.TRADING_METHODS, states={s: STATE_LABELS[s] for s in PUBLIC_STATES},
                           args=args, problems=problems, raw=raw), 400 if problems else 200


@public_bp.route("/<project_no>")
def project(project_no: str):
    listing = db.session.scalar(select(Listing).where(Listing.project_no == project_no[:30]))
    if listing is None or listing.state not in PUBLIC_STATES:
        abort(404)
    materials = [m for m in listing.materials if m.public]
    # its deal, when trading has one, comes from trading's template global ``deal_of`` (a later stage)
    return render_template("public/project.html", listing=listing, materials=materials, kinds=rules.MATERIAL_KINDS)


@public_bp.route("/progress/<intake_no>/<key>")
def progress(intake_no: str, key: str):
    """Where a submitted listing is now, for the household holding its 受理回执 (QR code): the stage and the dates,
    nothing personal (no names, numbers, prices, reasons).  The 受理编号 with its key opens it; either alone does not."""
    import hmac
    listing = db.session.scalar(select(Listing).where(Listing.intake_no == intake_no[:30]))
    if listing is None or not listing.progress_key or \
            not hmac.compare_digest(listing.progress_key.encode(), key[:16].encode()):
        abort(404)
    from exchange.listings import receipt
    return render_template("public/progress.html", listing=listing, **receipt.progress(listing))


@bp.app_context_processor
def _listing_globals():
    return {"state_labels": STATE_LABELS, "public_states": PUBLIC_STATES, "trading_methods": rules.TRADING_METHODS,
            "transferor_kinds": rules.TRANSFEROR_KINDS,
            "acquisitions": ACQUISITIONS}


@bp.app_template_filter("mask_name")
def _mask_name(value):
    from exchange.idcheck import mask_name
    return mask_name(value or "")


@public_bp.route("/<project_no>/announcement.pdf")
def announcement_pdf(project_no: str):
    listing = db.session.scalar(select(Listing).where(Listing.project_no == project_no[:30]))
    if listing is None or listing.state not in PUBLIC_STATES:  # authorised before the cache is looked at
        abort(404)
    from exchange.pdf import pdf_response
    # rendered once per version of what it prints (cached, shared by the processes; ETag / 304)
    # a procurement project prints its 招标/采购/招商公告 (the template reads its terms through procurement_of)
    template = "procurement/announcement_pdf.html" if listing.is_procurement else "public/announcement_pdf.html"
    return pdf_response("announcement", listing.id, template, f"{listing.project_no}.pdf", listing=listing)
