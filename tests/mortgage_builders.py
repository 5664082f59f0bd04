"""Mortgages (issue 19) built through the services: a bank under the center with its officer, a household's right
registered at intake, an application with its papers."""
from __future__ import annotations

from exchange.accounts.services import create_staff
from exchange.audit.services import acting_as
from exchange.idcheck import make_resident_id
from exchange.mortgages import services as msvc
from exchange.orgs.services import create_org
from tests.builders import PDF
from tests.factories import PASSWORD


def bank(users, orgs, code="LX-BANK-01", name="临湘农商银行"):
    """A rural commercial bank under the center and its 客户经理 (``users["lender"]``)."""
    from exchange.demo import _demo_uscc
    with acting_as("test"):
        org = create_org(users["admin"], kind="lender", parent=orgs.center, name=name, area_name="临湘市",
                         code=code, institution_type="rural_bank", uscc=_demo_uscc("9143068200000777"))
        users["lender"] = create_staff(users["admin"], username=f"t_lender_{code[-2:]}", display_name="测试客户经理",
                                       role="lender", org=org, password=PASSWORD, must_change_password=False)
    return org


def household_right(**kw) -> dict:
    """团湖村's household 承包地, 12 亩, its 经营权证 to 2038 (registered at intake)."""
    f = dict(category_code="C01", right_cert_no="430682 经营权 2019-0456", location="江南镇团湖村三组", quantity="12",
             right_end_date="2038-12-31", holder_name="农户演示", holder_mobile="13800000004",
             holder_id_no=make_resident_id("43068219650315452"), amount="80000", appraisal_value="120000",
             appraisal_agency="湖南某资产评估公司", loan_start="2026-12-01", loan_end="2029-11-30",
             purpose="购置农机、流转扩大种植")
    f.update(kw)
    return f


def applied(users, org, **kw):
    """The clerk of 新建村 applies for the household, with every paper."""
    clerk = users["point_a1"]
    m = msvc.apply(clerk, institution_id=org.id, **household_right(**kw))
    for kind in msvc.required_materials(m):
        msvc.add_material(clerk, m, kind, PDF, f"{kind}.pdf")
    return m
