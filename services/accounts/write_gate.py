"""The write gate: the one check every write of a signed-in user passes before it writes
(docs/ADMIN.md "What a sanctioned account may still do").

`admit(user, action, topic_id=..., room=...)` refuses, in this order:
1. a site ban in force (403) and a site mute (403 `muted`), unless the action is
   account self-care (`SELF_CARE`, the short list of what a sanctioned account may still
   do: the list lives here and nowhere else);
2. a ban from the topic the write is in (403), for writes in a topic;
3. the per-user limit of the action's write class (`LIMITS`, one setting each), 429
   `rate_limited` with `Retry-After`, counted in Redis moving windows shared by every
   process (services.platform.chat_limits.hit). A topic's owner and moderators are not limited
   inside their own topic. New accounts (services.accounts.trust, level 0) also count against
   lower limits for some classes;
4. for new accounts, per item: more mentions or attachments than they may (422
   `too_many_mentions`, `too_many_attachments`; links: the content filter's limit);
5. the same text (normalized, at least REPEAT_CONTENT_MIN_LENGTH characters) in more than
   REPEAT_CONTENT_MAX places (rooms, topics, posts) within REPEAT_CONTENT_WINDOW_SECONDS:
   429 `duplicate_content`. Per user in Redis, a sorted set of places under the text's
   hash: one pipelined round trip, and only for texts long enough to count.

Every write service calls it first, with its action; `tests/test_write_gate.py` walks
every unsafe route and socket event of the app with a muted account, so a new write that
forgets the gate fails there the day it is written.
"""
from __future__ import annotations

import hashlib
import math
import time
from typing import Any

from flask import current_app

from services.accounts import trust
from services.notify.notify_mentions import mentioned_names
from services.platform import chat_limits, site_bans, site_mutes, topic_access
from utils.errors import DuplicateContent, TooManyAttachments, TooManyMentions
from utils.redis_client import get_redis

# What a muted (or, for a request under way when the ban lands, banned) account may still
# do: look after its own account and protect itself, never reach anyone else.
SELF_CARE = frozenset({
    "account",        # log in and out, password, 2FA, passkeys, sessions, tokens, data
                      # export, deleting the account
    "notifications",  # notification settings and mutes, marking notifications read
    "read",           # read positions in chat rooms
    "leave",          # leaving topics and rooms, hanging up, refusing or ending a call
    "decline",        # declining invitations and friend requests
    "block",          # blocking, hiding, ending a friendship
    "personal",       # following posts, archiving rooms, deleting a message for oneself
    "delete",         # deleting what one wrote (or, as a moderator, removing content)
    "report",         # reporting abuse (still under the per-user report limit)
})

# Write class -> (the setting holding its per-user limit, what the refusal calls it).
LIMITS = {
    "topic": ("WRITE_LIMIT_TOPICS", "topics"),
    "topic_room": ("WRITE_LIMIT_TOPIC_ROOMS", "topic rooms"),
    "group": ("WRITE_LIMIT_GROUPS", "groups"),
    "post": ("WRITE_LIMIT_POSTS", "posts"),
    "comment": ("WRITE_LIMIT_COMMENTS", "comments"),
    "message": ("CHAT_RATE_LIMIT", "messages"),
    "reaction": ("WRITE_LIMIT_REACTIONS", "reactions"),
    "vote": ("WRITE_LIMIT_VOTES", "votes"),
    "friend_request": ("WRITE_LIMIT_FRIEND_REQUESTS", "friend requests"),
    "invitation": ("WRITE_LIMIT_INVITATIONS", "invitations"),
    "report": ("WRITE_LIMIT_REPORTS", "reports"),
    "upload": ("WRITE_LIMIT_UPLOADS", "uploads"),
    "profile": ("WRITE_LIMIT_PROFILE_EDITS", "profile changes"),
}

# Every other action a write service names: each is refused while muted.
ACTIONS = frozenset({
    "topic", "topic_room", "group", "direct", "post", "comment", "message", "edit",
    "reaction", "vote", "friend_request", "befriend", "invitation", "join", "upload",
    "finish_upload",
    "profile", "typing", "call", "moderate", "manage", "admin",
}) | SELF_CARE


def admit(user: dict[str, Any], action: str, *, topic_id: Any = None,
          room: dict[str, Any] | None = None, text: str | None = None,
          attachments: int = 0, place: Any = None) -> None:
    """Raise the refusal `user` gets for `action` (in the topic `topic_id`, or the chat
    `room`; `text` and `attachments`: what the item carries; `place`: where the text
    goes, by default the room or the topic), or return: the write may go on."""
    if action not in ACTIONS:
        raise ValueError(f"unknown write action {action!r}")
    if room is not None and room.get("kind") == "topic":
        topic_id = room["topic_id"]
    if action not in SELF_CARE:
        site_bans.refuse_if_banned(user)
        site_mutes.require_not_muted(user)
        if topic_id is not None:
            topic_access.require_not_banned(user, {"_id": topic_id})
    new = trust.level(user) == trust.NEW
    if action in LIMITS and not _runs_topic(user, topic_id):
        setting, what = LIMITS[action]
        if new and action in trust.NEW_ACCOUNT_LIMITS:  # counted against both
            chat_limits.hit(f"write:{action}:new", str(user["_id"]),
                            trust.NEW_ACCOUNT_LIMITS[action], f"Too many {what}; slow down.")
        chat_limits.hit(f"write:{action}", str(user["_id"]), setting,
                        f"Too many {what}; slow down.")
    if new:
        _check_item(text, attachments)
    if text:
        where = place if place is not None else room["_id"] if room is not None else topic_id
        _check_repeat(str(user["_id"]), text, where)


def _check_repeat(user_id: str, text: str, place: Any) -> None:
    config = current_app.config
    normalized = " ".join(text.casefold().split())
    client = get_redis()
    if place is None or client is None or len(normalized) < config["REPEAT_CONTENT_MIN_LENGTH"]:
        return
    window = config["REPEAT_CONTENT_WINDOW_SECONDS"]
    digest = hashlib.sha256(normalized.encode()).hexdigest()[:32]
    key, now = f"rt:repeat:{user_id}:{digest}", time.time()
    pipe = client.pipeline(transaction=True)
    pipe.zremrangebyscore(key, 0, now - window)
    pipe.zadd(key, {str(place): now})  # the same place again is no new copy
    pipe.zcard(key)
    pipe.zrange(key, 0, 0, withscores=True)
    pipe.expire(key, math.ceil(window))
    _, _, copies, oldest, _ = pipe.execute()
    if copies <= config["REPEAT_CONTENT_MAX"]:
        return
    client.zrem(key, str(place))
    wait = oldest[0][1] + window - now if oldest else window
    raise DuplicateContent(math.ceil(max(1.0, wait)),
                           "You sent this text to too many places; write something new.")


def _check_item(text: str | None, attachments: int) -> None:
    config = current_app.config
    most = config["NEW_ACCOUNT_MAX_ATTACHMENTS"]
    if attachments > most:
        raise TooManyAttachments(f"New accounts may attach at most {most} files to one item.",
                                 {"attachments": most})
    most = config["NEW_ACCOUNT_MAX_MENTIONS"]
    if text and len(mentioned_names(text, most + 1)) > most:
        raise TooManyMentions(f"New accounts may mention at most {most} people in one item.",
                              {"mentions": most})


def _runs_topic(user: dict[str, Any], topic_id: Any) -> bool:
    """The owner and moderators of the topic (from the process's copy of the user's
    roles, no extra database command): their own topic's work is not rate-limited."""
    return topic_id is not None and topic_access.member_role(topic_id, user["_id"]) in (
        topic_access.OWNER, topic_access.MODERATOR)
