"""The whole-suite query check (tests/query_plugin.py) itself: the recorder keeps the
shapes of the queries the project's code sends, and the checker fails on a query no
declared index serves by MongoDB's rules, on a sort the index does not give, and on a query
of a sharded collection that misses its shard key."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from bson import ObjectId
from pymongo import ASCENDING, IndexModel, MongoClient

from models.message import Message
from models.registry import ALL_MODELS
from models.sharding import SHARD_KEYS
from tests import query_plugin, query_rules
from tests.query_shapes import (
    ID_INDEX,
    Index,
    ShapeRecorder,
    command_shapes,
    declared_indexes,
    served_by,
    unserved,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def recorded(mongo_server):
    """A recorder on a client of its own, and that client's database."""
    recorder = ShapeRecorder()
    client = MongoClient(mongo_server.uri, tz_aware=True, event_listeners=[recorder])
    yield recorder, client["query_check_proof"]
    client.drop_database("query_check_proof")
    client.close()


def _find(filter_, sort=None, collection="things"):
    command = {"find": collection, "filter": filter_}
    if sort:
        command["sort"] = dict(sort)
    return command_shapes("find", command)[0]


def _index(*keys, unique=False, sparse=False):
    return Index("i", tuple(keys), unique, sparse)


def test_recorder_keeps_model_queries_by_shape_and_origin(recorded):
    recorder, database = recorded
    recorder.test = "the proof"
    room = ObjectId()
    Message(database).page_before(room, 40, 10, 0)
    Message(database).page_before(ObjectId(), 7, 3, 0)  # the same shape: one entry
    database.messages.find_one({"body": "written by the test"})  # a test's own: left out

    (shape, origin), = recorder.seen
    assert origin == "models/message.py:Message.page_before"
    assert shape.describe() == "find messages {room_id:eq, seq:range} sort seq:-1"
    assert recorder.seen[(shape, origin)] == "the proof"


def test_check_fails_on_an_unindexed_query_and_passes_once_indexed(recorded):
    recorder, database = recorded
    # The proof's query: a room's messages by one author, newest first.
    Message(database).page_before(ObjectId(), 40, 10, 0)

    class Unindexed(Message):
        indexes = [IndexModel([("room_id", ASCENDING), ("author_id", ASCENDING)])]

    (finding,) = unserved(recorder.seen, [Unindexed], {}, {})
    assert finding.origin == "models/message.py:Message.page_before"
    assert finding.line().splitlines() == [
        "  find messages {room_id:eq, seq:range} sort seq:-1",
        "      from models/message.py:Message.page_before, first in (outside a test)"]
    assert unserved(recorder.seen, [Message], {}, {}) == []
    # Allowed as a bounded collection, or as a listed scan of that one method.
    assert unserved(recorder.seen, [Unindexed], {"messages": "why"}, {}) == []
    assert unserved(recorder.seen, [Unindexed], {},
                    {("messages", "models/message.py:Message.page_before"): "why"}) == []


def test_a_sort_the_index_does_not_give_is_caught():
    shape = _find({"room_id": 1}, [("seq", -1), ("_id", -1)])
    assert served_by(shape, [_index(("room_id", 1), ("seq", -1), ("_id", -1))])
    assert served_by(shape, [_index(("room_id", 1), ("seq", 1), ("_id", 1))])  # reversed
    assert not served_by(shape, [_index(("room_id", 1), ("seq", 1), ("_id", -1))])  # mixed
    assert not served_by(shape, [_index(("room_id", 1), ("_id", -1), ("seq", -1))])
    assert not served_by(shape, [_index(("room_id", 1), ("author_id", 1), ("seq", -1))])
    # A sort on an equality field costs nothing: (room_id, seq) serves room_id, sort room_id.
    assert served_by(_find({"room_id": 1}, [("room_id", 1), ("seq", 1)]),
                     [_index(("room_id", 1), ("seq", 1))])


def test_esr_equality_then_sort_then_range():
    index = _index(("topic_id", 1), ("created_at", -1))
    assert served_by(_find({"topic_id": 1, "created_at": {"$lt": 5}}, [("created_at", -1)]),
                     [index])
    assert served_by(_find({"topic_id": {"$in": [1, 2]}}), [index])
    assert served_by(_find({"topic_id": 1, "deleted": False}), [index])  # prefix + filter
    # Range first, the equality behind it: the whole range is read.
    assert not served_by(_find({"topic_id": 1, "created_at": {"$gt": 1}}),
                         [_index(("created_at", 1), ("topic_id", 1))])
    # An equality the index does not start with.
    assert not served_by(_find({"author_id": 1}), [index])
    # No filter, no sort, no limit: a collection scan.
    assert not served_by(_find({}), [index])
    assert served_by(_find({}, [("topic_id", 1)]), [index])
    assert served_by(_find({"created_at": {"$gte": 1}}), [_index(("created_at", 1))])


def test_point_lookups_sparse_indexes_and_or_branches():
    assert served_by(_find({"_id": 1, "owner": 2}), [ID_INDEX])
    assert served_by(_find({"_id": {"$in": [1, 2]}}), [ID_INDEX])
    assert not served_by(_find({"_id": {"$gt": 1}, "owner": 2}), [ID_INDEX])
    sparse = _index(("claim", 1), sparse=True)
    assert served_by(_find({"claim": 3}), [sparse])
    assert not served_by(_find({"claim": None}), [sparse])  # missing keys are not in it
    either = _find({"$or": [{"a": 1}, {"b": 2}]})
    assert not served_by(either, [_index(("a", 1))])
    assert served_by(either, [_index(("a", 1)), _index(("b", 1))])


def test_aggregate_update_delete_and_lookup_shapes():
    pipeline = [{"$match": {"room_id": 1, "seq": {"$gt": 2}}}, {"$sort": {"seq": 1}},
                {"$lookup": {"from": "users", "localField": "author_id",
                             "foreignField": "_id", "as": "author"}}]
    shapes = command_shapes("aggregate", {"aggregate": "messages", "pipeline": pipeline})
    assert [s.describe() for s in shapes] == [
        "aggregate messages {room_id:eq, seq:range} sort seq:1",
        "lookup users {_id:eq}"]
    updates = command_shapes("update", {"update": "posts", "updates": [
        {"q": {"topic_id": 1}, "u": {}}, {"q": {"_id": 2, "deleted": False}, "u": {}}]})
    assert [s.describe() for s in updates] == ["update posts {topic_id:eq}",
                                               "update posts {_id:eq, deleted:eq}"]
    delete = command_shapes("delete", {"delete": "votes", "deletes": [
        {"q": {"user_id": {"$in": [1]}, "at": {"$lt": 3}}, "limit": 0}]})
    assert delete[0].describe() == "delete votes {at:range, user_id:in}"
    # An unfiltered count is metadata, not a scan.
    assert command_shapes("count", {"count": "posts", "query": {}}) == []


def test_missing_shard_key_is_reported_unless_listed():
    sharded = next(iter(SHARD_KEYS))
    field = SHARD_KEYS[sharded].key[0]
    seen = {(_find({field: 1}, collection=sharded), "models/x.py:X.a"): "t1",
            (_find({field: {"$in": [1]}}, collection=sharded), "models/x.py:X.b"): "t2",
            (_find({"$or": [{field: 1}, {field: 2}]}, collection=sharded),
             "models/x.py:X.c"): "t3",
            (_find({"_id": 1}, collection=sharded), "models/x.py:X.e"): "by id",
            (_find({"author_id": 1}, collection=sharded), "models/x.py:X.d"): "t4"}
    (finding,) = query_rules.scatter_gathers(seen)
    assert (finding.origin, finding.test) == ("models/x.py:X.d", "t4")


def test_every_listed_exception_names_a_real_collection_and_method():
    collections = {model.collection_name for model in ALL_MODELS}
    assert set(query_rules.BOUNDED) <= collections
    assert not set(query_rules.TEST_ONLY) & collections
    for collection, origin in [*query_rules.SCANS, *query_rules.SCATTER_GATHER]:
        assert collection in collections, collection
        path, qualname = origin.split(":")
        method = [part for part in qualname.split(".") if not part.startswith("<")][-1]
        assert re.search(rf"def {method}\b", (ROOT / path).read_text()), origin
    assert all(reason for reason in [*query_rules.BOUNDED.values(), *query_rules.SCANS.values(),
                                     *query_rules.SCATTER_GATHER.values()])
    assert set(SHARD_KEYS) <= collections
    assert not set(SHARD_KEYS) & set(query_rules.BOUNDED)


def test_every_declared_index_is_read_by_the_checker():
    indexes = declared_indexes(ALL_MODELS)
    assert sum(len(found) - 1 for found in indexes.values()) == sum(
        len(model.indexes) for model in ALL_MODELS)
    message = {index.name: index for index in indexes["messages"]}
    assert message["room_seq_unique"].keys == (("room_id", ASCENDING), ("seq", ASCENDING))
    assert message["room_seq_unique"].unique


def test_operations_sharding_table_is_the_code_table():
    text = (ROOT / "docs" / "OPERATIONS.md").read_text()
    section = text.split("\n## Sharding\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| `([^`]+)` \|", section, flags=re.MULTILINE)
    assert {name: tuple(key.split(", ")) for name, key in rows} == {
        name: shard.key for name, shard in SHARD_KEYS.items()}


def test_the_run_fails_on_a_new_unindexed_query():
    new = _find({"body": "hello"}, collection="messages")
    report = query_plugin.report({(new, "models/message.py:Message.by_body"): "tests/t.py::t"})
    assert "\n".join(report).splitlines() == [
        "1 query shape(s) no declared index serves (docs/OPERATIONS.md, 'Every query on an "
        "index'):",
        "  find messages {body:eq}",
        "      from models/message.py:Message.by_body, first in tests/t.py::t",
        "1 query shape(s) on a sharded collection without its shard key (docs/OPERATIONS.md, "
        "'Sharding'):",
        "  find messages {body:eq}",
        "      from models/message.py:Message.by_body, first in tests/t.py::t"]
