"""Account deletion with `content=remove`: everything the user wrote becomes the same
deleted marker a deleted post, comment or message shows ("[deleted]", no author), and
its words are erased from storage, not only hidden. The documents keep their place, so
replies, comment trees, vote totals and a chat's sequence numbers stay intact and the
threads others took part in still read.

Done in bulk (one update per collection), without a live event per item: someone with
the thread open sees the markers on the next load.
"""
from __future__ import annotations

from bson import ObjectId

from models.comment import Comment
from models.edit_version import EditVersion
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
    topics = Post().topic_ids_by_author(user_id)
    posts = Post().erase_by_author(user_id, {**ERASED, "title": posts_service.DELETED_TEXT,
                                             "deleted": True, "deleted_by": user_id}, now)

    # Comments not yet deleted leave their post's comment_count (deleted ones already did).
    live = Comment().live_counts_by_author(user_id)
    comments = Comment().erase_by_author(user_id, ERASED, now)
    for post_id, count in live.items():
        Post().add_comments(post_id, -count)
        post = Post().find_by_id(post_id, {"topic_id": 1})
        topics |= {post["topic_id"]} if post else set()

    # Words go from the message search index too.
    messages = Message().erase_by_author(user_id, now)
    # What any of it said before an edit goes too (docs/TOPICS.md "Edit history").
    EditVersion().forget_author(user_id)
    attachments.discard_all_of(user_id)
    # A conversation list shows each room's last message: not theirs any more.
    Room().erase_last_messages_by(user_id)
    for topic_id in topics:
        posts_service.posts_changed(topic_id)
    return {"posts": posts, "comments": comments, "messages": messages}
