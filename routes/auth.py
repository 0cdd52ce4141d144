"""Auth: registration, verification, login and logout, tokens, passwords, 2FA."""
from __future__ import annotations

from flask import current_app, request
from flask_limiter.util import get_remote_address

from routes.account_schemas import (
    AcceptedSchema,
    ChangePasswordSchema,
    CsrfSchema,
    DisableTwoFactorSchema,
    EmailBodySchema,
    EnableTwoFactorSchema,
    LinkTokenSchema,
    LoginSchema,
    PasswordBodySchema,
    RecoveryCodesSchema,
    RefreshTokenSchema,
    RegisterSchema,
    ResetPasswordSchema,
    TokenRequestSchema,
    UsernameQuerySchema,
)
from services.accounts import (
    auth_2fa,
    auth_login,
    auth_passwords,
    auth_sessions,
    auth_signup,
    token_pairs,
)
from services.accounts.users_service import serialize_private_user
from services.platform.shapes.users import (
    TOKEN,
    EmailCheckSchema,
    LoginResultSchema,
    TokenSchema,
    TwoFactorSetupSchema,
    UserEnvelopeSchema,
    UsernameAvailabilitySchema,
)
from utils import auth
from utils.api import Blueprint
from utils.auth import csrf_exempt, current_user, login_required
from utils.extensions import limiter
from utils.ratelimits import email_key

blp = Blueprint("auth", __name__, description="Accounts and authentication")

ACCEPTED = {"status": "accepted"}
EMAIL_CHECK_MESSAGE = ("If this address can be used, the mail sent when you register will "
                       "reach it.")


def _limit(setting: str):
    return lambda: current_app.config[setting]


# One budget per client address for both sign-up checks.
AVAILABILITY_LIMIT = limiter.shared_limit(_limit("RATELIMIT_AVAILABILITY"), scope="availability")


@blp.route("/register", methods=["POST"])
@csrf_exempt
# Only a created account spends one of the attempts: a refused form (400) costs nothing.
@limiter.limit(_limit("RATELIMIT_REGISTER"),
               deduct_when=lambda response: response.status_code < 400)
@blp.arguments(RegisterSchema)
@blp.response(201, UserEnvelopeSchema)
def register(body):
    """Create an account; a verification mail is sent. An address that already has an
    account gets the same answer, and its owner a mail instead; nothing is created."""
    user = auth_signup.sign_up(body["username"], body["email"], body["password"])
    return {"user": serialize_private_user(user)}


@blp.route("/availability")
@AVAILABILITY_LIMIT
@blp.arguments(UsernameQuerySchema, location="query")
@blp.response(200, UsernameAvailabilitySchema)
def username_availability(query):
    """Whether a username can be registered (`reason`: invalid or taken). Rate-limited
    per client address."""
    return auth_signup.username_availability(query["username"])


@blp.route("/availability/email", methods=["POST"])
@csrf_exempt
@AVAILABILITY_LIMIT
@blp.arguments(EmailBodySchema)
@blp.response(202, EmailCheckSchema)
def email_availability(body):
    """Check an address's syntax (400 if wrong). Never says whether an account has it:
    the answer is the same 202 for every well-formed address."""
    return {"status": "accepted", "email": auth_signup.check_email(body["email"]),
            "message": EMAIL_CHECK_MESSAGE}


@blp.route("/verify-email", methods=["POST"])
@csrf_exempt
@blp.arguments(LinkTokenSchema)
@blp.response(200, UserEnvelopeSchema)
def verify_email(body):
    """Confirm an email address with the token from the mail."""
    return {"user": serialize_private_user(auth_signup.verify_email(body["token"]))}


@blp.route("/resend-verification", methods=["POST"])
@csrf_exempt
@limiter.limit(_limit("RATELIMIT_RESEND_VERIFICATION"))
@limiter.limit(_limit("RATELIMIT_FORGOT_PER_EMAIL"), key_func=email_key)
@blp.arguments(EmailBodySchema)
@blp.response(202, AcceptedSchema)
def resend_verification(body):
    """Send the verification mail again; 202 whatever the address."""
    auth_signup.resend_verification(body["email"])
    return ACCEPTED


@blp.route("/login", methods=["POST"])
@csrf_exempt
@blp.arguments(LoginSchema)
@blp.response(200, LoginResultSchema)
def login(body):
    """Log in with username or email; starts a fresh session. Failures are throttled per
    account and client address (429 rate_limited)."""
    user = auth_login.authenticate(body["login"], body["password"], body.get("otp"),
                                     get_remote_address())
    return logged_in(user)


def logged_in(user):
    """Start a browser session for `user` and list it among their sessions."""
    csrf_token = auth.start_session(user)
    auth_sessions.record_login(user, auth.session_login_id(), request.user_agent.string,
                               get_remote_address())
    return {"user": serialize_private_user(user), "csrf_token": csrf_token}


@blp.route("/logout", methods=["POST"])
@blp.response(204)
def logout():
    """End this session (server-side); the sockets it opened close."""
    user, login_id = current_user(), auth.session_login_id()
    auth.end_session()
    auth_login.logout(user, login_id)


@blp.route("/me")
@login_required
@blp.response(200, UserEnvelopeSchema)
def me():
    """The logged-in user, private view."""
    return {"user": serialize_private_user(current_user())}


@blp.route("/csrf")
@blp.response(200, CsrfSchema)
def csrf():
    """The CSRF token of this session, for X-CSRF-Token."""
    return {"csrf_token": auth.csrf_token()}


@blp.route("/token", methods=["POST"])
@csrf_exempt
@blp.arguments(TokenRequestSchema)
@blp.response(201, TokenSchema)
def create_token(body):
    """Log an app in: a short-lived access token and a single-use refresh token
    (`token` and `expires_at` repeat the access token and are deprecated). Failures are
    throttled like POST /api/auth/login."""
    user = auth_login.authenticate(body["login"], body["password"], body.get("otp"),
                                     get_remote_address())
    return TOKEN.dump(token_pairs.issue_pair(user, body.get("name")))


@blp.route("/token/refresh", methods=["POST"])
@csrf_exempt
@limiter.limit(_limit("RATELIMIT_TOKEN_REFRESH"))
@blp.arguments(RefreshTokenSchema)
@blp.response(200, TokenSchema)
def refresh_token(body):
    """Trade a refresh token for a new pair; the old refresh token is retired. Presenting
    a retired one again revokes every token of that login and closes its sockets. 401 for
    an unknown, expired or used refresh token: log in again."""
    return TOKEN.dump(token_pairs.refresh(body["refresh_token"], get_remote_address()))


@blp.route("/token", methods=["DELETE"])
@login_required
@blp.response(204)
def revoke_token():
    """Revoke the bearer token this request carries (an access token: every token of
    its login, refresh tokens included); the sockets it opened close."""
    auth_login.revoke_token(current_user(), auth.auth_token_id())


@blp.route("/password/forgot", methods=["POST"])
@csrf_exempt
@limiter.limit(_limit("RATELIMIT_FORGOT"))
@limiter.limit(_limit("RATELIMIT_FORGOT_PER_EMAIL"), key_func=email_key)
@blp.arguments(EmailBodySchema)
@blp.response(202, AcceptedSchema)
def forgot_password(body):
    """Mail a reset link; 202 whatever the address."""
    auth_passwords.forgot_password(body["email"])
    return ACCEPTED


@blp.route("/password/reset", methods=["POST"])
@csrf_exempt
@blp.arguments(ResetPasswordSchema)
@blp.response(200, AcceptedSchema)
def reset_password(body):
    """Set a new password with a reset token; every session and token ends."""
    auth_passwords.reset_password(body["token"], body["password"])
    auth.end_session()
    return {"status": "ok"}


@blp.route("/password/change", methods=["POST"])
@login_required
@blp.arguments(ChangePasswordSchema)
@blp.response(200, AcceptedSchema)
def change_password(body):
    """Change the password; every other session and token ends."""
    user = auth_passwords.change_password(current_user(), body["current_password"],
                                        body["new_password"], get_remote_address(),
                                        keep_token=auth.auth_token_id(),
                                        keep_login=auth.session_login_id())
    auth.adopt_epoch(user)
    return {"status": "ok"}


@blp.route("/2fa/setup", methods=["POST"])
@login_required
@blp.response(200, TwoFactorSetupSchema)
def setup_2fa():
    """Start TOTP setup: a new secret and its otpauth:// URI."""
    return auth_2fa.setup_2fa(current_user())


@blp.route("/2fa/enable", methods=["POST"])
@login_required
@blp.arguments(EnableTwoFactorSchema)
@blp.response(200, RecoveryCodesSchema)
def enable_2fa(body):
    """Turn TOTP on with a valid code and the password; returns 10 single-use recovery
    codes. Every other session and token ends."""
    codes = auth_2fa.enable_2fa(current_user(), body["otp"], body["password"],
                                    get_remote_address(), auth.auth_token_id(),
                                    auth.session_login_id())
    auth.adopt_current_epoch()
    return {"recovery_codes": codes}


@blp.route("/2fa/disable", methods=["POST"])
@login_required
@blp.arguments(DisableTwoFactorSchema)
@blp.response(200, AcceptedSchema)
def disable_2fa(body):
    """Turn TOTP off; needs the password and a code. Every other session and token ends."""
    auth_2fa.disable_2fa(current_user(), body["password"], body["otp"],
                             get_remote_address(), auth.auth_token_id(),
                             auth.session_login_id())
    auth.adopt_current_epoch()
    return {"status": "ok"}


@blp.route("/2fa/email/enable", methods=["POST"])
@login_required
@blp.arguments(PasswordBodySchema)
@blp.response(200, RecoveryCodesSchema)
def enable_email_2fa(body):
    """Turn on the email code (for accounts without an authenticator app) with the
    password; returns 10 single-use recovery codes. Every other session and token ends."""
    codes = auth_2fa.enable_email_2fa(current_user(), body["password"], get_remote_address(),
                                      auth.auth_token_id(), auth.session_login_id())
    auth.adopt_current_epoch()
    return {"recovery_codes": codes}


@blp.route("/2fa/email/disable", methods=["POST"])
@login_required
@blp.arguments(PasswordBodySchema)
@blp.response(200, AcceptedSchema)
def disable_email_2fa(body):
    """Turn the email code off with the password. Every other session and token ends."""
    auth_2fa.disable_email_2fa(current_user(), body["password"], get_remote_address(),
                               auth.auth_token_id(), auth.session_login_id())
    auth.adopt_current_epoch()
    return {"status": "ok"}


@blp.route("/2fa/recovery-codes", methods=["POST"])
@login_required
@blp.arguments(PasswordBodySchema)
@blp.response(200, RecoveryCodesSchema)
def regenerate_recovery_codes(body):
    """10 new recovery codes (two-factor must be on); the old ones stop working."""
    return {"recovery_codes": auth_2fa.regenerate_recovery_codes(
        current_user(), body["password"], get_remote_address())}


@blp.route("/2fa/remove", methods=["POST"])
@csrf_exempt
@blp.arguments(LinkTokenSchema)
@blp.response(200, AcceptedSchema)
def remove_recent_2fa(body):
    """Remove a recent 2FA enrolment with the link from a password-reset mail; every
    session and token ends."""
    auth_2fa.remove_recent_2fa(body["token"])
    auth.end_session()
    return {"status": "ok"}
