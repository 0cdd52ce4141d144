"""Roundtable application factory.

`create_app()` loads config, binds each extension and registers the blueprints, the
models (`models.registry`), the jobs and the live-room hooks (`registrations.py`);
nothing else, and importing a module registers nothing. `flask run` finds the factory;
`python app.py` serves with Socket.IO's runner.
"""
from __future__ import annotations

import atexit
import logging
from datetime import timedelta

import click
import flask.cli
from cachelib import FileSystemCache
from flask import Flask
from werkzeug.serving import is_running_from_reloader

import models.indexes
import registrations
import routes
import routes.commands
import routes.metrics
import utils.auth
import utils.cache
import utils.http
import utils.jobs
import utils.local_copies
import utils.logs
import utils.metrics
import utils.request_hooks
import utils.socket_events
import utils.socket_manager
from config import ConfigError, load_config
from models.registry import ALL_MODELS
from services.accounts import auth_login
from services.notify import push_delivery
from services.platform import chat_limits, content_filter, file_storage, live_rooms, passwords
from services.polls import poll_hosts
from utils import redis_client
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
    routes.metrics.init_app(app)
    _ensure_database(app)

    _init_sessions(app)
    _init_request_hooks(app)
    _init_limiter(app)
    utils.http.init_app(app)
    utils.cache.init_app(app)
    utils.local_copies.init_app(app)
    content_filter.init_app(app)
    models.indexes.init_app(app, ALL_MODELS)
    api.init_app(app)
    register_converters(app, api)
    utils.jobs.init_app(app, registrations.JOBS)
    live_rooms.init_app(app, chat_room_leavers=registrations.CHAT_ROOM_LEAVERS)
    push_delivery.init_app(app, readers=registrations.PUSH_READERS)
    poll_hosts.init_app(app, registrations.POLL_HOSTS)
    file_storage.init_app(app)
    passwords.init_app(app)
    utils.auth.init_app(app, api, auth_login.USER_LOADERS)
    utils.socket_events.init_app(app, chat_limits.hit_event)
    routes.commands.init_app(app)
    with app.app_context():  # request schemas document this app's configured limits
        routes.register(app, api)
    register_error_handlers(app)
    _init_socketio(app)
    _init_job_consumer(app)

    if not redis_client.enabled(app.config):
        log.warning("REDIS_URL and REDIS_SENTINELS are unset: single-process mode (file "
                    "sessions, in-memory rate limits and cache, no Socket.IO message "
                    "queue). Run one process only.")
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
    if redis_client.enabled(app.config):
        app.config["SESSION_TYPE"] = "redis"
        app.config["SESSION_REDIS"] = get_redis(app)
    else:
        app.config["SESSION_TYPE"] = "cachelib"
        app.config["SESSION_CACHELIB"] = FileSystemCache(app.config["SESSION_DIR"],
                                                         threshold=10000)
    server_session.init_app(app)
    app.session_interface = utils.auth.BearerSkipsSession(app.session_interface)


def _init_request_hooks(app: Flask) -> None:
    """Our work around every request, as one before and one after hook, in this order
    (docs/ARCHITECTURE.md "A request"). Registered before the limiter: its check runs
    after our before steps, its headers are set before our after steps (Flask runs after
    hooks last-registered first), so `drop_stray_retry_after` sees them."""
    utils.request_hooks.init_app(
        app,
        before=(utils.http.assign_request_id,  # every log line and error names it
                routes.metrics.hide_metrics,  # GET /metrics without its token: the 404
                utils.http.require_json_body,  # JSON bodies only, within the size limit
                models.indexes.ensure_indexes_before_request,  # once per process
                utils.auth.check_csrf),  # cookie-authenticated unsafe requests
        after=(utils.http.add_response_headers,  # request id, security headers
               utils.http.drop_stray_retry_after,  # after the limiter's headers
               utils.metrics.observe,  # count and time
               utils.logs.log_request))  # the access log line, last


def _init_limiter(app: Flask) -> None:
    uri, options = redis_client.limits_storage(app.config)  # on the shared client's pool
    app.config.update(
        RATELIMIT_STORAGE_URI=uri,
        RATELIMIT_STORAGE_OPTIONS=options,
        # Redis down: count in this process instead (never unlimited, never a 500).
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        RATELIMIT_HEADERS_ENABLED=True,
        RATELIMIT_KEY_PREFIX="rt:limit",
        RATELIMIT_STRATEGY="moving-window",
    )
    limiter.init_app(app)


def _started_as() -> str:
    """How this process was started: "server" (the process `python app.py` or `flask run`
    serves from), "reloader" (the watching parent of `flask run --reload`, which only
    restarts the server), "cli" (another flask command) or "other" (gunicorn, a test)."""
    if __name__ == "__main__":
        return "server"
    context = click.get_current_context(silent=True)
    if context is None:
        return "other"
    if context.command is not flask.cli.run_command:
        return "cli"
    # As `flask run` decides: --reload/--no-reload, else on with FLASK_DEBUG.
    reload = context.params.get("reload")
    if reload is None:
        reload = flask.cli.get_debug_flag()
    return "server" if not reload or is_running_from_reloader() else "reloader"


def _init_job_consumer(app: Flask) -> None:
    """The development servers consume the job queues on threads of their own process
    (JOBS_IN_PROCESS_CONSUMER, development only), however they were started; a server
    without one says at start when jobs wait and no consumer was seen recently."""
    started_as = _started_as()
    if started_as in ("cli", "reloader"):
        return  # not serving: `flask jobs worker` is itself the consumer
    if started_as == "server" and app.config["JOBS_IN_PROCESS_CONSUMER"]:
        consumer = utils.jobs.start_consumer(app)
        atexit.register(consumer.stop, graceful=True)
        log.info("job consumer running in this process (%d workers, %d best-effort)",
                 app.config["JOBS_WORKERS"], app.config["JOBS_BEST_EFFORT_WORKERS"])
        return
    try:
        state = utils.jobs.consumer_state(app)
    except Exception as exc:  # the store is down: readiness says so; never refuse to start
        log.warning("job queue unreadable at start: %s", exc)
        return
    if "waiting" in state:
        log.warning("job queue: %s; run `flask jobs worker` (docs/OPERATIONS.md "
                    "\"Background jobs\")", state)


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
    # The same app `flask run` serves, with the same in-process job consumer in
    # development (`_init_job_consumer`); the debugger only when asked for with
    # FLASK_DEBUG=1, never by default.
    application = create_app()
    socketio.run(application, host=application.config["HOST"],
                 port=application.config["PORT"], debug=application.debug,
                 use_reloader=False, allow_unsafe_werkzeug=True)
