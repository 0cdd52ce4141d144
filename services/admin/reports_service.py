"""Reports: filing them, listing them for the right moderators, and resolving them.

Who sees a report: site moderators and admins all of them; topic moderators those whose
target lives in their topic (`topic_id`). Anyone else is answered 404, as if the report
did not exist. Reporters are never revealed to the reported: nobody, whatever their role,
sees, lists or resolves a report whose target they wrote (or, for a topic, own); someone
else handles it. Resolving applies one action to the target and closes every open report
about it at once (see models/report.py for the claim that makes this atomic).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId

from models.base import to_object_id
from models.comment import Comment
from models.message import Message
from models.post import Post
from models.report import Report, open_condition, open_key
from models.user import User
from services.accounts import write_gate
from services.admin import admin_service
from services.chat import chat_access, chat_history
from services.forum import (
    comments_service,
    post_actions,
    posts_service,
    pseudonyms,
    topic_moderation,
    topics_service,
)
from services.platform import audit_service, topic_access
from services.platform.shapes.admin import REPORT
from utils import clock
from utils.errors import BadRequest, Conflict, Forbidden, NotFound
from utils.roles import is_site_moderator

SNAPSHOT_CHARS = 500


# Targets: what is reported, where it lives, who wrote it

def _resolve_target(user: dict[str, Any], target_type: str, target_id: str) -> dict[str, Any]:
    """{id, topic_id, author_id, snapshot} for a target `user` may see; NotFound else."""
    oid = to_object_id(target_id, target_type.capitalize())
    return TARGETS[target_type](user, oid)


def _post_target(user: dict[str, Any], oid: ObjectId) -> dict[str, Any]:
    post, topic = posts_service.get_readable_post(user, oid)
    if post["deleted"]:
        raise NotFound("Post not found.")
    return {"id": oid, "topic_id": topic["_id"], "author_id": post["author_id"],
            "anonymous": bool(post.get("anonymous")), "pseudonym": post.get("pseudonym"),
            "snapshot": {"title": post["title"], "text": post["body"][:SNAPSHOT_CHARS]}}


def _comment_target(user: dict[str, Any], oid: ObjectId) -> dict[str, Any]:
    comment, post, topic = comments_service.get_readable_comment(user, oid)
    if comment["deleted"]:
        raise NotFound("Comment not found.")
    return {"id": oid, "topic_id": topic["_id"], "author_id": comment["author_id"],
            "anonymous": bool(comment.get("anonymous")), "pseudonym": comment.get("pseudonym"),
            "snapshot": {"post_id": str(post["_id"]),
                         "text": comment["body"][:SNAPSHOT_CHARS]}}


def _message_target(user: dict[str, Any], oid: ObjectId) -> dict[str, Any]:
    message, room = chat_access.readable_message(user, oid)
    return {"id": oid, "topic_id": room.get("topic_id") if room["kind"] == "topic" else None,
            "author_id": message["author_id"],
            "snapshot": {"room_id": str(room["_id"]), "seq": message["seq"],
                         "text": message["body"][:SNAPSHOT_CHARS]}}


def _user_target(user: dict[str, Any], oid: ObjectId) -> dict[str, Any]:
    target = User().find_active(oid)
    if target is None:
        raise NotFound("User not found.")
    return {"id": oid, "topic_id": None, "author_id": oid,
            "snapshot": {"username": target["username"], "bio": target.get("bio") or ""}}


def _topic_target(user: dict[str, Any], oid: ObjectId) -> dict[str, Any]:
    topic = topic_access.get_readable_topic(user, oid)
    return {"id": oid, "topic_id": oid, "author_id": topic["owner_id"],
            "snapshot": {"title": topic["title"],
                         "text": topic["description"][:SNAPSHOT_CHARS]}}


TARGETS = {"post": _post_target, "comment": _comment_target, "message": _message_target,
           "user": _user_target, "topic": _topic_target}


# Filing

def create_report(user: dict[str, Any], target_type: str, target_id: str, reason: str,
                  details: str | None) -> tuple[dict[str, Any], bool]:
    """(report, created); the same open report again when it was already filed."""
    write_gate.admit(user, "report")
    target = _resolve_target(user, target_type, target_id)
    if target["author_id"] == user["_id"] and target_type != "topic":
        raise BadRequest("You cannot report yourself or your own content.")
    reports = Report()
    existing = reports.find_open(user["_id"], target_type, target["id"])
    if existing is not None:
        return existing, False
    try:
        report = reports.insert({
            "open_key": open_key(user["_id"], target_type, target["id"]),
            "target_type": target_type, "target_id": target["id"],
            "topic_id": target["topic_id"], "target_author_id": target["author_id"],
            "target_anonymous": target.get("anonymous", False),
            "target_pseudonym": target.get("pseudonym") if target.get("anonymous") else None,
            "reporter_id": user["_id"], "reason": reason, "details": details or "",
            "snapshot": target["snapshot"], "status": "open", "created_at": clock.now(),
            "resolved_at": None, "resolved_by": None, "resolution": None, "note": None})
    except Conflict:
        # The same person reporting twice at once: the other request stored it.
        report = reports.find_open(user["_id"], target_type, target["id"])
        if report is None:
            raise
        return report, False
    return report, True


# Reading

def _status_query(status: str) -> dict[str, Any]:
    return open_condition(clock.now()) if status == "open" else {"status": status}


def list_all(user: dict[str, Any], status: str, limit: int, cursor: str | None
             ) -> tuple[list[dict[str, Any]], str | None]:
    if not is_site_moderator(user):
        raise Forbidden()
    query = {"$and": [_not_about(user), _status_query(status)]}
    return Report().find_page(query, limit, cursor)


def list_for_topic(user: dict[str, Any], topic_id: str, status: str, limit: int,
                   cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    topic = topic_access.get_readable_topic(user, topic_id)
    if not topic_access.can_moderate(user, topic):
        raise Forbidden("Only moderators of this topic may see its reports.")
    query = {"$and": [{"topic_id": topic["_id"]}, _not_about(user), _status_query(status)]}
    return Report().find_page(query, limit, cursor)


def _not_about(user: dict[str, Any]) -> dict[str, Any]:
    """Reports whose target `user` did not write: the reported never see who reported
    them, nor the report (they would guess from its details and timing)."""
    return {"target_author_id": {"$ne": user["_id"]}}


def _visible_report(user: dict[str, Any], report_id: str) -> dict[str, Any]:
    report = Report().find_by_id(report_id)
    if report is None or not can_handle(user, report):
        raise NotFound("Report not found.")
    return report


def can_handle(user: dict[str, Any], report: dict[str, Any]) -> bool:
    if report.get("target_author_id") == user["_id"]:
        return False  # see `_not_about`
    if is_site_moderator(user):
        return True
    if report["topic_id"] is None:
        return False
    try:
        topic = topic_access.get_readable_topic(user, report["topic_id"])
    except NotFound:
        return False
    return topic_access.can_moderate(user, topic)




def serialize_report(report: dict[str, Any]) -> dict[str, Any]:
    """The moderators' copy. The author of anonymous content shows as its stand-in (id
    and `target_pseudonym`): every unmasking goes through the audited
    `pseudonyms.resolve`; the report's actions still reach the stored author."""
    # A report being resolved is still open to its readers until the resolution lands.
    status = "open" if report["status"] == "resolving" else report["status"]
    shown = {"target_pseudonym": None}
    if report.get("target_anonymous"):
        name = report.get("target_pseudonym") or _pseudonym_of(report)
        shown = {"target_pseudonym": name,
                 "target_author_id": pseudonyms.stand_in(name)["_id"] if name else None}
    return REPORT.dump({**report, **shown, "status": status,
                        "snapshot": report.get("snapshot") or {}})


def _pseudonym_of(report: dict[str, Any]) -> str | None:
    """Reports filed before `target_pseudonym` was stored: read it from the target."""
    model = {"post": Post, "comment": Comment}.get(report["target_type"])
    target = model().find_by_id(report["target_id"], {"pseudonym": 1}) if model else None
    return (target or {}).get("pseudonym")


# Resolving

def resolve(user: dict[str, Any], report_id: str, action: str, note: str | None,
            expires_at: datetime | None = None) -> list[dict[str, Any]]:
    """Apply `action` to the report's target and close every open report about it."""
    write_gate.admit(user, "moderate")
    report = _visible_report(user, report_id)
    reports = Report()
    claim = ObjectId()
    reports.claim_target(report["target_type"], report["target_id"], claim, clock.now())
    if not reports.holds_claim(report["_id"], claim):
        raise Conflict("This report was already resolved.")
    try:
        outcome = ACTIONS[action](user, report, note, expires_at)
    except Exception:
        reports.release(claim)  # nothing was done: the reports are open again
        raise
    status = "dismissed" if action == "dismiss" else "resolved"
    closed = reports.finish(claim, status, {"resolved_at": clock.now(),
                                            "resolved_by": user["_id"],
                                            "resolution": action, "note": note})
    audit_service.record(user, f"report.{action}", report["target_type"], report["target_id"],
                         note, {"reports": [r["_id"] for r in closed], **outcome},
                         topic_id=report["topic_id"])
    return closed


def _dismiss(user: dict[str, Any], report: dict[str, Any], note: str | None,
             expires_at: datetime | None) -> dict[str, Any]:
    return {}


def _remove_content(user: dict[str, Any], report: dict[str, Any], note: str | None,
                    expires_at: datetime | None) -> dict[str, Any]:
    """Soft delete through the owning area's service, which checks the moderator's
    rights again and emits `post_updated` / `message_deleted` after its write."""
    target_type, target_id = report["target_type"], report["target_id"]
    if target_type == "post":
        post_actions.delete_post(user, target_id)
    elif target_type == "comment":
        comment = Comment().get(target_id, "Comment")
        comments_service.delete_comment(user, target_id)
        # Its post's comment count changed: clients showing the post hear about it.
        posts_service.emit_post("post_updated", Post().get(comment["post_id"], "Post"))
    elif target_type == "message":
        if Message().get(target_id, "Message")["deleted"]:
            return {"already_removed": True}
        chat_history.delete_message(user, target_id)
    elif target_type == "topic":
        topics_service.delete_topic(user, target_id)
    else:
        raise BadRequest("A user is not content: warn or ban them instead.")
    return {}


def _warn_user(user: dict[str, Any], report: dict[str, Any], note: str | None,
               expires_at: datetime | None) -> dict[str, Any]:
    reason = note or f"Reported for {report['reason']}."
    notification = admin_service.issue_warning(
        user, report["target_author_id"], reason,
        {"report_id": report["_id"], "target_type": report["target_type"],
         "target_id": report["target_id"]}, topic_id=report["topic_id"])
    return {"notification_id": notification["_id"]}


def _ban_user(user: dict[str, Any], report: dict[str, Any], note: str | None,
              expires_at: datetime | None) -> dict[str, Any]:
    """Site staff ban from the site; topic moderators from their topic."""
    reason = note or f"Reported for {report['reason']}."
    author_id = report["target_author_id"]
    if is_site_moderator(user):
        admin_service.ban_user(user, str(author_id), reason, expires_at,
                               source={"report_id": report["_id"]})
        return {"ban": "site"}
    topic_moderation.ban_user(user, report["topic_id"], author_id, reason, expires_at)
    return {"ban": "topic"}


ACTIONS = {"dismiss": _dismiss, "remove_content": _remove_content, "warn_user": _warn_user,
           "ban_user": _ban_user}
