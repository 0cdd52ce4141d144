"""Demo content for a fresh database: a few users, topics, posts, comments and votes, made
through the same services as the API (so counts, hot ranks and search terms are right).

Idempotent: seeding a database that already has topics changes nothing. `clear()` empties
a development database again (refused in production).
"""
from __future__ import annotations

from typing import Any

from flask import current_app

from models import indexes
from models.topic import Topic
from models.user import User
from services.accounts import auth_signup
from services.forum import (
    comments_service,
    posts_service,
    topic_members,
    topics_service,
    votes_service,
)
from services.forum.posts_service import FRONT_PAGE
from services.platform.topic_activity import TOPIC_LISTS
from utils.cache import get_cache
from utils.errors import Forbidden

# Configurations whose database may be emptied by `flask seed --clear`.
CLEARABLE = ("development", "testing")

USERS = [("ada", "admin"), ("grace", "user"), ("linus", "user"), ("margaret", "user")]
TOPICS = [
    ("ada", "Home Cooking", "Recipes, techniques and kitchen disasters.", ["food", "recipes"],
     "public"),
    ("grace", "Python Programming", "Flask, asyncio, packaging and everything in between.",
     ["python", "programming"], "public"),
    ("linus", "Core Team", "Private planning for the Roundtable team.", ["team"], "private"),
]
POSTS = [
    ("Home Cooking", "grace", "Crème brûlée without a torch",
     "Use the **broiler**, two minutes, watch it closely."),
    ("Home Cooking", "margaret", "Sourdough starter died again",
     "Third time this month. What am I doing wrong?"),
    ("Python Programming", "linus", "Flask-SocketIO with Redis in production",
     "We run gevent workers behind a load balancer with sticky sessions."),
    ("Python Programming", "ada", "Keyset pagination beats offsets",
     "Cursors that hold the sort key never skip or repeat items while new rows arrive."),
    ("Core Team", "linus", "Release plan", "Freeze on Friday, ship on Monday."),
]


def seed() -> dict[str, int]:
    """Create the demo content unless the database already has topics."""
    if not Topic().is_empty():
        return {"users": 0, "topics": 0, "posts": 0, "comments": 0, "votes": 0}
    users = {name: _user(name, role) for name, role in USERS}
    topics = {}
    for owner, title, description, tags, visibility in TOPICS:
        topics[title] = topics_service.create_topic(users[owner], title, description, tags,
                                                    visibility)
    for name in ("grace", "margaret", "ada"):
        topic_members.join_topic(users[name], topics["Home Cooking"]["_id"])
    for name in ("linus", "ada"):
        topic_members.join_topic(users[name], topics["Python Programming"]["_id"])
    topic_members.invite(users["linus"], topics["Core Team"]["_id"], users["grace"]["_id"])
    topic_members.accept_invitation(users["grace"], topics["Core Team"]["_id"])
    posts = [posts_service.create_post(users[author], topics[topic]["_id"], title, body)
             for topic, author, title, body in POSTS]
    counts = {"users": len(users), "topics": len(topics), "posts": len(posts),
              "comments": 0, "votes": 0}
    counts["comments"] = _discussion(users, posts)
    counts["votes"] = _votes(users, posts)
    return counts


def _user(name: str, role: str) -> dict[str, Any]:
    existing = User().find_by_username(name)
    if existing:
        return existing
    return auth_signup.register(name, f"{name}@example.com",
                                 current_app.config["SEED_PASSWORD"], role=role,
                                 email_verified=True)


def _discussion(users: dict[str, dict[str, Any]], posts: list[dict[str, Any]]) -> int:
    first = comments_service.create_comment(users["ada"], posts[0]["id"],
                                            "Works great, thanks!")
    reply = comments_service.create_comment(users["grace"], posts[0]["id"],
                                            "Glad it helped.", first["id"])
    comments_service.create_comment(users["margaret"], posts[0]["id"], "Trying it tonight.",
                                    reply["id"])
    comments_service.create_comment(users["linus"], posts[2]["id"],
                                    "Sticky sessions matter for long polling.")
    return 4


def _votes(users: dict[str, dict[str, Any]], posts: list[dict[str, Any]]) -> int:
    ballots = [("ada", 0, 1), ("margaret", 0, 1), ("linus", 0, 1), ("grace", 1, 1),
               ("ada", 2, 1), ("grace", 2, 1), ("linus", 3, 1), ("margaret", 3, -1)]
    for name, index, value in ballots:
        votes_service.vote_post(users[name], posts[index]["id"], value)
    return len(ballots)


def clear() -> dict[str, int]:
    """Delete every document of every collection the app owns (indexes stay), so the next
    `seed()` starts from nothing; {collection: documents deleted}. Only in development
    or testing: a production database is never emptied by a command typed in the wrong
    shell."""
    environment = current_app.config["ENV_NAME"]
    if environment not in CLEARABLE:
        raise Forbidden(f"Refusing to empty the database of the {environment} configuration.")
    counts = {model.collection_name: model().delete_all() for model in indexes.registered_models()}
    # Cached lists would show the deleted topics and posts until their TTL.
    for namespace in (TOPIC_LISTS, FRONT_PAGE):
        get_cache().invalidate(namespace)
    return counts
