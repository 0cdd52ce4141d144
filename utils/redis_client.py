"""One Redis connection pool per process, with short timeouts so an outage is noticed
quickly instead of stalling requests."""
from __future__ import annotations

import redis
from flask import Flask, current_app

from utils.process_clients import shared_client


def make_redis(url: str, timeout: float) -> redis.Redis:
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        health_check_interval=30,
    )


def get_redis(app: Flask | None = None) -> redis.Redis | None:
    """The shared client, or None in single-process mode (no REDIS_URL)."""
    app = app or current_app
    url = app.config.get("REDIS_URL")
    if not url:
        return None
    timeout = app.config["REDIS_TIMEOUT_SECONDS"]
    return shared_client("redis", (url, timeout), lambda: make_redis(url, timeout))


def ping(app: Flask | None = None) -> None:
    client = get_redis(app)
    if client is not None:
        client.ping()
