"""My browser sessions and API tokens: list them, end any one, end all other sessions."""
from __future__ import annotations

from services.accounts import auth_sessions
from services.platform.shapes.users import ApiTokensSchema, EndedSessionsSchema, LoginSessionsSchema
from utils import auth
from utils.api import Blueprint
from utils.auth import browser_only, current_user, login_required

blp = Blueprint("auth_sessions", __name__, description="My sessions and API tokens")


@blp.route("/sessions")
@login_required
@blp.response(200, LoginSessionsSchema)
def list_sessions():
    """My live browser sessions (device, address, created, last seen), the one this
    request uses marked `current`."""
    return {"sessions": auth_sessions.list_sessions(current_user(), auth.session_login_id())}


@blp.route("/sessions/<objectid:session_id>", methods=["DELETE"])
@login_required
@browser_only
@blp.response(204)
def end_session(session_id: str):
    """End one of my sessions; its sockets close. Ending the current one logs out. Needs a
    browser session: a bearer token gets 403."""
    login = auth_sessions.end_session(current_user(), session_id, auth.session_login_id())
    if login["login_id"] == auth.session_login_id():
        auth.end_session()


@blp.route("/sessions/revoke-others", methods=["POST"])
@login_required
@browser_only
@blp.response(200, EndedSessionsSchema)
def end_other_sessions():
    """End every browser session but this one (API tokens stay); their sockets close.
    Needs a browser session: a bearer token gets 403."""
    return {"ended": auth_sessions.end_other_sessions(current_user(),
                                                      auth.session_login_id())}


@blp.route("/tokens")
@login_required
@blp.response(200, ApiTokensSchema)
def list_tokens():
    """My live API tokens (name, created, expires; never the token), the one this request
    uses marked `current`."""
    return {"tokens": auth_sessions.list_tokens(current_user(), auth.auth_token_id())}


@blp.route("/tokens/<objectid:token_id>", methods=["DELETE"])
@login_required
@blp.response(204)
def revoke_token(token_id: str):
    """Revoke one of my API tokens; its sockets close."""
    auth_sessions.revoke_token(current_user(), token_id)
