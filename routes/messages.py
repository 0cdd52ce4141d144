"""Messages: rooms (direct, group, topic chat), history, sending, edits, reactions and
read cursors. Socket.IO handlers call the same service functions."""
from __future__ import annotations

from flask import jsonify

from routes.message_schemas import (
    DirectBodySchema,
    DraftBodySchema,
    EditBodySchema,
    GroupBodySchema,
    HistoryQuerySchema,
    InvitationQuerySchema,
    MemberBodySchema,
    MessageSearchQuerySchema,
    MyRoomsQuerySchema,
    ReadBodySchema,
    RoomsQuerySchema,
    RoomUpdateSchema,
    SanctionBodySchema,
    ScheduledUpdateSchema,
    SendBodySchema,
    ThreadQuerySchema,
    ThreadsQuerySchema,
    TopicRoomBodySchema,
)
from services.chat import (
    chat_access,
    chat_drafts,
    chat_history,
    chat_invitations,
    chat_moderation,
    chat_personal,
    chat_pins,
    chat_reads,
    chat_rooms,
    chat_scheduled,
    chat_send,
    chat_threads,
    chat_views,
)
from services.discovery import search_service
from services.platform.shapes.history import EditVersionPageSchema
from services.platform.shapes.messages import (
    DraftSchema,
    FollowedThreadPageSchema,
    InvitationPageSchema,
    InvitationSchema,
    MessagePageSchema,
    MessageSchema,
    MessageSearchPageSchema,
    PinListSchema,
    ReactionsSchema,
    RoomPageSchema,
    RoomSchema,
    ScheduledMessagePageSchema,
    ScheduledMessageSchema,
    ThreadPageSchema,
    UnreadSchema,
)
from utils.api import Blueprint
from utils.auth import current_user, login_required
from utils.schemas import PageQuerySchema

blp = Blueprint("messages", __name__, description="Chat rooms and messages")
topic_rooms_blp = Blueprint("topic_rooms", __name__, description="Topic chat rooms")


@blp.route("/rooms")
@login_required
@blp.arguments(MyRoomsQuerySchema, location="query")
@blp.response(200, RoomPageSchema)
def list_rooms(query):
    """Rooms I belong to, newest activity first, with unread counts (`archived=true`:
    only the ones I archived)."""
    user = current_user()
    rooms, next_cursor = chat_rooms.list_my_rooms(user, query["limit"], query["cursor"],
                                                  query["archived"])
    return {"items": chat_views.rooms_view(user, rooms), "next_cursor": next_cursor}


@blp.route("/search")
@login_required
@blp.arguments(MessageSearchQuerySchema, location="query")
@blp.response(200, MessageSearchPageSchema)
def search(query):
    """Messages matching `q` in the rooms I may read (or in `room_id`), best first."""
    return search_service.search_messages(current_user(), query["q"], query["room_id"],
                                          query["limit"], query["cursor"])


@blp.route("/direct", methods=["POST"])
@login_required
@blp.arguments(DirectBodySchema)
@blp.response(201, RoomSchema)
@blp.alt_response(200, schema=RoomSchema, description="The existing direct room")
def open_direct(body):
    """The one direct room with a user (201 when new, 200 when it exists)."""
    room, created = chat_rooms.open_direct(current_user(), body["user_id"])
    return chat_views.room_view(current_user(), room), 201 if created else 200


@blp.route("/groups", methods=["POST"])
@login_required
@blp.arguments(GroupBodySchema)
@blp.response(201, RoomSchema)
def create_group(body):
    """Start a group conversation; I manage its members."""
    room = chat_rooms.create_group(current_user(), body["title"], body["member_ids"])
    return chat_views.room_view(current_user(), room)


@blp.route("/rooms/<objectid:room_id>")
@login_required
@blp.response(200, RoomSchema)
def get_room(room_id):
    """One room with my unread count."""
    return chat_views.room_view(current_user(), chat_access.readable_room(current_user(), room_id))


@blp.route("/rooms/<objectid:room_id>", methods=["PATCH"])
@login_required
@blp.arguments(RoomUpdateSchema)
@blp.response(200, RoomSchema)
def update_room(body, room_id):
    """Rename or describe a group (its manager) or topic room (its moderators); close a
    topic room to writes or reopen it (`read_only`, its topic's moderators)."""
    user = current_user()
    return chat_views.room_view(user, chat_rooms.update_room(user, room_id, body))


@blp.route("/rooms/<objectid:room_id>", methods=["DELETE"])
@login_required
@blp.response(204)
def delete_room(room_id):
    """Delete a topic's chat room (its topic's moderators): gone, history and all."""
    chat_rooms.delete_topic_room(current_user(), room_id)


@blp.route("/rooms/<objectid:room_id>/members", methods=["POST"])
@login_required
@blp.arguments(MemberBodySchema)
@blp.response(202, InvitationSchema)
def add_member(body, room_id):
    """Invite to my group (202: the user becomes a member when they accept)."""
    return chat_invitations.invite(current_user(), room_id, body["user_id"])[0]


@blp.route("/rooms/<objectid:room_id>/invitations", methods=["POST"])
@login_required
@blp.arguments(MemberBodySchema)
@blp.response(201, InvitationSchema)
@blp.alt_response(200, schema=InvitationSchema, description="Already invited: the pending one")
def invite(body, room_id):
    """Invite someone to a group I own or moderate."""
    invitation, created = chat_invitations.invite(current_user(), room_id, body["user_id"])
    return invitation, 201 if created else 200


@blp.route("/invitations")
@login_required
@blp.arguments(InvitationQuerySchema, location="query")
@blp.response(200, InvitationPageSchema)
def my_invitations(query):
    """My pending invitations into groups, newest first."""
    items, next_cursor = chat_invitations.list_mine(current_user(), query["limit"],
                                                    query["cursor"])
    return {"items": items, "next_cursor": next_cursor}


@blp.route("/invitations/<objectid:invitation_id>/accept", methods=["POST"])
@login_required
@blp.response(200, RoomSchema)
def accept_invitation(invitation_id):
    """Accept an invitation: I join the group (its members get `room_updated`)."""
    room = chat_invitations.accept(current_user(), invitation_id)
    return chat_views.room_view(current_user(), room)


@blp.route("/invitations/<objectid:invitation_id>/decline", methods=["POST"])
@login_required
@blp.response(204)
def decline_invitation(invitation_id):
    """Decline an invitation; it is gone."""
    chat_invitations.decline(current_user(), invitation_id)


@blp.route("/rooms/<objectid:room_id>/members/<objectid:user_id>", methods=["DELETE"])
@login_required
@blp.response(200, RoomSchema)
def remove_member(room_id, user_id):
    """Kick: the room's owner or moderators take a member out; their sockets leave at once."""
    room = chat_moderation.kick(current_user(), room_id, user_id)
    return chat_views.room_view(current_user(), room)


@blp.route("/rooms/<objectid:room_id>/bans", methods=["POST"])
@login_required
@blp.arguments(SanctionBodySchema)
@blp.response(200, RoomSchema)
def ban_member(body, room_id):
    """Ban from the room until `expires_at` (or until lifted): out now, and kept out."""
    room = chat_moderation.ban(current_user(), room_id, body["user_id"], body.get("reason"),
                               body["expires_at"])
    return chat_views.room_view(current_user(), room)


@blp.route("/rooms/<objectid:room_id>/bans/<objectid:user_id>", methods=["DELETE"])
@login_required
@blp.response(200, RoomSchema)
def unban_member(room_id, user_id):
    """Lift a room ban (answers the room whether or not there was one)."""
    room = chat_moderation.lift(current_user(), room_id, "bans", user_id)
    return chat_views.room_view(current_user(), room)


@blp.route("/rooms/<objectid:room_id>/mutes", methods=["POST"])
@login_required
@blp.arguments(SanctionBodySchema)
@blp.response(200, RoomSchema)
def mute_member(body, room_id):
    """Mute a member until `expires_at` (or until lifted): they read but cannot write."""
    room = chat_moderation.mute(current_user(), room_id, body["user_id"], body.get("reason"),
                                body["expires_at"])
    return chat_views.room_view(current_user(), room)


@blp.route("/rooms/<objectid:room_id>/mutes/<objectid:user_id>", methods=["DELETE"])
@login_required
@blp.response(200, RoomSchema)
def unmute_member(room_id, user_id):
    """Lift a room mute (answers the room whether or not there was one)."""
    room = chat_moderation.lift(current_user(), room_id, "mutes", user_id)
    return chat_views.room_view(current_user(), room)


@blp.route("/rooms/<objectid:room_id>/moderators", methods=["POST"])
@login_required
@blp.arguments(MemberBodySchema)
@blp.response(200, RoomSchema)
def add_moderator(body, room_id):
    """Make a member of my group a moderator (the owner)."""
    room = chat_moderation.set_moderator(current_user(), room_id, body["user_id"], True)
    return chat_views.room_view(current_user(), room)


@blp.route("/rooms/<objectid:room_id>/moderators/<objectid:user_id>", methods=["DELETE"])
@login_required
@blp.response(200, RoomSchema)
def remove_moderator(room_id, user_id):
    """A moderator of my group back to a plain member (the owner)."""
    room = chat_moderation.set_moderator(current_user(), room_id, user_id, False)
    return chat_views.room_view(current_user(), room)


@blp.route("/rooms/<objectid:room_id>/transfer", methods=["POST"])
@login_required
@blp.arguments(MemberBodySchema)
@blp.response(200, RoomSchema)
def transfer(body, room_id):
    """Hand my group to another member; I stay as a moderator."""
    room = chat_moderation.transfer(current_user(), room_id, body["user_id"])
    return chat_views.room_view(current_user(), room)


@blp.route("/rooms/<objectid:room_id>/leave", methods=["POST"])
@login_required
@blp.response(204)
def leave(room_id):
    """Leave a group or topic room."""
    chat_rooms.leave_room(current_user(), room_id)


@blp.route("/rooms/<objectid:room_id>/messages")
@login_required
@blp.arguments(HistoryQuerySchema, location="query")
@blp.response(200, MessagePageSchema)
def history(query, room_id):
    """Messages by seq, ascending: after `after_seq`, before `before_seq`, or the latest."""
    return chat_history.history(current_user(), room_id, query.get("after_seq"),
                        query.get("before_seq"), query["limit"])


@blp.route("/rooms/<objectid:room_id>/messages", methods=["POST"])
@login_required
@blp.arguments(SendBodySchema)
@blp.response(201, MessageSchema)
@blp.alt_response(200, schema=MessageSchema, description="Same client_id: the stored one")
@blp.alt_response(202, schema=ScheduledMessageSchema,
                  description="With send_at: kept, sent at that time")
def send(body, room_id):
    """Send a message; repeating a client_id returns the first message (200); with
    `send_at`, schedule it (202)."""
    if body["send_at"] is not None:
        scheduled = chat_scheduled.schedule(
            current_user(), room_id, body["body"], body["send_at"], body["attachments"],
            body["reply_to"], body["thread_root_id"], body["also_to_room"])
        # Its own shape, not the message's: answered as is.
        return jsonify(scheduled), 202
    message, created = chat_send.send_message(current_user(), room_id, body["body"],
                                         body["client_id"], body["reply_to"],
                                         body["attachments"], body["gif"],
                                         body["thread_root_id"], body["also_to_room"],
                                         poll=body["poll"])
    return message, 201 if created else 200


@blp.route("/scheduled")
@login_required
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, ScheduledMessagePageSchema)
def list_scheduled(query):
    """My scheduled messages, the soonest first."""
    return chat_scheduled.list_mine(current_user(), query["limit"], query["cursor"])


@blp.route("/scheduled/<objectid:scheduled_id>", methods=["PATCH"])
@login_required
@blp.arguments(ScheduledUpdateSchema)
@blp.response(200, ScheduledMessageSchema)
def update_scheduled(body, scheduled_id):
    """Change the body or the time of one of my scheduled messages."""
    return chat_scheduled.update(current_user(), scheduled_id, body)


@blp.route("/scheduled/<objectid:scheduled_id>", methods=["DELETE"])
@login_required
@blp.response(204)
def cancel_scheduled(scheduled_id):
    """Cancel one of my scheduled messages."""
    chat_scheduled.cancel(current_user(), scheduled_id)


@blp.route("/threads")
@login_required
@blp.arguments(ThreadsQuerySchema, location="query")
@blp.response(200, FollowedThreadPageSchema)
def my_threads(query):
    """Threads I follow with my unread count of each: unread first, then latest reply."""
    return chat_threads.my_threads(current_user(), query["limit"], query["cursor"])


@blp.route("/<objectid:message_id>/thread")
@login_required
@blp.arguments(ThreadQuerySchema, location="query")
@blp.response(200, ThreadPageSchema)
def thread(query, message_id):
    """A thread: its root and its replies after `after_seq`, oldest first."""
    return chat_threads.thread(current_user(), message_id, query["after_seq"],
                               query["limit"], query["cursor"])


@blp.route("/<objectid:message_id>/thread/follow", methods=["POST"])
@login_required
@blp.response(204)
def follow_thread(message_id):
    """Follow a thread: its replies notify me and count as unread."""
    chat_threads.set_following(current_user(), message_id, True)


@blp.route("/<objectid:message_id>/thread/follow", methods=["DELETE"])
@login_required
@blp.response(204)
def unfollow_thread(message_id):
    """Stop following a thread (until I reply in it or am mentioned there)."""
    chat_threads.set_following(current_user(), message_id, False)


@blp.route("/<objectid:message_id>/thread/read", methods=["POST"])
@login_required
@blp.arguments(ReadBodySchema)
@blp.response(200, UnreadSchema)
def mark_thread_read(body, message_id):
    """Move my read marker of a thread I follow forward; my unread count of it."""
    return {"unread_count": chat_threads.mark_read(current_user(), message_id, body["seq"])}


@blp.route("/<objectid:message_id>", methods=["PATCH"])
@login_required
@blp.arguments(EditBodySchema)
@blp.response(200, MessageSchema)
def edit(body, message_id):
    """Edit my message."""
    return chat_history.edit_message(current_user(), message_id, body["body"])


@blp.route("/<objectid:message_id>/history")
@login_required
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, EditVersionPageSchema)
def edit_history(query, message_id):
    """Earlier versions of a message, the first first: to its author, the room's
    moderators and site staff (anyone else: 404, as for a missing message)."""
    return chat_history.message_history(current_user(), message_id, query["limit"],
                                        query["cursor"])


@blp.route("/<objectid:message_id>", methods=["DELETE"])
@login_required
@blp.response(200, MessageSchema)
def delete(message_id):
    """Delete a message (author or moderators); its seq stays, its body goes."""
    return chat_history.delete_message(current_user(), message_id)


@blp.route("/rooms/<objectid:room_id>/pins")
@login_required
@blp.response(200, PinListSchema)
def pins(room_id):
    """The room's pinned messages, most recently pinned first."""
    return chat_pins.list_pins(current_user(), room_id)


@blp.route("/<objectid:message_id>/pin", methods=["PUT"])
@login_required
@blp.response(204)
def pin(message_id):
    """Pin a message (the room's moderators; in a direct room either member)."""
    chat_pins.pin(current_user(), message_id)


@blp.route("/<objectid:message_id>/pin", methods=["DELETE"])
@login_required
@blp.response(204)
def unpin(message_id):
    """Unpin a message (who may pin it)."""
    chat_pins.unpin(current_user(), message_id)


@blp.route("/<objectid:message_id>/for-me", methods=["DELETE"])
@login_required
@blp.response(204)
def delete_for_me(message_id):
    """Delete a message for me only: everyone else keeps it."""
    chat_personal.delete_for_me(current_user(), message_id)


@blp.route("/rooms/<objectid:room_id>/archive", methods=["PUT"])
@login_required
@blp.response(204)
def archive(room_id):
    """Archive a conversation of mine: out of my room list until a new message arrives."""
    chat_personal.set_archived(current_user(), room_id, True)


@blp.route("/rooms/<objectid:room_id>/archive", methods=["DELETE"])
@login_required
@blp.response(204)
def unarchive(room_id):
    """Bring an archived conversation back to my room list."""
    chat_personal.set_archived(current_user(), room_id, False)


@blp.route("/rooms/<objectid:room_id>/draft")
@login_required
@blp.response(200, DraftSchema)
def get_draft(room_id):
    """My draft in a room (empty body: none), the same on all my devices."""
    return chat_drafts.get_draft(current_user(), room_id)


@blp.route("/rooms/<objectid:room_id>/draft", methods=["PUT"])
@login_required
@blp.arguments(DraftBodySchema)
@blp.response(200, DraftSchema)
def save_draft(body, room_id):
    """Save my draft in a room (an empty body deletes it); my sockets get `draft_updated`."""
    return chat_drafts.save_draft(current_user(), room_id, body["body"])


@blp.route("/<objectid:message_id>/reactions/<string:emoji>", methods=["PUT"])
@login_required
@blp.response(200, ReactionsSchema)
def add_reaction(message_id, emoji):
    """React with one emoji."""
    return chat_history.react(current_user(), message_id, emoji, True)


@blp.route("/<objectid:message_id>/reactions/<string:emoji>", methods=["DELETE"])
@login_required
@blp.response(200, ReactionsSchema)
def remove_reaction(message_id, emoji):
    """Take my reaction back."""
    return chat_history.react(current_user(), message_id, emoji, False)


@blp.route("/rooms/<objectid:room_id>/read", methods=["POST"])
@login_required
@blp.arguments(ReadBodySchema)
@blp.response(200, UnreadSchema)
def mark_read(body, room_id):
    """Move my read cursor forward; returns my unread count."""
    return {"unread_count": chat_reads.mark_read(current_user(), room_id, body["seq"])}


@topic_rooms_blp.route("/<objectid:topic_id>/rooms")
@login_required
@topic_rooms_blp.arguments(RoomsQuerySchema, location="query")
@topic_rooms_blp.response(200, RoomPageSchema)
def list_topic_rooms(query, topic_id):
    """Chat rooms of a topic, most active first."""
    user = current_user()
    rooms, next_cursor = chat_rooms.list_topic_rooms(user, topic_id, query["limit"],
                                                     query["cursor"])
    return {"items": chat_views.rooms_view(user, rooms), "next_cursor": next_cursor}


@topic_rooms_blp.route("/<objectid:topic_id>/rooms", methods=["POST"])
@login_required
@topic_rooms_blp.arguments(TopicRoomBodySchema)
@topic_rooms_blp.response(201, RoomSchema)
def create_topic_room(body, topic_id):
    """Create a chat room in a topic (topic members)."""
    room = chat_rooms.create_topic_room(current_user(), topic_id, body["name"], body["description"])
    return chat_views.room_view(current_user(), room)
