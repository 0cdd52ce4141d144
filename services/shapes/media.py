"""Uploads and attachments (of messages, posts and comments), and presigned uploads."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, pre_dump

UPLOADS_PATH = "/api/uploads"


class AttachmentSchema(Schema):
    """A file: `url` downloads it (for those who may read what it is attached to),
    `thumbnail_url` a PNG of at most 320x320 (images larger than that, and animations)."""

    id = fields.String(required=True)
    name = fields.String(required=True)
    content_type = fields.String(required=True, metadata={
        "description": "Sniffed from the bytes, never taken from the client."})
    size = fields.Integer(required=True)
    url = fields.String(required=True)
    width = fields.Integer()
    height = fields.Integer()
    thumbnail_url = fields.String()
    color = fields.String(metadata={"description": "Average colour, `#rrggbb` (images)."})

    @pre_dump
    def urls(self, meta: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        shown = {k: v for k, v in meta.items() if k != "thumbnail"}
        shown["url"] = f"{UPLOADS_PATH}/{meta['id']}"
        if meta.get("thumbnail"):
            shown["thumbnail_url"] = f"{UPLOADS_PATH}/{meta['id']}/thumbnail"
        return shown


class PresignedUploadSchema(Schema):
    upload_id = fields.String(required=True)
    url = fields.String(required=True, metadata={"description": "POST a form here."})
    fields_ = fields.Dict(data_key="fields", attribute="fields", required=True,
                          keys=fields.String(), values=fields.String(), metadata={
                              "description": "Form fields to send before the `file` field."})
    max_bytes = fields.Integer(required=True)
    expires_in = fields.Integer(required=True, metadata={"description": "Seconds."})


ATTACHMENT = AttachmentSchema()
