"""A poll as part of its item: checked and stored with the item, shown inside it.

The item's write path calls `prepare` before its own insert (so a bad poll refuses the
whole item), `store` under the item's id before the item is delivered, and `discard`
when no item was created after all (a resend). Results are counted from the ballots.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from bson import ObjectId
from flask import current_app

from models.poll import Poll
from models.poll_ballot import PollBallot
from services.platform import content_filter
from services.platform.shapes.polls import POLL
from utils import clock
from utils.errors import ValidationFailed


def prepare(spec: dict[str, Any] | None, author: dict[str, Any], field: str
            ) -> dict[str, Any] | None:
    """The poll document to store with a new item, not yet stored; None without `spec`
    ({question, options, multiple, anonymous, closes_at}, shaped by the request schema).
    `field`: the content filter's field of the item (`message`, `post_body`)."""
    if spec is None:
        return None
    question = content_filter.apply(spec["question"].strip(), field, author)
    texts = [content_filter.apply(text.strip(), field, author) for text in spec["options"]]
    if len({text.casefold() for text in texts}) != len(texts):
        raise ValidationFailed(details={"poll": {"options": ["Options must differ."]}})
    closes_at = _closes_at(spec.get("closes_at"))
    return {"_id": ObjectId(), "author_id": author["_id"], "question": question,
            "options": [{"id": str(number), "text": text}
                        for number, text in enumerate(texts, start=1)],
            "multiple": bool(spec.get("multiple")),
            "anonymous": bool(spec.get("anonymous")), "closes_at": closes_at,
            "created_at": clock.utcnow()}


def _closes_at(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    now = clock.now()
    longest = timedelta(days=current_app.config["POLL_MAX_DAYS"])
    if not now < value <= now + longest:
        raise ValidationFailed(details={"poll": {"closes_at": [
            f"Must be in the future, at most {longest.days} days ahead."]}})
    return value


def store(poll: dict[str, Any] | None, host_type: str, host_id: ObjectId) -> None:
    if poll is not None:
        Poll().create({**poll, "host_type": host_type, "host_id": host_id})


def discard(poll: dict[str, Any] | None) -> None:
    """The item was not created after all (or is gone): its poll and ballots go too."""
    if poll is not None:
        remove(poll["_id"])


def remove(poll_id: ObjectId | None) -> None:
    if poll_id is not None:
        PollBallot().delete_of_poll(poll_id)
        Poll().delete(poll_id)


def is_closed(poll: dict[str, Any]) -> bool:
    closes_at = poll.get("closes_at")
    if closes_at is None:
        return False
    if closes_at.tzinfo is None:
        closes_at = closes_at.replace(tzinfo=timezone.utc)
    return closes_at <= clock.now()


def views(poll_ids: list[ObjectId | None], viewer_id: ObjectId | None = None
          ) -> dict[ObjectId, dict[str, Any]]:
    """{poll_id: the poll as `viewer_id` sees it (`my_vote`: theirs; None without a
    viewer)}, to be dumped inside its item (shapes.polls `poll_field`): three queries
    for any number of polls, none without one."""
    ids = [poll_id for poll_id in set(poll_ids) if poll_id is not None]
    if not ids:
        return {}
    polls = Poll().find_by_ids(ids)
    tallies = PollBallot().tallies(list(polls))
    mine = PollBallot().mine(viewer_id, list(polls)) if viewer_id is not None else {}
    return {poll_id: shown(poll, tallies.get(poll_id), mine.get(poll_id))
            for poll_id, poll in polls.items()}


def view_of(poll_id: ObjectId | None, viewer_id: ObjectId | None = None
            ) -> dict[str, Any] | None:
    return views([poll_id], viewer_id).get(poll_id) if poll_id is not None else None


def of_item(item: dict[str, Any], polls: dict[ObjectId, dict[str, Any]] | None = None
            ) -> dict[str, Any] | None:
    """The poll an item (a message, a post) shows: from `polls` (`views` of its page, as
    its reader sees them), else read here without a viewer; none on a deleted item."""
    poll_id = None if item.get("deleted") else item.get("poll_id")
    if poll_id is None:
        return None
    return polls.get(poll_id) if polls is not None else view_of(poll_id)


def dumped(poll_id: ObjectId, viewer_id: ObjectId | None = None) -> dict[str, Any]:
    """The poll on its own (a vote's answer), as JSON."""
    return POLL.dump(view_of(poll_id, viewer_id) or {})


def dumped_view(view: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if view is None else POLL.dump(view)


def shown(poll: dict[str, Any], tally: dict[str, Any] | None,
          my_vote: list[str] | None) -> dict[str, Any]:
    tally = tally or {"voters": 0, "options": {}}
    return {
        **poll, "closed": is_closed(poll), "voters_count": tally["voters"],
        "options": [{**option, "votes": tally["options"].get(option["id"], 0)}
                    for option in poll["options"]],
        "my_vote": my_vote}
