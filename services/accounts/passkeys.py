"""Passkeys (WebAuthn, with the `webauthn` library's verification): registering one
(options, then the authenticator's answer), listing, renaming and deleting them, and
logging in with one: as the first factor (a discoverable credential, with or without the
login name; user verification required), or as the second factor of an account with
two-factor on, after the password.

Each ceremony's challenge is stored server-side (models.passkey.WebAuthnChallenge) and
named by `challenge_id`: taken by the one verification that uses it, refused after
WEBAUTHN_CHALLENGE_SECONDS. The relying party is WEBAUTHN_RP_ID, the allowed page origins
WEBAUTHN_ORIGINS.

Functions take plain values, never `request`, and raise the contract's errors.
"""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from bson import ObjectId
from flask import current_app
from webauthn import (
    base64url_to_bytes,
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from models.passkey import Passkey, WebAuthnChallenge
from models.user import User
from services.accounts.auth_login import (
    may_log_in,
    password_proven,
    two_factor_methods,
    verify_password,
)
from services.platform.shapes.users import PASSKEY
from utils import clock
from utils.errors import BadRequest, InvalidCredentials, NotFound, ValidationFailed
from utils.identity import normalize_login

REGISTER, LOGIN, SECOND_FACTOR = "register", "login", "second_factor"
# What a malformed answer from a client may raise inside the library's parsing.
MALFORMED = (WebAuthnException, ValueError, TypeError, KeyError, AttributeError, IndexError)
TRANSPORTS = {t.value for t in AuthenticatorTransport}
CHALLENGE_GONE = "This passkey request is invalid, used or expired; start again."


def _rp() -> tuple[str, list[str]]:
    config = current_app.config
    return config["WEBAUTHN_RP_ID"], list(config["WEBAUTHN_ORIGINS"])


def _issue(options: Any, purpose: str, user_id: ObjectId | None) -> dict[str, Any]:
    expires = clock.now() + timedelta(seconds=current_app.config["WEBAUTHN_CHALLENGE_SECONDS"])
    stored = WebAuthnChallenge().create(options.challenge, purpose, user_id, expires)
    return {"challenge_id": str(stored["_id"]), "options": json.loads(options_to_json(options))}


def _take(challenge_id: str, purposes: tuple[str, ...]) -> dict[str, Any]:
    found = (WebAuthnChallenge().take(ObjectId(challenge_id), purposes, clock.now())
             if ObjectId.is_valid(challenge_id) else None)
    if found is None:
        raise BadRequest(CHALLENGE_GONE)
    return found


def _descriptors(passkeys: list[dict[str, Any]]) -> list[PublicKeyCredentialDescriptor]:
    return [PublicKeyCredentialDescriptor(
        id=p["credential_id"], transports=[AuthenticatorTransport(t) for t in p["transports"]])
        for p in passkeys]


def _refused(what: str) -> ValidationFailed:
    return ValidationFailed(details={"credential": [f"The authenticator's {what} was not "
                                                    "accepted."]})


# Registering and managing

def registration_options(user: dict[str, Any], password: str, address: str) -> dict[str, Any]:
    """Options for navigator.credentials.create(). Needs the password: a stolen session
    alone cannot plant the thief's passkey on the account."""
    verify_password(user, password, address)
    rp_id, _ = _rp()
    options = generate_registration_options(
        rp_id=rp_id, rp_name=current_app.config["WEBAUTHN_RP_NAME"],
        user_id=user["_id"].binary, user_name=user["username"],
        user_display_name=user.get("display_name") or user["username"],
        exclude_credentials=_descriptors(Passkey().list_for_user(user["_id"])),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.PREFERRED))
    return _issue(options, REGISTER, user["_id"])


def register(user: dict[str, Any], challenge_id: str, credential: dict[str, Any],
             name: str | None) -> dict[str, Any]:
    """Verify the authenticator's answer to the user's registration challenge and store
    the passkey."""
    challenge = _take(challenge_id, (REGISTER,))
    if challenge["user_id"] != user["_id"]:
        raise BadRequest(CHALLENGE_GONE)
    rp_id, origins = _rp()
    try:
        verified = verify_registration_response(
            credential=credential, expected_challenge=challenge["challenge"],
            expected_rp_id=rp_id, expected_origin=origins)
    except MALFORMED:
        raise _refused("registration") from None
    response = credential.get("response")
    transports = response.get("transports") if isinstance(response, dict) else None
    transports = [t for t in transports if t in TRANSPORTS] if isinstance(transports, list) \
        else []
    passkey = Passkey().create(user["_id"], verified.credential_id,
                               verified.credential_public_key, verified.sign_count,
                               name or "Passkey", transports)
    return PASSKEY.dump(passkey)


def list_passkeys(user: dict[str, Any]) -> list[dict[str, Any]]:
    return PASSKEY.dump(Passkey().list_for_user(user["_id"]), many=True)


def rename(user: dict[str, Any], passkey_id: str, name: str) -> dict[str, Any]:
    """Someone else's passkey answers the same 404 as one that does not exist."""
    passkey = Passkey().rename(user["_id"], ObjectId(passkey_id), name)
    if passkey is None:
        raise NotFound("Passkey not found.")
    return PASSKEY.dump(passkey)


def delete(user: dict[str, Any], passkey_id: str) -> None:
    if Passkey().delete_one_of(user["_id"], ObjectId(passkey_id)) is None:
        raise NotFound("Passkey not found.")


def forget_user(user_id: ObjectId) -> None:
    """Delete every passkey of an account being deleted."""
    Passkey().delete_for_user(user_id)


# Logging in

def login_options(login: str | None) -> dict[str, Any]:
    """Options for navigator.credentials.get() as the first factor. Without a login name
    the browser offers the site's discoverable passkeys; with one, the challenge lists
    that account's passkeys (none for an unknown name)."""
    allowed: list[dict[str, Any]] = []
    user = User().find_by_login(normalize_login(login)) if login else None
    if user is not None and not user.get("deleted"):
        allowed = Passkey().list_for_user(user["_id"])
    options = generate_authentication_options(
        rp_id=_rp()[0], allow_credentials=_descriptors(allowed),
        user_verification=UserVerificationRequirement.REQUIRED)
    return _issue(options, LOGIN, None)


def second_factor_options(login: str, password: str, address: str) -> dict[str, Any]:
    """After the password (throttled like a login): options for a passkey of this account
    as its second factor."""
    user = password_proven(login, password, address)
    if "passkey" not in two_factor_methods(user):
        raise BadRequest("This account takes no passkey as its second factor.")
    options = generate_authentication_options(
        rp_id=_rp()[0], allow_credentials=_descriptors(Passkey().list_for_user(user["_id"])),
        user_verification=UserVerificationRequirement.DISCOURAGED)
    return _issue(options, SECOND_FACTOR, user["_id"])


def authenticate(challenge_id: str, credential: dict[str, Any]) -> dict[str, Any]:
    """The user a passkey assertion proves, for either kind of challenge: as the first
    factor it must show user verification; as the second it must be a passkey of the
    account whose password opened the challenge."""
    challenge = _take(challenge_id, (LOGIN, SECOND_FACTOR))
    try:
        credential_id = base64url_to_bytes(credential.get("rawId") or credential["id"])
    except MALFORMED:
        raise _refused("answer") from None
    passkey = Passkey().find_by_credential(credential_id)
    if passkey is None or challenge["user_id"] not in (None, passkey["user_id"]):
        raise InvalidCredentials("This passkey is not registered for this account.")
    rp_id, origins = _rp()
    try:
        verified = verify_authentication_response(
            credential=credential, expected_challenge=challenge["challenge"],
            expected_rp_id=rp_id, expected_origin=origins,
            credential_public_key=passkey["public_key"],
            credential_current_sign_count=passkey["sign_count"],
            require_user_verification=challenge["purpose"] == LOGIN)
    except MALFORMED:
        raise InvalidCredentials("The passkey's answer was not accepted.") from None
    # A counter that another login moved meanwhile: one of the two used a copy.
    if not Passkey().record_use(passkey["_id"], passkey["sign_count"], verified.new_sign_count):
        raise InvalidCredentials("The passkey's answer was not accepted.")
    user = User().find_active(passkey["user_id"])
    if user is None:
        raise InvalidCredentials("This passkey is not registered for this account.")
    may_log_in(user)
    return user
