"""The role × org-scope matrix for every action in exchange.access.ACTIONS."""
import pytest

from exchange.access import ACTIONS, AccessDenied, can, in_scope, require

# Written out by hand from DESIGN §1 — not derived from ACTIONS, so a wrong rule fails here.
EXPECTED = {
    "work.view": {"point_a1", "station_a", "center_reviewer", "trading_officer", "finance", "admin", "supervisor",
                  "buyer"},
    "orgs.view": {"point_a1", "station_a", "center_reviewer", "trading_officer", "finance", "admin", "supervisor"},
    "orgs.manage": {"admin"},
    "users.view": {"admin", "supervisor"},
    "users.manage": {"admin"},
    "tokens.manage": {"admin"},
    "calendar.view": {"point_a1", "station_a", "center_reviewer", "trading_officer", "finance", "admin",
                      "supervisor"},
    "calendar.manage": {"admin"},
    "rules.manage": {"admin"},
    "audit.view": {"admin", "supervisor"},
    "catalog.manage": {"admin"},
    "listings.view": {"point_a1", "station_a", "center_reviewer", "trading_officer", "finance", "admin",
                      "supervisor"},
    "listings.edit": {"point_a1", "center_reviewer"},
    "listings.submit": {"point_a1", "center_reviewer"},
    "listings.station_review": {"station_a"},
    "listings.center_review": {"center_reviewer"},
    "registrations.review": {"center_reviewer"},
    "deposits.confirm": {"finance"},
    "refunds.manage": {"finance"},
    "statements.import": {"finance"},
    "ledger.view": {"finance", "supervisor"},
    "trading.view": {"trading_officer", "center_reviewer", "finance", "supervisor"},
    "trading.manage": {"trading_officer"},
    "objections.decide": {"center_reviewer"},
    "listings.relist": {"center_reviewer"},
    "listings.terminate": {"center_reviewer"},
    "listings.suspend": {"center_reviewer"},
    "listings.restart_apply": {"point_a1", "station_a", "center_reviewer"},
    "defaults.decide": {"center_reviewer"},
    "disputes.view": {"center_reviewer", "trading_officer", "supervisor"},
    "disputes.manage": {"center_reviewer"},
    "conduct.view": {"center_reviewer", "trading_officer", "supervisor"},
    "conduct.decide": {"center_reviewer"},
    "contracts.manage": {"center_reviewer", "trading_officer"},
    "settlement.manage": {"finance"},
    "fees.manage": {"admin"},
    "certificates.issue": {"center_reviewer"},
    "stats.view": {"center_reviewer", "trading_officer", "finance", "admin", "supervisor"},
    "reports.download": {"center_reviewer", "finance", "admin", "supervisor"},
    "alerts.view": {"center_reviewer", "admin", "supervisor"},
    "alerts.handle": {"center_reviewer"},
    "datatokens.manage": {"admin"},
    "experts.view": {"center_reviewer", "admin", "supervisor"},
    "experts.manage": {"center_reviewer", "admin"},
    "procurement.view": {"trading_officer", "center_reviewer", "finance", "supervisor"},
    "procurement.evaluate": {"trading_officer"},
    "procurement.award": {"point_a1", "center_reviewer"},
    "procurement.approve_award": {"center_reviewer"},
    "mortgages.apply": {"point_a1", "buyer"},
    "mortgages.review": {"center_reviewer"},
    "mortgages.decide": set(),  # the institutions' officers only (none among these actors)
    "mortgages.view": {"center_reviewer", "supervisor"},
    "archive.download": {"center_reviewer", "trading_officer", "finance", "admin", "supervisor"},
}

ACTORS = ["point_a1", "station_a", "center_reviewer", "trading_officer", "finance", "admin", "supervisor", "buyer"]


def test_every_action_has_an_expectation():
    assert set(EXPECTED) == set(ACTIONS), "a new action needs its row in the test matrix"


@pytest.mark.parametrize("action", sorted(EXPECTED))
def test_role_matrix(users, orgs, action):
    for key in ACTORS:
        user = users[key]
        # for scoped actions ask about the actor's own unit (in scope where the role allows it)
        org = user.org_unit or orgs.point_a1
        allowed = can(user, action, org)
        assert allowed == (key in EXPECTED[action]), f"{key} / {action}: got {allowed}"
        if allowed:
            require(user, action, org)
        else:
            with pytest.raises(AccessDenied) as exc:
                require(user, action, org)
            assert "权限" in exc.value.message or "范围" in exc.value.message


def test_supervisor_never_gets_a_write_action(users):
    for name, rule in ACTIONS.items():
        if not rule.read:
            assert not can(users["supervisor"], name), name


@pytest.mark.article("三级服务体系")
@pytest.mark.parametrize("actor,target,expected", [
    ("point_a1", "point_a1", True),
    ("point_a1", "point_a2", False),   # another village of the same town
    ("point_a1", "station_a", False),  # up the tree
    ("point_a1", "point_b1", False),
    ("station_a", "station_a", True),
    ("station_a", "point_a1", True),
    ("station_a", "point_a2", True),
    ("station_a", "station_b", False),  # another town
    ("station_a", "point_b1", False),
    ("station_a", "center", False),
    ("center_reviewer", "point_b1", True),
    ("admin", "station_b", True),
    ("supervisor", "point_b2", True),
    ("buyer", "point_a1", False),
])
def test_org_scope(users, orgs, actor, target, expected):
    org = getattr(orgs, target)
    assert in_scope(users[actor], org) is expected
    assert can(users[actor], "orgs.view", org) is expected


def test_out_of_scope_message_is_clear(users, orgs):
    with pytest.raises(AccessDenied) as exc:
        require(users["station_a"], "orgs.view", orgs.point_b1)
    assert exc.value.message == "该事项不在您的管辖范围内。"


def test_scoped_action_without_org_is_refused(users):
    assert not can(users["admin"], "orgs.view", None)


def test_unknown_action_is_refused(users):
    with pytest.raises(AccessDenied):
        require(users["admin"], "orgs.destroy_everything")


def test_inactive_account_can_do_nothing(users, db):
    admin = users["admin"]
    admin.active = False
    db.session.flush()
    assert not can(admin, "orgs.manage")


def test_anonymous_can_do_nothing():
    from flask_login import AnonymousUserMixin
    anon = AnonymousUserMixin()
    assert not any(can(anon, a) for a in ACTIONS)
