"""One Redis connection pool per process, with short timeouts so an outage is noticed
quickly instead of stalling requests."""
from __future__ import annotations

import os
import threading

import redis
from flask import Flask, current_app

_lock = threading.Lock()
_clients: dict[tuple[int, str, float], redis.Redis] = {}


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
    key = (os.getpid(), url, timeout)
    client = _clients.get(key)
    if client is None:
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = make_redis(url, timeout)
    return client


def ping(app: Flask | None = None) -> None:
    client = get_redis(app)
    if client is not None:
        client.ping()
