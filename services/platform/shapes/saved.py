"""Saved items (`GET /api/saved`): each in the shape every other list of its kind sends,
plus `type` and `saved_at`."""
from __future__ import annotations

from marshmallow import fields, validate

from services.platform.shapes.fields import Timestamp
from services.platform.shapes.forum import CommentSchema, PostSchema
from services.platform.shapes.messages import MessageSchema
from utils.schemas import TaggedUnion, page_schema


class SavedPostSchema(PostSchema):
    type = fields.String(required=True, validate=validate.OneOf(["post"]))
    saved_at = Timestamp(required=True)


class SavedCommentSchema(CommentSchema):
    type = fields.String(required=True, validate=validate.OneOf(["comment"]))
    saved_at = Timestamp(required=True)


class SavedMessageSchema(MessageSchema):
    type = fields.String(required=True, validate=validate.OneOf(["message"]))
    saved_at = Timestamp(required=True)


SAVED_ITEM_SHAPES = {"post": SavedPostSchema, "comment": SavedCommentSchema,
                     "message": SavedMessageSchema}
SavedPageSchema = page_schema(TaggedUnion(SAVED_ITEM_SHAPES), "SavedPage")
