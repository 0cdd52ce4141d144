"""Prometheus metrics: what the process does (HTTP, sockets, fan-out, sends) and what went
wrong (MongoDB and Redis errors, rate-limit refusals), served at `GET /metrics` (routes/metrics.py).

Under gunicorn every process writes its samples to files in `PROMETHEUS_MULTIPROC_DIR`
(gunicorn.conf.py sets one per server and cleans it), and `/metrics` adds up the files of
every process of that server (prometheus-client's multi-process mode). Without the
variable, as in development and the in-process tests, the process registry is served.

`/metrics` answers only a request bearing `Authorization: Bearer <METRICS_TOKEN>`; with no
token configured it is a 404 like any unknown path. nginx does not forward it at all:
Prometheus scrapes each app process on the internal network.
"""
from __future__ import annotations

from flask import Flask, current_app, request
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    multiprocess,
)

from utils.request_hooks import elapsed

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


def observe(response):
    """Count and time the request (an after step of utils.request_hooks)."""
    seconds = elapsed()
    if seconds is None:
        return response
    route, status = route_label(), response.status_code
    HTTP_REQUESTS.labels(request.method, route, str(status)).inc()
    HTTP_SECONDS.labels(request.method, route).observe(seconds)
    if status == 429:
        RATE_LIMIT_REFUSALS.labels("http", route).inc()
    if (status == 201 and request.method == "POST"
            and route == "/api/messages/rooms/<room_id>/messages"):
        MESSAGE_SEND_SECONDS.labels("http").observe(seconds)
    return response


class JobQueueCollector:
    """The job queue's state, read from its storage at scrape time (one value for the
    whole site, whichever process is scraped): queued, scheduled (retries, delayed jobs)
    and failed (the dead-letter list)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        from utils import jobs

        try:
            depth = jobs.queue_depth(self.app)
            failed = jobs.failed_count(self.app)
        except Exception:  # the queue's Redis is down: no samples rather than no /metrics
            dependency_failed("redis")
            return
        for name, value, text in (
                ("roundtable_jobs_queued", depth["pending"], "Jobs waiting for a consumer."),
                ("roundtable_jobs_scheduled", depth["scheduled"],
                 "Jobs waiting for their time (retries with backoff, delayed jobs)."),
                ("roundtable_jobs_failed", failed,
                 "Jobs in the dead-letter list (their last attempt failed).")):
            yield GaugeMetricFamily(name, text, value=value)


def job_queue_registry(app: Flask) -> CollectorRegistry:
    collected = CollectorRegistry(auto_describe=False)
    collected.register(JobQueueCollector(app))
    return collected


def registry() -> CollectorRegistry:
    path = current_app.config["PROMETHEUS_MULTIPROC_DIR"]
    if not path:
        return REGISTRY
    collected = CollectorRegistry()
    multiprocess.MultiProcessCollector(collected, path)
    return collected


