"""What the whole-suite query check (tests/query_plugin.py) lets through, each with its
reason: collections that do not grow with use, the deliberate scans of collections that
do, and the queries on a sharded collection that go to every shard."""
from __future__ import annotations

from models.registry import ALL_MODELS
from models.sharding import SHARD_KEYS
from tests.query_shapes import EQUAL, Filter, Finding, Shape

# {collection: why it stays small}. Its queries need no index.
BOUNDED: dict[str, str] = {}

# {collection no model owns: the test that fills it}. A test's own documents read through
# a project utility (the recorder counts the utility's query as the project's).
TEST_ONLY: dict[str, str] = {
    "items": "tests/test_pagination.py pages its few documents with utils/pagination.py",
}

BASE = "models/base.py:BaseModel."
STATS = ("admin statistics (services/admin/stats_service.py): a whole-collection count or "
         "a 14-day series, computed at most once per ADMIN_STATS_CACHE_SECONDS for all "
         "processes (utils.cache)")
SEED_CLEAR = ("`flask seed --clear` empties the collection: development and testing only "
              "(services/admin/seed.py refuses any other configuration)")
EXPORT = ("account export (a queued job, one per user per EXPORT_INTERVAL_HOURS): the "
          "user's index bounds the read to their own documents; only the oldest-first "
          "order is sorted in memory")
ERASURE = ("account deletion with its content removed (rare, once per account): an "
           "author's documents lie in every partition")

# {(collection, origin): why a scan is right there}. Origin as the check prints it.
SEARCH = ("search candidates: the term index bounds the read to documents holding a matching "
          "term; a prefix term is a range, so the newest-first order of those is sorted in "
          "memory, up to the limit")
SCANS: dict[tuple[str, str], str] = {
    **{(model.collection_name, BASE + "delete_all"): SEED_CLEAR for model in ALL_MODELS},
    **{(name, BASE + "_count"): STATS for name in ("posts", "comments", "messages")},
    **{(name, BASE + "created_per_day"): STATS
       for name in ("topics", "posts", "comments", "messages")},
    ("users", "models/user.py:User.count_live"): STATS,
    **{(name, BASE + "for_export"): EXPORT
       for name in ("drafts", "saved_items", "scheduled_messages", "thread_follows", "votes")},
    ("edit_versions", "models/edit_version.py:EditVersion.page_of"):
        "one item's earlier versions: the unique (item_type, item_id, version) index bounds "
        "the read to them; version is unique among them, the _id tie-break sorts in memory",
    ("notifications", "models/notification.py:Notification.naming"):
        "account deletion (once per account): the notifications that copied the name; three "
        "indexes for it would cost every notification write",
    ("rooms", "models/room.py:Room.erase_last_messages_by"):
        "account deletion with its content removed (once per account): an index on the last "
        "message's author would change with every message sent",
    ("scheduled_messages", "models/scheduled_message.py:ScheduledMessage.claim_due"):
        "the every-minute job walks the (send_at, _id) index over due items only; sent items "
        "are deleted, so the claimed_at filter skips only the few claimed in flight",
    ("messages", "models/mixins.py:Searchable.search_candidates"): SEARCH,
    ("posts", "models/mixins.py:Searchable.search_candidates"): SEARCH,
    ("topics", "models/mixins.py:Searchable.search_candidates"): SEARCH,
    ("users", "models/user.py:User.search_page"):
        "people search by name prefix: two prefix ranges (username, display name) merged in "
        "username order in memory, up to the limit",
}

# {(collection, origin): why this query may ask every shard}.
SCATTER_GATHER: dict[tuple[str, str], str] = {
    **{(name, BASE + method): reason
       for name in ("posts", "comments", "messages")
       for method, reason in (
           ("_count", STATS), ("created_per_day", STATS), ("delete_all", SEED_CLEAR),
           ("for_export", "account export (a queued job, one per user per "
                          "EXPORT_INTERVAL_HOURS): an author's documents lie in every "
                          "partition; each shard reads its author index"),
           ("count_per", "the admin user list's content counts for one page of users: each "
                         "shard counts on its author index"))},
    ("notifications", BASE + "delete_all"): SEED_CLEAR,
    **{(name, origin): ERASURE for name, origin in (
        ("posts", "models/post.py:Post.erase_by_author"),
        ("posts", "models/post.py:Post.topic_ids_by_author.<locals>.<setcomp>"),
        ("comments", "models/comment.py:Comment.erase_by_author"),
        ("comments", "models/comment.py:Comment.live_counts_by_author.<locals>.<genexpr>"),
        ("messages", "models/message.py:Message.erase_by_author"))},
    ("messages", "models/message.py:Message.call_starts_by"):
        "account deletion (once per account): its call-start messages, in any room",
    ("notifications", "models/notification.py:Notification.naming"):
        "account deletion (once per account): other users' notifications naming it",
    ("messages", "models/message.py:Message.without_search_terms"):
        "`flask reindex-messages`, run by hand once after upgrading to message search",
    ("notifications", "models/notification.py:Notification.mail_due"):
        "the every-minute mail job: pending mail of every user, batches of SWEEP_BATCH on "
        "each shard's mail_due index",
    ("comments", "models/comment.py:Comment.author_of_pseudonym"):
        "a moderator unmasking a pseudonym (audited): a pseudonym is per topic, whose "
        "comments span its posts; each shard reads its partial pseudonym index",
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
