"""Registration and email verification.

Functions take plain values, never `request`, and raise the contract's errors.
"""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from bson import ObjectId
from flask import current_app
from marshmallow import ValidationError, validate

from models.user import User
from services.accounts import login_throttle
from services.platform import content_filter, email_service, passwords, tokens
from utils import jobs
from utils.errors import BadRequest, Conflict, ContentRejected, ValidationFailed
from utils.identity import clean, normalize_email

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_]{3,32}$")
# Path segments under /api/users and the names given to deleted accounts.
RESERVED_USERNAMES = {"me", "avatars", "admin", "administrator", "root", "system", "support",
                      "deleted", "deleted_user", "roundtable"}
_email_validator = validate.Email()


def _check_username(username: str) -> list[str]:
    # fullmatch: `$` would also accept a trailing newline ("alice\n" beside "alice").
    if not USERNAME_PATTERN.fullmatch(username):
        return ["Use 3-32 letters, digits or underscores."]
    lowered = username.lower()
    if lowered in RESERVED_USERNAMES or lowered.startswith("deleted_"):
        return ["This username is reserved."]
    return []


def _check_email(email: str) -> list[str]:
    try:
        _email_validator(email)
    except ValidationError:
        return ["Not a valid email address."]
    return [] if len(email) <= 254 else ["Use at most 254 characters."]


def _validate_new_account(username: str, email: str, password: str) -> None:
    details = {field: problems for field, problems in
               (("username", _check_username(username)), ("email", _check_email(email)))
               if problems}
    if details:
        raise ValidationFailed(details=details)
    content_filter.apply(username, "username", None)
    passwords.require_policy(password, username, email)


def register(username: str, email: str, password: str, role: str = "user",
             email_verified: bool = False) -> dict[str, Any]:
    """Create an account for the CLI and the seed: a taken name or address is a Conflict.
    The public route uses `sign_up`, which never tells whether an address is taken."""
    username, email = clean(username), normalize_email(email)
    _validate_new_account(username, email, password)
    user = User().create(username, email, passwords.hash_password(password), role=role,
                         email_verified=email_verified)
    if not email_verified:
        _send_verification.enqueue(user["_id"])
    return user


def sign_up(username: str, email: str, password: str) -> dict[str, Any]:
    """Public registration. A taken username is a 409 (usernames are public anyway). A
    taken address answers exactly like a free one: the same work (the password is hashed
    either way, one mail job is queued either way), a user of the same shape that is
    never stored, and a mail to the address's owner instead of a verification mail."""
    username, email = clean(username), normalize_email(email)
    _validate_new_account(username, email, password)
    password_hash = passwords.hash_password(password)
    users = User()
    if users.find_by_username(username) is not None:
        raise _username_taken()
    if users.find_by_login(email) is None:
        try:
            user = users.create(username, email, password_hash)
        except Conflict:
            # A race with another registration: say which only if it was the username.
            if users.find_by_username(username) is not None:
                raise _username_taken() from None
        else:
            _send_verification.enqueue(user["_id"])
            return user
    _mail_registration_attempt.enqueue(email)
    return {**User.new_document(username, email, None), "_id": ObjectId()}


def username_availability(username: str) -> dict[str, Any]:
    """Whether `username` can be registered now: `reason` is `invalid` (format, reserved,
    refused by the content filter) or `taken`. Usernames are public (profiles, mentions),
    so saying one is taken tells nothing new; the route is rate-limited all the same."""
    username = clean(username)
    problems = _check_username(username)
    if not problems:
        try:
            content_filter.apply(username, "username", None)
        except ContentRejected as exc:
            problems = [exc.message]
    if problems:
        return {"username": username, "available": False, "reason": "invalid",
                "message": problems[0]}
    if User().find_by_username(username) is not None:
        return {"username": username, "available": False, "reason": "taken",
                "message": "This username is taken."}
    return {"username": username, "available": True, "reason": None, "message": None}


def check_email(email: str) -> str:
    """The address in its one spelling if its syntax is valid, else a 400 naming the
    problem. Never looks the address up: whether an account has it is not told here any
    more than at registration (see docs/ACCOUNTS.md, "Availability checks")."""
    email = normalize_email(email)
    problems = _check_email(email)
    if problems:
        raise ValidationFailed(details={"email": problems})
    return email


def _username_taken() -> Conflict:
    return Conflict("This username is taken.", details={"username": ["already taken"]})


@jobs.task()
def _mail_registration_attempt(email: str) -> None:
    """A job: tell the owner of `email` that someone tried to register with it (at
    most once per ACCOUNT_ALERT_INTERVAL_SECONDS)."""
    owner = User().find_by_login(email)
    if owner is None or not login_throttle.first_notice("registration_attempt",
                                                        str(owner["_id"])):
        return
    email_service.send_template(owner["email"], "registration_attempt",
                                username=owner["username"],
                                site=current_app.config["FRONTEND_URL"].rstrip("/"))


@jobs.task()
def _send_verification(user_id: ObjectId) -> None:
    """A job: a fresh verification link (killing older ones), mailed."""
    users = User()
    user = users.find_active(user_id)
    if user is None:
        return
    nonce = tokens.new_nonce()
    users.update(user["_id"], {"verify_nonce": nonce})
    hours = current_app.config["EMAIL_VERIFICATION_HOURS"]
    token = tokens.make("verify", str(user["_id"]), nonce, timedelta(hours=hours))
    email_service.send_template(user["email"], "verify_email", username=user["username"],
                                link=tokens.frontend_link("verify-email", token), hours=hours)


def verify_email(token: str) -> dict[str, Any]:
    user = tokens.consume_link("verify", token, "verify_nonce", {"email_verified": True})
    if user is None:
        raise BadRequest("This verification link is invalid, used or expired.")
    return user


def mark_verified(username: str) -> dict[str, Any] | None:
    """An operator confirms an address by hand (`flask users verify NAME`); pending links
    stop working. None when there is no such account."""
    user = User().find_by_username(username)
    if user is None:
        return None
    return User().update(user["_id"], {"email_verified": True, "verify_nonce": None})


def resend_verification(email: str) -> None:
    """Queues the same job for any address; the job does nothing for an unknown or
    verified one, so neither the answer nor its timing tells them apart."""
    _resend_verification.enqueue(normalize_email(email))


@jobs.task()
def _resend_verification(email: str) -> None:
    user = User().find_by_login(email) if "@" in email else None
    if user is not None and not user["email_verified"]:
        _send_verification(user["_id"])
