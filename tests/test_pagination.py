"""Keyset pagination: opaque cursors, stable while new items arrive."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from utils.errors import ValidationFailed
from utils.pagination import decode_cursor, encode_cursor, paginate

BASE = datetime(2026, 1, 1, tzinfo=timezone.utc)


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
    assert decode_cursor(cursor, 2) == [document["created_at"], document["_id"]]


@pytest.mark.parametrize("bad", ["not-a-cursor", "e30", "W10", "%%%%", "A" * 7])
def test_bad_cursor_is_a_validation_error(bad):
    with pytest.raises(ValidationFailed) as info:
        decode_cursor(bad, 2)
    assert "cursor" in info.value.details


def test_sort_must_end_with_id(db):
    with pytest.raises(ValueError):
        paginate(db.items, {}, [("created_at", -1)], 10)


def test_flat_queries_page_by_branch_like_the_or_filter(db):
    """A flat query is paged one flat query per cursor branch (what SecantusDB can serve
    from an index); the pages must be exactly those of the `$or` form."""
    db.items.insert_many([{"t": i % 2, "pinned": i % 7 == 0, "rank": i // 4}
                          for i in range(60)])
    sort = [("pinned", -1), ("rank", -1), ("_id", -1)]

    def pages(query):
        seen, cursor = [], None
        while True:
            documents, cursor = paginate(db.items, query, sort, 4, cursor)
            seen.append([d["_id"] for d in documents])
            if cursor is None:
                return seen

    flat, combined = pages({"t": 1}), pages({"$and": [{"t": 1}]})
    expected = [d["_id"] for d in sorted(db.items.find({"t": 1}), reverse=True,
                                         key=lambda d: (d["pinned"], d["rank"], d["_id"]))]
    assert flat == combined and [i for page in flat for i in page] == expected
