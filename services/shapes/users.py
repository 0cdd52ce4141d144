"""Users as others see them, as their owner sees them, and their friends and blocks."""
from __future__ import annotations

import hashlib
from typing import Any

from marshmallow import Schema, fields, pre_dump, validate

from models.user import MESSAGE_POLICIES
from services import file_storage
from services.shapes.fields import Timestamp
from utils.schemas import StrictSchema, page_schema

DELETED_NAME = "deleted user"


def avatar_url(user: dict[str, Any]) -> str:
    """The uploaded picture, else the generated one (GET /api/users/<id>/avatar.svg,
    services.avatars.initials_svg): never null. `v` changes with the name the picture
    shows, so the URL can be cached for a day and still follow a rename."""
    key = None if user.get("deleted") else user.get("avatar_key")
    if key:
        return file_storage.get_storage().url_for(key)
    version = hashlib.sha256(display_name(user).encode()).hexdigest()[:8]
    return f"/api/users/{user['_id']}/avatar.svg?v={version}"


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
        if user.get("deleted"):
            return {"_id": user["_id"], "username": DELETED_NAME, "display_name": DELETED_NAME,
                    "bio": "", "avatar_url": avatar_url(user), "created_at": user["created_at"],
                    "deleted": True}
        return {**user, "display_name": display_name(user), "bio": user.get("bio") or "",
                "avatar_url": avatar_url(user), "deleted": False}


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


TOKEN = TokenSchema()
TWO_FACTOR_SETUP = TwoFactorSetupSchema()


class AvatarSchema(Schema):
    avatar_url = fields.String(required=True)
