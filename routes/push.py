"""Web Push: the server's VAPID key and my browsers' push subscriptions."""
from __future__ import annotations

from flask import request

from routes.push_schemas import PushSubscribeSchema
from services.notify import push_keys, push_subscriptions
from services.platform.shapes.push import (
    PushSubscriptionListSchema,
    PushSubscriptionSchema,
    VapidKeySchema,
)
from utils import auth
from utils.api import Blueprint
from utils.auth import current_user, login_required

blp = Blueprint("push", __name__, description="Web Push subscriptions")


@blp.route("/vapid-public-key")
@blp.response(200, VapidKeySchema)
def vapid_public_key():
    """The key to pass as `applicationServerKey` to `pushManager.subscribe` (404 when push
    is switched off on this server)."""
    return push_keys.public_key()


@blp.route("/subscriptions", methods=["POST"])
@login_required
@blp.arguments(PushSubscribeSchema)
@blp.response(201, PushSubscriptionSchema)
def subscribe(body):
    """Register this browser's push subscription (`PushSubscription.toJSON()`). The same
    endpoint again answers the same id, and moves to my account if another had it. Only
    known push services are accepted (400 otherwise); logging out of this session
    removes it."""
    return push_subscriptions.subscribe(
        current_user(), body["endpoint"], body["keys"],
        body["user_agent"] or request.user_agent.string[:500],
        auth.session_login_id(), auth.auth_token_id())


@blp.route("/subscriptions")
@login_required
@blp.response(200, PushSubscriptionListSchema)
def list_subscriptions():
    """My push subscriptions, newest first."""
    return push_subscriptions.list_mine(current_user())


@blp.route("/subscriptions/<objectid:subscription_id>", methods=["DELETE"])
@login_required
@blp.response(204)
def unsubscribe(subscription_id):
    """Remove one of my push subscriptions (someone else's is not found)."""
    push_subscriptions.unsubscribe(current_user(), subscription_id)
