"""Request schemas of polls: the `poll` a post or a message is created with, and a vote."""
from __future__ import annotations

from marshmallow import fields, validate

from utils.schemas import PageQuerySchema, StrictSchema

MAX_OPTIONS = 10
QUESTION_MAX, OPTION_MAX = 300, 100


class PollSpecSchema(StrictSchema):
    question = fields.String(required=True, validate=validate.Length(min=1, max=QUESTION_MAX))
    options = fields.List(
        fields.String(validate=validate.Length(min=1, max=OPTION_MAX)), required=True,
        validate=validate.Length(min=2, max=MAX_OPTIONS),
        metadata={"description": "2-10 choices; their ids are 1, 2, ... in this order."})
    multiple = fields.Boolean(load_default=False,
                              metadata={"description": "A voter may choose several options."})
    anonymous = fields.Boolean(load_default=False,
                               metadata={"description": "Nobody may list who voted for what."})
    closes_at = fields.AwareDateTime(load_default=None, allow_none=True, default_timezone=None,
                                     metadata={"description": "No votes after this time "
                                               "(at most POLL_MAX_DAYS ahead)."})


PollSpec = fields.Nested(PollSpecSchema, load_default=None, allow_none=True)


class PollVoteSchema(StrictSchema):
    option_ids = fields.List(fields.String(validate=validate.Length(min=1, max=3)),
                             required=True, validate=validate.Length(min=1, max=MAX_OPTIONS))


PollVotersQuerySchema = PageQuerySchema
