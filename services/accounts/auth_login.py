"""Login, bearer tokens and sessions: who credentials prove, which session or token is
still alive, and ending them (the sockets they opened close with them).

Functions take plain values, never `request`, and raise the contract's errors. The
browser session itself (cookie, CSRF) is utils.auth's; it asks this module whose it is.
"""
from __future__ import annotations

import hashlib
from typing import Any

from bson import ObjectId
from flask import current_app

from models.auth_token import AuthToken
from models.passkey import Passkey
from models.user import User
from services.accounts import auth_sessions, email_otp, login_throttle
from services.notify import push_subscriptions
from services.platform import chat_limits, live_rooms, passwords, site_bans, totp
from utils import clock, local_copies, user_versions
from utils.auth import UserLoaders
from utils.errors import BadRequest, EmailNotVerified, Forbidden, InvalidCredentials, OtpRequired
from utils.identity import normalize_login


def authenticate(login: str, password: str, otp: str | None,
                 address: str) -> dict[str, Any]:
    """The user these credentials prove, or the contract's error. Unknown logins and wrong
    passwords answer alike and cost the same bcrypt work. Failures are throttled per
    (account, client `address`) and per address (services.accounts.login_throttle), so guessing
    from one address never locks the owner out of another."""
    user, account = _password_user(login, password, address)
    methods = two_factor_methods(user)
    if methods:
        if not otp:
            if email_otp.is_on(user):
                email_otp.send_login_code(user)
            raise OtpRequired(details={"methods": methods})
        if not check_second_factor(user, otp):
            login_throttle.record_failure(account, address, user)
            raise OtpRequired("The two-factor code is wrong or was already used.")
    may_log_in(user)
    login_throttle.clear(account, address)
    return user


def password_proven(login: str, password: str, address: str) -> dict[str, Any]:
    """The user a login name and password prove (throttled like a login), before any
    second factor: the first step of a passkey as the second factor."""
    return _password_user(login, password, address)[0]


def _password_user(login: str, password: str, address: str) -> tuple[dict[str, Any], str]:
    login = normalize_login(login)
    user = User().find_by_login(login) if login else None
    account = str(user["_id"]) if user else "login:" + login.lower()
    login_throttle.check(account, address)
    if not passwords.check_password(password, user["password_hash"] if user else None):
        login_throttle.record_failure(account, address, user)
        raise InvalidCredentials()
    return user, account


def may_log_in(user: dict[str, Any]) -> None:
    """Refuse a proven user who may not log in now. Only after the credentials proved the
    account: the ban's reason is for its owner."""
    site_bans.refuse_if_banned(user)
    if current_app.config["REQUIRE_EMAIL_VERIFICATION"] and not user["email_verified"]:
        raise EmailNotVerified()


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


def two_factor_methods(user: dict[str, Any]) -> list[str]:
    """The second factors the account takes at login (`details.methods` of otp_required):
    `totp` or `email`, and `passkey` beside either when the account has one; recovery
    codes go wherever `totp` or `email` does."""
    methods = ["totp"] * bool(user["totp_enabled"]) + ["email"] * email_otp.is_on(user)
    if methods and Passkey().count_for_user(user["_id"]):
        methods.append("passkey")
    return methods


def check_second_factor(user: dict[str, Any], code: str) -> bool:
    """A TOTP code newer than the last one used, a live mailed code, or an unused
    recovery code; each is spent by the same atomic update that accepts it."""
    users = User()
    step = totp.matching_step(user["totp_secret"] or "", code) if user["totp_secret"] else None
    if step is not None:
        return users.update_if(user["_id"], {"totp_last_step": {"$lt": step}},
                               {"$set": {"totp_last_step": step}}) is not None
    if email_otp.is_on(user) and email_otp.CODE.fullmatch(code.strip()):
        return email_otp.check_code(user, code)
    code_hash = totp.hash_recovery_code(code)
    return users.update_if(user["_id"], {"recovery_code_hashes": code_hash},
                           {"$pull": {"recovery_code_hashes": code_hash}}) is not None


# Bearer tokens

def token_hash(token: str) -> str:
    """What `auth_tokens` stores of a token (models.auth_token); tokens are issued by
    services.accounts.token_pairs."""
    return hashlib.sha256(token.encode()).hexdigest()


def credential_id(token: dict[str, Any]) -> ObjectId:
    """What a token belongs to, the thing listed and revoked: its family (an app's
    login: access tokens come and go) or, for a token of the old kind, the token."""
    return token.get("family_id") or token["_id"]


def _copy_seconds() -> float:
    return current_app.config["LOCAL_COPY_SECONDS"]


def user_for_token(token: str) -> tuple[dict[str, Any], ObjectId] | None:
    """(user, the token's `credential_id`) for a live access token (or one of the old
    kind), else None; a refresh token is no bearer token.

    Every bearer request asks this. The process keeps the token and its user under the
    user's version stamp (utils.local_copies): deleting a token, and every write to the
    user, replace the stamp, so a copy is used only while nothing changed, at the cost of
    one Redis GET. The stamp is read before MongoDB, so the first request of a token in
    this process only learns whose it is; the next one files the copy."""
    if not token or len(token) > 200:
        return None
    hashed, now = token_hash(token), clock.now()
    known = local_copies.of("tokens").peek(hashed)
    stamp = user_versions.current(known[0]["user_id"]) if known else None
    found = local_copies.of("tokens").get(hashed, stamp)
    if found is None or found[0]["expires_at"] <= now:
        found = AuthToken().find_valid_with_user(hashed, now)
        if found is None:
            local_copies.of("tokens").drop(hashed)
            return None
        # Under the stamp read before this read; at first sight under none that will
        # ever match (only to know whose stamp to read next time).
        local_copies.of("tokens").put(hashed, stamp if known else "unread", found,
                                _copy_seconds())
    document, user = found[0], dict(found[1]) if found[1] is not None else None
    if user is None or user.get("deleted"):
        return None
    # A ban deletes the tokens; this also covers one issued while the ban was being set.
    return (user, credential_id(document)) if not site_bans.active_ban(user) else None


# Why a socket is refused at connect; the client reads `{code, message}` as the data of
# its `connect_error` (docs/CLIENTS.md). `rate_limited` (too many sockets) is room_entry's.
SOCKET_REFUSALS = {
    "unauthorized": "Log in first: send the session cookie or auth={token: ...}.",
    "session_expired": "This session or token has ended; log in again.",
}


def socket_refusal(token: Any, session_user_id: str | None) -> dict[str, str]:
    """`{code, message}` for a socket whose credentials prove nobody: `unauthorized`
    without any, `banned` while the account they name is banned, else `session_expired`
    (logged out, revoked, expired, or never valid: in every case, log in again)."""
    if not token and not session_user_id:
        return {"code": "unauthorized", "message": SOCKET_REFUSALS["unauthorized"]}
    user = None
    if isinstance(token, str) and token and len(token) <= 200:
        found = AuthToken().find_valid_with_user(token_hash(token), clock.now())
        user = found[1] if found else None
    elif not token and ObjectId.is_valid(session_user_id):
        user = User().find_active(session_user_id)
    if user is not None and not user.get("deleted"):
        try:
            site_bans.refuse_if_banned(user)
        except Forbidden as exc:
            return {"code": "banned", "message": exc.message}
    return {"code": "session_expired", "message": SOCKET_REFUSALS["session_expired"]}


def revoke_token(user: dict[str, Any], credential: ObjectId | None) -> None:
    """Delete the token the caller used, with its whole family for an access token (an
    app logging out); the sockets they opened close, on every process."""
    if credential is None:
        raise BadRequest("Send the token to revoke as Authorization: Bearer <token>.")
    AuthToken().delete_credential(user["_id"], credential)
    push_subscriptions.forget_origin(live_rooms.token_origin(credential))
    live_rooms.end_sockets(user["_id"], "token_revoked", only=live_rooms.token_origin(credential))


# Browser sessions

def user_for_session(user_id: str, epoch: int | None, login_id: str | None,
                     address: str | None) -> dict[str, Any] | None:
    """The user a browser session names while that session lives
    (services.accounts.auth_sessions.session_user)."""
    return auth_sessions.session_user(user_id, epoch, login_id, address)


def active_user(user_id: str) -> dict[str, Any] | None:
    """The user as stored now, unless deleted."""
    return User().find_active(user_id)


def logout(user: dict[str, Any] | None, login_id: str | None) -> None:
    """After the browser session `login_id` was cleared: its index entry and the push
    subscriptions registered with it go, and the sockets it opened close."""
    auth_sessions.forget_session(login_id)
    push_subscriptions.forget_origin(live_rooms.session_origin(login_id))
    origin = live_rooms.session_origin(login_id)
    if user is not None and origin is not None:
        live_rooms.end_sockets(user["_id"], "logged_out", only=origin)


def end_all_sessions(user_id: ObjectId, keep_token: ObjectId | None = None,
                     keep_login: str | None = None, reason: str = "session_ended"
                     ) -> dict[str, Any] | None:
    """Kill every session (epoch bump) and every bearer token but those of the credential
    `keep_token` (a token of the old kind or an app's token family), drop the push
    subscriptions registered with them, then close every socket but those of `keep_token`
    and the browser login `keep_login` (`force_logout {reason}`, on every process)."""
    AuthToken().delete_for_user(user_id, keep=keep_token)
    updated = User().bump_session_epoch(user_id)
    auth_sessions.forget_sessions(user_id, keep_login=keep_login)
    kept = (live_rooms.token_origin(keep_token), live_rooms.session_origin(keep_login))
    push_subscriptions.forget_all_origins_but(user_id, kept)
    live_rooms.end_sockets(user_id, reason, keep=kept,
                           epoch=updated["session_epoch"] if updated else None)
    return updated


# What utils.auth and utils.socket_events use to find the acting user (given at init_app).
USER_LOADERS = UserLoaders(by_token=user_for_token, by_session=user_for_session,
                           by_id=active_user, count_write=chat_limits.hit_write_request)
