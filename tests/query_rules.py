"""What the whole-suite query check (tests/query_plugin.py) lets through, each with its
reason: collections that do not grow with use, the deliberate scans of collections that
do, and the queries on a sharded collection that go to every shard."""
from __future__ import annotations

from models.sharding import SHARD_KEYS
from tests.query_shapes import EQUAL, Filter, Finding, Shape

# {collection: why it stays small}. Its queries need no index.
BOUNDED: dict[str, str] = {}

# {(collection, origin): why a scan is right there}. Origin as the check prints it.
SCANS: dict[tuple[str, str], str] = {}

# {(collection, origin): why this query may ask every shard}.
SCATTER_GATHER: dict[tuple[str, str], str] = {}


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
        if shard is None or (shape.collection, origin) in SCATTER_GATHER:
            continue
        if not _has_key(shape.filter, shard.key[0]):
            found.append(Finding(shape, origin, test))
    return found
