"""Export my data: `request_export` records a pending export and queues `build_export`,
which writes a JSON archive (profile, topic memberships, posts, comments, messages sent,
votes, what those said before each edit, saved items, drafts, scheduled messages, poll
ballots, followed threads) and mails its owner a download link. The link is signed for
that user and that export and expires with it (EXPORT_LINK_HOURS); downloading also
needs the owner's login, so a forwarded mail alone gives nobody the archive. One export
per user per EXPORT_INTERVAL_HOURS. `sweep_exports` (hourly) deletes expired archives.

Archives are files on a local directory (EXPORT_DIR) behind `_archive_path`, `save_archive`
and `delete_archive`, so another storage can replace it in one place.
"""
from __future__ import annotations

import json
import logging
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bson import ObjectId
from flask import current_app

from models.comment import Comment
from models.data_export import READY, DataExport
from models.draft import Draft
from models.edit_version import EditVersion
from models.message import Message
from models.poll_ballot import PollBallot
from models.post import Post
from models.saved_item import SavedItem
from models.scheduled_message import ScheduledMessage
from models.thread_follow import ThreadFollow
from models.topic_member import TopicMember
from models.user import User
from models.vote import Vote
from services.platform import email_service, tokens
from services.platform.shapes.users import PRIVATE_USER
from utils import clock, jobs
from utils.errors import NotFound, RateLimited

log = logging.getLogger(__name__)

PURPOSE = "export"
FORMAT_VERSION = 1
# What of each collection the archive carries (the user's own words and choices).
FIELDS = {
    "posts": (Post, "author_id", ("topic_id", "title", "body", "score", "comment_count",
                                  "deleted", "created_at", "edited_at")),
    "comments": (Comment, "author_id", ("post_id", "parent_id", "body", "score", "deleted",
                                        "created_at", "edited_at")),
    "messages": (Message, "author_id", ("room_id", "seq", "body", "deleted", "created_at",
                                        "edited_at")),
    "votes": (Vote, "user_id", ("target_type", "target_id", "value", "created_at",
                                "updated_at")),
    "topics": (TopicMember, "user_id", ("topic_id", "role", "joined_at")),
    # What my posts, comments and messages said before each edit.
    "edit_versions": (EditVersion, "author_id", ("item_type", "item_id", "version", "title",
                                                 "body", "attachments", "written_at",
                                                 "replaced_at")),
    "saved": (SavedItem, "user_id", ("item_type", "item_id", "created_at")),
    "drafts": (Draft, "user_id", ("room_id", "body", "updated_at")),
    "scheduled_messages": (ScheduledMessage, "author_id", (
        "room_id", "body", "attachments", "reply_to", "thread_root_id", "send_at",
        "created_at")),
    "poll_ballots": (PollBallot, "user_id", ("poll_id", "option_ids", "created_at",
                                             "updated_at")),
    "thread_follows": (ThreadFollow, "user_id", ("root_id", "room_id", "followed_at")),
}


# Storage of the archives (a local directory for now)

def _archive_path(key: str) -> Path:
    if "/" in key or key.startswith("."):
        raise ValueError(f"not an export key: {key!r}")
    return Path(current_app.config["EXPORT_DIR"]) / key


def save_archive(key: str, data: bytes) -> None:
    path = _archive_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.tmp")
    partial.write_bytes(data)
    partial.rename(path)  # a reader never sees half an archive


def delete_archive(key: str | None) -> None:
    if key:
        _archive_path(key).unlink(missing_ok=True)


# Asking for an export

def request_export(user: dict[str, Any]) -> dict[str, Any]:
    """A pending export whose archive a job builds; 429 within EXPORT_INTERVAL_HOURS of
    the previous one (claimed on the user document, so two requests at once make one)."""
    config = current_app.config
    now = clock.now()
    interval = timedelta(hours=config["EXPORT_INTERVAL_HOURS"])
    claimed = User().update_if(
        user["_id"], {"$or": [{"last_export_at": None},
                              {"last_export_at": {"$lte": now - interval}}]},
        {"$set": {"last_export_at": now}})
    if claimed is None:
        last = (User().find_by_id(user["_id"]) or {}).get("last_export_at") or now
        wait = (last + interval - now).total_seconds()
        raise RateLimited(wait, "You can ask for one export per "
                                f"{config['EXPORT_INTERVAL_HOURS']} hours.")
    export = DataExport().create(user["_id"], now,
                                 now + timedelta(hours=config["EXPORT_LINK_HOURS"]))
    build_export.enqueue(str(export["_id"]))
    return export


@jobs.task(retries=2, retry_delay=30)
def build_export(export_id: str) -> None:
    export = DataExport().find_by_id(export_id)
    if export is None or export["status"] != "pending":
        return
    user = User().find_by_id(export["user_id"])
    if user is None or user.get("deleted"):
        return
    data = json.dumps(build_archive(user), default=_plain, ensure_ascii=False,
                      indent=1).encode()
    key = f"{export['_id']}-{secrets.token_urlsafe(16)}.json"
    save_archive(key, data)
    if DataExport().mark_ready(export["_id"], key, len(data), clock.now()) is None:
        delete_archive(key)  # built twice (a retry): the first one stands
        return
    token = tokens.make(PURPOSE, str(user["_id"]), str(export["_id"]),
                        export["expires_at"] - clock.now())
    email_service.send_template(
        user["email"], "data_export", username=user["username"],
        link=tokens.frontend_link(f"exports/{export['_id']}", token),
        hours=current_app.config["EXPORT_LINK_HOURS"])


def build_archive(user: dict[str, Any]) -> dict[str, Any]:
    archive: dict[str, Any] = {"format": FORMAT_VERSION, "exported_at": clock.now(),
                               "profile": PRIVATE_USER.dump(user)}
    for name, (model, owner_field, fields) in FIELDS.items():
        archive[name] = [{"id": doc.pop("_id"), **doc}
                         for doc in model().for_export(owner_field, user["_id"], fields)]
    return archive


def _plain(value: Any) -> Any:
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot export {type(value).__name__}")


# Downloading

def archive_for_download(user: dict[str, Any], export_id: Any, token: str
                         ) -> tuple[Path, dict[str, Any]]:
    """(file, export) for the owner holding a valid link; NotFound for anything else
    (another user's export, a missing, pending or expired one, a wrong or old token)."""
    export = DataExport().find_owned(export_id, user["_id"])
    payload = tokens.read(PURPOSE, token)
    if (export is None or export["status"] != READY or payload is None
            or payload["uid"] != str(user["_id"]) or payload["n"] != str(export["_id"])
            or export["expires_at"] <= clock.now()):
        raise NotFound("Export not found.")
    path = _archive_path(export["key"])
    if not path.is_file():
        raise NotFound("Export not found.")
    return path, export


# Clean-up

@jobs.periodic(jobs.crontab(minute="17"))
def sweep_exports() -> None:
    """Every hour: archives whose link expired are deleted with their record."""
    for export in DataExport().find_expired(clock.now()):
        delete_archive(export.get("key"))
        DataExport().delete(export["_id"])


def forget_user(user_id: ObjectId) -> None:
    """Account deletion: every archive of the user goes at once."""
    for export in DataExport().delete_of_user(user_id):
        delete_archive(export.get("key"))
