"""The one clock the account code reads, so tests can move time instead of sleeping."""
from __future__ import annotations

from datetime import datetime

from models.base import utcnow


def now() -> datetime:
    return utcnow()
