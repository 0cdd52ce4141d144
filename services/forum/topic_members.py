"""Topic membership: joining and leaving, ownership, the member list, topic moderators,
and the invitations that let people into a private topic."""
from __future__ import annotations

from typing import Any

from bson import ObjectId

from models.base import to_object_id
from models.topic import PRIVATE, Topic
from models.topic_invitation import TopicInvitation
from models.topic_member import MEMBER, MODERATOR, OWNER, TopicMember
from models.user import User
from services.accounts import write_gate
from services.accounts.users_service import public_users, serialize_public_user
from services.notify import notifications_service
from services.platform import audit_service, live_rooms
from services.platform.shapes.forum import TOPIC_MEMBER
from services.platform.site_bans import ban_in_force
from services.platform.topic_access import (
    can_moderate,
    get_readable_topic,
    is_banned,
    member_role,
    require_moderator,
    require_not_banned,
    require_owner,
)
from services.platform.topic_activity import topic_lists_changed
from utils import clock
from utils.errors import BadRequest, Conflict, Forbidden, NotFound
from utils.pagination import page


def _oid(value: Any, what: str = "Topic") -> ObjectId:
    return to_object_id(value, what)


# Membership

def join_topic(user: dict[str, Any], topic_id: Any) -> dict[str, Any]:
    """Public topics only; a private topic is joined by accepting an invitation."""
    write_gate.admit(user, "join")
    topic = get_readable_topic(user, topic_id)
    require_not_banned(user, topic)
    if member_role(topic["_id"], user["_id"]) is None:
        if topic["visibility"] == PRIVATE:
            raise Forbidden("Private topics are joined through an invitation.")
        _add_member(topic, user["_id"])
    return Topic().get(topic["_id"])


def _add_member(topic: dict[str, Any], user_id: ObjectId) -> None:
    if TopicMember().add(topic["_id"], user_id, MEMBER):
        Topic().add_members(topic["_id"], 1)
        topic_lists_changed()


def drop_member(topic: dict[str, Any], user_id: ObjectId) -> bool:
    if TopicMember().remove(topic["_id"], user_id) is None:
        return False
    Topic().add_members(topic["_id"], -1)
    topic_lists_changed()
    return True


def leave_topic(user: dict[str, Any], topic_id: Any) -> dict[str, Any]:
    topic = get_readable_topic(user, topic_id)
    role = member_role(topic["_id"], user["_id"])
    if role == OWNER:
        raise Conflict("Transfer ownership (POST /api/topics/<id>/transfer) before leaving.")
    if role is not None:
        drop_member(topic, user["_id"])
        # No more topic events for someone who left (a private topic's would leak).
        live_rooms.evict_from_topic(user["_id"], topic["_id"])
    return Topic().get(topic["_id"])


def transfer_ownership(user: dict[str, Any], topic_id: Any, new_owner_id: Any
                       ) -> dict[str, Any]:
    """The new owner must be a member; the old owner stays on as a moderator."""
    write_gate.admit(user, "manage")
    topic = require_owner(user, topic_id)
    target = _oid(new_owner_id, "User")
    if target == user["_id"]:
        raise BadRequest("You already own this topic.")
    if member_role(topic["_id"], target) is None or is_banned(topic["_id"], target):
        raise NotFound("That user is not a member of this topic.")
    TopicMember().set_role(topic["_id"], target, OWNER)
    TopicMember().set_role(topic["_id"], user["_id"], MODERATOR)
    updated = Topic().update(topic["_id"], {"owner_id": target, "updated_at": clock.now()})
    audit_service.record_moderation(user, "transfer_ownership", topic["_id"], "user", target)
    topic_lists_changed()
    return updated or topic


def list_members(user: dict[str, Any] | None, topic_id: Any, limit: int,
                 cursor: str | None) -> dict[str, Any]:
    topic = get_readable_topic(user, topic_id)
    documents, next_cursor = TopicMember().members_page(topic["_id"], limit, cursor)
    people = public_users([d["user_id"] for d in documents])
    return page([d for d in documents if d["user_id"] in people], next_cursor,
                lambda d: TOPIC_MEMBER.dump({**d, "user": people[d["user_id"]]}))


# Moderators

def add_moderator(user: dict[str, Any], topic_id: Any, target_id: Any) -> dict[str, Any]:
    write_gate.admit(user, "manage")
    topic = require_owner(user, topic_id)
    target = _oid(target_id, "User")
    role = member_role(topic["_id"], target)
    if role is None:
        raise NotFound("That user is not a member of this topic.")
    if role == OWNER:
        raise BadRequest("The owner is already in charge.")
    TopicMember().set_role(topic["_id"], target, MODERATOR)
    audit_service.record_moderation(user, "add_moderator", topic["_id"], "user", target)
    return {"user": serialize_public_user(User().get(target, "User")), "role": MODERATOR}


def remove_moderator(user: dict[str, Any], topic_id: Any, target_id: Any) -> None:
    write_gate.admit(user, "manage")
    topic = require_owner(user, topic_id)
    target = _oid(target_id, "User")
    if member_role(topic["_id"], target) != MODERATOR:
        raise NotFound("That user is not a moderator of this topic.")
    TopicMember().set_role(topic["_id"], target, MEMBER)
    audit_service.record_moderation(user, "remove_moderator", topic["_id"], "user", target)


# Invitations (private topics)

def invite(actor: dict[str, Any], topic_id: Any, target_id: Any) -> None:
    write_gate.admit(actor, "invitation", topic_id=topic_id)
    topic = require_moderator(actor, topic_id)
    if topic["visibility"] != PRIVATE:
        raise BadRequest("Public topics need no invitation: anyone may join.")
    target = User().find_active(_oid(target_id, "User"))
    if target is None:
        raise NotFound("User not found.")
    if member_role(topic["_id"], target["_id"]) is not None:
        raise Conflict("This user is already a member.")
    if is_banned(topic["_id"], target["_id"]):
        raise Forbidden("This user is banned from the topic.")
    TopicInvitation().put(topic["_id"], target["_id"], actor["_id"])
    # Stored, so the invitee finds it in GET /api/notifications even if offline now.
    notifications_service.notify(target["_id"], "topic_invitation", {
        "topic_id": str(topic["_id"]), "title": topic["title"],
        "invited_by": serialize_public_user(actor)},
        actor=actor, sources={"topic": topic["_id"]})


def accept_invitation(user: dict[str, Any], topic_id: Any) -> dict[str, Any]:
    write_gate.admit(user, "join")
    topic = Topic().find_live(topic_id)
    # Without an invitation the private topic stays invisible: same 404 as missing. An
    # invitation whose inviter may no longer invite (no longer a moderator, banned from
    # the topic or the site) is used up the same way: it is worth what they may do now.
    invitation = TopicInvitation().take(topic["_id"], user["_id"]) if topic else None
    if invitation is None or not _may_invite(invitation["invited_by"], topic):
        raise NotFound("Invitation not found.")
    if is_banned(topic["_id"], user["_id"]):
        raise Forbidden("You are banned from this topic.")
    _add_member(topic, user["_id"])
    return Topic().get(topic["_id"])


def _may_invite(inviter_id: ObjectId, topic: dict[str, Any]) -> bool:
    inviter = User().find_active(inviter_id)
    return (inviter is not None and not ban_in_force(inviter)
            and can_moderate(inviter, topic))


def decline_invitation(user: dict[str, Any], topic_id: Any) -> None:
    if TopicInvitation().take(_oid(topic_id), user["_id"]) is None:
        raise NotFound("Invitation not found.")
