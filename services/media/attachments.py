"""Attachments on messages, posts and comments: a sender names upload ids, and each
becomes attached to one thing, once. The metadata is copied into the message, post or
comment (`attachments`), so history, catch-up and live events carry it without a join;
the upload keeps `attached_to`, which is what decides who may download it
(services/uploads/uploads_service.py). Deleting the thing removes its files; uploads never
attached are swept after UPLOAD_UNATTACHED_SECONDS.

An attachment item is an upload id (a string). A GIF picked from the provider
(`gif` in a send) is stored in the same list with `type: "gif"` and the provider's URL:
nothing is downloaded, and it is served by the provider, not by us.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from bson import ObjectId
from flask import current_app

from models.base import is_object_id
from models.upload import Upload
from services.media import gifs
from services.platform import file_storage
from utils import clock, jobs
from utils.errors import NotFound, ValidationFailed

log = logging.getLogger(__name__)

# What a stored attachment keeps (besides `id`), as copied into the message or post.
META_FIELDS = ("name", "content_type", "size", "width", "height", "color")


def stored_meta(upload: dict[str, Any]) -> dict[str, Any]:
    """The attachment as embedded: only the fields it has (width/height for images)."""
    meta = {"id": upload["_id"], **{k: upload[k] for k in META_FIELDS
                                    if upload.get(k) is not None}}
    if upload.get("thumb_key"):
        meta["thumbnail"] = True
    return meta


def claim(user: dict[str, Any], items: list[Any] | None, kind: str,
          target_id: ObjectId, gif: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Attach `items` (upload ids of `user`'s own, ready, unattached uploads) to the
    message, post or comment `target_id` that is about to be stored; their metadata in
    the order given, then the `gif` ({url, width?, height?, thumbnail_url?}) if any.
    Release them (`release`) if the thing is not stored after all."""
    items = list(items or [])
    limit = current_app.config["UPLOAD_MAX_ATTACHMENTS"]
    if len(items) + (gif is not None) > limit:
        raise ValidationFailed(f"At most {limit} attachments.",
                               details={"attachments": [f"At most {limit} items."]})
    # Checked before any upload is claimed, so a refused GIF leaves nothing to release.
    picked = [{"id": ObjectId(), **gifs.gif_attachment(**gif)}] if gif is not None else []
    return _claim_uploads(user, items, kind, target_id) + picked


def _claim_uploads(user: dict[str, Any], items: list[Any], kind: str,
                   target_id: ObjectId) -> list[dict[str, Any]]:
    if not items:
        return []
    if not all(isinstance(item, str) and is_object_id(item) for item in items):
        raise ValidationFailed(details={"attachments": ["Give upload ids."]})
    ids = list(dict.fromkeys(ObjectId(item) for item in items))
    if len(ids) != len(items):
        raise ValidationFailed(details={"attachments": ["An upload is named twice."]})
    uploads = Upload()
    claimed = uploads.claim(ids, user["_id"], kind, target_id)
    if claimed != len(ids):
        uploads.release(target_id)
        # Someone else's upload, a missing one, one already attached: all alike.
        raise NotFound("Upload not found.")
    found = uploads.find_by_ids(ids)
    return [stored_meta(found[upload_id]) for upload_id in ids]


def release(target_id: ObjectId) -> None:
    """The thing was not stored (refused, or a resend): its uploads are free again."""
    Upload().release(target_id)


def discard(target_id: ObjectId) -> None:
    """The message, post or comment was deleted: its uploads stop being served now and
    their objects are removed by a job (the sweep removes any the job missed)."""
    _discard(Upload(), [u["_id"] for u in Upload().of_target(target_id)])


def discard_all_of(owner_id: ObjectId) -> int:
    """An account's content was erased: every file it uploaded goes the same way (the
    words of its messages and posts are erased; their files must not outlive them)."""
    uploads = Upload()
    ids = uploads.ids_of_owner(owner_id)
    _discard(uploads, ids)
    return len(ids)


def _discard(uploads: Upload, ids: list[ObjectId]) -> None:
    if ids:
        uploads.mark_deleted(ids)
        remove_uploads.enqueue([str(i) for i in ids])


@jobs.task(retries=3, retry_delay=5)
def remove_uploads(upload_ids: list[str]) -> int:
    uploads = Upload()
    removed = 0
    for upload in uploads.find_by_ids([ObjectId(i) for i in upload_ids]).values():
        removed += _remove(uploads, upload)
    return removed


def _remove(uploads: Upload, upload: dict[str, Any]) -> int:
    storage = file_storage.get_storage()
    # raw_key: what a presigned POST stored and nobody confirmed.
    for key in (upload.get("key"), upload.get("thumb_key"), upload.get("raw_key")):
        if key:
            storage.delete(key)
    uploads.remove(upload["_id"])
    return 1


def sweep() -> int:
    """Remove deleted uploads and those never attached within UPLOAD_UNATTACHED_SECONDS;
    how many were removed."""
    uploads = Upload()
    cutoff = clock.now() - timedelta(seconds=current_app.config["UPLOAD_UNATTACHED_SECONDS"])
    removed = 0
    while True:
        batch = uploads.stale(cutoff)
        if not batch:
            return removed
        for upload in batch:
            removed += _remove(uploads, upload)


@jobs.periodic(jobs.crontab(minute="17"))
def sweep_uploads() -> int:
    """Hourly: the sweep (`flask uploads sweep` runs the same by hand)."""
    removed = sweep()
    if removed:
        log.info("upload sweep removed %d uploads", removed)
    return removed
