"""Digest mails at NOTIFY_DIGEST_HOUR (default 08:00) in each user's own time zone
(services/notify/quiet_hours.py; none: UTC): the hourly job `send_digests_hourly` mails
every user whose digest setting (`settings.notifications.digest`: off, daily, weekly) is
due one mail listing their unread notifications changed since their last digest (all
unread ones for a first digest), most recent first, at most NOTIFY_DIGEST_MAX_ITEMS and
the count of the rest.

Due: a user's digest of a local date is due in the hour that starts at that date's
08:00 local (for `weekly`, only on NOTIFY_DIGEST_WEEKDAY, 0 Monday), or, when their quiet
hours cover 08:00, in the hour that starts when those end. Each hourly run falls in
exactly one such hour per date whatever the zone's offset or a DST change, so a user is
picked once; a run that did not happen (no consumer for that hour) skips that day, and
the next digest lists everything since the last one.

Each user's digest is claimed before it is sent: one conditional update moves the
sent-marker `notify_digest_day` (the local date) and `notify_digest_at` from the values
read to the new ones, and a date at or before the marker is never sent, so with several
consumers, a job run twice or a change of time zone, a user gets one digest per local
date. Nothing unread: no mail.
"""
from __future__ import annotations

import datetime
from typing import Any

from flask import current_app

from models.notification import Notification
from models.user import User
from services.notify import notify_mail, quiet_hours
from services.platform.shapes.notifications import summary
from utils import clock, jobs

PERIODS = ("daily", "weekly")
HOUR = datetime.timedelta(hours=1)


@jobs.periodic(jobs.crontab(minute="0"))
def send_digests_hourly() -> int:
    """Runs every hour: each user whose local digest hour this is gets theirs."""
    return send_digests()


@jobs.task(retries=2, retry_delay=30)
def send_digests() -> int:
    """Mail each user whose digest is due this hour; the number of mails queued."""
    now = clock.now()
    sent = 0
    for user in User().digest_subscribers(list(PERIODS)):
        day = due_day(user, now)
        if day is not None:
            sent += digest_for(user, day, now)
    return sent


def _last_day(user: dict[str, Any]) -> str:
    """The local date of the user's last digest ("" for none). Digests sent before the
    marker existed count by the date of `notify_digest_at` in the user's zone."""
    if user.get("notify_digest_day"):
        return user["notify_digest_day"]
    last = user.get("notify_digest_at")
    return quiet_hours.local_now(user, last).date().isoformat() if last else ""


def due_day(user: dict[str, Any], now: datetime.datetime) -> str | None:
    """The local date (ISO) whose digest the run at `now` sends the user, None if none."""
    config = current_app.config
    weekly = user["settings"]["notifications"]["digest"] == "weekly"
    local = quiet_hours.local_now(user, now)
    hour = datetime.time(int(config["NOTIFY_DIGEST_HOUR"]))
    # Quiet hours from the evening before may push a date's digest past midnight.
    for day in (local.date(), local.date() - datetime.timedelta(days=1)):
        if weekly and day.weekday() != int(config["NOTIFY_DIGEST_WEEKDAY"]):
            continue
        at = datetime.datetime.combine(day, hour, tzinfo=local.tzinfo)
        at = quiet_hours.quiet_ends_at(user, at) or at
        if at <= now < at + HOUR and day.isoformat() > _last_day(user):
            return day.isoformat()
    return None


def digest_for(user: dict[str, Any], day: str, now: datetime.datetime) -> bool:
    if not notify_mail.mailable(user):
        return False
    last = user.get("notify_digest_at")
    limit = current_app.config["NOTIFY_DIGEST_MAX_ITEMS"]
    items, total = Notification().unread_since(user["_id"], last, limit)
    # Claim the date first (even with nothing to send: the next digest starts here).
    if User().update_if(
            user["_id"], {"notify_digest_at": last,
                          "notify_digest_day": user.get("notify_digest_day")},
            {"$set": {"notify_digest_at": now, "notify_digest_day": day}}) is None:
        return False  # another consumer took this user's digest
    if not items:
        return False
    lines = [{"summary": summary(item), "at": item["updated_at"]} for item in items]
    noun = "notification" if total == 1 else "notifications"
    notify_mail.send(user, "digest", notify_mail.DIGEST,
                     subject=f"Your Roundtable digest: {total} unread {noun}",
                     items=lines, total=total, more=total - len(items),
                     link=f"{current_app.config['FRONTEND_URL'].rstrip('/')}/notifications")
    return True
