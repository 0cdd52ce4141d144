"""The test harness itself (tests/conftest.py): the app shared by a worker's tests is put
back before each test, and cannot carry routes or hooks from one test to the next; and
`make test`'s coverage gate."""
from __future__ import annotations

import subprocess
import sys

import pytest
import redis
from flask import Blueprint

from tests.servers import ROOT
from utils.extensions import limiter, socketio


def test_the_shared_app_refuses_new_routes(app):
    with pytest.raises(AssertionError, match="can no longer be called"):
        app.register_blueprint(Blueprint("left_behind", __name__))


def test_reset_puts_back_config_bindings_and_state(app, db, make_app, redis_url, _shared):
    server, storage = socketio.server, limiter.storage
    assert app.wsgi_app.engineio_app is server  # the shared app's own Socket.IO server
    app.config["CHAT_RATE_LIMIT"] = "1 per hour"
    app.extensions["roundtable_login_failures"] = object()
    make_app(REDIS_URL=None)  # rebinds the process-wide extension objects
    assert socketio.server is not server and limiter.storage is not storage
    # Left for whichever test runs next on this worker (see the test below).
    redis.Redis.from_url(redis_url).set("rt:left-behind", 1)
    db.things.insert_one({"left": "behind"})

    _shared.reset()

    assert socketio.server is server and limiter.storage is storage
    assert app.config["CHAT_RATE_LIMIT"] != "1 per hour"
    assert "roundtable_login_failures" not in app.extensions


def test_each_test_starts_with_empty_collections_and_redis(db, redis_url):
    # Whatever ran before on this worker, nothing is left (tests run in any order).
    assert [name for name in db.list_collection_names()
            if db[name].estimated_document_count()] == []
    assert redis.Redis.from_url(redis_url).dbsize() == 0


def test_the_matrix_write_check_sees_a_write_it_did_not_read_for(make_app):
    # tests/authz_checks.written skips re-reading the database after a call that sent
    # no write command; a call that did write must still be found and put back.
    from tests.authz_checks import _writes_sent, written
    from tests.authz_world import snapshot
    from tests.helpers import register

    app = make_app(MONGO_COUNT_COMMANDS=True)
    baseline = snapshot(app)
    assert written(app, baseline) == []
    before = _writes_sent()
    register(app.test_client(), "zed")
    assert _writes_sent() > before
    assert any(change.startswith("users: ") for change in written(app, baseline))
    assert written(app, baseline) == []  # put back as the baseline had it


def test_a_kept_app_comes_back_as_built_and_one_given_routes_is_not_kept(make_app):
    from tests.conftest import AppPool, SharedApp

    pool = AppPool()
    app = make_app(reuse=False)
    built = SharedApp(app)
    app.config["NOTIFY_MAX_MENTIONS"] = 99
    pool.give("settings", built)
    again = pool.take("settings")
    assert again is built and pool.take("settings") is None  # one test, one holder
    again.reset()
    assert app.config["NOTIFY_MAX_MENTIONS"] == built.config["NOTIFY_MAX_MENTIONS"] != 99

    app.add_url_rule("/api/probe/own", "a_tests_own", lambda: "")
    pool.give("settings", again)
    assert pool.take("settings") is None


@pytest.mark.parametrize(("arguments", "a_part"), [
    ("tests/test_posts.py", True), ("./tests/test_posts.py", True),
    (f"{ROOT}/tests/test_posts.py", True), ("tests/test_posts.py::test_x", True),
    ("-x tests/test_votes.py", True), ("-k votes", True), ("-kvotes", True),
    ("-m slow", True), ("--lf", True), ("--deselect=tests/test_posts.py::test_x", True),
    ("-x --durations=20", False), ("--durations 20", False), ("tests", False),
    ("tests/", False), ("./tests/", False), (f"{ROOT}/tests", False), ("", False)])
def test_make_test_holds_only_the_whole_suite_to_fail_under(arguments, a_part):
    """A part of the suite cannot reach the whole suite's coverage: chosen by path, -k,
    -m, --lf or --deselect it prints its figure without failing on it; the whole suite,
    with any other options, is held to `fail_under`."""
    dry_run = subprocess.run(["make", "-n", "test", f"VENV={sys.prefix}", "COVERAGE=1",
                              f"PYTEST_ARGS={arguments}"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout
    pytest_line = next(line for line in dry_run.splitlines() if "-m pytest" in line)
    assert "--cov " in pytest_line
    assert ("--cov-fail-under=0" in pytest_line) is a_part
