"""TOTP codes with replay protection, and single-use recovery codes."""
from __future__ import annotations

import hashlib
import hmac
import secrets

import pyotp

from utils import clock

STEP_SECONDS = 30
VALID_WINDOW = 1  # one step either side, for clock drift


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def matching_step(secret: str, code: str) -> int | None:
    """The time step whose code equals `code` within the window, or None. The caller
    accepts it only if it is later than the last step used, so a code cannot be replayed."""
    code = code.strip().replace(" ", "")
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    current = int(clock.now().timestamp()) // STEP_SECONDS
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def new_recovery_codes(count: int = 10) -> list[str]:
    return [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(count)]


def hash_recovery_code(code: str) -> str:
    # 64 random bits per code and single use: a fast hash is enough.
    return hashlib.sha256(code.strip().lower().encode()).hexdigest()
