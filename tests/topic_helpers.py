"""Helpers for the topic, post and comment tests: topics and posts created through the
API by a `Person` (tests.helpers; a `Person(client, name)` acts with a bearer token)."""
from __future__ import annotations

from typing import Any

from tests.helpers import Person
from utils.extensions import socketio


def make_topic(person: Person, title: str = "Gardening", **fields: Any) -> dict[str, Any]:
    response = person.post("/api/topics/", {"title": title, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def make_post(person: Person, topic_id: str, title: str = "Hello there",
              body: str = "Some *text*") -> dict[str, Any]:
    response = person.post("/api/posts/", {"topic_id": topic_id, "title": title, "body": body})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def join(person: Person, topic_id: str) -> None:
    response = person.post(f"/api/topics/{topic_id}/join")
    assert response.status_code == 200, response.get_json()


def socket_of(app, person: Person):
    """A Socket.IO test client signed in with `person`'s bearer token."""
    return socketio.test_client(app, auth={"token": person.headers["Authorization"][7:]})


def send_message(person: Person, room_id: str, body: str, client_id: str) -> dict[str, Any]:
    response = person.send(room_id, body, client_id)
    assert response.status_code == 201, response.get_json()
    return response.get_json()
