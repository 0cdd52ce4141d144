"""Message pins (docs/MESSAGING.md "Pins"): the room's moderators pin and unpin (in a
direct room either member), everyone who reads the room lists them, live
`message_pinned` / `message_unpinned` go to the room, and a deleted message drops out."""
from __future__ import annotations

from tests.helpers import events
from tests.topic_helpers import Person, join, make_topic, send_message, socket_of


def pins(person: Person, room_id: str):
    return person.get(f"/api/messages/rooms/{room_id}/pins")


def test_group_pins_by_moderators_live_and_dropped_on_delete(app, client):
    alice, bob, eve = Person(client, "alice"), Person(client, "bob"), Person(client, "eve")
    room = alice.post("/api/messages/groups", {"title": "Crew", "member_ids": [bob.id]}
                      ).get_json()["id"]
    first, second = send_message(bob, room, "first", "b1"), send_message(bob, room, "second", "b2")
    watcher = socket_of(app, bob)
    # A plain member may not pin; an outsider sees nothing.
    assert bob.call("PUT", f"/api/messages/{first['id']}/pin").status_code == 403
    assert eve.call("PUT", f"/api/messages/{first['id']}/pin").status_code == 404
    assert pins(eve, room).status_code == 404
    assert alice.call("PUT", f"/api/messages/{first['id']}/pin").status_code == 204
    assert alice.call("PUT", f"/api/messages/{second['id']}/pin").status_code == 204
    assert alice.call("PUT", f"/api/messages/{second['id']}/pin").status_code == 204  # again
    listed = pins(bob, room)
    assert listed.status_code == 200
    assert [m["id"] for m in listed.get_json()["items"]] == [second["id"], first["id"]]
    pinned = events(watcher, "message_pinned")
    assert [p["message_id"] for p in pinned] == [first["id"], second["id"]]
    assert pinned[0] == {"room_id": room, "message_id": first["id"], "seq": 1, "by": alice.id}
    assert alice.call("DELETE", f"/api/messages/{first['id']}/pin").status_code == 204
    assert events(watcher, "message_unpinned") == [{"room_id": room,
                                                    "message_id": first["id"]}]
    # The author deletes a pinned message: it leaves the pins, and the room hears it.
    assert bob.delete(f"/api/messages/{second['id']}").status_code == 200
    assert pins(bob, room).get_json()["items"] == []
    assert {"room_id": room, "message_id": second["id"]} in events(watcher, "message_unpinned")
    watcher.disconnect()


def test_direct_rooms_either_member_and_topic_moderators(client):
    alice, bob = Person(client, "alice"), Person(client, "bob")
    room = alice.post("/api/messages/direct", {"user_id": bob.id}).get_json()["id"]
    said = send_message(alice, room, "remember this", "a1")
    assert bob.call("PUT", f"/api/messages/{said['id']}/pin").status_code == 204
    assert [m["id"] for m in pins(alice, room).get_json()["items"]] == [said["id"]]
    assert alice.call("DELETE", f"/api/messages/{said['id']}/pin").status_code == 204
    owner, member = Person(client, "tom"), Person(client, "mia")
    topic = make_topic(owner)
    join(member, topic["id"])
    lounge = owner.post(f"/api/topics/{topic['id']}/rooms", {"name": "lounge"}).get_json()["id"]
    words = send_message(member, lounge, "rules here", "m1")
    assert member.call("PUT", f"/api/messages/{words['id']}/pin").status_code == 403
    assert owner.call("PUT", f"/api/messages/{words['id']}/pin").status_code == 204
    assert [m["id"] for m in pins(member, lounge).get_json()["items"]] == [words["id"]]
