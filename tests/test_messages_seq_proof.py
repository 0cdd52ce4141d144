"""A message's seq is proved by the room's conditional advance, not trusted from the
next-seq guess (issue 25). After a database restored under a running server the guess
(Redis's `rt:roomseq:<room>` with a message queue, the process's memory without one)
still holds a seq from after the dump: the send misses the room's move, takes its
message back and retries after the room's true last seq (services/chat/chat_seq.py). With
two real processes: tests/test_messaging_e2e.py."""
from __future__ import annotations

import pytest
import redis
from bson import ObjectId
from redis.exceptions import RedisError

from models.message import Message
from services.chat import chat_seq
from tests.chat_helpers import dump_room, restore_room, stored_elsewhere
from tests.topic_helpers import Person, send_message


@pytest.mark.parametrize("queue", [True, False], ids=["redis-queue", "one-process"])
def test_a_restore_under_a_running_server_leaves_no_gap(app, db, redis_url, queue):
    if queue:  # several processes: the guess lives in Redis beside the room's lock
        app.config["SOCKETIO_MESSAGE_QUEUE"] = redis_url
    client = app.test_client()
    alice, bob = Person(client, "alice"), Person(client, "bob")
    room_id = alice.post("/api/messages/direct", {"user_id": bob.id}).get_json()["id"]
    room = ObjectId(room_id)
    for n in (1, 2):
        assert send_message(alice, room_id, "before", f"a{n}")["seq"] == n
    saved = dump_room(db, room)
    for n in (3, 4, 5):
        assert send_message(alice, room_id, "lost", f"a{n}")["seq"] == n
    if queue:
        assert redis.Redis.from_url(redis_url).get(f"rt:roomseq:{room_id}") == b"5"
    restore_room(db, saved, room)  # the app and Redis still remember seq 5

    assert send_message(alice, room_id, "after", "a6")["seq"] == 3
    assert send_message(bob, room_id, "after", "b1")["seq"] == 4
    stored = db.messages.find({"room_id": room}, {"seq": 1, "client_id": 1}).sort("seq", 1)
    assert [(m["seq"], m["client_id"]) for m in stored] == [
        (1, "a1"), (2, "a2"), (3, "a6"), (4, "b1")]
    restored = db.rooms.find_one({"_id": room})
    assert restored["last_seq"] == 4 and restored["last_message"]["seq"] == 4
    # The message taken back from the wrong seq is not counted as alice's own twice:
    # she has read nothing, and 3 of the 4 messages are hers, so 1 is unread.
    rooms = {r["id"]: r for r in alice.get("/api/messages/rooms").get_json()["items"]}
    assert rooms[room_id]["unread_count"] == 1


def test_a_message_adopted_before_its_sender_takes_it_back_stays(app, db, redis_url,
                                                                 monkeypatch):
    """The interleaving the adoption mark exists for: a send whose guess was ahead of the
    room misses the room's move, and before it takes its message back another sender
    settles the room over that message (it followed the room without a hole). Taking it
    back then would leave the room covering a seq no message has."""
    app.config["SOCKETIO_MESSAGE_QUEUE"] = redis_url
    client = app.test_client()
    alice, bob = Person(client, "alice"), Person(client, "bob")
    room_id = alice.post("/api/messages/direct", {"user_id": bob.id}).get_json()["id"]
    room = ObjectId(room_id)
    for n in (1, 2):
        assert send_message(alice, room_id, "before", f"a{n}")["seq"] == n
    # Another process stored seq 3 and left it in Redis; its move of the room (2 -> 3)
    # has not landed yet, so alice's guess (4) is one ahead of the room.
    stored_elsewhere(db, room_id, seq=3, author="bob")
    redis.Redis.from_url(redis_url).set(f"rt:roomseq:{room_id}", 3)
    take_back = Message.take_back

    def settled_first(self, message_id):
        with app.app_context():
            assert chat_seq.settle(room) == 4  # adopts 3 and alice's 4, moves the room
        return take_back(self, message_id)

    monkeypatch.setattr(Message, "take_back", settled_first)
    assert send_message(alice, room_id, "raced", "a3")["seq"] == 4
    stored = db.messages.find({"room_id": room}, {"seq": 1, "client_id": 1}).sort("seq", 1)
    assert [(m["seq"], m["client_id"]) for m in stored] == [
        (1, "a1"), (2, "a2"), (3, "other"), (4, "a3")]
    assert db.rooms.find_one({"_id": room})["last_seq"] == 4



def test_a_settle_stops_at_a_hole_and_never_covers_what_lies_above_it(app, db):
    """Seq 3 was stored elsewhere and its move has not landed; seq 5 is another sender's
    wrong guess (4 is missing): the room is settled over 3 only, the send takes 4."""
    client = app.test_client()
    alice, bob = Person(client, "alice"), Person(client, "bob")
    room_id = alice.post("/api/messages/direct", {"user_id": bob.id}).get_json()["id"]
    room = ObjectId(room_id)
    for n in (1, 2):
        assert send_message(alice, room_id, "before", f"a{n}")["seq"] == n
    stored_elsewhere(db, room_id, seq=3, author="bob")
    stored_elsewhere(db, room_id, seq=5, author="alice")
    assert send_message(alice, room_id, "after", "a3")["seq"] == 4
    assert db.rooms.find_one({"_id": room})["last_seq"] == 4
    with app.app_context():  # 5 follows 4 now, without a hole: the next settle takes it
        assert chat_seq.settle(room) == 5


def test_a_guess_redis_cannot_keep_falls_back_to_the_room(app, db, redis_url, monkeypatch,
                                                          caplog):
    """With several processes the next seq is guessed from Redis beside the room's lock;
    when Redis fails to give or keep it, the room's own last seq is used: no gap, no 500."""
    app.config["SOCKETIO_MESSAGE_QUEUE"] = redis_url
    client = app.test_client()
    alice, bob = Person(client, "alice"), Person(client, "bob")
    room_id = alice.post("/api/messages/direct", {"user_id": bob.id}).get_json()["id"]
    assert send_message(alice, room_id, "before", "a1")["seq"] == 1
    key = f"rt:roomseq:{room_id}"
    assert redis.Redis.from_url(redis_url).get(key) == b"1"

    def failing_on(method):
        real = getattr(redis.Redis, method)

        def call(self, name, *args, **kwargs):
            if name == key:
                raise RedisError("connection reset")
            return real(self, name, *args, **kwargs)
        return call

    for method in ("get", "set"):
        monkeypatch.setattr(redis.Redis, method, failing_on(method))
    with caplog.at_level("WARNING", logger="services.chat.chat_seq"):
        assert [send_message(bob, room_id, "during", f"b{n}")["seq"] for n in (1, 2)] == [2, 3]
    assert "could not leave its last seq in Redis" in caplog.text
    monkeypatch.undo()
    assert redis.Redis.from_url(redis_url).get(key) == b"1"  # never kept while it failed
    assert db.rooms.find_one({"_id": ObjectId(room_id)})["last_seq"] == 3
