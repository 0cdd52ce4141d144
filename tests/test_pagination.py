"""Keyset pagination: opaque signed cursors, stable while new items arrive; a forged,
tampered or mistyped cursor is refused (the endpoints: test_pagination_endpoints.py)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from bson import ObjectId, Regex

from utils.errors import ValidationFailed
from utils.pagination import cursor_serializer, decode_cursor, encode_cursor, paginate

BASE = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def context(app):
    """Cursors are signed with the app's SECRET_KEY: the unit tests run in its context."""
    with app.app_context():
        yield


def seed(db, count):
    db.items.insert_many([{"n": i, "created_at": BASE + timedelta(minutes=i // 3)}
                          for i in range(count)])


def walk(db, limit, on_each_page=None):
    seen, cursor = [], None
    sort = [("created_at", -1), ("_id", -1)]
    while True:
        documents, cursor = paginate(db.items, {}, sort, limit, cursor)
        seen.extend(d["n"] for d in documents)
        if on_each_page:
            on_each_page()
        if cursor is None:
            return seen


def test_pages_cover_everything_once_with_ties(db):
    seed(db, 25)
    seen = walk(db, limit=4)
    assert sorted(seen) == list(range(25))
    assert len(seen) == len(set(seen))


def test_stable_while_new_items_are_inserted(db):
    seed(db, 20)
    inserted = iter(range(100, 200))

    def insert_newer():
        n = next(inserted)
        db.items.insert_one({"n": n, "created_at": BASE + timedelta(days=1, minutes=n)})

    seen = walk(db, limit=3, on_each_page=insert_newer)
    # Newer items land before the first page: no duplicates and no skips among the old.
    assert sorted(seen) == list(range(20))


def test_last_page_has_no_cursor(db):
    seed(db, 4)
    documents, cursor = paginate(db.items, {}, [("_id", 1)], 4, None)
    assert len(documents) == 4 and cursor is None


def test_cursor_is_opaque_and_round_trips_types(db):
    seed(db, 1)
    document = db.items.find_one()
    cursor = encode_cursor([document["created_at"], document["_id"]])
    assert "created_at" not in cursor
    assert decode_cursor(cursor, [datetime, ObjectId]) == [document["created_at"],
                                                          document["_id"]]


@pytest.mark.parametrize("bad", ["not-a-cursor", "e30", "W10", "%%%%", "A" * 7])
def test_bad_cursor_is_a_validation_error(bad):
    with pytest.raises(ValidationFailed) as info:
        decode_cursor(bad, [datetime, ObjectId])
    assert "cursor" in info.value.details


def test_unsigned_and_tampered_cursors_are_refused():
    import base64

    values = [BASE, ObjectId()]
    signed = encode_cursor(values)
    payload, signature = signed.rsplit(".", 1)
    other = encode_cursor([BASE + timedelta(days=1), values[1]]).rsplit(".", 1)[0]
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    # What main used to accept: base64 of Extended JSON, unsigned.
    unsigned = base64.urlsafe_b64encode(json.dumps(
        [{"$date": "2026-01-01T00:00:00Z"}, {"$oid": str(values[1])}]).encode()).decode()
    for bad in (payload, f"{payload}.{flipped}", f"{other}.{signature}", unsigned,
                signed + "x"):
        with pytest.raises(ValidationFailed):
            decode_cursor(bad, [datetime, ObjectId])
    assert decode_cursor(signed, [datetime, ObjectId]) == values


@pytest.mark.parametrize("values", [
    [{"$regularExpression": {"pattern": "(a+)+$", "options": ""}}, ObjectId()],
    [Regex("(a+)+$"), ObjectId()],
    [{"$gt": ""}, ObjectId()],
    [{"$foo": 1}, ObjectId()],
    [BASE, {"$ne": None}],
    [BASE, str(ObjectId())],
    ["2026-01-01T00:00:00Z", ObjectId()],
    [BASE, ObjectId(), ObjectId()],
    [BASE],
    {"created_at": BASE},
])
def test_signed_cursor_of_the_wrong_shape_is_refused(values):
    """Even with a valid signature (say a leaked key), values must have the sort's types."""
    with pytest.raises(ValidationFailed):
        decode_cursor(cursor_serializer().dumps(values), [datetime, ObjectId])


@pytest.mark.parametrize(("kind", "good", "bad"), [
    (int, 3, [True, 3.5, "3", None]),
    (float, 2.5, [False, "2.5", None]),
    (bool, True, [1, 0, "true", None]),
    (str, "ada", ["x" * 201, 1, None, ["ada"]]),
])
def test_scalar_kinds_are_checked(kind, good, bad):
    assert decode_cursor(encode_cursor([good]), [kind]) == [good]
    for value in bad:
        with pytest.raises(ValidationFailed):
            decode_cursor(encode_cursor([value]), [kind])


def test_a_sort_field_without_a_cursor_type_is_a_programming_error(db):
    with pytest.raises(ValueError, match="CURSOR_FIELDS"):
        paginate(db.items, {}, [("secret_field", 1), ("_id", 1)], 10)


def test_sort_must_end_with_id(db):
    with pytest.raises(ValueError):
        paginate(db.items, {}, [("created_at", -1)], 10)


def test_flat_queries_page_by_branch_like_the_or_filter(db):
    """A flat query is paged one flat query per cursor branch (what SecantusDB can serve
    from an index); the pages must be exactly those of the `$or` form."""
    db.items.insert_many([{"t": i % 2, "pinned": i % 7 == 0, "score": i // 4}
                          for i in range(60)])
    sort = [("pinned", -1), ("score", -1), ("_id", -1)]

    def pages(query):
        seen, cursor = [], None
        while True:
            documents, cursor = paginate(db.items, query, sort, 4, cursor)
            seen.append([d["_id"] for d in documents])
            if cursor is None:
                return seen

    flat, combined = pages({"t": 1}), pages({"$and": [{"t": 1}]})
    expected = [d["_id"] for d in sorted(db.items.find({"t": 1}), reverse=True,
                                         key=lambda d: (d["pinned"], d["score"], d["_id"]))]
    assert flat == combined and [i for page in flat for i in page] == expected
