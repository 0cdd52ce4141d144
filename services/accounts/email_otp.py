"""The codes of the email second factor (for accounts without an authenticator app): at
login, after the password, a 6-digit code is mailed (via the job queue), stored only as
an HMAC, expiring, and refused after EMAIL_OTP_MAX_ATTEMPTS wrong tries. Turning it on
and off is services.accounts.auth_2fa's.

Functions take plain values, never `request`, and raise the contract's errors.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta
from typing import Any

from bson import ObjectId
from flask import current_app

from models.user import User
from services.platform import email_service
from utils import clock

CODE = re.compile(r"^\d{6}$")
EMAIL_OTP_CLEARED = {"email_otp_hash": None, "email_otp_expires_at": None,
                     "email_otp_sent_at": None, "email_otp_attempts": 0}


def _code_hash(user_id: ObjectId, code: str) -> str:
    # Keyed: 10^6 codes are quickly tried against a plain hash from a leaked table.
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"email-otp:{user_id}:{code}".encode(), hashlib.sha256).hexdigest()


def is_on(user: dict[str, Any]) -> bool:
    return bool(user.get("email_2fa_enabled"))


def send_login_code(user: dict[str, Any]) -> None:
    """After the password proved the account: mail a fresh code, unless one was sent
    less than EMAIL_OTP_RESEND_SECONDS ago and is still live (a login retried in a loop
    must not flood the mailbox)."""
    config, now = current_app.config, clock.now()
    sent_at = user.get("email_otp_sent_at")
    if (user.get("email_otp_hash") and sent_at is not None
            and sent_at > now - timedelta(seconds=config["EMAIL_OTP_RESEND_SECONDS"])
            and user["email_otp_expires_at"] > now):
        return
    code = f"{secrets.randbelow(10 ** 6):06d}"
    minutes = config["EMAIL_OTP_MINUTES"]
    User().update(user["_id"], {"email_otp_hash": _code_hash(user["_id"], code),
                                "email_otp_expires_at": now + timedelta(minutes=minutes),
                                "email_otp_sent_at": now, "email_otp_attempts": 0})
    email_service.send_template(user["email"], "login_code", username=user["username"],
                                code=code, minutes=minutes)


def check_code(user: dict[str, Any], code: str) -> bool:
    """A live mailed code, spent by the same update that accepts it. A wrong one counts
    an attempt; past EMAIL_OTP_MAX_ATTEMPTS the code is dead (log in again for a new one)."""
    code = code.strip()
    if not CODE.fullmatch(code):
        return False
    users, now = User(), clock.now()
    accepted = users.update_if(
        user["_id"], {"email_otp_hash": _code_hash(user["_id"], code),
                      "email_otp_expires_at": {"$gt": now},
                      "email_otp_attempts": {"$lt": current_app.config["EMAIL_OTP_MAX_ATTEMPTS"]}},
        {"$set": dict(EMAIL_OTP_CLEARED)})
    if accepted is not None:
        return True
    users.update_if(user["_id"], {"email_otp_hash": {"$ne": None}},
                    {"$inc": {"email_otp_attempts": 1}})
    return False
