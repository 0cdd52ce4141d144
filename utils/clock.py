"""The one clock the account code reads, so tests can move time instead of sleeping."""
from __future__ import annotations

from datetime import datetime, timezone


def utcnow() -> datetime:
    """Now, timezone-aware, truncated to milliseconds like MongoDB stores it."""
    now = datetime.now(timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def now() -> datetime:
    return utcnow()
