"""Schemas of the calls area: REST answers and the Socket.IO call events (docs/CALLS.md)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from utils.schemas import PageQuerySchema, StrictSchema

ObjectIdField = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{24}$"))
# A device's id within a call, chosen by the client (kept across reconnects).
PartyId = fields.String(validate=validate.Regexp(r"^[A-Za-z0-9_.:-]{1,64}$"))
HANGUP_REASONS = ("user_hangup", "ice_failed", "ice_timeout", "user_media_failed",
                  "user_busy", "unknown_error")
REJECT_REASONS = ("rejected", "user_busy")


# REST

class CallQuerySchema(PageQuerySchema):
    room_id = fields.String(load_default=None, validate=validate.Regexp(r"^[0-9a-f]{24}$"))


# Socket.IO payloads

class CallRefSchema(StrictSchema):
    call_id = ObjectIdField


class StartCallSchema(StrictSchema):
    room_id = ObjectIdField
    kind = fields.String(load_default="audio", validate=validate.OneOf(["audio", "video"]))
    party_id = PartyId


class AcceptCallSchema(CallRefSchema):
    party_id = PartyId


class RejoinCallSchema(CallRefSchema):
    party_id = fields.String(required=True, validate=PartyId.validate)


class RejectCallSchema(CallRefSchema):
    reason = fields.String(load_default="rejected", validate=validate.OneOf(REJECT_REASONS))


class HangupSchema(CallRefSchema):
    reason = fields.String(load_default="user_hangup", validate=validate.OneOf(HANGUP_REASONS))


class DescriptionSchema(StrictSchema):
    type = fields.String(required=True, validate=validate.OneOf(["offer", "answer"]))
    sdp = fields.String(required=True, validate=validate.Length(min=1, max=60000))


class AddressedSchema(CallRefSchema):
    to_party_id = fields.String(required=True, validate=PartyId.validate)


class DescriptionEventSchema(AddressedSchema):
    description = fields.Nested(DescriptionSchema, required=True)


class CandidateSchema(Schema):
    # RTCIceCandidateInit as the browser produces it; "" marks the end of candidates.
    candidate = fields.String(required=True, validate=validate.Length(max=2000))
    sdpMid = fields.String(allow_none=True, validate=validate.Length(max=64))
    sdpMLineIndex = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=1000))
    usernameFragment = fields.String(allow_none=True, validate=validate.Length(max=256))


class CandidatesSchema(AddressedSchema):
    candidates = fields.List(fields.Nested(CandidateSchema), required=True,
                             validate=validate.Length(min=1, max=50))


class MuteSchema(CallRefSchema):
    audio_muted = fields.Boolean()
    video_muted = fields.Boolean()


class SpeakingSchema(CallRefSchema):
    speaking = fields.Boolean(required=True)


class RoomRefSchema(StrictSchema):
    room_id = ObjectIdField
