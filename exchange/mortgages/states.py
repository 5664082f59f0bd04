"""A mortgage's lifecycle (抵押登记, DESIGN §3.13).

=============  =====================================================================================
applied        the holder (or the village point for it) applied; the center checks the right
checked        the center found the right free and the papers complete; the institution decides
approved       the institution approved the loan (contract number, amount, rate, term)
registered     the center registered the mortgage: 抵押登记证明 issued, the right is 抵押中
released       the institution released it on repayment (解押): the right is free
disposing      on default the institution applied to dispose of the right; its listing runs
disposed       the right was sold, the proceeds paid to the mortgagee first
refused        the institution refused the loan (with the reason)
rejected       the center found the right not mortgageable (with the reason)
withdrawn      the applicant withdrew before the registration
=============  =====================================================================================
"""
from __future__ import annotations

from enum import nonmember

from exchange.machine import Machine, States, Transition


class MortgageState(States):
    APPLIED = "applied", "待中心审查"
    CHECKED = "checked", "待金融机构审批"
    APPROVED = "approved", "金融机构已批准，待登记"
    REGISTERED = "registered", "抵押中"
    RELEASED = "released", "已解押"
    DISPOSING = "disposing", "处置中"
    DISPOSED = "disposed", "已处置"
    REFUSED = "refused", "金融机构未批准"
    REJECTED = "rejected", "不予登记"
    WITHDRAWN = "withdrawn", "已撤回"

    # the right is held by this mortgage (one at a time per right: a partial unique index)
    HOLDS = nonmember(frozenset({"checked", "approved", "registered", "disposing"}))
    # a mortgage the public verify page may show (its certificate was issued)
    CERTIFIED = nonmember(frozenset({"registered", "released", "disposing", "disposed"}))
    # ended
    ENDED = nonmember(frozenset({"released", "disposed", "refused", "rejected", "withdrawn"}))


MORTGAGE = Machine("mortgage", MortgageState, [
    Transition("check", "审查通过，转金融机构审批", frozenset({"applied"}), "checked", "mortgages.review"),
    Transition("reject", "不予登记", frozenset({"applied", "approved"}), "rejected", "mortgages.review",
               reason_required=True),
    Transition("approve", "批准贷款", frozenset({"checked"}), "approved", "mortgages.decide"),
    Transition("refuse", "不批准贷款", frozenset({"checked"}), "refused", "mortgages.decide", reason_required=True),
    Transition("register", "办理抵押登记", frozenset({"approved"}), "registered", "mortgages.review"),
    Transition("release", "解除抵押", frozenset({"registered"}), "released", "mortgages.decide"),
    Transition("dispose", "申请处置抵押物", frozenset({"registered"}), "disposing", "mortgages.decide",
               reason_required=True),
    Transition("disposed", "处置完毕", frozenset({"disposing"}), "disposed"),
    # the holder (or the point for it) withdraws before the registration (the service authorised it)
    Transition("withdraw", "撤回抵押申请", frozenset({"applied", "checked", "approved"}), "withdrawn"),
], scope=lambda m: m.institution, what=lambda m: "抵押")
