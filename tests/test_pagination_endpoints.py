"""Every paginated endpoint (found in the OpenAPI document, so a new one must be listed
here): paging two at a time serves exactly the items of one big page, and a tampered
cursor, or a validly signed one carrying an operator or a value of the wrong type in any
place, is a 400 `validation_error` naming `cursor`."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId, Regex

from tests.topic_helpers import Person, join, make_post, make_topic
from utils.extensions import socketio
from utils.pagination import cursor_serializer


def _ok(response, status=(200, 201, 204)):
    assert response.status_code in status, response.get_data(as_text=True)
    return response.get_json(silent=True)


@pytest.fixture
def world(client):
    """At least three items behind every paginated endpoint."""
    p = {name: Person(client, name) for name in (
        "walker", "boss", "pagea", "pageb", "pagec", "paged", "banx", "bany", "banz")}
    p["boss"].set_role("admin")
    walker = p["walker"]
    topic = make_topic(walker, "Paging gardens")
    make_topic(walker, "Paging orchards")
    make_topic(walker, "Paging meadows")
    for n in range(3):
        hidden = make_topic(p["boss"], f"Paging hideout {n}", visibility="private")
        _ok(p["boss"].post(f"/api/topics/{hidden['id']}/invitations", {"user_id": walker.id}))
    for name in ("pagea", "pageb", "pagec", "paged"):
        join(p[name], topic["id"])
    posts = [make_post(walker, topic["id"], f"Paging post {n}", "text") for n in range(3)]
    _ok(walker.post(f"/api/posts/{posts[1]['id']}/pin"))  # a `true` in the cursor
    _ok(p["pagea"].post(f"/api/posts/{posts[2]['id']}/vote", {"value": 1}))
    messages = []
    for n in range(3):
        _ok(walker.post(f"/api/posts/{posts[0]['id']}/comments", {"body": f"comment {n}"}))
        room = _ok(walker.post(f"/api/topics/{topic['id']}/rooms", {"name": f"room {n}"}))
        messages.append(_ok(walker.post(f"/api/messages/rooms/{room['id']}/messages",
                                        {"body": f"paging words {n}", "client_id": f"p{n}"})))
    for name in ("banx", "bany", "banz"):
        _ok(walker.post(f"/api/topics/{topic['id']}/bans", {"user_id": p[name].id}))
        _ok(walker.post(f"/api/users/{p[name].id}/block"))
        _ok(walker.call("PUT", f"/api/notifications/mutes/user/{p[name].id}"))
        _ok(walker.call("PUT", f"/api/users/{p[name].id}/hide"))
    for name in ("pagea", "pageb", "pagec"):
        _ok(walker.post(f"/api/users/{p[name].id}/friend-request"))
        request = _ok(p["paged"].post(f"/api/users/{p[name].id}/friend-request"))
        _ok(p[name].post(f"/api/users/me/friend-requests/{request['id']}/accept"))
    target = make_post(p["paged"], topic["id"], "Reported thing", "text")
    for name in ("pagea", "pageb", "pagec"):
        _ok(p[name].post("/api/reports", {"target_type": "post", "target_id": target["id"],
                                          "reason": "spam"}))
    comments = _ok(walker.get(f"/api/posts/{posts[0]['id']}/comments"))["items"]
    for comment in comments:  # pagea's own reports, with the post's: four
        _ok(p["pagea"].post("/api/reports", {"target_type": "comment",
                                             "target_id": comment["id"], "reason": "spam"}))
    for n in range(3):
        _ok(p["boss"].post(f"/api/admin/users/{walker.id}/warn", {"reason": f"warning {n}"}))
    _three_calls(client, walker, p["pagea"])
    for n in range(3):  # three groups inviting pagea
        group = _ok(walker.post("/api/messages/groups", {"title": f"g{n}", "member_ids": []}))
        _ok(walker.post(f"/api/messages/rooms/{group['id']}/invitations",
                        {"user_id": p["pagea"].id}))
    topic["paging"] = _conversation_pages(p, topic, posts, messages)
    return p, topic, posts


def _conversation_pages(p, topic, posts, messages) -> dict[str, str]:
    """Three of each behind issue 28's pages: edit versions of a message, a post and a
    comment, replies in a thread, followed threads, saved items and a poll's voters."""
    walker = p["walker"]
    comment = _ok(walker.get(f"/api/posts/{posts[0]['id']}/comments"))["items"][0]
    for n in range(3):
        _ok(walker.patch(f"/api/messages/{messages[0]['id']}", {"body": f"paging words, edit {n}"}))
        _ok(walker.patch(f"/api/posts/{posts[0]['id']}", {"body": f"edited {n}"}))
        _ok(walker.patch(f"/api/comments/{comment['id']}", {"body": f"edited {n}"}))
        _ok(walker.call("PUT", f"/api/saved/post/{posts[n]['id']}"), (204,))
        root = messages[n]
        _ok(walker.post(f"/api/messages/rooms/{root['room_id']}/messages",
                        {"body": f"in thread {n}", "client_id": f"t{n}",
                         "thread_root_id": root["id"]}))
    for n in range(2):  # three replies in the first thread
        _ok(walker.post(f"/api/messages/rooms/{messages[0]['room_id']}/messages",
                        {"body": f"more {n}", "client_id": f"m{n}",
                         "thread_root_id": messages[0]["id"]}))
    for n in range(3):  # three messages waiting for their time
        send_at = (datetime.now(UTC)
                   + timedelta(hours=n + 1)).isoformat()
        _ok(walker.post(f"/api/messages/rooms/{messages[0]['room_id']}/messages",
                        {"body": f"later {n}", "client_id": f"s{n}", "send_at": send_at}),
            (202,))
    poll_post = _ok(walker.post("/api/posts", {
        "topic_id": topic["id"], "title": "Paging poll", "body": "vote",
        "poll": {"question": "Which?", "options": ["one", "two"]}}))
    poll_id = poll_post["poll"]["id"]
    for name in ("pagea", "pageb", "pagec"):
        _ok(p[name].post(f"/api/polls/{poll_id}/vote", {"option_ids": ["1"]}))
    return {"message": messages[0]["id"], "comment": comment["id"], "poll": poll_id}


def _three_calls(client, caller, callee) -> None:
    """Calls start over Socket.IO; three rung and cancelled make three in the caller's list."""
    room = _ok(caller.post("/api/messages/direct", {"user_id": callee.id}))
    token = caller.headers["Authorization"].split()[1]
    sc = socketio.test_client(client.application, auth={"token": token})
    for _ in range(3):
        started = sc.emit("call_start", {"room_id": room["id"]}, callback=True)
        assert started["ok"], started
        cancelled = sc.emit("call_cancel", {"call_id": started["data"]["call"]["id"]},
                            callback=True)
        assert cancelled["ok"], cancelled
    sc.disconnect()


# template path -> (who asks, concrete path, query variants); every GET route whose answer
# has `next_cursor` must be here.
def endpoints(p, topic, posts):
    t, post = topic["id"], posts[0]["id"]
    m, c, poll = (topic["paging"][k] for k in ("message", "comment", "poll"))
    return {
        "/api/users/": ("walker", "/api/users/", [{"q": "page"}]),
        "/api/users/me/blocked": ("walker", "/api/users/me/blocked", [{}]),
        "/api/users/me/hidden": ("walker", "/api/users/me/hidden", [{}]),
        "/api/users/me/friend-requests": ("walker", "/api/users/me/friend-requests",
                                          [{}, {"direction": "outgoing"}]),
        "/api/users/me/friends": ("paged", "/api/users/me/friends", [{}]),
        "/api/users/me/topics": ("walker", "/api/users/me/topics", [{}, {"role": "owner"}]),
        "/api/users/me/topic-invitations": ("walker", "/api/users/me/topic-invitations", [{}]),
        "/api/reports/mine": ("pagea", "/api/reports/mine", [{}]),
        "/api/topics": ("walker", "/api/topics", [{"sort": s} for s in
                                                  ("active", "new", "popular")]),
        "/api/topics/{topic_id}/members": ("walker", f"/api/topics/{t}/members", [{}]),
        "/api/topics/{topic_id}/bans": ("walker", f"/api/topics/{t}/bans", [{}]),
        "/api/topics/{topic_id}/moderation-log": ("walker", f"/api/topics/{t}/moderation-log",
                                                  [{}]),
        "/api/posts": ("walker", "/api/posts", [
            {"sort": s, **scope} for s in ("hot", "new", "top")
            for scope in ({}, {"topic_id": t})]),
        "/api/posts/{post_id}/comments": ("walker", f"/api/posts/{post}/comments",
                                          [{"sort": s} for s in ("best", "new", "old")]),
        "/api/search": ("walker", "/api/search", [{"q": "paging", "type": "posts"},
                                                  {"q": "paging", "type": "topics"},
                                                  {"q": "page", "type": "users"}]),
        "/api/messages/rooms": ("walker", "/api/messages/rooms", [{}]),
        "/api/messages/invitations": ("pagea", "/api/messages/invitations", [{}]),
        "/api/messages/search": ("walker", "/api/messages/search", [{"q": "paging"}]),
        "/api/topics/{topic_id}/rooms": ("walker", f"/api/topics/{t}/rooms", [{}]),
        "/api/topics/{topic_id}/reports": ("walker", f"/api/topics/{t}/reports", [{}]),
        "/api/admin/users": ("boss", "/api/admin/users", [{}]),
        "/api/admin/reports": ("boss", "/api/admin/reports", [{}]),
        "/api/admin/audit-log": ("boss", "/api/admin/audit-log", [{}]),
        "/api/notifications/": ("walker", "/api/notifications/", [{}, {"unread": "true"}]),
        "/api/notifications/mutes": ("walker", "/api/notifications/mutes", [{}]),
        "/api/calls/": ("walker", "/api/calls/", [{}]),
        # Pages of the provider's results (the tests' GIPHY stand-in, tests/gif_stub.py).
        "/api/gifs/search": ("walker", "/api/gifs/search", [{"q": "cat"}]),
        "/api/gifs/featured": ("walker", "/api/gifs/featured", [{}]),
        "/api/messages/{message_id}/history": ("walker", f"/api/messages/{m}/history", [{}]),
        "/api/posts/{post_id}/history": ("walker", f"/api/posts/{post}/history", [{}]),
        "/api/comments/{comment_id}/history": ("walker", f"/api/comments/{c}/history", [{}]),
        "/api/messages/{message_id}/thread": ("walker", f"/api/messages/{m}/thread",
                                              [{}, {"after_seq": 1}]),
        "/api/messages/threads": ("walker", "/api/messages/threads", [{}]),
        "/api/saved": ("walker", "/api/saved", [{}]),
        "/api/messages/scheduled": ("walker", "/api/messages/scheduled", [{}]),
        "/api/polls/{poll_id}/voters": ("walker", f"/api/polls/{poll}/voters", [{}]),
    }


def paginated_routes(client) -> set[str]:
    document = client.get("/api/openapi.json").get_json()
    schemas = document["components"]["schemas"]

    def resolved(schema):
        while "$ref" in schema:
            schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    found = set()
    for path, operations in document["paths"].items():
        answer = operations.get("get", {}).get("responses", {}).get("200", {})
        schema = answer.get("content", {}).get("application/json", {}).get("schema")
        if schema and "next_cursor" in resolved(schema).get("properties", {}):
            found.add(path)
    return found


def key(item) -> str:
    return json.dumps(item, sort_keys=True)


def walk(person: Person, path: str, query: dict) -> list[str]:
    seen, cursor, pages = [], None, 0
    while True:
        params = {**query, "limit": 2, **({"cursor": cursor} if cursor else {})}
        body = _ok(person.get(path, query_string=params), (200,))
        seen += [key(item) for item in body["items"]]
        cursor, pages = body["next_cursor"], pages + 1
        if cursor is None:
            return seen
        assert pages < 50


def assert_refused(person: Person, path: str, query: dict, cursor: str) -> None:
    response = person.get(path, query_string={**query, "limit": 2, "cursor": cursor})
    assert response.status_code == 400, (path, query, response.get_json())
    error = response.get_json()["error"]
    assert error["code"] == "validation_error" and "cursor" in error["details"]


def wrong_kinds(value):
    """Values of another type than `value`, operators first."""
    yield {"$gt": None}
    yield {"$regularExpression": {"pattern": "(a+)+$", "options": ""}}
    yield Regex("(a+)+$")
    yield str(value) if not isinstance(value, str) else 7
    if not isinstance(value, (list, dict)):
        yield [value]
    if isinstance(value, (ObjectId, datetime)):
        yield 0


def test_every_paginated_endpoint_pages_and_refuses_forged_cursors(app, client, world):
    p, topic, posts = world
    table = endpoints(p, topic, posts)
    assert set(table) == paginated_routes(client)
    for name, path, variants in table.values():
        person = p[name]
        for query in variants:
            everything = [key(item) for item in _ok(person.get(
                path, query_string={**query, "limit": 100}), (200,))["items"]]
            assert len(everything) >= 3, (path, query, everything)
            assert walk(person, path, query) == everything, (path, query)
            first = _ok(person.get(path, query_string={**query, "limit": 2}), (200,))
            cursor = first["next_cursor"]
            payload, signature = cursor.rsplit(".", 1)
            flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
            for bad in (f"{payload}.{flipped}", payload, "e30", cursor[:-1]):
                assert_refused(person, path, query, bad)
            with app.app_context():
                values = cursor_serializer().loads(cursor)
                forged = [cursor_serializer().dumps([*values[:i], wrong, *values[i + 1:]])
                          for i, value in enumerate(values) for wrong in wrong_kinds(value)]
                forged += [cursor_serializer().dumps(values[:-1]),
                           cursor_serializer().dumps([*values, values[-1]]),
                           cursor_serializer().dumps({"$where": "sleep(1000)"})]
            for bad in forged:
                assert_refused(person, path, query, bad)
