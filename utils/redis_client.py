"""One Redis connection pool per process, with short timeouts so an outage is noticed
quickly instead of stalling requests.

Every Redis user gets its connection here: the shared client (`get_redis`: sessions, the
cache, stamps, presence, locks), the rate limits' storage (`limits_storage`, on the same
pool) and the job queue's pool (`job_pool`, without a read timeout: its consumers block on
the queue). The Socket.IO queue opens its own connections from SOCKETIO_MESSAGE_QUEUE,
which config.py points at the same Redis (`redis+sentinel://...` with sentinels).

With REDIS_SENTINELS the master is asked of the sentinels (redis-py's `Sentinel`,
`master_for`): a connection that fails, or finds its server demoted to a replica, is
dropped, and the next one (redis-py's retry policy retries the command) asks the sentinels
again, so after a failover every user reaches the new master without a restart.

A connection to the old master fails at its next use; redis-py retries the command as
`retry` says (its connections default to no retry). Requests retry twice, quickly: enough
to replace a pooled connection once the failover is over, without holding a request for
the whole failover (meanwhile Redis users answer 503 or degrade, as in any Redis outage).
The job queue retries for about ten seconds: a consumer taking or finishing a job
rides out a failover instead of dropping the job it holds. So does the Socket.IO queue
behind Sentinel (`queue_options`): python-socketio gives up an event after two failed
publishes, and an event published by nobody reaches no process, whatever its sockets do.
"""
from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import redis
from flask import Flask, current_app
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelManagedConnection

from utils.process_clients import shared_client

# (retries, first backoff, longest backoff) in seconds. Requests: two more attempts about
# 0.1 s apart. Jobs: waits doubling up to 1 s, about eleven seconds in all (a failover
# with down-after-milliseconds 5000 takes six to eight).
REQUEST_RETRY = (2, 0.05, 0.1)
JOB_RETRY = (14, 0.1, 1.0)


def enabled(config: Mapping[str, Any]) -> bool:
    """Redis is configured (multi-process mode), directly or behind sentinels."""
    return bool(config.get("REDIS_URL") or config.get("REDIS_SENTINELS"))


def _where(config: Mapping[str, Any]) -> Hashable:
    if config.get("REDIS_SENTINELS"):
        return (tuple(map(tuple, config["REDIS_SENTINELS"])), config["REDIS_SENTINEL_MASTER"])
    return config.get("REDIS_URL")


def make_redis(url: str, timeout: float) -> redis.Redis:
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        health_check_interval=30,
    )


def _sentinel_master(config: Mapping[str, Any], timeout: float | None) -> redis.Redis:
    connect = config["REDIS_TIMEOUT_SECONDS"]
    sentinel = Sentinel([tuple(address) for address in config["REDIS_SENTINELS"]],
                        sentinel_kwargs={"socket_timeout": connect,
                                         "socket_connect_timeout": connect})
    return sentinel.master_for(config["REDIS_SENTINEL_MASTER"], socket_timeout=timeout,
                               socket_connect_timeout=connect, health_check_interval=30,
                               connection_class=RediscoveringConnection,
                               retry=_retry(REQUEST_RETRY if timeout is not None
                                            else JOB_RETRY))


def _build(config: Mapping[str, Any], timeout: float | None) -> redis.Redis:
    if config.get("REDIS_SENTINELS"):
        return _sentinel_master(config, timeout)
    if timeout is None:  # the job queue: what Huey itself would build from the URL
        return redis.Redis.from_url(config["REDIS_URL"])
    return make_redis(config["REDIS_URL"], timeout)


class RediscoveringConnection(SentinelManagedConnection):
    """A master connection that asks the sentinels where the master is each time it
    connects. redis-py 8.1 asks only when the pool hands a connection out: a connection
    dropped inside a command's retries reconnects to the address it had, the dead master,
    until the retries run out (redis/redis-py#3874, fix not released)."""

    def _connect(self):
        if self.connection_pool.is_master:
            self.host, self.port = self.connection_pool.get_master_address()
        return super()._connect()


def _retry(policy: tuple[int, float, float]) -> Retry:
    retries, base, cap = policy
    return Retry(ExponentialBackoff(cap=cap, base=base), retries)


def queue_options(url: str | None) -> dict[str, Any]:
    """python-socketio RedisManager's `redis_options` for the Socket.IO queue at `url`:
    behind Sentinel, publishes (and the subscription) retry through a failover."""
    if url and url.startswith("redis+sentinel://"):
        return {"retry": _retry(JOB_RETRY), "connection_class": RediscoveringConnection}
    return {}


def get_redis(app: Flask | None = None) -> redis.Redis | None:
    """The shared client, or None in single-process mode (no REDIS_URL nor sentinels)."""
    return _shared((app or current_app).config)


def _shared(config: Mapping[str, Any]) -> redis.Redis | None:
    if not enabled(config):
        return None
    timeout = config["REDIS_TIMEOUT_SECONDS"]
    return shared_client("redis", (_where(config), timeout), lambda: _build(config, timeout))


def job_pool(config: Mapping[str, Any]) -> redis.ConnectionPool:
    """The job queue's connections: no read timeout (a consumer waits on the queue with a
    blocking pop), the master found like every other user's."""
    return shared_client("redis-jobs", (_where(config),),
                         lambda: _build(config, None)).connection_pool


def limits_storage(config: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The `limits` storage URI and options (Flask-Limiter, the socket and login limits):
    Redis through the shared client's pool, or memory without Redis."""
    client = _shared(config)
    if client is None:
        return "memory://", {}
    return "redis://", {"connection_pool": client.connection_pool}


def storage_key(config: Mapping[str, Any]) -> Hashable:
    """What tells one app's Redis from another's (for storages kept per process)."""
    return _where(config) or "memory"


def ping(app: Flask | None = None) -> None:
    client = get_redis(app)
    if client is not None:
        client.ping()
