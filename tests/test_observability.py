"""/metrics and the per-request / per-socket-event log lines, in process (the nginx suite
scrapes real gunicorn processes in multi-process mode and reads their JSON logs)."""
from __future__ import annotations

import io
import itertools
import json
import logging

from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import csrf, register_and_login
from utils.embedded_db import free_port
from utils.extensions import socketio
from utils.logs import RequestIdFilter

TOKEN = "metrics-token-" + "x" * 20


def scrape(app) -> dict:
    answer = app.test_client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(answer.get_data(as_text=True))
            for s in family.samples}


def grew(before: dict, after: dict, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def test_metrics_answer_only_the_token(make_app):
    closed = make_app().test_client()
    assert closed.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 404
    client = make_app(METRICS_TOKEN=TOKEN).test_client()
    missing = client.get("/metrics")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    # Word for word a path that does not exist.
    assert missing.get_json() == client.get("/metrics-missing").get_json()
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 404
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200 and answer.mimetype == "text/plain"
    assert "roundtable_http_requests_total" in answer.get_data(as_text=True)


def test_metrics_answer_every_other_method_like_a_missing_path(make_app):
    client = make_app(METRICS_TOKEN=TOKEN).test_client()
    for method, path in itertools.product(("GET", "OPTIONS", "POST", "PUT", "DELETE", "HEAD"),
                                          ("/metrics", "/metrics/", "//metrics")):
        for headers in ({}, {"Authorization": "Bearer nope"}):
            hidden = client.open(path, method=method, headers=headers)
            missing = client.open("/metrics-missing", method=method, headers=headers)
            assert hidden.status_code == missing.status_code == 404, (method, path)
            assert hidden.get_data() == missing.get_data(), (method, path)
            assert "Allow" not in hidden.headers
    scrape_options = client.options("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert scrape_options.status_code == 200


def test_requests_refusals_and_dependency_errors_are_counted(make_app):
    app = make_app(METRICS_TOKEN=TOKEN, RATELIMIT_DEFAULT="2 per minute")
    before = scrape(app)
    client = app.test_client()
    assert [client.get("/version").status_code for _ in range(3)] == [200, 200, 429]
    dead = f"mongodb://127.0.0.1:{free_port()}/?directConnection=true"
    down = make_app(init_db=False, MONGO_URI=dead, MONGO_TIMEOUT_MS=300)
    assert down.test_client().get("/api/users/somebody").status_code == 503
    after = scrape(app)
    assert grew(before, after, "roundtable_http_requests_total", method="GET",
                route="/version", status="200") == 2
    assert grew(before, after, "roundtable_http_requests_total", method="GET",
                route="/version", status="429") == 1
    assert grew(before, after, "roundtable_http_request_duration_seconds_count", method="GET",
                route="/version") == 3
    assert grew(before, after, "roundtable_rate_limit_refusals_total", transport="http",
                route="/version") == 1
    assert grew(before, after, "roundtable_dependency_errors_total", dependency="mongo") == 1
    # Unrouted paths share one series instead of one per path a client makes up.
    client.get("/no/such/path/123")
    assert grew(before, scrape(app), "roundtable_http_requests_total", method="GET",
                route="unmatched", status="404") == 1


def test_socket_connections_events_and_fan_out_are_counted(make_app):
    app = make_app(METRICS_TOKEN=TOKEN)
    web = app.test_client()
    _user, token = register_and_login(web, "metered")
    room = web.post("/api/messages/groups", json={"title": "solo", "member_ids": []},
                    headers=csrf(token))
    assert room.status_code == 201, room.get_data(as_text=True)
    room_id = room.get_json()["id"]
    before = scrape(app)
    sc = socketio.test_client(app, flask_test_client=web)
    assert sc.emit("join_room", {"room_id": room_id}, callback=True)["ok"]
    assert sc.emit("send_message", {"room_id": room_id, "body": "hi", "client_id": "c1"},
                   callback=True)["ok"]
    assert sc.emit("send_message", {"room_id": "nope"}, callback=True)["ok"] is False
    during = scrape(app)
    sc.disconnect()
    after = scrape(app)
    assert grew(before, during, "roundtable_socket_connections") == 1
    assert grew(before, after, "roundtable_socket_connections") == 0
    assert grew(before, during, "roundtable_socket_events_in_total", event="send_message",
                outcome="ok") == 1
    assert grew(before, during, "roundtable_socket_events_in_total", event="send_message",
                outcome="validation_error") == 1
    assert grew(before, during, "roundtable_message_send_seconds_count", transport="socket") == 1
    assert grew(before, during, "roundtable_socket_events_out_total", event="message") == 1
    assert grew(before, during, "roundtable_socket_deliveries_total", event="message") == 1


def our_output(app):
    """Point our log handler at a buffer (it writes to stderr otherwise)."""
    handler = next(h for h in logging.getLogger().handlers
                   if any(isinstance(f, RequestIdFilter) for f in h.filters))
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    return handler, buffer, previous


def test_json_lines_per_request_and_per_socket_event(make_app):
    app = make_app(LOG_FORMAT="json", LOG_LEVEL="INFO")
    web = app.test_client()
    user, token = register_and_login(web, "logged")
    room_id = web.post("/api/messages/groups", json={"title": "solo", "member_ids": []},
                       headers=csrf(token)).get_json()["id"]
    handler, buffer, previous = our_output(app)
    try:
        answer = web.get("/api/auth/me", headers={"X-Request-ID": "req-abcdef12"})
        sc = socketio.test_client(app, flask_test_client=web)
        sc.emit("join_room", {"room_id": room_id}, callback=True)
        sc.disconnect()
    finally:
        handler.setStream(previous)
    assert answer.status_code == 200
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    [request_line] = [r for r in lines if r.get("kind") == "request"
                      and r["request_id"] == "req-abcdef12"]
    assert request_line["route"] == "/api/auth/me" and request_line["status"] == 200
    assert request_line["user_id"] == user["id"] and request_line["method"] == "GET"
    assert request_line["level"] == "INFO" and request_line["duration_ms"] >= 0
    [event_line] = [r for r in lines if r.get("kind") == "socket_event"]
    assert event_line["event"] == "join_room" and event_line["status"] == "ok"
    assert event_line["user_id"] == user["id"] and event_line["sid"]
    assert event_line["request_id"] != "-" and event_line["duration_ms"] >= 0


def test_text_lines_in_development(make_app):
    app = make_app(LOG_FORMAT="text", LOG_LEVEL="INFO")
    handler, buffer, previous = our_output(app)
    try:
        app.test_client().get("/version", headers={"X-Request-ID": "req-text0001"})
    finally:
        handler.setStream(previous)
    [line] = [line for line in buffer.getvalue().splitlines() if "req-text0001" in line]
    assert not line.startswith("{")
    assert "INFO [req-text0001] roundtable.access: GET /version 200 " in line
    assert line.rstrip().endswith("user=- ip=127.0.0.1")
