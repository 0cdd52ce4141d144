"""Request and response schemas of the auth and users areas."""
from __future__ import annotations

from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

from models.user import MESSAGE_POLICIES
from utils.schemas import PageQuerySchema, StrictSchema, page_schema

# Generous bounds that only stop abuse; the real rules live in the services.
Login = fields.String(required=True, validate=validate.Length(min=1, max=254))
Password = fields.String(required=True, validate=validate.Length(min=1, max=1024))
Otp = fields.String(validate=validate.Length(min=1, max=32))
LinkToken = fields.String(required=True, validate=validate.Length(min=1, max=512))
Email = fields.String(required=True, validate=validate.Length(min=1, max=254))


class RegisterSchema(StrictSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    email = Email
    password = Password


class LoginSchema(StrictSchema):
    login = Login
    password = Password
    otp = Otp


class TokenRequestSchema(LoginSchema):
    name = fields.String(validate=validate.Length(min=1, max=100))


class TokenSchema(Schema):
    token = fields.String(required=True)
    expires_at = fields.String(required=True)


class EmailBodySchema(StrictSchema):
    email = Email


class LinkTokenSchema(StrictSchema):
    token = LinkToken


class ResetPasswordSchema(StrictSchema):
    token = LinkToken
    password = Password


class ChangePasswordSchema(StrictSchema):
    current_password = Password
    new_password = Password


class OtpBodySchema(StrictSchema):
    otp = fields.String(required=True, validate=validate.Length(min=1, max=32))


class EnableTwoFactorSchema(OtpBodySchema):
    password = Password


class DisableTwoFactorSchema(StrictSchema):
    password = Password
    otp = fields.String(required=True, validate=validate.Length(min=1, max=32))


class PasswordBodySchema(StrictSchema):
    password = Password


class AcceptedSchema(Schema):
    status = fields.String(required=True)


class CsrfSchema(Schema):
    csrf_token = fields.String(required=True)


class TwoFactorSetupSchema(Schema):
    secret = fields.String(required=True)
    otpauth_uri = fields.String(required=True)


class RecoveryCodesSchema(Schema):
    recovery_codes = fields.List(fields.String(), required=True)


class NotificationSettingsSchema(StrictSchema):
    email = fields.Boolean()
    mentions = fields.Boolean()
    replies = fields.Boolean()
    direct_messages = fields.Boolean()
    friend_requests = fields.Boolean()


class SettingsSchema(StrictSchema):
    notifications = fields.Nested(NotificationSettingsSchema)
    allow_messages_from = fields.String(validate=validate.OneOf(MESSAGE_POLICIES))


class PublicUserSchema(Schema):
    id = fields.String(required=True)
    username = fields.String(required=True)
    display_name = fields.String(allow_none=True)
    bio = fields.String()
    avatar_url = fields.String(allow_none=True)
    created_at = fields.String(required=True)
    deleted = fields.Boolean()


class PrivateUserSchema(PublicUserSchema):
    email = fields.String(required=True)
    email_verified = fields.Boolean(required=True)
    role = fields.String(required=True)
    settings = fields.Nested(SettingsSchema)
    totp_enabled = fields.Boolean()


class UserEnvelopeSchema(Schema):
    user = fields.Nested(PrivateUserSchema, required=True)


class LoginResultSchema(UserEnvelopeSchema):
    csrf_token = fields.String(required=True)


class ProfileUpdateSchema(StrictSchema):
    display_name = fields.String(allow_none=True, validate=validate.Length(max=50))
    bio = fields.String(allow_none=True, validate=validate.Length(max=500))
    settings = fields.Nested(SettingsSchema)


class AvatarUploadSchema(Schema):
    file = Upload(required=True)


class AvatarSchema(Schema):
    avatar_url = fields.String(required=True)


class UserSearchQuerySchema(PageQuerySchema):
    q = fields.String(load_default="", validate=validate.Length(max=64))


class FriendRequestQuerySchema(PageQuerySchema):
    direction = fields.String(load_default=None,
                              validate=validate.OneOf(["incoming", "outgoing"]))


class FriendRequestSchema(Schema):
    id = fields.String(required=True)
    user = fields.Nested(PublicUserSchema, required=True)
    direction = fields.String(required=True)
    status = fields.String(required=True)
    created_at = fields.String(required=True)


class FriendSchema(Schema):
    user = fields.Nested(PublicUserSchema, required=True)
    since = fields.String(allow_none=True)


class BlockedSchema(Schema):
    user = fields.Nested(PublicUserSchema, required=True)
    created_at = fields.String(required=True)


UserPageSchema = page_schema(PublicUserSchema, "UserPage")
FriendRequestPageSchema = page_schema(FriendRequestSchema, "FriendRequestPage")
FriendPageSchema = page_schema(FriendSchema, "FriendPage")
BlockedPageSchema = page_schema(BlockedSchema, "BlockedPage")
