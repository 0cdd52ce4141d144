"""Request schemas of /api/push."""
from __future__ import annotations

from marshmallow import fields, validate

from utils.schemas import StrictSchema

# Push service URLs run to a few hundred characters (FCM's are the longest).
MAX_ENDPOINT = 2048


class PushKeysSchema(StrictSchema):
    """The subscription's `getKey()` values (RFC 8291), URL-safe base64."""
    p256dh = fields.String(required=True, validate=validate.Length(min=1, max=200))
    auth = fields.String(required=True, validate=validate.Length(min=1, max=100))


class PushSubscribeSchema(StrictSchema):
    """A browser's `PushSubscription.toJSON()`, and optionally its user agent to show in
    the list. `expirationTime` (what toJSON() also carries) is accepted and ignored."""
    endpoint = fields.String(required=True, validate=validate.Length(min=1, max=MAX_ENDPOINT))
    keys = fields.Nested(PushKeysSchema, required=True)
    user_agent = fields.String(load_default="", validate=validate.Length(max=500))
    expirationTime = fields.Integer(allow_none=True, load_default=None)
