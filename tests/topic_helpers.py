"""Helpers for the topic, post and comment tests: users with bearer headers, topics and
posts created through the API."""
from __future__ import annotations

from typing import Any

from bson import ObjectId

from tests.helpers import bearer
from utils import user_versions
from utils.db import get_db
from utils.extensions import socketio


class Person:
    """A registered user acting through the API with a bearer token."""

    def __init__(self, client, username: str) -> None:
        self.client = client
        self.headers = bearer(client, username)
        self.id = client.get("/api/auth/me", headers=self.headers).get_json()["user"]["id"]
        self.username = username

    def call(self, method: str, path: str, **kwargs: Any):
        return self.client.open(path, method=method, headers=self.headers, **kwargs)

    def get(self, path: str, **kwargs: Any):
        return self.call("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any):
        return self.call("POST", path, json=json, **kwargs)

    def patch(self, path: str, json: Any = None):
        return self.call("PATCH", path, json=json)

    def delete(self, path: str):
        return self.call("DELETE", path)

    def set_role(self, role: str) -> None:
        with self.client.application.app_context():
            get_db().users.update_one({"_id": ObjectId(self.id)}, {"$set": {"role": role}})
            user_versions.changed(ObjectId(self.id))


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


def events(socket, name: str) -> list:
    """The payloads of the `name` events `socket` received since last asked."""
    return [e["args"][0] for e in socket.get_received() if e["name"] == name]


def send_message(person: Person, room_id: str, body: str, client_id: str) -> dict[str, Any]:
    response = person.post(f"/api/messages/rooms/{room_id}/messages",
                           {"body": body, "client_id": client_id})
    assert response.status_code == 201, response.get_json()
    return response.get_json()
