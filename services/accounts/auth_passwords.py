"""Passwords: a forgotten one (a mailed reset link), a reset, a change. Each ends the
other sessions and tokens of the account.

Functions take plain values, never `request`, and raise the contract's errors.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from bson import ObjectId
from flask import current_app

from models.user import User
from services.accounts.auth_login import end_all_sessions, verify_password
from services.platform import email_service, passwords, tokens
from utils import clock, jobs
from utils.errors import BadRequest
from utils.identity import normalize_email


def forgot_password(email: str) -> None:
    """Mails a reset link if the address belongs to an account. The request only queues
    one job, the same for any address (the lookup, token and mail happen in the job), so
    neither the answer nor its timing tells a known address from another."""
    _mail_reset_link.enqueue(normalize_email(email))


@jobs.task()
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
                                link=tokens.frontend_link("reset-password", token), minutes=minutes,
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
    return {"remove_2fa_link": tokens.frontend_link("remove-2fa", token),
            "totp_enabled_at": enabled_at.strftime("%Y-%m-%d %H:%M UTC")}


def reset_password(token: str, password: str) -> dict[str, Any]:
    payload = tokens.read("reset", token)
    user = User().find_active(payload["uid"]) if payload else None
    if user is None or user.get("reset_nonce") != payload["n"]:
        raise BadRequest("This reset link is invalid, used or expired.")
    passwords.require_policy(password, user["username"], user["email"])
    # Receiving the link proves the mailbox, so the address counts as verified too.
    updated = tokens.consume_link("reset", token, "reset_nonce",
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
    passwords.require_policy(new_password, user["username"], user["email"], "new_password")
    User().update(user["_id"], {"password_hash": passwords.hash_password(new_password),
                                "reset_nonce": None})
    return end_all_sessions(user["_id"], keep_token, keep_login, "password_changed")
