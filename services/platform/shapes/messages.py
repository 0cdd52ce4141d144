"""Chat rooms and messages (REST answers and the Socket.IO payloads alike)."""
from __future__ import annotations

from marshmallow import Schema, fields

from services.platform.shapes.fields import Timestamp
from services.platform.shapes.media import AttachmentSchema
from services.platform.shapes.polls import poll_field
from services.platform.shapes.previews import previews_field
from services.platform.shapes.users import PublicUserSchema
from utils.schemas import page_schema


class UnreadSchema(Schema):
    unread_count = fields.Integer(required=True)


class SnapshotSchema(Schema):
    """The last message of a room as the room list shows it (body cut short)."""

    id = fields.String(required=True)
    seq = fields.Integer(required=True)
    author_id = fields.String(required=True)
    author = fields.Nested(PublicUserSchema, allow_none=True, required=True,
                           dump_default=None)
    body = fields.String(required=True)
    created_at = Timestamp(required=True)
    deleted = fields.Boolean(required=True)


class RoomMuteSchema(Schema):
    user_id = fields.String(required=True)
    expires_at = Timestamp(allow_none=True, required=True, dump_default=None)


class RoomSchema(Schema):
    id = fields.String(attribute="_id", required=True)
    kind = fields.String(required=True)
    title = fields.String(allow_none=True, required=True, dump_default=None)
    description = fields.String(required=True)
    topic_id = fields.String(allow_none=True, required=True, dump_default=None)
    created_by = fields.String(required=True)
    members = fields.List(fields.Nested(PublicUserSchema), required=True)
    last_seq = fields.Integer(required=True)
    last_message = fields.Nested(SnapshotSchema, allow_none=True, required=True)
    last_message_at = Timestamp(allow_none=True, required=True, dump_default=None)
    unread_count = fields.Integer(required=True)
    last_read_seq = fields.Integer(required=True)
    created_at = Timestamp(required=True)
    # `created_by` is the group's owner (ownership moves with a transfer or when the
    # owner leaves); moderators and the mutes in force (docs/MESSAGING.md "Room roles").
    # Mine: the room (or its topic) muted in /api/notifications/mutes, and archived.
    muted = fields.Boolean(required=True)
    archived = fields.Boolean(required=True)
    moderator_ids = fields.List(fields.String(), required=True)
    mutes = fields.List(fields.Nested(RoomMuteSchema), required=True)
    # A topic room its topic's moderators closed: readable, sends refused (`room_read_only`).
    read_only = fields.Boolean(required=True, dump_default=False)


class ThreadSummarySchema(Schema):
    """A thread root's replies at a glance (docs/MESSAGING.md "Threads")."""

    reply_count = fields.Integer(required=True)
    last_reply_at = Timestamp(required=True)
    last_repliers = fields.List(fields.Nested(PublicUserSchema), required=True,
                                metadata={"description": "Up to 3, the latest last."})


class MessageSchema(Schema):
    id = fields.String(attribute="_id", required=True)
    room_id = fields.String(required=True)
    seq = fields.Integer(required=True)
    author = fields.Nested(PublicUserSchema, allow_none=True, required=True)
    body = fields.String(required=True)
    reply_to = fields.String(allow_none=True, required=True, dump_default=None)
    reactions = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                            required=True)
    client_id = fields.String(required=True)
    created_at = Timestamp(required=True)
    edited_at = Timestamp(allow_none=True, required=True, dump_default=None)
    edit_count = fields.Integer(required=True, dump_default=0)  # GET /api/messages/<id>/history
    deleted = fields.Boolean(required=True)
    attachments = fields.List(fields.Nested(AttachmentSchema), required=True,
                              dump_default=list)
    # Set on messages the server wrote (docs/CALLS.md: `{type: "call", event, call_id, ...}`).
    system = fields.Dict(allow_none=True, required=True, dump_default=None)
    previews = previews_field()
    # A reply in a thread names its root; a root with replies carries their summary.
    thread_root_id = fields.String(allow_none=True, required=True, dump_default=None)
    thread = fields.Nested(ThreadSummarySchema, allow_none=True, required=True,
                           dump_default=None)
    # A poll the message carries (docs/POLLS.md); `my_vote` is the reader's.
    poll = poll_field()
    # In history and catch-up, as the reader sees it: a message they deleted for
    # themselves, or by an author they hide, is an empty placeholder with one of these.
    deleted_for_me = fields.Boolean(required=True, dump_default=False)
    author_hidden = fields.Boolean(required=True, dump_default=False)


class MessagePageSchema(Schema):
    items = fields.List(fields.Nested(MessageSchema), required=True)
    has_more = fields.Boolean(required=True)


MessageSearchPageSchema = page_schema(MessageSchema, "MessageSearchPage")


class PinListSchema(Schema):
    items = fields.List(fields.Nested(MessageSchema), required=True)


class ReactionsSchema(Schema):
    id = fields.String(attribute="_id", required=True)
    room_id = fields.String(required=True)
    seq = fields.Integer(required=True)
    reactions = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                            required=True)


RoomPageSchema = page_schema(RoomSchema, "RoomPage")


class ThreadPageSchema(Schema):
    """A thread: its root and a page of its replies, oldest first."""

    root = fields.Nested(MessageSchema, required=True)
    items = fields.List(fields.Nested(MessageSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class FollowedThreadSchema(Schema):
    """A thread I follow, with how many replies I have not read."""

    root = fields.Nested(MessageSchema, required=True)
    room_id = fields.String(required=True)
    unread_count = fields.Integer(required=True)
    last_read_seq = fields.Integer(required=True)
    last_reply_at = Timestamp(required=True)


FollowedThreadPageSchema = page_schema(FollowedThreadSchema, "FollowedThreadPage")


class ThreadUpdatedEventSchema(Schema):
    root_id = fields.String(required=True)
    room_id = fields.String(required=True)
    # null once the thread's last reply was deleted
    thread = fields.Nested(ThreadSummarySchema, required=True, allow_none=True)


class InvitationSchema(Schema):
    """A pending invitation into a group, as its invitee sees it."""

    id = fields.String(attribute="_id", required=True)
    room_id = fields.String(required=True)
    room_title = fields.String(allow_none=True, required=True)
    member_count = fields.Integer(required=True)
    inviter = fields.Nested(PublicUserSchema, allow_none=True, required=True)
    created_at = Timestamp(required=True)


InvitationPageSchema = page_schema(InvitationSchema, "RoomInvitationPage")


class DraftSchema(Schema):
    """My unsent text in a room (empty, `updated_at` null: no draft)."""

    room_id = fields.String(required=True)
    body = fields.String(required=True)
    updated_at = Timestamp(allow_none=True, required=True, dump_default=None)


class ScheduledMessageSchema(Schema):
    """A message of mine waiting for its time (`send_at`); sent as a normal message then."""

    id = fields.String(attribute="_id", required=True)
    room_id = fields.String(required=True)
    body = fields.String(required=True)
    attachments = fields.List(fields.String(), required=True, dump_default=[],
                              metadata={"description": "Upload ids attached when it is sent."})
    reply_to = fields.String(allow_none=True, required=True, dump_default=None)
    thread_root_id = fields.String(allow_none=True, required=True, dump_default=None)
    also_to_room = fields.Boolean(required=True, dump_default=False)
    send_at = Timestamp(required=True)
    created_at = Timestamp(required=True)


ScheduledMessagePageSchema = page_schema(ScheduledMessageSchema, "ScheduledMessagePage")

SNAPSHOT = SnapshotSchema()
ROOM = RoomSchema()
INVITATION = InvitationSchema()
MESSAGE = MessageSchema()
FOLLOWED_THREAD = FollowedThreadSchema()
THREAD_UPDATED = ThreadUpdatedEventSchema()
REACTIONS = ReactionsSchema()
DRAFT = DraftSchema()
SCHEDULED = ScheduledMessageSchema()
