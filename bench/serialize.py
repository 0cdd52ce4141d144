"""`make bench-serialize`: the in-process cost of turning stored documents into the JSON
the API sends (no server, no database): a page of 50 posts with their authors and the
viewer's votes, 100 chat messages with authors, and 50 comments. Prints the median and
min-max of each over repeated runs, in microseconds per batch and per item; then the cost of
encoding each dumped batch as a response body, with Flask's json-module provider (what the
app used before issue 29) and with ours (utils.api.JSONProvider, orjson).

    python -m bench.serialize [--repeat 200]
"""
from __future__ import annotations

import argparse
import itertools
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from bson import ObjectId
from flask import Flask
from flask.json.provider import _default

from services.chat import chat_views
from services.forum import comments_service, posts_service
from services.platform import file_storage
from utils.api import JSONProvider

_ids = itertools.count(1)


def _id() -> ObjectId:
    """Ids in order, so two runs build the same documents (outputs can be compared)."""
    return ObjectId(f"{next(_ids):024x}")


def _users(count: int) -> list[dict]:
    start = datetime(2026, 1, 1, 12, 0, 0, 123000, tzinfo=timezone.utc)
    return [{"_id": _id(), "username": f"user{i}", "display_name": f"User {i}",
             "bio": "Writes about things." if i % 2 else "", "created_at": start,
             "avatar_key": f"avatars/{'a' * 20}{i:04d}.png" if i % 3 == 0 else None,
             "deleted": i == 7}
            for i in range(count)]


def _posts(authors: list[dict]) -> list[dict]:
    now = datetime(2026, 11, 25, 23, 18, 48, 208000, tzinfo=timezone.utc)
    return [{"_id": _id(), "topic_id": _id(), "author_id": authors[i % 20]["_id"],
             "title": f"Post number {i}", "body": "Some *markdown* " * 20,
             "body_html": "<p>Some <em>markdown</em></p>" * 20, "score": i, "hot_rank": 1.0,
             "comment_count": i * 2, "pinned": i == 0, "locked": False, "deleted": i == 9,
             "created_at": now - timedelta(minutes=i),
             "edited_at": now if i % 4 == 0 else None}
            for i in range(50)]


def _comments(authors: list[dict]) -> list[dict]:
    now = datetime(2026, 11, 25, 23, 18, 48, tzinfo=timezone.utc)
    return [{"_id": _id(), "post_id": _id(), "parent_id": None if i % 3 else _id(),
             "author_id": authors[i % 20]["_id"], "body": "A reply " * 10,
             "body_html": "<p>A reply</p>" * 10, "score": i, "depth": i % 3,
             "reply_count": 1, "deleted": i == 5, "created_at": now - timedelta(seconds=i),
             "edited_at": None}
            for i in range(50)]


def _messages(authors: list[dict]) -> list[dict]:
    now = datetime(2026, 11, 25, 23, 18, 48, 208000, tzinfo=timezone.utc)
    room_id = _id()
    return [{"_id": _id(), "room_id": room_id, "seq": i + 1,
             "author_id": authors[i % 20]["_id"], "body": f"Message {i} " * 5,
             "reply_to": _id() if i % 10 == 0 else None,
             "reactions": {"+1": ["a", "b"], "eyes": []} if i % 5 == 0 else {},
             "client_id": f"c{i}", "created_at": now + timedelta(milliseconds=i),
             "edited_at": None, "deleted": False, "system": None}
            for i in range(100)]


def _measure(batch: Callable[[], object], repeat: int) -> list[float]:
    batch()  # warm up (schema instances, caches)
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        batch()
        timings.append((time.perf_counter() - started) * 1e6)
    return timings


def _encodings(bodies: dict[str, dict], provider: JSONProvider, repeat: int) -> None:
    """Encoding a dumped batch as a response body: the json module as Flask's provider
    called it (sorted keys, ASCII escapes, compact) against ours."""
    print(f"\n{'encode':<14}{'json us':>11}{'ours us':>9}{'x':>7}{'bytes':>9}")
    for name, body in bodies.items():
        before = statistics.median(_measure(lambda body=body: json.dumps(
            body, default=_default, ensure_ascii=True, sort_keys=True,
            separators=(",", ":")), repeat))
        after = statistics.median(_measure(lambda body=body: provider.encode(body), repeat))
        print(f"{name:<14}{before:>11.0f}{after:>9.0f}{before / after:>7.1f}"
              f"{len(provider.encode(body)):>9}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    app = Flask(__name__)
    with tempfile.TemporaryDirectory() as upload_dir:
        app.config["UPLOAD_DIR"] = upload_dir
        file_storage.init_app(app)
        authors = _users(20)
        by_id = {a["_id"]: a for a in authors}
        posts, comments, messages = _posts(authors), _comments(authors), _messages(authors)
        batches = {
            "50 posts": (len(posts), lambda: [
                posts_service.serialize_post(p, by_id[p["author_id"]], 1) for p in posts]),
            "50 comments": (len(comments), lambda: [
                comments_service.serialize_comment(c, by_id[c["author_id"]], 0)
                for c in comments]),
            "100 messages": (len(messages), lambda: [
                chat_views.serialize_message(m, by_id[m["author_id"]])
                for m in messages]),
        }
        with app.app_context():
            print(f"{'batch':<14}{'median us':>11}{'min':>9}{'max':>9}{'us/item':>9}")
            for name, (count, batch) in batches.items():
                timings = _measure(batch, args.repeat)
                median = statistics.median(timings)
                print(f"{name:<14}{median:>11.0f}{min(timings):>9.0f}{max(timings):>9.0f}"
                      f"{median / count:>9.1f}")
            _encodings({name: {"items": batch()} for name, (_, batch) in batches.items()},
                       JSONProvider(app), args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
