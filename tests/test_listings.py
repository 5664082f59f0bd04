"""Listing intake, review chain and publication at the service level (第十一、十二、十四、二十条)."""
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from exchange import clock
from exchange.access import AccessDenied
from exchange.audit.models import AuditEntry
from exchange.extensions import db as _db
from exchange.idcheck import make_resident_id
from exchange.listings import rules
from exchange.listings import services as svc
from exchange.listings.models import Listing
from exchange.listings.workflow import TRANSITIONS, WorkflowError, fire
from tests.builders import ALL_OK, attach, category, collective_fields, household_fields, new_household_listing

pytestmark = pytest.mark.usefixtures("uploads")


# --- drafts and rules -----------------------------------------------------------------------------

def test_clerk_drafts_in_own_village_with_computed_price(users, orgs):
    listing = new_household_listing(users)
    assert listing.state == "draft" and listing.point is orgs.point_a1 and listing.station is orgs.station_a
    # 500 元/亩/年 × 32 亩 × 10 年
    assert listing.floor_price == Decimal("160000.00")
    assert listing.deposit_amount == Decimal("16000")  # default 10 %
    assert listing.announce_days == 5


@pytest.mark.article("三级服务体系")
def test_clerk_cannot_draft_for_another_village(users, orgs):
    with pytest.raises(AccessDenied):
        svc.create_draft(users["point_a1"], category=category("C01"), point=orgs.point_b1, title="x")


def test_clerk_of_b_cannot_edit_village_a_listing(users, db):
    listing = new_household_listing(users)
    db.session.commit()
    with pytest.raises(AccessDenied):
        svc.update_draft(users["point_b1"], listing, title="改")
    db.session.rollback()
    assert db.session.get(Listing, listing.id).title.startswith("团湖村")


@pytest.mark.article("第九条")
@pytest.mark.parametrize("cat_code,method_name,ok", [("C01", "出租", True), ("C01", "转让", False),
                                                     ("C06", "拍卖", True), ("C05", "出租", False)])
def test_method_must_belong_to_category(users, cat_code, method_name, ok, db):
    cat = category(cat_code)
    from exchange.catalog.models import TransferMethod
    method = db.session.scalar(select(TransferMethod).where(TransferMethod.name == method_name)
                               .where(TransferMethod.category_id == cat.id))
    if method is None:  # take the method from another category
        method = db.session.scalar(select(TransferMethod).where(TransferMethod.name == method_name))
    listing = svc.create_draft(users["point_a1"], category=cat, method=method, **household_fields())
    found = [p for p in rules.problems(listing) if "不能采用" in p]
    assert (not found) == ok


def test_term_past_the_rights_end_is_refused(users):
    """Refused where it is entered (issue 17 item 3), by the same rule the submission checks."""
    with pytest.raises(svc.InvalidValues) as exc:
        new_household_listing(users, right_end_date="2030-12-31")
    assert exc.value.errors == [("term_end", "流转结束日期不能晚于权证到期日 2030-12-31。")]
    assert "不能超过产权的剩余期限" in exc.value.message


def test_missing_materials_block_submit(users, db):
    listing = new_household_listing(users)
    attach(listing, users["point_a1"], ["application", "ownership"])
    with pytest.raises(WorkflowError) as exc:
        svc.submit(users["point_a1"], listing)
    assert any("缺少材料" in p and "转让方资格证明" in p for p in exc.value.problems)
    assert listing.state == "draft"


def test_entrusted_listing_needs_power_of_attorney(users):
    listing = new_household_listing(users, entrusted=True, agent_name="代理演示",
                                    agent_id_no=make_resident_id("43068219700101003"))
    assert "entrustment" in rules.required_materials(listing) and "agent_id" in rules.required_materials(listing)


@pytest.mark.article("第二十条")
def test_collective_below_appraisal_needs_two_thirds(users):
    clerk = users["point_a1"]
    listing = svc.create_draft(clerk, category=category("C05"), **collective_fields(reps_for="19"))
    assert rules.needs_two_thirds(listing)
    assert any("三分之二" in p for p in rules.problems(listing))  # 19/30 < 2/3
    svc.update_draft(clerk, listing, reps_for="20")  # 20/30 = 2/3 exactly
    assert not any("三分之二" in p for p in rules.problems(listing))


@pytest.mark.article("第二十条")
def test_a_households_price_below_its_appraisal_needs_no_vote(users):
    """个人产权: the price may follow an appraisal or be agreed by the parties (第二十条); only a collective asset is
    bound to its appraisal — a household's 底价 below one asks for no representatives' vote and no appraisal."""
    listing = new_household_listing(users, appraisal_value="200000")  # 底价 160 000 元
    assert listing.floor_price < listing.appraisal_value and not rules.needs_two_thirds(listing)
    problems = rules.problems(listing, for_submit=True)
    assert not any("三分之二" in p or "评估" in p for p in problems), problems
    assert "appraisal" not in rules.required_materials(listing)


def test_votes_for_more_than_total_is_refused(users, db):
    with pytest.raises(svc.ListingError) as exc:
        svc.create_draft(users["point_a1"], category=category("C05"), **collective_fields(reps_for="31"))
    assert "同意人数不能多于" in exc.value.message and exc.value.field == "reps_for"
    db.session.rollback()
    listing = svc.create_draft(users["point_a1"], category=category("C05"), **collective_fields())
    db.session.commit()
    listing.reps_for = 31
    with pytest.raises(Exception):
        db.session.flush()  # the database refuses it too
    db.session.rollback()


@pytest.mark.article("第二十条")
def test_collective_needs_appraisal_and_its_account(users):
    listing = svc.create_draft(users["point_a1"], category=category("C04"),
                               **collective_fields(appraisal_value="", account_name="某个人"))
    problems = rules.problems(listing, for_submit=True)
    assert any("评估值" in p for p in problems)
    assert any("集体经济组织法人账户" in p for p in problems)
    assert "approval" in rules.required_materials(listing) and "appraisal" in rules.required_materials(listing)


def test_homestead_restricts_buyers(users):
    with pytest.raises(svc.InvalidValues) as exc:  # refused where it is entered (issue 17 item 3)
        svc.create_draft(users["point_a1"], category=category("C09"), **household_fields(buyer_restriction="none"))
    assert exc.value.field == "buyer_restriction" and "成员" in exc.value.message
    listing = svc.create_draft(users["point_a1"], category=category("C09"), **household_fields())
    assert listing.buyer_restriction == "members"
    listing.buyer_restriction = "none"  # however it got there, the submission says it too
    assert any("成员" in p for p in rules.problems(listing))


def test_bad_money_and_dates_are_clear(users):
    with pytest.raises(svc.ListingError) as exc:
        new_household_listing(users, floor_unit_price="5O0")
    assert exc.value.field == "floor_unit_price" and "金额" in exc.value.message
    with pytest.raises(svc.ListingError) as exc:
        new_household_listing(users, term_start="2027/01/01")
    assert "YYYY-MM-DD" in exc.value.message
    with pytest.raises(svc.ListingError):
        new_household_listing(users, floor_unit_price="-1")


def test_unknown_fields_cannot_be_set(users):
    listing = new_household_listing(users)
    with pytest.raises(svc.ListingError):
        svc.update_draft(users["point_a1"], listing, state="announced")
    with pytest.raises(svc.ListingError):
        svc.update_draft(users["point_a1"], listing, project_no="LXNCJY-2026-999999")


# --- the review chain -------------------------------------------------------------------------------

def ready_listing(users, **kw):
    listing = new_household_listing(users, **kw)
    attach(listing, users["point_a1"])
    return listing


@pytest.mark.article("三级服务体系")
@pytest.mark.article("交易程序")
def test_full_chain_point_station_center(users, orgs, frozen, db):
    listing = ready_listing(users)
    svc.submit(users["point_a1"], listing)
    assert listing.state == "station_review"
    # another town's station cannot touch it
    with pytest.raises(AccessDenied):
        svc.station_decide(users["station_b"], listing, True)
    svc.station_decide(users["station_a"], listing, True, "材料齐全")
    assert listing.state == "center_review"
    svc.center_decide(users["center_reviewer"], listing, "approve", ALL_OK, "同意发布")
    db.session.commit()
    assert listing.state == "announced"
    year = clock.to_local(clock.now()).year
    assert listing.project_no == f"LXNCJY-{year}-000001"
    # frozen at Monday 2026-11-23 09:00: 5 working days → Monday 2026-11-30 24:00
    assert clock.to_local(listing.announce_end_at).date() == date(2026, 12, 1)
    assert listing.announce_end_at == datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc)
    assert listing.deposit_deadline_at == datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)  # 16:00 Beijing
    actions = [e.action for e in listing.events]
    assert actions[-3:] == ["submit", "station_pass", "center_approve"]
    audit = db.session.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "listing")).all()
    assert "listing.center_approve" in audit


def test_station_return_needs_reason_and_resubmit_keeps_history(users, db):
    listing = ready_listing(users)
    svc.submit(users["point_a1"], listing)
    with pytest.raises(WorkflowError) as exc:
        svc.station_decide(users["station_a"], listing, False, "")
    assert "理由" in exc.value.message
    svc.station_decide(users["station_a"], listing, False, "四至不清，请补充")
    assert listing.state == "returned"
    changes = svc.update_draft(users["point_a1"], listing, boundaries="东至渠道，南至山脚，西至村道，北至河堤")
    assert "boundaries" in changes
    svc.submit(users["point_a1"], listing)
    assert listing.state == "station_review"
    edit = [e for e in listing.events if e.action == "edit"][-1]
    assert "boundaries" in edit.data and "北至河堤" in edit.data


def test_approval_needs_every_checklist_item(users, db):
    listing = ready_listing(users)
    svc.submit(users["point_a1"], listing)
    svc.station_decide(users["station_a"], listing, True)
    checklist = dict(ALL_OK, planning={"ok": False, "note": "涉及基本农田"})
    with pytest.raises(WorkflowError) as exc:
        svc.center_decide(users["center_reviewer"], listing, "approve", checklist)
    assert "规划" in exc.value.message
    assert listing.state == "center_review" and listing.project_no is None
    svc.center_decide(users["center_reviewer"], listing, "reject", checklist, "涉及永久基本农田改变用途")
    assert listing.state == "rejected"


def test_no_state_change_outside_the_table(users):
    listing = ready_listing(users)
    with pytest.raises(WorkflowError):
        fire(listing, "center_approve", users["center_reviewer"])  # still a draft
    with pytest.raises(WorkflowError):
        fire(listing, "publish_now", users["admin"])
    assert listing.state == "draft"


def test_only_reviewers_fire_their_transitions(users):
    listing = ready_listing(users)
    svc.submit(users["point_a1"], listing)
    for key in ["point_a1", "center_reviewer", "admin", "supervisor", "finance"]:
        with pytest.raises(AccessDenied):
            svc.station_decide(users[key], listing, True)


def test_transitions_table_is_consistent():
    from exchange.access import ACTIONS
    from exchange.listings.models import STATES
    for t in TRANSITIONS.values():
        assert t.action in ACTIONS
        assert t.sources <= set(STATES)
        if isinstance(t.target, str):
            assert t.target in STATES


@pytest.mark.article("第十一条")
def test_direct_application_by_transferor(users, orgs, db):
    seller = users["buyer"]  # any public account may be a transferor
    listing = svc.create_draft(seller, category=category("C01"), point=orgs.point_b1,
                               **household_fields(transferor_name=seller.party.name, account_name=seller.party.name,
                                                  transferor_id_no=seller.party.id_number))
    assert listing.origin == "direct" and listing.transferor_user_id == seller.id
    attach(listing, seller)
    svc.submit(seller, listing)
    assert listing.state == "center_review"  # straight to the center (第十一条)
    svc.request_station_opinion(users["center_reviewer"], listing, "请核实该地块是否存在承包纠纷")
    assert svc.pending_opinion(listing) is not None
    with pytest.raises(AccessDenied):
        svc.give_station_opinion(users["station_a"], listing, "不是我镇")
    svc.give_station_opinion(users["station_b"], listing, "经核实无纠纷", verdict="agree")
    assert svc.pending_opinion(listing) is None
    svc.center_decide(users["center_reviewer"], listing, "approve", ALL_OK)
    assert listing.state == "announced"


def test_other_public_user_cannot_touch_a_direct_application(users, orgs):
    seller = users["buyer"]
    listing = svc.create_draft(seller, category=category("C01"), point=orgs.point_b1, **household_fields())
    with pytest.raises(AccessDenied):
        svc.update_draft(users["buyer_org"], listing, title="抢过来")
    assert not svc.can_view(users["buyer_org"], listing)


def test_project_numbers_are_sequential_without_gaps(users, frozen, db):
    numbers = []
    for i in range(3):
        listing = ready_listing(users, title=f"项目{i}")
        svc.submit(users["point_a1"], listing)
        svc.station_decide(users["station_a"], listing, True)
        svc.center_decide(users["center_reviewer"], listing, "approve", ALL_OK)
        db.session.commit()
        numbers.append(listing.project_no)
    # a publication that rolls back does not use up a number
    listing = ready_listing(users, title="回滚")
    svc.submit(users["point_a1"], listing)
    svc.station_decide(users["station_a"], listing, True)
    db.session.commit()
    svc.center_decide(users["center_reviewer"], listing, "approve", ALL_OK)
    db.session.rollback()
    listing = db.session.get(Listing, listing.id)
    svc.center_decide(users["center_reviewer"], listing, "approve", ALL_OK)
    db.session.commit()
    numbers.append(listing.project_no)
    assert [n[-6:] for n in numbers] == ["000001", "000002", "000003", "000004"]


@pytest.mark.article("三级服务体系")
def test_queues_by_scope(users, db):
    a = ready_listing(users)
    svc.submit(users["point_a1"], a)
    db.session.commit()
    assert [r.listing.id for r in svc.queue(users["station_a"], ("station_review",))] == [a.id]
    assert svc.queue(users["station_b"], ("station_review",)) == []
    assert svc.queue_counts(users["center_reviewer"], ("station_review",)) == 1
    assert svc.queue_counts(users["point_b1"], ("station_review",)) == 0


def test_public_search_shows_only_published(users, db):
    a = ready_listing(users, title="公开的水田")
    b = ready_listing(users, title="草稿里的水田")
    svc.submit(users["point_a1"], a)
    svc.station_decide(users["station_a"], a, True)
    svc.center_decide(users["center_reviewer"], a, "approve", ALL_OK)
    db.session.commit()
    page = svc.public_search(svc.SearchParams(q="水田"))
    assert [l.id for l in page.items] == [a.id] and b.id not in [l.id for l in page.items]
    assert svc.public_search(svc.SearchParams(price_min=Decimal("200000"))).total == 0
    assert svc.public_search(svc.SearchParams(area_min=Decimal("30"), area_max=Decimal("40"))).total == 1


@pytest.mark.concurrency
def test_concurrent_publications_get_distinct_gap_free_numbers(app, users, db):
    """Six reviewers approve six listings at the same moment: numbers 1–6, each once."""
    import threading
    ids = []
    for i in range(6):
        listing = ready_listing(users, title=f"并发{i}")
        svc.submit(users["point_a1"], listing)
        svc.station_decide(users["station_a"], listing, True)
        ids.append(listing.id)
    db.session.commit()
    reviewer_id = users["center_reviewer"].id
    barrier = threading.Barrier(len(ids))
    errors = []

    def approve(listing_id):
        try:
            with app.app_context():
                from exchange.accounts.models import User
                reviewer = _db.session.get(User, reviewer_id)
                listing = _db.session.get(Listing, listing_id)
                barrier.wait()
                svc.center_decide(reviewer, listing, "approve", ALL_OK)
                _db.session.commit()
                _db.session.remove()
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=approve, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    db.session.expire_all()
    numbers = sorted(db.session.scalars(select(Listing.project_no).where(Listing.id.in_(ids))))
    assert [n[-6:] for n in numbers] == [f"{k:06d}" for k in range(1, 7)]
    from exchange.audit.services import verify
    assert verify().ok
