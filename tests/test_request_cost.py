"""Less framework per request (issue 29 point 5): a bearer request opens no session, our
request hooks are one pair in a fixed order, responses are encoded by orjson exactly as
clients read them before, and a cached topic page is sent as the bytes it was encoded to."""
from __future__ import annotations

import dataclasses
import decimal
import json
import logging
import uuid
from datetime import date, datetime, timezone

import pytest
from bson import ObjectId
from flask.json.provider import DefaultJSONProvider
from markupsafe import Markup

import app as app_module
import models.indexes
import routes.metrics
import utils.auth
import utils.http
import utils.logs
import utils.metrics
from services.forum import topics_service
from tests.helpers import Person, RedisCommands, bearer, csrf, register_and_login
from utils import request_hooks

# --- a bearer request never opens the browser session -------------------------------


def test_bearer_request_sends_no_session_command_even_with_a_cookie(app, client, redis_url):
    """The same client holds a cookie session and a bearer token (a browser page calling
    the API with a token): the bearer GET neither reads nor refreshes the session."""
    register_and_login(client, "alice")
    headers = bearer(client, "alice", register_first=False)
    with RedisCommands(redis_url) as seen:
        answer = client.get("/api/users/me", headers=headers)
    assert answer.status_code == 200 and answer.get_json()["username"] == "alice"
    assert seen.touching("rt:session:") == []
    assert "Set-Cookie" not in answer.headers

    # The cookie alone still authenticates, through its session in Redis.
    with RedisCommands(redis_url) as seen:
        answer = client.get("/api/users/me")
    assert answer.status_code == 200 and answer.get_json()["username"] == "alice"
    assert seen.touching("rt:session:") != []


def test_cookie_session_still_logs_in_posts_and_logs_out(app, client):
    _, token = register_and_login(client, "carol")
    assert client.get("/api/auth/me").get_json()["user"]["username"] == "carol"
    assert client.post("/api/topics", json={"title": "Cookies"}).status_code == 403  # no CSRF
    assert client.post("/api/topics", json={"title": "Cookies"},
                       headers=csrf(token)).status_code == 201
    assert client.post("/api/auth/logout", headers=csrf(token)).status_code in (200, 204)
    assert client.get("/api/users/me").status_code == 401


def test_bearer_request_cannot_touch_the_browser_session(app, client, redis_url):
    """What a bearer request writes to `session` goes nowhere: a cookie session it came
    with is still logged in afterwards."""
    _, token = register_and_login(client, "dave")
    headers = {**bearer(client, "dave", register_first=False), **csrf(token)}
    with RedisCommands(redis_url) as seen:
        assert client.post("/api/auth/logout", headers=headers).status_code in (200, 204)
    assert seen.touching("rt:session:") == []
    assert client.get("/api/users/me").get_json()["username"] == "dave"


# --- the request hooks: one pair, in a fixed order ----------------------------------


def test_request_hooks_are_one_pair_in_the_documented_order(app):
    ours = [f for f in app.before_request_funcs[None] if f.__module__ == "utils.request_hooks"]
    assert len(ours) == 1 and app.before_request_funcs[None][0] is ours[0]
    assert [f.__module__ for f in app.before_request_funcs[None]] == [
        "utils.request_hooks", "flask_limiter._extension"]
    assert [f for f in app.after_request_funcs[None]
            if getattr(f, "__module__", "") == "utils.request_hooks"] == \
        [app.after_request_funcs[None][0]]  # registered first: runs after every library's
    before, after = app.extensions[request_hooks.KEY]
    assert before == (utils.http.assign_request_id, routes.metrics.hide_metrics,
                      utils.http.require_json_body,
                      models.indexes.ensure_indexes_before_request, utils.auth.check_csrf)
    assert after == (utils.http.add_response_headers, utils.http.drop_stray_retry_after,
                     utils.metrics.observe, utils.logs.log_request)
    assert app_module._init_request_hooks.__doc__


def test_each_step_still_works_on_a_refused_request(app, client, caplog):
    """A cookie POST without its CSRF token, refused by the last before step: the earlier
    steps ran (its request id), and every after step saw the error response."""
    register_and_login(client, "erin")
    route = "/api/topics"
    counted = utils.metrics.HTTP_REQUESTS.labels("POST", route, "403")
    before = counted._value.get()
    with caplog.at_level(logging.INFO, logger="roundtable.access"):
        answer = client.post(route, json={"title": "No token"},
                             headers={"X-Request-ID": "trace-0123456789"})
    assert answer.status_code == 403 and answer.get_json()["error"]["code"] == "csrf_failed"
    assert answer.headers["X-Request-ID"] == "trace-0123456789"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert counted._value.get() == before + 1
    [line] = [r for r in caplog.records
              if r.name == "roundtable.access" and getattr(r, "path", None) == route]
    assert line.status == 403 and line.route == route and line.duration_ms >= 0
    # The JSON-only step, and the hidden /metrics, before CSRF is even looked at.
    assert client.post(route, data="title=x", content_type="text/plain").status_code == 415
    assert client.get("/metrics").status_code == 404


# --- the orjson provider --------------------------------------------------------------


@dataclasses.dataclass
class _Point:
    x: int
    at: datetime


def _values():
    at = datetime(2026, 11, 25, 23, 18, 48, 208000, tzinfo=timezone.utc)
    return {"at": at, "day": date(2026, 1, 2), "naive": datetime(2026, 1, 2, 3, 4, 5),
            "uuid": uuid.UUID(int=7), "money": decimal.Decimal("1.10"),
            "html": Markup("<b>x</b>"), "point": _Point(1, at), "keys": {1: "one"},
            "huge": 2 ** 70, "text": "café ☕ 🍵", "nested": [{"a": None, "b": 1.5}]}


def test_responses_read_as_they_did_with_the_json_module(app):
    """Clients read JSON: every value parses to what Flask's json-module provider gave."""
    with app.app_context():
        ours = app.json.response(_values()).get_data()
        theirs = DefaultJSONProvider(app).response(_values()).get_data()
    assert json.loads(ours) == json.loads(theirs)
    assert json.loads(ours)["at"] == "Wed, 25 Nov 2026 23:18:48 GMT"  # RFC 822, as before
    assert ours.endswith(b"}\n")


def test_non_ascii_text_goes_out_as_utf8(app):
    with app.app_context():
        body = app.json.response({"text": "café ☕ 🍵"}).get_data()
    assert "café ☕ 🍵".encode() in body and b"\\u" not in body


def test_unknown_types_are_refused_as_before(app):
    with app.app_context(), pytest.raises(TypeError):
        app.json.dumps({"id": ObjectId()})
    with app.app_context(), pytest.raises(TypeError):
        DefaultJSONProvider(app).dumps({"id": ObjectId()})


# --- the topic list: a cached page sent as its bytes ----------------------------------


class _Spy:
    def __init__(self, monkeypatch, provider) -> None:
        self.calls: list[tuple[str, object]] = []
        for name in ("encode", "dumps", "loads"):
            original = getattr(provider, name)
            monkeypatch.setattr(provider, name, self._wrap(name, original))
        original_page = topics_service._topic_page
        monkeypatch.setattr(topics_service, "_topic_page", self._wrap("page", original_page))

    def _wrap(self, name, original):
        def spied(value, *args, **kwargs):
            self.calls.append((name, value))
            return original(value, *args, **kwargs)
        return spied

    def take(self) -> list[tuple[str, object]]:
        calls, self.calls = self.calls, []
        return calls


def test_cached_topic_page_is_sent_as_its_bytes(app, client, monkeypatch):
    owner, reader = Person(client, "frank"), Person(client, "grace")
    created = [owner.post("/api/topics", {"title": f"Topic {n}"}).get_json()["id"]
               for n in range(3)]
    spy = _Spy(monkeypatch, app.json)

    miss = owner.get("/api/topics?sort=new")
    assert miss.status_code == 200
    assert [c[0] for c in spy.take() if c[0] == "page"] == ["page"]
    hit = owner.get("/api/topics?sort=new")
    calls = spy.take()
    # No page computed, decoded or encoded: only the owner's role, a string, was encoded.
    assert all(name == "encode" and isinstance(value, str) for name, value in calls), calls
    assert hit.get_data() == miss.get_data()
    assert hit.headers["Content-Type"] == "application/json"
    items = hit.get_json()["items"]
    assert [i["id"] for i in items] == created[::-1]
    assert [i["my_role"] for i in items] == ["owner"] * 3

    # Another reader of the same audience: the same shared bytes, no call at all.
    spy.take()  # (the test's own get_json above)
    shared = reader.get("/api/topics?sort=new")
    assert spy.take() == []
    assert [i["my_role"] for i in shared.get_json()["items"]] == [None] * 3
    assert [{**i, "my_role": None} for i in items] == shared.get_json()["items"]

    # A write still invalidates the page (the namespace's generation moves).
    newest = owner.post("/api/topics", {"title": "Topic 3"}).get_json()["id"]
    assert reader.get("/api/topics?sort=new").get_json()["items"][0]["id"] == newest
