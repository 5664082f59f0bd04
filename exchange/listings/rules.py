"""What makes a listing acceptable: field rules and the required materials (第十二条, 第二十条,
DESIGN §3.1–§3.4).  :func:`problems` returns every problem in Chinese; the workflow refuses to submit
or approve while any remain, and the form shows them next to the fields."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from exchange.catalog.data import ACQUISITIONS
from exchange.catalog.services import allowed_methods, needs_acquisition
from exchange.idcheck import IdCheckError, check_mobile, check_resident_id, check_uscc

TRANSFEROR_KINDS = {
    "household": "农户（自然人）",
    "collective": "村（组）集体经济组织",
    "enterprise": "企业",
    "other": "其他组织",
}
TRADING_METHODS = {
    "agreement": "协议转让",
    "online_bidding": "网络竞价",
    "sealed_bid": "一次性报价",
    "auction": "拍卖",
    "tender": "招投标",
    # a procurement project (交易品种 8, 招标/采购/招商; exchange.procurement): sealed bids opened online
    "procurement": "招标采购（网上开标）",
}
PRICE_MODES = {"total": "总价", "per_unit_year": "按单位面积每年计价"}
UNITS = ["亩", "平方米", "立方米", "间", "座", "台", "套", "件", "处", "项"]
TITLE_MAX = 120  # 项目名称 (the column is String(120)); the form and the service say the limit, never cut
DECISION_TYPES = ["村民会议", "村民代表会议", "集体经济组织成员大会", "集体经济组织成员代表大会", "组民会议"]


@dataclass(frozen=True)
class MaterialKind:
    code: str
    label: str
    public: bool = False  # shown on the public listing page by default


MATERIAL_KINDS = {m.code: m for m in [
    MaterialKind("application", "农村产权转出申请书"),
    MaterialKind("qualification", "转让方资格证明（身份证、营业执照或登记证书）"),
    MaterialKind("ownership", "产权权属证明（承包经营权证、林权证等）"),
    MaterialKind("approval", "准予交易证明（民主决策决议或批复文件）"),
    # 第十二条(四) for a household's 承包地 (农村土地承包法 第三十四条, 第三十六条; DESIGN §3.11)
    MaterialKind("contractor_consent", "发包方同意转让的书面证明"),
    MaterialKind("contractor_filing", "向发包方备案的回执或证明"),
    MaterialKind("object_info", "交易标的基本情况材料"),
    MaterialKind("price_basis", "底价及作价依据"),
    MaterialKind("appraisal", "资产评估报告"),
    MaterialKind("entrustment", "授权委托书"),
    MaterialKind("agent_id", "受托方主体资格证明及身份证"),
    # a procurement project (招标/采购/招商): what is bought or offered, published with the announcement
    MaterialKind("scope", "工程量清单或采购（招商）需求清单", public=True),
    MaterialKind("photo", "现场照片", public=True),
    MaterialKind("other", "其他材料"),
]}


# a procurement project's materials as its pages and its list of what is missing name them (the 采购人's papers)
PROCUREMENT_MATERIAL_LABELS = {
    "qualification": "采购人主体资格证明（村集体经济组织登记证书等）",
    "approval": "“四议两公开”决议（村民会议或村民代表会议决议）",
    "scope": "工程量清单或采购（招商）需求清单",
}


def material_label(listing, kind: str) -> str:
    """A material's name for this listing: a procurement project names the 采购人's papers as such."""
    if listing.is_procurement and kind in PROCUREMENT_MATERIAL_LABELS:
        return PROCUREMENT_MATERIAL_LABELS[kind]
    return MATERIAL_KINDS[kind].label


def contracted_land(listing) -> bool:
    """The right is a household's 承包地 经营权 (农村土地承包法): 农户承包土地经营权 (C01), or "四荒" obtained by
    家庭承包, which follows the same rules (第九条 3, 第十条)."""
    cat = listing.category
    if cat is None:
        return False
    return cat.code == "C01" or (needs_acquisition(cat) and listing.obtained_by == "household_contract")


def permission_material(listing) -> str | None:
    """第十二条(四) 准予产权交易的证明, as the law asks it of this transferor (DESIGN §3.11): the collective's 决议或批复;
    for a household's 承包地, the 发包方's written consent to a 转让 (农村土地承包法 第三十四条) or the 备案 with the
    发包方 of an 出租、入股 or other 流转 of the 经营权 (第三十六条); nothing else for other private rights."""
    if listing.is_collective:
        return "approval"
    if listing.transferor_kind == "household" and contracted_land(listing) and listing.method is not None:
        return "contractor_consent" if listing.method.name == "转让" else "contractor_filing"
    return None


# Why a material is asked for, in words a village clerk can pass on to the household (the materials page)
MATERIAL_REASONS = {
    "scope": "招标采购项目须公布采购内容：工程量清单、货物或服务需求清单，招商项目的招商条件（随公告公开）。",
    "approval": "集体资产须经民主决策：村民（代表）会议或集体经济组织成员（代表）大会的决议，或上级批复（《管理办法》第十二条（四））。",
    "contractor_consent": "农户转让承包地的，须经发包方（村或组集体经济组织）书面同意（《农村土地承包法》第三十四条；"
                          "《管理办法》第十二条（四））。请上传村（组）盖章的同意书。",
    "contractor_filing": "农户出租、入股承包地经营权的，应向发包方（村或组集体经济组织）备案（《农村土地承包法》第三十六条；"
                         "《管理办法》第十二条（四））。请上传村（组）出具的备案回执或证明。",
}


def required_materials(listing) -> list[str]:
    """Material kinds this listing must have (第十二条; collective assets also 第二十条)."""
    if listing.is_procurement:  # the 采购人's papers, its 四议两公开 决议 (第十二条(四)) and what it buys
        kinds = ["qualification", "approval", "scope"]
        return kinds + (["entrustment", "agent_id"] if listing.entrusted else [])
    kinds = ["application", "qualification", "ownership", "object_info", "price_basis"]
    permission = permission_material(listing)
    if permission:
        kinds.append(permission)
    if listing.is_collective:
        kinds.append("appraisal")
    if listing.entrusted:
        kinds += ["entrustment", "agent_id"]
    return kinds


def missing_materials(listing) -> list[str]:
    have = {m.kind for m in listing.materials}
    return [k for k in required_materials(listing) if k not in have]


def term_years(start: date, end: date) -> Decimal:
    """Whole months of the term (``end`` is the last day) as years, to 0.01."""
    after = end + timedelta(days=1)
    months = (after.year - start.year) * 12 + (after.month - start.month) - (1 if after.day < start.day else 0)
    return (Decimal(max(months, 0)) / 12).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def computed_floor_price(listing) -> Decimal | None:
    """The total 底价: as entered, or unit price × quantity × years of the term."""
    if listing.price_mode != "per_unit_year":
        return listing.floor_price
    if listing.floor_unit_price is None or not listing.quantity or not (listing.term_start and listing.term_end):
        return None
    years = term_years(listing.term_start, listing.term_end)
    return (listing.floor_unit_price * Decimal(listing.quantity) * years).quantize(Decimal("0.01"),
                                                                                  rounding=ROUND_HALF_UP)


def needs_two_thirds(listing) -> bool:
    """第二十条: a collective asset priced below its appraisal needs ≥ 2/3 of the representatives."""
    return (listing.is_collective and listing.appraisal_value is not None and listing.floor_price is not None
            and listing.floor_price < listing.appraisal_value)


def two_thirds_met(listing) -> bool:
    if not listing.reps_total or listing.reps_for is None:
        return False
    return listing.reps_for * 3 >= listing.reps_total * 2


# 交易品种 8's methods by which the collective buys (招标, 采购) or picks an investor (招商) by sealed bids: such a
# listing is a procurement project (exchange.procurement keeps its terms and adds their checks through
# :data:`TERMS_CHECKS`)
PROCUREMENT_CATEGORY = "C08"
PROCUREMENT_METHODS = ("招标", "采购", "招商")
# functions (listing, for_submit) -> [(field, message, invalid)] a higher stage adds (procurement's terms)
TERMS_CHECKS: list = []
# the same, asked of every listing: whether its right may be offered at all (a mortgage holding it, DESIGN §3.13)
RIGHT_CHECKS: list = []


def is_procurement_method(category, method) -> bool:
    return (category is not None and method is not None and category.code == PROCUREMENT_CATEGORY
            and method.name in PROCUREMENT_METHODS)


@dataclass(frozen=True)
class Problem:
    """One reason the listing cannot go forward: the field it concerns (a Listing attribute, ``materials``, or None),
    the sentence for the list of what is still to do, the words shown beside the field, and whether the value
    itself is wrong (``invalid``: a bad ID checksum, a 7-digit phone, a term beyond the right's end — refused when
    the step is saved) rather than not yet given (the draft may be saved without it)."""
    field: str | None
    message: str
    invalid: bool = False
    beside: str = ""

    @property
    def short(self) -> str:
        return self.beside or self.message


def problems(listing, *, for_submit: bool = False) -> list[str]:
    """Every reason the listing cannot go forward, as Chinese sentences (empty when fine)."""
    return [p.message for p in checks(listing, for_submit=for_submit)]


def invalid_values(listing, fields) -> list[Problem]:
    """The wrong values among ``fields`` (the ones a form or an API call just set): what saving them refuses."""
    fields = set(fields)
    return [p for p in checks(listing) if p.invalid and p.field in fields]


def _id_problem(value: str, kind: str) -> str:
    """Why ``value`` is not a valid 居民身份证号 (kind ``person``), 统一社会信用代码 (``org``) or either (``any``)."""
    try:
        if kind == "person":
            check_resident_id(value)
        elif kind == "org":
            check_uscc(value)
        else:
            compact = "".join((value or "").split()).upper()
            if compact[:17].isdigit():
                check_resident_id(value)
            else:
                check_uscc(value)
    except IdCheckError as exc:
        return str(exc) + "。"
    return ""


def _mobile_problem(value: str) -> str:
    try:
        check_mobile(value)
    except IdCheckError as exc:
        return str(exc) + "。"
    return ""


def checks(listing, *, for_submit: bool = False) -> list[Problem]:
    """:func:`problems` with the field each one concerns (the form shows it beside the field)."""
    out: list[Problem] = []

    def add(field, message, invalid=False, beside=""):
        out.append(Problem(field, message, invalid, beside))

    cat = listing.category
    if not (listing.title or "").strip():
        add("title", "请填写项目名称。")
    elif len(listing.title) > TITLE_MAX:
        add("title", f"项目名称不能超过 {TITLE_MAX} 个字（现在是 {len(listing.title)} 个字），请精简。", True)
    if cat is None:
        add("category_id", "请选择交易品种。")
    elif not cat.active:
        add("category_id", f"交易品种“{cat.name}”已停用。", True)
    if cat is not None and needs_acquisition(cat) and listing.obtained_by not in ACQUISITIONS:
        add("obtained_by", f"请选择“{cat.name}”的取得方式：{'，或'.join(ACQUISITIONS.values())}（第九条、第十条）。")
    if listing.method is None:
        add("method_id", "请选择流转方式。")
    elif cat is not None and (listing.method.category_id != cat.id or not listing.method.active):
        allowed = "、".join(m.name for m in cat.active_methods())
        add("method_id", f"“{cat.name}”不能采用“{listing.method.name}”方式流转，可选：{allowed}。", True)
    elif cat is not None and needs_acquisition(cat) and listing.obtained_by in ACQUISITIONS and \
            listing.method not in allowed_methods(cat, listing.obtained_by):
        allowed = "、".join(m.name for m in allowed_methods(cat, listing.obtained_by)) or "（无）"
        add("method_id", f"{ACQUISITIONS[listing.obtained_by]}的“{cat.name}”按农户承包土地经营权的规定流转，"
                         f"不能采用“{listing.method.name}”，可选：{allowed}（第九条、第十条）。", True)
    for check in RIGHT_CHECKS:
        for field, message, invalid in check(listing, for_submit):
            add(field, message, invalid)
    if listing.is_procurement:
        _procurement_checks(listing, for_submit, add)
        return out
    if listing.quantity is None or listing.quantity <= 0:
        add("quantity", "请填写标的数量（大于 0）。")
    if not (listing.location or "").strip():
        add("location", "请填写坐落位置。")
    if for_submit and not (listing.current_use or "").strip():
        add("current_use", "请填写利用现状（如：水稻种植、闲置、养殖），它将在交易公告中公布（第十四条）。")
    # term and the right's own end (法定期限)
    if listing.term_start and listing.term_end and listing.term_start >= listing.term_end:
        add("term_end", "流转期限的结束日期应晚于开始日期。", True)
    if listing.term_end and listing.right_end_date and listing.term_end > listing.right_end_date:
        add("term_end", f"流转期限不能超过产权的剩余期限：权证到期日为 {listing.right_end_date.isoformat()}，"
                        f"而流转期限到 {listing.term_end.isoformat()}。", True,
            f"流转结束日期不能晚于权证到期日 {listing.right_end_date.isoformat()}。")
    if for_submit and cat is not None and cat.code in ("C01", "C02", "C03", "C04", "C07", "C09"):
        if not (listing.term_start and listing.term_end):
            add("term_start" if not listing.term_start else "term_end", "请填写流转期限（开始和结束日期）。")
        if not listing.right_end_date:
            add("right_end_date", "请填写产权证上的权利到期日，用于核对流转期限。")
    # price
    if listing.price_mode == "per_unit_year" and listing.floor_unit_price is None:
        add("floor_unit_price", "请填写单价（元/单位/年）。")
    if listing.floor_price is None or listing.floor_price <= 0:
        add("floor_unit_price" if listing.price_mode == "per_unit_year" else "floor_price", "请填写底价（大于 0）。")
    if for_submit and not (listing.price_basis or "").strip():
        add("price_basis", "请填写底价的作价依据。")
    if listing.is_collective:
        if listing.appraisal_value is None:
            add("appraisal_value", "集体资产须以有资质的评估机构的评估值作为作价依据，请填写评估值（第二十条）。")
        elif for_submit and not (listing.appraisal_agency or "").strip():
            add("appraisal_agency", "请填写评估机构名称。")
        if not (listing.decision_type and listing.decision_date):
            add("decision_type" if not listing.decision_type else "decision_date",
                "集体资产须经民主决策，请填写决策会议类型和日期。")
        if listing.reps_total is not None and listing.reps_for is not None and listing.reps_for > listing.reps_total:
            add("reps_for", "同意人数不能多于应到（代表）总人数。", True)
        if needs_two_thirds(listing) and not two_thirds_met(listing):
            add("reps_for", "底价低于评估值，须经本集体经济组织成员代表三分之二以上同意（第二十条）："
                            f"请填写代表总数和同意人数（现为 {listing.reps_for or 0}/{listing.reps_total or 0}）"
                            "并上传决议。")
    # transferor
    if not (listing.transferor_name or "").strip():
        add("transferor_name", "请填写转让方名称。")
    if listing.transferor_kind not in TRANSFEROR_KINDS:
        add("transferor_kind", "请选择转让方类型。")
    elif listing.transferor_id_no:
        problem = _id_problem(listing.transferor_id_no, "person" if listing.transferor_kind == "household" else "org")
        if problem:
            add("transferor_id_no", f"转让方证件号：{problem}", True, problem)
    elif for_submit:
        add("transferor_id_no", "请填写转让方的身份证号或统一社会信用代码。")
    if listing.transferor_mobile:
        problem = _mobile_problem(listing.transferor_mobile)
        if problem:
            add("transferor_mobile", f"转让方电话：{problem}", True, problem)
    if getattr(listing, "account_holder_id_no", ""):
        problem = _id_problem(listing.account_holder_id_no, "any")
        if problem:
            add("account_holder_id_no", f"收款账户的证件号：{problem}", True, problem)
    if for_submit:  # 第二十一条: the proceeds' account, by name and ID number (checked again before each payout)
        from exchange.listings.proceeds import payee_problem
        problem = payee_problem(listing)
        if problem:
            add("account_name", problem)
    if listing.entrusted:
        if not (listing.agent_name and listing.agent_id_no):
            add("agent_name" if not listing.agent_name else "agent_id_no", "委托办理的，请填写受托人姓名和证件号。")
    if listing.agent_id_no:
        problem = _id_problem(listing.agent_id_no, "person")
        if problem:
            add("agent_id_no", f"受托人身份证号：{problem}", True, problem)
    if listing.agent_mobile:
        problem = _mobile_problem(listing.agent_mobile)
        if problem:
            add("agent_mobile", f"受托人电话：{problem}", True, problem)
    # buyers and trading
    if cat is not None and cat.restricts_buyers and listing.buyer_restriction != "members":
        add("buyer_restriction", f"“{cat.name}”的受让方限于本集体经济组织成员，请在受让条件中选择该限制。", True)
    if listing.trading_method not in TRADING_METHODS:
        add("trading_method", "请选择交易方式。")
    if listing.trading_method == "online_bidding" and (listing.bid_increment is None or listing.bid_increment <= 0):
        add("bid_increment", "网络竞价须设置加价幅度（大于 0）。")
    if cat is not None and listing.announce_days < cat.announce_days:
        add("announce_days", f"公告期不能少于该品种规定的 {cat.announce_days} 个工作日。", True)
    if listing.deposit_amount is not None and listing.floor_price and listing.deposit_amount > listing.floor_price:
        add("deposit_amount", "保证金不能高于底价。", True,
            f"保证金不能高于底价（{listing.floor_price:,.2f} 元）。")
    if for_submit:
        labels = [MATERIAL_KINDS[k].label for k in missing_materials(listing)]
        if labels:
            add("materials", "缺少材料：" + "；".join(labels) + "。")
    return out


def _procurement_checks(listing, for_submit: bool, add) -> None:
    """A procurement project: where, the 采购人 (the collective) and its 四议两公开 decision (第十二条(四)), the
    materials, and the terms (budget, limit, bond, 开标 time, evaluation method: :data:`TERMS_CHECKS`)."""
    if not (listing.location or "").strip():
        add("location", "请填写项目地点（如：团湖村三组至五组通组公路）。")
    if not (listing.transferor_name or "").strip():
        add("transferor_name", "请填写采购人名称（村或组集体经济组织）。")
    if listing.transferor_id_no:
        problem = _id_problem(listing.transferor_id_no, "org")
        if problem:
            add("transferor_id_no", f"采购人的统一社会信用代码：{problem}", True, problem)
    elif for_submit:
        add("transferor_id_no", "请填写采购人的统一社会信用代码。")
    if listing.transferor_mobile:
        problem = _mobile_problem(listing.transferor_mobile)
        if problem:
            add("transferor_mobile", f"采购人联系电话：{problem}", True, problem)
    if not (listing.decision_type and listing.decision_date):
        add("decision_type" if not listing.decision_type else "decision_date",
            "村级项目须经“四议两公开”，请填写村民（代表）会议决议的会议类型和日期（第十二条（四））。")
    if listing.reps_total is not None and listing.reps_for is not None and listing.reps_for > listing.reps_total:
        add("reps_for", "同意人数不能多于应到（代表）总人数。", True)
    if listing.entrusted and not (listing.agent_name and listing.agent_id_no):
        add("agent_name" if not listing.agent_name else "agent_id_no", "委托办理的，请填写受托人姓名和证件号。")
    if listing.agent_id_no:
        problem = _id_problem(listing.agent_id_no, "person")
        if problem:
            add("agent_id_no", f"受托人身份证号：{problem}", True, problem)
    for check in TERMS_CHECKS:
        for field, message, invalid in check(listing, for_submit):
            add(field, message, invalid)
    if for_submit:
        labels = [material_label(listing, k) for k in missing_materials(listing)]
        if labels:
            add("materials", "缺少材料：" + "；".join(labels) + "。")
