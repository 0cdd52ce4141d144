"""Two-factor authentication: TOTP (an authenticator app) or a code mailed at login
(services.accounts.email_otp), each with recovery codes; setting it up, turning it on and off,
regenerating recovery codes, and removing a recent TOTP enrolment from the link in a
reset mail. Checking a code at
login is services.accounts.auth_login.check_second_factor.

Functions take plain values, never `request`, and raise the contract's errors.
"""
from __future__ import annotations

from typing import Any

from bson import ObjectId
from flask import current_app

from models.base import utcnow
from models.user import User
from services.accounts import email_otp, login_throttle
from services.accounts.auth_login import check_second_factor, end_all_sessions, verify_password
from services.platform import tokens, totp
from services.platform.shapes.users import TWO_FACTOR_SETUP
from utils.errors import BadRequest, OtpRequired, ValidationFailed

TOTP_OFF = {"totp_enabled": False, "totp_secret": None, "totp_last_step": 0,
            "totp_enabled_at": None, "totp_enrolment": None, "recovery_code_hashes": []}


# Every second factor off (account deletion).
ALL_OFF = {**TOTP_OFF, "email_2fa_enabled": False, **email_otp.EMAIL_OTP_CLEARED}


def setup_2fa(user: dict[str, Any]) -> dict[str, str]:
    if user["totp_enabled"] or email_otp.is_on(user):
        raise BadRequest("Two-factor authentication is already on; disable it first.")
    secret = totp.new_secret()
    User().update(user["_id"], {"totp_pending_secret": secret})
    uri = totp.provisioning_uri(secret, user["email"], current_app.config["TOTP_ISSUER"])
    return TWO_FACTOR_SETUP.dump({"secret": secret, "otpauth_uri": uri})


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
    updated = tokens.consume_link("drop2fa", token, "totp_enrolment",
                            {key: value for key, value in TOTP_OFF.items()
                             if key != "totp_enrolment"})
    if updated is None:
        raise BadRequest("This link is invalid, used or expired.")
    # After the write: live sockets of every session close on every process.
    return end_all_sessions(updated["_id"], reason="2fa_removed")


# The email code

def enable_email_2fa(user: dict[str, Any], password: str, address: str,
           keep_token: ObjectId | None = None, keep_login: str | None = None) -> list[str]:
    """Turn the email code on (not beside an authenticator app); returns 10 new recovery
    codes. Every other session and token ends (they were opened without it)."""
    if user["totp_enabled"] or email_otp.is_on(user):
        raise BadRequest("Two-factor authentication is already on; disable it first.")
    verify_password(user, password, address)
    codes = totp.new_recovery_codes()
    updated = User().update_if(
        user["_id"], {"totp_enabled": False, "email_2fa_enabled": {"$ne": True}},
        {"$set": {"email_2fa_enabled": True, **email_otp.EMAIL_OTP_CLEARED,
                  "recovery_code_hashes": [totp.hash_recovery_code(c) for c in codes]}})
    if updated is None:
        raise BadRequest("Two-factor settings changed meanwhile; start again.")
    end_all_sessions(user["_id"], keep_token, keep_login, "2fa_enabled")
    return codes


def disable_email_2fa(user: dict[str, Any], password: str, address: str,
            keep_token: ObjectId | None = None, keep_login: str | None = None) -> None:
    """Turn the email code off with the password; every other session and token ends."""
    if not email_otp.is_on(user):
        raise BadRequest("The email code is not on.")
    verify_password(user, password, address)
    User().update(user["_id"], {"email_2fa_enabled": False, **email_otp.EMAIL_OTP_CLEARED,
                                "recovery_code_hashes": []})
    end_all_sessions(user["_id"], keep_token, keep_login, "2fa_disabled")


def regenerate_recovery_codes(user: dict[str, Any], password: str, address: str) -> list[str]:
    """10 new recovery codes for an account with two-factor on; the old ones stop
    working. Needs the password."""
    if not (user["totp_enabled"] or email_otp.is_on(user)):
        raise BadRequest("Two-factor authentication is not on.")
    verify_password(user, password, address)
    codes = totp.new_recovery_codes()
    User().update(user["_id"], {"recovery_code_hashes": [totp.hash_recovery_code(c)
                                                         for c in codes]})
    return codes
