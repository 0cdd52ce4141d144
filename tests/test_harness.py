"""The test harness itself (tests/conftest.py): the app shared by a worker's tests is put
back before each test, and cannot carry routes or hooks from one test to the next."""
from __future__ import annotations

import pytest
import redis
from flask import Blueprint

from utils.extensions import limiter, socketio


def test_the_shared_app_refuses_new_routes(app):
    with pytest.raises(AssertionError, match="can no longer be called"):
        app.register_blueprint(Blueprint("left_behind", __name__))


def test_reset_puts_back_config_bindings_and_state(app, db, make_app, redis_url, _shared):
    server, storage = socketio.server, limiter._storage
    assert app.wsgi_app.engineio_app is server  # the shared app's own Socket.IO server
    app.config["CHAT_RATE_LIMIT"] = "1 per hour"
    app.extensions["roundtable_login_failures"] = object()
    make_app(REDIS_URL=None)  # rebinds the process-wide extension objects
    assert socketio.server is not server and limiter._storage is not storage
    # Left for whichever test runs next on this worker (see the test below).
    redis.Redis.from_url(redis_url).set("rt:left-behind", 1)
    db.things.insert_one({"left": "behind"})

    _shared.reset()

    assert socketio.server is server and limiter._storage is storage
    assert app.config["CHAT_RATE_LIMIT"] != "1 per hour"
    assert "roundtable_login_failures" not in app.extensions


def test_each_test_starts_with_empty_collections_and_redis(db, redis_url):
    # Whatever ran before on this worker, nothing is left (tests run in any order).
    assert [name for name in db.list_collection_names()
            if db[name].estimated_document_count()] == []
    assert redis.Redis.from_url(redis_url).dbsize() == 0
