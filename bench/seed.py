"""The data set: users through the real API (so tokens and documents are genuine), and
the bulk (filler users, topics, posts, comments, rooms, messages) with pymongo
`insert_many`, shaped like the documents the services write.

Defaults are "realistic" for a small community: 50 topics, 20,000 posts, 50,000 messages.
"""
from __future__ import annotations

import random
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import requests
from bson import ObjectId
from pymongo.database import Database

PASSWORD = "bench-Password-123!"
WORDS = ("community discussion moderation release roadmap question answer idea python "
         "flask socket latency database cache message topic thread reply vote").split()


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
        db.users.update_one({"username": name}, {"$set": {"email_verified": True}})
        answer = requests.post(f"{base_url}/api/auth/token", timeout=30,
                               json={"login": name, "password": PASSWORD})
        answer.raise_for_status()
        document = db.users.find_one({"username": name})
        users[name] = {"id": str(document["_id"]), "_id": document["_id"],
                       "token": answer.json()["token"]}
    return users


def bulk_users(db: Database, template_name: str, count: int, seed: int = 1) -> list[ObjectId]:
    """Filler users cloned from a registered user's document, so the shape is exact."""
    template = db.users.find_one({"username": template_name})
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
    """Topics, posts, comments, rooms and messages, once their branches are merged."""
    # Filled in when the topics and messaging models exist on this branch.
    return None


def real_join(data: dict):
    raise NotImplementedError
