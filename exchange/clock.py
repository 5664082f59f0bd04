"""The one source of "now" for the whole platform.

Nothing else in ``exchange`` reads the system time.  Three modes:

* real: the system clock (UTC);
* frozen: tests freeze the clock at an instant and move it with :func:`advance`;
* accelerated (演练模式): simulated time runs ``speed`` times faster than real time from a fixed
  anchor.  The anchor (a real instant and the simulated instant it maps to) is stored in the
  instance folder, so every worker process of a training deployment shows the same time.

All datetimes are timezone-aware UTC.  :func:`to_local` converts for display (Asia/Shanghai).
"""
from __future__ import annotations

import json
import os
import threading
import time as _time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

UTC = timezone.utc
LOCAL_TZ = ZoneInfo("Asia/Shanghai")

_lock = threading.RLock()


@dataclass
class _State:
    frozen_at: datetime | None = None
    speed: float = 1.0
    anchor_real: float | None = None  # epoch seconds (real)
    anchor_sim: datetime | None = None


_state = _State()


def _real_now() -> datetime:
    return datetime.fromtimestamp(_time.time(), tz=UTC)


def now() -> datetime:
    """The current instant, aware UTC."""
    with _lock:
        if _state.frozen_at is not None:
            return _state.frozen_at
        if _state.anchor_real is not None and _state.anchor_sim is not None:
            elapsed = _time.time() - _state.anchor_real
            return _state.anchor_sim + timedelta(seconds=elapsed * _state.speed)
    return _real_now()


def today_local() -> date:
    """Today's date in Asia/Shanghai (the date the rules count in)."""
    return now().astimezone(LOCAL_TZ).date()


def local_now() -> datetime:
    return now().astimezone(LOCAL_TZ)


def to_local(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(LOCAL_TZ)


def local_datetime(d: date, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """The UTC instant of a local (Asia/Shanghai) wall-clock time on date ``d``."""
    return datetime(d.year, d.month, d.day, hour, minute, second, tzinfo=LOCAL_TZ).astimezone(UTC)


def ensure_aware(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


# --- test control -------------------------------------------------------------------------

def freeze(at: datetime) -> datetime:
    """Stop the clock at ``at`` (naive values are taken as UTC)."""
    with _lock:
        _state.frozen_at = ensure_aware(at)
        return _state.frozen_at


def advance(delta: timedelta | None = None, **kwargs) -> datetime:
    """Move a frozen clock forward: ``advance(hours=3)`` or ``advance(timedelta(days=1))``."""
    delta = delta or timedelta(**kwargs)
    with _lock:
        if _state.frozen_at is None:
            raise RuntimeError("clock.advance() needs a frozen clock; call clock.freeze() first")
        _state.frozen_at = _state.frozen_at + delta
        return _state.frozen_at


def unfreeze() -> None:
    with _lock:
        _state.frozen_at = None


def reset() -> None:
    """Back to the real system clock (tests call this between cases)."""
    with _lock:
        _state.frozen_at = None
        _state.speed = 1.0
        _state.anchor_real = None
        _state.anchor_sim = None


def is_frozen() -> bool:
    return _state.frozen_at is not None


# --- training deployment (演练模式) ----------------------------------------------------------

def accelerate(speed: float, anchor_real: float | None = None, anchor_sim: datetime | None = None) -> None:
    """Run simulated time ``speed`` times faster than real time from the given anchor."""
    if speed <= 0:
        raise ValueError("speed must be positive")
    with _lock:
        _state.frozen_at = None
        _state.speed = float(speed)
        _state.anchor_real = _time.time() if anchor_real is None else anchor_real
        _state.anchor_sim = ensure_aware(anchor_sim) if anchor_sim else _real_now()


def speed() -> float:
    return _state.speed if _state.anchor_real is not None else 1.0


def configure_training(instance_dir: str | os.PathLike, speed: float) -> dict:
    """Load (or create) the shared anchor of a training deployment and accelerate the clock.

    The anchor file makes every process of the deployment agree on the simulated time.
    """
    path = Path(instance_dir) / "training_clock.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        anchor = {"anchor_real": _time.time(), "anchor_sim": _real_now().isoformat(), "speed": speed}
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                json.dump(anchor, fh)
    anchor = json.loads(path.read_text())
    accelerate(float(anchor.get("speed", speed)), anchor["anchor_real"],
               datetime.fromisoformat(anchor["anchor_sim"]))
    return anchor
