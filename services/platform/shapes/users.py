"""Users as others see them, as their owner sees them, and their friends and blocks."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

from marshmallow import Schema, fields, pre_dump, validate

from models.user import MESSAGE_POLICIES, default_settings
from services.platform import avatars, file_storage
from services.platform.shapes.fields import Timestamp
from utils.schemas import page_schema

DELETED_NAME = "deleted user"
# Stand-in users (an anonymous author's pseudonym) have no account, so no real joining date.
STAND_IN_SINCE = datetime(2025, 1, 1, tzinfo=timezone.utc)
# Every stored field PublicUserSchema reads: users shown to others are loaded with only these.
PUBLIC_FIELDS = {field: 1 for field in ("username", "display_name", "bio", "avatar_key",
                                        "created_at", "deleted")}


INITIALS_PATH = "/api/users/initials.svg"


def avatar_url(user: dict[str, Any]) -> str:
    """The uploaded picture, else the generated one (GET /api/users/initials.svg,
    services.platform.avatars): never null. Its letters and colour are in the URL, so a rename
    is a new URL and the picture can be cached for good."""
    key = None if user.get("deleted") else user.get("avatar_key")
    if key:
        return file_storage.url_for(key)
    return generated_avatar_url(display_name(user), str(user["_id"]),
                                known=not user.get("deleted"))


def generated_avatar_url(name: str, seed: str, known: bool = True) -> str:
    return f"{INITIALS_PATH}?{urlencode(avatars.picture_params(name, seed, known))}"


def stand_in(user_id: str, name: str) -> dict[str, Any]:
    """A user with no account shown under `name` (a pseudonym): PublicUserSchema dumps it
    as it is, with a picture drawn from the name."""
    return {"_id": user_id, "username": name, "display_name": name, "bio": "",
            "created_at": STAND_IN_SINCE, "pseudonym": True}


def display_name(user: dict[str, Any]) -> str:
    """The name to show: the chosen display name, else the username."""
    if user.get("deleted"):
        return DELETED_NAME
    return user.get("display_name") or user["username"]


class PublicUserSchema(Schema):
    """What anyone may see of a user (never the email). A deleted account shows as
    "deleted user" wherever its posts remain. `display_name` and `avatar_url` are never
    null: the username and a generated initials picture stand in."""

    id = fields.String(attribute="_id", required=True)
    username = fields.String(required=True)
    display_name = fields.String(required=True, metadata={
        "description": "The chosen display name, else the username."})
    bio = fields.String(required=True)
    avatar_url = fields.String(required=True, metadata={
        "description": "The uploaded picture, else a generated SVG of the initials."})
    created_at = Timestamp(required=True)
    deleted = fields.Boolean(required=True)

    @pre_dump
    def present(self, user: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if user.get("pseudonym"):
            # The stand-in for an anonymous author (services/forum/pseudonyms.py): no account.
            # Drawn like anyone's: the URL names the pseudonym's letters, never an account.
            return {**user, "avatar_url": generated_avatar_url(user["display_name"],
                                                               str(user["_id"])),
                    "deleted": False}
        if user.get("deleted"):
            return {"_id": user["_id"], "username": DELETED_NAME, "display_name": DELETED_NAME,
                    "bio": "", "avatar_url": avatar_url(user), "created_at": user["created_at"],
                    "deleted": True}
        return {**user, "display_name": display_name(user), "bio": user.get("bio") or "",
                "avatar_url": avatar_url(user), "deleted": False}


_DEFAULTS = default_settings()


class NotificationSettingsSchema(Schema):
    """The owner's settings as stored, every one present (a setting never stored shows
    its default); PATCH /api/users/me takes any of them (routes/account_schemas.py)."""

    email = fields.Boolean(required=True, dump_default=_DEFAULTS["notifications"]["email"])
    mentions = fields.Boolean(required=True,
                              dump_default=_DEFAULTS["notifications"]["mentions"])
    replies = fields.Boolean(required=True, dump_default=_DEFAULTS["notifications"]["replies"])
    direct_messages = fields.Boolean(
        required=True, dump_default=_DEFAULTS["notifications"]["direct_messages"])
    friend_requests = fields.Boolean(
        required=True, dump_default=_DEFAULTS["notifications"]["friend_requests"])


class SettingsSchema(Schema):
    notifications = fields.Nested(NotificationSettingsSchema, required=True,
                                  dump_default=dict)
    allow_messages_from = fields.String(required=True, validate=validate.OneOf(
        MESSAGE_POLICIES), dump_default=_DEFAULTS["allow_messages_from"])


class QuietHoursSchema(Schema):
    """Wall-clock times in the user's time zone; the window may cross midnight."""

    start = fields.String(required=True, metadata={"example": "22:00"})
    end = fields.String(required=True, metadata={"example": "07:00"})


class PrivateUserSchema(PublicUserSchema):
    """The owner's view."""

    email = fields.String(required=True)
    email_verified = fields.Boolean(required=True)
    role = fields.String(required=True)
    settings = fields.Nested(SettingsSchema, required=True)
    totp_enabled = fields.Boolean(required=True)
    time_zone = fields.String(required=True, allow_none=True, dump_default=None, metadata={
        "description": "IANA time zone of quiet hours and digests; null: UTC."})
    quiet_hours = fields.Nested(QuietHoursSchema, required=True, allow_none=True,
                                dump_default=None, metadata={
                                    "description": "When mail (and push) waits; null: never."})


class FriendRequestSchema(Schema):
    id = fields.String(attribute="_id", required=True)
    user = fields.Nested(PublicUserSchema, required=True)
    direction = fields.String(required=True, validate=validate.OneOf(["incoming", "outgoing"]))
    status = fields.String(required=True)
    created_at = Timestamp(required=True)


class FriendSchema(Schema):
    user = fields.Nested(PublicUserSchema, required=True)
    since = Timestamp(allow_none=True, required=True, attribute="accepted_at")


class BlockedSchema(Schema):
    user = fields.Nested(PublicUserSchema, required=True)
    created_at = Timestamp(required=True)


UserPageSchema = page_schema(PublicUserSchema, "UserPage")
FriendRequestPageSchema = page_schema(FriendRequestSchema, "FriendRequestPage")
FriendPageSchema = page_schema(FriendSchema, "FriendPage")
BlockedPageSchema = page_schema(BlockedSchema, "BlockedPage")

PUBLIC_USER = PublicUserSchema()
PRIVATE_USER = PrivateUserSchema()
FRIEND_REQUEST = FriendRequestSchema()
FRIEND = FriendSchema()
BLOCKED = BlockedSchema()


class UserEnvelopeSchema(Schema):
    user = fields.Nested(PrivateUserSchema, required=True)


class LoginResultSchema(UserEnvelopeSchema):
    csrf_token = fields.String(required=True)


class TokenSchema(Schema):
    """An app's tokens (docs/ACCOUNTS.md "Tokens for apps"): send `access_token` as
    `Authorization: Bearer`, and before it expires (or on a 401) trade `refresh_token` for a
    new pair at POST /api/auth/token/refresh."""

    access_token = fields.String(required=True, metadata={
        "description": "Bearer token; lives `expires_in` seconds (ACCESS_TOKEN_TTL_SECONDS)."})
    refresh_token = fields.String(required=True, metadata={
        "description": "Single use: a refresh retires it; presenting it again ends every "
                       "token of this login and closes its sockets."})
    token_type = fields.String(required=True, validate=validate.OneOf(["Bearer"]))
    expires_in = fields.Integer(required=True, metadata={
        "description": "Seconds the access token lives."})
    token = fields.String(required=True, metadata={
        "deprecated": True,
        "description": "Deprecated: the access token again, for clients of the single "
                       "token; read `access_token`."})
    expires_at = Timestamp(required=True, metadata={
        "deprecated": True,
        "description": "Deprecated: when the access token expires; read `expires_in`."})


class TwoFactorSetupSchema(Schema):
    secret = fields.String(required=True)
    otpauth_uri = fields.String(required=True)


class LoginSessionSchema(Schema):
    """A browser session as its owner sees it (GET /api/auth/sessions)."""

    id = fields.String(attribute="_id", required=True)
    device = fields.String(required=True)
    user_agent = fields.String(required=True)
    address = fields.String(allow_none=True, required=True)
    created_at = Timestamp(required=True)
    last_seen_at = Timestamp(required=True)
    current = fields.Boolean(required=True)


class LoginSessionsSchema(Schema):
    sessions = fields.List(fields.Nested(LoginSessionSchema), required=True)


class EndedSessionsSchema(Schema):
    ended = fields.Integer(required=True)


class ApiTokenSchema(Schema):
    """An API token as its owner sees it; never the token itself."""

    id = fields.String(attribute="_id", required=True)
    name = fields.String(required=True)
    created_at = Timestamp(required=True)
    expires_at = Timestamp(required=True)
    current = fields.Boolean(required=True)


class ApiTokensSchema(Schema):
    tokens = fields.List(fields.Nested(ApiTokenSchema), required=True)


class UsernameAvailabilitySchema(Schema):
    username = fields.String(required=True)
    available = fields.Boolean(required=True)
    reason = fields.String(allow_none=True, required=True,
                           validate=validate.OneOf(["invalid", "taken"]))
    message = fields.String(allow_none=True, required=True)


class EmailCheckSchema(Schema):
    status = fields.String(required=True)
    email = fields.String(required=True)
    message = fields.String(required=True)


class PasskeySchema(Schema):
    id = fields.String(attribute="_id", required=True)
    name = fields.String(required=True)
    transports = fields.List(fields.String(), required=True)
    created_at = Timestamp(required=True)
    last_used_at = Timestamp(allow_none=True, required=True)


class PasskeysSchema(Schema):
    passkeys = fields.List(fields.Nested(PasskeySchema), required=True)


class PasskeyOptionsSchema(Schema):
    """A ceremony's options for navigator.credentials.create() or .get() (WebAuthn JSON,
    binary fields base64url), and the id that names its challenge in the answer."""

    challenge_id = fields.String(required=True)
    options = fields.Dict(required=True)


TOKEN = TokenSchema()
LOGIN_SESSION = LoginSessionSchema()
API_TOKEN = ApiTokenSchema()
PASSKEY = PasskeySchema()
TWO_FACTOR_SETUP = TwoFactorSetupSchema()


class AvatarSchema(Schema):
    avatar_url = fields.String(required=True)


class DataExportSchema(Schema):
    id = fields.String(attribute="_id", required=True)
    status = fields.String(required=True,
                           metadata={"description": "pending, then ready (and mailed)"})
    created_at = Timestamp(required=True)
    expires_at = Timestamp(required=True,
                           metadata={"description": "when the link and archive go"})


DATA_EXPORT = DataExportSchema()
