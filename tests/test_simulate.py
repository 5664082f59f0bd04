"""`flask --app wsgi simulate`: one complete listing on a fresh training database, stage by stage in
simulated time, ending with ``鉴证书 <number> <sha256>`` — and that certificate verifies on /verify/<number>
of an app pointed at that database.  The database is a new SQLite file, or (PostgreSQL pass) a new
PostgreSQL database created and dropped here."""
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, inspect, select, text

from exchange import clock
from tests.helpers import SIMULATED_CERTIFICATE, SIMULATED_STAGE

ROOT = Path(__file__).resolve().parent.parent
# what the stages say, in this order
STAGES = ["演练数据库", "收费标准", "交易点录入并提交", "交易站初审通过", "发布公告", "在线报名", "在线报名", "在线报名",
          "合格", "合格", "不予登记", "网上支付保证金", "银行回单", "进入组织交易", "安排网络竞价", "网络竞价开始",
          "进入限时报价期", "倒计时重新开始", "被拒绝", "竞得", "退还", "交易公示期满", "在线签署合同",
          "登记无账号", "扫描件", "核验签章合同", "结算单", "网上支付余款", "登记划付", "复核通过划付", "出具鉴证书", "账务校验通过"]


def _check_output(output: str) -> tuple[str, str]:
    lines = [line for line in output.strip().splitlines() if line.strip()]
    m = SIMULATED_CERTIFICATE.match(lines[-1])
    assert m, lines[-1]
    body = lines[:-1]
    assert all(SIMULATED_STAGE.match(line) for line in body), body
    stamps = [line[:16] for line in body]
    assert stamps == sorted(stamps)  # simulated time only moves forward
    at = 0
    for word in STAGES:
        at = next((i for i in range(at, len(body)) if word in body[i]), None)
        assert at is not None, (word, body)
        at += 1
    return m.group(1), m.group(2)


def _check_database(url: str, number: str, sha: str) -> None:
    """The certificate is in that database with that hash, and an app on it says 有效 on /verify."""
    import config
    from exchange import create_app
    from exchange.certificates.models import Certificate
    from exchange.certificates.services import find, short_number
    from exchange.extensions import db
    from exchange.listings.models import Listing
    from exchange.ledger.services import check

    if url.startswith("postgresql://"):
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)

    class Cfg(config.TestConfig):
        SQLALCHEMY_DATABASE_URI = url

    app = create_app(Cfg)
    with app.app_context():
        try:
            cert = find(number)
            assert cert is not None and cert.cert_no == number and cert.state == "valid"
            assert cert.pdf_sha256 == sha
            assert db.session.scalar(select(Certificate.pdf_sha256).where(Certificate.id == cert.id)) == sha
            listing = db.session.get(Listing, cert.deal.listing_id)
            assert listing.state == "completed" and "演练" in listing.title
            assert check() == []
            for path in (f"/verify/{short_number(number)}", f"/verify/{number}"):
                response = app.test_client().get(path)
                body = response.get_data(as_text=True)
                assert response.status_code == 200 and "有效" in body and sha in body, path
        finally:
            db.session.remove()
            db.engine.dispose()


def test_simulate_runs_one_listing_to_a_verifiable_certificate(app, fresh_url, tmp_path):
    work = tmp_path / "work"
    with app.app_context():  # as `flask` pushes it for every command
        result = app.test_cli_runner().invoke(args=["simulate", "--database", fresh_url, "--workdir", str(work)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    number, sha = _check_output(result.stdout)  # stderr has the migration's log
    _check_database(fresh_url, number, sha)
    assert (work / "certificates" / "center-key.pem").exists() and any((work / "uploads").iterdir())
    assert not clock.is_frozen()  # the command gives the process its clock back


def test_simulate_refuses_a_database_that_holds_data(app, fresh_url, tmp_path):
    engine = create_engine(fresh_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE keep_me (x integer)"))
        conn.execute(text("INSERT INTO keep_me (x) VALUES (1)"))
    try:
        with app.app_context():
            result = app.test_cli_runner().invoke(args=["simulate", "--database", fresh_url,
                                                        "--workdir", str(tmp_path / "work")])
        assert result.exit_code == 1
        assert "检查演练数据库" in result.output and "不是空的" in result.output
        assert not (tmp_path / "work").exists()
        with engine.connect() as conn:  # untouched
            assert conn.execute(text("SELECT count(*) FROM keep_me")).scalar() == 1
            assert "alembic_version" not in set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def test_flask_simulate_without_options_makes_its_own_sqlite_database(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TRAINING_MODE", "CERT_KEY_PATH",
                                                              "CERT_PATH", "UPLOAD_ROOT")}
    env["EXCHANGE_INSTANCE_DIR"] = str(tmp_path)
    env["SCHEDULER"] = "false"
    proc = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "simulate"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    number, sha = _check_output(proc.stdout)
    runs = list(tmp_path.glob("simulate-*/simulate.db"))
    assert len(runs) == 1
    _check_database(f"sqlite:///{runs[0]}", number, sha)


PROCUREMENT_STAGES = ["演练数据库", "收费标准", "交易点录入招标项目", "交易站初审通过", "发布招标公告", "报名", "报名", "报名",
                      "资格通过", "投标保证金", "提交密封投标", "提交密封投标", "提交密封投标", "到点自动开标", "确认评标结果",
                      "确定第一中标候选人", "双方签署", "应退投标保证金", "复核", "服务费", "出具鉴证书", "账务校验通过"]


def test_simulate_runs_one_procurement_project_to_its_certificate(app, fresh_url, tmp_path):
    """`flask simulate --procurement` (issue 18): a village's road repair by 招标 from intake to its 鉴证书."""
    import config
    from exchange import create_app
    from exchange.certificates.services import find
    from exchange.extensions import db
    from exchange.ledger.services import check
    from exchange.procurement import services as psvc
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["simulate", "--procurement", "--database", fresh_url,
                                                    "--workdir", str(tmp_path / "work")])
    assert result.exit_code == 0, result.output + repr(result.exception)
    lines = [line for line in result.stdout.strip().splitlines() if line.strip()]
    m = SIMULATED_CERTIFICATE.match(lines[-1])
    assert m, lines[-1]
    at = 0
    for word in PROCUREMENT_STAGES:
        at = next((i for i in range(at, len(lines) - 1) if word in lines[i]), None)
        assert at is not None, (word, lines)
        at += 1
    url = fresh_url.replace("postgresql://", "postgresql+psycopg://", 1)

    class Cfg(config.TestConfig):
        SQLALCHEMY_DATABASE_URI = url

    other = create_app(Cfg)
    with other.app_context():
        try:
            cert = find(m.group(1))
            listing = cert.deal.listing
            assert cert.pdf_sha256 == m.group(2) and listing.is_procurement and listing.state == "completed"
            project = psvc.project_of(listing)
            assert project.state == "awarded" and cert.deal.price == min(b.price for b in psvc.opening_record(listing))
            assert check() == []
        finally:
            db.session.remove()
            db.engine.dispose()
