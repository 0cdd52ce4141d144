"""Configuration: environment selection and production's refusal of unsafe settings."""
from __future__ import annotations

import subprocess
import sys

import pytest
from limits import parse

from config import BASE_DIR, ConfigError, load_config

PRODUCTION_ENV = {"SECRET_KEY": "x" * 40, "MONGO_URI": "mongodb://db:27017",
                  "REDIS_URL": "redis://cache:6379/0",
                  "VAPID_PRIVATE_KEY": "q0dPz5c4_bVqS2xbXx6Rv0vGxxWNQ5gQ3iU3G0Tf1pQ"}


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("FLASK_ENV", "SECRET_KEY", "MONGO_URI", "REDIS_URL", "SOCKETIO_ASYNC_MODE",
                 "SOCKETIO_MESSAGE_QUEUE", "CORS_ORIGINS", "CORS_MAX_AGE", "PUSH_ENABLED",
                 "VAPID_PRIVATE_KEY", "PUSH_ALLOW_LOOPBACK", "REDIS_SENTINELS",
                 "REDIS_SENTINEL_MASTER"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_development_is_the_default(clean_env):
    config = load_config()
    assert config.ENV_NAME == "development" and config.SOCKETIO_ASYNC_MODE == "threading"


def test_flask_env_selects_the_class(clean_env):
    clean_env.setenv("FLASK_ENV", "testing")
    assert load_config().ENV_NAME == "testing"


def test_unknown_environment_is_refused(clean_env):
    with pytest.raises(ConfigError, match="FLASK_ENV"):
        load_config("staging")


def test_production_uses_gevent_and_secure_cookies(clean_env):
    for name, value in PRODUCTION_ENV.items():
        clean_env.setenv(name, value)
    config = load_config("production")
    assert config.SOCKETIO_ASYNC_MODE == "gevent"
    assert config.SESSION_COOKIE_SECURE and config.HSTS_ENABLED
    assert PRODUCTION_ENV["REDIS_URL"] == config.SOCKETIO_MESSAGE_QUEUE


def test_async_mode_can_be_overridden(clean_env):
    clean_env.setenv("SOCKETIO_ASYNC_MODE", "threading")
    for name, value in PRODUCTION_ENV.items():
        clean_env.setenv(name, value)
    assert load_config("production").SOCKETIO_ASYNC_MODE == "threading"


@pytest.mark.parametrize("missing", ["SECRET_KEY", "MONGO_URI", "REDIS_URL"])
def test_production_refuses_a_missing_setting(clean_env, missing):
    for name, value in PRODUCTION_ENV.items():
        if name != missing:
            clean_env.setenv(name, value)
    with pytest.raises(ConfigError, match=missing):
        load_config("production")


def test_production_takes_sentinels_instead_of_a_redis_url(clean_env):
    for name, value in PRODUCTION_ENV.items():
        if name != "REDIS_URL":
            clean_env.setenv(name, value)
    clean_env.setenv("REDIS_SENTINELS", "s1:26379, s2:26379,[::1]:26380")
    clean_env.setenv("REDIS_SENTINEL_MASTER", "main")
    config = load_config("production")
    assert config.REDIS_SENTINELS == [("s1", 26379), ("s2", 26379), ("::1", 26380)]
    # python-socketio's RedisManager finds the master through the same sentinels.
    assert config.SOCKETIO_MESSAGE_QUEUE == ("redis+sentinel://s1:26379,s2:26379,::1:26380"
                                             "/0/main")


@pytest.mark.parametrize("value", ["s1", "s1:port", ":26379"])
def test_a_sentinel_without_a_port_is_refused(clean_env, value):
    clean_env.setenv("REDIS_SENTINELS", value)
    with pytest.raises(ConfigError, match="REDIS_SENTINELS"):
        load_config("testing")


@pytest.mark.parametrize("secret", ["dev-secret-change-me", "change-me", "short"])
def test_production_refuses_a_default_secret(clean_env, secret):
    for name, value in PRODUCTION_ENV.items():
        clean_env.setenv(name, value)
    clean_env.setenv("SECRET_KEY", secret)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config("production")


def test_production_refuses_the_link_preview_loopback_switch(clean_env):
    for name, value in PRODUCTION_ENV.items():
        clean_env.setenv(name, value)
    assert load_config("production").LINK_PREVIEW_ALLOW_LOOPBACK is False
    clean_env.setenv("LINK_PREVIEW_ALLOW_LOOPBACK", "true")
    with pytest.raises(ConfigError, match="LINK_PREVIEW_ALLOW_LOOPBACK"):
        load_config("production")


def test_production_refuses_push_without_a_vapid_key(clean_env):
    for name, value in PRODUCTION_ENV.items():
        clean_env.setenv(name, value)
    assert load_config("production").PUSH_ENABLED is True
    clean_env.delenv("VAPID_PRIVATE_KEY")
    with pytest.raises(ConfigError, match="VAPID_PRIVATE_KEY"):
        load_config("production")
    clean_env.setenv("PUSH_ENABLED", "false")
    assert load_config("production").PUSH_ENABLED is False
    assert load_config("development").VAPID_PRIVATE_KEY is None  # generated under instance/


def test_production_refuses_the_push_loopback_switch(clean_env):
    for name, value in PRODUCTION_ENV.items():
        clean_env.setenv(name, value)
    clean_env.setenv("PUSH_ALLOW_LOOPBACK", "true")
    with pytest.raises(ConfigError, match="PUSH_ALLOW_LOOPBACK"):
        load_config("production")


def test_gif_rating_is_one_the_providers_know(clean_env):
    assert load_config("development").GIF_RATING == "g"
    clean_env.setenv("GIF_RATING", "PG-13")
    assert load_config("development").GIF_RATING == "pg-13"
    clean_env.setenv("GIF_RATING", "nc-17")
    with pytest.raises(ConfigError, match="GIF_RATING"):
        load_config("development")


def test_debugger_only_when_asked_for(clean_env):
    assert load_config("development").DEBUG is False
    clean_env.setenv("FLASK_DEBUG", "1")
    assert load_config("development").DEBUG is True
    for name, value in PRODUCTION_ENV.items():
        clean_env.setenv(name, value)
    with pytest.raises(ConfigError, match="FLASK_DEBUG"):
        load_config("production")


def test_production_start_fails_with_one_line(clean_env):
    env = {"FLASK_ENV": "production", "PATH": "/usr/bin:/bin", "MONGO_URI": "mongodb://x",
           "REDIS_URL": "redis://x"}
    result = subprocess.run([sys.executable, "-c", "import app; app.create_app()"],
                            cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "ConfigError: SECRET_KEY must be set in production" in result.stderr


def test_message_queue_follows_redis_url_unless_disabled(clean_env):
    clean_env.setenv("REDIS_URL", "redis://cache:6379/0")
    assert load_config().SOCKETIO_MESSAGE_QUEUE == "redis://cache:6379/0"
    clean_env.setenv("SOCKETIO_MESSAGE_QUEUE", "none")
    assert load_config().SOCKETIO_MESSAGE_QUEUE is None


DEV_ORIGINS = ["http://localhost:5173", "http://localhost:3000",
               "http://127.0.0.1:5173", "http://127.0.0.1:3000"]


def test_development_allows_the_frontend_dev_servers_by_default(clean_env):
    assert load_config("development").CORS_ORIGINS == DEV_ORIGINS
    assert load_config("testing").CORS_ORIGINS == []
    for name, value in PRODUCTION_ENV.items():
        clean_env.setenv(name, value)
    assert load_config("production").CORS_ORIGINS == []


def test_passkey_origins_default_to_the_frontend_and_the_cors_origins(clean_env):
    for name in ("FRONTEND_URL", "WEBAUTHN_RP_ID", "WEBAUTHN_ORIGINS"):
        clean_env.delenv(name, raising=False)
    development = load_config("development")
    assert development.WEBAUTHN_RP_ID == "localhost"
    assert development.WEBAUTHN_ORIGINS == DEV_ORIGINS
    for name, value in PRODUCTION_ENV.items():
        clean_env.setenv(name, value)
    clean_env.setenv("FRONTEND_URL", "https://forum.example/app")
    production = load_config("production")
    assert (production.WEBAUTHN_RP_ID, production.WEBAUTHN_ORIGINS) == (
        "forum.example", ["https://forum.example"])
    clean_env.setenv("WEBAUTHN_RP_ID", "example")
    clean_env.setenv("WEBAUTHN_ORIGINS", "https://a.example,https://b.example")
    production = load_config("production")
    assert (production.WEBAUTHN_RP_ID, production.WEBAUTHN_ORIGINS) == (
        "example", ["https://a.example", "https://b.example"])


def test_cors_origins_setting_replaces_the_development_default(clean_env):
    clean_env.setenv("CORS_ORIGINS", "https://app.example, https://admin.example")
    assert load_config("development").CORS_ORIGINS == ["https://app.example",
                                                       "https://admin.example"]
    clean_env.setenv("CORS_ORIGINS", "none")
    assert load_config("development").CORS_ORIGINS == []


def test_development_origins_reach_http_and_socketio(clean_env, tmp_path):
    """The development app answers a page on localhost:5173, and the same list guards
    Socket.IO's Origin check."""
    from app import create_app
    from utils.extensions import socketio

    application = create_app("development", MONGO_URI="mongodb://127.0.0.1:1",
                             REDIS_URL=None, SOCKETIO_MESSAGE_QUEUE=None,
                             SESSION_DIR=str(tmp_path / "sessions"),
                             JOBS_SQLITE_PATH=str(tmp_path / "jobs.sqlite3"))
    client = application.test_client()
    response = client.get("/version", headers={"Origin": "http://127.0.0.1:5173"})
    assert response.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:5173"
    for origin in DEV_ORIGINS:
        assert socketio.server.eio.cors_allowed_origins(origin, {}) is True
    assert socketio.server.eio.cors_allowed_origins("https://evil.example", {}) is False


def test_storage_backend_settings_are_checked(clean_env):
    clean_env.setenv("STORAGE_BACKEND", "ftp")
    with pytest.raises(ConfigError, match="STORAGE_BACKEND"):
        load_config("testing")
    clean_env.setenv("STORAGE_BACKEND", "s3")
    clean_env.delenv("S3_BUCKET", raising=False)
    with pytest.raises(ConfigError, match="S3_BUCKET"):
        load_config("testing")
    clean_env.setenv("S3_BUCKET", "media")
    assert load_config("testing").S3_BUCKET == "media"


@pytest.mark.parametrize("name", ["JOBS_WORKERS", "JOBS_BEST_EFFORT_WORKERS"])
def test_each_job_queue_keeps_a_worker(clean_env, name):
    clean_env.setenv(name, "0")
    with pytest.raises(ConfigError, match=name):
        load_config("testing")


@pytest.mark.parametrize(("name", "value"), [("NOTIFY_DIGEST_HOUR", "24"),
                                           ("NOTIFY_DIGEST_WEEKDAY", "7"),
                                           ("NOTIFY_DIGEST_HOUR", "-1")])
def test_a_digest_hour_or_weekday_that_never_comes_is_refused(clean_env, name, value):
    clean_env.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        load_config("testing")


def test_development_accounts_start_trusted_production_ones_earn_it(clean_env):
    # A frontend developer's fresh test accounts must not meet the new-account limits.
    assert load_config("development").TRUST_NEW_ACCOUNT_HOURS == 0
    for name, value in PRODUCTION_ENV.items():
        clean_env.setenv(name, value)
    assert load_config("production").TRUST_NEW_ACCOUNT_HOURS == 24
    clean_env.setenv("TRUST_NEW_ACCOUNT_HOURS", "6")
    assert load_config("development").TRUST_NEW_ACCOUNT_HOURS == 6


def test_development_allows_more_sign_ups_than_production(clean_env):
    """A frontend developer makes test accounts all afternoon from one address; production
    keeps its limit, and its separate job consumer (`flask jobs worker`)."""
    for name in ("RATELIMIT_REGISTER", "JOBS_IN_PROCESS_CONSUMER"):
        clean_env.delenv(name, raising=False)
    for name, value in PRODUCTION_ENV.items():
        clean_env.setenv(name, value)
    development, production = load_config("development"), load_config("production")
    limits = [parse(config.RATELIMIT_REGISTER) for config in (development, production)]
    assert [limit.get_expiry() for limit in limits] == [3600, 3600]
    assert limits[0].amount >= 100 and limits[1].amount == 5
    assert development.JOBS_IN_PROCESS_CONSUMER is True
    assert production.JOBS_IN_PROCESS_CONSUMER is False
    assert load_config("testing").JOBS_IN_PROCESS_CONSUMER is False
