"""Calls ring through Web Push (docs/CALLS.md "Ringing by push"): an invitee with no open
socket gets a high-urgency push whose TTL is what is left of the invite's lifetime, and,
once it stops ringing for them (answered on another device, declined, cancelled, missed,
ended), a push under the same `Topic` saying so, which replaces the ringing one on the
push service and, through its `tag`, on the screen.

Both are jobs sent through services/notify/push_delivery.py `push_to`. At send time the
ringing job asks again: push allowed for `call`, still offline, caller not blocked and
neither the room nor the caller muted, the room still readable, the invite still ringing
for them; the call remembers whom it rang (`rung_ids`, set only while it rings), and only
they hear that it stopped.
"""
from __future__ import annotations

import math
from typing import Any

from flask import current_app

from models.call import Call
from models.user import User
from services.calls.call_records import shown_name
from services.chat.chat_access import readable_room
from services.notify import notify_prefs, push_delivery, push_keys
from services.platform import user_copies
from utils import clock, jobs
from utils.errors import APIError

# Why it stopped ringing for one invitee (their own answer elsewhere, their decline) or
# for everyone (the state the call ended in).
STOPPED = {"answered_elsewhere": "Answered on another device",
           "declined": "You declined the {kind} call from {caller}",
           "missed": "Missed {kind} call from {caller}",
           "cancelled": "{caller} cancelled the {kind} call",
           "rejected": "The {kind} call from {caller} was declined",
           "ended": "The {kind} call from {caller} ended"}


def ring(call: dict[str, Any]) -> None:
    """After the invite went out: queue a ringing push for each invitee with no open
    socket (who is online hears the invite live)."""
    if not push_keys.enabled():
        return
    for user_id in call["invitee_ids"]:
        if not push_delivery.online(user_id):
            ring_push.enqueue(str(call["_id"]), str(user_id))


def stopped_for(call: dict[str, Any], user_id: Any, why: str) -> None:
    """It stops ringing for `user_id` (`answered_elsewhere`, `declined`): tell their
    subscriptions, if a ringing push went there."""
    if Call().unmark_rung(call["_id"], user_id):
        ring_stopped_push.enqueue(str(call["_id"]), str(user_id), why)


def ended(call: dict[str, Any]) -> None:
    """The call ended: tell everyone it rang by push and who was not told already."""
    for user_id in call.get("rung_ids") or ():
        ring_stopped_push.enqueue(str(call["_id"]), str(user_id), call["state"])


def _url(call: dict[str, Any]) -> str:
    return f"{current_app.config['FRONTEND_URL'].rstrip('/')}/rooms/{call['room_id']}"


def _may_ring(user: dict[str, Any], call: dict[str, Any]) -> bool:
    caller = call["created_by"]
    if not notify_prefs.allows(user, "call", "push") or push_delivery.online(user["_id"]) \
            or user_copies.is_blocked_between(user["_id"], caller) \
            or notify_prefs.muted([user["_id"]], {"room": call["room_id"], "user": caller}):
        return False
    try:
        readable_room(user, call["room_id"])
    except APIError:
        return False
    return True


@jobs.task()
def ring_push(call_id: str, user_id: str) -> int:
    """Ring `user_id`'s subscriptions for the call; how many took it."""
    call, user = Call().find_by_id(call_id), User().find_active(user_id)
    if call is None or user is None or not _may_ring(user, call):
        return 0
    now = clock.now()
    left = math.ceil((call["ring_deadline"] - now).total_seconds())
    if left <= 0 or not Call().mark_rung(call["_id"], user["_id"], now):
        return 0  # answered, declined or over before the job ran
    caller = User().find_by_id(call["created_by"])
    pushed = push_delivery.message(
        user, "call", f"Incoming {call['kind']} call from {shown_name(caller)}", _url(call),
        push_delivery.call_topic(call["_id"]), left, "high", call_id=str(call["_id"]))
    return push_delivery.push_to(user, pushed)


@jobs.task()
def ring_stopped_push(call_id: str, user_id: str, why: str) -> int:
    """Replace the ringing push on `user_id`'s subscriptions by one saying why it
    stopped; how many took it. Sent whatever their settings are now: it only takes back
    what was sent."""
    call, user = Call().find_by_id(call_id), User().find_active(user_id)
    if call is None or user is None:
        return 0
    caller = User().find_by_id(call["created_by"])
    body = STOPPED.get(why, STOPPED["ended"]).format(kind=call["kind"],
                                                     caller=shown_name(caller))
    pushed = push_delivery.message(
        user, "call_ended", body, _url(call), push_delivery.call_topic(call["_id"]),
        current_app.config["PUSH_TTL_SECONDS"], "high", call_id=str(call["_id"]),
        reason=why)
    return push_delivery.push_to(user, pushed)
