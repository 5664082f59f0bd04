"""`flask --app wsgi simulate --listings N`: N complete listings in one run (other villages, categories, prices and
bids; one sold by 协议转让, one 流拍), a summary line before the last certificate's line, and a database whose
statistics (this year's, the dashboard's default) count those deals, certificates and 流拍 — on SQLite, and on a new
PostgreSQL database in the PostgreSQL pass (the ``fresh_url`` fixture of tests/lifecycle.py)."""
import re

from sqlalchemy import func, select

from exchange import clock
from tests.helpers import SIMULATED_CERTIFICATE, SIMULATED_STAGE

SUMMARY = re.compile(r"^共 (\d+) 个项目：成交 (\d+)，流拍 (\d+)，鉴证书 (\d+) 份$")


def _lines(output: str) -> list[str]:
    return [line for line in output.strip().splitlines() if line.strip()]


def test_simulate_three_listings(app, fresh_url, tmp_path):
    with app.app_context():  # as `flask` pushes it for every command
        result = app.test_cli_runner().invoke(args=["simulate", "--listings", "3", "--database", fresh_url,
                                                    "--workdir", str(tmp_path / "work")])
    assert result.exit_code == 0, result.output + repr(result.exception)
    lines = _lines(result.stdout)
    last = SIMULATED_CERTIFICATE.match(lines[-1])
    assert last, lines[-1]
    summary = SUMMARY.match(lines[-2])
    assert summary, lines[-2]
    assert summary.groups() == ("3", "2", "1", "2")  # 网络竞价 + 协议转让 成交, one 流拍
    body = lines[:-2]
    assert all(SIMULATED_STAGE.match(line) for line in body), body
    assert [line[:16] for line in body] == sorted(line[:16] for line in body)  # time only moves forward
    text = "\n".join(body)
    # three listings in three villages, three categories; each stage says its line
    assert text.count("交易点录入并提交项目") == 3 and text.count("交易中心审核通过并发布公告") == 3
    for title in ("江南村二组 30 亩水田", "桃林村集体闲置仓库", "湖滨村四组 12 亩旱地"):
        assert title in text, title
    assert "按协议转让成交" in text and "中心交易员确认协议转让" in text and "项目流拍" in text
    assert text.count("出具鉴证书") == 2 and "账务校验通过" in body[-1]
    assert "登记无账号的村集体经济组织在纸质合同上的签字" in text
    # each listing starts the working day after the previous one ended; all of it before today
    assert body[-1][:10] < clock.local_now().strftime("%Y-%m-%d")
    # the last line is the last certificate issued (the 流拍 came after it)
    issued = [line for line in body if "出具鉴证书" in line]
    assert last.group(1) in issued[-1]
    _check_database(fresh_url, last.group(1), last.group(2), body)


def _check_database(url: str, number: str, sha: str, body: list[str]) -> None:
    import config
    from exchange import create_app
    from exchange.catalog.models import Category
    from exchange.certificates.models import Certificate
    from exchange.certificates.services import short_number
    from exchange.extensions import db
    from exchange.ledger.services import check
    from exchange.listings.models import Listing
    from exchange.supervision import stats
    from exchange.supervision.models import SupervisionAlert
    from exchange.trading.models import Deal

    if url.startswith("postgresql://"):
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)

    class Cfg(config.TestConfig):
        SQLALCHEMY_DATABASE_URI = url

    app = create_app(Cfg)
    with app.app_context():
        try:
            sim = Listing.title.contains("（演练）")
            assert db.session.scalar(select(func.count(Listing.id)).where(sim)) == 3
            states = dict(db.session.execute(select(Listing.state, func.count(Listing.id)).where(sim)
                                             .group_by(Listing.state)).all())
            assert states == {"completed": 2, "failed": 1}
            assert db.session.scalar(select(func.count(Deal.id))) == 2
            methods = sorted(db.session.scalars(select(Deal.method)))
            assert methods == ["agreement", "online_bidding"]
            assert db.session.scalar(select(func.count(Certificate.id)).where(Certificate.state == "valid")) == 2
            codes = set(db.session.scalars(select(Category.code).join(Listing, Listing.category_id == Category.id)
                                           .where(sim)))
            assert codes == {"C01", "C05"}  # 土地 twice, 集体经营性资产 once
            towns = set(db.session.scalars(select(Listing.station_id).where(sim)))
            assert len(towns) == 3
            # the collective asset went below 70 % of its appraisal: the supervisor is warned
            assert db.session.scalar(select(func.count(SupervisionAlert.id))
                                     .where(SupervisionAlert.kind == "low_price")) == 1
            assert check() == []

            # the dashboard's figures: this year so far (the default period) …
            f = stats.parse_filters({}, default_period=True)
            figures = stats.summary(f)
            start, end = f.start, f.end
            # (the transfers' figures: a procurement project — the demo's road repair, 流标 when its opening comes
            # with one bid — is reported apart, in figures["procurement"])
            in_period = db.session.scalar(select(func.count(Deal.id)).where(Deal.concluded_at >= start,
                                                                            Deal.concluded_at < end,
                                                                            Deal.method != "procurement"))
            failed = db.session.scalar(select(func.count(Listing.id)).where(
                Listing.state == "failed", Listing.state_since >= start, Listing.state_since < end,
                Listing.trading_method != "procurement"))
            assert figures["listings"]["concluded"] == figures["deals"]["count"] == in_period
            assert figures["listings"]["failed"] == failed
            assert figures["procurement"]["failed"] == db.session.scalar(select(func.count(Listing.id)).where(
                Listing.state == "failed", Listing.state_since >= start, Listing.state_since < end,
                Listing.trading_method == "procurement"))
            assert figures["clocks"]["certify"]["total"] == in_period
            if body[0][:4] == clock.local_now().strftime("%Y"):  # the run lies in this year (not so in early January)
                assert in_period == 2 and failed >= 1  # the demo seed's own listings end 流拍 too
                assert figures["clocks"]["certify"]["met"] == 2
            # … and the run's own days: every deal and certificate
            run = stats.parse_filters({"from": body[0][:10], "to": body[-1][:10]})
            figures = stats.summary(run)
            assert figures["deals"]["count"] == 2 and figures["clocks"]["certify"] == {
                "met": 2, "missed": 0, "total": 2, "share": figures["clocks"]["certify"]["share"]}
            assert figures["listings"]["failed"] >= 1
            assert figures["deals"]["amount"] == sum(db.session.scalars(select(Deal.price)))

            # the last line's certificate verifies
            cert = db.session.scalar(select(Certificate).where(Certificate.cert_no == number))
            assert cert is not None and cert.pdf_sha256 == sha
            response = app.test_client().get(f"/verify/{short_number(number)}")
            page = response.get_data(as_text=True)
            assert response.status_code == 200 and "有效" in page and sha in page
        finally:
            db.session.remove()
            db.engine.dispose()


def test_listings_out_of_range_are_refused(app, tmp_path):
    with app.app_context():
        for n in ("0", "21", "x"):
            result = app.test_cli_runner().invoke(args=["simulate", "--listings", n, "--workdir",
                                                        str(tmp_path / "work")])
            assert result.exit_code == 2 and "--listings" in result.output, result.output
    assert not (tmp_path / "work").exists()
