"""Passkeys: register (options, then the authenticator's answer), list, rename, delete;
log in with one (first factor, or second factor after the password)."""
from __future__ import annotations

from flask_limiter.util import get_remote_address

from routes.account_schemas import (
    PasskeyLoginOptionsSchema,
    PasskeyLoginSchema,
    PasskeyRegisterSchema,
    PasskeyRenameSchema,
    PasskeySecondFactorOptionsSchema,
    PasskeyTokenSchema,
    PasswordBodySchema,
)
from routes.auth import logged_in
from services.accounts import passkeys, token_pairs
from services.platform.shapes.users import (
    TOKEN,
    LoginResultSchema,
    PasskeyOptionsSchema,
    PasskeySchema,
    PasskeysSchema,
    TokenSchema,
)
from utils.api import Blueprint
from utils.auth import csrf_exempt, current_user, login_required

blp = Blueprint("passkeys", __name__, description="Passkeys (WebAuthn)")


@blp.route("/")
@login_required
@blp.response(200, PasskeysSchema)
def list_passkeys():
    """My passkeys, oldest first."""
    return {"passkeys": passkeys.list_passkeys(current_user())}


@blp.route("/register/options", methods=["POST"])
@login_required
@blp.arguments(PasswordBodySchema)
@blp.response(200, PasskeyOptionsSchema)
def registration_options(body):
    """Options for navigator.credentials.create(); needs the password."""
    return passkeys.registration_options(current_user(), body["password"],
                                         get_remote_address())


@blp.route("/register", methods=["POST"])
@login_required
@blp.arguments(PasskeyRegisterSchema)
@blp.response(201, PasskeySchema)
def register(body):
    """Store a new passkey from the authenticator's answer to the registration options."""
    return passkeys.register(current_user(), body["challenge_id"], body["credential"],
                             body.get("name"))


@blp.route("/<objectid:passkey_id>", methods=["PATCH"])
@login_required
@blp.arguments(PasskeyRenameSchema)
@blp.response(200, PasskeySchema)
def rename(body, passkey_id: str):
    """Rename one of my passkeys."""
    return passkeys.rename(current_user(), passkey_id, body["name"])


@blp.route("/<objectid:passkey_id>", methods=["DELETE"])
@login_required
@blp.response(204)
def delete(passkey_id: str):
    """Delete one of my passkeys."""
    passkeys.delete(current_user(), passkey_id)


@blp.route("/login/options", methods=["POST"])
@csrf_exempt
@blp.arguments(PasskeyLoginOptionsSchema)
@blp.response(200, PasskeyOptionsSchema)
def login_options(body):
    """Options for navigator.credentials.get() to log in with a passkey alone; `login`
    narrows them to that account's passkeys, without it any discoverable one answers."""
    return passkeys.login_options(body.get("login"))


@blp.route("/second-factor/options", methods=["POST"])
@csrf_exempt
@blp.arguments(PasskeySecondFactorOptionsSchema)
@blp.response(200, PasskeyOptionsSchema)
def second_factor_options(body):
    """After login answered otp_required with `passkey` among the methods: the password
    again, and options for one of the account's passkeys."""
    return passkeys.second_factor_options(body["login"], body["password"],
                                          get_remote_address())


@blp.route("/login", methods=["POST"])
@csrf_exempt
@blp.arguments(PasskeyLoginSchema)
@blp.response(200, LoginResultSchema)
def login(body):
    """Log in with the authenticator's answer to either kind of options; starts a fresh
    session, like POST /api/auth/login."""
    return logged_in(passkeys.authenticate(body["challenge_id"], body["credential"]))


@blp.route("/token", methods=["POST"])
@csrf_exempt
@blp.arguments(PasskeyTokenSchema)
@blp.response(201, TokenSchema)
def token(body):
    """Log an app in with a passkey: the authenticator's answer to either kind of options,
    answered with tokens like POST /api/auth/token instead of a session."""
    user = passkeys.authenticate(body["challenge_id"], body["credential"])
    return TOKEN.dump(token_pairs.issue_pair(user, body.get("name")))
