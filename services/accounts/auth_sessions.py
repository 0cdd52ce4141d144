"""The browser sessions and API tokens a user can see and end.

Every login is indexed in `login_sessions` (models.login_session): device, address,
created, last seen. The index is also the session's life: a cookie whose login has no
document is dead, so ending a session is deleting its document (Flask-Session's own copy
is cleared at its next use), which works the same with Redis and with the development
file store. Ending one closes the sockets it opened, on every process
(live_rooms.end_sockets with the session's origin).
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from bson import ObjectId
from flask import current_app
from ua_parser import parse as parse_user_agent

from models.auth_token import AuthToken
from models.login_session import LIST_LIMIT, LoginSession
from services.notify import push_subscriptions
from services.platform import live_rooms, site_bans
from services.platform.shapes.users import API_TOKEN, LOGIN_SESSION
from utils import clock, local_copies, user_versions
from utils.errors import Forbidden, NotFound

# `last_seen_at` moves at most once in this many seconds: one write a minute, not one a request.
TOUCH_SECONDS = 60
USER_AGENT_MAX = 512


def describe_device(user_agent: str) -> str:
    """"Firefox 128 on Ubuntu", "Python Requests 2", "Unknown device": what a person
    recognises in a list of their sessions."""
    parsed = parse_user_agent(user_agent[:USER_AGENT_MAX]) if user_agent else None
    agent, system = (parsed.user_agent, parsed.os) if parsed else (None, None)
    name = None
    if agent is not None and agent.family != "Other":
        name = " ".join(part for part in (agent.family, agent.major) if part)
    system_name = system.family if system is not None and system.family != "Other" else None
    if name and system_name:
        return f"{name} on {system_name}"
    return name or system_name or "Unknown device"


def _lifetime() -> timedelta:
    return current_app.config["PERMANENT_SESSION_LIFETIME"]


def record_login(user: dict[str, Any], login_id: str, user_agent: str,
                 address: str | None) -> dict[str, Any]:
    """Index the browser login `login_id` that just started."""
    user_agent = (user_agent or "")[:USER_AGENT_MAX]
    return LoginSession().create(user["_id"], login_id, describe_device(user_agent),
                                 user_agent, address, clock.now() + _lifetime())


def session_user(user_id: str, epoch: int | None, login_id: str | None,
                 address: str | None) -> dict[str, Any] | None:
    """The user a browser session names, if that session is still alive: its login is
    indexed (not ended), the account exists, the session's `epoch` is the user's
    (bumping it ends every older session) and no site ban is active. Moves the login's
    last-seen time, at most once a minute."""
    if not login_id:
        return None
    now = clock.now()
    found = _login_copy(user_id, login_id, now)
    if found is None:
        return None
    login, user = found
    if (user is None or user.get("deleted") or str(login["user_id"]) != user_id
            or user["session_epoch"] != epoch or site_bans.active_ban(user)):
        return None
    if login["last_seen_at"] < now - timedelta(seconds=TOUCH_SECONDS):
        LoginSession().touch(login["_id"], now - timedelta(seconds=TOUCH_SECONDS), now,
                             address, now + _lifetime())
        # The copy learns it too (no stamp change: the session is as alive as it was).
        login["last_seen_at"], login["expires_at"] = now, now + _lifetime()
    return dict(user)


def _login_copy(user_id: str, login_id: str, now: Any
                ) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
    """The session's login document and its user: from this process's copy while the
    user's version stamp is unchanged (ending a session, and every write to the user,
    replace it: models.login_session, utils.user_versions), else one aggregate."""
    stamp = user_versions.current(user_id) if ObjectId.is_valid(user_id) else None
    copies = local_copies.of("logins")
    found = copies.get(login_id, stamp)
    if found is not None and found[0]["expires_at"] > now:
        return found
    found = LoginSession().find_live_with_user(login_id, now)
    if found is None:
        copies.drop(login_id)
        return None
    copies.put(login_id, stamp, found, current_app.config["LOCAL_COPY_SECONDS"])
    return found


def list_sessions(user: dict[str, Any], current_login: str | None) -> list[dict[str, Any]]:
    """The user's live sessions, most recently seen first; `current` marks the caller's."""
    return LOGIN_SESSION.dump([{**login, "current": login["login_id"] == current_login}
                               for login in LoginSession().list_for_user(user["_id"],
                                                                         clock.now())],
                              many=True)


def _browser_only(current_login: str | None) -> None:
    """Only a browser session ends browser sessions. A bearer caller (no login of its
    own) is refused: a leaked API token must not log its owner's browsers out, the place
    they would revoke it from (a password change still ends every session)."""
    if current_login is None:
        raise Forbidden("Browser sessions can be ended only from a browser session.")


def end_session(user: dict[str, Any], session_id: str,
                current_login: str | None) -> dict[str, Any]:
    """End one of the user's sessions; its sockets close on every process. Someone else's
    session answers the same 404 as one that does not exist."""
    _browser_only(current_login)
    login = LoginSession().delete_one_of(user["_id"], ObjectId(session_id))
    if login is None:
        raise NotFound("Session not found.")
    push_subscriptions.forget_origin(live_rooms.session_origin(login["login_id"]))
    live_rooms.end_sockets(user["_id"], "session_revoked",
                           only=live_rooms.session_origin(login["login_id"]))
    return login


def end_other_sessions(user: dict[str, Any], current_login: str | None) -> int:
    """End every session of the user but the caller's (a bearer caller: 403); the
    number ended. API tokens are not touched (they are listed and revoked on their own)."""
    _browser_only(current_login)
    ended = LoginSession().delete_for_user(user["_id"], keep_login=current_login)
    for login_id in ended:
        push_subscriptions.forget_origin(live_rooms.session_origin(login_id))
        live_rooms.end_sockets(user["_id"], "session_revoked",
                               only=live_rooms.session_origin(login_id))
    return len(ended)


def forget_sessions(user_id: ObjectId, keep_login: str | None = None) -> None:
    """Drop the index of every session but `keep_login` (after an epoch bump killed them)."""
    LoginSession().delete_for_user(user_id, keep_login=keep_login)


def forget_session(login_id: str | None) -> None:
    """Drop the index of a session that logged out."""
    if login_id:
        LoginSession().delete_by_login(login_id)


def list_tokens(user: dict[str, Any], current_token: ObjectId | None) -> list[dict[str, Any]]:
    """The user's live API tokens (never the token itself), newest first: an app's login
    is one entry (its family's id, when it logged in, when its refresh token expires)."""
    listed = []
    for token in AuthToken().list_for_user(user["_id"], clock.now(), LIST_LIMIT):
        if token.get("family_id"):
            token = {**token, "_id": token["family_id"], "created_at": token["started_at"]}
        listed.append({**token, "current": token["_id"] == current_token})
    return API_TOKEN.dump(listed, many=True)


def revoke_token(user: dict[str, Any], token_id: str) -> None:
    """Revoke one of the user's tokens (an app's login: all of its tokens); its sockets
    close on every process."""
    credential = ObjectId(token_id)
    if not AuthToken().delete_credential(user["_id"], credential):
        raise NotFound("Token not found.")
    push_subscriptions.forget_origin(live_rooms.token_origin(credential))
    live_rooms.end_sockets(user["_id"], "token_revoked", only=live_rooms.token_origin(credential))
