"""What the whole-suite query check (tests/query_plugin.py) lets through, each with its
reason: collections that do not grow with use, the deliberate scans of collections that
do, and the queries on a sharded collection that go to every shard."""
from __future__ import annotations

from models.sharding import SHARD_KEYS
from tests.query_shapes import EQUAL, Filter, Finding, Shape

# {collection: why it stays small}. Its queries need no index.
BOUNDED: dict[str, str] = {}

# {(collection, origin): why a scan is right there}. Origin as the check prints it.
SEARCH = ("search candidates: the term index bounds the read to documents holding a matching "
          "term; a prefix term is a range, so the newest-first order of those is sorted in "
          "memory, up to the limit")
SCANS: dict[tuple[str, str], str] = {
    ("posts", "models/mixins.py:Searchable.search_candidates"): SEARCH,
    ("topics", "models/mixins.py:Searchable.search_candidates"): SEARCH,
    ("users", "models/user.py:User.search_page"):
        "people search by name prefix: two prefix ranges (username, display name) merged in "
        "username order in memory, up to the limit",
}

# {(collection, origin): why this query may ask every shard}.
SCATTER_GATHER: dict[tuple[str, str], str] = {
    ("posts", "models/post.py:Post.front_page"):
        "the front page spans every public topic by nature; cached per audience, and mongos "
        "merges each shard's index order up to the page size",
    ("posts", "models/mixins.py:Searchable.search_candidates"):
        "search spans every topic the reader may read; bounded by its limit",
    ("notifications", "models/notification.py:Notification.ensure_indexes"):
        "once per process start: rows stored before coalescing (none after the first run)",
}

# Any query naming `_id` by equality or $in: the client names only the document (a message
# to edit, a post to open). One point read on each shard's `_id` index, in parallel: its
# cost grows with the number of shards, not with the data.
BY_ID = "a point read by _id on each shard"


def _has_key(flt: Filter, field: str) -> bool:
    """Every way through `flt` names `field` by equality or $in."""
    if dict(flt.fields).get(field) in EQUAL - {"null"}:
        return True
    return any(all(_has_key(branch, field) for branch in group) for group in flt.ors)


def scatter_gathers(seen: dict[tuple[Shape, str], str]) -> list[Finding]:
    """The recorded queries on a sharded collection that do not name its shard key's first
    field (nor its `_id`-less point lookup) and are not listed in SCATTER_GATHER."""
    found = []
    for (shape, origin), test in sorted(seen.items(), key=lambda item: item[0][0].describe()):
        shard = SHARD_KEYS.get(shape.collection)
        if shard is None or (shape.collection, origin) in SCATTER_GATHER or _has_key(
                shape.filter, "_id"):
            continue
        if not _has_key(shape.filter, shard.key[0]):
            found.append(Finding(shape, origin, test))
    return found
