"""`poll_updated`: at most one per poll per POLL_UPDATE_INTERVAL_SECONDS, and never
losing the last state.

The first change after a quiet interval is announced at once. A change inside the
interval marks the poll as owing an announcement and queues `announce_poll` for the end
of the interval (one job per interval, whoever marks it first); the job reads the
poll's state when it runs, so it carries every change made before it, and a change made
after it clears the mark owes a new one. Both steps are atomic updates of the poll
(models/poll.py), so any number of processes agree. Events go to whoever may read the
item (its host's audience), without a viewer's `my_vote`.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bson import ObjectId
from flask import current_app

from models.poll import Poll
from services.platform import realtime
from services.platform.shapes.polls import POLL_UPDATED
from services.polls import poll_hosts, poll_items
from utils import clock, jobs


def _interval() -> timedelta:
    return timedelta(seconds=current_app.config["POLL_UPDATE_INTERVAL_SECONDS"])


def announce(poll_id: ObjectId) -> None:
    """After a ballot was stored or taken back."""
    now = clock.now()
    if Poll().claim_announcement(poll_id, now, now - _interval()):
        _emit(poll_id)
        return
    marked = Poll().mark_pending(poll_id)
    if marked is not None:
        announce_poll.schedule(str(poll_id), delay=_wait(marked.get("announced_at"), now))


@jobs.task(retries=2, retry_delay=1)
def announce_poll(poll_id: str) -> None:
    """The announcement a poll owes: now, or again at the end of the interval if another
    one went out meanwhile."""
    oid = ObjectId(poll_id)
    now = clock.now()
    if Poll().claim_announcement(oid, now, now - _interval(), clear_pending=True):
        _emit(oid)
        return
    poll = Poll().find_by_id(oid, {"announced_at": 1})
    if poll is not None:
        announce_poll.schedule(poll_id, delay=_wait(poll.get("announced_at"), now))


def _wait(last: datetime | None, now: datetime) -> float:
    """Seconds until an announcement after the one at `last` may go out."""
    if last is None:
        return 0.0
    last = last if last.tzinfo else last.replace(tzinfo=timezone.utc)
    return max(0.0, (last + _interval() - now).total_seconds())


def _emit(poll_id: ObjectId) -> None:
    poll = Poll().find_by_id(poll_id)
    if poll is None:
        return
    rooms = poll_hosts.host(poll["host_type"]).audience(poll["host_id"])
    view = poll_items.view_of(poll_id)
    if rooms and view is not None:
        realtime.emit("poll_updated", POLL_UPDATED.dump({
            "item_type": poll["host_type"], "item_id": str(poll["host_id"]), "poll": view}),
            to=rooms)
