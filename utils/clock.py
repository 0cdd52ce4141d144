"""The one clock the application reads for the time of day, so tests can move time
instead of sleeping (tests/conftest.py's `clock` fixture calls `advance`)."""
from __future__ import annotations

import time as _time
from datetime import datetime, timezone

_offset = 0.0  # seconds the clock was moved forward; only tests move it


def time() -> float:
    """Seconds since the epoch, like time.time()."""
    return _time.time() + _offset


def _moment() -> datetime:
    """This clock's time, timezone-aware, truncated to milliseconds like MongoDB stores it."""
    moment = datetime.fromtimestamp(time(), timezone.utc)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def now() -> datetime:
    """Now, for deciding what has expired (tests may also replace this function)."""
    return _moment()


def utcnow() -> datetime:
    """The stamp models put on what they store (`created_at`, ...): the same clock, but
    not whatever a test put in place of `now`, so stamps stay the time of writing."""
    return _moment()


def advance(seconds: float) -> None:
    global _offset
    _offset += seconds


def reset() -> None:
    global _offset
    _offset = 0.0
