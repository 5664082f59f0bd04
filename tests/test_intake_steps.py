"""Issue 17 item 3–4: each step of the intake form checks its own fields when saved — a wrong value is refused beside
its field in plain words, what was typed stays in the form, nothing is saved — by the same rules the submission
runs (exchange/listings/rules.py); a text over its limit is refused with the limit, never cut; after each upload the
材料类型 list offers the next material still missing."""
import io
import re

import pytest
from sqlalchemy import select

from exchange.idcheck import make_resident_id
from exchange.listings import rules
from exchange.listings import services as svc
from exchange.listings.models import Listing
from tests.builders import PDF, category, household_fields, new_household_listing
from tests.factories import PASSWORD
from tests.helpers import csrf_from, login, post_form, text

pytestmark = pytest.mark.usefixtures("uploads")

GOOD_ID = make_resident_id("43068219650315452")
BAD_ID = GOOD_ID[:-1] + ("0" if GOOD_ID[-1] != "0" else "1")  # the check digit wrong


def _transferor_form(**kw):
    f = household_fields()
    data = {k: f[k] for k in ("transferor_kind", "transferor_name", "transferor_id_no", "transferor_mobile",
                              "account_name", "account_bank", "account_no")}
    data.update({"decision_type": "", "agent_name": "", "agent_id_no": "", "agent_mobile": ""})
    data.update(kw)
    return data


def _field_errors(html: str, field: str) -> list[str]:
    """The messages shown beside ``field`` (ui.render_field puts them in #<field>-error)."""
    m = re.search(rf'<div class="field-errors" id="{field}-error">(.*?)</div>', html, re.S)
    return re.findall(r'<p class="field-error">(.*?)</p>', m.group(1)) if m else []


def _value(html: str, field: str) -> str:
    m = re.search(rf'<input[^>]*name="{field}"[^>]*value="([^"]*)"', html) or \
        re.search(rf'<input[^>]*value="([^"]*)"[^>]*name="{field}"', html)
    return m.group(1) if m else ""


def test_bad_id_and_short_phone_are_refused_beside_their_fields_and_kept(client, users, db):
    listing = new_household_listing(users, transferor_id_no="", transferor_mobile="")
    db.session.commit()
    login(client, "t_point_a1", PASSWORD)
    url = f"/listings/{listing.id}/edit/transferor"
    resp = post_form(client, url, _transferor_form(transferor_id_no=BAD_ID, transferor_mobile="1380000",
                                                  transferor_name="农户改名"))
    html = text(resp)
    assert resp.status_code == 400
    assert _field_errors(html, "transferor_id_no") == ["身份证号校验位不正确，请核对后重新输入。"]
    assert _field_errors(html, "transferor_mobile") == ["手机号码应为11位数字（以13～19开头），请核对后重新输入。"]
    # what was typed is still in the form; nothing of the step was saved
    assert _value(html, "transferor_id_no") == BAD_ID and _value(html, "transferor_mobile") == "1380000"
    assert _value(html, "transferor_name") == "农户改名"
    db.session.expire_all()
    saved = db.session.get(Listing, listing.id)
    assert saved.transferor_name == "农户演示" and saved.transferor_id_no == "" and saved.transferor_mobile == ""
    # corrected: saved, and on to the next step
    resp = post_form(client, url, _transferor_form(transferor_id_no=GOOD_ID, transferor_mobile="138 0000 0004"))
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/edit/trade")
    db.session.expire_all()
    saved = db.session.get(Listing, listing.id)
    assert saved.transferor_id_no == GOOD_ID and saved.transferor_mobile == "13800000004"  # blanks dropped


def test_a_step_saves_what_is_only_missing_and_lists_it_by_step(client, users, db):
    """Not yet given is not wrong: the draft is saved, and the page says what is left, step by step with links."""
    listing = new_household_listing(users, transferor_id_no="", transferor_mobile="")
    db.session.commit()
    login(client, "t_point_a1", PASSWORD)
    resp = post_form(client, f"/listings/{listing.id}/edit/transferor",
                     _transferor_form(transferor_name="", transferor_id_no="", transferor_mobile=""))
    assert resp.status_code == 302
    page = text(client.get(f"/listings/{listing.id}/edit/trade"))
    assert "提交前还需填写或补正" in page
    assert f'href="/listings/{listing.id}/edit/transferor">第 3 步 转让方</a>' in page
    assert "请填写转让方名称。" in page


def test_the_same_rules_refuse_a_term_beyond_the_rights_end_on_the_step(client, users, db):
    listing = new_household_listing(users)
    db.session.commit()
    login(client, "t_point_a1", PASSWORD)
    f = household_fields()
    data = {k: f[k] for k in ("right_cert_no", "term_start", "price_mode", "floor_unit_price", "price_basis")}
    data.update(right_end_date="2030-12-31", term_end="2036-12-31", floor_price="", show_floor_price="y",
                appraisal_value="", appraisal_agency="", appraisal_report_no="")
    html = text(post_form(client, f"/listings/{listing.id}/edit/term", data))
    assert _field_errors(html, "term_end") == ["流转结束日期不能晚于权证到期日 2030-12-31。"]
    # the submission says it in the words of its list (one rule, two places to show it)
    listing.right_end_date = __import__("datetime").date(2030, 12, 31)
    assert any(p.field == "term_end" and p.invalid for p in rules.checks(listing))
    db.session.rollback()


def test_agent_numbers_are_checked_too(users, db):
    with pytest.raises(svc.InvalidValues) as exc:
        new_household_listing(users, entrusted=True, agent_name="代理演示", agent_id_no=BAD_ID,
                              agent_mobile="1371111")
    assert {f for f, _ in exc.value.errors} == {"agent_id_no", "agent_mobile"}


def test_a_300_character_title_is_refused_with_its_limit_never_cut(client, users, db):
    login(client, "t_point_a1", PASSWORD)
    long_title = "团湖村三组水田经营权出租" * 25  # 300 characters
    page = text(client.get("/listings/new"))
    assert re.search(r'<input[^>]*maxlength="120"[^>]*name="title"|<input[^>]*name="title"[^>]*maxlength="120"', page)
    resp = post_form(client, "/listings/new", {"category_id": category("C01").id, "title": long_title})
    html = text(resp)
    assert "最多 120 个字，现在是 300 个字，请精简后再保存。" in html
    assert db.session.scalar(select(Listing).where(Listing.title.like("团湖村三组水田%"))) is None
    # the service says it too (the API, the CLI), never keeping the first 120
    with pytest.raises(svc.ListingError) as exc:
        svc.create_draft(users["point_a1"], category=category("C01"), title=long_title)
    assert exc.value.field == "title" and "不能超过 120 个字（现在是 300 个字）" in exc.value.message
    listing = new_household_listing(users)
    with pytest.raises(svc.ListingError) as exc:
        svc.update_draft(users["point_a1"], listing, boundaries="东" * 301)
    assert exc.value.field == "boundaries" and "不能超过 300 个字（现在是 301 个字）" in exc.value.message


def test_every_text_field_of_the_steps_has_its_limit_in_the_page(client, users, db):
    """No text input of the intake form without maxlength (the browser) and a limit the server states."""
    listing = new_household_listing(users)
    db.session.commit()
    login(client, "t_point_a1", PASSWORD)
    for step in ("basic", "term", "transferor", "trade"):
        html = text(client.get(f"/listings/{listing.id}/edit/{step}"))
        for tag in re.findall(r'<(?:input|textarea)\b[^>]*>', html):
            if re.search(r'type="(hidden|checkbox|radio|submit)"', tag) or 'name="csrf_token"' in tag:
                continue
            if re.search(r'name="(quantity|announce_days|reps_total|reps_for|right_end_date|term_start|term_end|'
                         r'decision_date)"', tag):
                continue  # numbers and dates: their own checks
            assert "maxlength=" in tag, (step, tag)


def test_after_each_upload_the_next_missing_type_is_offered(client, users, db):
    listing = new_household_listing(users)
    db.session.commit()
    login(client, "t_point_a1", PASSWORD)
    page = f"/listings/{listing.id}/edit/materials"
    html = text(client.get(page))
    required = rules.required_materials(listing)

    def selected(html):
        return re.search(r'<option selected value="([a-z_]+)"|<option value="([a-z_]+)" selected', html)

    m = selected(html)
    assert (m.group(1) or m.group(2)) == required[0]
    token = csrf_from(html)
    for i, kind in enumerate(required):
        resp = client.post(f"/listings/{listing.id}/materials", data={
            "csrf_token": token, "kind": kind, "file": (io.BytesIO(PDF), f"{kind}.pdf")},
            content_type="multipart/form-data", follow_redirects=True)
        html = text(resp)
        m = selected(html)
        expected = required[i + 1] if i + 1 < len(required) else "other"
        assert (m.group(1) or m.group(2)) == expected, (kind, expected)
        assert f"已上传“{rules.MATERIAL_KINDS[kind].label}”" in html
    assert "必需材料已齐全" in html and "资料已齐全" in html


def test_skipping_a_type_comes_back_to_it_after_the_last(users, db):
    from exchange.listings.views import next_missing_kind
    listing = new_household_listing(users)
    required = rules.required_materials(listing)
    svc.add_material(users["point_a1"], listing, required[1], PDF, "b.pdf")  # the second first
    assert next_missing_kind(listing, required[1]) == required[2]
    for kind in required[2:]:
        svc.add_material(users["point_a1"], listing, kind, PDF, f"{kind}.pdf")
    assert next_missing_kind(listing, required[-1]) == required[0]  # the one skipped


def test_the_step_tabs_say_which_step_of_how_many(client, users, db):
    listing = new_household_listing(users)
    db.session.commit()
    login(client, "t_point_a1", PASSWORD)
    html = text(client.get(f"/listings/{listing.id}/edit/trade"))
    assert "第 4 步，共 6 步</strong>：交易方式" in html
    assert re.search(r'class="active" aria-current="step">4\. 交易方式', html)
    assert "data-keep-active-in-view" in html
