"""The pages of the evaluation panel and the award (issue 18): the officer draws the panel and sees each slip once;
each expert opens the sheet on a phone with the slip's password (wrong ones counted even though refused), scores,
and signs; the collective confirms the winner; the 中标通知书 for the winner and the parties only."""
from __future__ import annotations

import re

import pytest

from exchange.procurement import scoring
from exchange.procurement import services as psvc
from tests.builders import end_publicity
from tests.factories import PASSWORD
from tests.helpers import csrf_from, login, post_form, text
from tests.procurement_builders import evaluated, opened_scored  # noqa: F401

pytestmark = pytest.mark.usefixtures("frozen", "uploads", "bid_vault", "signing_key")




SLIP = re.compile(r'<span class="slip-url">[^<]*/panel/([A-Za-z0-9_-]+)</span>.*?<strong class="slip-password">([A-Z0-9]+)</strong>',
                  re.S)


def test_the_officer_draws_the_panel_and_sees_each_slip_once(client, users, orgs, db):
    listing = opened_scored(users, orgs, db)
    login(client, "t_reviewer", PASSWORD)
    assert client.get(f"/procurement/{listing.id}/panel").status_code == 200
    assert post_form(client, f"/procurement/{listing.id}/panel/draw", {},
                     page=f"/procurement/{listing.id}/panel").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_from(text(client.get("/")))})
    login(client, "t_trader", PASSWORD)
    page = text(client.get(f"/procurement/{listing.id}/panel"))
    assert "抽取评标委员会" in page
    resp = post_form(client, f"/procurement/{listing.id}/panel/draw", {}, page=f"/procurement/{listing.id}/panel")
    assert resp.status_code == 200 and "只显示这一次" in text(resp)
    slips = SLIP.findall(text(resp))
    assert len(slips) == 3
    again = text(client.get(f"/procurement/{listing.id}/panel"))
    assert all(pw not in again for _t, pw in slips) and "随机种子" in again


def test_an_expert_scores_and_signs_on_a_phone_with_the_slips_password(client, users, orgs, db):
    listing = opened_scored(users, orgs, db)
    slips = scoring.draw_panel(users["trading_officer"], listing)
    db.session.commit()
    slip = slips[0]
    url = f"/panel/{slip.token}"
    assert client.get("/panel/not-a-token").status_code == 404
    page = text(client.get(url))
    assert "请输入评分条上的密码" in page
    resp = post_form(client, url, {"password": "WRONGPW1"})
    assert resp.status_code == 400 and "还可以再试 4 次" in text(resp)
    db.session.expire_all()
    assert slip.member.failed == 1  # counted although the page refused
    assert post_form(client, url, {"password": slip.password.lower()}).status_code == 302
    sheet = text(client.get(url))
    bids = [b.id for b in scoring.valid_bids(listing)]
    assert all(f'name="score-{b}-c1"' in sheet for b in bids) and "价格分由系统按公式计算" in sheet
    resp = post_form(client, url, {f"score-{bids[0]}-c1": "36", "go": "save"})
    assert resp.status_code == 400 and "0 至 35 分" in text(resp)
    data = {f"score-{b}-{k}": v for b in bids for k, v in (("c1", "30"), ("c2", "20"))}
    assert post_form(client, url, {**data, "go": "save"}).status_code == 302
    resp = post_form(client, url, {**data, "go": "sign", "password": "WRONGPW2"})
    assert resp.status_code == 400 and "密码不正确" in text(resp)
    assert post_form(client, url, {**data, "go": "sign", "password": slip.password}).status_code == 302
    signed = text(client.get(url))
    assert "已于" in signed and "不能再修改" in signed
    db.session.expire_all()
    assert slip.member.signed_at is not None and scoring.sheet(slip.member)[bids[0]]["c1"] == 30


def test_the_collective_confirms_the_winner_and_only_the_parties_open_the_notice(client, app, users, db):
    listing, deal = evaluated(users, db)
    login(client, "t_point_a1", PASSWORD)
    page = text(client.get(f"/procurement/{listing.id}/award"))
    assert "公示中" in page
    end_publicity(deal)
    client = app.test_client()  # days later: a new visit
    login(client, "t_point_a1", PASSWORD)
    page = text(client.get(f"/procurement/{listing.id}/award"))
    assert "确定中标人并发出中标通知书" in page
    first = psvc.candidates(psvc.project_of(listing))[0]
    resp = post_form(client, f"/procurement/{listing.id}/award", {"registration_id": str(first["registration"])})
    assert resp.status_code == 302
    page = text(client.get(f"/procurement/{listing.id}/award"))
    assert "已确定中标人" in page and "中标通知书" in page
    pdf = client.get(f"/procurement/{listing.id}/notice.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    client.post("/logout", data={"csrf_token": csrf_from(text(client.get("/")))})
    login(client, "t_buyer_org", PASSWORD)  # a bidder that did not win
    assert client.get(f"/procurement/{listing.id}/notice.pdf").status_code == 403
