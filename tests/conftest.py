"""Test harness: real servers, one app per worker, a clean state for every test.

Each pytest process (each pytest-xdist worker, or the one process without `-n`) starts its
own SecantusDB and redis-server on free loopback ports, creates its database's indexes
once and builds one app (`app`, `client`, `db`). Before every test that uses them, Redis
is flushed, every collection of the worker's database is emptied (indexes kept) and the
app's process-wide bindings and per-app state are put back as they were when it was
built, so each test starts as if on a new app, without paying 0.1-0.3 s to build one.

`make_app(**overrides)` still builds an app of its own (on the same database and Redis,
like another server process would; use it to add routes or hooks, which the shared app
refuses); the first call with `init_db=False` gets an empty database without indexes.
`cluster` is two real gunicorn processes shared by a module's tests; `own_cluster` is a
pair for one test (one that kills a process). `clock` moves the app's clock
(utils.clock) instead of sleeping. `push_service` is tests/push_service.py's push service
(written from the RFCs), empty, with the app accepting its loopback endpoints.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import redis
from flask import Flask
from flask_socketio.test_client import SocketIOTestClient

from app import create_app
from models import indexes, registry
from tests import gif_stub, query_plugin
from tests.http_stub import StubServer
from tests.push_service import PushService
from tests.servers import (
    CLUSTER_SETTINGS,
    INSTALL_HINT,
    AppServer,
    RedisServer,
    find_redis_server,
    unmeasured,
)
from utils import clock as clock_module
from utils import db as db_module
from utils import local_copies
from utils.embedded_db import EmbeddedDatabase, free_port
from utils.extensions import api, limiter, server_session, socketio

# Modules whose tests share servers that take seconds to start (a two-process cluster,
# nginx in front of three processes, each way of starting the app, a generated client):
# one xdist worker runs each of them whole (`--dist loadgroup`), so the servers start once
# in the run instead of once on every worker that got one of the module's tests.
CLUSTER_MODULES = ("test_messaging_e2e.py", "test_admin_live_ban.py", "test_nginx_e2e.py",
                   "test_startup.py", "test_generated_clients.py", "test_typescript_client.py",
                   "test_calls_turn.py")
# The longest tests go first, so no worker is left with one of them at the end.
LONG_TESTS = ("test_fuzz_whole_api_shard",)


def pytest_configure(config):
    # Known without pytest-xdist too (a run with -p no:xdist).
    config.addinivalue_line("markers", "xdist_group(name): run these tests on one worker")
    # Every query the app sends, checked against the declared indexes at the end of the run.
    config.pluginmanager.register(query_plugin.QueryCheck(config).start(), "roundtable-query-check")


# First: pytest-xdist reads the xdist_group marks in its own hook of the same name (it
# renames each test `<id>@<group>`); run after it, the marks below grouped nothing.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    def rank(item) -> int:
        if item.path.name in CLUSTER_MODULES:
            return 0
        return 1 if item.originalname.startswith(LONG_TESTS) else 2

    for item in items:
        if item.path.name in CLUSTER_MODULES:
            item.add_marker(pytest.mark.xdist_group(item.path.name))
    items.sort(key=rank)  # stable: the order within each rank is kept


# Servers, one of each per pytest process

@pytest.fixture(scope="session")
def redis_server():
    if find_redis_server() is None:
        pytest.exit(INSTALL_HINT, returncode=3)
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mongo_server():
    with unmeasured():  # not our code
        server = EmbeddedDatabase(free_port(), ":memory:").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mongo_admin(mongo_server):
    client = db_module.make_client(mongo_server.uri, 10000)
    yield client
    client.close()


# The worker's app and the state that has to be put back before each test

# Extension objects bound to the newest app by init_app (Flask-Limiter's storage,
# Flask-SocketIO's server, flask-smorest's spec): a test that builds its own app rebinds
# them, so the shared app's bindings are restored before each test that uses it.
BOUND_EXTENSIONS = (limiter, socketio, api, server_session)


def _copy_state(state: dict) -> dict:
    return {name: value.copy() if isinstance(value, dict | list | set) else value
            for name, value in state.items()}


def _routes_and_hooks(app: Flask) -> tuple[int, ...]:
    return (len(app.blueprints), len(app.view_functions), len(list(app.url_map.iter_rules())),
            sum(map(len, app.before_request_funcs.values())),
            sum(map(len, app.after_request_funcs.values())),
            sum(map(len, app.error_handler_spec.values())))


class SharedApp:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.config = dict(app.config)
        self.bindings = [(ext, _copy_state(vars(ext))) for ext in BOUND_EXTENSIONS]
        self.built_shape = _routes_and_hooks(app)

    def as_built(self) -> bool:
        """No route or hook was added since it was built (a test may add its own)."""
        return _routes_and_hooks(self.app) == self.built_shape

    def reset(self) -> None:
        """Make the app as it was when built: its config, the extension bindings, and
        the state it keeps in process memory (compiled content filter, local cache,
        in-memory login failures, Socket.IO rooms; the job queue lives in Redis, flushed)."""
        app = self.app
        app.config.clear()
        app.config.update(self.config)
        self.restore_bindings()
        from services.platform import content_filter
        from utils import cache

        app.extensions["roundtable_content_filter"] = content_filter._State()
        app.extensions["roundtable_cache"] = cache.Cache(app)
        app.extensions.pop("roundtable_login_failures", None)
        # Sockets of earlier tests (their test clients) leave the server's rooms, as they
        # would with a new server; no disconnect handler runs for them (the manager's
        # `disconnect` only forgets the socket: rooms, pending acks).
        server = socketio.server
        manager = server.manager
        for namespace in list(manager.get_namespaces()):
            for sid, _ in list(manager.get_participants(namespace, None)):
                manager.disconnect(sid, namespace)
        server.environ.clear()
        SocketIOTestClient.clients.clear()

    def restore_bindings(self, only: tuple = BOUND_EXTENSIONS) -> None:
        """The process-wide extension objects as this app left them when built. For the
        limiter that includes its storage's health as it was then (healthy): a test that
        broke Redis leaves no "storage dead" flag behind for the next app."""
        for ext, state in self.bindings:
            if ext in only:
                vars(ext).clear()
                vars(ext).update(_copy_state(state))


def _settings(mongo_server, redis_server, database: str, stub: StubServer) -> dict:
    # GIF search goes to the GIPHY stand-in (tests/gif_stub.py) unless a test says not.
    return {"MONGO_URI": mongo_server.uri, "MONGO_DB_NAME": database,
            "REDIS_URL": redis_server.url, "SOCKETIO_MESSAGE_QUEUE": None,
            **gif_stub.settings(stub)}


@pytest.fixture(scope="session")
def _database_name() -> str:
    return "roundtable_test"  # on the worker's own SecantusDB


@pytest.fixture(scope="session")
def _shared(mongo_server, redis_server, _database_name, _stub_http) -> Iterator[SharedApp]:
    application = create_app("testing", **_settings(mongo_server, redis_server,
                                                     _database_name, _stub_http))
    with application.app_context():
        indexes.init_indexes()
    # Handled a request: from now on Flask refuses new routes and hooks on it (a test
    # that adds a blueprint must build its own app with make_app), so no test can leave
    # one behind for the next.
    assert application.test_client().get("/health").status_code == 200
    yield SharedApp(application)


@pytest.fixture
def _clean_state(mongo_admin, redis_server, _database_name):
    """An empty Redis and empty collections (indexes kept) for the test."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    local_copies.clear()  # kept under stamps the flush just removed
    database = mongo_admin[_database_name]
    models = {model.collection_name for model in registry.ALL_MODELS}
    present = set(database.list_collection_names())
    for name in present - models:
        database.drop_collection(name)  # made by a test (`things`, `widgets`)
    for name in _holding_documents(database, present & models):
        database[name].delete_many({})
    indexed = {model.collection_name for model in registry.ALL_MODELS if model.indexes}
    if indexed - present:
        # A test dropped a collection (or ran before the first app): indexes again.
        for model in registry.ALL_MODELS:
            model.ensure_indexes(database)


def _holding_documents(database, names: set[str]) -> list[str]:
    """The collections among `names` with a document in them, in one round trip: most
    tests write to a few of the 60-odd collections, which then need a delete each."""
    if not names:
        return []
    first, *others = sorted(names)

    def one_of(name: str) -> list[dict]:
        return [{"$limit": 1}, {"$project": {"_id": 0, "name": {"$literal": name}}}]

    pipeline = one_of(first) + [{"$unionWith": {"coll": name, "pipeline": one_of(name)}}
                                for name in others]
    return [found["name"] for found in database[first].aggregate(pipeline)]


@pytest.fixture(scope="session")
def _app_pool() -> AppPool:
    return AppPool()


@pytest.fixture
def redis_url(redis_server, _clean_state):
    return redis_server.url


@pytest.fixture
def app(_shared, _clean_state) -> Flask:
    _shared.reset()
    return _shared.app


@pytest.fixture
def make_app(request, mongo_server, mongo_admin, redis_server, _database_name, _clean_state,
             _stub_http, _app_pool, _shared):
    """Build an app of its own on the test servers; several calls share one database and
    Redis, like several server processes would. With `init_db=False` first (and no `app`
    in the test), the database is a new, empty one without indexes."""
    database: str | None = None
    fresh = False
    handed_out: list[tuple[str | None, SharedApp]] = []

    def factory(init_db: bool = True, reuse: bool = True, **overrides) -> Flask:
        """`reuse=False`: a new app, never kept (for a test that adds routes or hooks)."""
        nonlocal database, fresh
        if database is None:
            fresh = not init_db and "app" not in request.fixturenames
            database = f"test_{uuid.uuid4().hex[:12]}" if fresh else _database_name
        settings = _settings(mongo_server, redis_server, database, _stub_http)
        settings.update(overrides)
        key = None if fresh or not reuse else repr((init_db, sorted(settings.items())))
        kept = _app_pool.take(key)
        if kept is not None:
            kept.reset()
            handed_out.append((key, kept))
            return kept.app
        # A new app binds the process-wide limiter afresh, starting from the state a
        # built app had (in production each process builds one app, once).
        _shared.restore_bindings(only=(limiter,))
        application = create_app("testing", **settings)
        indexed = (settings["MONGO_URI"] == mongo_server.uri
                   and settings["MONGO_DB_NAME"] == _database_name)
        if init_db and not indexed:
            with application.app_context():
                indexes.init_indexes()
        handed_out.append((key, SharedApp(application)))
        return application

    yield factory
    for key, built in handed_out:
        _app_pool.give(key, built)
    if fresh:
        mongo_admin.drop_database(database)


class AppPool:
    """Apps built by `make_app`, kept for later tests of this worker that ask for the
    same settings: building one costs 0.15-0.3 s (blueprints, the OpenAPI document), and
    about 160 tests ask for one. A kept app is put back as it was built (SharedApp.reset)
    before it is handed out again; one a test added routes or hooks to is not kept, and
    two calls in one test (two "processes") always get two apps."""

    def __init__(self) -> None:
        self.idle: dict[str, list[SharedApp]] = {}

    def take(self, key: str | None) -> SharedApp | None:
        found = self.idle.get(key) if key is not None else None
        return found.pop() if found else None

    def give(self, key: str | None, built: SharedApp) -> None:
        if key is not None and built.as_built():
            self.idle.setdefault(key, []).append(built)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def db(app):
    """The test's database, without holding an app context open: requests made during the
    test must each get a fresh context (and a fresh `g`), as they do in production."""
    return db_module.get_client(app)[app.config["MONGO_DB_NAME"]]


# The app's clock, moved by tests instead of sleeping

class Clock:
    def advance(self, seconds: float = 0, **delta: float) -> None:
        """Move utils.clock forward by `seconds` (or timedelta keywords: hours=25)."""
        clock_module.advance(seconds + timedelta(**delta).total_seconds())

    def move_to(self, moment: datetime) -> None:
        """Move utils.clock forward to `moment` (aware). Sessions and tokens made before a
        long move may have expired: move first, then sign in."""
        now = clock_module.now()
        assert moment >= now, "the clock only moves forward"
        clock_module.advance((moment - now).total_seconds())

    def advance_to(self, hour: int, minute: int = 0, weekday: int | None = None) -> datetime:
        """Move utils.clock forward to the next hour:minute UTC (on `weekday`, 0 Monday,
        if given); the moment reached."""
        now = clock_module.now()
        target = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        while target <= now or (weekday is not None and target.weekday() != weekday):
            target += timedelta(days=1)
        self.move_to(target)
        return target


@pytest.fixture
def clock() -> Iterator[Clock]:
    yield Clock()
    clock_module.reset()


# Two real server processes (gunicorn, gevent) on the worker's database and Redis

def _start_servers(count: int, mongo_server, redis_server, database: str,
                   log_dir) -> list[AppServer]:
    env = {**CLUSTER_SETTINGS, "MONGO_URI": mongo_server.uri, "MONGO_DB_NAME": database,
           "REDIS_URL": redis_server.url}
    servers = [AppServer(env, log_dir) for _ in range(count)]  # they boot side by side
    try:
        for server in servers:
            server.wait_ready()
    except BaseException:
        _discard(servers)
        raise
    return servers


def _discard(servers: list[AppServer]) -> None:
    for server in servers:  # the tests are done with them: no shutdown work
        server.discard()


@pytest.fixture(scope="session")
def _worker_cluster(mongo_server, redis_server, _database_name, tmp_path_factory):
    # Started when a worker's first cluster test runs, and kept for every later one:
    # between tests the servers hold nothing the cleaned database and flushed Redis do
    # not reset (their per-process copies are filed under stamps the flush removed).
    log_dir = tmp_path_factory.mktemp("cluster")
    servers = _start_servers(2, mongo_server, redis_server, _database_name, log_dir)
    yield servers, log_dir
    _discard(servers)


@pytest.fixture
def cluster(_worker_cluster, app, mongo_server, redis_server, _database_name):
    """(app, [server A, server B]): two gunicorn processes shared by the worker's cluster
    tests, on the test's (cleaned) database and Redis. A test that kills one uses
    `own_cluster`; a process found dead all the same is replaced before the next test."""
    servers, log_dir = _worker_cluster
    for index, server in enumerate(servers):
        if server.process.poll() is not None:
            server.discard()
            servers[index], = _start_servers(1, mongo_server, redis_server, _database_name,
                                             log_dir)
    return app, list(servers)


@pytest.fixture
def own_cluster(app, mongo_server, redis_server, _database_name, tmp_path):
    """Like `cluster`, but started for this test alone (it may kill a process)."""
    servers = _start_servers(2, mongo_server, redis_server, _database_name, tmp_path)
    try:
        yield app, servers
    finally:
        _discard(servers)


# A local HTTP server standing for the outside world (GIF providers, linked pages)

@pytest.fixture(scope="session")
def _stub_http():
    server = StubServer().start()
    gif_stub.install(server)
    yield server
    server.stop()


@pytest.fixture
def stub_http(_stub_http):
    """tests/http_stub.py's server with only its default routes (the GIF providers of
    tests/gif_stub.py) and no requests seen yet."""
    _stub_http.reset()
    gif_stub.DATA.reset()
    yield _stub_http
    _stub_http.reset()
    gif_stub.DATA.reset()


# A Web Push service written from the RFCs (tests/push_service.py)

@pytest.fixture(scope="session")
def _push_service():
    service = PushService(now=clock_module.time)
    yield service
    service.close()


@pytest.fixture
def push_service(_push_service, app, monkeypatch):
    """The push service, empty, and the app accepting it (loopback, listed by address)."""
    _push_service.received.clear()
    _push_service.answers.clear()
    monkeypatch.setitem(app.config, "PUSH_ENDPOINT_HOSTS", ["127.0.0.1"])
    monkeypatch.setitem(app.config, "PUSH_ALLOW_LOOPBACK", True)
    return _push_service
