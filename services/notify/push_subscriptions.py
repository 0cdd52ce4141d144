"""My Web Push subscriptions (docs/NOTIFICATIONS.md "Push"): register one (idempotent per
endpoint: the same endpoint answers the same id, and belongs to whoever registered it
last), list, remove; a logout removes those registered with its login.

Only endpoints on a known push service are taken (PUSH_ENDPOINT_HOSTS, https; a loopback
address in tests when PUSH_ALLOW_LOOPBACK is on), and each key must be what RFC 8291 says
it is: `p256dh` an uncompressed P-256 point, `auth` a 16-byte secret.
"""
from __future__ import annotations

import binascii
import ipaddress
from typing import Any
from urllib.parse import urlsplit

from bson import ObjectId
from cryptography.hazmat.primitives.asymmetric import ec
from flask import current_app

from models.base import to_object_id
from models.push_subscription import PushSubscription
from services.notify import push_keys
from services.platform import live_rooms
from services.platform.shapes.push import SUBSCRIPTION
from utils.errors import NotFound, ValidationFailed

AUTH_SECRET_BYTES = 16


def host_allowed(host: str) -> bool:
    host = host.lower().rstrip(".")
    for allowed in current_app.config["PUSH_ENDPOINT_HOSTS"]:
        allowed = allowed.lower()
        if allowed.startswith("*.") and host.endswith(allowed[1:]) and host != allowed[2:]:
            return True
        if host == allowed:
            return True
    return False


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def endpoint_problem(endpoint: str) -> str | None:
    """Why `endpoint` is not a push service we send to, or None."""
    try:
        parts = urlsplit(endpoint)
        parts.port  # noqa: B018  (a malformed port raises here)
    except ValueError:
        return "The endpoint is not a valid URL."
    host = parts.hostname or ""
    if parts.username is not None or parts.password is not None:
        return "The endpoint may not carry credentials."
    if not host_allowed(host):
        return f"The endpoint's host {host or '(none)'} is not a known push service."
    loopback = current_app.config["PUSH_ALLOW_LOOPBACK"] and _loopback(host)
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        return "The endpoint must be an https URL."
    return None


def _key(text: str, field: str) -> bytes:
    try:
        return push_keys.b64url_decode(text)
    except (binascii.Error, ValueError):
        raise ValidationFailed("The subscription's keys are not valid.",
                               {f"keys.{field}": ["Not URL-safe base64."]}) from None


def check_keys(keys: dict[str, str]) -> None:
    point = _key(keys["p256dh"], "p256dh")
    try:
        if len(point) != 65 or point[0] != 4:
            raise ValueError
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise ValidationFailed("The subscription's keys are not valid.", {
            "keys.p256dh": ["Not an uncompressed P-256 public key."]}) from None
    if len(_key(keys["auth"], "auth")) != AUTH_SECRET_BYTES:
        raise ValidationFailed("The subscription's keys are not valid.",
                               {"keys.auth": ["Not a 16-byte secret."]})


def subscribe(user: dict[str, Any], endpoint: str, keys: dict[str, str], user_agent: str,
              login_id: str | None, token_id: Any) -> dict[str, Any]:
    """Register (or take over) the subscription of `endpoint` for `user`, remembering the
    login it came with (browser session `login_id` or bearer token `token_id`); a user
    keeps at most PUSH_MAX_SUBSCRIPTIONS (the oldest goes)."""
    origin = live_rooms.session_origin(login_id) or live_rooms.token_origin(token_id)
    if not push_keys.enabled():
        raise NotFound("Push notifications are not enabled on this server.")
    problem = endpoint_problem(endpoint)
    if problem:
        raise ValidationFailed(problem, {"endpoint": [problem]})
    check_keys(keys)
    stored = PushSubscription().register(endpoint, keys, user["_id"], origin, user_agent)
    PushSubscription().trim(user["_id"], current_app.config["PUSH_MAX_SUBSCRIPTIONS"])
    return SUBSCRIPTION.dump(stored)


def list_mine(user: dict[str, Any]) -> dict[str, Any]:
    return {"items": SUBSCRIPTION.dump(PushSubscription().of_user(user["_id"]), many=True)}


def unsubscribe(user: dict[str, Any], subscription_id: Any) -> None:
    """Someone else's subscription answers the same 404 as one that does not exist."""
    if not PushSubscription().delete_mine(to_object_id(subscription_id, "Subscription"),
                                          user["_id"]):
        raise NotFound("Subscription not found.")


def forget_origin(origin: str | None) -> None:
    """The login `origin` ended (logout, a session or token revoked): its devices stop
    receiving pushes meant for that account."""
    if origin:
        PushSubscription().delete_by_origin(origin)


def forget_all_origins_but(user_id: ObjectId, keep: tuple[str | None, ...]) -> None:
    """Every login of the user but `keep` ended (a password change, sign out everywhere):
    only the devices registered with a kept login still receive pushes."""
    PushSubscription().delete_of_user_except(user_id, [origin for origin in keep if origin])


def forget_user(user_id: ObjectId) -> None:
    PushSubscription().delete_all_of(user_id)
