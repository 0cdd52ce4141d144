"""One Web Push request (RFC 8030), encrypted and signed to the standards: the payload
encrypted with `aes128gcm` for the subscription's keys (RFC 8291, through pywebpush's
`WebPusher.encode`, which uses http-ece), the VAPID `Authorization` header (RFC 8292,
py-vapid), `TTL`, `Urgency` and `Topic`; sent through utils/safe_fetch.py (the SSRF guard of
link previews), so an endpoint resolving to a private address is never reached.

What the push service answered decides what happens to the subscription:
201/202/200 delivered; 404/410 gone (removed); 429 and 5xx (and a network failure) to be
tried again, not before `Retry-After`; any other answer is logged and the push dropped.
"""
from __future__ import annotations

import email.utils
import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from pywebpush import WebPusher

from services.notify import push_keys
from utils import clock, safe_fetch

log = logging.getLogger(__name__)

DELIVERED, GONE, RETRY, DROPPED = "delivered", "gone", "retry", "dropped"
MAX_PAYLOAD_BYTES = 3000  # before encryption; RFC 8291 leaves room for 3993
JWT_SECONDS = 12 * 3600   # RFC 8292: at most 24 h
TOPIC_LENGTH = 32         # RFC 8030 5.4: at most 32 characters of URL-safe base64
ELLIPSIS = "\u2026"


@dataclass(frozen=True)
class Message:
    """What to push: the JSON payload and the RFC 8030 headers' values."""
    payload: dict[str, Any]
    ttl: int
    urgency: str  # very-low | low | normal | high
    topic: str


@dataclass(frozen=True)
class Outcome:
    result: str
    status: int | None = None
    retry_after: float = 0.0


def topic(key: str) -> str:
    """A stable, opaque `Topic` for what a push is about (a conversation, a post): a
    newer push with the same topic replaces an older one still held by the push service,
    and the push service learns nothing of our ids."""
    digest = hmac.new(current_app.config["SECRET_KEY"].encode(), key.encode(),
                      hashlib.sha256).digest()
    return push_keys.b64url(digest)[:TOPIC_LENGTH]


def _json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def encode_payload(payload: dict[str, Any]) -> bytes:
    """The payload as compact JSON, at most MAX_PAYLOAD_BYTES: a long `body` is cut to the
    longest start that fits, by its UTF-8 bytes (what the limit counts; a character of
    Chinese text is three, an escaped control character six in the JSON), never inside
    a character, and ends with an ellipsis."""
    data = _json(payload)
    if len(data) > MAX_PAYLOAD_BYTES and payload.get("body"):
        text = payload["body"].encode()

        def cut(size: int) -> dict[str, Any]:
            kept = text[:size].decode(errors="ignore")  # a character cut in two goes whole
            return {**payload, "body": kept + ELLIPSIS if kept else ""}

        # A longer start never gives a shorter payload: search for the longest that fits.
        low, high = 0, len(text)
        while low < high:
            middle = (low + high + 1) // 2
            if len(_json(cut(middle))) <= MAX_PAYLOAD_BYTES:
                low = middle
            else:
                high = middle - 1
        data = _json(cut(low))
    if len(data) > MAX_PAYLOAD_BYTES:
        raise ValueError("push payload too large")
    return data


def retry_after(value: str | None) -> float:
    """Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date)."""
    if not value:
        return 0.0
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 0.0
    return max(0.0, when.timestamp() - clock.time())


def _policy() -> safe_fetch.Policy:
    config = current_app.config
    return safe_fetch.Policy(max_bytes=16 * 1024, timeout=config["PUSH_TIMEOUT_SECONDS"],
                             max_redirects=0, allow_loopback=config["PUSH_ALLOW_LOOPBACK"],
                             user_agent="RoundtableBot/1.0 (web push)", accept="*/*")


def send(subscription: dict[str, Any], message: Message) -> Outcome:
    """POST `message` to the subscription's push service; what became of it."""
    endpoint = subscription["endpoint"]
    parts = urlsplit(endpoint)
    audience = f"{parts.scheme}://{parts.netloc}"
    encrypted = WebPusher({"endpoint": endpoint, "keys": {
        "p256dh": subscription["p256dh"], "auth": subscription["auth"]}}).encode(
        encode_payload(message.payload), "aes128gcm")["body"]
    headers = {"Content-Type": "application/octet-stream", "Content-Encoding": "aes128gcm",
               "TTL": str(message.ttl), "Urgency": message.urgency, "Topic": message.topic,
               "Authorization": push_keys.authorization(audience,
                                                        int(clock.time()) + JWT_SECONDS)}
    try:
        answer = safe_fetch.send("POST", endpoint, encrypted, headers, _policy())
    except safe_fetch.UnsafeURL as exc:
        log.warning("push endpoint refused by the SSRF guard: %s", exc)
        return Outcome(GONE)
    except safe_fetch.FetchFailed as exc:
        log.info("push to %s failed: %s", parts.hostname, exc)
        return Outcome(RETRY)
    status = answer.status
    if status in (200, 201, 202):
        return Outcome(DELIVERED, status)
    if status in (404, 410):
        return Outcome(GONE, status)
    if status == 429 or status >= 500:
        return Outcome(RETRY, status, retry_after(answer.headers.get("retry-after")))
    log.warning("push service %s answered %s: %s", parts.hostname, status,
                answer.body[:200].decode(errors="replace"))
    return Outcome(DROPPED, status)
