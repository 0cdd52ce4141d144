"""Dependency checks for the readiness probe."""
from __future__ import annotations

import pymongo.errors
import redis.exceptions
from flask import Flask

from models import indexes
from utils import db, redis_client
from utils.errors import ServiceUnavailable


def check_dependencies(app: Flask) -> dict[str, str]:
    """'ok', 'disabled' (single-process mode) or a short failure reason per dependency."""
    checks: dict[str, str] = {}
    try:
        db.ping(app)
        # Not ready until the unique indexes exist (created here when missing).
        indexes.ensure_indexes(app)
        checks["mongo"] = "ok"
    except ServiceUnavailable:
        checks["mongo"] = "indexes missing"
    except pymongo.errors.PyMongoError as exc:
        checks["mongo"] = f"unreachable: {type(exc).__name__}"
    if not app.config.get("REDIS_URL"):
        checks["redis"] = "disabled"
    else:
        try:
            redis_client.ping(app)
            checks["redis"] = "ok"
        except redis.exceptions.RedisError as exc:
            checks["redis"] = f"unreachable: {type(exc).__name__}"
    return checks
