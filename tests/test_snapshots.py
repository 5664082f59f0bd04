"""tests/snapshots.py, which restores the data a test's fixtures built in an earlier test instead of replaying the
services: a restore gives back every row exactly (on both engines), the sequences, the stored files and the frozen
clock; the fixtures' values come back as the same objects, with shared containers still shared."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update

from exchange import clock
from exchange.listings.models import Listing, ListingEvent
from exchange.registrations.models import Registration
from tests import snapshots
from tests.builders import PDF

pytestmark = pytest.mark.usefixtures("uploads")


def test_a_restore_gives_back_every_row_the_files_and_the_clock(app, buyers, online_deal, db):
    from exchange.storage import get_storage
    deal, regs = online_deal
    root = snapshots.Path(app.config["UPLOAD_ROOT"])
    files = sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())
    assert files  # materials, receipts
    copy = root.parent / "copy"
    snapshots.shutil.copytree(root, copy)
    snap = snapshots.Snapshot(rows=snapshots._rows(db), sequences=snapshots._sequences(db), files=copy,
                              clock_at=clock.now(), results=[])
    at = clock.now()
    # everything changes: rows deleted, updated and added, a file stored, the clock moved
    db.session.execute(update(Listing).values(title="改过的标题"))
    db.session.execute(delete(ListingEvent))
    get_storage().save(PDF + b"%changed")
    db.session.commit()
    clock.advance(days=3)
    snapshots._restore(db, snap, root)
    assert snapshots._rows(db) == snap.rows
    assert snapshots._sequences(db) == snap.sequences
    assert sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file()) == files
    assert clock.now() == at
    assert db.session.get(Listing, deal.listing_id).title == "团湖村 32 亩水田经营权出租"
    assert db.session.scalar(select(ListingEvent.id).limit(1)) is not None
    # a new row gets the id the build would have given it: after the highest (SQLite), from the sequence (PostgreSQL)
    sequences = {name.rsplit(".", 1)[-1]: last for name, last in snap.sequences}
    highest = db.session.scalar(select(Registration.id).order_by(Registration.id.desc()).limit(1))
    reg = Registration(listing_id=deal.listing_id, buyer_id=buyers["buyer_3"].id)
    db.session.add(reg)
    db.session.flush()
    assert reg.id == sequences.get("registration_id_seq", highest) + 1
    db.session.rollback()


def test_values_come_back_as_the_same_objects(buyers, trading, db):
    listing, regs = trading
    memo: dict = {}
    encoded = [snapshots._encode(v, memo) for v in (buyers, trading, buyers, clock)]
    assert snapshots._UNKNOWN not in encoded
    db.session.expire_all()
    decoded_memo: dict = {}
    users, (listing2, regs2), users_again, clock_again = [snapshots._decode(db, e, decoded_memo) for e in encoded]
    assert users is users_again and "buyer_coop" in users  # buyers adds to the users dict: still one dict
    assert listing2 is listing and regs2["buyer"] is regs["buyer"] and users["buyer"] is buyers["buyer"]
    assert clock_again is clock
    assert snapshots._encode(object(), {}) is snapshots._UNKNOWN
    assert snapshots._encode({"when": clock.now() + timedelta(days=1)}, {}) is snapshots._UNKNOWN


# --- when a test's fixtures are restored ----------------------------------------------------------------------------

@pytest.fixture
def meddling(users, db):
    """A module's own fixture: snapshots.py cannot know what it does to the data."""
    users["buyer"].email = "meddled@example.com"
    db.session.commit()


@pytest.fixture
def after_the_steps(announced, db):
    """A module's own fixture that asks for the last step: it runs after every step."""
    return announced.id


def _mode(request):
    return request.node.stash[snapshots._PLAN].mode


def test_the_steps_of_a_stage_are_recorded_or_restored(request, users, announced):
    assert _mode(request) in (("record", "replay") if snapshots.ENABLED else ("off",))


def test_a_fixture_of_its_own_after_the_steps_keeps_them(request, users, after_the_steps, announced):
    assert _mode(request) in (("record", "replay") if snapshots.ENABLED else ("off",))
    assert after_the_steps == announced.id


def test_a_fixture_of_its_own_before_a_step_runs_them_all_as_written(request, users, meddling, announced):
    assert _mode(request) == "off"
    assert users["buyer"].email == "meddled@example.com"


def test_without_a_stage_nothing_is_kept(request, users, frozen):
    assert _mode(request) == "off"
