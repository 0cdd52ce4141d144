"""A minimal software authenticator for tests, standing in for a browser and a platform
authenticator: it answers the server's WebAuthn options with real ES256 keys, real
attestation (`none`, or `packed` self-attestation) and real assertions, so the server's
`webauthn` verification runs unchanged. It holds discoverable credentials."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, AT = 0x01, 0x04, 0x40
ES256 = -7


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Credential:
    credential_id: bytes
    key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0


@dataclass
class SoftAuthenticator:
    origin: str = "http://localhost:5173"
    attestation: str = "none"  # or "packed" (self attestation)
    user_verified: bool = True
    # 0: the counter stays at zero, as many passkeys do; else it grows by this per use.
    counter_step: int = 1
    credentials: list[Credential] = field(default_factory=list)

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge,
                           "origin": origin or self.origin, "crossOrigin": False}).encode()

    def _flags(self) -> int:
        return UP | (UV if self.user_verified else 0)

    def create(self, options: dict[str, Any], origin: str | None = None) -> dict[str, Any]:
        """navigator.credentials.create({publicKey: options}).toJSON()"""
        rp_id = options["rp"]["id"]
        key = ec.generate_private_key(ec.SECP256R1())
        credential = Credential(os.urandom(32), key, rp_id, unb64url(options["user"]["id"]))
        numbers = key.public_key().public_numbers()
        cose_key = cbor2.dumps({1: 2, 3: ES256, -1: 1, -2: numbers.x.to_bytes(32, "big"),
                                -3: numbers.y.to_bytes(32, "big")})
        auth_data = (hashlib.sha256(rp_id.encode()).digest()
                     + bytes([self._flags() | AT]) + struct.pack(">I", 0)
                     + bytes(16) + struct.pack(">H", len(credential.credential_id))
                     + credential.credential_id + cose_key)
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        statement: dict[str, Any] = {}
        if self.attestation == "packed":
            signed = auth_data + hashlib.sha256(client_data).digest()
            statement = {"alg": ES256, "sig": key.sign(signed, ec.ECDSA(hashes.SHA256()))}
        attestation = cbor2.dumps({"fmt": self.attestation, "attStmt": statement,
                                   "authData": auth_data})
        self.credentials.append(credential)
        return {"id": b64url(credential.credential_id),
                "rawId": b64url(credential.credential_id), "type": "public-key",
                "response": {"clientDataJSON": b64url(client_data),
                             "attestationObject": b64url(attestation),
                             "transports": ["internal"]},
                "clientExtensionResults": {}, "authenticatorAttachment": "platform"}

    def get(self, options: dict[str, Any], origin: str | None = None,
            credential: Credential | None = None) -> dict[str, Any]:
        """navigator.credentials.get({publicKey: options}).toJSON(): the first credential
        the options allow (any discoverable one of the RP when they list none)."""
        allowed = {unb64url(c["id"]) for c in options.get("allowCredentials") or []}
        if credential is None:
            credential = next(c for c in self.credentials if c.rp_id == options["rpId"]
                              and (not allowed or c.credential_id in allowed))
        credential.sign_count += self.counter_step
        auth_data = (hashlib.sha256(options["rpId"].encode()).digest()
                     + bytes([self._flags()]) + struct.pack(">I", credential.sign_count))
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signature = credential.key.sign(auth_data + hashlib.sha256(client_data).digest(),
                                        ec.ECDSA(hashes.SHA256()))
        return {"id": b64url(credential.credential_id),
                "rawId": b64url(credential.credential_id), "type": "public-key",
                "response": {"clientDataJSON": b64url(client_data),
                             "authenticatorData": b64url(auth_data),
                             "signature": b64url(signature),
                             "userHandle": b64url(credential.user_handle)},
                "clientExtensionResults": {}, "authenticatorAttachment": "platform"}
