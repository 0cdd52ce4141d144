"""Keyset pagination with opaque, signed cursors.

A cursor holds the sort values of the last item served, so the next page starts strictly
after it: items inserted meanwhile never shift a page (no duplicates, no skips), unlike
skip/offset. Every sort must end with `_id` so that ties are broken the same way each time.

The values reach the database query, so a cursor is signed with a key derived from
SECRET_KEY (itsdangerous, salted for this use only) and every decoded value must have the
type its sort field holds (`CURSOR_FIELDS`): a forged, tampered or mistyped cursor is a
400 `validation_error`, never an operator in a filter.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

from bson import ObjectId, json_util
from flask import current_app
from itsdangerous import BadData, URLSafeSerializer
from pymongo.collection import Collection

from utils.errors import ValidationFailed

Sort = list[tuple[str, int]]
# Canonical Extended JSON keeps ObjectId and datetime types; times come back tz-aware UTC.
CURSOR_JSON = json_util.CANONICAL_JSON_OPTIONS.with_options(tz_aware=True, tzinfo=timezone.utc)
CURSOR_SALT = "roundtable.pagination-cursor"
# The longest text a cursor may carry (a sort on usernames; they are far shorter).
MAX_CURSOR_TEXT = 200

# What each field a list is sorted on holds (every document has it, never null): a cursor
# value of another type is refused. A new sort field must be added here (paginate refuses
# a sort naming an unknown one).
CURSOR_FIELDS: dict[str, type] = {
    "_id": ObjectId,
    "created_at": datetime, "at": datetime, "activity_at": datetime,
    "last_activity_at": datetime, "updated_at": datetime, "send_at": datetime,
    "score": int, "member_count": int, "hot_rank": float, "pinned": bool,
    "seq": int, "has_unread": bool, "last_reply_at": datetime,
    "username_lower": str,
    "version": int,  # an item's earlier versions (models/edit_version.py)
}


class _ExtendedJSON:
    """itsdangerous' payload serializer: BSON's Extended JSON instead of plain JSON."""

    @staticmethod
    def dumps(value: Any) -> str:
        return json_util.dumps(value, json_options=CURSOR_JSON)

    @staticmethod
    def loads(text: str) -> Any:
        return json_util.loads(text, json_options=CURSOR_JSON)


def cursor_serializer() -> URLSafeSerializer:
    config = current_app.config
    # Oldest first, the current key last: it signs, the fallbacks still verify.
    keys = [*(config.get("SECRET_KEY_FALLBACKS") or []), config["SECRET_KEY"]]
    return URLSafeSerializer(keys, salt=CURSOR_SALT, serializer=_ExtendedJSON,
                             signer_kwargs={"digest_method": hashlib.sha256})


def _invalid_cursor() -> ValidationFailed:
    return ValidationFailed("The cursor is invalid or expired.", {"cursor": ["Invalid cursor."]})


def _has_kind(value: Any, kind: type) -> bool:
    if isinstance(value, bool) or kind is bool:
        return isinstance(value, bool) and kind is bool  # bool is an int to Python
    if kind is float:
        return isinstance(value, (int, float))
    if kind is str:
        return isinstance(value, str) and len(value) <= MAX_CURSOR_TEXT
    return isinstance(value, kind)


def encode_cursor(values: list[Any]) -> str:
    return cursor_serializer().dumps(values)


def decode_cursor(cursor: str, kinds: Sequence[type]) -> list[Any]:
    """The values of a cursor this server signed, each of the kind given for its place;
    ValidationFailed for anything else."""
    try:
        values = cursor_serializer().loads(cursor)
    except BadData:
        raise _invalid_cursor() from None
    if not isinstance(values, list) or len(values) != len(kinds) or not all(
            _has_kind(value, kind) for value, kind in zip(values, kinds, strict=True)):
        raise _invalid_cursor()
    return values


def cursor_kinds(sort: Sort) -> list[type]:
    unknown = [field for field, _ in sort if field not in CURSOR_FIELDS]
    if unknown:
        raise ValueError(f"no cursor type for sort field(s) {unknown}: add to CURSOR_FIELDS")
    return [CURSOR_FIELDS[field] for field, _ in sort]


def _value_at(document: dict[str, Any], path: str) -> Any:
    value: Any = document
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def after_branches(sort: Sort, values: list[Any]) -> list[dict[str, Any]]:
    """"Strictly after `values` in `sort` order" as disjoint flat filters, the first
    (equal on every field but the last) first: every match of one comes before every
    match of the next in `sort` order."""
    branches = []
    for index, (field, direction) in enumerate(sort):
        branch = {sort[j][0]: values[j] for j in range(index)}
        branch[field] = {"$gt" if direction > 0 else "$lt": values[index]}
        branches.append(branch)
    return branches[::-1]


def after_cursor(sort: Sort, values: list[Any]) -> dict[str, Any]:
    """The filter for "strictly after `values` in `sort` order"."""
    return {"$or": after_branches(sort, values)}


def _flat(query: dict[str, Any], sort: Sort) -> bool:
    """A query of plain field conditions that names no sort field: it merges with each
    branch of `after_branches` into one flat filter."""
    return not any(key.startswith("$") or key in dict(sort) for key in query)


def paginate(collection: Collection, query: dict[str, Any], sort: Sort, limit: int,
             cursor: str | None = None, projection: dict[str, Any] | None = None,
             ) -> tuple[list[dict[str, Any]], str | None]:
    """One page of `query` in `sort` order, and the cursor of the next page (or None)."""
    if not sort or sort[-1][0] != "_id":
        raise ValueError("a paginated sort must end with _id")
    kinds = cursor_kinds(sort)
    values = decode_cursor(cursor, kinds) if cursor else None
    if values is not None and _flat(query, sort):
        # One query per branch rather than one `$or`: SecantusDB uses an index only
        # for a flat filter (it scanned the whole collection for the `$or`, 0.5 s for
        # 20,000 posts) and MongoDB serves each branch with one index range too.
        documents: list[dict[str, Any]] = []
        for branch in after_branches(sort, values):
            documents += collection.find({**query, **branch}, projection).sort(sort).limit(
                limit + 1 - len(documents))
            if len(documents) > limit:
                break
    else:
        if values is not None:
            query = {"$and": [query, after_cursor(sort, values)]}
        documents = list(collection.find(query, projection).sort(sort).limit(limit + 1))
    has_more = len(documents) > limit
    documents = documents[:limit]
    next_cursor = None
    if has_more and documents:
        next_cursor = encode_cursor([_value_at(documents[-1], field) for field, _ in sort])
    return documents, next_cursor


def page(documents: list[dict[str, Any]], next_cursor: str | None,
         serialize: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    """The contract's list shape."""
    return {"items": [serialize(document) for document in documents], "next_cursor": next_cursor}
