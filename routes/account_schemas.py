"""Request and response schemas of the auth and users areas."""
from __future__ import annotations

from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

from services.shapes.users import SettingsSchema
from utils.schemas import PageQuerySchema, StrictSchema

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


class ProfileUpdateSchema(StrictSchema):
    display_name = fields.String(allow_none=True, validate=validate.Length(max=50))
    bio = fields.String(allow_none=True, validate=validate.Length(max=500))
    settings = fields.Nested(SettingsSchema)


class AvatarUploadSchema(Schema):
    file = Upload(required=True)


class UserSearchQuerySchema(PageQuerySchema):
    q = fields.String(load_default="", validate=validate.Length(max=64))


class FriendRequestQuerySchema(PageQuerySchema):
    direction = fields.String(load_default=None,
                              validate=validate.OneOf(["incoming", "outgoing"]))


