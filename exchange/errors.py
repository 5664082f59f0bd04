"""The one exception type services raise when a rule is not met.

``message`` is shown to the user as is (Chinese); ``field`` names the form/API field it belongs to,
if any.  Each domain subclasses it (AccountError, OrgError, ListingError, CatalogError …) so callers
can catch one domain's errors or all of them.
"""
from __future__ import annotations


class ServiceError(ValueError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


# What a person is told when a unique key refuses a row that another request (or a double click) created a
# moment earlier; the rule's own check said "not there yet" because the other transaction had not committed.
UNIQUE_MESSAGES = {
    "uq_registration_listing_buyer": "您已报名该项目，请在“我的报名”中查看进度。",
    "uq_station_opinion_listing_submission": "交易站已就本次提交出具意见（或已记录无法取得意见的原因）。",
    "uq_user_account_username": "该登录名已被使用，请换一个。",
    "uq_party_id_number": "该身份证号已注册过交易主体账号。",
    "uq_party_uscc": "该统一社会信用代码已注册过交易主体账号。",
    "uq_party_user_id": "该账号已登记过交易主体信息。",
    "uq_org_unit_code": "该机构编码已被使用。",
    "uq_category_code": "该交易品种代码已被使用。",
    "uq_transfer_method_category_name": "该交易品种下已有同名的流转方式。",
    "uq_fee_rule_category_id": "该交易品种已有收费标准，请修改原标准。",
    "uq_bank_statement_sha256": "该银行流水文件已导入过。",
    "uq_termination_listing_id": "该项目已作出终结决定。",
    "uq_suspension_open_listing": "该项目已有未结束的中止。",
    "uq_dispute_active_application": "您对本项目已有一件调解申请正在办理，请在原申请中查看进度，不要重复申请。",
    "uq_default_case_deal_id": "该成交已认定违约。",
    "uq_offer_pending_case": "该违约案件已有待答复的要约。",
    "uq_deal_live_listing": "该项目已有有效的成交。",
    "uq_contract_deal_id": "该成交的合同已生成。",
    "uq_settlement_deal_id": "该成交的结算已开始。",
    "uq_payout_settlement_id": "该结算的划付已登记。",
    "uq_certificate_valid_deal": "该成交已有有效的鉴证书。",
    "uq_refund_registration_id": "该报名的退款已登记。",
    "uq_deposit_arrival_registration_id": "该报名的保证金到账已登记。",
    "uq_alert_kind_subject": "该预警已存在。",
    "uq_bid_idempotency": "该报价已提交过。",
    "uq_expert_name_mobile": "专家库中已有同名且手机号码相同的专家，请勿重复登记。",
    "uq_expert_village_tie_expert_id_org_unit_id": "已登记过该专家与这个村的利害关系。",
    "uq_expert_party_tie_expert_id_party_id": "已登记过该专家与这个交易主体的利害关系。",
    "uq_bid_session_seq": "报价未被接受：他人刚刚报价，请按最新价格重新报价。",
}
DUPLICATE_MESSAGE = "该记录已存在：可能是重复提交，或他人刚刚提交了相同的内容。请刷新页面后查看。"


def duplicate_message(constraint: str | None) -> str:
    """The Chinese message for a broken unique key (by its name from :func:`exchange.db.unique_violation`)."""
    return UNIQUE_MESSAGES.get(constraint or "", DUPLICATE_MESSAGE)


# --- a form sent with a stale CSRF token (the session expired, the user signed out or in again elsewhere) ----------
# The pages named here can show the form they were sent again, with what was typed and nothing saved, when its CSRF
# token failed (exchange/web/security.py): the view sees ``flask.g.csrf_failed`` and only renders.  Any other form
# says the page expired and links back to it, where static/js/app.js fills in again what was typed (forms marked
# ``data-keep``); a signed-out user is sent to sign in, then back to the form.
REDISPLAY_ON_CSRF: set[str] = set()
CSRF_REDISPLAY_MESSAGE = "页面停留时间较长，安全校验已过期，刚才的内容还没有保存。您填写的内容都在下面，请核对后再点一次保存。"
CSRF_EXPIRED_MESSAGE = ("页面停留时间较长或已在别处重新登录，安全校验已过期，刚才的内容没有保存。请点“返回上一页”，"
                        "已填写的内容会自动填回，再提交一次。")
CSRF_SIGNED_OUT_MESSAGE = "登录已失效，刚才的内容还没有保存。请重新登录，登录后回到原来的页面，已填写的内容会自动填回。"


def redisplay_on_csrf(endpoint: str) -> None:
    """Name a page that can show its posted form again, unsaved, after a CSRF failure."""
    REDISPLAY_ON_CSRF.add(endpoint)

