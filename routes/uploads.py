"""Uploads: files for messages, posts and comments (docs/MEDIA.md)."""
from __future__ import annotations

from routes.upload_schemas import PresignBodySchema, UploadFormSchema
from services.platform.shapes.media import AttachmentSchema, PresignedUploadSchema
from services.uploads import uploads_service
from utils.api import Blueprint
from utils.auth import current_user, login_required
from utils.http import body_limit

blp = Blueprint("uploads", __name__, description="Uploaded files and their downloads")


@blp.route("", methods=["POST"])
@body_limit("UPLOAD_MAX_BYTES")
@login_required
@blp.arguments(UploadFormSchema, location="files")
@blp.response(201, AttachmentSchema)
def create_upload(files):
    """Upload a file (multipart `file`); attach its id to a message, post or comment."""
    upload = files["file"]
    return uploads_service.upload(current_user(), upload.filename, upload.read())


@blp.route("/presign", methods=["POST"])
@login_required
@blp.arguments(PresignBodySchema)
@blp.response(201, PresignedUploadSchema)
def presign(body):
    """A presigned POST straight to object storage (S3 backend only), for large files."""
    return uploads_service.presign(current_user(), body["name"], body["size"])


@blp.route("/<objectid:upload_id>/complete", methods=["POST"])
@login_required
@blp.response(200, AttachmentSchema)
def complete(upload_id):
    """Confirm a presigned upload: the server checks the object, then it can be attached."""
    return uploads_service.complete(current_user(), upload_id)


@blp.route("/<objectid:upload_id>")
@login_required
@blp.response(200, description="The file, or a redirect (302) to a short-lived URL of it.")
def download(upload_id):
    """Download a file: its uploader, or whoever may read what it is attached to."""
    return uploads_service.download(current_user(), upload_id)


@blp.route("/<objectid:upload_id>/thumbnail")
@login_required
@blp.response(200, content_type="image/png", description="A PNG of at most 320x320.")
def thumbnail(upload_id):
    """The thumbnail of an image, for the same people as the file."""
    return uploads_service.download(current_user(), upload_id, thumbnail=True)
