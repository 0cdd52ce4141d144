"""Site statistics for admins, computed with aggregation pipelines and cached (shared
across processes through utils.cache) for ADMIN_STATS_CACHE_SECONDS.

Totals count what exists now (soft-deleted content excluded); the per-day series count
what was created each UTC day, deleted or not, because they measure activity.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app

from models.base import BaseModel
from models.comment import Comment
from models.message import Message
from models.post import Post
from models.report import Report
from models.topic import Topic
from models.user import User
from services.platform import connections, realtime
from services.platform.shapes.admin import STATS
from utils import clock, jobs
from utils.cache import get_cache
from utils.redis_client import get_redis
from utils.socket_events import SOCKET_IDENTITY

CACHE_NAMESPACE = "admin_stats"
DAYS = 14
# What is counted, each soft-deleted: a total of what exists now, a series of what was made.
# A fixed tuple, not a registry: importing this module registers nothing.
CONTENT: tuple[tuple[str, type[BaseModel]], ...] = (
    ("topics", Topic), ("posts", Post), ("comments", Comment), ("messages", Message))


def site_stats() -> dict[str, Any]:
    """The answer as sent; the cache keeps it dumped."""
    ttl = current_app.config["ADMIN_STATS_CACHE_SECONDS"]
    return get_cache().get_or_set(CACHE_NAMESPACE, "site", lambda: STATS.dump(compute()), ttl)


def compute() -> dict[str, Any]:
    now = clock.now()
    first_day = (now - timedelta(days=DAYS - 1)).replace(hour=0, minute=0, second=0,
                                                          microsecond=0)
    return {
        "generated_at": now,
        "users": {**_user_counts(now), "online_now": online_now()},
        **{name: model().count_not_deleted() for name, model in CONTENT},
        "per_day": {name: _per_day(model(), first_day) for name, model in CONTENT},
        "open_reports": Report().count_unresolved(),
        "failed_jobs": jobs.failed_count(),
    }


def _user_counts(now: datetime) -> dict[str, int]:
    return User().count_live({"new_24h": now - timedelta(hours=24),
                              "new_7d": now - timedelta(days=7)})


def _per_day(model: BaseModel, first_day: datetime) -> list[dict[str, Any]]:
    found = model.created_per_day(first_day)
    days = [(first_day + timedelta(days=n)).strftime("%Y-%m-%d") for n in range(DAYS)]
    return [{"date": day, "count": found.get(day, 0)} for day in days]


def online_now() -> int:
    """Users with a live socket on any process (the realtime registry's count)."""
    client = get_redis()
    if client is not None and realtime.multi_process():
        return int(client.zcount(connections.ONLINE_KEY, clock.now().timestamp(), "+inf"))
    server = realtime.socketio.server
    if server is None:
        return 0
    # One process: its own sockets, each carrying the identity recorded on connect
    # (utils.socket_events.remember_socket_user), read through Socket.IO's public calls.
    # The room None holds every connected socket of the namespace.
    users = set()
    for sid, _ in server.manager.get_participants(realtime.NAMESPACE, None):
        identity = (server.get_environ(sid, realtime.NAMESPACE) or {}).get(SOCKET_IDENTITY)
        if identity:
            users.add(identity["user_id"])
    return len(users)
