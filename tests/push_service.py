"""A push service on a free loopback port, written for the tests from the RFCs (not from
pywebpush's or http-ece's code), with `cryptography` only:

- RFC 8030 (delivery): `POST /push/<token>` with a `TTL` header (400 without), `Urgency`
  and `Topic` recorded; answers 201 with a `Location`, or what the test scripted for the
  next requests (410, 429 with `Retry-After`, 500...).
- RFC 8292 (VAPID): `Authorization: vapid t=<JWT>, k=<public key>`; the JWT's ES256
  signature checks against `k`, `aud` is this service's origin, `exp` is in the future and
  at most 24 hours ahead, `sub` is a `mailto:` or `https:` URL. Anything else: 401.
- RFC 8291 + RFC 8188 (`aes128gcm`): the body decrypted with the subscription's private
  key and auth secret (a user agent's side of the key agreement), records and padding
  checked; anything else: 400.

`subscribe()` plays the browser: a new P-256 key pair and auth secret, and the
subscription JSON a `PushSubscription.toJSON()` gives. Every request is kept in
`received` with its decrypted payload (or the reason it was refused).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from utils.embedded_db import free_port

TAG_BYTES = 16


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


@dataclass
class Subscriber:
    """A browser's side of one subscription."""
    token: str
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes

    @property
    def public_bytes(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


@dataclass
class Received:
    token: str
    headers: dict[str, str]
    status: int
    payload: dict[str, Any] | None = None
    refused: str | None = None
    claims: dict[str, Any] = field(default_factory=dict)


# RFC 8292: the VAPID token

def verify_vapid(header: str, origin: str, now: float) -> dict[str, Any]:
    """The JWT claims, or Refused(401)."""
    scheme, _, params = header.partition(" ")
    if scheme.lower() != "vapid":
        raise Refused(401, "not a vapid Authorization")
    values = dict(part.strip().split("=", 1) for part in params.split(",") if "=" in part)
    if "t" not in values or "k" not in values:
        raise Refused(401, "vapid needs t and k")
    try:
        signer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(values["k"]))
        head, body, signature = values["t"].split(".")
        header_json = json.loads(unb64(head))
        claims = json.loads(unb64(body))
        raw = unb64(signature)
    except (ValueError, json.JSONDecodeError) as exc:
        raise Refused(401, f"malformed vapid token: {exc}") from None
    if header_json.get("alg") != "ES256" or len(raw) != 64:
        raise Refused(401, "the JWT is not ES256")
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        signer.verify(der, f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise Refused(401, "bad JWT signature") from None
    if claims.get("aud") != origin:
        raise Refused(401, f"aud {claims.get('aud')!r} is not {origin}")
    exp = claims.get("exp")
    if not isinstance(exp, int) or exp <= now or exp > now + 24 * 3600:
        raise Refused(401, "exp is not within 24 hours")
    if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
        raise Refused(401, "sub is not a mailto: or https: URL")
    return {**claims, "k": values["k"]}


# RFC 8291 + RFC 8188: aes128gcm

def decrypt(body: bytes, subscriber: Subscriber) -> bytes:
    if len(body) < 21:
        raise Refused(400, "no aes128gcm header")
    salt, record_size, id_length = body[:16], struct.unpack(">I", body[16:20])[0], body[20]
    sender = body[21:21 + id_length]
    content = body[21 + id_length:]
    if id_length != 65 or record_size < 18:
        raise Refused(400, "keyid is not an uncompressed P-256 point")
    try:
        sender_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), sender)
    except ValueError:
        raise Refused(400, "keyid is not on P-256") from None
    shared = subscriber.private_key.exchange(ec.ECDH(), sender_key)
    # RFC 8291 3.4: IKM from the ECDH secret, the auth secret and both public keys.
    key_info = b"WebPush: info\x00" + subscriber.public_bytes + sender
    ikm = _hmac(_hmac(subscriber.auth_secret, shared), key_info + b"\x01")
    # RFC 8188 2.2, 2.3: content encryption key and nonce.
    prk = _hmac(salt, ikm)
    cek = _hmac(prk, b"Content-Encoding: aes128gcm\x00\x01")[:16]
    base_nonce = _hmac(prk, b"Content-Encoding: nonce\x00\x01")[:12]
    records = [content[i:i + record_size] for i in range(0, len(content), record_size)]
    plain = b""
    for seq, record in enumerate(records):
        nonce = (int.from_bytes(base_nonce, "big") ^ seq).to_bytes(12, "big")
        try:
            padded = AESGCM(cek).decrypt(nonce, record, None)
        except InvalidTag:
            raise Refused(400, "the record does not decrypt") from None
        data = padded.rstrip(b"\x00")
        last = seq == len(records) - 1
        if not data or data[-1:] != (b"\x02" if last else b"\x01"):
            raise Refused(400, "bad record delimiter")
        plain += data[:-1]
    return plain


class PushService:
    """The server; `answers` is what the next requests get (then 201 again)."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.now = now
        self.subscribers: dict[str, Subscriber] = {}
        self.received: list[Received] = []
        self.answers: list[tuple[int, dict[str, str]]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def subscribe(self) -> dict[str, Any]:
        """A new browser subscription, as `PushSubscription.toJSON()` gives it."""
        token = b64(os.urandom(12))
        subscriber = Subscriber(token, ec.generate_private_key(ec.SECP256R1()), os.urandom(16))
        self.subscribers[token] = subscriber
        return {"endpoint": f"{self.origin}/push/{token}",
                "keys": {"p256dh": b64(subscriber.public_bytes),
                         "auth": b64(subscriber.auth_secret)}}

    def answer_next(self, status: int, **headers: str) -> None:
        self.answers.append((status, headers))

    def delivered(self) -> list[Received]:
        return [seen for seen in self.received if seen.status == 201]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handle(self, path: str, headers: dict[str, str], body: bytes) -> Received:
        token = path.removeprefix("/push/")
        seen = Received(token, headers, 201)
        try:
            subscriber = self.subscribers.get(token)
            if subscriber is None:
                raise Refused(404, "no such subscription")
            seen.claims = verify_vapid(headers.get("authorization", ""), self.origin,
                                       self.now())
            if not headers.get("ttl", "").isdigit():
                raise Refused(400, "TTL is required")
            if headers.get("content-encoding") != "aes128gcm":
                raise Refused(415, "only aes128gcm")
            seen.payload = json.loads(decrypt(body, subscriber))
        except Refused as refused:
            seen.status, seen.refused = refused.status, refused.reason
            return seen
        with self._lock:
            if self.answers:
                seen.status, extra = self.answers.pop(0)
                seen.headers = {**headers, **{f"answer-{k}": v for k, v in extra.items()}}
        return seen

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                seen = service._handle(self.path, {k.lower(): v for k, v in
                                                   self.headers.items()}, body)
                service.received.append(seen)
                self.send_response(seen.status)
                for name, value in seen.headers.items():
                    if name.startswith("answer-"):
                        self.send_header(name.removeprefix("answer-"), value)
                if seen.status == 201:
                    self.send_header("Location",
                                     f"{service.origin}/message/{len(service.received)}")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        return Handler
