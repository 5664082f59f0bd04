"""CLI commands: seed-demo, create-admin, audit verify (including tampering)."""
from sqlalchemy import func, select, text

from exchange.accounts.models import User
from exchange.demo import DEMO_PASSWORD, TOWNS
from exchange.orgs.models import OrgUnit


def test_seed_demo_builds_the_county_and_prints_accounts(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "admin" in result.output and DEMO_PASSWORD in result.output and "buyer_person" in result.output
    stations = db.session.scalars(select(OrgUnit).where(OrgUnit.kind == "station")).all()
    assert sorted(s.area_name for s in stations) == sorted(t[0] for t in TOWNS)
    assert len(stations) == 14
    points = db.session.scalar(select(func.count(OrgUnit.id)).where(OrgUnit.kind == "point"))
    assert points == sum(len(t[2]) for t in TOWNS) and points >= 28
    roles = set(db.session.scalars(select(User.role)).all())
    assert roles == {"admin", "center_reviewer", "trading_officer", "finance", "supervisor", "station_reviewer",
                     "point_clerk", "public"}
    # every station has its reviewer, every point its clerk
    for unit in db.session.scalars(select(OrgUnit).where(OrgUnit.kind != "center")):
        assert db.session.scalar(select(func.count(User.id)).where(User.org_unit_id == unit.id)) >= 1, unit.name
    # a second run refuses; --if-empty skips quietly
    assert runner.invoke(args=["seed-demo"]).exit_code != 0
    assert runner.invoke(args=["seed-demo", "--if-empty"]).exit_code == 0


def test_demo_accounts_can_sign_in(app, db, client):
    app.test_cli_runner().invoke(args=["seed-demo"])
    from tests.helpers import login
    for username in ["admin", "shenhe", "jiaoyi", "caiwu1", "jianguan", "zhan_changan", "cun_changan_1",
                     "buyer_person", "buyer_company", "buyer_coop"]:
        resp = login(client, username, DEMO_PASSWORD)
        assert resp.status_code == 302, username
        client.post("/logout", data={"csrf_token": _token(client)})


def _token(client):
    from tests.helpers import csrf_from
    return csrf_from(client.get("/work").get_data(as_text=True))


def test_audit_verify_ok_then_fails_after_hand_edit(app, db):
    runner = app.test_cli_runner()
    runner.invoke(args=["seed-demo"])
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and result.output.startswith("审计链完整")
    db.session.execute(text("UPDATE audit_entry SET actor_name = '某人' WHERE seq = 7"))
    db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "第 7 条" in result.output


def test_create_admin(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-admin", "--username", "boss", "--name", "管理员",
                                 "--password", "Strong2026pw"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.username == "boss"))
    assert user.role == "admin" and user.org_unit.kind == "center"
    result = runner.invoke(args=["create-admin", "--username", "boss2", "--name", "管理员", "--password", "weak"])
    assert result.exit_code != 0 and "至少 8 位" in result.output
