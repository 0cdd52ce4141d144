"""Voting in a poll and listing its voters.

Access is the item's (services.polls.poll_hosts): a user who may not read the item gets
the same 404 as for a poll that does not exist; voting also needs write access there
(and passes the write gate as a "vote"). A closed poll refuses ballots with 409
`poll_closed`. Each change announces `poll_updated` after it is stored (poll_live).
"""
from __future__ import annotations

from typing import Any

from models.poll import Poll
from models.poll_ballot import PollBallot
from services.accounts.users_service import public_users
from services.platform.shapes.polls import POLL_VOTER
from services.polls import poll_hosts, poll_items, poll_live
from utils import clock
from utils.errors import Forbidden, NotFound, PollClosed, ValidationFailed
from utils.pagination import page


def _poll(user: dict[str, Any], poll_id: Any, write: bool = False) -> dict[str, Any]:
    """The poll when `user` may read (with `write`: vote in) its item, else NotFound."""
    poll = Poll().find_by_id(poll_id)
    if poll is None:
        raise NotFound("Poll not found.")
    host = poll_hosts.host(poll["host_type"])
    try:
        host.readable(user, poll["host_id"])
    except NotFound:
        raise NotFound("Poll not found.") from None
    if write:
        host.writable(user, poll["host_id"])
    return poll


def get_poll(user: dict[str, Any], poll_id: Any) -> dict[str, Any]:
    poll = _poll(user, poll_id)
    return poll_items.dumped(poll["_id"], user["_id"])


def vote(user: dict[str, Any], poll_id: Any, option_ids: list[str]) -> dict[str, Any]:
    """Cast or change my ballot; the poll as I now see it."""
    poll = _poll(user, poll_id, write=True)
    _check_choice(poll, option_ids)
    PollBallot().cast(poll["_id"], user["_id"], list(dict.fromkeys(option_ids)),
                      clock.utcnow())
    poll_live.announce(poll["_id"])
    return poll_items.dumped(poll["_id"], user["_id"])


def withdraw(user: dict[str, Any], poll_id: Any) -> dict[str, Any]:
    """Take my ballot back (nothing to take back is fine)."""
    poll = _poll(user, poll_id, write=True)
    _require_open(poll)
    if PollBallot().withdraw(poll["_id"], user["_id"]):
        poll_live.announce(poll["_id"])
    return poll_items.dumped(poll["_id"], user["_id"])


def _require_open(poll: dict[str, Any]) -> None:
    if poll_items.is_closed(poll):
        raise PollClosed()


def _check_choice(poll: dict[str, Any], option_ids: list[str]) -> None:
    _require_open(poll)
    known = {option["id"] for option in poll["options"]}
    unknown = [option_id for option_id in option_ids if option_id not in known]
    if unknown:
        raise ValidationFailed(details={"option_ids": [f"Unknown options: {unknown}."]})
    if len(set(option_ids)) != len(option_ids):
        raise ValidationFailed(details={"option_ids": ["Name each option once."]})
    if not poll["multiple"] and len(option_ids) != 1:
        raise ValidationFailed(details={"option_ids": ["Choose exactly one option."]})


def voters(user: dict[str, Any], poll_id: Any, limit: int, cursor: str | None
           ) -> dict[str, Any]:
    """Who voted for what, to those who may read the item; never for an anonymous poll."""
    poll = _poll(user, poll_id)
    if poll["anonymous"]:
        raise Forbidden("This poll is anonymous: its voters are not shown.")
    ballots, next_cursor = PollBallot().voters_page(poll["_id"], limit, cursor)
    people = public_users([ballot["user_id"] for ballot in ballots])
    return page(ballots, next_cursor, lambda ballot: POLL_VOTER.dump(
        {**ballot, "user": people.get(ballot["user_id"])}))
