"""Test data built through the same services the platform uses."""
from __future__ import annotations

from types import SimpleNamespace

from exchange.accounts.models import OrgType, Role
from exchange.accounts.services import SignUp, create_staff, register_public
from exchange.audit.services import acting_as
from exchange.extensions import db
from exchange.idcheck import make_resident_id
from exchange.orgs.services import create_org

PASSWORD = "Test2026pass"


def make_org_tree() -> SimpleNamespace:
    """A center, two town stations (A: 长安街道, B: 江南镇), two village points each."""
    with acting_as("test"):
        center = create_org(None, kind="center", parent=None, name="临湘市农村产权交易中心", area_name="临湘市",
                            code="LX", division_code="430682")
        station_a = create_org(None, kind="station", parent=center, name="长安街道农村产权交易站",
                               area_name="长安街道", code="LX-01")
        station_b = create_org(None, kind="station", parent=center, name="江南镇农村产权交易站",
                               area_name="江南镇", code="LX-05")
        point_a1 = create_org(None, kind="point", parent=station_a, name="长安街道新建村农村产权交易点",
                              area_name="新建村", code="LX-01-01")
        point_a2 = create_org(None, kind="point", parent=station_a, name="长安街道茶园村农村产权交易点",
                              area_name="茶园村", code="LX-01-02")
        point_b1 = create_org(None, kind="point", parent=station_b, name="江南镇团湖村农村产权交易点",
                              area_name="团湖村", code="LX-05-01")
        point_b2 = create_org(None, kind="point", parent=station_b, name="江南镇山峰村农村产权交易点",
                              area_name="山峰村", code="LX-05-02")
    db.session.commit()
    return SimpleNamespace(center=center, station_a=station_a, station_b=station_b, point_a1=point_a1,
                           point_a2=point_a2, point_b1=point_b1, point_b2=point_b2)


STAFF = [
    # key, username, role, org attribute
    ("admin", "t_admin", Role.ADMIN, "center"),
    ("center_reviewer", "t_reviewer", Role.CENTER_REVIEWER, "center"),
    ("trading_officer", "t_trader", Role.TRADING_OFFICER, "center"),
    ("finance", "t_finance", Role.FINANCE, "center"),
    ("finance2", "t_finance2", Role.FINANCE, "center"),
    ("supervisor", "t_supervisor", Role.SUPERVISOR, "center"),
    ("station_a", "t_station_a", Role.STATION_REVIEWER, "station_a"),
    ("station_b", "t_station_b", Role.STATION_REVIEWER, "station_b"),
    ("point_a1", "t_point_a1", Role.POINT_CLERK, "point_a1"),
    ("point_b1", "t_point_b1", Role.POINT_CLERK, "point_b1"),
]


def make_staff_set(orgs: SimpleNamespace) -> dict:
    users = {}
    with acting_as("test"):
        for key, username, role, org_attr in STAFF:
            users[key] = create_staff(None, username=username, display_name=f"测试{key}", role=role.value,
                                      org=getattr(orgs, org_attr), password=PASSWORD, must_change_password=False)
        users["buyer"] = register_public(SignUp(
            username="t_buyer", password=PASSWORD, kind="person", name="测试受让人", mobile="13900000001",
            id_number=make_resident_id("43068219900101001"), foreign_kind="domestic"))
        users["buyer_org"] = make_org_buyer("t_buyer_org", "9143068200000009")
    db.session.commit()
    return users


def make_org_buyer(username: str, prefix16: str, org_type: str = OrgType.ENTERPRISE.value,
                   foreign_kind: str = "domestic"):
    from exchange.demo import _demo_uscc
    return register_public(SignUp(
        username=username, password=PASSWORD, kind="organisation", name=f"{username} 测试公司",
        mobile="13900000002", uscc=_demo_uscc(prefix16), org_type=org_type, contact_name="测试联系人",
        foreign_kind=foreign_kind))
