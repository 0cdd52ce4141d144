"""How a request is authenticated.

Browsers use the server-side session (Flask-Session, in Redis) that login starts; other
clients send `Authorization: Bearer <token>`. Both give the same user document. A session
stores the user's `session_epoch`; bumping the epoch on the user (password reset or
change, account deletion) kills every session holding the old one, on every process.

A bearer request never opens the browser session (`BearerSkipsSession`): no session read
or write in Redis, whatever cookie comes along.

Unsafe requests authenticated by the cookie must carry `X-CSRF-Token` equal to the
session's token. Bearer requests need none: a browser never adds that header by itself.

This module knows no model: the services layer hands `init_app` its `UserLoaders` (the
way Flask-Login takes a user loader), which find the user a token, a session or an id
names (services.accounts.auth_login).
"""
from __future__ import annotations

import functools
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, request, session

from utils.errors import CsrfFailed, Unauthorized
from utils.http import UNSAFE_METHODS, warn_cross_site_cookie

_NOT_LOADED = object()
# Cached on the request, not on `g`: an app context (and its `g`) outlives a request when
# one was already pushed, as in tests holding a database context open.
USER_KEY, TOKEN_KEY = "roundtable.user", "roundtable.token_id"
LOADERS_KEY = "roundtable_user_loaders"


@dataclass(frozen=True)
class UserLoaders:
    """How users are found, given to `init_app` by the services layer."""

    # A bearer token -> (user, the id of the credential it belongs to: the token, or the
    # app login whose access tokens come and go) while the token is live, else None.
    by_token: Callable[[str], tuple[dict[str, Any], Any] | None]
    # A session's (user id, session epoch, login id, client address) -> the user while
    # that session is alive (not ended, not logged out by an epoch bump).
    by_session: Callable[[str, Any, str | None, str | None], dict[str, Any] | None]
    # A user id -> the user as stored now, unless deleted.
    by_id: Callable[[str], dict[str, Any] | None]
    # Count one write request (POST, PUT, PATCH, DELETE) of a signed-in user against their
    # per-user limit, whatever the route (account self-care included); raises RateLimited.
    count_write: Callable[[str], None]


class BearerSkipsSession:
    """Flask-Session's interface, except for a request carrying `Authorization`: that one
    is authenticated by its token alone (`current_user` never reads the cookie then), so
    its session is an empty one that is never read from nor written to the store (Flask
    skips saving what `is_null_session` names). Writing to it is allowed and goes nowhere:
    a bearer request cannot start, renew or end a browser session."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def open_session(self, app: Flask, request):
        if "Authorization" in request.headers:
            detached = self.inner.session_class(sid="", permanent=self.inner.permanent)
            detached.detached = True
            return detached
        return self.inner.open_session(app, request)

    def is_null_session(self, obj) -> bool:
        return getattr(obj, "detached", False) or self.inner.is_null_session(obj)

    def regenerate(self, session) -> None:
        if not getattr(session, "detached", False):  # nothing stored to move
            self.inner.regenerate(session)


def _loaders() -> UserLoaders:
    return current_app.extensions[LOADERS_KEY]


def load_user(user_id: str) -> dict[str, Any] | None:
    """The user as stored now (None if deleted), through the registered loader."""
    return _loaders().by_id(user_id)


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def current_user() -> dict[str, Any] | None:
    """The authenticated user document, or None. Cached for the request."""
    cached = request.environ.get(USER_KEY, _NOT_LOADED)
    if cached is not _NOT_LOADED:
        return cached
    user = None
    if "Authorization" in request.headers:
        # A bad bearer token is anonymous, never a fallback to the cookie.
        found = _loaders().by_token(_bearer_token() or "")
        if found:
            user, request.environ[TOKEN_KEY] = found
    else:
        user = user_from_session()
    request.environ[USER_KEY] = user
    return user


def user_from_session() -> dict[str, Any] | None:
    user_id = session.get("user_id")
    if not user_id:
        return None
    # None for an ended session, a deleted user, an older epoch or an active site ban.
    # request.remote_addr is the address ProxyFix trusts (utils.http), never a raw header.
    user = _loaders().by_session(user_id, session.get("epoch"), session.get("login_id"),
                                 request.remote_addr)
    if user is None:
        session.clear()  # dead: Flask-Session deletes it from the store on save
        return None
    return user


def session_user_id() -> str | None:
    """The user id the session cookie names, alive or not (read it before
    `user_from_session`, which clears a dead session)."""
    return session.get("user_id")


def session_login_id() -> str | None:
    """The id of this browser login: set at login, kept when the session id is renewed,
    gone at logout. The sockets a login opened end with it (services.platform.live_rooms)."""
    return session.get("login_id") if session.get("user_id") else None


def auth_token_id():
    """The credential of the bearer token this request used (the token, or the app login
    an access token belongs to: what is listed and revoked), or None for a cookie."""
    current_user()
    return request.environ.get(TOKEN_KEY)


def login_required(view: Callable) -> Callable:
    """A signed-in user, and for a write, one within their per-user write limit (counted
    before the view runs, so a refused write writes nothing)."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        user = current_user()
        if user is None:
            raise Unauthorized()
        if request.method in UNSAFE_METHODS:
            _loaders().count_write(str(user["_id"]))
        return view(*args, **kwargs)

    mark_for_doc(wrapper, "login_required")
    return wrapper


def mark_for_doc(view: Callable, mark: str) -> None:
    """Note on the view what `security_doc` reads (flask-smorest keeps `_apidoc`)."""
    view._apidoc = {**getattr(view, "_apidoc", {}), mark: True}


def security_doc(method: str, doc_info: dict[str, Any]) -> list[dict[str, list]]:
    """An operation's OpenAPI `security`: for one that needs a user, the session cookie
    (with `X-CSRF-Token` on an unsafe method that checks it) or a bearer token; none for
    a public one, except that a public unsafe one that checks CSRF (logout) needs the
    header when it is called with the cookie."""
    csrf = method.upper() in UNSAFE_METHODS and not doc_info.get("csrf_exempt")
    cookie: dict[str, list] = {"cookieAuth": [], "csrfToken": []} if csrf else \
        {"cookieAuth": []}
    if doc_info.get("login_required"):
        return [cookie] if doc_info.get("browser_only") else [cookie, {"bearerAuth": []}]
    return [{}, cookie, {"bearerAuth": []}] if csrf else []


def browser_only(view: Callable) -> Callable:
    """Documents that the operation needs the session cookie: the service refuses a bearer
    caller with 403 (services.accounts.auth_sessions ending browser sessions)."""
    mark_for_doc(view, "browser_only")
    return view


def csrf_exempt(view: Callable) -> Callable:
    """For views that act on credentials in the body, not on the session's identity."""
    view._csrf_exempt = True
    mark_for_doc(view, "csrf_exempt")
    return view


def start_session(user: dict[str, Any]) -> str:
    """Log `user` in on this browser under a new session id; returns the CSRF token."""
    session.clear()
    session["user_id"] = str(user["_id"])
    session["epoch"] = user["session_epoch"]
    session["login_id"] = secrets.token_urlsafe(16)
    session["csrf_token"] = secrets.token_urlsafe(32)
    # A new id at login: an id planted before login (fixation) never becomes logged in.
    current_app.session_interface.regenerate(session)
    request.environ[USER_KEY] = user
    warn_cross_site_cookie()
    return session["csrf_token"]


def adopt_epoch(user: dict[str, Any]) -> None:
    """Keep this request's session alive after an epoch bump it caused itself."""
    if session.get("user_id") == str(user["_id"]):
        session["epoch"] = user["session_epoch"]
        current_app.session_interface.regenerate(session)


def adopt_current_epoch() -> None:
    """`adopt_epoch` with the user as stored now (after a service ended other sessions)."""
    user_id = session.get("user_id")
    user = load_user(user_id) if user_id else None
    if user is not None:
        adopt_epoch(user)


def end_session() -> None:
    session.clear()
    request.environ[USER_KEY] = None


def csrf_token() -> str:
    token = session.get("csrf_token")
    if not token:
        token = session["csrf_token"] = secrets.token_urlsafe(32)
    return token


def _is_exempt() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    while view is not None:
        if getattr(view, "_csrf_exempt", False):
            return True
        view = getattr(view, "__wrapped__", None)
    return False


def check_csrf() -> None:
    """A before step of the request hooks (app.py `_init_request_hooks`)."""
    if request.method not in UNSAFE_METHODS or "Authorization" in request.headers:
        return
    if not session.get("user_id") or _is_exempt():
        return
    expected = session.get("csrf_token") or ""
    sent = request.headers.get("X-CSRF-Token", "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfFailed()


def document_security(api) -> None:
    if "cookieAuth" in api.spec.to_dict().get("components", {}).get("securitySchemes", {}):
        return
    api.spec.components.security_scheme(
        "cookieAuth", {"type": "apiKey", "in": "cookie", "name": "roundtable_session",
                       "description": "Session cookie from POST /api/auth/login; unsafe "
                                      "requests also need the X-CSRF-Token header."})
    api.spec.components.security_scheme(
        "csrfToken", {"type": "apiKey", "in": "header", "name": "X-CSRF-Token",
                      "description": "With the session cookie, on POST/PUT/PATCH/DELETE: "
                                     "the csrf_token of POST /api/auth/login (or GET "
                                     "/api/auth/csrf)."})
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer",
                       "description": "Opaque token from POST /api/auth/token."})


def init_app(app: Flask, api, loaders: UserLoaders) -> None:
    app.extensions[LOADERS_KEY] = loaders
    document_security(api)
