"""Users: profiles, avatar, account deletion, search, friends and blocks."""
from __future__ import annotations

from flask import Response, send_file
from flask_limiter.util import get_remote_address

from routes.account_schemas import (
    AvatarUploadSchema,
    DeleteAccountSchema,
    ExportDownloadQuerySchema,
    FriendRequestQuerySchema,
    InitialsQuerySchema,
    ProfileUpdateSchema,
    UserSearchQuerySchema,
)
from routes.topic_schemas import MyTopicsQuerySchema
from services.accounts import users_service
from services.accounts.users_service import serialize_private_user, serialize_public_user
from services.discovery import my_lists
from services.platform.shapes.forum import TopicInvitationPageSchema, TopicPageSchema
from services.platform.shapes.users import (
    DATA_EXPORT,
    AvatarSchema,
    BlockedPageSchema,
    DataExportSchema,
    FriendPageSchema,
    FriendRequestPageSchema,
    FriendRequestSchema,
    FriendSchema,
    PrivateUserSchema,
    PublicUserSchema,
    UserPageSchema,
    avatar_url,
)
from services.privacy import account_deletion, data_export
from utils import auth
from utils.api import Blueprint
from utils.auth import current_user, login_required
from utils.pagination import page
from utils.schemas import PageQuerySchema

blp = Blueprint("users", __name__, description="Profiles, friends and blocks")


@blp.route("/me")
@login_required
@blp.response(200, PrivateUserSchema)
def get_me():
    """My profile, private view."""
    return serialize_private_user(current_user())


@blp.route("/me", methods=["PATCH"])
@login_required
@blp.arguments(ProfileUpdateSchema)
@blp.response(200, PrivateUserSchema)
def update_me(body):
    """Change display name, bio or settings."""
    return serialize_private_user(users_service.update_profile(current_user(), body))


@blp.route("/me", methods=["DELETE"])
@login_required
@blp.arguments(DeleteAccountSchema)
@blp.response(204)
def delete_me(body):
    """Delete my account (needs the password); `content=keep` leaves my posts, comments
    and messages by "deleted user", `content=remove` turns them into deleted markers."""
    account_deletion.delete_account(current_user(), body["password"], get_remote_address(),
                                    body["content"])
    auth.end_session()


@blp.route("/me/export", methods=["POST"])
@login_required
@blp.response(202, DataExportSchema)
def request_export():
    """Export my data: a JSON archive is built and a download link mailed (one a day)."""
    return DATA_EXPORT.dump(data_export.request_export(current_user()))


@blp.route("/me/exports/<objectid:export_id>")
@login_required
@blp.arguments(ExportDownloadQuerySchema, location="query")
@blp.response(200, content_type="application/json", description="The JSON archive.")
def download_export(query, export_id):
    """Download my export with the mailed link's token (its owner only, until it expires)."""
    path, export = data_export.archive_for_download(current_user(), export_id, query["token"])
    return send_file(path, mimetype="application/json", as_attachment=True,
                     download_name=f"roundtable-export-{export['created_at']:%Y-%m-%d}.json",
                     max_age=0)


@blp.route("/me/avatar", methods=["PUT"])
@login_required
@blp.arguments(AvatarUploadSchema, location="files")
@blp.response(200, AvatarSchema)
def put_avatar(files):
    """Upload an avatar: PNG, JPEG, WebP or GIF up to 2 MB, stored as 256x256 PNG."""
    user = users_service.set_avatar(current_user(), files["file"].read())
    return {"avatar_url": avatar_url(user)}


@blp.route("/")
@blp.arguments(UserSearchQuerySchema, location="query")
@blp.response(200, UserPageSchema)
def search(query):
    """Find users by username or display name prefix."""
    documents, next_cursor = users_service.search(current_user(), query["q"], query["limit"],
                                                  query["cursor"])
    return page(documents, next_cursor, serialize_public_user)


@blp.route("/<string:username>")
@blp.response(200, PublicUserSchema)
def get_user(username):
    """A public profile (never the email)."""
    return serialize_public_user(users_service.get_public_profile(current_user(), username))


@blp.route("/initials.svg")
@blp.arguments(InitialsQuerySchema, location="query")
@blp.response(200, content_type="image/svg+xml",
              description="Up to two letters on a colour of the palette.")
def generated_avatar(query):
    """The picture `avatar_url` names for a user who uploaded none: the letters and the
    colour in its URL, drawn here (no third-party service, works offline, reads no
    account, so it tells nothing about who exists). Only shapes and escaped text;
    served with `Content-Security-Policy: default-src 'none'` and `nosniff` like every
    response, cacheable for good (a rename is a new URL)."""
    response = Response(users_service.generated_avatar(query["text"], query["color"]),
                        mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    # Pages of the listed frontend origins show it in <img>, whatever their site.
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@blp.route("/<objectid:user_id>/block", methods=["POST"])
@login_required
@blp.response(204)
def block(user_id):
    """Block a user: no friend requests or messages between us, no search results."""
    users_service.block(current_user(), user_id)


@blp.route("/<objectid:user_id>/block", methods=["DELETE"])
@login_required
@blp.response(204)
def unblock(user_id):
    """Unblock a user."""
    users_service.unblock(current_user(), user_id)


@blp.route("/me/blocked")
@login_required
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, BlockedPageSchema)
def list_blocked(query):
    """Users I blocked, newest first."""
    return users_service.list_blocked(current_user(), query["limit"], query["cursor"])


@blp.route("/<objectid:user_id>/hide", methods=["PUT"])
@login_required
@blp.response(204)
def hide(user_id):
    """Hide a user's content from me without blocking (they are not told)."""
    users_service.hide(current_user(), user_id)


@blp.route("/<objectid:user_id>/hide", methods=["DELETE"])
@login_required
@blp.response(204)
def unhide(user_id):
    """Show a hidden user's content again."""
    users_service.unhide(current_user(), user_id)


@blp.route("/me/hidden")
@login_required
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, BlockedPageSchema)
def list_hidden(query):
    """Users whose content I hide, newest first."""
    return users_service.list_hidden(current_user(), query["limit"], query["cursor"])


@blp.route("/<objectid:user_id>/friend-request", methods=["POST"])
@login_required
@blp.response(201, FriendRequestSchema)
def send_friend_request(user_id):
    """Ask a user to be friends (accepts their request if they already asked)."""
    return users_service.send_friend_request(current_user(), user_id)


@blp.route("/me/friend-requests")
@login_required
@blp.arguments(FriendRequestQuerySchema, location="query")
@blp.response(200, FriendRequestPageSchema)
def list_friend_requests(query):
    """Pending friend requests, incoming and outgoing (filter with `direction`)."""
    return users_service.list_friend_requests(current_user(), query["direction"],
                                              query["limit"], query["cursor"])


@blp.route("/me/friend-requests/<objectid:request_id>/accept", methods=["POST"])
@login_required
@blp.response(200, FriendSchema)
def accept_friend_request(request_id):
    """Accept an incoming friend request."""
    return users_service.accept_friend_request(current_user(), request_id)


@blp.route("/me/friend-requests/<objectid:request_id>/decline", methods=["POST"])
@login_required
@blp.response(204)
def decline_friend_request(request_id):
    """Decline an incoming friend request."""
    users_service.decline_friend_request(current_user(), request_id)


@blp.route("/me/friends")
@login_required
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, FriendPageSchema)
def list_friends(query):
    """My friends, most recent first."""
    return users_service.list_friends(current_user(), query["limit"], query["cursor"])


@blp.route("/me/friends/<objectid:user_id>", methods=["DELETE"])
@login_required
@blp.response(204)
def remove_friend(user_id):
    """Remove a friend."""
    users_service.remove_friend(current_user(), user_id)


@blp.route("/me/topics")
@login_required
@blp.arguments(MyTopicsQuerySchema, location="query")
@blp.response(200, TopicPageSchema)
def my_topics(query):
    """Topics I belong to with my role (`my_role`), latest joined first; filter by `role`."""
    return my_lists.my_topics(current_user(), query["role"], query["limit"], query["cursor"])


@blp.route("/me/topic-invitations")
@login_required
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, TopicInvitationPageSchema)
def my_topic_invitations(query):
    """Invitations to private topics waiting for my answer, newest first."""
    return my_lists.my_invitations(current_user(), query["limit"], query["cursor"])
