"""Room roles (docs/MESSAGING.md "Room roles"): the owner and moderators of a group, and
the moderators of a topic for its chat rooms, kick, ban for a while and mute; the owner
promotes, demotes and hands over; the last owner leaving hands the group to the oldest
member. Outsiders get 404, plain members 403; muted members read but cannot write (REST
and socket); banned ones are out and kept out until the ban expires. Audit-logged."""
from __future__ import annotations

from datetime import timedelta

import pytest

from models.base import isoformat
from tests.helpers import events
from tests.topic_helpers import Person, join, make_topic, socket_of
from utils import clock as app_clock


@pytest.fixture
def crew(client):
    people = {name: Person(client, name) for name in ("alice", "bob", "carol", "dave", "eve")}
    admin = Person(client, "boss")
    admin.set_role("admin")
    people["admin"] = admin
    group = people["alice"].post("/api/messages/groups", {
        "title": "Crew", "member_ids": [people[n].id for n in ("bob", "carol", "dave")]})
    assert group.status_code == 201, group.get_json()
    return people, group.get_json()["id"]


def rooms(room_id: str) -> str:
    return f"/api/messages/rooms/{room_id}"


def send(person: Person, room_id: str, body: str = "hi", client_id: str = "c"):
    return person.post(f"{rooms(room_id)}/messages", {"body": body, "client_id": client_id})


def audit_actions(admin: Person) -> list[str]:
    items = admin.get("/api/admin/audit-log").get_json()["items"]
    return [entry["action"] for entry in items]


def test_moderators_kick_and_who_may_not(app, crew):
    people, room = crew
    alice, bob, carol, dave, eve = (people[n] for n in ("alice", "bob", "carol", "dave",
                                                        "eve"))
    # A plain member may not kick, nor promote; an outsider does not see the room.
    assert dave.delete(f"{rooms(room)}/members/{carol.id}").status_code == 403
    assert dave.post(f"{rooms(room)}/moderators", {"user_id": dave.id}).status_code == 403
    assert eve.delete(f"{rooms(room)}/members/{carol.id}").status_code == 404
    promoted = alice.post(f"{rooms(room)}/moderators", {"user_id": bob.id})
    assert promoted.status_code == 200 and promoted.get_json()["moderator_ids"] == [bob.id]
    watcher = socket_of(app, carol)
    assert watcher.emit("join_room", {"room_id": room}, callback=True)["ok"]
    kicked = bob.delete(f"{rooms(room)}/members/{carol.id}")
    assert kicked.status_code == 200, kicked.get_json()
    assert carol.id not in [m["id"] for m in kicked.get_json()["members"]]
    assert events(watcher, "removed_from_room") == [{"room_id": room}]
    assert carol.get(rooms(room)).status_code == 404
    # A moderator acts on plain members only: not on the owner nor on another moderator.
    assert bob.delete(f"{rooms(room)}/members/{alice.id}").status_code == 403
    alice.post(f"{rooms(room)}/moderators", {"user_id": dave.id})
    assert bob.delete(f"{rooms(room)}/members/{dave.id}").status_code == 403
    demoted = alice.delete(f"{rooms(room)}/moderators/{dave.id}")
    assert demoted.get_json()["moderator_ids"] == [bob.id]
    assert "room.kick" in audit_actions(people["admin"])
    watcher.disconnect()


def test_a_ban_keeps_a_member_out_until_it_expires(app, crew, clock):
    people, room = crew
    alice, dave = people["alice"], people["dave"]
    until = app_clock.now() + timedelta(hours=1)
    banned = alice.post(f"{rooms(room)}/bans", {"user_id": dave.id, "reason": "rude",
                                                "expires_at": isoformat(until)})
    assert banned.status_code == 200, banned.get_json()
    assert dave.get(rooms(room)).status_code == 404
    assert send(dave, room).status_code == 404
    readd = alice.post(f"{rooms(room)}/members", {"user_id": dave.id})
    assert readd.status_code == 403, readd.get_json()
    entry = people["admin"].get("/api/admin/audit-log", query_string={"action": "room.ban"}
                                ).get_json()["items"][0]
    assert entry["target_id"] == dave.id and entry["reason"] == "rude"
    assert entry["data"]["room_id"] == room
    clock.advance(minutes=61)
    assert alice.post(f"{rooms(room)}/members", {"user_id": dave.id}).status_code in (200, 202)


@pytest.mark.parametrize("action", ["kick", "ban"])
def test_removing_a_moderator_announces_the_room_after_every_write(app, crew, action):
    """`room_updated` after a kick or ban of a moderator shows them neither as a member
    nor as a moderator (the announcement follows the last write), and a ban announces."""
    people, room = crew
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    assert alice.post(f"{rooms(room)}/moderators", {"user_id": bob.id}).status_code == 200
    watcher = socket_of(app, carol)
    events(watcher, "room_updated")  # what came before is not this test's
    if action == "kick":
        done = alice.delete(f"{rooms(room)}/members/{bob.id}")
    else:
        done = alice.post(f"{rooms(room)}/bans", {"user_id": bob.id, "reason": "rude"})
    assert done.status_code == 200, done.get_json()
    announced = events(watcher, "room_updated")
    assert announced, f"no room_updated after the {action}"
    assert all(bob.id not in update["moderator_ids"] for update in announced)
    assert bob.id not in [m["id"] for m in announced[-1]["members"]]
    assert announced[-1]["moderator_ids"] == done.get_json()["moderator_ids"] == []
    watcher.disconnect()


def test_a_ban_of_a_non_member_announces_the_room(app, crew):
    people, room = crew
    alice, carol, eve = people["alice"], people["carol"], people["eve"]
    watcher = socket_of(app, carol)
    events(watcher, "room_updated")
    assert alice.post(f"{rooms(room)}/bans", {"user_id": eve.id}).status_code == 200
    assert [u["id"] for u in events(watcher, "room_updated")] == [room]
    watcher.disconnect()


def test_a_muted_member_reads_but_cannot_write(app, crew):
    people, room = crew
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    said = send(carol, room, "before", "c-0").get_json()
    muted = alice.post(f"{rooms(room)}/mutes", {"user_id": carol.id})
    assert muted.status_code == 200
    assert muted.get_json()["mutes"] == [{"user_id": carol.id, "expires_at": None}]
    refused = send(carol, room, "muted?", "c-1")
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "muted"
    assert carol.patch(f"/api/messages/{said['id']}", {"body": "x"}).status_code == 403
    assert carol.call("PUT", f"/api/messages/{said['id']}/reactions/\N{THUMBS UP SIGN}"
                      ).status_code == 403
    socket = socket_of(app, carol)
    joined = socket.emit("join_room", {"room_id": room}, callback=True)
    assert joined["ok"] and joined["data"]["messages"][-1]["body"] == "before"
    ack = socket.emit("send_message", {"room_id": room, "body": "x", "client_id": "s"},
                      callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == "muted"
    # Others still write; a plain member may not lift the mute.
    assert send(bob, room, "fine", "b-1").status_code == 201
    assert bob.delete(f"{rooms(room)}/mutes/{carol.id}").status_code == 403
    assert alice.delete(f"{rooms(room)}/mutes/{carol.id}").get_json()["mutes"] == []
    assert send(carol, room, "back", "c-2").status_code == 201
    assert {"room.mute", "room.unmute"} <= set(audit_actions(people["admin"]))
    socket.disconnect()


def test_transfer_and_the_last_owner_leaving(crew):
    people, room = crew
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    assert bob.post(f"{rooms(room)}/transfer", {"user_id": bob.id}).status_code == 403
    moved = alice.post(f"{rooms(room)}/transfer", {"user_id": bob.id})
    assert moved.status_code == 200
    assert moved.get_json()["created_by"] == bob.id
    assert moved.get_json()["moderator_ids"] == [alice.id]
    # The old owner is a moderator now: may kick plain members, not promote.
    assert alice.post(f"{rooms(room)}/moderators", {"user_id": carol.id}).status_code == 403
    assert bob.post(f"{rooms(room)}/leave").status_code == 204
    # The oldest remaining member (alice, the creator) owns the group again.
    owner = alice.get(rooms(room)).get_json()
    assert owner["created_by"] == alice.id and owner["moderator_ids"] == []


def test_topic_moderators_govern_topic_rooms(app, client):
    owner, member, other = Person(client, "tom"), Person(client, "mia"), Person(client, "ole")
    topic = make_topic(owner)
    join(member, topic["id"])
    join(other, topic["id"])
    room = owner.post(f"/api/topics/{topic['id']}/rooms", {"name": "lounge"}).get_json()["id"]
    assert send(member, room, "hello", "m-1").status_code == 201
    # A plain topic member may not moderate the room, nor act on the topic's moderators.
    assert other.post(f"{rooms(room)}/mutes", {"user_id": member.id}).status_code == 403
    assert other.post(f"{rooms(room)}/bans", {"user_id": owner.id}).status_code == 403
    assert owner.post(f"{rooms(room)}/mutes", {"user_id": member.id}).status_code == 200
    assert send(member, room, "x", "m-2").get_json()["error"]["code"] == "muted"
    socket = socket_of(app, member)
    assert socket.emit("join_room", {"room_id": room}, callback=True)["ok"]
    banned = owner.post(f"{rooms(room)}/bans", {"user_id": member.id, "reason": "spam"})
    assert banned.status_code == 200
    assert events(socket, "removed_from_room") == [{"room_id": room}]
    # Banned: the room's history and live room are closed; the topic is not.
    assert member.get(f"{rooms(room)}/messages").status_code == 403
    ack = socket.emit("join_room", {"room_id": room}, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == "forbidden"
    assert member.get(f"/api/topics/{topic['id']}").status_code == 200
    assert owner.delete(f"{rooms(room)}/bans/{member.id}").status_code == 200
    assert member.get(f"{rooms(room)}/messages").status_code == 200
    socket.disconnect()
