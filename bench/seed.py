"""The data set: users through the real API (so tokens and documents are genuine), and
the bulk (filler users, topics, posts, comments, rooms, messages) with pymongo
`insert_many`, shaped like the documents the services write.

Defaults are "realistic" for a small community: 50 topics, 20,000 posts, 50,000 messages.
"""
from __future__ import annotations

import random
import secrets
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import requests
from bson import ObjectId
from pymongo.database import Database

PASSWORD = "bench-Password-123!"
WORDS = ["community", "discussion", "moderation", "release", "roadmap", "question", "answer",
         "idea", "python", "flask", "socket", "latency", "database", "cache", "message",
         "topic", "thread", "reply", "vote"]


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def register_users(base_url: str, db: Database, names: list[str]) -> dict[str, dict]:
    """Register, verify (straight in the database, as no mail is read), issue a token."""
    users = {}
    for name in names:
        email = f"{name}@bench.example"
        answer = requests.post(f"{base_url}/api/auth/register", timeout=30,
                               json={"username": name, "email": email, "password": PASSWORD})
        answer.raise_for_status()
        db.users.update_one({"username_lower": name.lower()}, {"$set": {"email_verified": True}})
        answer = requests.post(f"{base_url}/api/auth/token", timeout=30,
                               json={"login": name, "password": PASSWORD})
        answer.raise_for_status()
        document = db.users.find_one({"username_lower": name.lower()})
        users[name] = {"id": str(document["_id"]), "_id": document["_id"],
                       "token": answer.json()["token"]}
    return users


def bulk_users(db: Database, template_name: str, count: int, seed: int = 1) -> list[ObjectId]:
    """Filler users cloned from a registered user's document, so the shape is exact."""
    template = db.users.find_one({"username_lower": template_name.lower()})
    rng = random.Random(seed)
    documents = []
    for number in range(count):
        name = f"member{number:05d}{rng.choice(WORDS)}"
        document = {**template, "_id": ObjectId(), "username": name,
                    "username_lower": name.lower(), "email": f"{name}@bench.example",
                    "email_lower": f"{name}@bench.example".lower(),
                    "display_name": name.title(), "display_name_lower": name.lower()}
        documents.append(document)
    insert_in_chunks(db.users, documents)
    return [d["_id"] for d in documents]


def insert_in_chunks(collection, documents: list[dict[str, Any]], size: int = 2000) -> None:
    for start in range(0, len(documents), size):
        collection.insert_many(documents[start:start + size], ordered=False)


def timed(label: str, timings: dict[str, float]):
    class _Timer:
        def __enter__(self):
            self.t = time.monotonic()

        def __exit__(self, *exc):
            timings[label] = round(time.monotonic() - self.t, 2)

    return _Timer()


def ago(rng: random.Random, days: int) -> datetime:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    return now - timedelta(seconds=rng.randint(0, days * 86400))


def seed_content(db: Database, users: dict, filler: list[ObjectId], data: dict,
                 quick: bool) -> None:
    """Topics, posts, comments, topic chat rooms and messages, shaped like the documents
    topics_service, posts_service, comments_service and the chat_* services write."""
    from models.post import hot_rank
    from services.chat.chat_views import snapshot
    from utils.text import render_markdown, search_terms

    rng = random.Random(7)
    counts = data["counts"]
    n_topics, n_posts, n_messages = (10, 1000, 2000) if quick else (50, 20000, 50000)
    owner = users["bench_reader"]["_id"]
    bench_ids = [u["_id"] for u in users.values()]
    timings = data["timings"]

    with timed("topics", timings):
        topics = [topic_document(rng, number, owner, len(bench_ids) + 100)
                  for number in range(n_topics)]
        db.topics.insert_many(topics)
        # Every bench user takes part everywhere (sending needs it), plus 100 members each.
        members = [{"topic_id": t["_id"], "user_id": uid,
                    "role": "owner" if uid == owner else "member", "joined_at": t["created_at"]}
                   for t in topics for uid in bench_ids]
        members += [{"topic_id": t["_id"], "user_id": uid, "role": "member",
                     "joined_at": t["created_at"]}
                    for t in topics for uid in rng.sample(filler, min(100, len(filler)))]
        insert_in_chunks(db.topic_members, members)

    with timed("posts", timings):
        posts = []
        for number in range(n_posts):
            topic = topics[number % n_topics]
            created, score = ago(rng, 60), int(rng.paretovariate(1.2)) - 1
            title, body = sentence(rng, 8), sentence(rng, 60)
            posts.append({"_id": ObjectId(), "topic_id": topic["_id"],
                          "author_id": rng.choice(filler), "title": title, "body": body,
                          "body_html": render_markdown(body), "score": score,
                          "hot_rank": hot_rank(score, created), "comment_count": 0,
                          "pinned": number < n_topics, "locked": False, "deleted": False,
                          "audience": "public", "created_at": created, "edited_at": None,
                          "search_terms": search_terms(title, body)})
        insert_in_chunks(db.posts, posts)
        for topic in topics:
            db.topics.update_one({"_id": topic["_id"]},
                                 {"$set": {"post_count": n_posts // n_topics}})

    with timed("comments", timings):
        # The post page scenario reads the first 200 posts: give them real threads.
        comments = []
        for post in posts[:200]:
            tops = []
            for _ in range(rng.randint(5, 20)):
                parent = rng.choice(tops) if tops and rng.random() < 0.4 else None
                path = [*parent["path"], parent["_id"]] if parent else []
                author, body = rng.choice(filler), sentence(rng, 25)  # the old draw order
                comment = {"_id": ObjectId(), "post_id": post["_id"],
                           "topic_id": post["topic_id"], "author_id": author,
                           "parent_id": parent["_id"] if parent else None, "path": path,
                           "depth": len(path), "body": body,
                           "body_html": render_markdown(body),
                           "score": rng.randint(-2, 30), "reply_count": 0, "deleted": False,
                           "created_at": ago(rng, 30), "edited_at": None}
                if parent:
                    parent["reply_count"] += 1
                tops.append(comment)
            comments += tops
            db.posts.update_one({"_id": post["_id"]}, {"$set": {"comment_count": len(tops)}})
        insert_in_chunks(db.comments, comments)

    with timed("rooms_messages", timings):
        def room(title, topic):
            return topic_room(title, topic, owner)

        rooms = [room("general", t) for t in topics]
        # Quiet rooms for the realtime runs: one everybody joins, ten for the sends.
        fanout_room = room("bench fan-out", topics[0])
        send_rooms = [room(f"bench send {n}", topics[n % n_topics]) for n in range(10)]
        messages = []
        per_room = n_messages // len(rooms)
        for chat in rooms:
            for seq in range(1, per_room + 1):
                messages.append({"_id": ObjectId(), "room_id": chat["_id"], "seq": seq,
                                 "author_id": rng.choice(filler), "body": sentence(rng, 15),
                                 "client_id": uuid_hex(rng), "reply_to": None, "reactions": {},
                                 "created_at": ago(rng, 30), "edited_at": None,
                                 "deleted": False})
            last = messages[-1]
            chat.update(last_seq=per_room, last_message=snapshot(last),
                        last_message_at=last["created_at"], activity_at=last["created_at"])
        db.rooms.insert_many([*rooms, fanout_room, *send_rooms])
        insert_in_chunks(db.messages, messages)
        db.room_members.insert_many(
            [room_member(chat, uid) for chat in [*rooms, fanout_room, *send_rooms]
             for uid in bench_ids])

    data.update(topic_ids=[str(t["_id"]) for t in topics],
                post_ids=[str(p["_id"]) for p in posts[:200]],
                room_ids=[str(r["_id"]) for r in rooms],
                fanout_room_id=str(fanout_room["_id"]),
                send_room_ids=[str(r["_id"]) for r in send_rooms])
    counts.update(topics=n_topics, posts=n_posts, comments=len(comments),
                  rooms=len(rooms) + 11, messages=len(messages))


def topic_document(rng: random.Random, number: int, owner: ObjectId,
                   member_count: int) -> dict[str, Any]:
    """A public topic as topics_service writes it."""
    from utils.text import search_terms, slugify

    title = f"{rng.choice(WORDS).title()} {rng.choice(WORDS)} {number}"
    created = ago(rng, 365)
    topic = {"_id": ObjectId(), "title": title, "slug": slugify(title),
             "description": sentence(rng, 12), "tags": rng.sample(WORDS, 2),
             "visibility": "public", "owner_id": owner, "member_count": member_count,
             "post_count": 0, "created_at": created, "updated_at": created,
             "last_activity_at": ago(rng, 2), "deleted": False, "deleted_at": None}
    topic["search_terms"] = search_terms(topic["title"], topic["description"],
                                         " ".join(topic["tags"]))
    return topic


def topic_room(title: str, topic: dict[str, Any], owner: ObjectId) -> dict[str, Any]:
    """A topic's chat room, empty, as chat_rooms writes it."""
    now = datetime.now(timezone.utc)
    room_id = ObjectId()
    return {"_id": room_id, "kind": "topic", "key": f"room:{room_id}", "title": title,
            "description": "", "topic_id": topic["_id"], "created_by": owner,
            "member_ids": [], "last_seq": 0, "last_message": None,
            "last_message_at": None, "activity_at": now, "created_at": now,
            "updated_at": now}


def room_member(room: dict[str, Any], user_id: ObjectId) -> dict[str, Any]:
    return {"room_id": room["_id"], "user_id": user_id, "joined_at": room["created_at"],
            "last_read_seq": 0, "own_after_read": 0}


def bulk_tokens(db: Database, user_ids: list[ObjectId], days: int = 1) -> list[str]:
    """One app login (an access token of its own family) per user, stored as
    services.accounts.token_pairs stores it (only the SHA-256); the tokens, in order."""
    from services.accounts.auth_login import token_hash

    now = datetime.now(timezone.utc)
    tokens = ["rta_" + secrets.token_urlsafe(32) for _ in user_ids]
    insert_in_chunks(db.auth_tokens, [
        {"user_id": uid, "token_hash": token_hash(token), "name": "bench", "created_at": now,
         "expires_at": now + timedelta(days=days), "kind": "access", "family_id": ObjectId()}
        for uid, token in zip(user_ids, tokens, strict=True)])
    return tokens


def uuid_hex(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"
