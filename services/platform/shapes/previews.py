"""Link previews on messages and posts (docs/MEDIA.md "Link previews")."""
from __future__ import annotations

from marshmallow import Schema, fields


class LinkPreviewSchema(Schema):
    url = fields.String(required=True, metadata={"description": "The URL as written."})
    title = fields.String(allow_none=True, required=True)
    description = fields.String(allow_none=True, required=True)
    image = fields.String(allow_none=True, required=True, metadata={
        "description": "An http(s) URL on the linked site; not proxied by this server."})
    site_name = fields.String(allow_none=True, required=True)


def previews_field() -> fields.List:
    return fields.List(fields.Nested(LinkPreviewSchema), required=True, dump_default=list,
                       metadata={"description": "Filled in by a background job after the "
                                                "write; `message_updated` / `post_updated` / "
                                                "`comment_updated` carry them when ready."})
