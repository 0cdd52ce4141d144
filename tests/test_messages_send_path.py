"""What one send costs and which locks it takes: the per-room Redis ordering lock only
with a message queue, and a bounded number of MongoDB commands per stored message."""
from __future__ import annotations

import logging

import redis

from tests.helpers import csrf, register_and_login


class Person:
    def __init__(self, app, name):
        self.client = app.test_client()
        self.user, token = register_and_login(self.client, name)
        self.headers = csrf(token)

    def post(self, path, body=None):
        return self.client.post(path, json=body or {}, headers=self.headers)

    def send(self, room_id, body, client_id):
        return self.post(f"/api/messages/rooms/{room_id}/messages",
                         {"body": body, "client_id": client_id})


def _direct_room(app):
    alice, bob = Person(app, "alice"), Person(app, "bob")
    room_id = alice.post("/api/messages/direct", {"user_id": bob.user["id"]}).get_json()["id"]
    return alice, room_id


def test_one_process_does_not_take_the_redis_ordering_lock(make_app, redis_url, caplog):
    app = make_app(CHAT_ORDER_LOCK_SECONDS=0.1)
    alice, room_id = _direct_room(app)
    # Someone else holds the room's Redis lock: a sender that asks for it waits, gives up
    # and says so. Without a message queue the process lock orders the sends alone.
    redis.Redis.from_url(redis_url).set(f"rt:roomlock:{room_id}", "elsewhere", ex=60)
    with caplog.at_level(logging.WARNING, logger="services.messages_service"):
        assert alice.send(room_id, "hi", "c1").status_code == 201
    assert "ordering lock" not in caplog.text


def test_with_a_message_queue_the_redis_ordering_lock_is_taken(make_app, redis_url, caplog):
    app = make_app(CHAT_ORDER_LOCK_SECONDS=0.1)
    alice, room_id = _direct_room(app)
    # Only the emit path and the lock read this setting; events go to the Redis channel.
    app.config["SOCKETIO_MESSAGE_QUEUE"] = redis_url
    redis.Redis.from_url(redis_url).set(f"rt:roomlock:{room_id}", "elsewhere", ex=60)
    with caplog.at_level(logging.WARNING, logger="services.messages_service"):
        assert alice.send(room_id, "hi", "c1").status_code == 201
    assert "ordering lock not acquired" in caplog.text
