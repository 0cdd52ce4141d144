"""Anonymous identity per topic: in a topic that allows it (`allow_anonymous`, set by its
owner or moderators), a member may post and comment under a pseudonym that is stable
for that user in that topic and unrelated across topics: `adjective-animal-NNNN` from
HMAC-SHA256(key derived from SECRET_KEY, "<topic_id>:<user_id>").

The pseudonym is stored on the post or comment (`anonymous: true`, `pseudonym`), and
every view of it shows a stand-in public user instead of the author: its `id` is derived
from the pseudonym, never the user's, so nothing in a list, a live event, a search
result or a notification ties it to the account. Only the topic's moderators and site
staff resolve a pseudonym (`resolve`), and each resolution is written to the audit log.
"""
from __future__ import annotations

import hashlib
import hmac
from typing import Any

from bson import ObjectId
from flask import current_app

from models.comment import Comment
from models.post import Post
from models.user import User
from services.platform import audit_service
from services.platform.shapes import users as user_shapes
from services.platform.topic_access import require_moderator
from utils.errors import Forbidden, NotFound

ADJECTIVES = (
    "amber", "brave", "calm", "clever", "cosmic", "crimson", "curious", "dapper", "eager",
    "gentle", "golden", "hidden", "humble", "jolly", "keen", "lively", "lucky", "mellow",
    "misty", "nimble", "noble", "patient", "quiet", "rapid", "rustic", "silent", "silver",
    "sleepy", "steady", "sunny", "swift", "tidy", "velvet", "wandering", "wise", "witty")
ANIMALS = (
    "badger", "beaver", "bison", "crane", "falcon", "ferret", "finch", "fox", "gecko",
    "heron", "ibis", "jackal", "koala", "lemur", "lynx", "marten", "moose", "narwhal",
    "newt", "otter", "owl", "panda", "pelican", "puffin", "quail", "raven", "salmon",
    "seal", "stoat", "swan", "tapir", "toucan", "walrus", "weasel", "wombat", "yak")
MAX_NAME = 64


def _digest(message: str) -> bytes:
    key = hashlib.sha256(current_app.config["SECRET_KEY"].encode()
                         + b"roundtable.pseudonym").digest()
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def pseudonym(topic_id: ObjectId, user_id: ObjectId) -> str:
    digest = _digest(f"{topic_id}:{user_id}")
    adjective = ADJECTIVES[int.from_bytes(digest[0:4], "big") % len(ADJECTIVES)]
    animal = ANIMALS[int.from_bytes(digest[4:8], "big") % len(ANIMALS)]
    return f"{adjective}-{animal}-{int.from_bytes(digest[8:12], 'big') % 10000:04d}"


def stand_in(name: str) -> dict[str, Any]:
    """The public user shown for a pseudonym (PublicUserSchema dumps it as it is)."""
    return user_shapes.stand_in(_digest(f"id:{name}")[:12].hex(), name)


def shown_author(document: dict[str, Any], author: dict[str, Any] | None
                 ) -> dict[str, Any] | None:
    """Who a post or comment shows as its author."""
    if document.get("anonymous") and document.get("pseudonym"):
        return stand_in(document["pseudonym"])
    return author


def actor(document: dict[str, Any], author: dict[str, Any]) -> dict[str, Any]:
    """The author as notifications record them: the stand-in's id and name for anonymous
    content (the real `_id` stays for the blocks, mutes and self checks of delivery)."""
    if document.get("anonymous") and document.get("pseudonym"):
        return {**author, "shown_as": stand_in(document["pseudonym"])}
    return author


def fields_for(user: dict[str, Any], topic: dict[str, Any], anonymous: bool
               ) -> dict[str, Any]:
    """What a new post or comment stores about its anonymity; Forbidden where the topic
    does not allow it."""
    if not anonymous:
        return {"anonymous": False}
    if not topic.get("allow_anonymous"):
        raise Forbidden("This topic does not allow anonymous posts.")
    return {"anonymous": True, "pseudonym": pseudonym(topic["_id"], user["_id"])}


def resolve(user: dict[str, Any], topic_id: Any, name: str) -> dict[str, Any]:
    """The account behind a pseudonym used in the topic (its moderators, site staff)."""
    topic = require_moderator(user, topic_id)
    author_id = None
    if len(name) <= MAX_NAME:
        author_id = (Post().author_of_pseudonym(topic["_id"], name)
                     or Comment().author_of_pseudonym(topic["_id"], name))
    author = User().find_by_id(author_id) if author_id else None
    if author is None:
        raise NotFound("Pseudonym not found.")
    audit_service.record_moderation(user, "resolve_pseudonym", topic["_id"], "user",
                                    author["_id"], name)
    return {"pseudonym": name, "user": author}
