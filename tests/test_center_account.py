"""The center's receiving account (issue 17, item 2): the admin sets it (audited); every page, notice and PDF that asks
someone to pay shows 户名, 开户行, 账号 with the 缴款码 — and, while none is set, says so plainly to staff and payer."""
import pytest
from sqlalchemy import select

from exchange.audit.models import AuditEntry
from exchange.deadlines.sweeper import sweep
from exchange.notifications.models import Notification
from exchange.payments import center_account as acct_svc
from exchange.payments.models import CenterAccount
from exchange.settlement.models import Settlement
from exchange.registrations import services as rsvc
from tests.builders import applied
from tests.factories import PASSWORD
from tests.helpers import csrf_from, get_csrf, login, pdf_text, text

pytestmark = pytest.mark.usefixtures("uploads")

NAME, BANK, NUMBER = "临湘市农村产权交易中心", "测试银行临湘市支行", "6222 0212 3456 7890 123"


def _set(users, db):
    acct = acct_svc.set_receiving_account(users["admin"], account_name=NAME, bank_name=BANK, account_no=NUMBER)
    db.session.commit()
    return acct


def test_the_admin_sets_the_account_on_its_page_and_it_is_audited(client, users, db):
    login(client, "t_admin", PASSWORD)
    assert 'href="/admin/center-account"' in client.get("/work").get_data(as_text=True)  # in the admin's menu
    page = client.get("/admin/center-account")
    assert "尚未设置收款账户" in text(page)
    resp = client.post("/admin/center-account", data={"csrf_token": csrf_from(page.get_data(as_text=True)),
                                                      "account_name": NAME, "bank_name": BANK,
                                                      "account_no": "６２２２ ０２１２ ３４５６ ７８９０ １２３"},
                       follow_redirects=True)
    assert "收款账户已保存" in text(resp)
    acct = db.session.scalar(select(CenterAccount))
    assert (acct.account_name, acct.bank_name, acct.account_no) == (NAME, BANK, "6222021234567890123")
    assert "6222 0212 3456 7890 123" in text(resp)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "payments.center_account"))
    assert entry is not None and entry.actor_name and "6222021234567890123" in entry.after
    # a change keeps the before in the trail
    page = client.get("/admin/center-account")
    client.post("/admin/center-account", data={"csrf_token": csrf_from(page.get_data(as_text=True)),
                                               "account_name": NAME, "bank_name": "另一家银行临湘支行",
                                               "account_no": "6222021234567890123"})
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "payments.center_account")
                                 .order_by(AuditEntry.id)).all()
    assert len(entries) == 2 and BANK in entries[1].before and "另一家银行临湘支行" in entries[1].after


@pytest.mark.parametrize("number,message", [("", "请填写账号"), ("6222-abc-123", "8 至 30 位数字"), ("1234", "8 至 30 位数字")])
def test_a_bad_account_is_refused_beside_its_field(client, users, db, number, message):
    login(client, "t_admin", PASSWORD)
    page = client.get("/admin/center-account")
    resp = client.post("/admin/center-account", data={"csrf_token": csrf_from(page.get_data(as_text=True)),
                                                      "account_name": NAME, "bank_name": BANK,
                                                      "account_no": number})
    assert message in text(resp)
    assert db.session.scalar(select(CenterAccount)) is None


def test_a_blank_name_is_refused(users, db):
    with pytest.raises(acct_svc.CenterAccountError) as exc:
        acct_svc.set_receiving_account(users["admin"], account_name="  ", bank_name=BANK, account_no=NUMBER)
    assert exc.value.field == "account_name"


@pytest.mark.parametrize("who", ["t_finance", "t_reviewer", "t_supervisor", "t_buyer", "t_station_a"])
def test_only_the_admin_may_change_it(client, users, db, who):
    login(client, who, PASSWORD)
    assert client.get("/admin/center-account").status_code == 403
    token = get_csrf(client, "/work")
    resp = client.post("/admin/center-account", data={"csrf_token": token, "account_name": "骗子", "bank_name": "某行",
                                                      "account_no": "6222000011112222"})
    assert resp.status_code == 403 and db.session.scalar(select(CenterAccount)) is None


def test_anonymous_cannot_reach_the_page(client, users, db):
    resp = client.get("/admin/center-account")
    assert resp.status_code in (302, 401)


def test_the_deposit_page_shows_the_account_and_the_reference(client, users, qualified, db):
    _set(users, db)
    login(client, "t_buyer", PASSWORD)
    page = text(client.get(f"/registrations/{qualified.id}"))
    assert NAME in page and BANK in page and "6222 0212 3456 7890 123" in page and qualified.payment_ref in page
    assert "附言（缴款码）" in page
    assert "截止时间 截止" not in page and "截止时间截止" not in page.replace(" ", "")
    assert "到账期限" in page


def test_without_an_account_the_payer_and_staff_are_told(client, users, qualified, db):
    login(client, "t_buyer", PASSWORD)
    page = text(client.get(f"/registrations/{qualified.id}"))
    assert "交易中心尚未公布收款账户" in page and qualified.payment_ref in page
    assert "户名" not in page


def test_the_qualification_notice_says_where_to_pay(users, announced, db):
    _set(users, db)
    reg = applied(users, announced)
    rsvc.qualify(users["center_reviewer"], reg)
    db.session.commit()
    note = db.session.scalar(select(Notification).where(Notification.user_id == users["buyer"].id,
                                                        Notification.kind == "registration.qualified"))
    assert note is not None
    assert reg.payment_ref in note.body and NAME in note.body and BANK in note.body and "6222 0212 3456 7890 123" in note.body


def test_the_qualification_notice_without_an_account(users, announced, db):
    reg = applied(users, announced)
    rsvc.qualify(users["center_reviewer"], reg)
    db.session.commit()
    note = db.session.scalar(select(Notification).where(Notification.user_id == users["buyer"].id,
                                                        Notification.kind == "registration.qualified"))
    assert "交易中心尚未公布收款账户" in note.body and reg.payment_ref in note.body


def test_the_settlement_page_and_statement_show_the_account(client, users, effective, db):
    _set(users, db)
    sweep()  # opens the settlement of the contract made effective by hand
    db.session.commit()
    s = db.session.scalar(select(Settlement))
    login(client, "t_buyer_org", PASSWORD)
    page = text(client.get(f"/settlements/{s.id}"))
    assert NAME in page and BANK in page and "6222 0212 3456 7890 123" in page and s.payment_ref in page
    pdf = pdf_text(client.get(f"/settlements/{s.id}.pdf").data).replace(" ", "")
    assert "收款账户" in pdf and BANK in pdf and "6222021234567890123" in pdf and s.payment_ref in pdf
    notes = db.session.scalars(select(Notification).where(Notification.user_id == users["buyer_org"].id)).all()
    assert any(s.payment_ref in n.body and BANK in n.body for n in notes)


def test_without_an_account_finance_is_told_plainly(client, users, qualified, db):
    login(client, "t_finance", PASSWORD)
    page = text(client.get(f"/registrations/{qualified.id}"))
    assert "收款账户" in page and "尚未设置" in page and "付款人看不到转账账户" in page
    _set(users, db)
    page = text(client.get(f"/registrations/{qualified.id}"))
    assert "尚未设置" not in page and BANK in page


def test_without_an_account_the_settlement_page_tells_staff_and_the_buyer(client, users, effective, db):
    sweep()
    db.session.commit()
    s = db.session.scalar(select(Settlement))
    login(client, "t_finance", PASSWORD)
    assert "付款人看不到转账账户" in text(client.get(f"/settlements/{s.id}"))
    client.post("/logout", data={"csrf_token": get_csrf(client, "/work")})
    login(client, "t_buyer_org", PASSWORD)
    page = text(client.get(f"/settlements/{s.id}"))
    assert "交易中心尚未公布收款账户" in page and s.payment_ref in page
    pdf = pdf_text(client.get(f"/settlements/{s.id}.pdf").data).replace(" ", "")
    assert "交易中心尚未公布收款账户" in pdf
