"""Request and response schemas of the auth and users areas."""
from __future__ import annotations

from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from models.user import MESSAGE_POLICIES
from services.accounts.auth_signup import USERNAME_PATTERN
from services.notify import quiet_hours
from services.platform import passwords
from services.platform.avatars import PALETTE
from utils.identity import clean
from utils.schemas import PageQuerySchema, StrictSchema


class CleanedString(fields.String):
    """Cleaned as the services clean it (NFKC, no format characters, trimmed) before the
    validators run, so the limits below are the rules the services apply."""

    def _deserialize(self, value, attr, data, **kwargs):
        return clean(super()._deserialize(value, attr, data, **kwargs))


# A new account's name and a new password: the services' own rules (auth_signup,
# passwords), with their messages.
Username = CleanedString(required=True, validate=validate.Regexp(
    USERNAME_PATTERN.pattern, error="Use 3-32 letters, digits or underscores."))
NewPassword = fields.String(required=True, validate=[
    validate.Length(min=passwords.MIN_LENGTH, error="Use at least {min} characters."),
    validate.Length(max=passwords.MAX_LENGTH, error="Use at most {max} characters.")])
# Generous bounds that only stop abuse; the real rules live in the services.
Login = fields.String(required=True, validate=validate.Length(min=1, max=254))
Password = fields.String(required=True, validate=validate.Length(min=1, max=1024))
Otp = fields.String(validate=validate.Length(min=1, max=32))
LinkToken = fields.String(required=True, validate=validate.Length(min=1, max=512))
Email = fields.String(required=True, validate=validate.Length(min=1, max=254))


class RegisterSchema(StrictSchema):
    username = Username
    email = Email
    password = NewPassword


class LoginSchema(StrictSchema):
    login = Login
    password = Password
    otp = Otp


class TokenRequestSchema(LoginSchema):
    name = fields.String(validate=validate.Length(min=1, max=100))


class RefreshTokenSchema(StrictSchema):
    refresh_token = fields.String(required=True, validate=validate.Length(min=1, max=512))


class EmailBodySchema(StrictSchema):
    email = Email


class UsernameQuerySchema(StrictSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))


class LinkTokenSchema(StrictSchema):
    token = LinkToken


class ResetPasswordSchema(StrictSchema):
    token = LinkToken
    password = NewPassword


class ChangePasswordSchema(StrictSchema):
    current_password = Password
    new_password = NewPassword


class OtpBodySchema(StrictSchema):
    otp = fields.String(required=True, validate=validate.Length(min=1, max=32))


class EnableTwoFactorSchema(OtpBodySchema):
    password = Password


class DisableTwoFactorSchema(StrictSchema):
    password = Password
    otp = fields.String(required=True, validate=validate.Length(min=1, max=32))


class PasswordBodySchema(StrictSchema):
    password = Password


class DeleteAccountSchema(StrictSchema):
    password = Password
    content = fields.String(
        load_default="keep", validate=validate.OneOf(["keep", "remove"]),
        metadata={"description": "keep: my posts, comments and messages stay, by "
                                 "\"deleted user\"; remove: they become deleted markers"})


class ExportDownloadQuerySchema(StrictSchema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=512))


# Passkeys. The credential is the WebAuthn JSON a browser's PublicKeyCredential gives
# (toJSON()); the `webauthn` library checks every part of it.
ChallengeId = fields.String(required=True, validate=validate.Length(min=1, max=64))
Credential = fields.Dict(keys=fields.String(validate=validate.Length(max=64)), required=True)
PasskeyName = CleanedString(validate=validate.Length(min=1, max=64))


class PasskeyRegisterSchema(StrictSchema):
    challenge_id = ChallengeId
    credential = Credential
    name = PasskeyName


class PasskeyRenameSchema(StrictSchema):
    name = CleanedString(required=True, validate=validate.Length(min=1, max=64))


class PasskeyLoginOptionsSchema(StrictSchema):
    login = fields.String(validate=validate.Length(min=1, max=254))


class PasskeySecondFactorOptionsSchema(StrictSchema):
    login = Login
    password = Password


class PasskeyLoginSchema(StrictSchema):
    challenge_id = ChallengeId
    credential = Credential


class PasskeyTokenSchema(PasskeyLoginSchema):
    name = fields.String(validate=validate.Length(min=1, max=100))


class AcceptedSchema(Schema):
    status = fields.String(required=True)


class CsrfSchema(Schema):
    csrf_token = fields.String(required=True)


class RecoveryCodesSchema(Schema):
    recovery_codes = fields.List(fields.String(), required=True)


class NotificationSettingsUpdateSchema(StrictSchema):
    email = fields.Boolean()
    mentions = fields.Boolean()
    replies = fields.Boolean()
    direct_messages = fields.Boolean()
    friend_requests = fields.Boolean()


class SettingsUpdateSchema(StrictSchema):
    """Any of the settings PrivateUser.settings shows; the others stay."""

    notifications = fields.Nested(NotificationSettingsUpdateSchema)
    allow_messages_from = fields.String(validate=validate.OneOf(MESSAGE_POLICIES))


# Embeddings, overrides and isolates with their pops make a name show other text than it
# holds ("alice\u202egnp.exe" reads "aliceexe.png"): refused, so the sender sees why. The
# marks (LRM, RLM, ALM) stay: right-to-left names need them and they reorder nothing past
# their neighbours.
BIDI_CONTROLS = frozenset(map(chr, (*range(0x202A, 0x202F), *range(0x2066, 0x206A))))


def no_bidi_controls(value: str | None) -> None:
    if value and not BIDI_CONTROLS.isdisjoint(value):
        raise ValidationError("Bidirectional embedding, override and isolate characters "
                              "(U+202A-U+202E, U+2066-U+2069) are not allowed.")


def _wall_time(example: str) -> fields.String:
    """A 24-hour "HH:MM" (services.notify.quiet_hours)."""
    error = "Use a 24-hour time, HH:MM."
    return fields.String(required=True, metadata={"example": example}, validate=[
        validate.Length(equal=5, error=error),
        validate.Regexp(quiet_hours.TIME_PATTERN, error=error)])


class QuietHoursUpdateSchema(StrictSchema):
    start = _wall_time("22:00")
    end = _wall_time("07:00")

    @validates_schema
    def not_empty(self, data, **kwargs):
        if data.get("start") is not None and data.get("start") == data.get("end"):
            raise ValidationError("Quiet hours must start and end at different times.",
                                  "end")


def _known_zone(name: str) -> None:
    if not quiet_hours.is_time_zone(name):
        raise ValidationError("Use an IANA time zone name, like Europe/Paris.")


class ProfileUpdateSchema(StrictSchema):
    display_name = fields.String(allow_none=True,
                                 validate=[validate.Length(max=50), no_bidi_controls])
    bio = fields.String(allow_none=True, validate=validate.Length(max=500))
    settings = fields.Nested(SettingsUpdateSchema)
    time_zone = fields.String(allow_none=True, validate=[validate.Length(max=64), _known_zone],
                              metadata={"description": "An IANA name; null: UTC."})
    quiet_hours = fields.Nested(QuietHoursUpdateSchema, allow_none=True, metadata={
        "description": "Local times when mail waits; null clears them."})


class AvatarUploadSchema(Schema):
    file = Upload(required=True)


class UserSearchQuerySchema(PageQuerySchema):
    q = fields.String(load_default="", validate=validate.Length(max=64))


class FriendRequestQuerySchema(PageQuerySchema):
    direction = fields.String(load_default=None,
                              validate=validate.OneOf(["incoming", "outgoing"]))


class InitialsQuerySchema(StrictSchema):
    """GET /api/users/initials.svg: what PublicUser.avatar_url names (services.platform.avatars)."""
    text = fields.String(required=True, validate=validate.Length(min=1, max=2))
    color = fields.Integer(required=True, validate=validate.Range(min=-1,
                                                                  max=len(PALETTE) - 1))
