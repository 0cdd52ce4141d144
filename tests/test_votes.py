"""Votes: idempotent, exact under concurrency (50 users voting at once against the real
database), `my_vote` per user, hot rank following the score."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from bson import ObjectId

from models.post import hot_rank
from models.user import User
from services.forum import topic_moderation, votes_service
from tests.topic_helpers import Person, join, make_post, make_topic
from utils.db import get_db


def test_vote_is_idempotent_and_reversible(client):
    owner, voter = Person(client, "olivia"), Person(client, "victor")
    topic = make_topic(owner)
    post = make_post(owner, topic["id"])
    url = f"/api/posts/{post['id']}/vote"
    assert voter.post(url, {"value": 1}).get_json() == {"score": 1, "my_vote": 1}
    assert voter.post(url, {"value": 1}).get_json() == {"score": 1, "my_vote": 1}
    assert voter.post(url, {"value": -1}).get_json() == {"score": -1, "my_vote": -1}
    assert voter.get(f"/api/posts/{post['id']}").get_json()["my_vote"] == -1
    assert owner.get(f"/api/posts/{post['id']}").get_json()["my_vote"] == 0
    assert voter.post(url, {"value": 0}).get_json() == {"score": 0, "my_vote": 0}
    for bad in ({"value": 2}, {"value": "1"}, {"value": 1.5}, {}):
        assert voter.post(url, bad).status_code == 400
    assert client.post(url, json={"value": 1}).status_code == 401


def test_votes_on_private_topic_post_are_not_found_for_outsiders(client):
    owner, outsider = Person(client, "olivia"), Person(client, "oscar")
    topic = make_topic(owner, "Hidden", visibility="private")
    post = make_post(owner, topic["id"])
    assert outsider.post(f"/api/posts/{post['id']}/vote", {"value": 1}).status_code == 404


def test_fifty_concurrent_votes_give_the_exact_score(app, client):
    owner = Person(client, "olivia")
    topic = make_topic(owner)
    join(owner, topic["id"])
    post = make_post(owner, topic["id"])
    with app.app_context():
        users = [User().create(f"crowd{n}", f"crowd{n}@example.com", "x") for n in range(50)]

    def vote(args):
        user, value = args
        with app.app_context():
            return votes_service.vote_post(user, post["id"], value)

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(vote, [(u, 1) for u in users]))
    stored = get_db(app).posts.find_one({"_id": ObjectId(post["id"])})
    assert stored["score"] == 50

    # Half change their minds to -1, half withdraw, each sent twice, all at once.
    changes = [(u, -1 if n % 2 else 0) for n, u in enumerate(users)] * 2
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(vote, changes))
    stored = get_db(app).posts.find_one({"_id": ObjectId(post["id"])})
    assert stored["score"] == -25
    assert stored["hot_rank"] == hot_rank(-25, stored["created_at"])
    assert get_db(app).votes.count_documents({"target_id": stored["_id"]}) == 50


def test_comment_votes(client, app):
    owner, voter = Person(client, "olivia"), Person(client, "victor")
    topic = make_topic(owner)
    post = make_post(owner, topic["id"])
    comment = owner.post(f"/api/posts/{post['id']}/comments", {"body": "hi"}).get_json()
    url = f"/api/comments/{comment['id']}/vote"
    assert voter.post(url, {"value": 1}).get_json() == {"score": 1, "my_vote": 1}
    assert voter.post(url, {"value": 1}).get_json() == {"score": 1, "my_vote": 1}
    tree = voter.get(f"/api/posts/{post['id']}/comments").get_json()["items"]
    assert tree[0]["score"] == 1 and tree[0]["my_vote"] == 1
    with app.app_context():
        topic_moderation.ban_user(get_db(app).users.find_one({"username": "olivia"}),
                                topic["id"], voter.id, "rude", None)
    assert voter.post(url, {"value": -1}).status_code == 403
