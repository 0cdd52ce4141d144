"""Polls as an item (a post, a chat message) carries them, their live updates and their
voters (docs/POLLS.md)."""
from __future__ import annotations

from marshmallow import Schema, fields

from services.platform.shapes.fields import Timestamp
from services.platform.shapes.users import PublicUserSchema
from utils.schemas import page_schema


class PollOptionSchema(Schema):
    id = fields.String(required=True)
    text = fields.String(required=True)
    votes = fields.Integer(required=True)


class PollSchema(Schema):
    id = fields.String(attribute="_id", required=True)
    question = fields.String(required=True)
    options = fields.List(fields.Nested(PollOptionSchema), required=True)
    multiple = fields.Boolean(required=True)
    anonymous = fields.Boolean(required=True, metadata={
        "description": "Nobody, staff included, may list who voted for what."})
    closes_at = Timestamp(allow_none=True, required=True, dump_default=None)
    closed = fields.Boolean(required=True)
    voters_count = fields.Integer(required=True)
    my_vote = fields.List(fields.String(), allow_none=True, required=True, metadata={
        "description": "The option ids I chose; null when I have not voted (and in "
                       "broadcasts, which have no viewer)."})


def poll_field() -> fields.Nested:
    """The `poll` of an item: null when it has none."""
    return fields.Nested(PollSchema, allow_none=True, required=True, dump_default=None)


class PollUpdatedEventSchema(Schema):
    item_type = fields.String(required=True, metadata={"description": "message or post"})
    item_id = fields.String(required=True)
    poll = fields.Nested(PollSchema, required=True)


class PollVoterSchema(Schema):
    user = fields.Nested(PublicUserSchema, allow_none=True, required=True)
    option_ids = fields.List(fields.String(), required=True)
    voted_at = Timestamp(attribute="updated_at", required=True)


PollVoterPageSchema = page_schema(PollVoterSchema, "PollVoterPage")

POLL = PollSchema()
POLL_UPDATED = PollUpdatedEventSchema()
POLL_VOTER = PollVoterSchema()
