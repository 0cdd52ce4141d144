"""Request and response schemas of the messages area (REST and Socket.IO payloads)."""
from __future__ import annotations

from marshmallow import ValidationError as SchemaError
from marshmallow import fields, validate, validates_schema

from routes.poll_schemas import PollSpec
from services.chat.chat_rooms import MAX_GROUP_MEMBERS
from services.media.gifs import MAX_GIF_SIDE, MAX_GIF_URL
from utils.schemas import ConfigLength, PageQuerySchema, StrictSchema

ObjectIdField = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{24}$"))
Seq = fields.Integer(validate=validate.Range(min=0, max=2**53))
# The service applies the same CHAT_MESSAGE_MAX_LENGTH after trimming (and lets a
# message with attachments have no words).
Body = fields.String(required=True, validate=ConfigLength("CHAT_MESSAGE_MAX_LENGTH"))
# Upload ids (POST /api/uploads), at most the UPLOAD_MAX_ATTACHMENTS the service applies.
Attachments = fields.List(fields.String(validate=validate.Regexp(r"^[0-9a-f]{24}$")),
                          load_default=list, validate=ConfigLength("UPLOAD_MAX_ATTACHMENTS"))


class GifItemSchema(StrictSchema):
    """A GIF picked from GET /api/gifs/search: its `full` URL (and sizes, and the
    `preview` URL as thumbnail); only the provider's media hosts are accepted."""
    url = fields.String(required=True, validate=validate.Length(min=1, max=MAX_GIF_URL))
    width = fields.Integer(validate=validate.Range(min=1, max=MAX_GIF_SIDE))
    height = fields.Integer(validate=validate.Range(min=1, max=MAX_GIF_SIDE))
    thumbnail_url = fields.String(validate=validate.Length(min=1, max=MAX_GIF_URL))


ClientId = fields.String(required=True, validate=validate.Length(min=1, max=64))
Title = fields.String(validate=validate.Length(min=1, max=100))


class DirectBodySchema(StrictSchema):
    user_id = ObjectIdField


class GroupBodySchema(StrictSchema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=100))
    # The others: the creator is a member too.
    member_ids = fields.List(ObjectIdField, required=True,
                             validate=validate.Length(max=MAX_GROUP_MEMBERS - 1))


class RoomUpdateSchema(StrictSchema):
    title = Title
    description = fields.String(validate=validate.Length(max=500))
    # A topic room only (its topic's moderators): true closes it to writes, false reopens.
    read_only = fields.Boolean()


class TopicRoomBodySchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    description = fields.String(load_default="", validate=validate.Length(max=500))


class MemberBodySchema(StrictSchema):
    user_id = ObjectIdField


class SanctionBodySchema(StrictSchema):
    user_id = ObjectIdField
    reason = fields.String(validate=validate.Length(min=1, max=1000))
    # Until when (ISO 8601 with offset, in the future); none: until lifted.
    expires_at = fields.AwareDateTime(format="iso", allow_none=True, load_default=None)


class HistoryQuerySchema(StrictSchema):
    after_seq = Seq
    before_seq = Seq
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))

    @validates_schema
    def one_direction(self, data, **kwargs):
        if "after_seq" in data and "before_seq" in data:
            raise SchemaError("Give after_seq or before_seq, not both.", "before_seq")


class _SendFieldsSchema(StrictSchema):
    """What a REST send and the socket `send_message` share."""

    body = Body
    client_id = ClientId
    reply_to = fields.String(load_default=None, allow_none=True,
                             validate=validate.Regexp(r"^[0-9a-f]{24}$"))
    attachments = Attachments
    gif = fields.Nested(GifItemSchema, load_default=None, allow_none=True)
    # A reply in the thread of that message; `also_to_room`: shown in the room too.
    thread_root_id = fields.String(load_default=None, allow_none=True,
                                   validate=validate.Regexp(r"^[0-9a-f]{24}$"))
    also_to_room = fields.Boolean(load_default=False)
    poll = PollSpec


class SendBodySchema(_SendFieldsSchema):
    # Send it then (ISO 8601 with offset, in the future, at most 30 days ahead): 202 and
    # a scheduled item (GET /api/messages/scheduled) instead of the message.
    send_at = fields.AwareDateTime(format="iso", load_default=None, allow_none=True)

    @validates_schema
    def schedulable(self, data, **kwargs):
        if data.get("send_at") and (data.get("gif") or data.get("poll")):
            raise SchemaError("A scheduled message carries no GIF or poll.", "send_at")


class ScheduledUpdateSchema(StrictSchema):
    body = fields.String(validate=ConfigLength("CHAT_MESSAGE_MAX_LENGTH"))
    send_at = fields.AwareDateTime(format="iso")

    @validates_schema
    def something(self, data, **kwargs):
        if not data:
            raise SchemaError("Give body or send_at.", "body")



class ThreadQuerySchema(PageQuerySchema):
    after_seq = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**53))


ThreadsQuerySchema = PageQuerySchema


class EditBodySchema(StrictSchema):
    body = Body


class DraftBodySchema(StrictSchema):
    # Empty (or blank): no draft any more.
    body = fields.String(required=True, validate=ConfigLength("CHAT_MESSAGE_MAX_LENGTH"))


class ReadBodySchema(StrictSchema):
    seq = fields.Integer(required=True, validate=validate.Range(min=0, max=2**53))


RoomsQuerySchema = PageQuerySchema


class MessageSearchQuerySchema(PageQuerySchema):
    q = fields.String(required=True, validate=validate.Length(min=1, max=200))
    room_id = fields.String(load_default=None, validate=validate.Regexp(r"^[0-9a-f]{24}$"))


class MyRoomsQuerySchema(PageQuerySchema):
    archived = fields.Boolean(load_default=False)


InvitationQuerySchema = PageQuerySchema


# Socket.IO payloads

class RoomRefSchema(StrictSchema):
    room_id = ObjectIdField


class TopicRefSchema(StrictSchema):
    topic_id = ObjectIdField


class JoinRoomSchema(RoomRefSchema):
    after_seq = fields.Integer(load_default=None, allow_none=True,
                               validate=validate.Range(min=0, max=2**53))


class SendEventSchema(_SendFieldsSchema):
    room_id = ObjectIdField  # no send_at: scheduling is REST only (202, a scheduled item)


class EditEventSchema(EditBodySchema):
    message_id = ObjectIdField


class MessageRefSchema(StrictSchema):
    message_id = ObjectIdField


class ReactEventSchema(MessageRefSchema):
    emoji = fields.String(required=True, validate=validate.Length(min=1, max=16))
    on = fields.Boolean(load_default=True)


class TypingEventSchema(RoomRefSchema):
    typing = fields.Boolean(required=True)


class DraftEventSchema(RoomRefSchema, DraftBodySchema):
    pass


class MarkReadEventSchema(RoomRefSchema):
    seq = fields.Integer(required=True, validate=validate.Range(min=0, max=2**53))


class OnlineQuerySchema(StrictSchema):
    room_id = fields.String(validate=validate.Regexp(r"^[0-9a-f]{24}$"))
    topic_id = fields.String(validate=validate.Regexp(r"^[0-9a-f]{24}$"))

    @validates_schema
    def exactly_one(self, data, **kwargs):
        if ("room_id" in data) == ("topic_id" in data):
            raise SchemaError("Give room_id or topic_id.", "room_id")
