"""`GET /metrics`: the Prometheus samples of utils.metrics, for a bearer of
`METRICS_TOKEN` only; to anyone else, and with no token configured, every method answers
the 404 of a path that does not exist."""
from __future__ import annotations

import hmac

from flask import Blueprint, Flask, Response, abort, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from utils.extensions import limiter
from utils.metrics import job_queue_registry, registry

bp = Blueprint("metrics", __name__)


def _scrape_allowed() -> bool:
    token = current_app.config["METRICS_TOKEN"]
    offered = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return bool(token) and hmac.compare_digest(offered.encode(), token.encode())


def _names_metrics() -> bool:
    """Whether routing took the request to `metrics`, however the path was spelled
    (`/metrics/`, `//metrics`), or refused only its method (a 405)."""
    if isinstance(request.routing_exception, MethodNotAllowed):
        try:
            endpoint, _ = current_app.create_url_adapter(request).match(method="GET")
        except HTTPException:
            return False
        return endpoint == "metrics.metrics"
    return request.endpoint == "metrics.metrics"


def hide_metrics() -> None:
    """A before step of the request hooks (app.py `_init_request_hooks`)."""
    # Before routing's own answers (OPTIONS 200, POST 405), which would tell the path
    # exists: every method answers Werkzeug's own 404, rendered like a routing miss, word
    # for word what a path that does not exist answers (utils.errors.NotFound would say
    # "Not found." instead).
    if _names_metrics() and not _scrape_allowed():
        abort(404)


@bp.route("/metrics")
def metrics() -> Response:
    if not _scrape_allowed():  # hide_metrics already answered; kept for any other way in
        abort(404)
    samples = generate_latest(registry()) + generate_latest(
        job_queue_registry(current_app._get_current_object()))
    return Response(samples, mimetype=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    limiter.exempt(bp)
    app.register_blueprint(bp)
