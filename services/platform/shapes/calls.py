"""Calls as the REST answers and the call events show them (docs/CALLS.md)."""
from __future__ import annotations

from marshmallow import Schema, fields

from services.platform.shapes.fields import Timestamp
from utils.schemas import page_schema


class PartySchema(Schema):
    user_id = fields.String(required=True)
    party_id = fields.String(required=True)
    joined_at = Timestamp(required=True)
    audio_muted = fields.Boolean(required=True, dump_default=False)
    video_muted = fields.Boolean(required=True, dump_default=False)
    connected = fields.Boolean(required=True)


class CallSchema(Schema):
    id = fields.String(attribute="_id", required=True)
    room_id = fields.String(required=True)
    room_kind = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": ["audio", "video"]})
    state = fields.String(required=True, metadata={
        "enum": ["ringing", "active", "ended", "missed", "rejected", "cancelled"]})
    created_by = fields.String(required=True)
    created_at = Timestamp(required=True)
    ring_expires_at = Timestamp(attribute="ring_deadline", required=True)
    lifetime_ms = fields.Integer(required=True)
    answered_at = Timestamp(allow_none=True, required=True, dump_default=None)
    ended_at = Timestamp(allow_none=True, required=True, dump_default=None)
    end_reason = fields.String(allow_none=True, required=True, dump_default=None)
    ended_by = fields.String(allow_none=True, required=True, dump_default=None)
    invitee_ids = fields.List(fields.String(), required=True)
    rejected_ids = fields.List(fields.String(), required=True, dump_default=list)
    participants = fields.List(fields.Nested(PartySchema), required=True)
    duration_seconds = fields.Integer(allow_none=True, required=True)


class IceServerSchema(Schema):
    urls = fields.List(fields.String(), required=True)
    username = fields.String()
    credential = fields.String()


class IceServersSchema(Schema):
    ice_servers = fields.List(fields.Nested(IceServerSchema), required=True)
    ttl = fields.Integer(required=True)
    expires_at = Timestamp(required=True)


CallPageSchema = page_schema(CallSchema, "CallPage")

CALL = CallSchema()
