"""The supervisor's audit viewer (issue 8): search by listing (its own entries and those of what belongs to it),
person, action, period and keyword; the chain's verification status; paging; CSV export of the filtered rows;
nonsense → 400; only admin and supervisor."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select, text as sql

from exchange import clock
from exchange.audit.models import AuditEntry
from tests.builders import applied
from tests.factories import PASSWORD
from tests.helpers import csrf_from, login, text

pytestmark = pytest.mark.usefixtures("uploads")


def _rows(resp) -> list[list[str]]:
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    data = resp.get_data(as_text=True)
    assert data.startswith("\ufeff")
    return list(csv.reader(io.StringIO(data[1:])))


def test_search_by_listing_person_action_and_period(client, users, announced, db):
    from exchange.audit.services import acting_as, actor_for_user
    with acting_as(actor_for_user(users["point_a1"], "10.1.2.3")):
        reg = applied(users, announced)
    db.session.commit()
    login(client, "t_supervisor", PASSWORD)
    page = text(client.get("/audit/"))
    assert "审计链校验：完整" in page and "逐条核对无误" in page and "OK" not in page
    # by project number: the listing's own entries and its registration's, not the accounts created for the test
    body = text(client.get(f"/audit/?listing={announced.project_no}"))
    assert '<td data-label="操作" data-action="registration.apply">提交意向受让登记</td>' in body
    assert '<td data-label="操作" data-action="listing.create">新建挂牌项目</td>' in body
    assert 'data-action="user.create"' not in body
    assert f"挂牌项目 #{announced.id}" in body and "registration.apply" not in body.replace('"registration.apply"', "")
    assert text(client.get(f"/audit/?listing={announced.id}")).count("<tr>") == body.count("<tr>")
    rows = _rows(client.get(f"/audit/export.csv?listing={announced.project_no}"))
    header, entries = rows[0], rows[1:]
    assert header[0] == "序号" and "哈希" in header
    kinds = {(r[7], r[8]) for r in entries}
    assert ("挂牌项目", str(announced.id)) in kinds and ("意向受让登记", str(reg.id)) in kinds
    assert {r[7] for r in entries} <= {"挂牌项目", "意向受让登记"}
    # people read Chinese in every column (issue 17): the action and the role too
    assert "提交意向受让登记" in {r[6] for r in entries} and "交易点信息员" in {r[3] for r in entries}
    unknown = text(client.get("/audit/?listing=LXNCJY-2099-999999"))
    assert "没有找到项目" in unknown and "没有符合条件的审计记录" in unknown
    # by person and by action (the select lists the actions present)
    by_clerk = _rows(client.get("/audit/export.csv?person=t_point_a1"))[1:]
    assert by_clerk and all("t_point_a1" in r[2] for r in by_clerk)
    assert '<option value="registration.apply">提交意向受让登记</option>' in page
    applies = _rows(client.get("/audit/export.csv?action=registration.apply"))[1:]
    assert [r[8] for r in applies] == [str(reg.id)]
    # by period (Beijing dates): today has everything, yesterday nothing
    today = clock.today_local()
    start, end = clock.local_datetime(today), clock.local_datetime(today + timedelta(days=1))
    all_rows = _rows(client.get("/audit/export.csv"))[1:]
    in_day = [r for r in all_rows if r[1].startswith(today.isoformat())]
    assert in_day and len(in_day) < len(all_rows)  # the accounts were made before the clock was frozen
    assert len(_rows(client.get(f"/audit/export.csv?from={today}&to={today}"))) - 1 == len(in_day) == len(list(
        db.session.scalars(select(AuditEntry.id).where(AuditEntry.at >= start, AuditEntry.at < end))))
    assert len(_rows(client.get("/audit/export.csv?from=2099-01-01"))) == 1
    # combined, and kept by the paging links
    both = _rows(client.get(f"/audit/export.csv?listing={announced.project_no}&action=registration.apply"))[1:]
    assert len(both) == 1
    assert client.get("/audit/?page=999").status_code == 200


def test_nonsense_is_a_clear_400(client, users, db):
    login(client, "t_supervisor", PASSWORD)
    for q in ("from=2026-02-30", "to=tomorrow", "from=2026-05-02&to=2026-05-01", "from=99999-01-01",
              "from=1000-01-01"):
        for url in ("/audit/", "/audit/export.csv"):
            resp = client.get(f"{url}?{q}")
            assert resp.status_code == 400, (url, q)
    resp = client.get("/audit/?from=2026-02-30")
    assert "格式不正确" in text(resp)
    assert client.get("/audit/?page=abc").status_code == 200  # paging falls back to the first page
    assert client.get("/audit/?listing=" + "9" * 30).status_code == 200


def test_paging(client, users, db):
    from exchange.audit.services import acting_as, record
    with acting_as("test"):
        for i in range(60):
            record("test.event", f"第 {i} 条测试记录")
    db.session.commit()
    login(client, "t_admin", PASSWORD)
    first = text(client.get("/audit/?action=test.event"))
    assert "第 59 条测试记录" in first and "第 5 条测试记录" not in first and "第 1 / 2 页" in first
    second = text(client.get("/audit/?action=test.event&page=2"))
    assert "第 5 条测试记录" in second and "action=test.event" in first  # the filter is kept in the links


def test_broken_chain_is_shown(client, users, db):
    entry = db.session.scalar(select(AuditEntry).order_by(AuditEntry.seq))
    db.session.execute(sql("UPDATE audit_entry SET summary = 'tampered' WHERE id = :i"), {"i": entry.id})
    db.session.commit()
    login(client, "t_supervisor", PASSWORD)
    page = text(client.get("/audit/"))
    assert "审计链校验：已被破坏" in page and 'data-chain-status="broken"' in page


def test_only_admin_and_supervisor(client, users, db):
    for username in ("t_reviewer", "t_finance", "t_point_a1", "t_buyer"):
        login(client, username, PASSWORD)
        assert client.get("/audit/").status_code == 403, username
        assert client.get("/audit/export.csv").status_code == 403, username
        client.post("/logout", data={"csrf_token": csrf_from(text(client.get("/work")))})
    assert client.get("/audit/export.csv").status_code == 302  # not signed in: to the login page


def test_csv_cells_are_not_formulas(client, users, db):
    from exchange.audit.services import acting_as, record
    with acting_as("=HYPERLINK(\"x\")"):
        record("test.event", "-2+3")
    db.session.commit()
    login(client, "t_supervisor", PASSWORD)
    [row] = _rows(client.get("/audit/export.csv?action=test.event"))[1:]
    assert row[2].startswith("'=") and row[9] == "'-2+3"
