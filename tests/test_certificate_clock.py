"""第十八条 on the real calendar: the 鉴证书 is due 3 工作日 after the settlement is complete — across 国庆 2027 the
holiday and its 补假 (10-01 … 10-05, from the law of 《全国年节及纪念日放假办法》) do not count."""
from datetime import date

import pytest

from exchange import clock
from exchange.settlement import services as stl
from exchange.workdays.services import is_workday as is_working_day
from tests.builders import PDF, full_path, set_fee

pytestmark = pytest.mark.usefixtures("uploads")


@pytest.mark.article("第十八条")
def test_certificate_due_three_working_days_after_settlement_across_national_day(users, effective, db):
    set_fee(users, rate="0", payer="buyer")
    s = stl.ensure_settlement(effective)
    stl.confirm_receipt(users["finance"], s, str(s.amount_to_pay), source_key="R-18", receipt=PDF,
                        receipt_filename="r.pdf")
    db.session.commit()
    clock.freeze(clock.local_datetime(date(2027, 9, 30), 15))  # Thursday, the eve of 国庆
    assert not any(is_working_day(date(2027, 10, d)) for d in range(1, 6)) and is_working_day(date(2027, 10, 6))
    full_path(users, s, db)
    assert s.state == "settled" and s.settled_at == clock.now()
    # 10-06, 10-07, 10-08: due at the end of Friday 10-08 (Beijing)
    assert s.certificate_due_at == clock.local_datetime(date(2027, 10, 9))
    assert clock.to_local(s.certificate_due_at).date() == date(2027, 10, 9)


@pytest.mark.article("第十八条")
def test_certificate_due_on_an_ordinary_week(users, effective, db):
    s = stl.ensure_settlement(effective)
    stl.confirm_receipt(users["finance"], s, str(s.amount_to_pay), source_key="R-18b", receipt=PDF,
                        receipt_filename="r.pdf")
    db.session.commit()
    clock.freeze(clock.local_datetime(date(2027, 3, 11), 10))  # Thursday
    full_path(users, s, db)
    assert s.certificate_due_at == clock.local_datetime(date(2027, 3, 17))  # Fri, Mon, Tue 03-16 24:00
