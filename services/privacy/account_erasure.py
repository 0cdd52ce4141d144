"""Account deletion with `content=remove`: everything the user wrote becomes the same
deleted marker a deleted post, comment or message shows ("[deleted]", no author), and
its words are erased from storage, not only hidden. The documents keep their place, so
replies, comment trees, vote totals and a chat's sequence numbers stay intact and the
threads others took part in still read.

Done in bulk (one update per collection), without a live event per item: someone with
the thread open sees the markers on the next load.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from bson import ObjectId

from models.comment import Comment
from models.message import Message
from models.post import Post
from models.room import Room
from services.forum import posts_service
from services.media import attachments
from utils import clock

# The files' metadata (names, sizes) and link previews go with the words (the files
# themselves are removed too).
ERASED = {"body": "", "body_html": "", "search_terms": [], "attachments": [], "previews": []}


def erase_content(user_id: ObjectId) -> dict[str, int]:
    """{posts, comments, messages}: how many were erased."""
    now = clock.now()
    mine: dict[str, Any] = {"author_id": user_id}
    topics = {p["topic_id"] for p in Post().collection.find(mine, {"topic_id": 1})}
    posts = Post().collection.update_many(mine, {"$set": {
        **ERASED, "title": posts_service.DELETED_TEXT, "deleted": True,
        "deleted_by": user_id}})
    Post().collection.update_many({**mine, "deleted_at": None}, {"$set": {"deleted_at": now}})

    # Comments not yet deleted leave their post's comment_count (deleted ones already did).
    live = Counter(c["post_id"] for c in Comment().collection.find(
        {**mine, "deleted": False}, {"post_id": 1}))
    comments = Comment().collection.update_many(
        {**mine, "deleted": False}, {"$set": {**ERASED, "deleted": True, "deleted_at": now}})
    Comment().collection.update_many(mine, {"$set": ERASED})
    for post_id, count in live.items():
        Post().add_comments(post_id, -count)
        topics |= {p["topic_id"] for p in Post().collection.find({"_id": post_id},
                                                                  {"topic_id": 1})}

    messages = Message().collection.update_many(
        {**mine, "deleted": False},
        {"$set": {"body": "", "reactions": {}, "deleted": True, "deleted_at": now,
                  "search_terms": [], "previews": [], "attachments": []}})
    # Words go from the message search index too.
    Message().collection.update_many(mine, {"$set": {"body": "", "search_terms": [],
                                                     "attachments": []}})
    attachments.discard_all_of(user_id)
    # A conversation list shows each room's last message: not theirs any more.
    Room().collection.update_many({"last_message.author_id": user_id},
                                  {"$set": {"last_message.body": "",
                                            "last_message.deleted": True}})
    for topic_id in topics:
        posts_service.posts_changed(topic_id)
    return {"posts": posts.modified_count, "comments": comments.modified_count,
            "messages": messages.modified_count}
