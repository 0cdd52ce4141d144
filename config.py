"""Configuration classes, one per environment, reading the environment once.

`load_config()` picks the class from `FLASK_ENV` (development by default) after loading
`.env`, so nothing else in the code base reads `os.environ` for settings.
"""
from __future__ import annotations

import os
from pathlib import Path

from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"

# Values that ship in this repository; production refuses to run with any of them.
DEFAULT_SECRET_KEYS = {"", "dev", "change-me", "dev-secret-change-me"}


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


def _env_list(name: str) -> list[str]:
    raw = _env(name, "") or ""
    return [item.strip() for item in raw.split(",") if item.strip()]


class Config:
    ENV_NAME = "base"
    TESTING = False
    DEBUG = False

    def __init__(self) -> None:
        self.SECRET_KEY = _env("SECRET_KEY", "dev-secret-change-me")
        self.APP_VERSION = _env("APP_VERSION", "0.1.0")
        self.FRONTEND_URL = _env("FRONTEND_URL", "http://localhost:5173")

        # MongoDB. Unset in development means "start the embedded SecantusDB".
        self.MONGO_URI = _env("MONGO_URI")
        self.MONGO_DB_NAME = _env("MONGO_DB_NAME", "roundtable")
        self.MONGO_TIMEOUT_MS = _env_int("MONGO_TIMEOUT_MS", 2000)
        self.EMBEDDED_DB_PORT = _env_int("EMBEDDED_DB_PORT", 27018)
        self.EMBEDDED_DB_PATH = _env("EMBEDDED_DB_PATH", str(INSTANCE_DIR / "db"))

        # Redis. Unset means single-process mode: file sessions, memory limits, local cache.
        self.REDIS_URL = _env("REDIS_URL")
        self.REDIS_TIMEOUT_SECONDS = float(_env("REDIS_TIMEOUT_SECONDS", "0.5"))
        # The Socket.IO queue follows REDIS_URL unless set on its own ("none" disables it).
        queue = _env("SOCKETIO_MESSAGE_QUEUE", self.REDIS_URL)
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
        self.CORS_ORIGINS = _env_list("CORS_ORIGINS")
        self.TRUSTED_PROXIES = _env_int("TRUSTED_PROXIES", 0)
        self.MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 4 * 1024 * 1024)
        self.HSTS_ENABLED = _env_bool("HSTS_ENABLED", self.ENV_NAME == "production")

        self.CACHE_DEFAULT_TTL = _env_int("CACHE_DEFAULT_TTL", 30)
        self.LOG_LEVEL = _env("LOG_LEVEL", "INFO")

        # flask-smorest: the OpenAPI document is generated from the schemas.
        self.API_TITLE = "Roundtable API"
        self.API_VERSION = self.APP_VERSION
        self.OPENAPI_VERSION = "3.0.3"
        self.OPENAPI_URL_PREFIX = "/api"
        self.OPENAPI_JSON_PATH = "openapi.json"
        self.OPENAPI_SWAGGER_UI_PATH = "docs"
        self.OPENAPI_SWAGGER_UI_URL = "/api/docs/assets/"

    def default_async_mode(self) -> str:
        return "threading"

    def secure_cookies(self) -> bool:
        return False

    def validate(self) -> None:
        """Refuse settings that are unsafe for this environment."""


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    DEBUG = True


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True

    def __init__(self) -> None:
        super().__init__()
        self.SECRET_KEY = "testing-secret"


class ProductionConfig(Config):
    ENV_NAME = "production"

    def default_async_mode(self) -> str:
        # One gevent worker per process; see README "Why gevent".
        return "gevent"

    def secure_cookies(self) -> bool:
        return True

    def validate(self) -> None:
        for name in ("SECRET_KEY", "MONGO_URI", "REDIS_URL"):
            if not _env(name):
                raise ConfigError(f"{name} must be set in production")
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
