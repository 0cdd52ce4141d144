"""Socket.IO payloads that are not a resource of their own: the small server events
(`unread`, `read`, `presence`, the call signals, ...) and the acknowledgement data of
client events. The resources they carry (a message, a post, a call) are the shapes of
the other modules. /api/asyncapi.json is generated from these classes (routes/asyncapi.py).
"""
from __future__ import annotations

from marshmallow import Schema, fields

from services.platform.shapes.calls import CallSchema
from services.platform.shapes.messages import MessageSchema
from services.platform.shapes.users import PublicUserSchema

Id = fields.String


# Server events

class UnreadEventSchema(Schema):
    room_id = Id(required=True)
    unread_count = fields.Integer(required=True)
    muted = fields.Boolean(required=True, metadata={
        "description": "I muted the room: leave it out of the total badge."})


class MessagePinnedEventSchema(Schema):
    room_id = Id(required=True)
    message_id = Id(required=True)
    seq = fields.Integer(required=True)
    by = Id(required=True, metadata={"description": "Who pinned it."})


class MessageUnpinnedEventSchema(Schema):
    room_id = Id(required=True)
    message_id = Id(required=True)


class MessageHiddenEventSchema(Schema):
    id = Id(required=True)
    room_id = Id(required=True)
    seq = fields.Integer(required=True)


class RoomMutedEventSchema(Schema):
    room_id = Id(required=True)
    expires_at = fields.String(required=True, allow_none=True,
                               metadata={"format": "date-time"})


class AccountMutedEventSchema(Schema):
    reason = fields.String(required=True)
    expires_at = fields.String(required=True, allow_none=True,
                               metadata={"format": "date-time"})


class AccountUnmutedEventSchema(Schema):
    pass


class ReadEventSchema(Schema):
    room_id = Id(required=True)
    user_id = Id(required=True)
    seq = fields.Integer(required=True)


class MessageDeletedEventSchema(Schema):
    id = Id(required=True)
    room_id = Id(required=True)
    seq = fields.Integer(required=True)


class TypingStateSchema(Schema):
    room_id = Id(required=True)
    user_id = Id(required=True)
    user = fields.Nested(PublicUserSchema, required=True)
    typing = fields.Boolean(required=True)
    expires_in = fields.Float(required=True, metadata={
        "description": "Seconds until the indicator lapses without a refresh; 0 when stopped."})


class PresenceEventSchema(Schema):
    user_id = Id(required=True)
    online = fields.Boolean(required=True)


class RoomRefEventSchema(Schema):
    room_id = Id(required=True)
    reason = fields.String(metadata={
        "description": "Why, when the room itself went: `room_deleted`."})


class ForceLogoutEventSchema(Schema):
    reason = fields.String(required=True)


class ServerRestartingEventSchema(Schema):
    retry_after_ms = fields.Integer(required=True, metadata={
        "description": "Reconnect after this random delay (milliseconds)."})


class NotificationCountEventSchema(Schema):
    count = fields.Integer(required=True)


class PeerSchema(Schema):
    user_id = Id(required=True)
    party_id = fields.String(required=True)


class CallInviteEventSchema(Schema):
    call = fields.Nested(CallSchema, required=True)
    caller_party_id = fields.String(required=True)
    lifetime_ms = fields.Integer(required=True)


class CallPartyEventSchema(Schema):
    call_id = Id(required=True)
    user_id = Id(required=True)
    party_id = fields.String(required=True)


class CallAcceptedEventSchema(CallPartyEventSchema):
    call = fields.Nested(CallSchema, required=True)


class CallAnsweredElsewhereEventSchema(Schema):
    call_id = Id(required=True)
    party_id = fields.String(required=True)


class CallRejectedEventSchema(Schema):
    call_id = Id(required=True)
    user_id = Id(required=True)
    reason = fields.String(required=True)


class CallLeftEventSchema(CallPartyEventSchema):
    reason = fields.String(required=True)


class CallPartyDisconnectedEventSchema(CallPartyEventSchema):
    grace_seconds = fields.Float(required=True)


class CallEndedEventSchema(Schema):
    call_id = Id(required=True)
    room_id = Id(required=True)
    state = fields.String(required=True)
    reason = fields.String(required=True)
    by = Id(allow_none=True, required=True)
    duration_seconds = fields.Integer(allow_none=True, required=True)
    call = fields.Nested(CallSchema, required=True)


class SignalDescriptionSchema(Schema):
    type = fields.String(required=True, metadata={"enum": ["offer", "answer"]})
    sdp = fields.String(required=True)


class SignalCandidateSchema(Schema):
    candidate = fields.String(required=True)
    sdpMid = fields.String(allow_none=True)
    sdpMLineIndex = fields.Integer(allow_none=True)
    usernameFragment = fields.String(allow_none=True)


class CallSignalEventSchema(Schema):
    call_id = Id(required=True)
    from_user_id = Id(required=True)
    from_party_id = fields.String(required=True)


class CallDescriptionEventSchema(CallSignalEventSchema):
    description = fields.Nested(SignalDescriptionSchema, required=True)


class CallCandidatesEventSchema(CallSignalEventSchema):
    candidates = fields.List(fields.Nested(SignalCandidateSchema), required=True)


class CallMuteEventSchema(CallPartyEventSchema):
    audio_muted = fields.Boolean(required=True)
    video_muted = fields.Boolean(required=True)


class CallSpeakingEventSchema(CallPartyEventSchema):
    speaking = fields.Boolean(required=True)


class ConnectErrorDataSchema(Schema):
    """`connect_error`'s `data` when the server refuses a connection (docs/CLIENTS.md)."""

    code = fields.String(required=True, metadata={
        "enum": ["unauthorized", "session_expired", "banned", "rate_limited",
                 "validation_error"]})
    message = fields.String(required=True)
    retry_after = fields.Float(metadata={"description": "Seconds; with rate_limited."})
    details = fields.Dict(metadata={"description": "With validation_error: the auth "
                                                   "fields that are no text."})


# Acknowledgement data of client events

class JoinRoomAckSchema(Schema):
    room_id = Id(required=True)
    messages = fields.List(fields.Nested(MessageSchema), required=True)
    has_more = fields.Boolean(required=True)
    last_seq = fields.Integer(required=True)


class RoomLeftAckSchema(Schema):
    room_id = Id(required=True)


class TypingAckSchema(Schema):
    room_id = Id(required=True)
    typing = fields.Boolean(required=True)
    expires_in = fields.Float(required=True)


class MarkReadAckSchema(Schema):
    room_id = Id(required=True)
    unread_count = fields.Integer(required=True)


class OnlineUsersAckSchema(Schema):
    room_id = Id()
    topic_id = Id()
    user_ids = fields.List(Id(), required=True)


class TopicJoinedAckSchema(Schema):
    topic_id = Id(required=True)
    room = fields.String(required=True)


class TopicLeftAckSchema(Schema):
    topic_id = Id(required=True)


class PostJoinedAckSchema(Schema):
    post_id = Id(required=True)
    room = fields.String(required=True)


class PostLeftAckSchema(Schema):
    post_id = Id(required=True)


class CallJoinAckSchema(Schema):
    call = fields.Nested(CallSchema, required=True)
    party_id = fields.String(required=True)
    peers = fields.List(fields.Nested(PeerSchema), required=True)
    glare = fields.Boolean(required=True)


class CallRejectAckSchema(Schema):
    call_id = Id(required=True)
    rejected = fields.Boolean(required=True)


class CallRelayAckSchema(Schema):
    call_id = Id(required=True)
    to_party_id = fields.String(required=True)


class CallHeartbeatAckSchema(Schema):
    call_id = Id(required=True)
    expires_in = fields.Float(required=True)


class CallActiveAckSchema(Schema):
    room_id = Id(required=True)
    call = fields.Nested(CallSchema, allow_none=True, required=True)


class CallMineAckSchema(Schema):
    calls = fields.List(fields.Nested(CallSchema), required=True)


class CallAckSchema(Schema):
    call = fields.Nested(CallSchema, required=True)


class ConnectErrorSchema(Schema):
    """The CONNECT_ERROR packet: socket.io-client shows `message` as `err.message` and
    `data` as `err.data`."""

    message = fields.String(required=True)
    data = fields.Nested(ConnectErrorDataSchema, required=True)
