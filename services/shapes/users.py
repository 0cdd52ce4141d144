"""Users as others see them, as their owner sees them, and their friends and blocks."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, pre_dump, validate

from models.user import MESSAGE_POLICIES
from services import file_storage
from services.shapes.fields import Timestamp
from utils.schemas import StrictSchema, page_schema

DELETED_NAME = "deleted user"


def avatar_url(user: dict[str, Any]) -> str | None:
    key = user.get("avatar_key")
    return file_storage.get_storage().url_for(key) if key else None


class PublicUserSchema(Schema):
    """What anyone may see of a user (never the email). A deleted account shows as
    "deleted user" wherever its posts remain."""

    id = fields.String(attribute="_id", required=True)
    username = fields.String(required=True)
    display_name = fields.String(allow_none=True, required=True, dump_default=None)
    bio = fields.String(required=True)
    avatar_url = fields.String(allow_none=True, required=True, dump_default=None)
    created_at = Timestamp(required=True)
    deleted = fields.Boolean(required=True)

    @pre_dump
    def present(self, user: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if user.get("deleted"):
            return {"_id": user["_id"], "username": DELETED_NAME, "display_name": DELETED_NAME,
                    "bio": "", "created_at": user["created_at"], "deleted": True}
        return {**user, "bio": user.get("bio") or "", "avatar_url": avatar_url(user),
                "deleted": False}


class NotificationSettingsSchema(StrictSchema):
    email = fields.Boolean()
    mentions = fields.Boolean()
    replies = fields.Boolean()
    direct_messages = fields.Boolean()
    friend_requests = fields.Boolean()


class SettingsSchema(StrictSchema):
    notifications = fields.Nested(NotificationSettingsSchema)
    allow_messages_from = fields.String(validate=validate.OneOf(MESSAGE_POLICIES))


class PrivateUserSchema(PublicUserSchema):
    """The owner's view."""

    email = fields.String(required=True)
    email_verified = fields.Boolean(required=True)
    role = fields.String(required=True)
    settings = fields.Nested(SettingsSchema, required=True)
    totp_enabled = fields.Boolean(required=True)


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
    token = fields.String(required=True)
    expires_at = Timestamp(required=True)


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
