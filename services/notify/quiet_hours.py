"""A user's own time: their time zone and their quiet hours (docs/NOTIFICATIONS.md
"Quiet hours and time zones").

A user stores `time_zone` (an IANA name; none: UTC) and `quiet_hours {start, end}`
("HH:MM" wall-clock times in that zone; a window may cross midnight, start == end is
refused; none: never quiet). During quiet hours the channels that reach a user who is
not looking (email; push is to ask `held_until` too) wait until the window ends; in-app
notifications still arrive at once. Calls and moderation notices never wait.

The API other modules call: `local_now`, `in_quiet_hours`, `quiet_ends_at`, and
`held_until(user, kind, now)` (when a notification of `kind` may go out, None: now);
`changed(user_id)` after the user changes their zone or window.
"""
from __future__ import annotations

import datetime
import functools
import re
import zoneinfo
from typing import Any

from bson import ObjectId

from models.notification import Notification
from services.notify.notify_prefs import MODERATION

UTC = datetime.timezone.utc
# A quiet hours bound, "HH:MM" on a 24-hour clock (routes/account_schemas.py also checks
# the length: `$` would let a trailing newline through).
TIME_PATTERN = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$")
# Kinds that never wait for quiet hours: a call is now or never (a ringing call is not
# a stored notification: its sender skips quiet hours altogether), and a user hears at
# once what moderators did to their content or account.
NEVER_HELD = MODERATION | {"missed_call"}


@functools.lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def is_time_zone(name: str) -> bool:
    """Whether `name` is an IANA zone this system knows ("Europe/Paris", "UTC")."""
    return name in _zone_names()


def zone(user: dict[str, Any]) -> datetime.tzinfo:
    """The user's zone; UTC when none is set (or the stored one is no longer known)."""
    name = user.get("time_zone")
    return zoneinfo.ZoneInfo(name) if name and is_time_zone(name) else UTC


def local_now(user: dict[str, Any], now: datetime.datetime) -> datetime.datetime:
    """`now` (aware) as a wall-clock time in the user's zone."""
    return now.astimezone(zone(user))


def _window(user: dict[str, Any]) -> tuple[datetime.time, datetime.time] | None:
    window = user.get("quiet_hours")
    if not window:
        return None
    start, end = (datetime.time.fromisoformat(window[key]) for key in ("start", "end"))
    return (start, end) if start != end else None


def in_quiet_hours(user: dict[str, Any], now: datetime.datetime) -> bool:
    """Whether the user's local time at `now` is inside their quiet hours (start
    included, end excluded; 22:00-07:00 covers the night across midnight)."""
    window = _window(user)
    if window is None:
        return False
    start, end = window
    wall = local_now(user, now).time().replace(tzinfo=None)
    if start < end:
        return start <= wall < end
    return wall >= start or wall < end


def quiet_ends_at(user: dict[str, Any], now: datetime.datetime) -> datetime.datetime | None:
    """When the quiet hours the user is in at `now` end (UTC), None when not in them.

    The end is the next local wall-clock `end` after `now`; on a day the clocks skip
    that time (a DST change) it is the moment the skipped time maps to."""
    if not in_quiet_hours(user, now):
        return None
    _start, end = _window(user)  # type: ignore[misc]
    local = local_now(user, now)
    for days in (0, 1):
        day = local.date() + datetime.timedelta(days=days)
        candidate = datetime.datetime.combine(day, end, tzinfo=local.tzinfo).astimezone(UTC)
        if candidate > now:
            return candidate
    raise AssertionError("a quiet window ends within a day")  # pragma: no cover


def held_until(user: dict[str, Any], kind: str,
               now: datetime.datetime) -> datetime.datetime | None:
    """When a notification of `kind` may reach the user by mail (or push): None now,
    else the end of their quiet hours."""
    return None if kind in NEVER_HELD else quiet_ends_at(user, now)


def changed(user_id: ObjectId) -> None:
    """The user changed their time zone or quiet hours: mail held for the old window is
    decided again by the next sweep (sent now, or held for the new window)."""
    Notification().release_mail_holds(user_id)
