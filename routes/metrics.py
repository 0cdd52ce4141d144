"""`GET /metrics`: the Prometheus samples of utils.metrics, for a bearer of
`METRICS_TOKEN` only; with no token configured it is a 404 like any unknown path."""
from __future__ import annotations

import hmac

from flask import Blueprint, Flask, Response, abort, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from utils.extensions import limiter
from utils.metrics import job_queue_registry, registry

bp = Blueprint("metrics", __name__)


@bp.route("/metrics")
def metrics() -> Response:
    token = current_app.config["METRICS_TOKEN"]
    offered = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not token or not hmac.compare_digest(offered.encode(), token.encode()):
        # Werkzeug's own 404, rendered like a routing miss: word for word what a path that
        # does not exist answers (utils.errors.NotFound would say "Not found." instead).
        abort(404)
    samples = generate_latest(registry()) + generate_latest(
        job_queue_registry(current_app._get_current_object()))
    return Response(samples, mimetype=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    limiter.exempt(bp)
    app.register_blueprint(bp)
