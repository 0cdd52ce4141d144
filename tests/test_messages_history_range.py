"""History pages as seq ranges (issue 29): the latest page, a page back and the catch-up
read a range of `limit` seqs instead of sorting the room, and answer exactly what the
sort did: deleted messages and thread replies keep their seqs in the range, and a room
whose first (or middle) seqs are gone from storage still pages correctly."""
from __future__ import annotations

import pytest
from bson import ObjectId
from pymongo import ASCENDING, DESCENDING

from models.message import Message
from tests.helpers import CommandLog, Person, listen_to_database
from utils.db import get_db


def _room_with(app, count: int) -> tuple[Person, Person, str]:
    """A direct room of alice and bob holding `count` messages, stored in bulk."""
    alice, bob = Person(app, "alice"), Person(app, "bob")
    room_id = alice.post("/api/messages/direct", {"user_id": bob.user["id"]}).get_json()["id"]
    with app.app_context():
        room, author = ObjectId(room_id), ObjectId(alice.id)
        get_db().messages.insert_many([
            Message().new_document(room, seq, author, f"m{seq}", f"c{seq}", None)
            for seq in range(1, count + 1)])
        get_db().rooms.update_one({"_id": room}, {"$set": {"last_seq": count}})
    return alice, bob, room_id


def _seqs(person: Person, room_id: str, query: str) -> tuple[list[int], bool]:
    page = person.get(f"/api/messages/rooms/{room_id}/messages?{query}").get_json()
    return [m["seq"] for m in page["items"]], page["has_more"]


def _sorted_reference(app, room_id: str, query: dict, direction: int, limit: int) -> list[int]:
    """What the sort over the room answers (the semantics the ranges keep)."""
    with app.app_context():
        found = get_db().messages.find({"room_id": ObjectId(room_id), **query}, {"seq": 1})
        seqs = [m["seq"] for m in found.sort("seq", direction).limit(limit)]
    return sorted(seqs)


class MessageFinds(CommandLog):
    """The filter of every `find` on messages the app sends while `recording`."""

    def started(self, event):
        if self.recording and event.command_name == "find" \
                and event.command["find"] == "messages":
            self.commands.append(event.command["filter"])


@pytest.fixture
def message_finds(monkeypatch):
    listener = MessageFinds()
    listen_to_database(monkeypatch, listener)
    return listener


def test_history_pages_read_a_range_of_seqs_not_the_room(make_app, message_finds):
    # A timeout of its own: a MongoDB client of its own, made with the listener.
    app = make_app(MONGO_TIMEOUT_MS=2999)
    _, bob, room_id = _room_with(app, 120)
    message_finds.recording = True
    assert _seqs(bob, room_id, "limit=50") == (list(range(71, 121)), True)
    assert _seqs(bob, room_id, "before_seq=60&limit=50") == (list(range(10, 60)), True)
    assert _seqs(bob, room_id, "after_seq=100&limit=50") == (list(range(101, 121)), False)
    message_finds.recording = False
    # One find per page, bounded on both sides: limit + 1 seqs at most, whatever the room
    # holds (the sort over the room had only one bound).
    assert [f["seq"] for f in message_finds.commands] == [
        {"$gte": 70, "$lte": 120}, {"$gte": 9, "$lte": 59}, {"$gte": 101, "$lte": 151}]


def test_deleted_messages_and_thread_replies_keep_their_place(app, db):
    alice, bob, room_id = _room_with(app, 8)
    doomed = db.messages.find_one({"room_id": ObjectId(room_id), "seq": 7})
    assert alice.delete(f"/api/messages/{doomed['_id']}").status_code == 200
    root = db.messages.find_one({"room_id": ObjectId(room_id), "seq": 5})
    reply = alice.post(f"/api/messages/rooms/{room_id}/messages",
                       {"body": "in the thread", "client_id": "t1",
                        "thread_root_id": str(root["_id"])})
    assert reply.status_code == 201 and reply.get_json()["seq"] == 9
    assert alice.send(room_id, "after the thread", "c10").get_json()["seq"] == 10
    page = bob.get(f"/api/messages/rooms/{room_id}/messages?limit=4").get_json()
    assert [m["seq"] for m in page["items"]] == [7, 8, 9, 10] and page["has_more"]
    assert page["items"][0]["deleted"] is True
    for query, reference in (
            ("limit=4", ({"seq": {"$lt": 11}}, DESCENDING)),
            ("before_seq=9&limit=3", ({"seq": {"$lt": 9}}, DESCENDING)),
            ("after_seq=6&limit=3", ({"seq": {"$gt": 6}}, ASCENDING))):
        limit = int(query.rsplit("=", 1)[1])
        seqs, _ = _seqs(bob, room_id, query)
        assert seqs == _sorted_reference(app, room_id, *reference, limit), query


def test_a_room_whose_first_seqs_are_gone_still_pages_like_the_sort(app, db):
    _, bob, room_id = _room_with(app, 30)
    # Retention (or an operator) removed seqs 1-10 and 20 from storage.
    db.messages.delete_many({"room_id": ObjectId(room_id),
                             "$or": [{"seq": {"$lte": 10}}, {"seq": 20}]})
    assert _seqs(bob, room_id, "limit=5") == ([26, 27, 28, 29, 30], True)
    assert _seqs(bob, room_id, "before_seq=22&limit=3") == ([18, 19, 21], True)
    assert _seqs(bob, room_id, "before_seq=14&limit=5") == ([11, 12, 13], False)
    assert _seqs(bob, room_id, "after_seq=0&limit=3") == ([11, 12, 13], True)
    assert _seqs(bob, room_id, "after_seq=17&limit=3") == ([18, 19, 21], True)
    assert _seqs(bob, room_id, "after_seq=28&limit=5") == ([29, 30], False)
    # A before_seq far past the room's end is the latest page, as before.
    assert _seqs(bob, room_id, "before_seq=1000&limit=2") == ([29, 30], True)
