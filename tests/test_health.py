"""Health, readiness and degraded modes when Redis or MongoDB goes away."""
from __future__ import annotations

import logging
import time

import pytest

from config import Config
from tests.helpers import register
from tests.servers import RedisServer
from utils import jobs
from utils.embedded_db import free_port


def test_health_touches_nothing(make_app):
    dead = f"mongodb://127.0.0.1:{free_port()}/?directConnection=true"
    application = make_app(init_db=False, MONGO_URI=dead, MONGO_TIMEOUT_MS=300)
    response = application.test_client().get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_version(client, app):
    response = client.get("/version")
    assert response.get_json() == {"version": app.config["APP_VERSION"]}


def test_ready_when_everything_answers(client):
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.get_json()["checks"] == {"mongo": "ok", "redis": "ok",
                                             "jobs": "no consumer seen (last: never)"}


def test_ready_says_when_jobs_wait_and_no_consumer_was_seen(app, client, clock):
    """Reported, not a 503: a web process without a consumer still serves."""
    register(client, "alice", verify=False)  # queues the verification mail's job
    ready = client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.get_json()["checks"]["jobs"] == \
        "no consumer seen (last: never), 1 job(s) waiting"

    jobs.beat(app)  # what a running consumer's scheduler writes every few seconds
    assert client.get("/health/ready").get_json()["checks"]["jobs"] == "ok"

    clock.advance(app.config["JOBS_CONSUMER_STALE_SECONDS"] + 1)  # the consumer went away
    ready = client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.get_json()["checks"]["jobs"] == \
        "no consumer seen (last: 61 s ago), 1 job(s) waiting"


def test_a_server_starting_without_a_consumer_logs_the_waiting_jobs(app, client, make_app,
                                                                    caplog):
    register(client, "alice", verify=False)
    with caplog.at_level(logging.WARNING, logger="roundtable"):
        make_app(reuse=False)  # another server process on the same queue starts
    [line] = [r.getMessage() for r in caplog.records if r.name == "roundtable"
              and "job queue" in r.getMessage()]
    assert line.startswith("job queue: no consumer seen (last: never), 1 job(s) waiting; "
                           "run `flask jobs worker`")


@pytest.fixture
def own_redis():
    """A redis-server this test may stop without disturbing the session's one."""
    server = RedisServer().start()
    yield server
    server.stop()


def test_redis_stopped_mid_run_degrades(make_app, own_redis):
    application = make_app(REDIS_URL=own_redis.url, RATELIMIT_DEFAULT="5 per minute")
    client = application.test_client()
    assert client.get("/health/ready").status_code == 200
    assert client.get("/version").status_code == 200

    own_redis.stop()

    ready = client.get("/health/ready")
    assert ready.status_code == 503
    error = ready.get_json()["error"]
    assert error["code"] == "service_unavailable"
    assert error["details"]["failed"] == ["redis"]
    assert error["details"]["checks"]["mongo"] == "ok"

    # Rate-limited routes keep answering, now counted in this process: still limited.
    statuses = [client.get("/version").status_code for _ in range(6)]
    assert statuses[0] == 200
    assert 500 not in statuses and 503 not in statuses
    assert statuses[-1] == 429


# The tests run with a longer deadline (config.TestingConfig); these two check production's.
PRODUCTION_MONGO_TIMEOUT_MS = Config().MONGO_TIMEOUT_MS
# One deadline's wait, plus the time to build the 503 (0.3-0.4 s under coverage here, twice
# that on a machine slowed to half speed). A second wait in a row (a retry) or pymongo's
# own 30 s default would exceed it.
WITHIN_ONE_DEADLINE = PRODUCTION_MONGO_TIMEOUT_MS / 1000 + 1.5


def test_mongo_unreachable_is_503_within_one_deadline(make_app):
    dead = f"mongodb://127.0.0.1:{free_port()}/?directConnection=true"
    application = make_app(init_db=False, MONGO_URI=dead,
                           MONGO_TIMEOUT_MS=PRODUCTION_MONGO_TIMEOUT_MS)
    client = application.test_client()

    started = time.monotonic()
    response = client.get("/health/ready")
    assert time.monotonic() - started < WITHIN_ONE_DEADLINE
    assert response.status_code == 503
    assert response.get_json()["error"]["details"]["failed"] == ["mongo"]


def test_mongo_error_in_a_route_is_503(make_app):
    from utils.api import Blueprint
    from utils.db import get_db

    dead = f"mongodb://127.0.0.1:{free_port()}/?directConnection=true"
    application = make_app(init_db=False, reuse=False, MONGO_URI=dead,  # adds routes
                           MONGO_TIMEOUT_MS=PRODUCTION_MONGO_TIMEOUT_MS)
    blp = Blueprint("probe_db", __name__, url_prefix="/api/probe")

    @blp.route("/count")
    def count():
        return {"n": get_db().things.count_documents({})}

    application.register_blueprint(blp)
    started = time.monotonic()
    response = application.test_client().get("/api/probe/count")
    assert time.monotonic() - started < WITHIN_ONE_DEADLINE
    assert response.status_code == 503
    body = response.get_json()["error"]
    assert body["code"] == "service_unavailable"
    assert body["details"] == {"dependency": "mongo"}


def test_ready_creates_the_indexes(make_app):
    from utils.db import get_db

    application = make_app(init_db=False)
    database = get_db(application)
    assert "username_lower_unique" not in database.users.index_information()
    assert application.test_client().get("/health/ready").status_code == 200
    assert "username_lower_unique" in database.users.index_information()


def test_rows_that_break_a_unique_index_keep_the_app_unready(make_app):
    from utils.db import get_db

    application = make_app(init_db=False)
    get_db(application).users.insert_many([{"username_lower": "twin"},
                                           {"username_lower": "twin"}])
    client = application.test_client()
    ready = client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.get_json()["error"]["details"]["checks"]["mongo"] == "indexes missing"
    served = client.get("/api/topics")
    assert served.status_code == 503
    assert served.get_json()["error"]["code"] == "service_unavailable"
