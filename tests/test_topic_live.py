"""Live updates through Socket.IO: join_topic / join_post acknowledgements, new_post,
post_updated and new_comment after the writes, refusal for private topics, and removal
from the topic's rooms when a user is banned."""
from __future__ import annotations

from tests.helpers import csrf, events, register_and_login
from tests.topic_helpers import Person, join, make_post, make_topic
from utils.extensions import socketio


def _socket(app, username):
    """A logged-in cookie client and its Socket.IO test client."""
    client = app.test_client()
    user, token = register_and_login(client, username)
    return client, socketio.test_client(app, flask_test_client=client), user, token


def test_topic_and_postevents(app, client):
    owner = Person(client, "olivia")
    topic = make_topic(owner)
    _web, sc, _user, _token = _socket(app, "watcher")
    ack = sc.emit("join_topic", {"topic_id": topic["id"]}, callback=True)
    assert ack == {"ok": True, "data": {"topic_id": topic["id"], "room": f"topic_{topic['id']}"}}
    sc.get_received()

    post = make_post(owner, topic["id"], "Breaking news")
    new_posts = events(sc, "new_post")
    assert [p["id"] for p in new_posts] == [post["id"]] and "my_vote" not in new_posts[0]

    owner.post(f"/api/posts/{post['id']}/pin")
    owner.post(f"/api/posts/{post['id']}/vote", {"value": 1})
    owner.post(f"/api/posts/{post['id']}/lock")
    updates = events(sc, "post_updated")
    assert [(u["pinned"], u["score"], u["locked"]) for u in updates] == [
        (True, 0, False), (True, 1, False), (True, 1, True)]
    owner.post(f"/api/posts/{post['id']}/unlock")
    sc.get_received()

    assert sc.emit("join_post", {"post_id": post["id"]}, callback=True)["ok"] is True
    comment = owner.post(f"/api/posts/{post['id']}/comments", {"body": "first!"}).get_json()
    assert [c["id"] for c in events(sc, "new_comment")] == [comment["id"]]
    assert sc.emit("leave_post", {"post_id": post["id"]}, callback=True)["ok"] is True
    owner.post(f"/api/posts/{post['id']}/comments", {"body": "second"})
    assert events(sc, "new_comment") == []

    owner.delete(f"/api/posts/{post['id']}")
    assert events(sc, "post_updated")[0]["deleted"] is True
    assert sc.emit("leave_topic", {"topic_id": topic["id"]}, callback=True)["ok"] is True
    make_post(owner, topic["id"], "Nobody hears this")
    assert events(sc, "new_post") == []


def test_join_refusals(app, client):
    owner = Person(client, "olivia")
    secret = make_topic(owner, "Secret", visibility="private")
    _web, sc, _user, _token = _socket(app, "snoop")
    refused = sc.emit("join_topic", {"topic_id": secret["id"]}, callback=True)
    assert refused["ok"] is False and refused["error"]["code"] == "not_found"
    post = make_post(owner, secret["id"])
    refused = sc.emit("join_post", {"post_id": post["id"]}, callback=True)
    assert refused["error"]["code"] == "not_found"
    invalid = sc.emit("join_topic", {"topic_id": "nope"}, callback=True)
    assert invalid["error"]["code"] == "validation_error"
    assert sc.emit("join_topic", "x", callback=True)["error"]["code"] == "validation_error"


def test_ban_removes_user_from_live_rooms_at_once(app, client):
    owner = Person(client, "olivia")
    topic = make_topic(owner)
    post = make_post(owner, topic["id"])
    web, sc, user, token = _socket(app, "troll")
    assert web.post(f"/api/topics/{topic['id']}/join", headers=csrf(token)).status_code == 200
    assert sc.emit("join_topic", {"topic_id": topic["id"]}, callback=True)["ok"]
    assert sc.emit("join_post", {"post_id": post["id"]}, callback=True)["ok"]
    sc.get_received()

    banned = owner.post(f"/api/topics/{topic['id']}/bans", {"user_id": user["id"]})
    assert banned.status_code == 201
    make_post(owner, topic["id"], "After the ban")
    owner.post(f"/api/posts/{post['id']}/comments", {"body": "after the ban"})
    received = sc.get_received()
    assert not [e for e in received if e["name"] in ("new_post", "new_comment")]
    again = sc.emit("join_topic", {"topic_id": topic["id"]}, callback=True)
    assert again["ok"] is False and again["error"]["code"] == "forbidden"


def test_other_members_keep_receiving(app, client):
    owner = Person(client, "olivia")
    topic = make_topic(owner)
    member = Person(client, "mike")
    join(member, topic["id"])
    _web, sc, _user, _token = _socket(app, "reader")
    sc.emit("join_topic", {"topic_id": topic["id"]}, callback=True)
    make_post(member, topic["id"], "Still flowing")
    assert [p["title"] for p in events(sc, "new_post")] == ["Still flowing"]


def test_comment_counts_reach_the_topic_room_and_the_post_room(app, client):
    """Someone viewing a topic (`join_topic`) sees a post's new comment_count as a
    `post_updated`; someone viewing the post (`join_post` only) gets the comment and the
    count, and a deleted comment lowers it for both."""
    owner = Person(client, "olivia")
    topic = make_topic(owner)
    post = make_post(owner, topic["id"])
    _web, topic_viewer, _u, _t = _socket(app, "topicviewer")
    _web2, post_viewer, _u2, _t2 = _socket(app, "postviewer")
    assert topic_viewer.emit("join_topic", {"topic_id": topic["id"]}, callback=True)["ok"]
    assert post_viewer.emit("join_post", {"post_id": post["id"]}, callback=True)["ok"]
    topic_viewer.get_received()
    post_viewer.get_received()

    comment = owner.post(f"/api/posts/{post['id']}/comments", {"body": "first!"}).get_json()
    owner.post(f"/api/posts/{post['id']}/comments", {"body": "second"})
    for sc in (topic_viewer, post_viewer):
        updates = events(sc, "post_updated")
        assert [(u["id"], u["comment_count"]) for u in updates] == [
            (post["id"], 1), (post["id"], 2)]
        assert "my_vote" not in updates[0]
        assert updates[0]["topic"] == {"id": topic["id"], "slug": topic["slug"],
                                       "title": topic["title"]}
    owner.delete(f"/api/comments/{comment['id']}")
    received = post_viewer.get_received()
    assert [(e["name"], e["args"][0]["comment_count"]) for e in received] == [
        ("post_updated", 1)]
    assert [u["comment_count"] for u in events(topic_viewer, "post_updated")] == [1]
