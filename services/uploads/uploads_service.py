"""Uploads: through the API (`upload`), or straight to S3 with a presigned POST
(`presign`, then `complete`), and downloads (`download`). The bytes decide the type;
images are re-encoded (services/media/media.py). An upload is served to its uploader while it
is unattached, and once attached to whoever may read the message, post or comment it is
attached to; to anyone else it is the same 404 as an id that does not exist.
"""
from __future__ import annotations

import unicodedata
from datetime import timedelta
from typing import Any

from flask import Response, current_app

from models.base import is_object_id
from models.upload import PENDING, READY, RESERVED, Upload
from services.accounts import write_gate
from services.chat import chat_access
from services.forum import comments_service, posts_service
from services.media import attachments, media
from services.platform import file_storage
from services.platform.shapes.media import ATTACHMENT
from utils import clock
from utils import storage as backends
from utils.errors import (
    APIError,
    BadRequest,
    Conflict,
    NotFound,
    PayloadTooLarge,
    QuotaExceeded,
    RateLimited,
    ValidationFailed,
)

NAME_MAX = 255
QUOTA_ATTEMPTS = 25
# What a download answer may never do in a browser: run script, load anything, be
# sniffed as another type.
SAFE_HEADERS = {"X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'none'; sandbox",
                "Cross-Origin-Resource-Policy": "same-site"}


def clean_name(name: str | None) -> str:
    """A display name for the file: no directories, no control characters, at most 255
    characters with its extension kept. Never used as a storage key."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip(" .")
    if not name:
        return "file"
    if len(name) > NAME_MAX:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 16:
            name = stem[:NAME_MAX - len(extension) - 1] + "." + extension
        else:
            name = name[:NAME_MAX]
    return name


def _reserve(user: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    """Insert the upload's first record, counted by its `size`, only if the user's daily
    quota holds it, atomically: the record takes the next number of the user's quota
    slots (unique), so of two checks that read the same uploads only one can insert; the
    other one reads again and checks again. (A removal of the user's newest upload
    racing two reservations can let one through unseen; removals are jobs, rarely that
    close.) Give the bytes back by removing the record."""
    config, uploads, owner_id = current_app.config, Upload(), user["_id"]
    quota = config["UPLOAD_QUOTA_BYTES_PER_DAY"]
    for _attempt in range(QUOTA_ATTEMPTS):
        number = uploads.last_quota_number(owner_id) + 1  # read before the bytes
        used = uploads.bytes_since(owner_id, clock.now() - timedelta(days=1))
        if used + document["size"] > quota:
            raise QuotaExceeded("You uploaded too much today; try again later.",
                                details={"quota_bytes": quota, "used_bytes": used})
        try:
            return uploads.insert({**document, "owner_id": owner_id, "attached_to": None,
                                   "created_at": clock.utcnow(),
                                   "quota_slot": Upload.quota_slot(owner_id, number)})
        except Conflict:
            continue
    raise RateLimited(1, "Too many uploads at once; try again in a moment.")


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"A file may be at most {limit} bytes.",
                           details={"max_bytes": limit})


def _store(data: bytes, name: str) -> dict[str, Any]:
    """Check and store the bytes; the upload's fields (not yet its document)."""
    config = current_app.config
    kind = media.check_type(data, name, config["UPLOAD_ALLOWED_TYPES"])
    fields: dict[str, Any] = {"content_type": kind}
    thumbnail = None
    if kind in media.IMAGE_TYPES:
        image = media.process_image(data, kind, media.Budget.of(config))
        data, thumbnail = image.data, image.thumbnail
        fields.update(width=image.width, height=image.height, color=image.color)
    storage = file_storage.get_storage()
    key = backends.new_key("uploads", media.EXTENSIONS.get(kind, "bin"))
    storage.save(key, data, kind)
    fields.update(key=key, size=len(data))
    if thumbnail is not None:
        fields["thumb_key"] = backends.new_key("thumbs", "png")
        storage.save(fields["thumb_key"], thumbnail, "image/png")
    return fields


def upload(user: dict[str, Any], name: str | None, data: bytes) -> dict[str, Any]:
    """An upload through the API: `{id, name, content_type, size, url, ...}`."""
    write_gate.admit(user, "upload")
    limit = current_app.config["UPLOAD_MAX_BYTES"]
    if len(data) > limit:
        raise _too_large(limit)
    if not data:
        raise ValidationFailed(details={"file": ["The file is empty."]})
    name = clean_name(name)
    uploads = Upload()
    reserved = _reserve(user, {"name": name, "state": RESERVED, "size": len(data)})
    try:
        fields = _store(data, name)
    except BaseException:
        uploads.remove(reserved["_id"])  # refused or failed: the bytes are given back
        raise
    document = uploads.finish(reserved["_id"], fields, state=RESERVED)
    return ATTACHMENT.dump(attachments.stored_meta(document))


def presign(user: dict[str, Any], name: str, size: int) -> dict[str, Any]:
    """A presigned POST for one file of at most `size` bytes, straight to the bucket;
    `complete` makes it usable once the client sent it."""
    write_gate.admit(user, "upload")
    storage = file_storage.get_storage()
    if not storage.direct_uploads:
        raise BadRequest("This server takes uploads through POST /api/uploads only "
                         "(the local storage backend has no direct uploads).")
    limit = current_app.config["UPLOAD_DIRECT_MAX_BYTES"]
    if size > limit:
        raise _too_large(limit)
    key = backends.new_key("uploads")
    seconds = current_app.config["S3_PRESIGN_SECONDS"]
    form = storage.presigned_post(key, size, seconds)
    document = _reserve(user, {"name": clean_name(name), "state": PENDING, "size": size,
                               "raw_key": key})
    return {"upload_id": str(document["_id"]), "url": form["url"], "fields": form["fields"],
            "max_bytes": size, "expires_in": seconds}


def complete(user: dict[str, Any], upload_id: str) -> dict[str, Any]:
    """The client says the presigned POST is done: check the object (size, type, image)
    as an upload through the API would be, and make it usable."""
    write_gate.admit(user, "finish_upload")
    uploads = Upload()
    pending = _own(user, upload_id)
    if pending["state"] != PENDING:
        return ATTACHMENT.dump(attachments.stored_meta(pending))
    storage = file_storage.get_storage()
    raw_key = pending["raw_key"]
    size = storage.size(raw_key)
    if size is None:
        raise ValidationFailed("Nothing was uploaded yet.",
                               details={"file": ["No object at the presigned key."]})
    try:
        if size > pending["size"]:
            raise _too_large(pending["size"])
        fields = _store(storage.read(raw_key) or b"", pending["name"])
    except APIError:
        uploads.mark_deleted([pending["_id"]])  # refused for good; the sweep removes it
        raise
    finally:
        storage.delete(raw_key)  # what is kept is the checked copy, under its own key
    done = uploads.finish(pending["_id"], {**fields, "raw_key": None})
    if done is None:  # confirmed twice at once: the other one stored its copy
        for key in (fields.get("key"), fields.get("thumb_key")):
            storage.delete(key)
        done = _own(user, upload_id)
    return ATTACHMENT.dump(attachments.stored_meta(done))


def _own(user: dict[str, Any], upload_id: str) -> dict[str, Any]:
    upload_doc = Upload().find_by_id(upload_id) if is_object_id(upload_id) else None
    if upload_doc is None or upload_doc["owner_id"] != user["_id"] or upload_doc["state"] not in (
            PENDING, READY):
        raise NotFound("Upload not found.")
    return upload_doc


def readable_upload(user: dict[str, Any], upload_id: str) -> dict[str, Any]:
    """The upload if `user` may download it, else NotFound (the same as a missing id)."""
    upload_doc = Upload().find_by_id(upload_id) if is_object_id(upload_id) else None
    if upload_doc is None or upload_doc["state"] != READY:
        raise NotFound("Upload not found.")
    target = upload_doc.get("attached_to")
    try:
        if target is None or target["kind"] == "scheduled":
            # Not attached, or held by a scheduled message still waiting: its author's.
            if upload_doc["owner_id"] != user["_id"]:
                raise NotFound()
        elif target["kind"] == "message":
            chat_access.readable_message(user, target["id"])
        elif target["kind"] == "post":
            post, _topic = posts_service.get_readable_post(user, target["id"])
            if post["deleted"]:
                raise NotFound()
        elif target["kind"] == "comment":
            comment, _post, _topic = comments_service.get_readable_comment(user, target["id"])
            if comment["deleted"]:
                raise NotFound()
        else:
            raise NotFound()
    except NotFound:
        raise NotFound("Upload not found.") from None
    return upload_doc


def download(user: dict[str, Any], upload_id: str, thumbnail: bool = False) -> Response:
    """The file (or its thumbnail) for someone who may read it: streamed, handed to nginx
    (X-Accel-Redirect) or a redirect to a short-lived presigned URL. Only re-encoded
    images are shown inline; anything else (SVG and HTML included) is a download."""
    upload_doc = readable_upload(user, upload_id)
    if thumbnail:
        if not upload_doc.get("thumb_key"):
            raise NotFound("Upload not found.")
        key, kind, inline = upload_doc["thumb_key"], "image/png", True
    else:
        key, kind = upload_doc["key"], upload_doc["content_type"]
        inline = kind in media.INLINE_TYPES
    # Never a type a browser would render as a document, even as a download.
    served_as = "application/octet-stream" if kind in media.DANGEROUS_TYPES else kind
    response = file_storage.get_storage().download(
        key, served_as, media.download_name(upload_doc["name"], kind), inline)
    response.headers.update(SAFE_HEADERS)
    response.headers["Cache-Control"] = "private, max-age=0, must-revalidate" if (
        response.status_code == 200) else "private, no-store"
    return response

