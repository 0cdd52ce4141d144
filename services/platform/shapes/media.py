"""Uploads and attachments (of messages, posts and comments), and presigned uploads."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, pre_dump, validate

UPLOADS_PATH = "/api/uploads"


class AttachmentSchema(Schema):
    """A file: `url` downloads it (for those who may read what it is attached to),
    `thumbnail_url` a PNG of at most 320x320 (images larger than that, and animations)."""

    id = fields.String(required=True)
    type = fields.String(required=True, validate=validate.OneOf(["file", "gif"]), metadata={
        "description": "`file`: uploaded here, served by `url`; `gif`: picked from the "
                       "GIF provider, `url` is the provider's."})
    name = fields.String(required=True)
    content_type = fields.String(required=True, metadata={
        "description": "Sniffed from the bytes, never taken from the client."})
    size = fields.Integer(required=True)
    url = fields.String(required=True)
    width = fields.Integer()
    height = fields.Integer()
    thumbnail_url = fields.String()
    color = fields.String(metadata={"description": "Average colour, `#rrggbb` (images)."})
    provider = fields.String(metadata={"description": "The GIF provider (`gif` only)."})

    @pre_dump
    def urls(self, meta: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if meta.get("type") == "gif":
            return meta
        shown = {k: v for k, v in meta.items() if k != "thumbnail"}
        shown["type"] = "file"
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
