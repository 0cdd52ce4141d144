"""Message search (docs/MESSAGING.md "Search"): `GET /api/messages/search?q=&room_id=`
over the same term index as posts, only in rooms I may read, without deleted messages,
ones I deleted for myself, or ones by people I block, who block me, or whom I hide."""
from __future__ import annotations

import pytest
from bson import ObjectId

from tests.topic_helpers import Person, join, make_topic, send_message


def found(person: Person, q: str, **extra) -> list[str]:
    response = person.get("/api/messages/search", query_string={"q": q, **extra})
    assert response.status_code == 200, response.get_json()
    return sorted(m["body"] for m in response.get_json()["items"])


@pytest.fixture
def world(client):
    alice, bob, carol, eve = (Person(client, n) for n in ("alice", "bob", "carol", "eve"))
    direct = alice.post("/api/messages/direct", {"user_id": bob.id}).get_json()["id"]
    group = alice.post("/api/messages/groups", {"title": "g", "member_ids": [bob.id, carol.id]}
                       ).get_json()["id"]
    send_message(alice, direct, "the purple elephant", "a1")
    send_message(carol, group, "Purple rain again", "c1")
    send_message(bob, group, "nothing to see", "b1")
    return alice, bob, carol, eve, direct, group


def test_search_finds_words_and_prefixes_in_my_rooms_only(world, client):
    _alice, bob, carol, eve, direct, group = world
    assert found(bob, "purple") == ["Purple rain again", "the purple elephant"]
    assert found(bob, "purp") == ["Purple rain again", "the purple elephant"]
    assert found(bob, "purple", room_id=direct) == ["the purple elephant"]
    assert found(carol, "purple") == ["Purple rain again"]  # not in the direct room
    assert found(eve, "purple") == []
    hidden = eve.get("/api/messages/search", query_string={"q": "purple", "room_id": direct})
    missing = eve.get("/api/messages/search", query_string={"q": "purple",
                                                             "room_id": str(ObjectId())})
    assert hidden.status_code == missing.status_code == 404
    assert hidden.get_json() == missing.get_json()
    # Leaving a group takes its messages out of my search.
    assert carol.post(f"/api/messages/rooms/{group}/leave").status_code == 204
    assert found(carol, "purple") == []
    # A topic room I joined by writing in it, while I may read the topic.
    owner = Person(client, "tom")
    topic = make_topic(owner)
    join(bob, topic["id"])
    lounge = owner.post(f"/api/topics/{topic['id']}/rooms", {"name": "lounge"}).get_json()["id"]
    send_message(bob, lounge, "purple lounge talk", "b2")
    assert "purple lounge talk" in found(bob, "purple")
    owner.post(f"/api/topics/{topic['id']}/bans", {"user_id": bob.id, "reason": "x"})
    assert "purple lounge talk" not in found(bob, "purple")


def test_edits_deletes_blocks_and_hides(world):
    alice, bob, carol, _eve, direct, _group = world
    said = send_message(alice, direct, "orange juice", "a2")
    assert alice.patch(f"/api/messages/{said['id']}", {"body": "green tea"}).status_code == 200
    assert found(bob, "orange") == [] and found(bob, "green") == ["green tea"]
    assert alice.delete(f"/api/messages/{said['id']}").status_code == 200
    assert found(bob, "green") == []
    mine = send_message(alice, direct, "purple only for alice", "a3")
    assert bob.delete(f"/api/messages/{mine['id']}/for-me").status_code == 204
    assert "purple only for alice" not in found(bob, "purple")
    assert "purple only for alice" in found(alice, "purple")
    assert bob.call("PUT", f"/api/users/{carol.id}/hide").status_code == 204
    assert found(bob, "rain") == []
    bob.call("DELETE", f"/api/users/{carol.id}/hide")
    assert found(bob, "rain") == ["Purple rain again"]
    assert carol.post(f"/api/users/{bob.id}/block").status_code == 204  # either way
    assert found(bob, "rain") == []


def test_reindex_gives_old_messages_their_terms(app, world, db):
    alice, bob, *_rest, direct, _group = world
    said = send_message(alice, direct, "ancient scroll", "a9")
    # As stored before message search existed.
    db.messages.update_one({"_id": ObjectId(said["id"])}, {"$unset": {"search_terms": ""}})
    assert found(bob, "scroll") == []
    result = app.test_cli_runner().invoke(args=["reindex-messages"])
    assert result.exit_code == 0 and "1 message(s) indexed." in result.output
    assert found(bob, "scroll") == ["ancient scroll"]
