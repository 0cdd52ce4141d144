"""Group invitations (docs/MESSAGING.md "Invitations"): the owner or a moderator
invites, the invitee accepts or declines, nobody is put into a group silently. Blocks and
the invitee's `allow_messages_from` apply when inviting and again when accepting; a
plain member may not invite, an outsider gets 404, someone else's invitation is 404 like
a missing one. Live: `room_invitation` to the invitee, `room_updated` to the members."""
from __future__ import annotations

import pytest
from bson import ObjectId

from tests.helpers import events
from tests.topic_helpers import Person, socket_of


@pytest.fixture
def crew(client):
    people = {name: Person(client, name) for name in ("alice", "bob", "carol", "dave", "eve")}
    room = people["alice"].post("/api/messages/groups",
                                {"title": "Crew", "member_ids": [people["bob"].id]})
    return people, room.get_json()["id"]


def invite(person: Person, room_id: str, user: Person):
    return person.post(f"/api/messages/rooms/{room_id}/invitations", {"user_id": user.id})


def test_invite_accept_and_the_live_events(app, crew):
    people, room = crew
    alice, bob, carol, eve = people["alice"], people["bob"], people["carol"], people["eve"]
    invitee_socket, member_socket = socket_of(app, carol), socket_of(app, bob)
    made = invite(alice, room, carol)
    assert made.status_code == 201, made.get_json()
    invitation = made.get_json()
    assert invitation["room_id"] == room and invitation["room_title"] == "Crew"
    assert invitation["inviter"]["id"] == alice.id and invitation["member_count"] == 2
    assert events(invitee_socket, "room_invitation") == [invitation]
    again = invite(alice, room, carol)
    assert again.status_code == 200 and again.get_json()["id"] == invitation["id"]
    # Invited is not a member: the room stays hidden until the invitation is accepted.
    assert carol.get(f"/api/messages/rooms/{room}").status_code == 404
    mine = carol.get("/api/messages/invitations").get_json()
    assert [i["id"] for i in mine["items"]] == [invitation["id"]]
    assert eve.get("/api/messages/invitations").get_json()["items"] == []
    # Someone else's invitation answers like one that does not exist.
    stolen = eve.post(f"/api/messages/invitations/{invitation['id']}/accept")
    missing = eve.post(f"/api/messages/invitations/{ObjectId()}/accept")
    assert stolen.status_code == missing.status_code == 404
    assert stolen.get_json() == missing.get_json()
    member_socket.get_received()
    accepted = carol.post(f"/api/messages/invitations/{invitation['id']}/accept")
    assert accepted.status_code == 200, accepted.get_json()
    assert carol.id in [m["id"] for m in accepted.get_json()["members"]]
    updates = events(member_socket, "room_updated")
    assert updates and carol.id in [m["id"] for m in updates[-1]["members"]]
    assert carol.get("/api/messages/invitations").get_json()["items"] == []
    assert carol.post(f"/api/messages/invitations/{invitation['id']}/accept"
                      ).status_code == 404
    assert invite(alice, room, carol).status_code == 409  # a member already
    invitee_socket.disconnect()
    member_socket.disconnect()


def test_decline_and_who_may_invite(crew):
    people, room = crew
    alice, bob, carol, dave, eve = (people[n] for n in ("alice", "bob", "carol", "dave",
                                                        "eve"))
    assert invite(bob, room, dave).status_code == 403      # a plain member
    assert invite(eve, room, dave).status_code == 404      # an outsider
    assert invite(alice, room, alice).status_code == 400
    alice.post(f"/api/messages/rooms/{room}/moderators", {"user_id": bob.id})
    made = invite(bob, room, dave)                          # a moderator may
    assert made.status_code == 201
    declined = dave.post(f"/api/messages/invitations/{made.get_json()['id']}/decline")
    assert declined.status_code == 204
    assert dave.get("/api/messages/invitations").get_json()["items"] == []
    assert dave.get(f"/api/messages/rooms/{room}").status_code == 404
    # The old route invites too (202), it no longer adds.
    legacy = alice.post(f"/api/messages/rooms/{room}/members", {"user_id": carol.id})
    assert legacy.status_code == 202 and legacy.get_json()["room_id"] == room
    assert carol.get(f"/api/messages/rooms/{room}").status_code == 404


def test_blocks_and_settings_apply_when_inviting_and_accepting(crew):
    people, room = crew
    alice, carol, dave = people["alice"], people["carol"], people["dave"]
    assert carol.post(f"/api/users/{alice.id}/block").status_code == 204
    assert invite(alice, room, carol).status_code == 403
    assert carol.delete(f"/api/users/{alice.id}/block").status_code == 204
    assert dave.patch("/api/users/me", {"settings": {"allow_messages_from": "nobody"}}
                      ).status_code == 200
    assert invite(alice, room, dave).status_code == 403
    # Blocked between the invitation and the answer: accepting is refused.
    made = invite(alice, room, carol).get_json()
    assert alice.post(f"/api/users/{carol.id}/block").status_code == 204
    refused = carol.post(f"/api/messages/invitations/{made['id']}/accept")
    assert refused.status_code == 403
    assert carol.get(f"/api/messages/rooms/{room}").status_code == 404


def test_a_room_ban_refuses_the_invitation_and_its_acceptance(crew):
    people, room = crew
    alice, carol, dave = people["alice"], people["carol"], people["dave"]
    made = invite(alice, room, carol).get_json()
    assert alice.post(f"/api/messages/rooms/{room}/bans", {"user_id": carol.id}
                      ).status_code == 200
    refused = carol.post(f"/api/messages/invitations/{made['id']}/accept")
    assert refused.status_code == 403, refused.get_json()
    assert carol.get(f"/api/messages/rooms/{room}").status_code == 404
    assert alice.post(f"/api/messages/rooms/{room}/bans", {"user_id": dave.id}
                      ).status_code == 200
    assert invite(alice, room, dave).status_code == 403


def test_an_invitation_ends_with_its_inviters_power_to_invite(client, crew):
    """Accepting checks that the inviter may still invite: a moderator made a plain
    member again, or banned from the site, leaves an invitation that answers like a
    missing one and is gone. An owner who handed the group on stays a moderator: their
    invitation holds."""
    people, room = crew
    alice, bob, dave, eve = (people[n] for n in ("alice", "bob", "dave", "eve"))
    made = invite(alice, room, eve).get_json()
    assert alice.post(f"/api/messages/rooms/{room}/transfer", {"user_id": bob.id}
                      ).status_code == 200
    accepted = eve.post(f"/api/messages/invitations/{made['id']}/accept")
    assert accepted.status_code == 200, accepted.get_json()
    # Bob owns the group now; alice, a moderator, invites dave and is made a member again.
    made = invite(alice, room, dave).get_json()
    demoted = bob.delete(f"/api/messages/rooms/{room}/moderators/{alice.id}")
    assert demoted.status_code == 200, demoted.get_json()
    stale = dave.post(f"/api/messages/invitations/{made['id']}/accept")
    missing = dave.post(f"/api/messages/invitations/{ObjectId()}/accept")
    assert stale.status_code == missing.status_code == 404
    assert stale.get_json() == missing.get_json()
    assert dave.get("/api/messages/invitations").get_json()["items"] == []
    assert dave.get(f"/api/messages/rooms/{room}").status_code == 404
    # A moderator again, alice invites dave and is banned from the site.
    assert bob.post(f"/api/messages/rooms/{room}/moderators", {"user_id": alice.id}
                    ).status_code == 200
    made = invite(alice, room, dave).get_json()
    admin = Person(client, "sitestaff")
    admin.set_role("admin")
    assert admin.post(f"/api/admin/users/{alice.id}/ban", {"reason": "spam"}).status_code == 200
    assert dave.post(f"/api/messages/invitations/{made['id']}/accept").status_code == 404
    assert dave.get("/api/messages/invitations").get_json()["items"] == []
    assert dave.get(f"/api/messages/rooms/{room}").status_code == 404
