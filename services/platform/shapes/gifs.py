"""GIF search results, one shape whatever the provider (docs/MEDIA.md "GIF search")."""
from __future__ import annotations

from marshmallow import Schema, fields


class GifMediaSchema(Schema):
    url = fields.String(required=True)
    width = fields.Integer(allow_none=True, required=True)
    height = fields.Integer(allow_none=True, required=True)


class GifSchema(Schema):
    id = fields.String(required=True)
    title = fields.String(required=True)
    provider = fields.String(required=True, metadata={"description": "giphy or klipy"})
    preview = fields.Nested(GifMediaSchema, required=True,
                            metadata={"description": "A small rendition for the picker."})
    full = fields.Nested(GifMediaSchema, required=True,
                         metadata={"description": "The rendition to send (a GIF attachment)."})


class GifPageSchema(Schema):
    provider = fields.String(required=True)
    items = fields.List(fields.Nested(GifSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True, metadata={
        "description": "Opaque; pass as `cursor` for the following page; null at the end."})


GIF_PAGE = GifPageSchema()
