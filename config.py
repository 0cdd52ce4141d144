"""Configuration classes, one per environment, reading the environment once.

`load_config()` picks the class from `FLASK_ENV` (development by default) after loading
`.env`, so nothing else in the application reads `os.environ` for settings. (gunicorn.conf.py
is gunicorn's, read before any app exists: it reads its own settings and sets
PROMETHEUS_MULTIPROC_DIR for prometheus_client, which reads that itself.)
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"

# Values that ship in this repository; production refuses to run with any of them.
DEFAULT_SECRET_KEYS = {"", "dev", "change-me", "dev-secret-change-me"}


# Content ratings GIPHY and KLIPY both take, mildest first.
GIF_RATINGS = ("g", "pg", "pg-13", "r")


# Per-user write limits (docs/ADMIN.md "Write limits and trust levels").
WRITE_LIMIT_DEFAULTS = {
    "WRITE_LIMIT_TOPICS": "5 per hour",
    "WRITE_LIMIT_TOPIC_ROOMS": "10 per hour",
    "WRITE_LIMIT_GROUPS": "10 per hour",
    "WRITE_LIMIT_POSTS": "10 per 10 minutes",
    "WRITE_LIMIT_COMMENTS": "30 per 10 minutes",
    "WRITE_LIMIT_REACTIONS": "60 per minute",
    "WRITE_LIMIT_VOTES": "60 per minute",
    "WRITE_LIMIT_FRIEND_REQUESTS": "20 per hour",
    "WRITE_LIMIT_INVITATIONS": "30 per hour",
    "WRITE_LIMIT_REPORTS": "20 per hour",
    "WRITE_LIMIT_UPLOADS": "30 per 10 minutes",
    "WRITE_LIMIT_PROFILE_EDITS": "20 per hour",
    # Every write request over REST of one user, whatever the route (self-care included:
    # drafts, saved items, follows, read markers, settings); sockets: SOCKET_WRITE_RATE_LIMIT.
    "WRITE_LIMIT_ANY": "300 per minute",
    # Lower limits for new accounts (trust level 0, services/accounts/trust.py).
    "NEW_ACCOUNT_LIMIT_TOPICS": "1 per hour",
    "NEW_ACCOUNT_LIMIT_TOPIC_ROOMS": "2 per hour",
    "NEW_ACCOUNT_LIMIT_GROUPS": "3 per hour",
    "NEW_ACCOUNT_LIMIT_POSTS": "3 per 10 minutes",
}


class ConfigError(RuntimeError):
    """A setting is missing or unsafe; the message names it in one line."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def _env_int(name: str, default: int) -> int:
    raw = _env(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


def _env_bool(name: str, default: bool) -> bool:
    raw = _env(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str, default: tuple[str, ...] = ()) -> list[str]:
    raw = _env(name)
    if raw is None:
        return list(default)
    if raw.strip().lower() == "none":
        return []
    return [item.strip() for item in raw.split(",") if item.strip()]


# The documented frontend dev servers (Vite, Create React App / Next): allowed by default
# in development only, so `make run` works from a page on another origin.
DEVELOPMENT_ORIGINS = ("http://localhost:5173", "http://localhost:3000",
                       "http://127.0.0.1:5173", "http://127.0.0.1:3000")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _sentinel_addresses(items: list[str]) -> list[tuple[str, int]]:
    addresses = []
    for item in items:
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"REDIS_SENTINELS takes host:port items, got {item!r}")
        addresses.append((host.strip("[]"), int(port)))
    return addresses


class Config:
    ENV_NAME = "base"
    TESTING = False

    def __init__(self) -> None:
        # The Werkzeug debugger runs code for whoever reaches /console: only on request.
        self.DEBUG = _env_bool("FLASK_DEBUG", False)
        self.SECRET_KEY = _env("SECRET_KEY", "dev-secret-change-me")
        self.APP_VERSION = _env("APP_VERSION", "0.1.0")
        self.FRONTEND_URL = _env("FRONTEND_URL", "http://localhost:5173")

        # MongoDB. Unset in development means "start the embedded SecantusDB".
        self.MONGO_URI = _env("MONGO_URI")
        self.MONGO_DB_NAME = _env("MONGO_DB_NAME", "roundtable")
        self.MONGO_TIMEOUT_MS = _env_int("MONGO_TIMEOUT_MS", 2000)
        # Count the commands sent to MongoDB (pymongo command monitoring, utils/db.py):
        # for the benchmark and the command-budget tests only; off in production.
        self.MONGO_COUNT_COMMANDS = _env_bool("MONGO_COUNT_COMMANDS", False)
        self.EMBEDDED_DB_PORT = _env_int("EMBEDDED_DB_PORT", 27018)
        self.EMBEDDED_DB_PATH = _env("EMBEDDED_DB_PATH", str(INSTANCE_DIR / "db"))

        # Redis. Unset means single-process mode: file sessions, memory limits, local cache.
        self.REDIS_URL = _env("REDIS_URL")
        self.REDIS_TIMEOUT_SECONDS = float(_env("REDIS_TIMEOUT_SECONDS", "0.5"))
        # Redis behind Sentinel (docs/OPERATIONS.md "Redis Sentinel"): the sentinels'
        # host:port list; every Redis user asks them for the master of that name, and asks
        # again after a failover. Set, it replaces REDIS_URL.
        self.REDIS_SENTINELS = _sentinel_addresses(_env_list("REDIS_SENTINELS"))
        self.REDIS_SENTINEL_MASTER = _env("REDIS_SENTINEL_MASTER", "roundtable")
        # The Socket.IO queue follows REDIS_URL (or the sentinels) unless set on its own
        # ("none" disables it).
        queue = _env("SOCKETIO_MESSAGE_QUEUE", self.default_message_queue())
        self.SOCKETIO_MESSAGE_QUEUE = None if queue in (None, "none") else queue
        self.SOCKETIO_ASYNC_MODE = _env("SOCKETIO_ASYNC_MODE", self.default_async_mode())
        self.SOCKETIO_MAX_MESSAGE_BYTES = _env_int("SOCKETIO_MAX_MESSAGE_BYTES", 64 * 1024)

        # Sessions.
        self.SESSION_COOKIE_NAME = "roundtable_session"
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", self.secure_cookies())
        self.SESSION_LIFETIME_DAYS = _env_int("SESSION_LIFETIME_DAYS", 14)
        self.SESSION_DIR = _env("SESSION_DIR", str(INSTANCE_DIR / "sessions"))

        # Rate limits; key is the client address as ProxyFix resolved it.
        self.RATELIMIT_DEFAULT = _env("RATELIMIT_DEFAULT", "300 per minute")
        self.RATELIMIT_ENABLED = _env_bool("RATELIMIT_ENABLED", True)

        # HTTP hardening.
        # Origins allowed to call the API and open sockets with credentials; "none": none.
        self.CORS_ORIGINS = _env_list("CORS_ORIGINS", self.default_cors_origins())
        # How long (seconds) a browser may reuse a preflight's answer.
        self.CORS_MAX_AGE = _env_int("CORS_MAX_AGE", 600)
        # Say so (X-Roundtable-Warning and a log line) when a login from a page on another
        # site sets a SameSite cookie the browser will not send back (docs/CLIENTS.md).
        self.CROSS_SITE_COOKIE_WARNING = _env_bool("CROSS_SITE_COOKIE_WARNING",
                                                   self.ENV_NAME == "development")
        # Passkeys (WebAuthn): the relying party's id (a domain: the site's, or a parent
        # of it) and the page origins a ceremony may come from. Defaults: FRONTEND_URL's
        # host, and its origin with the CORS origins (in development, the dev servers').
        self.WEBAUTHN_RP_ID = _env("WEBAUTHN_RP_ID", urlsplit(self.FRONTEND_URL).hostname
                                   or "localhost")
        self.WEBAUTHN_RP_NAME = _env("WEBAUTHN_RP_NAME", "Roundtable")
        self.WEBAUTHN_ORIGINS = _env_list("WEBAUTHN_ORIGINS", tuple(dict.fromkeys(
            [_origin(self.FRONTEND_URL), *self.CORS_ORIGINS])))
        self.WEBAUTHN_CHALLENGE_SECONDS = _env_int("WEBAUTHN_CHALLENGE_SECONDS", 300)
        self.TRUSTED_PROXIES = _env_int("TRUSTED_PROXIES", 0)
        # The peers (addresses or networks) those proxies connect from; forwarded headers
        # from any other peer are ignored (utils/proxies.py).
        self.TRUSTED_PROXY_ADDRESSES = _env_list("TRUSTED_PROXY_ADDRESSES",
                                                 ("127.0.0.1", "::1"))
        self.MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 4 * 1024 * 1024)
        self.HSTS_ENABLED = _env_bool("HSTS_ENABLED", self.ENV_NAME == "production")

        self._init_accounts()
        self._init_admin()
        self._init_messaging()

        self.CACHE_DEFAULT_TTL = _env_int("CACHE_DEFAULT_TTL", 30)
        self._init_topics()
        self._init_calls()
        self._init_gifs()
        self._init_link_previews()
        self._init_push()
        self._init_media()
        self.LOG_LEVEL = _env("LOG_LEVEL", "INFO")
        # json: one object per line (production default); text: for people (development).
        self.LOG_FORMAT = _env("LOG_FORMAT", self.default_log_format())
        # GET /metrics answers only `Authorization: Bearer <METRICS_TOKEN>`; unset: a 404.
        self.METRICS_TOKEN = _env("METRICS_TOKEN")
        # The processes of one server add up their samples here (gunicorn.conf.py sets a
        # fresh one); unset: this process's own registry.
        self.PROMETHEUS_MULTIPROC_DIR = _env("PROMETHEUS_MULTIPROC_DIR")
        # Where `python app.py` (development, Socket.IO's runner) listens.
        self.HOST = _env("HOST", "127.0.0.1")
        self.PORT = _env_int("PORT", 5000)

        # flask-smorest: the OpenAPI document is generated from the schemas.
        self.API_TITLE = "Roundtable API"
        self.API_VERSION = self.APP_VERSION
        self.OPENAPI_VERSION = "3.0.3"
        self.OPENAPI_URL_PREFIX = "/api"
        self.OPENAPI_JSON_PATH = "openapi.json"
        self.OPENAPI_SWAGGER_UI_PATH = "docs"
        self.OPENAPI_SWAGGER_UI_URL = "/api/docs/assets/"

    def _init_admin(self) -> None:
        # Content filter: how often (seconds) a process compares its compiled filter's
        # version with the published one; 0 checks on every use (one Redis GET).
        self.CONTENT_FILTER_RECHECK_SECONDS = float(_env("CONTENT_FILTER_RECHECK_SECONDS", "0"))
        # Accounts younger than NEW_ACCOUNT_HOURS may put at most this many links in one
        # text (-1: no limit). The stored filter setting overrides the count.
        self.CONTENT_FILTER_NEW_ACCOUNT_LINKS = _env_int("CONTENT_FILTER_NEW_ACCOUNT_LINKS", 2)
        # An account is new (trust level 0, services/accounts/trust.py) for this many hours, unless
        # staff set its level; new accounts get lower limits and at most this many
        # mentions and attachments in one item (links: CONTENT_FILTER_NEW_ACCOUNT_LINKS).
        # Development starts every account trusted: a frontend developer's fresh test
        # accounts would otherwise meet the new-account limits all afternoon.
        self.TRUST_NEW_ACCOUNT_HOURS = _env_int(
            "TRUST_NEW_ACCOUNT_HOURS", _env_int("CONTENT_FILTER_NEW_ACCOUNT_HOURS",
                                                0 if self.ENV_NAME == "development" else 24))
        self.NEW_ACCOUNT_MAX_MENTIONS = _env_int("NEW_ACCOUNT_MAX_MENTIONS", 3)
        self.NEW_ACCOUNT_MAX_ATTACHMENTS = _env_int("NEW_ACCOUNT_MAX_ATTACHMENTS", 2)
        # One account's same text (normalized; this long at least) may go to at most
        # REPEAT_CONTENT_MAX places (rooms, topics, posts) within the window; one more
        # answers 429 `duplicate_content` (services.accounts.write_gate).
        self.REPEAT_CONTENT_MAX = _env_int("REPEAT_CONTENT_MAX", 3)
        self.REPEAT_CONTENT_WINDOW_SECONDS = _env_int("REPEAT_CONTENT_WINDOW_SECONDS", 600)
        self.REPEAT_CONTENT_MIN_LENGTH = _env_int("REPEAT_CONTENT_MIN_LENGTH", 20)
        # Every rule of the filter together may spend this long on one text; past it the
        # text is refused (a slow admin pattern must not stall a worker).
        self.CONTENT_FILTER_TIMEOUT_SECONDS = float(_env("CONTENT_FILTER_TIMEOUT_SECONDS", "0.1"))
        # GET /api/admin/stats is computed at most once per this many seconds.
        self.ADMIN_STATS_CACHE_SECONDS = _env_int("ADMIN_STATS_CACHE_SECONDS", 60)

    def _init_accounts(self) -> None:
        # Passwords. The pepper is mixed in before bcrypt; changing it invalidates every
        # stored password, so set it on its own rather than letting it follow SECRET_KEY.
        self.BCRYPT_ROUNDS = _env_int("BCRYPT_ROUNDS", 12)
        self.PASSWORD_PEPPER = _env("PASSWORD_PEPPER", self.SECRET_KEY)
        self.REQUIRE_EMAIL_VERIFICATION = _env_bool("REQUIRE_EMAIL_VERIFICATION", True)
        self.EMAIL_VERIFICATION_HOURS = _env_int("EMAIL_VERIFICATION_HOURS", 48)
        self.PASSWORD_RESET_MINUTES = _env_int("PASSWORD_RESET_MINUTES", 60)
        # POST /api/auth/token: a short-lived access token and a rotating refresh token
        # (docs/ACCOUNTS.md). API_TOKEN_LIFETIME_DAYS, the lifetime of the single tokens
        # issued before, is still read as the refresh default so an old .env keeps its value.
        self.ACCESS_TOKEN_TTL_SECONDS = _env_int("ACCESS_TOKEN_TTL_SECONDS", 15 * 60)
        self.REFRESH_TOKEN_TTL_DAYS = _env_int("REFRESH_TOKEN_TTL_DAYS",
                                               _env_int("API_TOKEN_LIFETIME_DAYS", 30))
        self.TOTP_ISSUER = _env("TOTP_ISSUER", "Roundtable")
        # The email-code second factor: how long a mailed code lives, how many wrong
        # tries kill it, and how soon a retried login may mail a new one.
        self.EMAIL_OTP_MINUTES = _env_int("EMAIL_OTP_MINUTES", 10)
        self.EMAIL_OTP_MAX_ATTEMPTS = _env_int("EMAIL_OTP_MAX_ATTEMPTS", 5)
        self.EMAIL_OTP_RESEND_SECONDS = _env_int("EMAIL_OTP_RESEND_SECONDS", 60)
        # A reset mail may remove 2FA turned on less than this many hours earlier (the
        # owner follows a second link in the mail); older enrolments stay.
        self.TOTP_RESET_REMOVAL_HOURS = _env_int("TOTP_RESET_REMOVAL_HOURS", 72)
        # Failed passwords (and 2FA codes) per (account, client address) in the window;
        # then that address waits, while the owner elsewhere still logs in.
        self.LOGIN_MAX_FAILURES = _env_int("LOGIN_MAX_FAILURES", 5)
        self.LOGIN_FAILURE_WINDOW_SECONDS = _env_int("LOGIN_FAILURE_WINDOW_SECONDS", 15 * 60)
        # Failures on one account from all addresses in that window that make us mail the
        # owner; account warning mails go out at most once per ACCOUNT_ALERT_INTERVAL.
        self.LOGIN_ALERT_FAILURES = _env_int("LOGIN_ALERT_FAILURES", 5)
        self.ACCOUNT_ALERT_INTERVAL_SECONDS = _env_int("ACCOUNT_ALERT_INTERVAL_SECONDS",
                                                       6 * 3600)
        # Failed credential checks per client address, over all accounts (login, token,
        # password change, 2FA, account deletion). limits syntax.
        self.RATELIMIT_LOGIN = _env("RATELIMIT_LOGIN", "20 per 15 minutes")
        # Flask-Limiter strings, keyed by client address unless the name says otherwise.
        # Development allows far more sign-ups: a frontend developer makes test accounts
        # all afternoon from one address (they start trusted: TRUST_NEW_ACCOUNT_HOURS).
        self.RATELIMIT_REGISTER = _env("RATELIMIT_REGISTER",
                                       "200 per hour" if self.ENV_NAME == "development"
                                       else "5 per hour")
        self.RATELIMIT_FORGOT = _env("RATELIMIT_FORGOT", "5 per hour")
        self.RATELIMIT_FORGOT_PER_EMAIL = _env("RATELIMIT_FORGOT_PER_EMAIL", "3 per hour")
        self.RATELIMIT_RESEND_VERIFICATION = _env("RATELIMIT_RESEND_VERIFICATION", "5 per hour")
        # Sign-up form checks (username availability, email syntax), per client address.
        self.RATELIMIT_AVAILABILITY = _env("RATELIMIT_AVAILABILITY", "30 per minute")
        # POST /api/auth/token/refresh per client address (failed refreshes also count
        # against RATELIMIT_LOGIN, like failed logins).
        self.RATELIMIT_TOKEN_REFRESH = _env("RATELIMIT_TOKEN_REFRESH", "60 per minute")

        # Mail: smtp, console (logs the mail) or file (one .eml per mail in MAIL_FILE_DIR).
        self.MAIL_BACKEND = _env("MAIL_BACKEND", self.default_mail_backend())
        self.MAIL_FROM = _env("MAIL_FROM", "Roundtable <no-reply@localhost>")
        self.MAIL_SERVER = _env("MAIL_SERVER", "localhost")
        self.MAIL_PORT = _env_int("MAIL_PORT", 587)
        self.MAIL_USERNAME = _env("MAIL_USERNAME")
        self.MAIL_PASSWORD = _env("MAIL_PASSWORD")
        self.MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", True)
        self.MAIL_USE_SSL = _env_bool("MAIL_USE_SSL", False)
        self.MAIL_TIMEOUT_SECONDS = float(_env("MAIL_TIMEOUT_SECONDS", "10"))
        self.MAIL_FILE_DIR = _env("MAIL_FILE_DIR", str(INSTANCE_DIR / "mail"))
        self.MAIL_MAX_ATTEMPTS = _env_int("MAIL_MAX_ATTEMPTS", 5)
        self.MAIL_RETRY_BASE_SECONDS = float(_env("MAIL_RETRY_BASE_SECONDS", "2"))

        # Job queue (utils/jobs.py, Huey): on REDIS_URL, or in this SQLite file without it.
        self.JOBS_QUEUE_NAME = _env("JOBS_QUEUE_NAME", "roundtable")
        self.JOBS_SQLITE_PATH = _env("JOBS_SQLITE_PATH", str(INSTANCE_DIR / "jobs.sqlite3"))
        # Threads (greenlets under gevent) of one consumer process.
        self.JOBS_WORKERS = _env_int("JOBS_WORKERS", 2)
        # Threads of the same process for the best-effort queue (link previews), so
        # that work never occupies the workers that send mail.
        self.JOBS_BEST_EFFORT_WORKERS = _env_int("JOBS_BEST_EFFORT_WORKERS", 2)
        # An idle consumer polls the queue at most this many seconds apart.
        self.JOBS_POLL_MAX_SECONDS = float(_env("JOBS_POLL_MAX_SECONDS", "1"))
        # The development servers (`python app.py`, `flask run`) run a consumer in the
        # server process; elsewhere `flask jobs worker` runs as a process of its own.
        self.JOBS_IN_PROCESS_CONSUMER = _env_bool("JOBS_IN_PROCESS_CONSUMER",
                                                  self.ENV_NAME == "development")
        # A consumer writes a heartbeat into the job store every 5 s; none for this long
        # and /health/ready (and the start-up log) say so, with the jobs waiting.
        self.JOBS_CONSUMER_STALE_SECONDS = _env_int("JOBS_CONSUMER_STALE_SECONDS", 60)

        self.AVATAR_MAX_BYTES = _env_int("AVATAR_MAX_BYTES", 2 * 1024 * 1024)
        # Data exports (services/privacy/data_export.py): archives on a local directory, one
        # export per user per interval, download links valid for EXPORT_LINK_HOURS.
        self.EXPORT_DIR = _env("EXPORT_DIR", str(INSTANCE_DIR / "exports"))
        self.EXPORT_INTERVAL_HOURS = _env_int("EXPORT_INTERVAL_HOURS", 24)
        self.EXPORT_LINK_HOURS = _env_int("EXPORT_LINK_HOURS", 72)

    def _init_messaging(self) -> None:
        # Chat: per-user flood limit for sends (limits syntax, e.g. "10 per 5 seconds"),
        # typing throttle, and how long a typing indicator lives without renewal.
        self.CHAT_RATE_LIMIT = _env("CHAT_RATE_LIMIT", "10 per 5 seconds")
        self.CHAT_TYPING_RATE_LIMIT = _env("CHAT_TYPING_RATE_LIMIT", "10 per 10 seconds")
        self.CHAT_TYPING_EXPIRY_SECONDS = _env_int("CHAT_TYPING_EXPIRY_SECONDS", 5)
        self.CHAT_MESSAGE_MAX_LENGTH = _env_int("CHAT_MESSAGE_MAX_LENGTH", 4000)
        # join_room catch-up and history pages return at most this many messages.
        self.CHAT_CATCHUP_LIMIT = _env_int("CHAT_CATCHUP_LIMIT", 500)
        # Polls (docs/POLLS.md): how far ahead `closes_at` may be, and the least time
        # between two `poll_updated` events of one poll (later changes are coalesced).
        self.POLL_MAX_DAYS = _env_int("POLL_MAX_DAYS", 90)
        self.POLL_UPDATE_INTERVAL_SECONDS = float(_env("POLL_UPDATE_INTERVAL_SECONDS", "1"))
        # Sends to one room are serialized by a Redis lock held at most this long, so
        # events are published in seq order; a holder that dies frees it after that.
        self.CHAT_ORDER_LOCK_SECONDS = float(_env("CHAT_ORDER_LOCK_SECONDS", "5"))
        # Presence: each process refreshes its connections every HEARTBEAT seconds; a
        # connection not refreshed for TTL seconds (its process died) counts as gone.
        self.PRESENCE_HEARTBEAT_SECONDS = float(_env("PRESENCE_HEARTBEAT_SECONDS", "10"))
        self.PRESENCE_TTL_SECONDS = float(_env("PRESENCE_TTL_SECONDS", "30"))
        # The per-process loop (heartbeat, offline sweep, typing expiry) ticks this often.
        self.REALTIME_SWEEP_SECONDS = float(_env("REALTIME_SWEEP_SECONDS", "1"))
        self.REALTIME_MAINTENANCE = _env_bool("REALTIME_MAINTENANCE", True)
        # A live socket reuses its user this long while the user's version stamp in Redis
        # is unchanged (utils.socket_events.socket_user); any write to the user ends it.
        self.SOCKET_USER_CACHE_SECONDS = float(_env("SOCKET_USER_CACHE_SECONDS", "10"))
        # Each process keeps the authenticated user, their topic roles and bans, and topics'
        # access fields this long while their version stamps in Redis are unchanged
        # (utils.local_copies); every write to them replaces a stamp. 0: no copies.
        self.LOCAL_COPY_SECONDS = float(_env("LOCAL_COPY_SECONDS", "10"))
        # Per-user limits on socket events by class (services.platform.chat_limits.EVENT_CLASSES;
        # typing uses CHAT_TYPING_RATE_LIMIT), answered with `rate_limited` acks, and the
        # most sockets one user may hold at once (one more is refused at connect).
        self.SOCKET_READ_RATE_LIMIT = _env("SOCKET_READ_RATE_LIMIT", "120 per minute")
        self.SOCKET_WRITE_RATE_LIMIT = _env("SOCKET_WRITE_RATE_LIMIT", "120 per minute")
        self.SOCKET_MAX_PER_USER = _env_int("SOCKET_MAX_PER_USER", 20)
        # Per-user limits on every write class (services.accounts.write_gate.LIMITS; limits syntax),
        # over REST and Socket.IO alike: 429 `rate_limited` with Retry-After. Chat sends
        # use CHAT_RATE_LIMIT. A topic's owner and moderators are not limited in it.
        for name, default in WRITE_LIMIT_DEFAULTS.items():
            setattr(self, name, _env(name, default))

    def _init_topics(self) -> None:
        # Topic lists and the front page are cached this long; writes invalidate them.
        self.TOPIC_LIST_CACHE_SECONDS = _env_int("TOPIC_LIST_CACHE_SECONDS", 30)
        self.FRONT_PAGE_CACHE_SECONDS = _env_int("FRONT_PAGE_CACHE_SECONDS", 15)
        self.TOPIC_POSTS_CACHE_SECONDS = _env_int("TOPIC_POSTS_CACHE_SECONDS", 15)
        # Replies deeper than this attach to the deepest allowed ancestor.
        self.COMMENT_MAX_DEPTH = _env_int("COMMENT_MAX_DEPTH", 8)
        # Replies loaded under one page of top-level comments.
        self.COMMENT_TREE_MAX_REPLIES = _env_int("COMMENT_TREE_MAX_REPLIES", 500)
        # Search ranks at most this many of the most recent matching documents.
        self.SEARCH_MAX_CANDIDATES = _env_int("SEARCH_MAX_CANDIDATES", 1000)
        # Password of the demo users `flask seed` creates (never seed a production site).
        self.SEED_PASSWORD = _env("SEED_PASSWORD", "roundtable-demo-2026")
        # Notifications (docs/NOTIFICATIONS.md): at most this many @mentions of one
        # message, post or comment notify; events of one kind on one subject within one
        # window of this many seconds coalesce into one notification.
        self.NOTIFY_MAX_MENTIONS = _env_int("NOTIFY_MAX_MENTIONS", 10)
        self.NOTIFY_COALESCE_SECONDS = _env_int("NOTIFY_COALESCE_SECONDS", 900)
        # A notification still unread this many seconds after its last change is mailed
        # (if the user allows email for its kind); digests go out at this hour of each
        # user's own time zone, weekly ones on this weekday (0 Monday .. 6 Sunday).
        self.NOTIFY_EMAIL_DELAY_SECONDS = _env_int("NOTIFY_EMAIL_DELAY_SECONDS", 900)
        self.NOTIFY_DIGEST_HOUR = _env_int("NOTIFY_DIGEST_HOUR", 8)
        self.NOTIFY_DIGEST_WEEKDAY = _env_int("NOTIFY_DIGEST_WEEKDAY", 0)
        self.NOTIFY_DIGEST_MAX_ITEMS = _env_int("NOTIFY_DIGEST_MAX_ITEMS", 20)
        # The public URL of this API (the one-click unsubscribe link in every mail's
        # List-Unsubscribe header); unset: FRONTEND_URL (nginx serves /api on that origin).
        self.API_PUBLIC_URL = _env("API_PUBLIC_URL") or self.FRONTEND_URL
        # An address that takes unsubscribe mails (List-Unsubscribe mailto:), optional.
        self.MAIL_UNSUBSCRIBE_ADDRESS = _env("MAIL_UNSUBSCRIBE_ADDRESS")
        # A mail's unsubscribe links work this many days (the law asks for at least 30
        # after sending, e.g. CAN-SPAM), and only until the user re-subscribes that mail.
        self.UNSUBSCRIBE_LINK_DAYS = _env_int("UNSUBSCRIBE_LINK_DAYS", 60)

    def _init_calls(self) -> None:
        # WebRTC calls (docs/CALLS.md). An unanswered invite rings this long, then the
        # call ends as missed; a participant's socket may be gone this long (reconnect
        # grace) and its heartbeats this long apart before it is dropped.
        self.CALL_RING_SECONDS = _env_int("CALL_RING_SECONDS", 45)
        self.CALL_RECONNECT_GRACE_SECONDS = float(_env("CALL_RECONNECT_GRACE_SECONDS", "20"))
        self.CALL_HEARTBEAT_TIMEOUT_SECONDS = float(_env("CALL_HEARTBEAT_TIMEOUT_SECONDS",
                                                         "45"))
        # Group calls are a mesh: every pair of devices has its own peer connection.
        self.CALL_MAX_PARTICIPANTS = _env_int("CALL_MAX_PARTICIPANTS", 8)
        self.CALL_SIGNAL_RATE_LIMIT = _env("CALL_SIGNAL_RATE_LIMIT", "300 per 10 seconds")
        # ICE servers for GET /api/calls/ice-servers. TURN credentials follow coturn's
        # REST API (`use-auth-secret` with `static-auth-secret` = TURN_SECRET).
        self.STUN_URLS = _env_list("STUN_URLS")
        self.TURN_URLS = _env_list("TURN_URLS")
        self.TURN_SECRET = _env("TURN_SECRET")
        self.TURN_CREDENTIAL_SECONDS = _env_int("TURN_CREDENTIAL_SECONDS", 6 * 3600)

    def _init_gifs(self) -> None:
        # GIF search (docs/MEDIA.md "GIF search"): giphy or klipy, with its key; unset
        # (or no key): the GIF routes answer 503 service_unavailable.
        self.GIF_PROVIDER = (_env("GIF_PROVIDER", "") or "").strip().lower()
        self.GIPHY_API_KEY = _env("GIPHY_API_KEY")
        self.GIPHY_BASE_URL = _env("GIPHY_BASE_URL", "https://api.giphy.com")
        self.KLIPY_API_KEY = _env("KLIPY_API_KEY")
        self.KLIPY_BASE_URL = _env("KLIPY_BASE_URL", "https://api.klipy.com")
        # Highest content rating served: g, pg, pg-13 or r (both providers use these).
        self.GIF_RATING = (_env("GIF_RATING", "g") or "g").strip().lower()
        if self.GIF_RATING not in GIF_RATINGS:
            raise ConfigError(f"GIF_RATING must be one of {', '.join(GIF_RATINGS)}, "
                              f"got {self.GIF_RATING!r}")
        # Hosts a GIF attachment's URL may point at (https only, exact names); empty:
        # the chosen provider's own media hosts (services/media/gif_providers.py).
        self.GIF_MEDIA_HOSTS = _env_list("GIF_MEDIA_HOSTS")
        self.GIF_CACHE_SECONDS = _env_int("GIF_CACHE_SECONDS", 300)
        self.GIF_TIMEOUT_SECONDS = float(_env("GIF_TIMEOUT_SECONDS", "5"))
        # Per signed-in user (Flask-Limiter syntax), over search and featured together.
        self.RATELIMIT_GIFS = _env("RATELIMIT_GIFS", "30 per minute")

    def _init_link_previews(self) -> None:
        # Link previews (docs/MEDIA.md "Link previews"): fetched by a job after the write.
        self.LINK_PREVIEWS_ENABLED = _env_bool("LINK_PREVIEWS_ENABLED", True)
        self.LINK_PREVIEW_MAX_URLS = _env_int("LINK_PREVIEW_MAX_URLS", 3)
        self.LINK_PREVIEW_MAX_BYTES = _env_int("LINK_PREVIEW_MAX_BYTES", 512 * 1024)
        # The whole fetch of one URL, redirects included, ends after this many seconds.
        self.LINK_PREVIEW_TIMEOUT_SECONDS = float(_env("LINK_PREVIEW_TIMEOUT_SECONDS", "5"))
        # One preview job fetches its URLs side by side and gives up on all of them this
        # many seconds after it started (slow name lookups included).
        self.LINK_PREVIEW_JOB_DEADLINE_SECONDS = float(
            _env("LINK_PREVIEW_JOB_DEADLINE_SECONDS", "8"))
        self.LINK_PREVIEW_MAX_REDIRECTS = _env_int("LINK_PREVIEW_MAX_REDIRECTS", 3)
        self.LINK_PREVIEW_CACHE_SECONDS = _env_int("LINK_PREVIEW_CACHE_SECONDS", 6 * 3600)
        # Tests only: let previews fetch from 127.0.0.0/8 and ::1 (every other private,
        # link-local or reserved address stays refused).
        self.LINK_PREVIEW_ALLOW_LOOPBACK = _env_bool("LINK_PREVIEW_ALLOW_LOOPBACK", False)
    def _init_push(self) -> None:
        # Web Push (docs/NOTIFICATIONS.md "Push"). The VAPID key: the raw 32-byte P-256
        # private key in URL-safe base64 (what `web-push generate-vapid-keys` prints); unset
        # outside production: generated once into PUSH_VAPID_KEY_FILE and kept.
        self.PUSH_ENABLED = _env_bool("PUSH_ENABLED", True)
        self.VAPID_PRIVATE_KEY = _env("VAPID_PRIVATE_KEY")
        self.VAPID_SUBJECT = _env("VAPID_SUBJECT", "mailto:admin@localhost")
        self.PUSH_VAPID_KEY_FILE = _env("PUSH_VAPID_KEY_FILE",
                                        str(INSTANCE_DIR / "vapid_private_key"))
        # Subscriptions are accepted only on these push services' hosts (`*.` matches any
        # subdomain): Firefox, Chrome, Edge and Safari.
        self.PUSH_ENDPOINT_HOSTS = _env_list("PUSH_ENDPOINT_HOSTS", (
            "updates.push.services.mozilla.com", "fcm.googleapis.com",
            "*.notify.windows.com", "web.push.apple.com"))
        # Tests only: an endpoint on 127.0.0.0/8 or ::1 (if its host is listed above) may
        # be plain http and passes the SSRF guard; every other private address stays refused.
        self.PUSH_ALLOW_LOOPBACK = _env_bool("PUSH_ALLOW_LOOPBACK", False)
        # How long a push service keeps an undelivered notification (TTL header), one
        # request's time limit, a user's subscriptions (the oldest goes past it), and how
        # many days a subscription may keep failing (429, 5xx, network) before it is dropped.
        self.PUSH_TTL_SECONDS = _env_int("PUSH_TTL_SECONDS", 24 * 3600)
        self.PUSH_TIMEOUT_SECONDS = float(_env("PUSH_TIMEOUT_SECONDS", "5"))
        self.PUSH_MAX_SUBSCRIPTIONS = _env_int("PUSH_MAX_SUBSCRIPTIONS", 10)
        self.PUSH_FAILURE_DAYS = _env_int("PUSH_FAILURE_DAYS", 7)

    def _init_media(self) -> None:
        # Stored files (avatars, attachments; docs/MEDIA.md): `local` keeps them under
        # UPLOAD_DIR, `s3` in S3_BUCKET of any S3-compatible store. Objects are private.
        self.STORAGE_BACKEND = (_env("STORAGE_BACKEND", "local") or "local").lower()
        self.UPLOAD_DIR = _env("UPLOAD_DIR", str(INSTANCE_DIR / "uploads"))
        # Local backend behind nginx: the `internal` location serving UPLOAD_DIR; the app
        # then answers downloads with an X-Accel-Redirect to it instead of the bytes.
        self.STORAGE_LOCAL_ACCEL_PREFIX = _env("STORAGE_LOCAL_ACCEL_PREFIX")
        self.S3_BUCKET = _env("S3_BUCKET")
        self.S3_PREFIX = _env("S3_PREFIX", "")
        self.S3_ENDPOINT_URL = _env("S3_ENDPOINT_URL")  # unset: AWS
        self.S3_REGION = _env("S3_REGION")
        # Unset: boto3's own chain (AWS_* variables, instance roles, ~/.aws).
        self.S3_ACCESS_KEY_ID = _env("S3_ACCESS_KEY_ID")
        self.S3_SECRET_ACCESS_KEY = _env("S3_SECRET_ACCESS_KEY")
        # Presigned upload forms live this many seconds; presigned download URLs live
        # S3_DOWNLOAD_SECONDS (short: a URL keeps working after its holder loses access).
        self.S3_PRESIGN_SECONDS = _env_int("S3_PRESIGN_SECONDS", 300)
        self.S3_DOWNLOAD_SECONDS = _env_int("S3_DOWNLOAD_SECONDS", 60)
        # One file sent through POST /api/uploads, one sent to S3 with a presigned POST,
        # the bytes one user may upload in 24 hours, attachments per message/post/comment.
        self.UPLOAD_MAX_BYTES = _env_int("UPLOAD_MAX_BYTES", 8 * 1024 * 1024)
        self.UPLOAD_DIRECT_MAX_BYTES = _env_int("UPLOAD_DIRECT_MAX_BYTES", 100 * 1024 * 1024)
        self.UPLOAD_QUOTA_BYTES_PER_DAY = _env_int("UPLOAD_QUOTA_BYTES_PER_DAY",
                                                   200 * 1024 * 1024)
        self.UPLOAD_MAX_ATTACHMENTS = _env_int("UPLOAD_MAX_ATTACHMENTS", 10)
        # Images larger than this many pixels are refused (decompression bombs).
        self.UPLOAD_IMAGE_MAX_PIXELS = _env_int("UPLOAD_IMAGE_MAX_PIXELS", 40_000_000)
        # Frames x canvas of an animation, counted from its headers before any decoding
        # (refused over it: 413 image_too_complex), and the CPU seconds and address space
        # of the child process that re-encodes an image (docs/MEDIA.md).
        self.UPLOAD_MAX_ANIMATION_PIXELS = _env_int("UPLOAD_MAX_ANIMATION_PIXELS", 50_000_000)
        self.UPLOAD_IMAGE_SECONDS = _env_int("UPLOAD_IMAGE_SECONDS", 10)
        self.UPLOAD_IMAGE_MEMORY_BYTES = _env_int("UPLOAD_IMAGE_MEMORY_BYTES", 1024 * 1024 * 1024)
        # Types accepted, as sniffed from the bytes (never the client's word).
        self.UPLOAD_ALLOWED_TYPES = _env_list("UPLOAD_ALLOWED_TYPES", (
            "image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf",
            "text/plain", "video/mp4", "video/webm", "audio/mpeg", "audio/ogg",
            "application/zip"))
        # Uploads never attached are removed this long after they were made.
        self.UPLOAD_UNATTACHED_SECONDS = _env_int("UPLOAD_UNATTACHED_SECONDS", 86400)

    def default_mail_backend(self) -> str:
        return "console"

    def default_cors_origins(self) -> tuple[str, ...]:
        return ()

    def default_async_mode(self) -> str:
        return "threading"

    def default_log_format(self) -> str:
        return "text"

    def secure_cookies(self) -> bool:
        return False

    def default_message_queue(self) -> str | None:
        """The Socket.IO queue on the app's Redis: python-socketio's RedisManager takes
        `redis+sentinel://host:port,host:port/<db>/<master>` for a master behind Sentinel."""
        if self.REDIS_SENTINELS:
            hosts = ",".join(f"{host}:{port}" for host, port in self.REDIS_SENTINELS)
            return f"redis+sentinel://{hosts}/0/{self.REDIS_SENTINEL_MASTER}"
        return self.REDIS_URL

    def validate(self) -> None:
        """Refuse settings that are unsafe for this environment."""
        if self.STORAGE_BACKEND not in ("local", "s3"):
            raise ConfigError(f"STORAGE_BACKEND must be local or s3, got {self.STORAGE_BACKEND!r}")
        if self.STORAGE_BACKEND == "s3" and not self.S3_BUCKET:
            raise ConfigError("S3_BUCKET must be set when STORAGE_BACKEND=s3")
        for name in ("JOBS_WORKERS", "JOBS_BEST_EFFORT_WORKERS"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1 (its queue would never run)")
        for name, top in (("NOTIFY_DIGEST_HOUR", 23), ("NOTIFY_DIGEST_WEEKDAY", 6)):
            if not 0 <= getattr(self, name) <= top:
                raise ConfigError(f"{name} must be between 0 and {top} (no digest would go out)")


class DevelopmentConfig(Config):
    ENV_NAME = "development"

    def default_cors_origins(self) -> tuple[str, ...]:
        return DEVELOPMENT_ORIGINS


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True

    def __init__(self) -> None:
        super().__init__()
        self.SECRET_KEY = "testing-secret"
        self.PASSWORD_PEPPER = "testing-pepper"
        # bcrypt at cost 12 takes about 0.25 s per hash; tests hash hundreds of times.
        self.BCRYPT_ROUNDS = 4
        # A request's MongoDB deadline: 2 s (production's) was passed by a topic creation
        # once in a CI run under coverage on a loaded machine (a 503, not a bug). Tests of
        # the timeout itself set their own.
        self.MONGO_TIMEOUT_MS = _env_int("MONGO_TIMEOUT_MS", 10000)
        self.MAIL_RETRY_BASE_SECONDS = 0.05
        self.UPLOAD_DIR = _env("UPLOAD_DIR", str(Path(tempfile.gettempdir()) / "rt-test-uploads"))
        self.EXPORT_DIR = _env("EXPORT_DIR", str(Path(tempfile.gettempdir()) / "rt-test-exports"))
        self.PUSH_VAPID_KEY_FILE = _env("PUSH_VAPID_KEY_FILE", str(
            Path(tempfile.gettempdir()) / "rt-test-vapid_private_key"))
        # Tests drive heartbeats and sweeps by hand instead of a background loop.
        self.REALTIME_MAINTENANCE = _env_bool("REALTIME_MAINTENANCE", False)
        # Tests create many items quickly with one account; the write limits' own tests
        # set small limits (tests/test_write_limits.py).
        for name in WRITE_LIMIT_DEFAULTS:
            setattr(self, name, _env(name, "10000 per minute"))
        self.NEW_ACCOUNT_MAX_MENTIONS = self.NEW_ACCOUNT_MAX_ATTACHMENTS = 50
        self.REPEAT_CONTENT_MAX = 1000
        # Tests sign scripts in with one bearer token (tests.helpers.bearer) and move the
        # clock by days; they get the 30 days such a token had before access tokens.
        # tests/test_auth_refresh.py runs at the real default.
        self.ACCESS_TOKEN_TTL_SECONDS = _env_int("ACCESS_TOKEN_TTL_SECONDS", 30 * 86400)


class ProductionConfig(Config):
    ENV_NAME = "production"

    def default_async_mode(self) -> str:
        # One gevent worker per process; see README "Why gevent".
        return "gevent"

    def secure_cookies(self) -> bool:
        return True

    def default_log_format(self) -> str:
        return "json"

    def default_mail_backend(self) -> str:
        return "smtp"

    def validate(self) -> None:
        super().validate()
        if self.DEBUG:
            raise ConfigError("FLASK_DEBUG must be off in production")
        for name in ("SECRET_KEY", "MONGO_URI"):
            if not _env(name):
                raise ConfigError(f"{name} must be set in production")
        if not (self.REDIS_URL or self.REDIS_SENTINELS):
            raise ConfigError("REDIS_URL (or REDIS_SENTINELS) must be set in production")
        if self.LINK_PREVIEW_ALLOW_LOOPBACK:
            raise ConfigError("LINK_PREVIEW_ALLOW_LOOPBACK is for tests; "
                              "it must be off in production")
        if self.PUSH_ALLOW_LOOPBACK:
            raise ConfigError("PUSH_ALLOW_LOOPBACK is for tests; it must be off in production")
        if self.PUSH_ENABLED and not self.VAPID_PRIVATE_KEY:
            raise ConfigError("VAPID_PRIVATE_KEY must be set in production while PUSH_ENABLED "
                              "is on (or set PUSH_ENABLED=false)")
        if self.SECRET_KEY in DEFAULT_SECRET_KEYS or len(self.SECRET_KEY) < 16:
            raise ConfigError("SECRET_KEY is a default or too short; "
                              "set a random value of 32+ characters")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def load_config(config_name: str | None = None) -> Config:
    load_dotenv(BASE_DIR / ".env", override=False)
    name = (config_name or _env("FLASK_ENV", "development")).lower()
    if name not in CONFIGS:
        raise ConfigError(f"FLASK_ENV must be one of {', '.join(CONFIGS)}, got {name!r}")
    config = CONFIGS[name]()
    config.validate()
    return config
