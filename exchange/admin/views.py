"""Center admin pages: the org tree, staff accounts, API tokens."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from exchange.access import require
from exchange.accounts import services as acc
from exchange.accounts import throttle
from exchange.accounts.models import ROLE_LABELS, ApiToken, Role, User
from exchange.admin.forms import OrgForm, StaffEditForm, StaffForm, TokenForm
from exchange.extensions import db
from exchange.inputs import arg_id, arg_page
from exchange.orgs import services as orgs_svc
from exchange.orgs.models import OrgKind, OrgUnit
from exchange.pages import ActionForm, Message, apply_service_error, run_action

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def _signed_in():
    return None


def _org_choices(kinds: set[str] | None = None, blank: str | None = None) -> list[tuple[int, str]]:
    units = orgs_svc.in_tree_order(list(db.session.scalars(select(OrgUnit).where(OrgUnit.active.is_(True)))))
    choices = [(0, blank)] if blank else []
    for u in units:
        if kinds and u.kind not in kinds:
            continue
        indent = "　" * (u.path.count("/") - 2)
        choices.append((u.id, f"{indent}{u.name}（{u.kind_label}）"))
    return choices


def _shown_again(form, template: str, **context):
    """A form page shown again (200, as on GET), a service's refusal next to its field: ``refused`` of
    :func:`run_action`, or called without one for a form that did not validate."""
    def shown(exc=None):
        if exc is not None:
            apply_service_error(form, exc)
        return render_template(template, form=form, **context)
    return shown


def _get_or_404(model, ident):
    obj = db.session.get(model, ident)
    if obj is None:
        abort(404)
    return obj


# --- org tree ------------------------------------------------------------------------------------

@bp.route("/orgs")
def orgs():
    require(current_user, "orgs.manage")
    units = orgs_svc.orgs_in_scope(current_user)
    return render_template("admin/orgs.html", tree=orgs_svc.tree(units), count=len(units),
                           action_form=ActionForm())


@bp.route("/orgs/new", methods=["GET", "POST"])
def org_new():
    require(current_user, "orgs.manage")
    form = OrgForm()
    form.parent_id.choices = _org_choices({OrgKind.CENTER.value, OrgKind.STATION.value}, blank="（无，仅交易中心）")
    if request.method == "GET" and request.args.get("parent"):
        parent = db.session.get(OrgUnit, arg_id("parent", "上级机构"))
        if parent:
            form.parent_id.data = parent.id
            form.kind.data = OrgKind.POINT.value if parent.kind == OrgKind.STATION else OrgKind.STATION.value
    if not form.validate_on_submit():
        return render_template("admin/org_form.html", form=form, org=None)
    parent = db.session.get(OrgUnit, form.parent_id.data) if form.parent_id.data else None
    return run_action(lambda: orgs_svc.create_org(current_user, kind=form.kind.data, parent=parent, name=form.name.data,
                                                  area_name=form.area_name.data, code=form.code.data,
                                                  division_code=form.division_code.data, address=form.address.data,
                                                  phone=form.phone.data, sort_order=form.sort_order.data or 0),
                      refused=_shown_again(form, "admin/org_form.html", org=None),
                      done=lambda org: f"已新增{org.kind_label}“{org.name}”。", back=url_for("admin.orgs"))


@bp.route("/orgs/<int:org_id>/edit", methods=["GET", "POST"])
def org_edit(org_id: int):
    require(current_user, "orgs.manage")
    org = _get_or_404(OrgUnit, org_id)
    form = OrgForm(obj=org)
    form.kind.render_kw = {"disabled": True}
    form.parent_id.choices = [(org.parent_id or 0, org.parent.name if org.parent else "（无）")]
    form.parent_id.render_kw = {"disabled": True}
    if request.method == "POST":
        form.kind.data = org.kind
        form.parent_id.data = org.parent_id or 0
    if not form.validate_on_submit():
        return render_template("admin/org_form.html", form=form, org=org)
    return run_action(lambda: orgs_svc.update_org(current_user, org, name=form.name.data, area_name=form.area_name.data,
                                                  code=form.code.data, division_code=form.division_code.data or "",
                                                  address=form.address.data or "", phone=form.phone.data or "",
                                                  sort_order=form.sort_order.data or 0),
                      refused=_shown_again(form, "admin/org_form.html", org=org),
                      done=lambda _: f"已保存“{org.name}”。", back=url_for("admin.orgs"))


@bp.route("/orgs/<int:org_id>/active", methods=["POST"])
def org_active(org_id: int):
    require(current_user, "orgs.manage")
    org = _get_or_404(OrgUnit, org_id)
    active = request.form.get("active") == "1"  # one service, the switch its argument
    return run_action(lambda: orgs_svc.set_org_active(current_user, org, active), form=ActionForm(),
                      done=lambda _: f"已{'启用' if active else '停用'}“{org.name}”。", back=url_for("admin.orgs"))


# --- staff accounts --------------------------------------------------------------------------------

@bp.route("/users")
def users():
    require(current_user, "users.manage")
    q = (request.args.get("q") or "").strip()[:40]
    role = request.args.get("role") or None
    if role and role not in {r.value for r in Role}:
        role = None
    stmt = acc.staff_query(current_user, q=q or None, role=role)
    page = db.paginate(stmt, page=arg_page(), per_page=30, error_out=False)
    return render_template("admin/users.html", page=page, q=q, role=role, roles=ROLE_LABELS,
                           action_form=ActionForm())


@bp.route("/users/new", methods=["GET", "POST"])
def user_new():
    require(current_user, "users.manage")
    form = StaffForm()
    form.org_unit_id.choices = _org_choices()
    if not form.validate_on_submit():
        return render_template("admin/user_form.html", form=form, user=None)
    org = db.session.get(OrgUnit, form.org_unit_id.data)
    return run_action(lambda: acc.create_staff(current_user, username=form.username.data,
                                               display_name=form.display_name.data, role=form.role.data, org=org,
                                               password=form.password.data, mobile=form.mobile.data),
                      refused=_shown_again(form, "admin/user_form.html", user=None),
                      done=lambda user: f"已新建账号 {user.username}（{user.role_label}）。首次登录时须修改初始密码。",
                      back=url_for("admin.users"))


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
def user_edit(user_id: int):
    require(current_user, "users.manage")
    user = _get_or_404(User, user_id)
    if user.role == Role.PUBLIC:
        flash("交易主体账号由本人注册和维护，管理员不能在此修改。", "info")
        return redirect(url_for("admin.users"))
    form = StaffEditForm(obj=user)
    form.org_unit_id.choices = _org_choices()
    shown_again = _shown_again(form, "admin/user_form.html", user=user, action_form=ActionForm(),
                               login_status=throttle.status(user))
    if not form.validate_on_submit():
        return shown_again()
    org = db.session.get(OrgUnit, form.org_unit_id.data)
    return run_action(lambda: acc.update_staff(current_user, user, display_name=form.display_name.data,
                                               role=form.role.data, org=org, mobile=form.mobile.data or "",
                                               active=form.active.data),
                      refused=shown_again, done=f"已保存账号 {user.username}。", back=url_for("admin.users"))


@bp.route("/users/<int:user_id>/unlock", methods=["POST"])
def user_unlock(user_id: int):
    require(current_user, "users.manage")
    user = _get_or_404(User, user_id)
    return run_action(lambda: acc.unlock(current_user, user), form=ActionForm(),
                      done=f"已解除账号 {user.username} 的锁定。", back=url_for("admin.users"))


@bp.route("/users/<int:user_id>/reset-password", methods=["POST"])
def user_reset_password(user_id: int):
    require(current_user, "users.manage")
    user = _get_or_404(User, user_id)
    return run_action(lambda: acc.reset_password(current_user, user), form=ActionForm(),
                      done=lambda temp: Message(f"账号 {user.username} 的临时密码：{temp}（仅显示这一次，请当面或电话告知本人；"
                                                "登录后须立即修改）", "warning"),
                      back=url_for("admin.user_edit", user_id=user.id))


# --- API tokens ------------------------------------------------------------------------------------

@bp.route("/tokens", methods=["GET", "POST"])
def tokens():
    require(current_user, "tokens.manage")
    form = TokenForm()
    accounts = db.session.scalars(select(User).where(User.active.is_(True), User.role != Role.PUBLIC.value)
                                  .order_by(User.username)).all()
    form.user_id.choices = [(u.id, f"{u.username}（{u.display_name}，{u.role_label}）") for u in accounts]
    secret = None
    if form.validate_on_submit():
        user = db.session.get(User, form.user_id.data)
        if user is None:
            form.user_id.errors = ["请选择账号"]
        else:
            try:
                token, secret = acc.create_token(current_user, user, form.name.data, form.days.data)
            except acc.AccountError as exc:
                db.session.rollback()
                apply_service_error(form, exc)
            else:
                db.session.commit()
                flash("令牌已生成。请立即复制保存，离开本页后将无法再次查看。", "warning")
    rows = db.session.scalars(select(ApiToken).order_by(ApiToken.id.desc())).all()
    return render_template("admin/tokens.html", form=form, tokens=rows, secret=secret, action_form=ActionForm())


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
def token_revoke(token_id: int):
    require(current_user, "tokens.manage")
    token = _get_or_404(ApiToken, token_id)
    return run_action(lambda: acc.revoke_token(current_user, token), form=ActionForm(),
                      done=f"已吊销令牌“{token.name}”。", back=url_for("admin.tokens"))


# --- catalogue ---------------------------------------------------------------------------------------

@bp.app_template_test("statutory")
def _is_statutory(method) -> bool:
    """A 流转方式 the city's text names for its category (else the center's own addition, 中心增设)."""
    from exchange.catalog import services as cat_svc
    return cat_svc.is_statutory(method)


def _catalog_context() -> dict:
    from exchange.catalog import data
    from exchange.catalog import services as cat_svc
    names = {c.code: c.name for c in cat_svc.categories()}
    return {"acquisition_rules": data.ACQUISITION_RULES, "statutory_source": data.STATUTORY_SOURCE,
            "statutory_names": cat_svc.statutory_names,
            "followed": {code: names.get(rule, rule) for code, rule in data.ACQUISITION_RULES.items()}}


@bp.route("/catalog")
def catalog():
    require(current_user, "catalog.manage")
    from exchange.catalog import services as cat_svc
    return render_template("admin/catalog.html", categories=cat_svc.categories(), action_form=ActionForm(),
                           **_catalog_context())


@bp.route("/catalog/<int:category_id>", methods=["GET", "POST"])
def category_edit(category_id: int):
    require(current_user, "catalog.manage")
    from exchange.admin.forms import CategoryForm, MethodForm
    from exchange.catalog import services as cat_svc
    from exchange.catalog.models import Category
    category = _get_or_404(Category, category_id)
    form = CategoryForm(obj=category)
    shown_again = _shown_again(form, "admin/category_form.html", category=category, method_form=MethodForm(),
                               action_form=ActionForm(), **_catalog_context())
    if not form.validate_on_submit():
        return shown_again()
    return run_action(lambda: cat_svc.update_category(current_user, category, name=form.name.data,
                                                      announce_days=form.announce_days.data,
                                                      collective=form.collective.data,
                                                      restricts_buyers=form.restricts_buyers.data,
                                                      farmland=form.farmland.data, active=form.active.data,
                                                      description=form.description.data or ""),
                      refused=shown_again, done=lambda _: f"已保存“{category.name}”。", back=url_for("admin.catalog"))


@bp.route("/catalog/<int:category_id>/methods", methods=["POST"])
def method_add(category_id: int):
    require(current_user, "catalog.manage")
    from exchange.admin.forms import MethodForm
    from exchange.catalog import services as cat_svc
    from exchange.catalog.models import Category
    category = _get_or_404(Category, category_id)
    form = MethodForm()
    back = url_for("admin.category_edit", category_id=category.id)
    if not form.validate_on_submit():
        return redirect(back)
    return run_action(lambda: cat_svc.add_method(current_user, category, form.name.data), done="已增加流转方式。",
                      back=back)


@bp.route("/catalog/methods/<int:method_id>/active", methods=["POST"])
def method_active(method_id: int):
    require(current_user, "catalog.manage")
    from exchange.catalog import services as cat_svc
    from exchange.catalog.models import TransferMethod
    method = _get_or_404(TransferMethod, method_id)
    return run_action(lambda: cat_svc.set_method_active(current_user, method, request.form.get("active") == "1"),
                      form=ActionForm(), done="已更新。",
                      back=url_for("admin.category_edit", category_id=method.category_id))


# --- 交易规则 (统一交易规则, 管理办法 第五条): the center's own rules; published at /rules ------------------------------

def _rules_page(form, status: int = 200):
    from exchange.catalog import services as cat_svc
    from exchange.tradingrules import services as trading_rules
    return render_template("admin/trading_rules.html", form=form,
                           adjustable=trading_rules.current(trading_rules.editable_rules()),
                           fixed=[c for c in trading_rules.current(trading_rules.center_rules()) if not c.rule.editable],
                           statutory=trading_rules.current(trading_rules.statutory_rules()),
                           history=trading_rules.history(), categories=cat_svc.categories(include_inactive=False)), status


@bp.route("/rules")
def trading_rules():
    require(current_user, "rules.manage")
    from exchange.tradingrules import services as trading_rules
    from exchange.tradingrules.forms import TradingRulesForm
    return _rules_page(TradingRulesForm(formdata=None, data=trading_rules.form_data()))


@bp.route("/rules", methods=["POST"])
def trading_rules_save():
    require(current_user, "rules.manage")
    from exchange.tradingrules import services as trading_rules
    from exchange.tradingrules.forms import TradingRulesForm
    form = TradingRulesForm()

    def refused(exc=None):
        if exc is not None:
            apply_service_error(form, exc)
            if exc.message == trading_rules.STALE:  # the page shows the values saved meanwhile beside the inputs;
                form.seen.data = trading_rules.digest()  # sent again after a look, the admin's values are meant
        return _rules_page(form, 400)

    if not form.validate_on_submit():
        return refused()

    def done(changed):
        if not changed:
            return Message("没有改动任何规则。", "info")
        return ("已调整：" + "；".join(f"{r.name} {r.show(before)} → {r.show(after)}" for r, before, after in changed)
                + "。新规则只适用于此后开始计算的期限，已经开始计算的期限不变。")

    values = {r.key: form[r.key].data for r in trading_rules.editable_rules()}
    return run_action(lambda: trading_rules.change(current_user, values, form.basis.data or "", seen=form.seen.data),
                      refused=refused, done=done, back=url_for("admin.trading_rules"))


# --- 收款账户: the center's receiving account, shown with the 缴款码 wherever someone is asked to pay (issue 17) ------

@bp.route("/center-account", methods=["GET", "POST"])
def center_account():
    require(current_user, "orgs.manage")
    from exchange.payments import center_account as acct_svc
    from exchange.payments.forms import CenterAccountForm
    acct = acct_svc.receiving_account(current_user.org_unit)
    form = CenterAccountForm(obj=acct) if request.method == "GET" else CenterAccountForm()
    shown = _shown_again(form, "admin/center_account.html", acct=acct,
                         center=acct_svc.center_of(current_user.org_unit))
    if not form.validate_on_submit():
        return shown()
    return run_action(lambda: acct_svc.set_receiving_account(current_user, account_name=form.account_name.data,
                                                             bank_name=form.bank_name.data,
                                                             account_no=form.account_no.data),
                      refused=shown, done="收款账户已保存，所有缴款页面、缴款通知和结算单即时显示新账户。",
                      back=url_for("admin.center_account"))
