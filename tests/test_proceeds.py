"""第二十一条 (DESIGN §3.11): a household's proceeds only to an account in the household's (the transferor's) name —
or its attorney's, when it entrusted one — checked by name and ID number; a collective's proceeds (a collective
transferor, or C04, C05, C08) only to the collective economic organisation's 法人账户, by its name and its 统一社会信用代码
(registered by the agricultural department: N…).  Checked when the listing is submitted and again before the payout."""
import pytest

from exchange.idcheck import make_org_code, make_resident_id, make_uscc
from exchange.listings import services as svc
from exchange.listings.proceeds import collective_proceeds, payee_problem
from exchange.settlement import services as stl
from tests.builders import COLLECTIVE_USCC, PDF, attach, category, collective_fields, household_fields

pytestmark = [pytest.mark.usefixtures("uploads"), pytest.mark.article("第二十一条")]

AGENT_ID = make_resident_id("43068219880808002")


def _draft(users, code="C01", **kw):
    fields = collective_fields(**kw) if code in ("C04", "C05") else household_fields(**kw)
    return svc.create_draft(users["point_a1"], category=category(code), **fields)


def test_a_household_account_must_be_the_transferors_own(users, db):
    ok = _draft(users)
    assert payee_problem(ok) == "" and not collective_proceeds(ok)
    # the account in another person's name: refused, whatever the name
    other = _draft(users, account_name="村会计张三")
    assert "只能转入挂牌申请方（转让方）本人" in payee_problem(other)
    # the right name but opened under another person's ID: refused
    twin = _draft(users, account_holder_id_no=AGENT_ID)
    assert payee_problem(twin) != ""
    # the attorney named in the power of attorney may receive it — only when entrusted
    attorney = _draft(users, account_name="李受托", account_holder_id_no=AGENT_ID)
    assert payee_problem(attorney) != ""
    attorney.entrusted, attorney.agent_name, attorney.agent_id_no = True, "李受托", AGENT_ID
    assert payee_problem(attorney) == ""


def test_the_submission_is_refused_with_the_reason(users, db):
    listing = _draft(users, account_name="村会计张三")
    attach(listing, users["point_a1"])
    with pytest.raises(svc.WorkflowError) as exc:
        svc.submit(users["point_a1"], listing)
    assert any("第二十一条" in p for p in exc.value.problems)


def test_collective_proceeds_go_to_the_collectives_legal_account_by_name_and_uscc(users, db):
    ok = _draft(users, "C05")
    assert collective_proceeds(ok) and payee_problem(ok) == ""
    # the same name, another organisation's code
    wrong_code = _draft(users, "C05", account_holder_id_no=make_uscc("N2430682" + make_org_code("MA4L0002")))
    assert "统一社会信用代码须与转让方一致" in payee_problem(wrong_code)
    # a company (登记管理部门 9, not the agricultural department) is no collective economic organisation
    company = make_uscc("91430682" + make_org_code("MA4L0003"))
    firm = _draft(users, "C05", transferor_id_no=company, account_holder_id_no=company)
    assert "N 开头" in payee_problem(firm)
    # a person's account for a collective's money
    person = _draft(users, "C05", account_name="村支书", account_holder_id_no=AGENT_ID)
    assert payee_problem(person) != ""
    # C04/C05/C08 are collective whoever typed the transferor as a household
    household_c04 = svc.create_draft(users["point_a1"], category=category("C04"), **household_fields())
    assert collective_proceeds(household_c04) and "转让方类型" in payee_problem(household_c04)
    assert COLLECTIVE_USCC.startswith("N2430682")


def test_checked_again_before_the_payout(users, effective, db):
    s = stl.ensure_settlement(effective)
    stl.confirm_receipt(users["finance"], s, str(s.amount_to_pay), source_key="R-21", receipt=PDF,
                        receipt_filename="r.pdf")
    listing = effective.listing
    listing.account_name = "张三"  # edited after the submission
    with pytest.raises(stl.SettlementError) as exc:
        stl.charge_fees(users["finance"], s)
    assert "不能划付" in exc.value.message and "第二十一条" in exc.value.message
