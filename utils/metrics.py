"""Prometheus metrics: what the process does (HTTP, sockets, fan-out, sends) and what went
wrong (MongoDB and Redis errors, rate-limit refusals), served at `GET /metrics`.

Under gunicorn every process writes its samples to files in `PROMETHEUS_MULTIPROC_DIR`
(gunicorn.conf.py sets one per server and cleans it), and `/metrics` adds up the files of
every process of that server (prometheus-client's multi-process mode). Without the
variable, as in development and the in-process tests, the process registry is served.

`/metrics` answers only a request bearing `Authorization: Bearer <METRICS_TOKEN>`; with no
token configured it is a 404 like any unknown path. nginx does not forward it at all:
Prometheus scrapes each app process on the internal network.
"""
from __future__ import annotations

import hmac
import os
import time

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

# Latency buckets in seconds: a chat send is a few milliseconds, a slow page a second.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

HTTP_REQUESTS = Counter(
    "roundtable_http_requests_total", "HTTP requests answered, by route template and status.",
    ["method", "route", "status"])
HTTP_SECONDS = Histogram(
    "roundtable_http_request_duration_seconds", "Time to answer an HTTP request.",
    ["method", "route"], buckets=LATENCY_BUCKETS)
SOCKET_CONNECTIONS = Gauge(
    "roundtable_socket_connections", "Socket.IO connections open now (accepted ones).",
    multiprocess_mode="livesum")
SOCKET_EVENTS_IN = Counter(
    "roundtable_socket_events_in_total",
    "Client events handled, by name and outcome (ok or the error code).", ["event", "outcome"])
SOCKET_EVENT_SECONDS = Histogram(
    "roundtable_socket_event_duration_seconds", "Time to handle and acknowledge a client event.",
    ["event"], buckets=LATENCY_BUCKETS)
SOCKET_EVENTS_OUT = Counter(
    "roundtable_socket_events_out_total",
    "Server events handed to this process's sockets (once per event, whatever the fan-out).",
    ["event"])
SOCKET_DELIVERIES = Counter(
    "roundtable_socket_deliveries_total",
    "Event packets written to this process's sockets: the fan-out, one per socket.", ["event"])
MESSAGE_SEND_SECONDS = Histogram(
    "roundtable_message_send_seconds",
    "Chat send latency: validate, store and publish one message.", ["transport"],
    buckets=LATENCY_BUCKETS)
DEPENDENCY_ERRORS = Counter(
    "roundtable_dependency_errors_total",
    "Requests and events that failed because MongoDB or Redis was unreachable.",
    ["dependency"])
RATE_LIMIT_REFUSALS = Counter(
    "roundtable_rate_limit_refusals_total", "Requests and events refused by a rate limit.",
    ["transport", "route"])

bp = Blueprint("metrics", __name__)


def dependency_failed(dependency: str | None) -> None:
    DEPENDENCY_ERRORS.labels(dependency or "unknown").inc()


def socket_event_handled(event: str, outcome: str, seconds: float) -> None:
    SOCKET_EVENTS_IN.labels(event, outcome).inc()
    SOCKET_EVENT_SECONDS.labels(event).observe(seconds)
    if outcome == "rate_limited":
        RATE_LIMIT_REFUSALS.labels("socket", event).inc()
    if event == "send_message" and outcome == "ok":
        MESSAGE_SEND_SECONDS.labels("socket").observe(seconds)


def route_label() -> str:
    """The route template (`/api/posts/<post_id>`), never the raw path: one series per
    route, whatever ids clients send. Unrouted paths share one label."""
    rule = request.url_rule
    return rule.rule if rule is not None else "unmatched"


def _start_timer() -> None:
    g.request_started = time.perf_counter()


def _observe(response):
    started = g.pop("request_started", None)
    if started is None:
        return response
    seconds = time.perf_counter() - started
    g.request_seconds = seconds
    route, status = route_label(), response.status_code
    HTTP_REQUESTS.labels(request.method, route, str(status)).inc()
    HTTP_SECONDS.labels(request.method, route).observe(seconds)
    if status == 429:
        RATE_LIMIT_REFUSALS.labels("http", route).inc()
    if (status == 201 and request.method == "POST"
            and route == "/api/messages/rooms/<room_id>/messages"):
        MESSAGE_SEND_SECONDS.labels("http").observe(seconds)
    return response


def registry() -> CollectorRegistry:
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        return REGISTRY
    collected = CollectorRegistry()
    multiprocess.MultiProcessCollector(collected, path)
    return collected


@bp.route("/metrics")
def metrics() -> Response:
    token = current_app.config["METRICS_TOKEN"]
    offered = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not token or not hmac.compare_digest(offered.encode(), token.encode()):
        # Werkzeug's own 404, rendered like a routing miss: word for word what a path that
        # does not exist answers (utils.errors.NotFound would say "Not found." instead).
        abort(404)
    return Response(generate_latest(registry()), mimetype=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    from utils.extensions import limiter

    app.before_request(_start_timer)
    app.after_request(_observe)
    limiter.exempt(bp)
    app.register_blueprint(bp)
