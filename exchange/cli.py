"""Command-line tools: ``flask --app wsgi seed-demo | create-admin | audit verify``."""
from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import func, select

from exchange.extensions import db


def init_app(app: Flask) -> None:
    app.cli.add_command(seed_demo)
    app.cli.add_command(demo_cli)
    app.cli.add_command(create_admin)
    app.cli.add_command(audit_cli)
    app.cli.add_command(ledger_cli)
    app.cli.add_command(sweep_cmd)
    app.cli.add_command(scheduler_cmd)
    app.cli.add_command(certificates_cli)
    app.cli.add_command(simulate_cmd)
    app.cli.add_command(alerts_cli)
    app.cli.add_command(stats_cli)
    app.cli.add_command(calendar_cli)


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="只在数据库尚无机构时写入演示数据")
@click.option("--password", default=None, help="演示账号的统一密码（默认 Demo@2026）")
@click.option("--history", is_flag=True,
              help="另写入近两年的交易历史：经各业务服务走完的项目（成交、鉴证书、退款、流拍、中止、违约）和各待办队列的事项")
@click.option("--listings", "history_listings", default=None, type=click.IntRange(1, 200), metavar="N",
              help="交易历史的项目数（默认 48；与 --history 一起用）")
def seed_demo(if_empty: bool, password: str | None, history: bool, history_listings: int | None):
    """写入演示数据：交易中心、14 个交易站及其交易点、各角色演示账号、3 个意向受让方；加 --history 另写入近两年的交易历史。"""
    from exchange import clock
    from exchange.audit.services import acting_as
    from exchange.demo import DEMO_PASSWORD, print_accounts, seed
    from exchange.orgs.models import OrgUnit
    existing = db.session.scalar(select(func.count(OrgUnit.id)))
    if existing:
        if if_empty:
            click.echo("数据库已有数据，跳过演示数据写入。")
            print_accounts(password or DEMO_PASSWORD, only_existing=True)
            return
        raise click.ClickException("数据库中已有机构数据；演示数据只能写入空数据库（可加 --if-empty 跳过）。")
    if history_listings is not None and not history:
        raise click.UsageError("--listings 须与 --history 一起使用。")
    n = (history_listings or _default_history()) if history else 0
    was_frozen, before = clock.is_frozen(), clock.now()
    try:
        with acting_as("命令行 seed-demo"):
            result = seed(password or DEMO_PASSWORD, history=n)
    except Exception as exc:
        db.session.rollback()
        from exchange.training.simulate import SimulationError
        if isinstance(exc, SimulationError):
            raise click.ClickException(str(exc)) from None
        raise
    finally:  # the history moves the clock; give the process its own back whatever happened
        if was_frozen:
            clock.freeze(max(clock.now(), before))
        else:
            clock.unfreeze()
    db.session.commit()
    past = result.get("history") or {}
    if past:
        click.echo(f"演示数据已写入，含近两年交易历史：{past['listings']} 个项目，另有中止后重启、违约的各 1 个"
                   f"（共出具鉴证书 {past['certificates']} 份，流拍 {past['failed']} 个）；{past['today']} 个项目停在今天的"
                   "各待办队列。")
    else:
        click.echo("演示数据已写入。")
    print_accounts(password or DEMO_PASSWORD)


def _default_history() -> int:
    from exchange.training.history import HISTORY_LISTINGS
    return HISTORY_LISTINGS


demo_cli = AppGroup("demo", help="演示环境工具。")


@demo_cli.command("refresh-bidding")
def demo_refresh_bidding():
    """演示库再次启动时（make run）：若没有尚未开始或正在进行的网络竞价，重新安排演示竞价项目在 10 分钟后开始。"""
    from exchange.audit.services import acting_as
    from exchange.demo import refresh_bidding
    with acting_as("命令行 demo refresh-bidding"):
        message = refresh_bidding()
    db.session.commit()
    click.echo(message)


@click.command("create-admin")
@click.option("--username", prompt="登录名")
@click.option("--name", "display_name", prompt="姓名")
@click.option("--password", prompt="密码", hide_input=True, confirmation_prompt=True)
def create_admin(username: str, display_name: str, password: str):
    """新建中心管理员账号（首次部署时使用）。"""
    from exchange.accounts.services import AccountError, create_staff
    from exchange.audit.services import acting_as
    from exchange.orgs.services import center, create_org
    with acting_as("命令行 create-admin"):
        org = center()
        if org is None:
            org = create_org(None, kind="center", parent=None, name="临湘市农村产权交易中心",
                             area_name="临湘市", code="LX", division_code="430682")
        try:
            user = create_staff(None, username=username, display_name=display_name, role="admin", org=org,
                                password=password, must_change_password=False)
        except AccountError as exc:
            db.session.rollback()
            raise click.ClickException(exc.message) from None
    db.session.commit()
    click.echo(f"已创建中心管理员 {user.username}（{org.name}）。")


audit_cli = AppGroup("audit", help="审计日志工具。")


@audit_cli.command("verify")
def audit_verify():
    """校验审计链：完整时输出 OK，被篡改时输出第一条出错的记录并以非零状态退出。"""
    from exchange.audit.services import verify
    result = verify()
    click.echo(result.message())
    if not result.ok:
        sys.exit(1)


alerts_cli = AppGroup("alerts", help="监督预警工具。")


@alerts_cli.command("detect")
def alerts_detect():
    """查找监督预警（逾期、低价成交、竞买人共用联系方式、无竞争多次成交、多次流拍），输出新增条数。"""
    from exchange.audit.services import acting_as
    from exchange.supervision.alerts import detect
    with acting_as("命令行 alerts detect"):
        n = detect()
    db.session.commit()
    click.echo(f"新增监督预警 {n} 条。")


stats_cli = AppGroup("stats", help="统计分析工具。")


@stats_cli.command("rebuild")
def stats_rebuild():
    """重新计算统计汇总表（按日、按月）；用 SQL 直接改过业务数据后执行。"""
    from exchange.supervision.rollup import rebuild
    rebuild()
    click.echo("统计汇总已重新计算。")


calendar_cli = AppGroup("calendar", help="工作日历：导入国务院办公厅放假通知、查看某年安排、重算期限。")


@calendar_cli.command("notice")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--apply", "apply_", is_flag=True, help="确认该年安排并按新安排调整正在计算的期限（默认只解析，不保存）")
@click.option("--note", default="", help="确认的依据，如通知文号（与 --apply 一起用）")
def calendar_notice(file: str, apply_: bool, note: str):
    """解析通知全文（UTF-8 或 GB18030 文本），输出 {"year", "holidays", "workdays"}；加 --apply 才生效。"""
    import json

    from exchange.workdays import notice as notices
    from exchange.workdays import services as wd
    try:
        text = notices.decode(click.open_file(file, "rb").read(notices.MAX_BYTES + 1))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        parsed = notices.parse_notice(text)
    except notices.NoticeError as exc:
        raise click.ClickException(exc.message + (f"\n  「{exc.line}」" if exc.line else "")) from None
    click.echo(json.dumps(parsed.as_json(), ensure_ascii=False))
    try:
        change = wd.notice_change(parsed)
    except wd.CalendarError as exc:
        if apply_:
            raise click.ClickException(exc.message) from None
        click.echo(f"（仅解析，未保存。{exc.message}）", err=True)
        return
    if not apply_:
        moves = wd.preview_change(change)
        click.echo(f"（仅解析，未保存；确认后将调整 {len(moves)} 个期限。加 --apply 确认。）", err=True)
        return
    moved = wd.apply_notice(parsed, text, None, note)
    db.session.commit()
    click.echo(f"已确认 {parsed.year} 年节假日安排，调整了 {len(moved)} 个期限。", err=True)


@calendar_cli.command("show")
@click.argument("year", type=click.IntRange(2000, 2100))
def calendar_show(year: int):
    """输出某年的安排来源（statutory 内置 / confirmed 已确认 / provisional 按法定节假日推算）及其与周一至周五的差别。"""
    import json
    from datetime import date

    from exchange.workdays import services as wd
    days = wd.days_info(date(year, 1, 1), date(year, 12, 31))
    click.echo(json.dumps({
        "year": year, "status": wd.year_status(year),
        "days_off_on_weekdays": [i.day.isoformat() for i in days if not i.is_workday and i.day.weekday() < 5],
        "working_weekends": [i.day.isoformat() for i in days if i.is_workday and i.day.weekday() >= 5],
    }, ensure_ascii=False))


@calendar_cli.command("recount")
@click.option("--from-weekday-guess", is_flag=True,
              help="升级后执行一次：把按旧版本“周一至周五推定”算出的期限按法定节假日推算重算")
@click.option("--dry-run", is_flag=True, help="只列出将调整的期限，不保存")
def calendar_recount(from_weekday_guess: bool, dry_run: bool):
    """重算正在计算的期限。"""
    from exchange.deadlines import recount
    from exchange.workdays import services as wd
    if not from_weekday_guess:
        raise click.UsageError("请指明重算依据：--from-weekday-guess（日历变化时系统会自动重算，无需手工执行）")
    plan = recount.plan(before=wd.weekday_guess)
    for m in plan.items:
        click.echo(f"{m.project_no} {m.label}：{wd.due_text(m.old)} → {wd.due_text(m.new)}")
    if dry_run:
        click.echo(f"（仅列出，未保存）将调整 {len(plan.items)} 个期限。")
        return
    moved = plan.apply(None)
    db.session.commit()
    click.echo(f"调整了 {len(moved)} 个期限。")


ledger_cli = AppGroup("ledger", help="指定账户（复式记账）工具。")


@ledger_cli.command("check")
def ledger_check():
    """校验账务：每笔分录借贷平衡；每个项目 进账 = 出账 + 在账；无透支；保证金不会既退还又转价款。"""
    from exchange.ledger.services import check
    problems = check()
    if problems:
        for p in problems:
            click.echo(p)
        click.echo(f"发现 {len(problems)} 处问题。")
        sys.exit(1)
    click.echo("OK：账务平衡")


@click.command("sweep")
def sweep_cmd():
    """Run the deadline sweeper once (视为放弃 of unpaid deposits …) and print what it did."""
    from exchange.deadlines.sweeper import sweep
    result = sweep()
    if not result.ran:
        click.echo("另一个进程正在执行到期处理，本次跳过。")
        return
    for line in result.lines():  # "name: n" per handler, then the items that failed (retried next pass)
        click.echo(line)
    if result.failures:
        sys.exit(1)


@click.command("scheduler")
def scheduler_cmd():
    """Run the deadline sweeper every SWEEP_SECONDS in the foreground (its own process)."""
    import time

    from flask import current_app

    from exchange.deadlines.sweeper import sweep
    from exchange.extensions import db
    seconds = int(current_app.config.get("SWEEP_SECONDS", 60))
    click.echo(f"到期处理每 {seconds} 秒执行一次（Ctrl+C 停止）")
    while True:
        try:
            result = sweep()
            if result.total or result.failures:
                click.echo(f"{result.at:%Y-%m-%d %H:%M:%S}Z {result.counts}"
                           + (f" 失败（下次重试）：{result.failed}" if result.failures else ""))
        except Exception as exc:  # noqa: BLE001 — keep running; the next pass retries
            click.echo(f"到期处理失败：{exc}", err=True)
        finally:
            db.session.remove()
        time.sleep(seconds)


certificates_cli = AppGroup("certificates", help="鉴证书工具（交易中心的签章密钥）。")


@certificates_cli.command("init-key")
@click.option("--name", default=None, help="证书上的机构名称（默认：组织树中的交易中心）")
@click.option("--force", is_flag=True, help="覆盖已有的密钥和证书（已出具的鉴证书将无法再用新证书核验）")
@click.option("--if-missing", is_flag=True, help="已有密钥和证书时什么也不做（make run 使用）")
def certificates_init_key(name: str | None, force: bool, if_missing: bool):
    """生成演示/测试用的签章密钥和自签名证书（instance/certificates/，或 CERT_KEY_PATH、CERT_PATH）。
    生产环境请改为放置交易中心由 CA 签发的真实证书。"""
    from exchange.certificates.signing import generate_key, key_paths
    key_path, cert_path = key_paths()
    if if_missing and key_path.exists() and cert_path.exists():
        return
    if name is None:
        from sqlalchemy.exc import SQLAlchemyError

        from exchange.orgs.services import center
        try:
            org = center()
        except SQLAlchemyError:  # a database not migrated yet: the key does not need it
            db.session.rollback()
            org = None
        name = org.name if org is not None else "临湘市农村产权交易中心"
    try:
        generate_key(key_path, cert_path, name, overwrite=force)
    except FileExistsError as exc:
        raise click.ClickException(f"{exc}；如确需更换，请加 --force。") from None
    click.echo(f"已生成签章密钥 {key_path} 和自签名证书 {cert_path}（{name}，仅供演示和测试）。")


@click.command("simulate")
@click.option("--database", default=None, metavar="URL",
              help="演练用的空数据库（SQLite 或 PostgreSQL）；默认在 instance/simulate-<时间>/ 新建 SQLite 文件")
@click.option("--workdir", default=None, metavar="DIR", help="附件和演练签章密钥的目录（默认 instance/simulate-<时间>/）")
@click.option("--listings", default=1, show_default=True, type=click.IntRange(1, 20), metavar="N",
              help="演练的项目数（1–20）：第一个为网络竞价成交，其余轮换不同乡镇、品种，含协议转让和流拍")
@click.option("--procurement", is_flag=True,
              help="改为演练一个村级招标项目（最低价法，三家投标）：录入、审核、公告、报名、投标保证金、密封投标、"
                   "网上开标、评标、中标候选人公示、确定中标人、合同、退还保证金、结算服务费、鉴证")
def simulate_cmd(database: str | None, workdir: str | None, listings: int, procurement: bool):
    """演练：在新建的空数据库上用模拟时钟走完一个（或 N 个）项目的全流程（录入、审核、公告、报名、保证金、网络竞价、
    公示、签约、结算、鉴证），逐阶段输出模拟时间；最后一行为“鉴证书 <编号> <sha256>”。"""
    from flask import current_app

    from exchange.training.simulate import SimulationError, run
    try:
        run(database, workdir, echo=click.echo, inherit=dict(current_app.config), listings=listings,
            procurement=procurement)
    except SimulationError as exc:
        raise click.ClickException(str(exc)) from None
