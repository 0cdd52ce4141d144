"""A small cache with explicit invalidation: Redis when REDIS_URL is set, else in-process.

Keys live in namespaces. `invalidate(namespace)` bumps the namespace's generation, so every
key written under the old generation is dead at once on every process, without scanning.
A cache outage never fails a request: reads miss and writes are skipped.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import orjson
import redis.exceptions
from cachelib import SimpleCache
from flask import Flask, current_app

from utils import user_versions
from utils.redis_client import get_redis

log = logging.getLogger(__name__)

PREFIX = "rt:cache:"


def _decode(raw: bytes | str) -> Any:
    """An entry as `_set` stored it. orjson reads it several times faster than the json
    module (a page of posts on every hit); the json module reads what orjson refuses
    (NaN and Infinity, which `json.dumps` writes)."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


class Cache:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.default_ttl = app.config["CACHE_DEFAULT_TTL"]
        self.local = SimpleCache(threshold=2000, default_timeout=self.default_ttl)

    @property
    def redis(self):
        return get_redis(self.app)

    def _generation(self, namespace: str) -> int:
        key = f"{PREFIX}gen:{namespace}"
        if self.redis is None:
            return int(self.local.get(key) or 0)
        # Read with the request's version stamps when registered (read_along_stamps).
        known, raw = user_versions.read_along(key)
        return int((raw if known else self.redis.get(key)) or 0)

    def _key(self, namespace: str, key: str) -> str:
        return f"{PREFIX}{namespace}:{self._generation(namespace)}:{key}"

    def get(self, namespace: str, key: str) -> Any | None:
        try:
            full_key = self._key(namespace, key)
        except redis.exceptions.RedisError as exc:
            log.warning("cache read skipped: %s", exc)
            return None
        return self._get(full_key)

    def _get(self, full_key: str) -> Any | None:
        try:
            raw = self.local.get(full_key) if self.redis is None else self.redis.get(full_key)
        except redis.exceptions.RedisError as exc:
            log.warning("cache read skipped: %s", exc)
            return None
        return None if raw is None else _decode(raw)

    def set(self, namespace: str, key: str, value: Any, ttl: int | None = None) -> None:
        try:
            full_key = self._key(namespace, key)
        except redis.exceptions.RedisError as exc:
            log.warning("cache write skipped: %s", exc)
            return
        self._set(full_key, value, ttl)

    def _set(self, full_key: str, value: Any, ttl: int | None = None) -> None:
        ttl = ttl or self.default_ttl
        raw = json.dumps(value, separators=(",", ":"), default=str)
        try:
            if self.redis is None:
                self.local.set(full_key, raw, timeout=ttl)
            else:
                self.redis.set(full_key, raw, ex=ttl)
        except redis.exceptions.RedisError as exc:
            log.warning("cache write skipped: %s", exc)

    def delete(self, namespace: str, key: str) -> None:
        try:
            full_key = self._key(namespace, key)
            if self.redis is None:
                self.local.delete(full_key)
            else:
                self.redis.delete(full_key)
        except redis.exceptions.RedisError as exc:
            log.warning("cache delete failed: %s", exc)

    def invalidate(self, namespace: str) -> None:
        """Drop every key of the namespace. Called after the write it follows succeeded,
        so an outage must not fail the request: reads miss while Redis is down, and an
        entry written before the outage can outlive it by at most its TTL."""
        key = f"{PREFIX}gen:{namespace}"
        if self.redis is None:
            self.local.set(key, int(self.local.get(key) or 0) + 1, timeout=0)
            return
        try:
            self.redis.incr(key)
        except redis.exceptions.RedisError as exc:
            log.warning("cache invalidation of %s failed: %s", namespace, exc)
        user_versions.forget(key)

    def get_or_set(self, namespace: str, key: str, compute: Callable[[], Any],
                   ttl: int | None = None) -> Any:
        """The generation is read once: a value computed while the namespace was
        invalidated is stored under the old generation, dead at once, not the new one."""
        try:
            full_key = self._key(namespace, key)
        except redis.exceptions.RedisError as exc:
            log.warning("cache skipped: %s", exc)
            return compute()
        cached = self._get(full_key)
        if cached is not None:
            return cached
        value = compute()
        self._set(full_key, value, ttl)
        return value

    def get_or_set_raw(self, namespace: str, key: str, compute: Callable[[], bytes],
                       ttl: int | None = None) -> bytes:
        """`get_or_set` for a value that is already bytes (an encoded response body):
        stored and answered as they are, never decoded or encoded."""
        try:
            full_key = self._key(namespace, key)
        except redis.exceptions.RedisError as exc:
            log.warning("cache skipped: %s", exc)
            return compute()
        try:
            cached = self.local.get(full_key) if self.redis is None else self.redis.get(full_key)
        except redis.exceptions.RedisError as exc:
            log.warning("cache read skipped: %s", exc)
            cached = None
        if cached is not None:
            return cached
        value = compute()
        try:
            if self.redis is None:
                self.local.set(full_key, value, timeout=ttl or self.default_ttl)
            else:
                self.redis.set(full_key, value, ex=ttl or self.default_ttl)
        except redis.exceptions.RedisError as exc:
            log.warning("cache write skipped: %s", exc)
        return value


def read_along_stamps(namespace: str) -> None:
    """Fetch this namespace's generation in the per-request MGET of the version stamps
    (utils.user_versions): for a namespace nearly every request reads, one Redis round
    trip fewer. A generation read earlier in the request serves a page as of then."""
    user_versions.also_read(f"{PREFIX}gen:{namespace}")


def get_cache() -> Cache:
    return current_app.extensions["roundtable_cache"]


def init_app(app: Flask) -> None:
    app.extensions["roundtable_cache"] = Cache(app)
