"""Password hashing and the password policy.

bcrypt reads only the first 72 bytes of its input, so a long passphrase would be cut
silently. Every password is therefore first HMAC-SHA256'd with a server pepper and
base64-encoded (44 bytes), then bcrypt'd: any length, no truncation, and a stolen hash
table is useless without the pepper.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import hmac
from pathlib import Path

import bcrypt
from flask import Flask, current_app

from utils.errors import ValidationFailed

COMMON_PASSWORDS_FILE = Path(__file__).resolve().parents[2] / "data" / "common_passwords.txt"
MIN_LENGTH = 10
MAX_LENGTH = 1024  # bounds the HMAC work per request, nothing more


@functools.cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip())


def _prehash(password: str) -> bytes:
    pepper = current_app.config["PASSWORD_PEPPER"].encode()
    digest = hmac.new(pepper, password.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest)


def hash_password(password: str) -> str:
    rounds = current_app.config["BCRYPT_ROUNDS"]
    return bcrypt.hashpw(_prehash(password), bcrypt.gensalt(rounds)).decode()


def check_password(password: str, password_hash: str | None) -> bool:
    """Constant work whether or not the user exists: without a hash, a dummy one of the
    same cost is checked so an unknown login takes as long as a wrong password."""
    candidate = password_hash or _dummy_hash(current_app.config["BCRYPT_ROUNDS"])
    try:
        matches = bcrypt.checkpw(_prehash(password), candidate.encode())
    except ValueError:
        return False
    return matches and password_hash is not None


def warm_up(rounds: int) -> None:
    """Make the dummy hash now, or the first unknown login would take twice as long."""
    _dummy_hash(rounds)


@functools.cache
def _dummy_hash(rounds: int) -> str:
    return bcrypt.hashpw(b"no such user", bcrypt.gensalt(rounds)).decode()


def policy_problems(password: str, username: str = "", email: str = "") -> list[str]:
    """Why this password is refused; an empty list means it is acceptable."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Use at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        problems.append(f"Use at most {MAX_LENGTH} characters.")
    lowered = password.lower()
    if lowered in common_passwords():
        problems.append("This password is too common.")
    if lowered in {username.lower(), email.lower()} - {""}:
        problems.append("The password must differ from the username and email.")
    return problems


def require_policy(password: str, username: str, email: str,
                   field: str = "password") -> None:
    """ValidationFailed on `field` when `password` breaks the policy."""
    problems = policy_problems(password, username, email)
    if problems:
        raise ValidationFailed(details={field: problems})


def init_app(app: Flask) -> None:
    warm_up(app.config["BCRYPT_ROUNDS"])
