"""Comments: nested replies with a depth limit, reply counts, sorts, paging of top-level
comments, edit and soft delete keeping the tree, and an exact comment_count."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from bson import ObjectId

from models.user import User
from services.forum import comments_service
from tests.topic_helpers import Person, make_post, make_topic
from utils.db import get_db


def _setup(client):
    owner, other = Person(client, "olivia"), Person(client, "oscar")
    topic = make_topic(owner)
    return owner, other, make_post(owner, topic["id"])


def _comment(person, post_id, body, parent_id=None):
    response = person.post(f"/api/posts/{post_id}/comments",
                           {"body": body, "parent_id": parent_id})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_tree_with_replies_and_counts(client):
    owner, other, post = _setup(client)
    top = _comment(owner, post["id"], "top")
    reply = _comment(other, post["id"], "reply", top["id"])
    _comment(owner, post["id"], "reply to reply", reply["id"])
    _comment(other, post["id"], "second reply", top["id"])
    tree = client.get(f"/api/posts/{post['id']}/comments?sort=old").get_json()["items"]
    assert [c["body"] for c in tree] == ["top"]
    assert tree[0]["reply_count"] == 2
    assert [r["body"] for r in tree[0]["replies"]] == ["reply", "second reply"]
    assert tree[0]["replies"][0]["replies"][0]["body"] == "reply to reply"
    assert tree[0]["replies"][0]["depth"] == 1
    assert client.get(f"/api/posts/{post['id']}").get_json()["comment_count"] == 4
    other_post = make_post(owner, post["topic_id"], "Elsewhere")
    refused = owner.post(f"/api/posts/{other_post['id']}/comments",
                         {"body": "x", "parent_id": top["id"]})
    assert refused.status_code == 404


def test_depth_limit_attaches_to_deepest_allowed_parent(client):
    owner, _other, post = _setup(client)
    parent = None
    chain = []
    for level in range(10):
        parent = _comment(owner, post["id"], f"level {level}", parent and parent["id"])
        chain.append(parent)
    assert [c["depth"] for c in chain] == [0, 1, 2, 3, 4, 5, 6, 7, 7, 7]
    # Levels 8 and 9 hang under level 6, the deepest parent that leaves room for them.
    assert chain[8]["parent_id"] == chain[6]["id"] and chain[9]["parent_id"] == chain[6]["id"]
    tree = client.get(f"/api/posts/{post['id']}/comments").get_json()["items"]
    node, depth = tree[0], 0
    while node["replies"]:
        node, depth = node["replies"][0], depth + 1
    assert depth == 7


def test_sorts_and_top_level_paging(client):
    owner, other, post = _setup(client)
    first = _comment(owner, post["id"], "first")
    second = _comment(owner, post["id"], "second")
    third = _comment(owner, post["id"], "third")
    other.post(f"/api/comments/{second['id']}/vote", {"value": 1})

    def bodies(sort, extra=""):
        url = f"/api/posts/{post['id']}/comments?sort={sort}{extra}"
        return client.get(url).get_json()

    assert bodies("best")["items"][0]["body"] == "second"
    assert [c["body"] for c in bodies("new")["items"]] == ["third", "second", "first"]
    page = bodies("old", "&limit=2")
    assert [c["id"] for c in page["items"]] == [first["id"], second["id"]]
    rest = bodies("old", f"&limit=2&cursor={page['next_cursor']}")
    assert [c["id"] for c in rest["items"]] == [third["id"]] and rest["next_cursor"] is None


def test_edit_and_soft_delete_keep_the_tree(client):
    owner, other, post = _setup(client)
    top = _comment(owner, post["id"], "top")
    reply = _comment(other, post["id"], "reply", top["id"])
    assert other.patch(f"/api/comments/{top['id']}", {"body": "mine"}).status_code == 403
    edited = owner.patch(f"/api/comments/{top['id']}", {"body": "edited"}).get_json()
    assert edited["body"] == "edited" and edited["edited_at"]
    assert other.delete(f"/api/comments/{top['id']}").status_code == 403
    assert owner.delete(f"/api/comments/{top['id']}").status_code == 204
    assert owner.delete(f"/api/comments/{top['id']}").status_code == 204  # idempotent
    tree = client.get(f"/api/posts/{post['id']}/comments").get_json()["items"]
    assert tree[0]["deleted"] and tree[0]["body"] == "[deleted]" and tree[0]["author"] is None
    assert tree[0]["replies"][0]["id"] == reply["id"]
    assert client.get(f"/api/posts/{post['id']}").get_json()["comment_count"] == 1
    # The topic owner moderates: deletes someone else's reply, and it is logged.
    assert owner.delete(f"/api/comments/{reply['id']}").status_code == 204
    assert client.get(f"/api/posts/{post['id']}").get_json()["comment_count"] == 0
    logged = get_db(client.application).audit_log.find_one(
        {"action": "topic.delete_comment"})
    assert logged and str(logged["target_id"]) == reply["id"]


def test_comment_count_exact_under_concurrency(app, client):
    owner, _other, post = _setup(client)
    top = _comment(owner, post["id"], "top")
    with app.app_context():
        users = [User().create(f"talker{n}", f"talker{n}@example.com", "x") for n in range(20)]

    def comment(user):
        with app.app_context():
            return comments_service.create_comment(user, post["id"], "me too", top["id"])

    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(comment, users))
    db = get_db(app)
    assert db.posts.find_one({"_id": ObjectId(post["id"])})["comment_count"] == 21
    assert db.comments.find_one({"_id": ObjectId(top["id"])})["reply_count"] == 20


def test_body_html_stored_at_write_and_on_edit(client, db):
    owner, other, post = _setup(client)
    top = _comment(owner, post["id"], "**top**")
    reply = _comment(other, post["id"], "a reply", top["id"])
    stored = db.comments.find_one({"_id": ObjectId(top["id"])})
    assert stored["body_html"] == top["body_html"] == "<p><strong>top</strong></p>\n"
    edited = owner.patch(f"/api/comments/{top['id']}", {"body": "*edited*"}).get_json()
    stored = db.comments.find_one({"_id": ObjectId(top["id"])})
    assert stored["body_html"] == edited["body_html"] == "<p><em>edited</em></p>\n"
    # The tree serves the stored HTML; a comment written before it was stored renders.
    db.comments.update_one({"_id": stored["_id"]}, {"$set": {"body_html": "<p>kept</p>"}})
    db.comments.update_one({"_id": ObjectId(reply["id"])}, {"$unset": {"body_html": ""}})
    tree = client.get(f"/api/posts/{post['id']}/comments").get_json()["items"]
    assert tree[0]["body_html"] == "<p>kept</p>"
    assert tree[0]["replies"][0]["body_html"] == reply["body_html"] == "<p>a reply</p>\n"
    assert "body_html" not in db.comments.find_one({"_id": ObjectId(reply["id"])})
