"""Roundtable application factory.

`create_app()` loads config, binds each extension and registers the blueprints; nothing
else. `flask run` finds the factory; `python app.py` serves with Socket.IO's runner.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from cachelib import FileSystemCache
from flask import Flask

import models.indexes
import routes
import routes.commands
import routes.metrics
import services.chat.chat_previews  # defines a job the consumers run, before utils.jobs.init_app
import services.notify.notify_digest  # noqa: F401  (defines periodic jobs the consumers run)
import utils.auth
import utils.cache
import utils.http
import utils.jobs
import utils.local_copies
import utils.logs
import utils.metrics
import utils.socket_events
import utils.socket_manager
from config import ConfigError, load_config
from services.accounts import auth_login
from services.platform import chat_limits, content_filter, file_storage, passwords
from utils.api import ContractRequest, JSONProvider, register_converters
from utils.embedded_db import ensure_embedded_database
from utils.errors import register_error_handlers
from utils.extensions import api, limiter, server_session, socketio
from utils.redis_client import get_redis

log = logging.getLogger("roundtable")

__all__ = ["create_app", "socketio"]


def create_app(config_name: str | None = None, **overrides) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.json = JSONProvider(app)
    app.request_class = ContractRequest
    app.config.from_object(load_config(config_name))
    app.config.update(overrides)
    # `/api/topics` and `/api/topics/` both answer, never with a redirect that a JSON
    # client (or a POST) would have to follow.
    app.url_map.strict_slashes = False
    utils.logs.init_app(app)
    utils.metrics.init_app(app)
    routes.metrics.init_app(app)
    _ensure_database(app)

    _init_sessions(app)
    _init_limiter(app)
    utils.http.init_app(app)
    utils.cache.init_app(app)
    utils.local_copies.init_app(app)
    content_filter.init_app(app)
    models.indexes.init_app(app)
    api.init_app(app)
    register_converters(app, api)
    utils.jobs.init_app(app)  # after every module defining jobs was imported
    file_storage.init_app(app)
    passwords.init_app(app)
    utils.auth.init_app(app, api, auth_login.USER_LOADERS)
    utils.socket_events.init_app(app, chat_limits.hit_event)
    routes.commands.init_app(app)
    with app.app_context():  # request schemas document this app's configured limits
        routes.register(app, api)
    register_error_handlers(app)
    _init_socketio(app)

    if not app.config["REDIS_URL"]:
        log.warning("REDIS_URL is unset: single-process mode (file sessions, in-memory rate "
                    "limits and cache, no Socket.IO message queue). Run one process only.")
    return app


def _ensure_database(app: Flask) -> None:
    if app.config["MONGO_URI"]:
        return
    if app.config["ENV_NAME"] != "development":
        raise ConfigError("MONGO_URI must be set outside development")
    # Development default: an embedded SecantusDB under instance/db, reused if running.
    app.config["MONGO_URI"] = ensure_embedded_database(app.config["EMBEDDED_DB_PORT"],
                                                       app.config["EMBEDDED_DB_PATH"])


def _init_sessions(app: Flask) -> None:
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(days=app.config["SESSION_LIFETIME_DAYS"])
    app.config["SESSION_PERMANENT"] = True
    app.config["SESSION_KEY_PREFIX"] = "rt:session:"
    if app.config["REDIS_URL"]:
        app.config["SESSION_TYPE"] = "redis"
        app.config["SESSION_REDIS"] = get_redis(app)
    else:
        app.config["SESSION_TYPE"] = "cachelib"
        app.config["SESSION_CACHELIB"] = FileSystemCache(app.config["SESSION_DIR"],
                                                         threshold=10000)
    server_session.init_app(app)


def _init_limiter(app: Flask) -> None:
    timeout = app.config["REDIS_TIMEOUT_SECONDS"]
    app.config.update(
        RATELIMIT_STORAGE_URI=app.config["REDIS_URL"] or "memory://",
        RATELIMIT_STORAGE_OPTIONS={"socket_timeout": timeout, "socket_connect_timeout": timeout}
        if app.config["REDIS_URL"] else {},
        # Redis down: count in this process instead (never unlimited, never a 500).
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        RATELIMIT_HEADERS_ENABLED=True,
        RATELIMIT_KEY_PREFIX="rt:limit",
        RATELIMIT_STRATEGY="moving-window",
    )
    # Flask runs after_request hooks last-registered first: this one sees the limiter's
    # headers.
    app.after_request(utils.http.drop_stray_retry_after)
    limiter.init_app(app)


def _init_socketio(app: Flask) -> None:
    import socketio_calls  # noqa: F401  (registers the call events)
    import socketio_handlers  # noqa: F401  (registers the event handlers)
    socketio.init_app(
        app,
        async_mode=app.config["SOCKETIO_ASYNC_MODE"],
        # The library's manager for the queue (or none), counting for /metrics.
        client_manager=utils.socket_manager.make(app.config["SOCKETIO_MESSAGE_QUEUE"],
                                                 "flask-socketio"),
        # Its own origin and CORS_ORIGINS; never an empty list (that switches the check off).
        cors_allowed_origins=utils.http.SocketOrigins(app.config["CORS_ORIGINS"]),
        cors_credentials=True,
        max_http_buffer_size=app.config["SOCKETIO_MAX_MESSAGE_BYTES"],
        # Sessions live server-side (Flask-Session), shared with HTTP requests.
        manage_session=False,
        serializer=utils.socket_events.ContractPacket,
    )


if __name__ == "__main__":
    # The same app `flask run` serves (indexes are created on first use either way); the
    # debugger only when asked for with FLASK_DEBUG=1, never by default.
    application = create_app()
    # Development: the job queue's consumer runs beside the server, in this process
    # (production runs `flask jobs worker` as a process of its own).
    consumer = (utils.jobs.start_consumer(application)
                if application.config["JOBS_IN_PROCESS_CONSUMER"] else None)
    socketio.run(application, host=application.config["HOST"],
                 port=application.config["PORT"], debug=application.debug,
                 use_reloader=False, allow_unsafe_werkzeug=True)
    if consumer is not None:
        consumer.stop(graceful=True)
