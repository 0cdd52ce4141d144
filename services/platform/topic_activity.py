"""The `active` sort of topic lists and their cache: a post or chat message moves its
topic up, and every write that shows in topic lists invalidates their cached pages."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from models.base import to_object_id
from models.topic import Topic
from utils import clock
from utils.cache import get_cache, read_along_stamps

TOPIC_LISTS = "topic_lists"  # cache namespace of GET /api/topics pages
read_along_stamps(TOPIC_LISTS)


def topic_lists_changed() -> None:
    get_cache().invalidate(TOPIC_LISTS)


def touch_activity(topic_id: Any, at: datetime | None = None) -> None:
    """A post or chat message happened now: the `active` sort moves the topic up."""
    Topic().touch(to_object_id(topic_id, "Topic"), at or clock.now())
    topic_lists_changed()
