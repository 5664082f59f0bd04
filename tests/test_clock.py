"""The clock: frozen, advanced, accelerated (training), local time."""
from datetime import datetime, timedelta, timezone

import pytest

from exchange import clock


@pytest.fixture(autouse=True)
def _reset():
    clock.reset()
    yield
    clock.reset()


def test_real_clock_is_aware_utc():
    now = clock.now()
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)


def test_freeze_and_advance():
    t = clock.freeze(datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc))
    assert clock.now() == t
    clock.advance(hours=2)
    assert clock.now() == t + timedelta(hours=2)
    clock.advance(timedelta(days=1))
    assert clock.now() == t + timedelta(days=1, hours=2)


def test_naive_freeze_is_taken_as_utc():
    clock.freeze(datetime(2026, 1, 1, 0, 0))
    assert clock.now() == datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_advance_needs_frozen_clock():
    with pytest.raises(RuntimeError):
        clock.advance(seconds=1)


def test_local_date_crosses_midnight_in_beijing():
    # 2026-11-22 16:30 UTC is already 2026-11-23 00:30 in Beijing
    clock.freeze(datetime(2026, 11, 22, 16, 30, tzinfo=timezone.utc))
    assert clock.today_local().isoformat() == "2026-11-23"
    assert clock.local_now().hour == 0


def test_local_datetime_to_utc():
    from datetime import date
    at = clock.local_datetime(date(2026, 11, 23), 16, 0)
    assert at == datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)


def test_accelerated_clock_runs_faster(monkeypatch):
    real = [1_000_000.0]
    monkeypatch.setattr(clock._time, "time", lambda: real[0])
    anchor = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)
    clock.accelerate(3600, anchor_real=real[0], anchor_sim=anchor)
    assert clock.now() == anchor
    real[0] += 2  # two real seconds
    assert clock.now() == anchor + timedelta(hours=2)
    assert clock.speed() == 3600


def test_training_anchor_is_shared_between_processes(tmp_path, monkeypatch):
    first = clock.configure_training(tmp_path, 60)
    clock.reset()
    second = clock.configure_training(tmp_path, 999)  # a second worker reads the same anchor
    assert first == second
    assert clock.speed() == 60


def test_accelerate_rejects_nonpositive_speed():
    with pytest.raises(ValueError):
        clock.accelerate(0)
