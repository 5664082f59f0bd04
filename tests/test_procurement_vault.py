"""Issue 18 item 3, the sealed-bid vault (exchange/procurement/vault.py): nobody reads a bid before the 开标 time —
the database holds no price, the key is refused before the opening, a tampered or moved bid does not open — and
each supplier's SHA-256 receipt matches the opened bid, salted so that it cannot be used to guess the price."""
import hashlib
import os
import stat
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from exchange.procurement import vault as v

OPENS = datetime(2027, 3, 10, 2, 0, tzinfo=timezone.utc)  # 10:00 Beijing
BEFORE, AFTER = OPENS - timedelta(microseconds=1), OPENS
PROJECT = "LXCG-2027-000001"


@pytest.fixture
def vkey(tmp_path):
    return v.vault_key({"INSTANCE_DIR": str(tmp_path)})


@pytest.fixture
def project(vkey):
    return v.new_project_key(vkey, PROJECT, OPENS)


def _bid(price="386500.00", supplier=7, docs=None, salt=None):
    return v.bid_document(PROJECT, supplier, Decimal(price), docs or {"报价单.pdf": "ab" * 32},
                          OPENS - timedelta(days=1), salt=salt)


def test_a_sealed_bid_opens_only_with_the_key_of_the_opening_and_matches_its_receipt(vkey, project):
    doc = _bid()
    held = v.receipt(doc)  # what the supplier keeps from submission
    sealed = v.seal(project.public, doc, PROJECT, 7)
    private = v.unwrap_private_key(vkey, project.wrapped_private, PROJECT, OPENS, AFTER)
    opened = v.unseal(private, sealed, PROJECT, 7)
    assert opened == doc and v.receipt(opened) == held == hashlib.sha256(opened).hexdigest()
    bid = v.read_document(opened)
    assert bid["price"] == Decimal("386500.00") and bid["supplier"] == 7 and bid["documents"] == {"报价单.pdf": "ab" * 32}


def test_before_the_opening_the_key_is_refused_to_anyone(vkey, project):
    with pytest.raises(v.VaultError) as exc:
        v.unwrap_private_key(vkey, project.wrapped_private, PROJECT, OPENS, BEFORE)
    assert "未到开标时间" in exc.value.message


def test_what_is_stored_tells_nothing_of_the_price(project):
    """A database reader sees the sealed bytes and the public key only: no price, no document name, and two bids
    of the same price look unrelated."""
    a = v.seal(project.public, _bid(), PROJECT, 7)
    b = v.seal(project.public, _bid(), PROJECT, 8)
    for stored in (a, b, project.wrapped_private):
        for needle in (b"386500", b"386,500", "报价单".encode(), b"price"):
            assert needle not in stored
    assert a[len(v.VERSION):len(v.VERSION) + 32] != b[len(v.VERSION):len(v.VERSION) + 32]  # fresh ephemeral keys


def test_the_receipt_is_salted_so_it_cannot_be_used_to_guess_the_price():
    guesses = {hashlib.sha256(f"{p}.00".encode()).hexdigest() for p in range(300000, 400001, 500)}
    held = v.receipt(_bid())
    assert held not in guesses
    assert v.receipt(_bid()) != held  # the same bid submitted again: another salt, another receipt
    salt = os.urandom(16)
    assert v.receipt(_bid(salt=salt)) == v.receipt(_bid(salt=salt))  # but the document fixes it


@pytest.mark.parametrize("change", ["flip", "other_project", "other_supplier", "truncated", "not_a_bid"])
def test_a_tampered_or_moved_bid_does_not_open(vkey, project, change):
    sealed = v.seal(project.public, _bid(), PROJECT, 7)
    private = v.unwrap_private_key(vkey, project.wrapped_private, PROJECT, OPENS, AFTER)
    no, supplier = PROJECT, 7
    if change == "flip":
        sealed = sealed[:-1] + bytes([sealed[-1] ^ 1])
    elif change == "other_project":
        no = "LXCG-2027-000002"
    elif change == "other_supplier":
        supplier = 8  # a bid copied onto another supplier's row
    elif change == "truncated":
        sealed = sealed[:40]
    else:
        sealed = b"386500.00"
    with pytest.raises(v.VaultError):
        v.unseal(private, sealed, no, supplier)


def test_a_bid_sealed_for_another_project_does_not_open_with_this_key(vkey, project):
    other = v.new_project_key(vkey, "LXCG-2027-000002", OPENS)
    sealed = v.seal(other.public, _bid(), PROJECT, 7)
    private = v.unwrap_private_key(vkey, project.wrapped_private, PROJECT, OPENS, AFTER)
    with pytest.raises(v.VaultError):
        v.unseal(private, sealed, PROJECT, 7)


def test_the_project_key_is_bound_to_its_project_and_opening_time(vkey, project, tmp_path):
    """A wrapped key copied to another project, an opening time moved earlier in the database, or another
    platform's vault key: the key does not unwrap."""
    with pytest.raises(v.VaultError):
        v.unwrap_private_key(vkey, project.wrapped_private, "LXCG-2027-000002", OPENS, AFTER)
    earlier = OPENS - timedelta(days=2)
    with pytest.raises(v.VaultError):
        v.unwrap_private_key(vkey, project.wrapped_private, PROJECT, earlier, AFTER)
    stranger = v.vault_key({"INSTANCE_DIR": str(tmp_path / "elsewhere")})
    with pytest.raises(v.VaultError):
        v.unwrap_private_key(stranger, project.wrapped_private, PROJECT, OPENS, AFTER)


def test_the_vault_key_is_made_once_private_to_the_platform_and_read_back(tmp_path):
    config = {"INSTANCE_DIR": str(tmp_path)}
    first = v.vault_key(config)
    path = v.vault_key_path(config)
    assert len(first) == 32 and v.vault_key(config) == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(v.VaultError):
        v.vault_key({"INSTANCE_DIR": str(tmp_path / "none")}, create=False)
    path.write_text("not hex")
    with pytest.raises(v.VaultError):
        v.vault_key(config)


def test_the_document_is_canonical_and_refuses_a_price_that_is_not_a_decimal():
    a = v.bid_document(PROJECT, 7, Decimal("1000"), {"b.pdf": "2", "a.pdf": "1"}, OPENS, salt=b"\0" * 16)
    b = v.bid_document(PROJECT, 7, Decimal("1000.00"), {"a.pdf": "1", "b.pdf": "2"}, OPENS, salt=b"\0" * 16)
    assert a == b and b'"price":"1000.00"' in a
    for bad in (1000.0, Decimal("NaN"), Decimal("Infinity")):
        with pytest.raises(ValueError):
            v.bid_document(PROJECT, 7, bad, {}, OPENS)
    with pytest.raises(ValueError):
        v.bid_document(PROJECT, 7, Decimal("1"), {}, datetime(2027, 3, 10, 10, 0))  # a naive time
