"""The data `make bench-scale` grows: bulk `insert_many` straight into the collections the
models name, in the shapes the services write (models.message.Message.new_document,
bench/seed.py's topics, posts and comments, models.notification's fields), grown in
steps so one database serves 10^4, then 10^5, then 10^6 messages.

At every size: one busy room holds 90 % of the messages, 1,000 other topic rooms share
the rest; the reader belongs to the busy room and 499 others, with read cursors some way
back. One post per ten messages, each with one comment, plus one post holding 1,000
comments (200 top-level, four replies each); 20 topics plus one per 1,000 messages, and
one notification of the reader's per 100 messages.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Any

from bson import ObjectId
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import BulkWriteError, OperationFailure

from bench.seed import WORDS, insert_in_chunks, sentence, uuid_hex
from models.comment import Comment
from models.message import Message
from models.notification import Notification
from models.post import Post, hot_rank
from models.room import Room
from models.room_member import RoomMember
from models.topic import Topic
from models.topic_member import TopicMember
from services.chat.chat_views import snapshot
from utils.text import render_markdown, search_terms, slugify

OTHER_ROOMS = 1000
MY_ROOMS = 500
BIG_POST_COMMENTS = 1000
# A word only one message in RARE_EVERY carries: a search whose matches are few.
RARE_EVERY = 200
CHUNK = 5000
START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _rare_body(rng: random.Random, seq: int) -> str:
    body = sentence(rng, 12)
    return f"{body} zephyr" if seq % RARE_EVERY == 0 else body


class ScaleData:
    """What has been stored so far, and the ids the measured operations use."""

    def __init__(self, db: Database, reader_id: ObjectId, authors: list[ObjectId]) -> None:
        self.db, self.reader_id, self.authors = db, reader_id, authors
        self.rng = random.Random(29)
        self.messages = self.posts = self.topics_made = self.notifications = 0
        self.big_room: dict[str, Any] = {}
        self.rooms: list[dict[str, Any]] = []  # the 1,000 others
        self.topics: list[dict[str, Any]] = []
        self.big_post_id: ObjectId | None = None
        self.tick = 0  # one second per document, so created_at orders like _id

    def _moment(self) -> datetime:
        self.tick += 1
        return START + timedelta(seconds=self.tick)

    def grow(self, messages: int) -> None:
        """Add documents until `messages` messages (and everything scaled on them) exist."""
        if not self.rooms:
            self._first_rooms()
        self._topics(20 + messages // 1000)
        self._messages(messages)
        self._posts(messages // 10)
        self._notifications(messages // 100)
        self._rooms_state()

    # Topics and rooms

    def _topics(self, count: int) -> None:
        made = []
        for number in range(self.topics_made, count):
            title = f"{self.rng.choice(WORDS).title()} {self.rng.choice(WORDS)} {number}"
            created = self._moment()
            topic = {"_id": ObjectId(), "title": title, "slug": slugify(title),
                     "description": sentence(self.rng, 12),
                     "tags": self.rng.sample(WORDS, 2), "visibility": "public",
                     "owner_id": self.reader_id, "member_count": 1, "post_count": 0,
                     "created_at": created, "updated_at": created,
                     "last_activity_at": created, "deleted": False, "deleted_at": None}
            topic["search_terms"] = search_terms(topic["title"], topic["description"],
                                                 " ".join(topic["tags"]))
            made.append(topic)
        if made:
            insert_in_chunks(self.db[Topic.collection_name], made)
            insert_in_chunks(self.db[TopicMember.collection_name], [
                {"topic_id": t["_id"], "user_id": self.reader_id, "role": "owner",
                 "joined_at": t["created_at"]} for t in made])
            self.topics += made
            self.topics_made = count

    def _room(self, title: str, topic: dict[str, Any]) -> dict[str, Any]:
        room_id, now = ObjectId(), self._moment()
        return {"_id": room_id, "kind": "topic", "key": f"room:{room_id}", "title": title,
                "description": "", "topic_id": topic["_id"], "created_by": self.reader_id,
                "member_ids": [], "last_seq": 0, "last_message": None,
                "last_message_at": None, "activity_at": now, "created_at": now,
                "updated_at": now}

    def _first_rooms(self) -> None:
        self._topics(20)
        self.big_room = self._room("busy", self.topics[0])
        self.rooms = [self._room(f"room {n}", self.topics[n % 20]) for n in range(OTHER_ROOMS)]
        self.db[Room.collection_name].insert_many([self.big_room, *self.rooms])
        mine = [self.big_room, *self.rooms[:MY_ROOMS - 1]]
        self.db[RoomMember.collection_name].insert_many(
            [{"room_id": r["_id"], "user_id": self.reader_id, "joined_at": r["created_at"],
              "last_read_seq": 0, "own_after_read": 0} for r in mine])

    # Messages

    def _message(self, room: dict[str, Any]) -> dict[str, Any]:
        seq = room["last_seq"] + 1
        room["last_seq"] = seq
        document = Message().new_document(
            room["_id"], seq, self.rng.choice(self.authors), _rare_body(self.rng, seq),
            uuid_hex(self.rng), None, message_id=ObjectId())
        document["created_at"] = self._moment()
        room["_last"] = document
        return document

    def _messages(self, target: int) -> None:
        batch: list[dict[str, Any]] = []
        collection = self.db[Message.collection_name]
        while self.messages < target:
            # Nine in ten to the busy room, the tenth to the next of the others in turn.
            room = (self.rooms[self.messages // 10 % OTHER_ROOMS] if self.messages % 10 == 9
                    else self.big_room)
            batch.append(self._message(room))
            self.messages += 1
            if len(batch) == CHUNK:
                _insert_batch(collection, batch)
                batch = []
        if batch:
            _insert_batch(collection, batch)

    def _rooms_state(self) -> None:
        """Each room's last_seq and snapshot; the reader's cursors 1,000 (busy room) or
        a few messages back, so the unread counts are not all zero."""
        rooms, members = self.db[Room.collection_name], self.db[RoomMember.collection_name]
        for room in [self.big_room, *self.rooms]:
            last = room.get("_last")
            if last is None:
                continue
            rooms.update_one({"_id": room["_id"]}, {"$set": {
                "last_seq": room["last_seq"], "last_message": snapshot(last),
                "last_message_at": last["created_at"], "activity_at": last["created_at"]}})
        members.update_one({"room_id": self.big_room["_id"], "user_id": self.reader_id},
                           {"$set": {"last_read_seq": max(0, self.big_room["last_seq"] - 1000)}})
        for room in self.rooms[:MY_ROOMS - 1]:
            members.update_one({"room_id": room["_id"], "user_id": self.reader_id},
                               {"$set": {"last_read_seq": max(0, room["last_seq"] - 3)}})

    # Posts and comments

    def _post(self, topic: dict[str, Any]) -> dict[str, Any]:
        created, score = self._moment(), int(self.rng.paretovariate(1.2)) - 1
        title, body = sentence(self.rng, 8), sentence(self.rng, 40)
        if self.posts % RARE_EVERY == 0:
            body += " zephyr"
        self.posts += 1
        return {"_id": ObjectId(), "topic_id": topic["_id"],
                "author_id": self.rng.choice(self.authors), "title": title, "body": body,
                "body_html": render_markdown(body), "score": score,
                "hot_rank": hot_rank(score, created), "comment_count": 1, "pinned": False,
                "locked": False, "deleted": False, "audience": "public",
                "created_at": created, "edited_at": None,
                "search_terms": search_terms(title, body)}

    def _comment(self, post: dict[str, Any], parent: dict[str, Any] | None) -> dict[str, Any]:
        path = [*parent["path"], parent["_id"]] if parent else []
        body = sentence(self.rng, 20)
        return {"_id": ObjectId(), "post_id": post["_id"], "topic_id": post["topic_id"],
                "author_id": self.rng.choice(self.authors),
                "parent_id": parent["_id"] if parent else None, "path": path,
                "depth": len(path), "body": body, "body_html": render_markdown(body),
                "score": self.rng.randint(-2, 30), "reply_count": 0, "deleted": False,
                "created_at": self._moment(), "edited_at": None}

    def _posts(self, target: int) -> None:
        posts, comments = [], []
        if self.big_post_id is None:
            big = self._post(self.topics[0])
            big["comment_count"] = BIG_POST_COMMENTS
            self.big_post_id = big["_id"]
            posts.append(big)
            for _ in range(BIG_POST_COMMENTS // 5):
                top = self._comment(big, None)
                top["reply_count"] = 4
                comments += [top, *[self._comment(big, top) for _ in range(4)]]
        while self.posts < target:
            # Half the posts in the first topic (the one measured), half spread.
            topic = (self.topics[0] if self.posts % 2 else
                     self.topics[self.rng.randrange(len(self.topics))])
            post = self._post(topic)
            posts.append(post)
            comments.append(self._comment(post, None))
        insert_in_chunks(self.db[Post.collection_name], posts, CHUNK)
        insert_in_chunks(self.db[Comment.collection_name], comments, CHUNK)
        counts: dict[ObjectId, int] = {}
        for post in posts:
            counts[post["topic_id"]] = counts.get(post["topic_id"], 0) + 1
        for topic_id, count in counts.items():
            self.db[Topic.collection_name].update_one(
                {"_id": topic_id}, {"$inc": {"post_count": count},
                                    "$set": {"last_activity_at": self._moment()}})

    # Notifications

    def _notifications(self, target: int) -> None:
        made = []
        for _ in range(self.notifications, target):
            when = self._moment()
            made.append({"_id": ObjectId(), "group_key": str(ObjectId()),
                         "user_id": self.reader_id, "kind": "comment_reply",
                         "subject": None, "data": {"post_id": str(self.big_post_id)},
                         "count": 1, "actors": [], "read": self.rng.random() < 0.8,
                         "read_at": None, "email": False, "mail_pending": False,
                         "emailed_at": None, "created_at": when, "updated_at": when})
        insert_in_chunks(self.db[Notification.collection_name], made, CHUNK)
        self.notifications = max(self.notifications, target)


def _insert_batch(collection: Collection, batch: list[dict[str, Any]], attempts: int = 3
                  ) -> None:
    """insert_many, tried again on a server error (SecantusDB answered one "internal server
    error" 900,000 messages into a seeding run at load 12): the documents a failed try
    stored already are the duplicates the next try skips."""
    for attempt in range(attempts):
        try:
            collection.insert_many(batch, ordered=False)
            return
        except BulkWriteError as exc:
            if all(error["code"] == 11000 for error in exc.details["writeErrors"]):
                return  # stored by the try before
            if attempt == attempts - 1:
                raise
        except OperationFailure:
            if attempt == attempts - 1:
                raise

