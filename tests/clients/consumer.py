"""Type-checked by tests/test_generated_clients.py with `mypy --strict` against the
client openapi-python-client generates from /api/openapi.json (as `roundtable_client`),
then run against the app. It fails to type-check when the document loses what a client
relies on: a field that is always sent stops being required (`T | Unset`), a time loses
`format: date-time` (a `str`, not a `datetime`), a nullable user becomes "any object or
the user", or the search union loses its `type`."""
from __future__ import annotations

import datetime

from roundtable_client import AuthenticatedClient
from roundtable_client.api.posts import get_api_posts_post_id
from roundtable_client.api.search import get_api_search
from roundtable_client.models import (
    Comment,
    GetApiSearchType,
    Message,
    Post,
    PublicUser,
    SearchPage,
    SearchPost,
    SearchTopic,
    SearchUser,
    Topic,
)


def byline(post: Post | SearchPost) -> str:
    author: PublicUser | None = post.author
    created: datetime.datetime = post.created_at
    edited: datetime.datetime | None = post.edited_at
    title: str = post.title
    counts: int = post.comment_count + post.score
    name = "[deleted]" if author is None else author.username
    return f"{title} by {name} in {created.year}{'' if edited is None else ' (edited)'} " \
        f"{counts} {post.topic_id}"


def comment_author(comment: Comment) -> str | None:
    return None if comment.author is None else comment.author.id


def message_line(message: Message) -> str:
    seq: int = message.seq
    name = "?" if message.author is None else message.author.username
    return f"{seq} {name}: {message.body} {message.created_at.isoformat()}"


def topic_owner(topic: Topic) -> str | None:
    return None if topic.owner is None else topic.owner.username


def search_label(item: SearchPost | SearchTopic | SearchUser) -> str:
    if isinstance(item, SearchPost):
        return f"{item.type_.value}: {byline(item)}"
    if isinstance(item, SearchTopic):
        return f"{item.type_.value}: {item.slug} {item.last_activity_at.year}"
    return f"{item.type_.value}: {item.username}"


def post_line(client: AuthenticatedClient, post_id: str) -> str:
    post = get_api_posts_post_id.sync(post_id, client=client)
    if not isinstance(post, Post):
        raise AssertionError(post)
    return byline(post)


def search_labels(client: AuthenticatedClient, q: str, kind: str) -> list[str]:
    page = get_api_search.sync(client=client, q=q, type_=GetApiSearchType(kind))
    if not isinstance(page, SearchPage):
        raise AssertionError(page)
    next_cursor: str | None = page.next_cursor
    return [search_label(item) for item in page.items] + ([] if next_cursor is None
                                                           else ["more"])
