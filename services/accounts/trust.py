"""Trust levels (docs/ADMIN.md "Write limits and trust levels"), after Discourse's: a new
account earns its way to the ordinary limits.

- level 0, new: an account younger than TRUST_NEW_ACCOUNT_HOURS that nobody has answered
  yet (a basic account's comment on its post or comment, or chat reply to its message,
  lifts it early: it was read and replied to). Lower limits on topics,
  topic rooms, groups and posts (`NEW_ACCOUNT_LIMITS`), and per item at most
  NEW_ACCOUNT_MAX_MENTIONS mentions, NEW_ACCOUNT_MAX_ATTACHMENTS attachments and
  CONTENT_FILTER_NEW_ACCOUNT_LINKS links (the content filter counts those);
- level 1, basic: everyone else, under the ordinary limits.

Age or an answer moves an account up, so nothing needs a background job. Site admins may set a
level (`trust_level` on the user; None: by age again): 1 lifts a new account early, 0
holds a suspicious one at the new account's limits whatever its age. Audit-logged.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app

from models.base import to_object_id
from models.user import User
from services.platform import audit_service
from utils import clock
from utils.errors import NotFound, ValidationFailed

NEW, BASIC = 0, 1
LEVELS = (NEW, BASIC)

# Write class -> the setting of its (lower) limit for new accounts.
NEW_ACCOUNT_LIMITS = {
    "topic": "NEW_ACCOUNT_LIMIT_TOPICS",
    "topic_room": "NEW_ACCOUNT_LIMIT_TOPIC_ROOMS",
    "group": "NEW_ACCOUNT_LIMIT_GROUPS",
    "post": "NEW_ACCOUNT_LIMIT_POSTS",
}


def level(user: dict[str, Any]) -> int:
    """The level in force: the one staff set, else by the account's age."""
    chosen = user.get("trust_level")
    if chosen is not None:
        return int(chosen)
    created = user.get("created_at")
    hours = current_app.config["TRUST_NEW_ACCOUNT_HOURS"]
    young = created is not None and clock.now() - created < timedelta(hours=hours)
    return NEW if young and not user.get("replied_to_at") else BASIC


def note_reply(replier: dict[str, Any], item: dict[str, Any]) -> None:
    """`replier` answered `item` (a post, comment or message) after it was written: a
    new author has been read and replied to, and reaches the basic level early. Only a
    basic account's answer counts (a new sock puppet's does not). A database command is
    paid only while the item is young enough for its author to be new."""
    since = clock.now() - timedelta(hours=current_app.config["TRUST_NEW_ACCOUNT_HOURS"])
    created, author_id = item.get("created_at"), item.get("author_id")
    if (author_id is None or author_id == replier["_id"] or created is None
            or created < since or level(replier) == NEW):
        return
    User().update_if(author_id, {"created_at": {"$gt": since}, "replied_to_at": None},
                     {"$set": {"replied_to_at": clock.now()}})


def set_level(actor: dict[str, Any], user_id: Any, chosen: int | None,
              reason: str | None) -> dict[str, Any]:
    """Staff set (or, with None, clear) a user's trust level; audit-logged."""
    if chosen is not None and chosen not in LEVELS:
        raise ValidationFailed(details={"trust_level": [f"One of {list(LEVELS)} or null."]})
    target = User().find_active(to_object_id(user_id, "User"))
    if target is None:
        raise NotFound("User not found.")
    before = target.get("trust_level")
    if before == chosen:
        return target
    updated = User().update_if(target["_id"], {}, {"$set": {"trust_level": chosen}})
    if updated is None:
        raise NotFound("User not found.")
    audit_service.record(actor, "user.trust_level", "user", target["_id"], reason,
                         {"from": before, "to": chosen})
    return updated
