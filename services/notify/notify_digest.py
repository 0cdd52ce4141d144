"""Digest mails: once a day at NOTIFY_DIGEST_HOUR (UTC) the periodic job `send_digests`
mails every user whose digest setting (`settings.notifications.digest`: off, daily,
weekly) is due one mail listing their unread notifications changed since their last
digest (all unread ones for a first digest), most recent first, at most
NOTIFY_DIGEST_MAX_ITEMS and the count of the rest.

Due: `daily` when the last digest is at least 23 hours old, `weekly` at least 6 days 23
hours (so a run that was skipped, or ran a little late, is not a reason to skip a user).
Each user's digest is claimed before it is sent: one conditional update moves
`notify_digest_at` from the value read to now, so with several consumers, or a job run
twice, a user gets one digest per period. Nothing unread: no mail.
"""
from __future__ import annotations

import datetime
from typing import Any

from flask import current_app

from models.notification import Notification
from models.user import User
from services.notify import notify_mail
from services.platform.shapes.notifications import summary
from utils import clock, jobs

PERIODS = {"daily": datetime.timedelta(hours=23),
           "weekly": datetime.timedelta(days=6, hours=23)}


def _hour(config: Any) -> int:
    return int(config["NOTIFY_DIGEST_HOUR"])


@jobs.periodic(jobs.crontab(minute="0"))
def send_digests_hourly() -> int:
    """Runs every hour; sends at the configured hour (the crontab is fixed at import)."""
    if clock.now().hour != _hour(current_app.config):
        return 0
    return send_digests()


@jobs.task(retries=2, retry_delay=30)
def send_digests() -> int:
    """Mail each due user their digest; the number of mails queued."""
    now = clock.now()
    sent = 0
    for user in User().digest_subscribers(list(PERIODS)):
        period = PERIODS[user["settings"]["notifications"]["digest"]]
        last = user.get("notify_digest_at")
        if last is not None and last > now - period:
            continue
        sent += digest_for(user, last, now)
    return sent


def digest_for(user: dict[str, Any], last: Any, now: datetime.datetime) -> bool:
    if not notify_mail.mailable(user):
        return False
    limit = current_app.config["NOTIFY_DIGEST_MAX_ITEMS"]
    items, total = Notification().unread_since(user["_id"], last, limit)
    # Claim the period first (even with nothing to send: the next digest starts here).
    if User().update_if(user["_id"], {"notify_digest_at": last},
                        {"$set": {"notify_digest_at": now}}) is None:
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
