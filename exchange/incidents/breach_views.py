"""违约处理 pages (第二十二条): the center's page per listing (/listings/<id>/default: declare, the forfeiture,
the runner-up candidates, the offer, relisting) and the bidder's offer pages (/offers, /offers/<id>)."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from flask_wtf.file import FileField
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from exchange import clock
from exchange.access import AccessDenied, require
from exchange.accounts.models import Role
from exchange.incidents import breach as dsvc
from exchange.incidents import force_majeure as fm
from exchange.incidents.models import DEFAULT_STAGES, RunnerUpOffer
from exchange.extensions import db
from exchange.listings.models import Listing
from exchange.money import format_yuan
from exchange.pages import apply_service_error, run_action

bp = Blueprint("defaults", __name__)


class DeclareForm(FlaskForm):
    reason = TextAreaField("违约的事实和理由（当事人将看到）", validators=[Optional(), Length(max=2000)])


class OfferForm(FlaskForm):
    registration_id = HiddenField("次高报价人", validators=[Optional(), Length(max=12)])
    days = StringField("答复期限（工作日，1–10）", default="3", validators=[Optional(), Length(max=4)])


class RelistForm(FlaskForm):
    reason = TextAreaField("重新挂牌的理由", validators=[Optional(), Length(max=2000)])
    floor_price = StringField("新底价（元，不填则沿用原底价）", validators=[Optional(), Length(max=20)])
    reps_for = StringField("同意低于评估值的成员代表人数（集体资产底价低于评估值时填写）", validators=[Optional(), Length(max=6)])
    reps_total = StringField("成员代表总数", validators=[Optional(), Length(max=6)])


class CompensationForm(FlaskForm):
    pass


class ClaimForm(FlaskForm):
    side = RadioField("提出申请的一方", choices=[("seller", "转让方"), ("buyer", "受让方")],
                      validators=[DataRequired("请选择提出申请的一方")])
    facts = TextAreaField("不可抗力的事实（发生时间、经过，以及为何不能按期签约或付款）",
                          validators=[Optional(), Length(max=2000)])
    document = FileField("证明材料（如受灾证明、医院证明、政府部门文件；PDF、JPG 或 PNG）")


class PartyClaimForm(FlaskForm):
    """A party's own claim (the side is the party's): the facts and the evidence."""
    facts = TextAreaField("不可抗力的事实（发生时间、经过，以及为何不能按期签约或付款）",
                          validators=[Optional(), Length(max=2000)])
    document = FileField("证明材料（如受灾证明、医院证明、政府部门文件；PDF、JPG 或 PNG）")


class ClaimDecisionForm(FlaskForm):
    decision = RadioField("决定", choices=[("accept", "不可抗力成立，延长期限"), ("reject", "不可抗力不成立")],
                          validators=[DataRequired("请选择决定")])
    extend_days = StringField("延长期限（工作日，1–30；成立时填写）", default="5", validators=[Optional(), Length(max=4)])
    reason = TextAreaField("理由（当事人将看到）", validators=[Optional(), Length(max=2000)])


class AnswerForm(FlaskForm):
    decision = RadioField("您的答复", choices=[("accept", "接受，按上述价格成交"), ("decline", "放弃")],
                          validators=[DataRequired("请选择接受或放弃")])
    note = TextAreaField("说明（可不填）", validators=[Optional(), Length(max=500)])
    password = PasswordField("登录密码", validators=[DataRequired("请输入您的登录密码"), Length(max=200)])


@bp.app_template_global()
def default_link(listing) -> bool:
    """The listing page shows the link to 违约处理 when this user decides it and the deal is overdue or defaulted."""
    try:
        return dsvc.may_declare(current_user, listing)
    except Exception:  # noqa: BLE001 — a link must never break the listing page
        return False


@bp.app_template_global()
def transferor_defaults(listing) -> list:
    """The transferor's defaults on other listings (第二十二条), for the center reviewing this one; [] for others."""
    from exchange.access import can
    try:
        if not can(current_user, "listings.view", listing.org) or current_user.role == Role.PUBLIC:
            return []
        return dsvc.transferor_record(listing)
    except Exception:  # noqa: BLE001 — a notice must never break the listing page
        return []


# --- the center's page ----------------------------------------------------------------------------

def _listing(listing_id: int) -> Listing:
    listing = db.session.get(Listing, listing_id)
    if listing is None:
        abort(404)
    require(current_user, "defaults.decide", listing.org)
    return listing


def _page(listing: Listing, status: int = 200, **forms):
    from exchange.trading.services import deal_for
    case = dsvc.current_case(listing)
    deal = deal_for(listing)
    return render_template(
        "incidents/default.html", listing=listing, case=case, deal=deal,
        defaulted_deal=dsvc.deal_of(case) if case else None,
        overdue=dsvc.overdue_state(listing), stages=DEFAULT_STAGES,
        candidates=dsvc.runner_up_candidates(listing, include_offered=True) if case else [],
        offers=dsvc.offers_of(case) if case else [], pending=dsvc.pending_offer(case) if case else None,
        forfeit_total=dsvc.forfeit_held(listing), cases=dsvc.cases_of(listing), now=clock.now(),
        registration_of=dsvc.registration_of,
        declare_form=forms.get("declare_form") or DeclareForm(),
        offer_form=forms.get("offer_form") or OfferForm(),
        relist_form=forms.get("relist_form") or RelistForm(),
        compensation=dsvc.compensation_of(listing) if case else None,
        compensation_form=forms.get("compensation_form") or CompensationForm(),
        parties=dsvc.PARTIES, claims=fm.claims_of(listing), pending_claim=fm.pending_claim(deal) if deal else None,
        claim_form=forms.get("claim_form") or ClaimForm(),
        claim_decision_form=forms.get("claim_decision_form") or ClaimDecisionForm(),
        dispute_form=forms.get("dispute_form") or CompensationForm()), status


def _act(listing: Listing, form, form_name: str, action, done, target=None):
    """An action of the center's page: the form refused next to its field on the page again (400)."""
    def refused(exc):
        apply_service_error(form, exc)
        return _page(db.session.get(Listing, listing.id), 400, **{form_name: form})

    return run_action(action, done=done, refused=refused, then=target,
                      back=url_for("defaults.listing", listing_id=listing.id))


@bp.route("/listings/<int:listing_id>/default")
@login_required
def listing(listing_id: int):
    return _page(_listing(listing_id))


@bp.route("/listings/<int:listing_id>/default/declare", methods=["POST"])
@login_required
def declare(listing_id: int):
    listing = _listing(listing_id)
    form = DeclareForm()
    if not form.validate_on_submit():
        return _page(listing, 400, declare_form=form)
    return _act(listing, form, "declare_form",
                lambda: dsvc.declare_default(current_user, listing, reason=form.reason.data or ""),
                _declared)


def _declared(case) -> str:
    if case.party == "seller":
        return "已认定转让方违约，受让方的保证金将全额退还。"
    return f"已认定{case.party_label}违约，没收受让方保证金 {format_yuan(case.forfeited)} 元。"


def _case_or_400(listing: Listing, form, form_name: str):
    case = dsvc.current_case(listing)
    if case is None:
        form.form_errors.append("该项目还没有认定违约。")
        return None, _page(listing, 400, **{form_name: form})
    return case, None


@bp.route("/listings/<int:listing_id>/default/offer", methods=["POST"])
@login_required
def offer(listing_id: int):
    listing = _listing(listing_id)
    form = OfferForm()
    if not form.validate_on_submit():
        return _page(listing, 400, offer_form=form)
    case, error = _case_or_400(listing, form, "offer_form")
    if error:
        return error
    return _act(listing, form, "offer_form",
                lambda: dsvc.offer_to_runner_up(current_user, case, form.registration_id.data,
                                                days=form.days.data),
                "已向次高报价人发出要约，等待其答复。")


@bp.route("/listings/<int:listing_id>/default/relist", methods=["POST"])
@login_required
def relist(listing_id: int):
    listing = _listing(listing_id)
    form = RelistForm()
    if not form.validate_on_submit():
        return _page(listing, 400, relist_form=form)
    case, error = _case_or_400(listing, form, "relist_form")
    if error:
        return error
    return _act(listing, form, "relist_form",
                lambda: dsvc.relist_after_default(current_user, case, form.reason.data or "",
                                                  floor_price=form.floor_price.data or None,
                                                  reps_for=_int_or_none(form.reps_for.data, "reps_for"),
                                                  reps_total=_int_or_none(form.reps_total.data, "reps_total")),
                "已转为流拍并重新挂牌，新项目已提交交易中心审核。",
                target=lambda copy: url_for("listings.detail", listing_id=copy.id))


@bp.route("/listings/<int:listing_id>/default/compensation", methods=["POST"])
@login_required
def compensation(listing_id: int):
    listing = _listing(listing_id)
    form = CompensationForm()
    if not form.validate_on_submit():
        return _page(listing, 400, compensation_form=form)
    case, error = _case_or_400(listing, form, "compensation_form")
    if error:
        return error
    return _act(listing, form, "compensation_form", lambda: dsvc.pay_compensation(current_user, case),
                lambda r: f"已决定将没收的保证金 {format_yuan(r.amount)} 元划付转让方，由财务在 5 个工作日内办理（双人复核）。")


def _int_or_none(value, field: str):
    value = (value or "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise dsvc.DefaultError("请填写整数人数。", field=field)
    return int(value)


# --- the bidder's offer pages ---------------------------------------------------------------------

@bp.route("/offers")
@login_required
def my_offers():
    if current_user.role != Role.PUBLIC:
        abort(404)
    return render_template("incidents/offer_list.html", offers=dsvc.offers_for_buyer(current_user), now=clock.now())


def _offer(offer_id: int) -> RunnerUpOffer:
    offer = db.session.get(RunnerUpOffer, offer_id)
    if offer is None:
        abort(404)
    if not dsvc.may_view_offer(current_user, offer):
        raise AccessDenied("这份要约仅限收到要约的报价人和交易中心工作人员查看。")
    return offer


def _offer_page(offer: RunnerUpOffer, status: int = 200, form=None):
    case = offer.case
    reg = dsvc.registration_of(offer)
    from exchange.ledger import services as ledger
    from exchange.ledger.refunds import unpaid_refund_of
    dep = ledger.deposit_account(case.listing, reg.buyer)
    refund = unpaid_refund_of(dep)
    deposit_held = ledger.held(dep)
    return render_template(
        "incidents/offer.html", offer=offer, case=case, listing=case.listing, reg=reg,
        old_deal=dsvc.deal_of(case), mine=dsvc.is_offer_buyer(current_user, offer), now=clock.now(),
        deposit_kept=deposit_held > 0 and (refund is None or refund.state == "pending"),
        deposit_held=deposit_held, form=form or AnswerForm()), status


@bp.route("/offers/<int:offer_id>")
@login_required
def offer_page(offer_id: int):
    return _offer_page(_offer(offer_id))


@bp.route("/offers/<int:offer_id>/answer", methods=["POST"])
@login_required
def answer(offer_id: int):
    offer = _offer(offer_id)
    if not dsvc.is_offer_buyer(current_user, offer):
        raise AccessDenied("这份要约不是发给您的。")
    form = AnswerForm()
    if not form.validate_on_submit():
        return _offer_page(offer, 400, form)
    accept = form.decision.data == "accept"

    def refused(exc):
        apply_service_error(form, exc)
        return _offer_page(db.session.get(RunnerUpOffer, offer.id), 400, form)

    return run_action(lambda: dsvc.answer_offer(current_user, offer, accept, form.note.data or "",
                                                password=form.password.data),
                      refused=refused, stale="数据已被同时修改，请刷新后重试。",
                      done="您已接受要约：成交进入交易公示，期满后请按时签订合同。" if accept else "您已放弃本次要约。",
                      back=url_for("defaults.offer_page", offer_id=offer.id))


# --- 不可抗力 (第二十二条) -----------------------------------------------------------------------------------

@bp.route("/listings/<int:listing_id>/default/force-majeure", methods=["POST"])
@login_required
def force_majeure(listing_id: int):
    """The center records a party's claim of 不可抗力 with its evidence."""
    listing = _listing(listing_id)
    form = ClaimForm()
    if not form.validate_on_submit():
        return _page(listing, 400, claim_form=form)
    return _act(listing, form, "claim_form",
                lambda: fm.file_claim(current_user, listing, side=form.side.data, facts=form.facts.data or "",
                                      document=request.files.get("document")),
                "已登记不可抗力申请。决定之前，不能认定该方违约。")


@bp.route("/listings/<int:listing_id>/default/force-majeure/<int:claim_id>", methods=["POST"])
@login_required
def decide_force_majeure(listing_id: int, claim_id: int):
    from exchange.incidents.models import ForceMajeureClaim
    listing = _listing(listing_id)
    claim = db.session.get(ForceMajeureClaim, claim_id)
    if claim is None or claim.listing_id != listing.id:
        abort(404)
    form = ClaimDecisionForm()
    if not form.validate_on_submit():
        return _page(listing, 400, claim_decision_form=form)
    accept = form.decision.data == "accept"
    return _act(listing, form, "claim_decision_form",
                lambda: fm.decide_claim(current_user, claim, accept=accept, decision=form.reason.data or "",
                                        extend_days=form.extend_days.data if accept else None),
                lambda c: (f"不可抗力成立，期限已延长 {c.extend_days} 个工作日。" if c.is_accepted
                           else "不可抗力不成立；期限届满后可认定违约。"))


@bp.route("/listings/<int:listing_id>/default/dispute", methods=["POST"])
@login_required
def damages_dispute(listing_id: int):
    """Open the mediation record for the damages the default caused (第二十七条): the platform does not decide them."""
    listing = _listing(listing_id)
    form = CompensationForm()
    if not form.validate_on_submit():
        return _page(listing, 400, dispute_form=form)
    case = dsvc.current_case(listing)
    if case is None:
        abort(404)
    return _act(listing, form, "dispute_form", lambda: dsvc.open_damages_dispute(current_user, case),
                "已登记损失赔偿的纠纷调解记录。", target=lambda d: url_for("disputes.detail", dispute_id=d.id))


# --- a party claims 不可抗力 itself, from its contract page -------------------------------------------------------

@bp.app_template_global()
def party_claim_form():
    return PartyClaimForm()


@bp.app_template_global()
def force_majeure_claims(listing) -> list:
    """The listing's 不可抗力 claims, newest first (the contract page shows them to the parties)."""
    try:
        return list(reversed(fm.claims_of(listing)))
    except Exception:  # noqa: BLE001 — a notice must never break the contract page
        return []


@bp.route("/listings/<int:listing_id>/force-majeure", methods=["POST"])
@login_required
def party_force_majeure(listing_id: int):
    """A party (the buyer; the transferor, or the clerk who signs for it) claims 不可抗力 for its own side."""
    from exchange.contracts.services import contract_for_deal
    from exchange.trading.services import deal_for
    listing = db.session.get(Listing, listing_id)
    if listing is None:
        abort(404)
    side = fm.own_side(current_user, listing)
    if side is None:
        raise AccessDenied("只有交易双方可以为本方提出不可抗力申请。")
    deal = deal_for(listing)
    contract = contract_for_deal(deal) if deal is not None else None
    back = url_for("contracts.detail", contract_id=contract.id) if contract else url_for("listings.detail",
                                                                                          listing_id=listing.id)
    form = PartyClaimForm()
    return run_action(lambda: fm.file_claim(current_user, listing, side=side, facts=request.form.get("facts", ""),
                                            document=request.files.get("document")),
                      done="已提出不可抗力申请，交易中心决定之前不会认定您违约。", back=back + "#force-majeure",
                      form=form, invalid="提交的内容不完整，请重新填写。")
