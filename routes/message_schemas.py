"""Request and response schemas of the messages area (REST and Socket.IO payloads)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate, validates_schema
from marshmallow import ValidationError as SchemaError

from routes.account_schemas import PublicUserSchema
from utils.schemas import PageQuerySchema, StrictSchema, page_schema

ObjectIdField = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{24}$"))
Seq = fields.Integer(validate=validate.Range(min=0, max=2**53))
# Generous bound; the service applies CHAT_MESSAGE_MAX_LENGTH after trimming.
Body = fields.String(required=True, validate=validate.Length(min=1, max=20000))
ClientId = fields.String(required=True, validate=validate.Length(min=1, max=64))
Title = fields.String(validate=validate.Length(min=1, max=100))


class DirectBodySchema(StrictSchema):
    user_id = ObjectIdField


class GroupBodySchema(StrictSchema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=100))
    member_ids = fields.List(ObjectIdField, required=True, validate=validate.Length(max=99))


class RoomUpdateSchema(StrictSchema):
    title = Title
    description = fields.String(validate=validate.Length(max=500))


class TopicRoomBodySchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    description = fields.String(load_default="", validate=validate.Length(max=500))


class MemberBodySchema(StrictSchema):
    user_id = ObjectIdField


class HistoryQuerySchema(StrictSchema):
    after_seq = Seq
    before_seq = Seq
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))

    @validates_schema
    def one_direction(self, data, **kwargs):
        if "after_seq" in data and "before_seq" in data:
            raise SchemaError("Give after_seq or before_seq, not both.", "before_seq")


class SendBodySchema(StrictSchema):
    body = Body
    client_id = ClientId
    reply_to = fields.String(load_default=None, allow_none=True,
                             validate=validate.Regexp(r"^[0-9a-f]{24}$"))


class EditBodySchema(StrictSchema):
    body = Body


class ReadBodySchema(StrictSchema):
    seq = fields.Integer(required=True, validate=validate.Range(min=0, max=2**53))


class UnreadSchema(Schema):
    unread_count = fields.Integer(required=True)


class SnapshotSchema(Schema):
    id = fields.String()
    seq = fields.Integer()
    author_id = fields.String()
    body = fields.String()
    created_at = fields.String()
    deleted = fields.Boolean()


class RoomSchema(Schema):
    id = fields.String(required=True)
    kind = fields.String(required=True)
    title = fields.String(allow_none=True)
    description = fields.String()
    topic_id = fields.String(allow_none=True)
    created_by = fields.String()
    members = fields.List(fields.Nested(PublicUserSchema))
    last_seq = fields.Integer(required=True)
    last_message = fields.Nested(SnapshotSchema, allow_none=True)
    last_message_at = fields.String(allow_none=True)
    unread_count = fields.Integer(required=True)
    last_read_seq = fields.Integer()
    created_at = fields.String()


class MessageSchema(Schema):
    id = fields.String(required=True)
    room_id = fields.String(required=True)
    seq = fields.Integer(required=True)
    author = fields.Nested(PublicUserSchema, allow_none=True)
    body = fields.String(required=True)
    reply_to = fields.String(allow_none=True)
    reactions = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    client_id = fields.String()
    created_at = fields.String()
    edited_at = fields.String(allow_none=True)
    deleted = fields.Boolean()
    # Set on messages the server wrote (docs/CALLS.md: `{type: "call", event, call_id, ...}`).
    system = fields.Dict(allow_none=True)


class MessagePageSchema(Schema):
    items = fields.List(fields.Nested(MessageSchema), required=True)
    has_more = fields.Boolean(required=True)


class ReactionsSchema(Schema):
    id = fields.String()
    room_id = fields.String()
    seq = fields.Integer()
    reactions = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


RoomPageSchema = page_schema(RoomSchema, "RoomPage")
RoomsQuerySchema = PageQuerySchema


# Socket.IO payloads

class RoomRefSchema(StrictSchema):
    room_id = ObjectIdField


class TopicRefSchema(StrictSchema):
    topic_id = ObjectIdField


class JoinRoomSchema(RoomRefSchema):
    after_seq = fields.Integer(load_default=None, allow_none=True,
                               validate=validate.Range(min=0, max=2**53))


class SendEventSchema(SendBodySchema):
    room_id = ObjectIdField


class EditEventSchema(EditBodySchema):
    message_id = ObjectIdField


class MessageRefSchema(StrictSchema):
    message_id = ObjectIdField


class ReactEventSchema(MessageRefSchema):
    emoji = fields.String(required=True, validate=validate.Length(min=1, max=16))
    on = fields.Boolean(load_default=True)


class TypingEventSchema(RoomRefSchema):
    typing = fields.Boolean(required=True)


class MarkReadEventSchema(RoomRefSchema):
    seq = fields.Integer(required=True, validate=validate.Range(min=0, max=2**53))


class OnlineQuerySchema(StrictSchema):
    room_id = fields.String(validate=validate.Regexp(r"^[0-9a-f]{24}$"))
    topic_id = fields.String(validate=validate.Regexp(r"^[0-9a-f]{24}$"))

    @validates_schema
    def exactly_one(self, data, **kwargs):
        if ("room_id" in data) == ("topic_id" in data):
            raise SchemaError("Give room_id or topic_id.", "room_id")
