"""Invitations into group conversations (docs/MESSAGING.md "Invitations"): nobody is put
into a group without saying yes. The owner or a moderator invites; the invitee accepts
(and becomes a member) or declines. Blocks and the invitee's `allow_messages_from` are
checked when the invitation is made and again when it is accepted; a room ban refuses
both."""
from __future__ import annotations

from typing import Any

from bson import ObjectId

from models.base import to_object_id
from models.room import Room
from models.room_invitation import RoomInvitation
from models.room_member import RoomMember
from models.user import User
from services.accounts import write_gate
from services.accounts.users_service import public_users
from services.chat.chat_access import (
    active_user,
    can_moderate_room,
    check_can_message,
    readable_room,
)
from services.chat.chat_rooms import MAX_GROUP_MEMBERS, announce_room
from services.platform import realtime, room_roles
from services.platform.live_rooms import user_room
from services.platform.shapes.messages import INVITATION
from services.platform.site_bans import ban_in_force
from utils.errors import BadRequest, Conflict, Forbidden, NotFound


def serialize(invitations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rooms = Room().find_by_ids([i["room_id"] for i in invitations],
                               {"title": 1, "member_ids": 1})
    people = public_users(list({i["inviter_id"] for i in invitations}))
    return [INVITATION.dump({
        **i, "room_title": rooms.get(i["room_id"], {}).get("title"),
        "member_count": len(rooms.get(i["room_id"], {}).get("member_ids", [])),
        "inviter": people.get(i["inviter_id"])}) for i in invitations]


def _admissible(room: dict[str, Any], inviter: dict[str, Any], invitee: dict[str, Any]
                ) -> None:
    if invitee["_id"] in room["member_ids"]:
        raise Conflict("This user is a member already.")
    if room_roles.sanction_of(room, "bans", invitee["_id"]) is not None:
        raise Forbidden("This user is banned from the conversation.")
    check_can_message(inviter, invitee)
    if len(room["member_ids"]) >= MAX_GROUP_MEMBERS:
        raise BadRequest(f"A group has at most {MAX_GROUP_MEMBERS} members.")


def invite(actor: dict[str, Any], room_id: Any, user_id: str
           ) -> tuple[dict[str, Any], bool]:
    """(invitation, created); inviting again answers the pending invitation."""
    write_gate.admit(actor, "invitation")
    room = readable_room(actor, room_id)
    if room["kind"] != "group":
        raise BadRequest("Only group conversations take invitations.")
    if not can_moderate_room(actor, room):
        raise Forbidden("Only the owner and moderators invite to this conversation.")
    invitee = active_user(user_id)
    if invitee["_id"] == actor["_id"]:
        raise BadRequest("You cannot invite yourself.")
    _admissible(room, actor, invitee)
    invitation, created = RoomInvitation().put(room["_id"], invitee["_id"], actor["_id"])
    view = serialize([invitation])[0]
    if created:
        realtime.emit("room_invitation", view, to=user_room(invitee["_id"]))
    return view, created


def list_mine(user: dict[str, Any], limit: int, cursor: str | None
              ) -> tuple[list[dict[str, Any]], str | None]:
    """My pending invitations, newest first."""
    items, next_cursor = RoomInvitation().page_of_invitee(user["_id"], limit, cursor)
    return serialize(items), next_cursor


def _mine(user: dict[str, Any], invitation_id: Any) -> dict[str, Any]:
    invitation = RoomInvitation().take(to_object_id(invitation_id, "Invitation"), user["_id"])
    if invitation is None:
        raise NotFound("Invitation not found.")
    return invitation


def accept(user: dict[str, Any], invitation_id: Any) -> dict[str, Any]:
    """Join the group; the room. The room gone or the inviter no longer allowed to invite
    (made a plain member again, banned from the site: 404, like a missing invitation), or
    the inviter no longer in it (403) use the invitation up; a block, my
    `allow_messages_from` against the inviter, a room ban or a full group refuse it
    (403/400) and leave it pending, to decline."""
    write_gate.admit(user, "join")
    found = RoomInvitation().find_by_id(to_object_id(invitation_id, "Invitation"))
    if found is None or found["invitee_id"] != user["_id"]:
        raise NotFound("Invitation not found.")
    room = Room().find_by_id(found["room_id"])
    inviter = User().find_active(found["inviter_id"])
    if room is None:
        RoomInvitation().drop_room_user(found["room_id"], user["_id"])
        raise NotFound("Invitation not found.")
    if inviter is None or inviter["_id"] not in room["member_ids"]:
        RoomInvitation().drop_room_user(room["_id"], user["_id"])
        raise Forbidden("The person who invited you is no longer in the conversation.")
    if not can_moderate_room(inviter, room) or ban_in_force(inviter):
        # An invitation is worth what its inviter may do now, not what they could then.
        RoomInvitation().drop_room_user(room["_id"], user["_id"])
        raise NotFound("Invitation not found.")
    if user["_id"] not in room["member_ids"]:
        _admissible(room, inviter, user)
    _mine(user, found["_id"])  # used up once, also under a double accept
    return _join(room, user["_id"])


def _join(room: dict[str, Any], user_id: ObjectId) -> dict[str, Any]:
    # New members start reading at the present: earlier history is not "unread" for them.
    RoomMember().ensure(room["_id"], user_id, last_read_seq=room["last_seq"])
    Room().add_member(room["_id"], user_id)
    room = Room().get(room["_id"])
    announce_room(room)
    return room


def decline(user: dict[str, Any], invitation_id: Any) -> None:
    _mine(user, invitation_id)
