"""Web Push: the server's key and my subscriptions (docs/NOTIFICATIONS.md "Push")."""
from __future__ import annotations

from marshmallow import Schema, fields

from services.platform.shapes.fields import Timestamp


class VapidKeySchema(Schema):
    """The application server key for `pushManager.subscribe({applicationServerKey})`:
    the VAPID public key, an uncompressed P-256 point in URL-safe base64 without padding."""
    public_key = fields.String(required=True)


class PushSubscriptionSchema(Schema):
    id = fields.String(attribute="_id", required=True)
    endpoint = fields.String(required=True)
    user_agent = fields.String(required=True, dump_default="")
    created_at = Timestamp(required=True)
    # Set while deliveries to it fail (429, 5xx, network); dropped after PUSH_FAILURE_DAYS.
    failing_since = Timestamp(allow_none=True, required=True, dump_default=None)


class PushSubscriptionListSchema(Schema):
    items = fields.List(fields.Nested(PushSubscriptionSchema), required=True)


SUBSCRIPTION = PushSubscriptionSchema()
