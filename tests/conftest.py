"""Test harness: one SecantusDB and one redis-server per session; a fresh database and an
empty Redis for every test."""
from __future__ import annotations

import uuid

import pytest
import redis

from app import create_app
from tests.servers import (
    CLUSTER_SETTINGS,
    INSTALL_HINT,
    AppServer,
    RedisServer,
    find_redis_server,
)
from utils import db as db_module
from utils.embedded_db import EmbeddedDatabase, free_port


@pytest.fixture(scope="session")
def redis_server():
    if find_redis_server() is None:
        pytest.exit(INSTALL_HINT, returncode=3)
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mongo_server():
    server = EmbeddedDatabase(free_port(), ":memory:").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mongo_admin(mongo_server):
    client = db_module.make_client(mongo_server.uri, 10000)
    yield client
    client.close()


@pytest.fixture
def redis_url(redis_server):
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    yield redis_server.url
    client.close()


@pytest.fixture
def make_app(mongo_server, mongo_admin, redis_url):
    """Build an app on the test servers; several calls share one database and Redis,
    like several server processes would."""
    database = f"test_{uuid.uuid4().hex[:12]}"
    apps = []

    def factory(init_db: bool = True, **overrides):
        settings = {"MONGO_URI": mongo_server.uri, "MONGO_DB_NAME": database,
                    "REDIS_URL": redis_url, "SOCKETIO_MESSAGE_QUEUE": None}
        settings.update(overrides)
        application = create_app("testing", **settings)
        apps.append(application)
        if init_db:
            with application.app_context():
                db_module.init_indexes()
        return application

    yield factory
    mongo_admin.drop_database(database)


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def db(app):
    """The test's database, without holding an app context open: requests made during the
    test must each get a fresh context (and a fresh `g`), as they do in production."""
    return db_module.get_client(app)[app.config["MONGO_DB_NAME"]]




@pytest.fixture
def cluster(make_app, mongo_server, redis_url, tmp_path):
    app = make_app()  # creates the indexes of the shared database
    env = {**CLUSTER_SETTINGS, "MONGO_URI": mongo_server.uri,
           "MONGO_DB_NAME": app.config["MONGO_DB_NAME"], "REDIS_URL": redis_url}
    servers = [AppServer(env, tmp_path), AppServer(env, tmp_path)]
    try:
        for server in servers:
            server.wait_ready()
        yield app, servers
    finally:
        for server in servers:
            server.stop()
