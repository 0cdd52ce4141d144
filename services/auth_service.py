"""Accounts: registration, email verification, login, bearer tokens, passwords, 2FA.

Functions take plain values (and the acting user where there is one), never `request`,
and raise the contract's errors. Sessions themselves are managed by utils.auth.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from bson import ObjectId
from flask import current_app
from marshmallow import ValidationError, validate

from models.auth_token import AuthToken
from models.base import utcnow
from models.user import User
from services import (
    content_filter,
    email_service,
    live_rooms,
    login_throttle,
    passwords,
    site_bans,
    tokens,
    totp,
)
from utils import clock
from utils.errors import (
    BadRequest,
    Conflict,
    EmailNotVerified,
    InvalidCredentials,
    OtpRequired,
    ValidationFailed,
)
from utils.identity import clean, normalize_email, normalize_login

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


def _require_password_policy(password: str, username: str, email: str,
                             field: str = "password") -> None:
    problems = passwords.policy_problems(password, username, email)
    if problems:
        raise ValidationFailed(details={field: problems})


# Registration and email verification

def _validate_new_account(username: str, email: str, password: str) -> None:
    details = {field: problems for field, problems in
               (("username", _check_username(username)), ("email", _check_email(email)))
               if problems}
    if details:
        raise ValidationFailed(details=details)
    content_filter.apply(username, "username", None)
    _require_password_policy(password, username, email)


def register(username: str, email: str, password: str, role: str = "user",
             email_verified: bool = False) -> dict[str, Any]:
    """Create an account for the CLI and the seed: a taken name or address is a Conflict.
    The public route uses `sign_up`, which never tells whether an address is taken."""
    username, email = clean(username), normalize_email(email)
    _validate_new_account(username, email, password)
    user = User().create(username, email, passwords.hash_password(password), role=role,
                         email_verified=email_verified)
    if not email_verified:
        email_service.defer(_send_verification, user["_id"])
    return user


def sign_up(username: str, email: str, password: str) -> dict[str, Any]:
    """Public registration. A taken username is a 409 (usernames are public anyway). A
    taken address answers exactly like a free one: the same work (the password is hashed
    either way, one mail task is queued either way), a user of the same shape that is
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
            email_service.defer(_send_verification, user["_id"])
            return user
    email_service.defer(_mail_registration_attempt, email)
    return {**User.new_document(username, email, None), "_id": ObjectId()}


def _username_taken() -> Conflict:
    return Conflict("This username is taken.", details={"username": ["already taken"]})


def _mail_registration_attempt(email: str) -> None:
    """Deferred: tell the owner of `email` that someone tried to register with it (at
    most once per ACCOUNT_ALERT_INTERVAL_SECONDS)."""
    owner = User().find_by_login(email)
    if owner is None or not login_throttle.first_notice("registration_attempt",
                                                        str(owner["_id"])):
        return
    email_service.send_template(owner["email"], "registration_attempt",
                                username=owner["username"],
                                site=current_app.config["FRONTEND_URL"].rstrip("/"))


def _send_verification(user_id: ObjectId) -> None:
    """Deferred: a fresh verification link (killing older ones), mailed."""
    users = User()
    user = users.find_active(user_id)
    if user is None:
        return
    nonce = tokens.new_nonce()
    users.update(user["_id"], {"verify_nonce": nonce})
    hours = current_app.config["EMAIL_VERIFICATION_HOURS"]
    token = tokens.make("verify", str(user["_id"]), nonce, timedelta(hours=hours))
    email_service.send_template(user["email"], "verify_email", username=user["username"],
                                link=_frontend_link("verify-email", token), hours=hours)


def _frontend_link(path: str, token: str) -> str:
    base = current_app.config["FRONTEND_URL"].rstrip("/")
    return f"{base}/{path}?{urlencode({'token': token})}"


def verify_email(token: str) -> dict[str, Any]:
    user = _consume_link("verify", token, "verify_nonce", {"email_verified": True})
    if user is None:
        raise BadRequest("This verification link is invalid, used or expired.")
    return user


def resend_verification(email: str) -> None:
    """Queues the same task for any address; the task does nothing for an unknown or
    verified one, so neither the answer nor its timing tells them apart."""
    email_service.defer(_resend_verification, normalize_email(email))


def _resend_verification(email: str) -> None:
    user = User().find_by_login(email) if "@" in email else None
    if user is not None and not user["email_verified"]:
        _send_verification(user["_id"])


def _consume_link(purpose: str, token: str, nonce_field: str,
                  changes: dict[str, Any]) -> dict[str, Any] | None:
    payload = tokens.read(purpose, token)
    if payload is None or not ObjectId.is_valid(payload["uid"]):
        return None
    # Matching and clearing the nonce in one update makes the link single-use under races.
    return User().update_if(ObjectId(payload["uid"]),
                            {nonce_field: payload["n"], "deleted": False},
                            {"$set": {**changes, nonce_field: None}})


# Login

def authenticate(login: str, password: str, otp: str | None,
                 address: str) -> dict[str, Any]:
    """The user these credentials prove, or the contract's error. Unknown logins and wrong
    passwords answer alike and cost the same bcrypt work. Failures are throttled per
    (account, client `address`) and per address (services.login_throttle), so guessing
    from one address never locks the owner out of another."""
    login = normalize_login(login)
    user = User().find_by_login(login) if login else None
    account = str(user["_id"]) if user else "login:" + login.lower()
    login_throttle.check(account, address)
    if not passwords.check_password(password, user["password_hash"] if user else None):
        login_throttle.record_failure(account, address, user)
        raise InvalidCredentials()
    if user["totp_enabled"]:
        if not otp:
            raise OtpRequired()
        if not check_second_factor(user, otp):
            login_throttle.record_failure(account, address, user)
            raise OtpRequired("The two-factor code is wrong or was already used.")
    # Only after the credentials proved the account: the ban's reason is for its owner.
    site_bans.refuse_if_banned(user)
    if current_app.config["REQUIRE_EMAIL_VERIFICATION"] and not user["email_verified"]:
        raise EmailNotVerified()
    login_throttle.clear(account, address)
    return user


def verify_password(user: dict[str, Any], password: str, address: str,
                    message: str = "The password is wrong.") -> None:
    """For a logged-in user confirming a sensitive change (password change, 2FA, account
    deletion): wrong passwords are throttled exactly like logins."""
    account = str(user["_id"])
    login_throttle.check(account, address)
    if not passwords.check_password(password, user["password_hash"]):
        login_throttle.record_failure(account, address, user)
        raise InvalidCredentials(message)
    login_throttle.clear(account, address)


def check_second_factor(user: dict[str, Any], code: str) -> bool:
    """A TOTP code newer than the last one used, or an unused recovery code; either is
    spent by the same atomic update that accepts it."""
    users = User()
    step = totp.matching_step(user["totp_secret"] or "", code) if user["totp_secret"] else None
    if step is not None:
        return users.update_if(user["_id"], {"totp_last_step": {"$lt": step}},
                               {"$set": {"totp_last_step": step}}) is not None
    code_hash = totp.hash_recovery_code(code)
    return users.update_if(user["_id"], {"recovery_code_hashes": code_hash},
                           {"$pull": {"recovery_code_hashes": code_hash}}) is not None


# Bearer tokens

def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: dict[str, Any], name: str | None) -> dict[str, Any]:
    token = "rt_" + secrets.token_urlsafe(32)
    expires_at = clock.now() + timedelta(days=current_app.config["API_TOKEN_LIFETIME_DAYS"])
    AuthToken().create(user["_id"], _token_hash(token), name or "api", expires_at)
    return {"token": token, "expires_at": expires_at}


def user_for_token(token: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(user, token document) for a live token, else None."""
    if not token or len(token) > 200:
        return None
    found = AuthToken().find_valid_with_user(_token_hash(token), clock.now())
    if found is None:
        return None
    document, user = found
    if user is None or user.get("deleted"):
        return None
    # A ban deletes the tokens; this also covers one issued while the ban was being set.
    return (user, document) if not site_bans.active_ban(user) else None


def revoke_token(user: dict[str, Any], token_id: ObjectId | None) -> None:
    """Delete the token; the sockets it opened close, on every process."""
    if token_id is None:
        raise BadRequest("Send the token to revoke as Authorization: Bearer <token>.")
    AuthToken().delete(token_id)
    live_rooms.end_sockets(user["_id"], "token_revoked", only=live_rooms.token_origin(token_id))


def logout(user: dict[str, Any] | None, login_id: str | None) -> None:
    """After the browser session `login_id` was cleared: the sockets it opened close."""
    origin = live_rooms.session_origin(login_id)
    if user is not None and origin is not None:
        live_rooms.end_sockets(user["_id"], "logged_out", only=origin)


def end_all_sessions(user_id: ObjectId, keep_token: ObjectId | None = None,
                     keep_login: str | None = None, reason: str = "session_ended"
                     ) -> dict[str, Any] | None:
    """Kill every session (epoch bump) and every bearer token but `keep_token`, then
    close every socket but those of `keep_token` and the browser login `keep_login`
    (`force_logout {reason}`, on every process)."""
    AuthToken().delete_for_user(user_id, keep=keep_token)
    updated = User().bump_session_epoch(user_id)
    live_rooms.end_sockets(user_id, reason, keep=(live_rooms.token_origin(keep_token),
                                                  live_rooms.session_origin(keep_login)),
                           epoch=updated["session_epoch"] if updated else None)
    return updated


# Passwords

def forgot_password(email: str) -> None:
    """Mails a reset link if the address belongs to an account. The request only queues
    one task, the same for any address (the lookup, token and mail happen on the mail
    worker), so neither the answer nor its timing tells a known address from another."""
    email_service.defer(_mail_reset_link, normalize_email(email))


def _mail_reset_link(email: str) -> None:
    users = User()
    user = users.find_by_login(email) if "@" in email else None
    if user is None:
        return
    nonce = tokens.new_nonce()
    users.update(user["_id"], {"reset_nonce": nonce})
    minutes = current_app.config["PASSWORD_RESET_MINUTES"]
    lifetime = timedelta(minutes=minutes)
    token = tokens.make("reset", str(user["_id"]), nonce, lifetime)
    email_service.send_template(user["email"], "reset_password", username=user["username"],
                                link=_frontend_link("reset-password", token), minutes=minutes,
                                **_recent_2fa_removal(user, lifetime))


def _recent_2fa_removal(user: dict[str, Any], lifetime: timedelta) -> dict[str, Any]:
    """For 2FA turned on less than TOTP_RESET_REMOVAL_HOURS ago (perhaps by someone who
    had stolen a session and the password): a second link in the reset mail that removes
    that enrolment. A reset alone never removes 2FA."""
    enabled_at = user.get("totp_enabled_at")
    hours = current_app.config["TOTP_RESET_REMOVAL_HOURS"]
    if (not user["totp_enabled"] or not user.get("totp_enrolment") or enabled_at is None
            or enabled_at < clock.now() - timedelta(hours=hours)):
        return {}
    token = tokens.make("drop2fa", str(user["_id"]), user["totp_enrolment"], lifetime)
    return {"remove_2fa_link": _frontend_link("remove-2fa", token),
            "totp_enabled_at": enabled_at.strftime("%Y-%m-%d %H:%M UTC")}


def reset_password(token: str, password: str) -> dict[str, Any]:
    payload = tokens.read("reset", token)
    user = User().find_active(payload["uid"]) if payload else None
    if user is None or user.get("reset_nonce") != payload["n"]:
        raise BadRequest("This reset link is invalid, used or expired.")
    _require_password_policy(password, user["username"], user["email"])
    # Receiving the link proves the mailbox, so the address counts as verified too.
    updated = _consume_link("reset", token, "reset_nonce",
                            {"password_hash": passwords.hash_password(password),
                             "email_verified": True})
    if updated is None:
        raise BadRequest("This reset link is invalid, used or expired.")
    # After the write: live sockets of the old sessions close on every process.
    return end_all_sessions(user["_id"], reason="password_reset")


def change_password(user: dict[str, Any], current_password: str, new_password: str,
                    address: str, keep_token: ObjectId | None = None,
                    keep_login: str | None = None) -> dict[str, Any]:
    """Returns the user with the new session epoch; the caller's own session (token
    `keep_token` or browser login `keep_login`) adopts it, every other one ends."""
    verify_password(user, current_password, address, "The current password is wrong.")
    _require_password_policy(new_password, user["username"], user["email"], "new_password")
    User().update(user["_id"], {"password_hash": passwords.hash_password(new_password),
                                "reset_nonce": None})
    return end_all_sessions(user["_id"], keep_token, keep_login, "password_changed")


# Two-factor authentication

def setup_2fa(user: dict[str, Any]) -> dict[str, str]:
    if user["totp_enabled"]:
        raise BadRequest("Two-factor authentication is already on; disable it first.")
    secret = totp.new_secret()
    User().update(user["_id"], {"totp_pending_secret": secret})
    uri = totp.provisioning_uri(secret, user["email"], current_app.config["TOTP_ISSUER"])
    return {"secret": secret, "otpauth_uri": uri}


def enable_2fa(user: dict[str, Any], otp: str, password: str, address: str,
               keep_token: ObjectId | None = None, keep_login: str | None = None) -> list[str]:
    """Turn TOTP on; every session and token but the caller's ends (they were opened
    without the second factor). Needs the password too: a stolen session alone cannot
    put the owner behind a second factor only the thief holds."""
    secret = user.get("totp_pending_secret")
    if user["totp_enabled"] or not secret:
        raise BadRequest("Call /2fa/setup first.")
    verify_password(user, password, address)
    step = totp.matching_step(secret, otp)
    if step is None:
        raise ValidationFailed(details={"otp": ["The code is wrong or expired."]})
    codes = totp.new_recovery_codes()
    updated = User().update_if(
        user["_id"], {"totp_pending_secret": secret, "totp_enabled": False},
        {"$set": {"totp_enabled": True, "totp_secret": secret, "totp_pending_secret": None,
                  "totp_last_step": step, "totp_enabled_at": utcnow(),
                  "totp_enrolment": tokens.new_nonce(),
                  "recovery_code_hashes": [totp.hash_recovery_code(c) for c in codes]}})
    if updated is None:
        raise BadRequest("Two-factor setup changed meanwhile; start again.")
    end_all_sessions(user["_id"], keep_token, keep_login, "2fa_enabled")
    return codes


TOTP_OFF = {"totp_enabled": False, "totp_secret": None, "totp_last_step": 0,
            "totp_enabled_at": None, "totp_enrolment": None, "recovery_code_hashes": []}


def disable_2fa(user: dict[str, Any], password: str, otp: str, address: str,
                keep_token: ObjectId | None = None, keep_login: str | None = None) -> None:
    """Turn TOTP off; every session and token but the caller's ends."""
    if not user["totp_enabled"]:
        raise BadRequest("Two-factor authentication is not on.")
    verify_password(user, password, address)
    if not check_second_factor(user, otp):
        login_throttle.record_failure(str(user["_id"]), address, user)
        raise OtpRequired("The two-factor code is wrong or was already used.")
    User().update(user["_id"], dict(TOTP_OFF))
    end_all_sessions(user["_id"], keep_token, keep_login, "2fa_disabled")


def remove_recent_2fa(token: str) -> dict[str, Any]:
    """The owner's confirmation from a reset mail: remove the 2FA enrolment the link names
    (single use; a later enrolment is untouched), then end every session and token."""
    updated = _consume_link("drop2fa", token, "totp_enrolment",
                            {key: value for key, value in TOTP_OFF.items()
                             if key != "totp_enrolment"})
    if updated is None:
        raise BadRequest("This link is invalid, used or expired.")
    # After the write: live sockets of every session close on every process.
    return end_all_sessions(updated["_id"], reason="2fa_removed")
