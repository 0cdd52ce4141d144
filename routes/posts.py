"""Posts, comments and votes."""
from __future__ import annotations

from routes.topic_schemas import (
    CommentCreateSchema,
    CommentQuerySchema,
    CommentUpdateSchema,
    PostCreateSchema,
    PostQuerySchema,
    PostUpdateSchema,
    VoteBodySchema,
)
from services.forum import (
    comments_service,
    forum_history,
    post_actions,
    post_follows,
    post_lists,
    posts_service,
    votes_service,
)
from services.platform.shapes.forum import (
    CommentPageSchema,
    CommentSchema,
    PostPageSchema,
    PostSchema,
    VoteResultSchema,
)
from services.platform.shapes.history import EditVersionPageSchema
from services.platform.shapes.notifications import FollowSchema
from utils.api import Blueprint
from utils.auth import current_user, login_required
from utils.schemas import PageQuerySchema

blp = Blueprint("posts", __name__, description="Posts, comments and votes")
comments_blp = Blueprint("comments", __name__, description="Comments")


@blp.route("")
@blp.arguments(PostQuerySchema, location="query")
@blp.response(200, PostPageSchema)
def list_posts(query):
    """Posts of a topic (pinned first), or without `topic_id` the front page."""
    return post_lists.list_posts(current_user(), query["topic_id"], query["sort"],
                                    query["t"], query["limit"], query["cursor"])


@blp.route("", methods=["POST"])
@login_required
@blp.arguments(PostCreateSchema)
@blp.response(201, PostSchema)
def create_post(body):
    """Post in a topic I am a member of; `body` is markdown; `anonymous` under my
    pseudonym in that topic, where it allows anonymous posts."""
    return posts_service.create_post(current_user(), body["topic_id"], body["title"],
                                     body["body"], body["attachments"], body["anonymous"],
                                     body["poll"])


@blp.route("/<objectid:post_id>")
@blp.response(200, PostSchema)
def get_post(post_id):
    """One post."""
    return posts_service.get_post(current_user(), post_id)


@blp.route("/<objectid:post_id>", methods=["PATCH"])
@login_required
@blp.arguments(PostUpdateSchema)
@blp.response(200, PostSchema)
def update_post(body, post_id):
    """Edit my post (sets `edited_at`)."""
    return posts_service.update_post(current_user(), post_id, body)


@blp.route("/<objectid:post_id>/history")
@login_required
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, EditVersionPageSchema)
def post_history(query, post_id):
    """Earlier versions of a post (title, body, attachments), the first first: to its
    author, the topic's moderators and site staff (anyone else: 404, as for a missing post)."""
    return forum_history.post_history(current_user(), post_id, query["limit"], query["cursor"])


@blp.route("/<objectid:post_id>", methods=["DELETE"])
@login_required
@blp.response(204)
def delete_post(post_id):
    """Delete a post (author, topic moderators, admins); its comments stay readable."""
    post_actions.delete_post(current_user(), post_id)


@blp.route("/<objectid:post_id>/follow")
@login_required
@blp.response(200, FollowSchema)
def get_follow(post_id):
    """Whether I follow this post (its activity notifies me)."""
    return post_follows.get_following(current_user(), post_id)


@blp.route("/<objectid:post_id>/follow", methods=["PUT"])
@login_required
@blp.response(200, FollowSchema)
def follow_post(post_id):
    """Follow a post: new comments on it notify me (writing or commenting follows it)."""
    return post_follows.set_following(current_user(), post_id, True)


@blp.route("/<objectid:post_id>/follow", methods=["DELETE"])
@login_required
@blp.response(200, FollowSchema)
def unfollow_post(post_id):
    """Stop following a post (commenting again does not follow it again)."""
    return post_follows.set_following(current_user(), post_id, False)


@blp.route("/<objectid:post_id>/vote", methods=["POST"])
@login_required
@blp.arguments(VoteBodySchema)
@blp.response(200, VoteResultSchema)
def vote_post(body, post_id):
    """Vote -1, 0 or 1 on a post; voting the same again changes nothing."""
    return votes_service.vote_post(current_user(), post_id, body["value"])


def _moderation_route(action: str):
    @blp.route(f"/<objectid:post_id>/{action}", methods=["POST"],
               endpoint=f"{action}_post")
    @login_required
    @blp.response(200, PostSchema)
    def view(post_id):
        return post_actions.moderate_post(current_user(), post_id, action)

    view.__doc__ = f"{action.capitalize()} a post (topic moderators)."
    return view


for _action in post_actions.FLAGS:
    _moderation_route(_action)


@blp.route("/<objectid:post_id>/comments")
@blp.arguments(CommentQuerySchema, location="query")
@blp.response(200, CommentPageSchema)
def list_comments(query, post_id):
    """Top-level comments, each with its replies nested in `replies`."""
    return comments_service.list_comments(current_user(), post_id, query["sort"],
                                          query["limit"], query["cursor"])


@blp.route("/<objectid:post_id>/comments", methods=["POST"])
@login_required
@blp.arguments(CommentCreateSchema)
@blp.response(201, CommentSchema)
def create_comment(body, post_id):
    """Comment on a post, or reply to a comment with `parent_id`; `anonymous` as for posts."""
    return comments_service.create_comment(current_user(), post_id, body["body"],
                                           body["parent_id"], body["attachments"],
                                           body["anonymous"])


@comments_blp.route("/<objectid:comment_id>", methods=["PATCH"])
@login_required
@comments_blp.arguments(CommentUpdateSchema)
@comments_blp.response(200, CommentSchema)
def update_comment(body, comment_id):
    """Edit my comment."""
    return comments_service.update_comment(current_user(), comment_id, body["body"])


@comments_blp.route("/<objectid:comment_id>/history")
@login_required
@comments_blp.arguments(PageQuerySchema, location="query")
@comments_blp.response(200, EditVersionPageSchema)
def comment_history(query, comment_id):
    """Earlier versions of a comment, the first first: to its author, the topic's
    moderators and site staff (anyone else: 404, as for a missing comment)."""
    return forum_history.comment_history(current_user(), comment_id, query["limit"],
                                         query["cursor"])


@comments_blp.route("/<objectid:comment_id>", methods=["DELETE"])
@login_required
@comments_blp.response(204)
def delete_comment(comment_id):
    """Delete a comment (author or moderators); its replies stay in the tree."""
    comments_service.delete_comment(current_user(), comment_id)


@comments_blp.route("/<objectid:comment_id>/vote", methods=["POST"])
@login_required
@comments_blp.arguments(VoteBodySchema)
@comments_blp.response(200, VoteResultSchema)
def vote_comment(body, comment_id):
    """Vote -1, 0 or 1 on a comment."""
    return votes_service.vote_comment(current_user(), comment_id, body["value"])
