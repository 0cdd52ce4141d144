"""The shard key of each collection that grows with use: what a sharded MongoDB cluster
would split it on (docs/OPERATIONS.md "Sharding" prints this table; a test keeps the two
equal). Every query on one of these collections names its key's first field by equality
or `$in`, so mongos sends it to the shards holding those values; the few that cannot are
listed, with the reason, in tests/query_rules.py SCATTER_GATHER."""
from __future__ import annotations

from typing import NamedTuple


class ShardKey(NamedTuple):
    key: tuple[str, ...]
    why: str


SHARD_KEYS: dict[str, ShardKey] = {
    "messages": ShardKey(("room_id", "seq"),
                         "a room's history, catch-up and unread counts are seq ranges of one "
                         "room: one shard; seq lets a busy room's chunks split; both unique "
                         "indexes start with room_id"),
    "posts": ShardKey(("topic_id", "_id"),
                      "a topic's pages (hot, new, top) stay on one shard; _id splits a big "
                      "topic"),
    "comments": ShardKey(("post_id", "_id"),
                         "a post's comment pages and reply trees read one post's comments"),
    "notifications": ShardKey(("user_id", "_id"),
                              "every read is one user's list or count; the coalescing upsert "
                              "names its user"),
}
