"""The cache helper: shared through Redis, explicit invalidation, never fails a request."""
from __future__ import annotations

import redis

from tests.servers import RedisServer
from utils.cache import get_cache


def test_values_are_shared_between_processes_through_redis(make_app, redis_url):
    first, second = make_app(), make_app()
    with first.app_context():
        get_cache().set("topics", "front", {"items": [1, 2]}, ttl=30)
    with second.app_context():
        assert get_cache().get("topics", "front") == {"items": [1, 2]}
    keys = redis.Redis.from_url(redis_url).keys("rt:cache:topics:*")
    assert len(keys) == 1


def test_invalidate_drops_the_namespace_everywhere(make_app):
    first, second = make_app(), make_app()
    with first.app_context():
        get_cache().set("topics", "a", 1)
        get_cache().set("posts", "b", 2)
    with second.app_context():
        get_cache().invalidate("topics")
    with first.app_context():
        assert get_cache().get("topics", "a") is None
        assert get_cache().get("posts", "b") == 2


def test_get_or_set_computes_once(app):
    calls = []

    def compute():
        calls.append(1)
        return {"n": len(calls)}

    with app.app_context():
        assert get_cache().get_or_set("stats", "k", compute) == {"n": 1}
        assert get_cache().get_or_set("stats", "k", compute) == {"n": 1}
    assert len(calls) == 1


def test_ttl_is_applied(app, redis_url):
    with app.app_context():
        get_cache().set("stats", "k", 1, ttl=7)
    client = redis.Redis.from_url(redis_url)
    (key,) = client.keys("rt:cache:stats:*")
    assert 0 < client.ttl(key) <= 7


def test_in_process_cache_without_redis(make_app):
    application = make_app(REDIS_URL=None)
    with application.app_context():
        cache = get_cache()
        cache.set("topics", "a", [1])
        assert cache.get("topics", "a") == [1]
        cache.invalidate("topics")
        assert cache.get("topics", "a") is None


def test_redis_outage_degrades_to_misses(make_app):
    server = RedisServer().start()
    application = make_app(REDIS_URL=server.url)
    with application.app_context():
        cache = get_cache()
        cache.set("topics", "a", 1)
        server.stop()
        assert cache.get("topics", "a") is None
        cache.set("topics", "a", 2)  # skipped, not raised
        cache.invalidate("topics")  # logged, not raised
        assert cache.get_or_set("topics", "a", lambda: 3) == 3


def test_value_computed_across_an_invalidation_is_not_served(app):
    """A write that invalidates while a reader computes: the reader's (stale) value must
    not land under the new generation."""
    def compute():
        get_cache().invalidate("topics")  # a write happens meanwhile
        return {"stale": True}

    with app.app_context():
        assert get_cache().get_or_set("topics", "k", compute) == {"stale": True}
        assert get_cache().get("topics", "k") is None


def test_entries_read_back_as_they_were_stored(app):
    """Entries are read with orjson (utils.cache._decode); what the json module wrote
    that orjson refuses (NaN, Infinity) still reads back."""
    import math

    value = {"title": "Caf\u00e9 \u2615 \U0001F600", "n": 3, "x": 0.1, "big": 2 ** 62,
             "nested": [None, True, {"a": []}], "nan": float("nan"), "inf": float("inf")}
    with app.app_context():
        get_cache().set("stats", "odd", value, ttl=30)
        back = get_cache().get("stats", "odd")
    assert math.isnan(back.pop("nan")) and back.pop("inf") == math.inf
    assert back == {k: v for k, v in value.items() if k not in ("nan", "inf")}


def test_a_redis_fault_inside_a_cache_call_is_a_miss_or_a_skip(make_app, caplog):
    """Redis refusing the entry itself, after the namespace's generation was read (a fault
    in the middle of a call, not before it): a read misses, a write and a delete are
    skipped with a warning, and both get_or_set forms answer what they computed."""
    server = RedisServer().start()
    try:
        application = make_app(REDIS_URL=server.url)
        admin = redis.Redis.from_url(server.url)
        with application.app_context():
            cache = get_cache()
            cache.set("topics", "a", 1)
            assert cache.get_or_set_raw("pages", "p", lambda: b"old") == b"old"
            # The app's user keeps the generation keys and loses every entry.
            admin.execute_command("ACL", "SETUSER", "default", "resetkeys", "~rt:cache:gen:*")
            try:
                assert cache.get("topics", "a") is None
                cache.set("topics", "a", 2)
                cache.delete("topics", "a")
                assert cache.get_or_set("topics", "b", lambda: 3) == 3
                assert cache.get_or_set_raw("pages", "p", lambda: b"new") == b"new"
            finally:
                admin.execute_command("ACL", "SETUSER", "default", "allkeys")
            # Nothing was written or deleted while Redis refused.
            assert cache.get("topics", "a") == 1 and cache.get("topics", "b") is None
            assert cache.get_or_set_raw("pages", "p", lambda: b"again") == b"old"
        warnings = [record.getMessage().split(":")[0] for record in caplog.records
                    if record.name == "utils.cache"]
        assert {"cache read skipped", "cache write skipped", "cache delete failed"} <= set(
            warnings)
    finally:
        server.stop()
