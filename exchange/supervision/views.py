"""统计监督 pages (read-only, GET only): the dashboard with filters, charts and drill-down (town → its villages →
the listings), the town ranking for 考评, CSV of every table and the monthly/quarterly Excel reports."""
from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, render_template, request, url_for
from flask_login import current_user, login_required

from exchange.access import require
from exchange.supervision import charts, reports, stats
from exchange.trading.models import METHOD_LABELS

bp = Blueprint("supervision", __name__, url_prefix="/supervision")


def _choices() -> dict:
    return {"towns": stats.towns(), "villages": stats.villages(), "categories": stats.categories(),
            "methods": METHOD_LABELS}


def _filters(default_period: bool = True):
    """(filters, error): a bad filter becomes a message next to its field and a 400, never a 500."""
    try:
        return stats.parse_filters(request.args, default_period=default_period), None
    except stats.StatsError as exc:
        return None, exc


def _error_page(template: str, exc: stats.StatsError, **ctx):
    return render_template(template, f=None, error=exc, args=request.args, **_choices(), **ctx), 400


def _download(data: bytes, filename: str, mimetype: str) -> Response:
    resp = Response(data, mimetype=mimetype)
    ascii_name = filename.encode("ascii", "ignore").decode() or "report"
    resp.headers["Content-Disposition"] = (f"attachment; filename=\"{ascii_name}\"; "
                                           f"filename*=UTF-8''{quote(filename)}")
    return resp


@bp.get("/")
@login_required
def dashboard():
    require(current_user, "stats.view")
    f, error = _filters()
    if error:
        return _error_page("supervision/dashboard.html", error)
    s = stats.summary(f)
    months = stats.by_month(f)
    if f.point_id is not None:
        drill_level, drill = "listings", stats.listings(f, limit=100)
    elif f.station_id is not None:
        drill_level, drill = "village", stats.by_village(f)
    else:
        drill_level, drill = "town", stats.by_town(f)
    cats = stats.by_category(f)
    methods = stats.by_method(f)
    month_points = [(r["label"], r["deals"]["amount"]) for r in months]
    place_rows = drill if drill_level != "listings" else []
    chart = {
        "trend": charts.line_chart(f"{f.period_text()}各月成交金额（元）与成交宗数", month_points, unit="元",
                                   bars=[(r["label"], r["deals"]["count"]) for r in months], bar_label="成交宗数",
                                   line_label="成交金额（元）"),
        "place": charts.bar_chart(f"各{'乡镇' if drill_level == 'town' else '村'}成交金额（元）",
                                  [(r["label"], r["deals"]["amount"]) for r in place_rows], unit="元"),
        "category": charts.bar_chart("各交易品种成交金额（元）",
                                     [(r["label"], r["deals"]["amount"]) for r in cats
                                      if r["deals"]["count"] or f.category_id], unit="元"),
        "clocks": charts.bar_chart("法定时限按时完成率", [(label, s["clocks"][k]["share"])
                                                   for k, label in stats.CLOCKS.items()], fmt=charts.percent),
    }
    return render_template(
        "supervision/dashboard.html", f=f, s=s, error=None, args=request.args, chart=chart, months=months,
        drill_level=drill_level, drill=drill, cats=cats, methods_rows=methods,
        summary_rows=reports.summary_rows(s), summary_cols=reports.SUMMARY_COLUMNS, num=charts.plain,
        pct=charts.percent, stage_rows=reports.stage_rows(s), clock_rows=reports.clock_rows(s),
        group_cols=reports.group_columns, month_cols=reports.group_columns("月份", deposits=False),
        stage_cols=reports.STAGE_COLUMNS, clock_cols=reports.CLOCK_COLUMNS, listing_cols=reports.LISTING_COLUMNS,
        procurement_rows=stats.procurement_rows(f, limit=100), procurement_cols=reports.PROCUREMENT_COLUMNS,
        **_choices())


@bp.get("/listings")
@login_required
def listings():
    require(current_user, "stats.view")
    f, error = _filters()
    if error:
        return _error_page("supervision/listings.html", error, rows=[], cols=reports.LISTING_COLUMNS)
    rows = stats.listings(f)
    return render_template("supervision/listings.html", f=f, error=None, args=request.args, rows=rows,
                           cols=reports.LISTING_COLUMNS, **_choices())


def _rank_opts():
    level = request.args.get("level", "town")
    sort = request.args.get("sort", "submissions")
    descending = request.args.get("order", "desc") != "asc"
    if level not in ("town", "village"):
        raise stats.StatsError("排名层级应为乡镇或村。", field="level")
    if sort not in stats.RANK_KEYS:
        raise stats.StatsError("排序字段不正确。", field="sort")
    return level, sort, descending


@bp.get("/ranking")
@login_required
def ranking():
    require(current_user, "stats.view")
    f, error = _filters()
    if error is None:
        try:
            level, sort, descending = _rank_opts()
        except stats.StatsError as exc:
            error = exc
    if error:
        return _error_page("supervision/ranking.html", error, rows=[], cols=[], level="town", sort="submissions",
                           descending=True, rank_keys=stats.RANK_KEYS)
    rows = stats.ranking(f, level, sort, descending)
    chart = charts.bar_chart(f"{'各乡镇' if level == 'town' else '各村'}提交项目次数", [(r["label"], r["submissions"])
                                                                             for r in rows], unit="次")
    return render_template("supervision/ranking.html", f=f, error=None, args=request.args, rows=rows,
                           cols=reports.rank_columns(level), level=level, sort=sort, descending=descending,
                           rank_keys=stats.RANK_KEYS, chart=chart, **_choices())


@bp.get("/csv/<name>.csv")
@login_required
def csv(name: str):
    require(current_user, "stats.view")
    if name not in reports.TABLES:
        from flask import abort
        abort(404)
    f, error = _filters()
    opts = {}
    if error is None and name == "ranking":
        try:
            level, sort, descending = _rank_opts()
            opts = {"level": level, "sort": sort, "descending": descending}
        except stats.StatsError as exc:
            error = exc
    if error:
        return _error_page("supervision/dashboard.html", error)
    title, cols, rows = reports.table(name, f, **opts)
    period = f.period_text().replace(" ", "")
    return _download(reports.to_csv(cols, rows), f"{title}-{period}.csv", "text/csv; charset=utf-8")


@bp.get("/reports/")
@login_required
def report_index():
    require(current_user, "reports.download")
    return render_template("supervision/reports.html", month=reports.default_month(),
                           quarter=reports.default_quarter(), error=None)


@bp.get("/reports/monthly.xlsx")
@login_required
def report_monthly():
    require(current_user, "reports.download")
    try:
        filename, data = reports.monthly(request.args.get("month") or reports.default_month())
    except stats.StatsError as exc:
        return render_template("supervision/reports.html", month=request.args.get("month", ""),
                               quarter=reports.default_quarter(), error=exc), 400
    return _download(data, filename, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.get("/reports/quarterly.xlsx")
@login_required
def report_quarterly():
    require(current_user, "reports.download")
    try:
        filename, data = reports.quarterly(request.args.get("quarter") or reports.default_quarter())
    except stats.StatsError as exc:
        return render_template("supervision/reports.html", month=reports.default_month(),
                               quarter=request.args.get("quarter", ""), error=exc), 400
    return _download(data, filename, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.app_template_global("stats_url")
def stats_url(endpoint: str, f: stats.Filters | None, **override) -> str:
    """A link to another statistics page with the same filters (``override`` changes some)."""
    args = f.args(**override) if f is not None else {k: v for k, v in override.items() if v not in (None, "")}
    return url_for(endpoint, **args)
