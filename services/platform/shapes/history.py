"""Edit history: an earlier version of a message, post or comment."""
from __future__ import annotations

from marshmallow import Schema, fields

from services.platform.shapes.fields import Timestamp
from services.platform.shapes.media import AttachmentSchema
from utils.schemas import page_schema


class EditVersionSchema(Schema):
    """One earlier version of an item, as it read from `written_at` until the edit at
    `replaced_at` replaced it. The current version is the item itself."""

    version = fields.Integer(required=True, metadata={
        "description": "1 is the item as first written; the item's `edit_count` plus one "
                       "is its current version."})
    title = fields.String(allow_none=True, required=True, metadata={
        "description": "A post's title; null for messages and comments."})
    body = fields.String(required=True)
    attachments = fields.List(fields.Nested(AttachmentSchema), required=True)
    written_at = Timestamp(required=True)
    replaced_at = Timestamp(required=True)


EditVersionPageSchema = page_schema(EditVersionSchema, "EditVersionPage")
EDIT_VERSION = EditVersionSchema()
