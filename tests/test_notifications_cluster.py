"""Badges across processes: two real gunicorn/gevent servers sharing one SecantusDB and one
redis-server. A reply written through one process reaches the author's devices on both
(`notification`, then `notification_count`), and reading on one updates the other."""
from __future__ import annotations

import requests

from tests.cluster_helpers import Client, make_user


def api(server, token: str, method: str, path: str, body: dict | None = None) -> dict:
    response = requests.request(method, server.url + path, json=body, timeout=30,
                                headers={"Authorization": f"Bearer {token}"})
    assert response.status_code in (200, 201), response.text
    return response.json()


def test_counts_reach_every_device_on_every_process(cluster):
    app, (a, b) = cluster
    _alice, alice_token = make_user(app, "alice")
    _bob, bob_token = make_user(app, "bob")
    topic = api(a, alice_token, "POST", "/api/topics/", {"title": "Across"})
    post = api(a, alice_token, "POST", "/api/posts/", {"topic_id": topic["id"],
                                                       "title": "Over there", "body": "x"})
    api(b, bob_token, "POST", f"/api/topics/{topic['id']}/join")
    phone, laptop = Client(a, alice_token), Client(b, alice_token)
    try:
        api(b, bob_token, "POST", f"/api/posts/{post['id']}/comments", {"body": "hi"})
        for device in (phone, laptop):
            (note,) = device.wait_for("notification", 1)
            assert note["kind"] == "post_reply" and note["actors"][0]["username"] == "bob"
            assert device.wait_for("notification_count", 1) == [{"count": 1}]
        api(a, alice_token, "POST", f"/api/notifications/{note['id']}/read")
        for device in (phone, laptop):
            assert device.wait_for("notification_count", 2) == [{"count": 1}, {"count": 0}]
    finally:
        phone.close()
        laptop.close()
