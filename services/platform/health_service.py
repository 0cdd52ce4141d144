"""Dependency checks for the readiness probe, and the job consumer's state beside them."""
from __future__ import annotations

import pymongo.errors
import redis.exceptions
from flask import Flask

from models import indexes
from utils import db, jobs, redis_client
from utils.errors import ServiceUnavailable

# What a web process cannot serve without; `jobs` is reported beside them but never makes
# it unready (taking it out of the balancer would not start a consumer).
DEPENDENCIES = ("mongo", "redis")


def check_dependencies(app: Flask) -> dict[str, str]:
    """'ok', 'disabled' (single-process mode) or a short failure reason per dependency,
    and `jobs`: 'ok' or 'no consumer seen (last: ...)[, N jobs waiting]'."""
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
    if not redis_client.enabled(app.config):
        checks["redis"] = "disabled"
    else:
        try:
            redis_client.ping(app)
            checks["redis"] = "ok"
        except redis.exceptions.RedisError as exc:
            checks["redis"] = f"unreachable: {type(exc).__name__}"
    try:
        checks["jobs"] = jobs.consumer_state(app)
    except Exception as exc:  # Redis or the SQLite file: whatever the store raises
        checks["jobs"] = f"unreadable: {type(exc).__name__}"
    return checks


def failed(checks: dict[str, str]) -> list[str]:
    """The dependencies that make the process unready."""
    return [name for name in DEPENDENCIES if checks[name] not in ("ok", "disabled")]
