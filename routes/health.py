"""Liveness, readiness and version: what load balancers and deploy scripts ask."""
from __future__ import annotations

from flask import current_app
from marshmallow import Schema, fields

from services.platform import health_service
from utils.api import Blueprint
from utils.errors import ServiceUnavailable
from utils.extensions import limiter

blp = Blueprint("health", __name__, description="Service health and version")


class StatusSchema(Schema):
    status = fields.String(required=True)


class ReadySchema(StatusSchema):
    checks = fields.Dict(keys=fields.String(), values=fields.String(), required=True)


class VersionSchema(Schema):
    version = fields.String(required=True)


@blp.route("/health")
@limiter.exempt
@blp.response(200, StatusSchema)
def health():
    """Liveness: the process answers; no dependency is touched."""
    return {"status": "ok"}


@blp.route("/health/ready")
@blp.response(200, ReadySchema)
def ready():
    """Readiness: MongoDB and Redis answer; a 503 names the one that failed."""
    # `checks.jobs` is reported only: a missing job consumer never makes a server unready.
    checks = health_service.check_dependencies(current_app)
    failed = health_service.failed(checks)
    if failed:
        raise ServiceUnavailable(f"Unavailable: {', '.join(failed)}.",
                                 {"failed": failed, "checks": checks})
    return {"status": "ready", "checks": checks}


@blp.route("/version")
@blp.response(200, VersionSchema)
def version():
    """The running version."""
    return {"version": current_app.config["APP_VERSION"]}
