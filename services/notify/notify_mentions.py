"""`@username` mentions: found in one linear pass, at most NOTIFY_MAX_MENTIONS names per
text, and notified only to people who may read where they were mentioned.

The pattern has no nested or overlapping repetition (an `@`, then one greedy run of
ASCII word characters), so the scan is linear in the text, whatever the input.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from bson import ObjectId
from flask import current_app

from models.user import User
from services.notify import notify_core

MENTION = re.compile(r"(?<![\w@])@(\w+)", re.ASCII)
NAME_LENGTH = (3, 32)  # services/accounts/auth_signup.py USERNAME_PATTERN


def mentioned_names(text: str, limit: int, exclude: str = "") -> list[str]:
    """The first `limit` distinct names mentioned (lowercased), `exclude` left out."""
    names: list[str] = []
    exclude = exclude.lower()
    for match in MENTION.finditer(text):
        name = match.group(1).lower()
        if (NAME_LENGTH[0] <= len(name) <= NAME_LENGTH[1] and name != exclude
                and name not in names):
            names.append(name)
            if len(names) >= limit:
                break
    return names


def notify_mentions(author: dict[str, Any], texts: Iterable[str],
                    can_read: Callable[[dict[str, Any]], bool], data: dict[str, Any],
                    subject: str, sources: dict[str, Any],
                    skip: set[ObjectId] | frozenset = frozenset(),
                    before: Iterable[str] = ()) -> set[ObjectId]:
    """Notify the people mentioned in `texts` (a title and a body count as one text)
    who may read it and were not addressed already (`skip`). Returns everyone addressed,
    told or not (a muted or switched-off mention is not told again another way).
    After an edit, `before` holds the old texts: only names they did not mention count."""
    limit = current_app.config["NOTIFY_MAX_MENTIONS"]
    names = mentioned_names("\n".join(texts), limit, exclude=author["username"])
    old = set(mentioned_names("\n".join(before), limit, exclude=author["username"]))
    names = [name for name in names if name not in old]
    told: set[ObjectId] = set()
    for user in User().find_by_usernames(names) if names else []:
        if user["_id"] in skip or user["_id"] == author["_id"] or not can_read(user):
            continue
        notify_core.deliver(user["_id"], "mention", data, actor=author, subject=subject,
                            sources=sources)
        told.add(user["_id"])
    return told
