"""The lists a user keeps coming back to: a topic by its slug, my topics, my pending topic
invitations and the reports I filed with their outcome. Each list is only ever about the
caller, so it needs no rule beyond "signed in"; what it shows of others is what the
caller may already see."""
from __future__ import annotations

from typing import Any

from models.report import Report
from models.topic import Topic
from models.topic_invitation import TopicInvitation
from models.topic_member import TopicMember
from services.accounts.users_service import public_users
from services.forum.topics_service import VIEW_FIELDS, serialize_topic
from services.platform import topic_access
from services.platform.shapes.admin import MY_REPORT
from services.platform.shapes.forum import TOPIC_INVITATION
from utils.errors import NotFound
from utils.pagination import page

MAX_SLUG = 120  # slugs come from titles of at most 100 characters, plus a suffix


def topic_by_slug(user: dict[str, Any] | None, slug: str) -> dict[str, Any]:
    """The readable topic with this slug; a private one answers non-members like a
    missing slug."""
    topic = Topic().find_live_by_slug(slug) if len(slug) <= MAX_SLUG else None
    if topic is None:
        raise NotFound("Topic not found.")
    return topic_access.get_readable_topic(user, topic["_id"])


def _topics(ids: list[Any]) -> dict[Any, dict[str, Any]]:
    return {t["_id"]: t for t in Topic().find_by_ids(ids, {**VIEW_FIELDS, "deleted": 1}).values()
            if not t.get("deleted")}


def my_topics(user: dict[str, Any], role: str | None, limit: int, cursor: str | None
              ) -> dict[str, Any]:
    """Topics I belong to with my role in each, the latest joined first."""
    documents, next_cursor = TopicMember().memberships_page(user["_id"], role, limit, cursor)
    topics = _topics([d["topic_id"] for d in documents])
    documents = [d for d in documents if d["topic_id"] in topics]
    owners = public_users([topics[d["topic_id"]]["owner_id"] for d in documents])
    return page(documents, next_cursor, lambda d: serialize_topic(
        topics[d["topic_id"]], d["role"], owners.get(topics[d["topic_id"]]["owner_id"])))


def my_invitations(user: dict[str, Any], limit: int, cursor: str | None) -> dict[str, Any]:
    """Invitations waiting for my answer, newest first. The invitation is what lets me
    see the private topic's title and description before joining."""
    documents, next_cursor = TopicInvitation().pending_page(user["_id"], limit, cursor)
    topics = _topics([d["topic_id"] for d in documents])
    documents = [d for d in documents if d["topic_id"] in topics]
    people = public_users([*{d["invited_by"] for d in documents},
                           *{t["owner_id"] for t in topics.values()}])

    def view(document: dict[str, Any]) -> dict[str, Any]:
        topic = topics[document["topic_id"]]
        return TOPIC_INVITATION.dump({
            **document, "topic": {**topic, "owner": people.get(topic["owner_id"]),
                                  "my_role": None},
            "invited_by": people.get(document["invited_by"])})

    return page(documents, next_cursor, view)


def my_reports(user: dict[str, Any], limit: int, cursor: str | None) -> dict[str, Any]:
    """Reports I filed, newest first, with their status and the action taken; never who
    handled them or the note they left."""
    documents, next_cursor = Report().filed_page(user["_id"], limit, cursor)

    def view(report: dict[str, Any]) -> dict[str, Any]:
        # A report being resolved stays open to its reader until the resolution lands.
        if report["status"] == "resolving":
            report = {**report, "status": "open", "resolution": None, "resolved_at": None}
        return MY_REPORT.dump(report)

    return page(documents, next_cursor, view)
