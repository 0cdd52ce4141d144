"""The VAPID key pair (RFC 8292) that signs every push: VAPID_PRIVATE_KEY (the raw 32-byte
P-256 private key, URL-safe base64, as `web-push generate-vapid-keys` prints it), or,
outside production (which refuses to start without it), a key generated once into
PUSH_VAPID_KEY_FILE and kept there, so subscriptions made in development survive a restart.
"""
from __future__ import annotations

import base64
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import current_app
from py_vapid import Vapid02

from utils.errors import NotFound


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _raw_private(key: ec.EllipticCurvePrivateKey) -> str:
    return b64url(key.private_numbers().private_value.to_bytes(32, "big"))


def _stored_key(path: Path) -> str:
    """The key kept in `path`, made (readable by this user only) the first time.

    Several processes may make it at once (the first request on each): the key is
    written whole to a file of its own, then linked into place, which fails if another
    process got there first; every process then reads the one key that won, never a
    file still being written."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        raw = _raw_private(ec.generate_private_key(ec.SECP256R1()))
        descriptor, written = tempfile.mkstemp(dir=path.parent, prefix=".vapid-")  # 0600
        try:
            with os.fdopen(descriptor, "w") as out:
                out.write(raw + "\n")
            os.link(written, path)
        except FileExistsError:
            pass  # another process made it first: theirs is the key
        finally:
            os.unlink(written)
    return path.read_text().strip()


@lru_cache(maxsize=8)
def _vapid(raw: str) -> Vapid02:
    return Vapid02.from_raw(raw.encode())


def vapid() -> Vapid02:
    config: dict[str, Any] = current_app.config
    raw = config["VAPID_PRIVATE_KEY"] or _stored_key(Path(config["PUSH_VAPID_KEY_FILE"]))
    return _vapid(raw)


def enabled() -> bool:
    return bool(current_app.config["PUSH_ENABLED"])


def public_key() -> dict[str, str]:
    """The application server key a browser's `pushManager.subscribe` takes: the public
    point, uncompressed, URL-safe base64 without padding. Push switched off: 404."""
    if not enabled():
        raise NotFound("Push notifications are not enabled on this server.")
    point = vapid().public_key.public_bytes(serialization.Encoding.X962,
                                            serialization.PublicFormat.UncompressedPoint)
    return {"public_key": b64url(point)}


def authorization(audience: str, expires: int) -> str:
    """The `Authorization: vapid t=<JWT>, k=<key>` header for the push service `audience`
    (its origin), valid until `expires` (epoch seconds, at most 24 h ahead)."""
    return vapid().sign({"aud": audience, "exp": expires,
                         "sub": current_app.config["VAPID_SUBJECT"]})["Authorization"]
