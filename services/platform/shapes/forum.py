"""Topics, their members, bans and moderation log; posts, comments, votes and search."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from models.topic_member import ROLES
from services.platform.shapes.fields import Timestamp
from services.platform.shapes.media import AttachmentSchema
from services.platform.shapes.polls import poll_field
from services.platform.shapes.previews import previews_field
from services.platform.shapes.users import PublicUserSchema
from utils.schemas import TaggedUnion, page_schema


class TopicSchema(Schema):
    id = fields.String(attribute="_id", required=True)
    slug = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    tags = fields.List(fields.String(), required=True)
    visibility = fields.String(required=True)
    allow_anonymous = fields.Boolean(required=True, dump_default=False)
    owner = fields.Nested(PublicUserSchema, allow_none=True, required=True, dump_default=None)
    member_count = fields.Integer(required=True)
    post_count = fields.Integer(required=True, dump_default=0)
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)
    last_activity_at = Timestamp(required=True)
    my_role = fields.String(allow_none=True, required=True, dump_default=None)


class TopicInvitationSchema(Schema):
    topic = fields.Nested(TopicSchema, required=True)
    invited_by = fields.Nested(PublicUserSchema, allow_none=True, required=True)
    created_at = Timestamp(required=True)


class PseudonymSchema(Schema):
    pseudonym = fields.String(required=True)
    user = fields.Nested(PublicUserSchema, required=True)


class MemberSchema(Schema):
    user = fields.Nested(PublicUserSchema, required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    joined_at = Timestamp(required=True)


class BanSchema(Schema):
    user = fields.Nested(PublicUserSchema, required=True)
    reason = fields.String(required=True)
    expires_at = Timestamp(allow_none=True, required=True)
    created_at = Timestamp(required=True)


class ModerationEntrySchema(Schema):
    id = fields.String(attribute="_id", required=True)
    action = fields.String(required=True)
    actor = fields.Nested(PublicUserSchema, allow_none=True, required=True)
    target_type = fields.String(required=True)
    target_id = fields.String(allow_none=True, required=True)
    reason = fields.String(required=True)
    created_at = Timestamp(attribute="at", required=True)


class PostTopicSchema(Schema):
    """The topic a post belongs to, as a post list shows it."""

    id = fields.String(attribute="_id", required=True)
    slug = fields.String(required=True)
    title = fields.String(required=True)


class PostSchema(Schema):
    id = fields.String(attribute="_id", required=True)
    topic_id = fields.String(required=True)
    topic = fields.Nested(PostTopicSchema, required=True)
    title = fields.String(required=True)
    body = fields.String(required=True, metadata={"description": "Raw markdown, as text."})
    body_html = fields.String(required=True,
                              metadata={"description": "Rendered and sanitised HTML."})
    author = fields.Nested(PublicUserSchema, allow_none=True, required=True)
    anonymous = fields.Boolean(required=True, dump_default=False, metadata={
        "description": "Posted under a pseudonym: `author` is its stand-in."})
    score = fields.Integer(required=True)
    my_vote = fields.Integer(allow_none=True, required=True)
    comment_count = fields.Integer(required=True)
    pinned = fields.Boolean(required=True)
    locked = fields.Boolean(required=True)
    deleted = fields.Boolean(required=True)
    attachments = fields.List(fields.Nested(AttachmentSchema), required=True,
                              dump_default=list)
    created_at = Timestamp(required=True)
    edited_at = Timestamp(allow_none=True, required=True, dump_default=None)
    edit_count = fields.Integer(required=True, dump_default=0)  # GET .../<id>/history
    previews = previews_field()
    # A poll the post carries (docs/POLLS.md); `my_vote` is the reader's.
    poll = poll_field()


class CommentSchema(Schema):
    id = fields.String(attribute="_id", required=True)
    post_id = fields.String(required=True)
    parent_id = fields.String(allow_none=True, required=True)
    author = fields.Nested(PublicUserSchema, allow_none=True, required=True)
    anonymous = fields.Boolean(required=True, dump_default=False, metadata={
        "description": "Posted under a pseudonym: `author` is its stand-in."})
    body = fields.String(required=True)
    body_html = fields.String(required=True)
    score = fields.Integer(required=True)
    my_vote = fields.Integer(allow_none=True, required=True)
    depth = fields.Integer(required=True)
    reply_count = fields.Integer(required=True)
    deleted = fields.Boolean(required=True)
    attachments = fields.List(fields.Nested(AttachmentSchema), required=True,
                              dump_default=list)
    created_at = Timestamp(required=True)
    edited_at = Timestamp(allow_none=True, required=True, dump_default=None)
    edit_count = fields.Integer(required=True, dump_default=0)  # GET .../<id>/history
    # True (body emptied) when the reader hides the author (`PUT /api/users/<id>/hide`).
    author_hidden = fields.Boolean(required=True, dump_default=False)
    previews = previews_field()
    # Filled by the tree builder after the dump, so never read from the document.
    replies = fields.List(fields.Nested(lambda: CommentSchema()), required=True,
                          dump_only=True)


class VoteResultSchema(Schema):
    score = fields.Integer(required=True)
    my_vote = fields.Integer(required=True)


# A search hit is the shape every other list of its kind sends, plus `type`.
class SearchPostSchema(PostSchema):
    type = fields.String(required=True, validate=validate.OneOf(["post"]))


class SearchTopicSchema(TopicSchema):
    type = fields.String(required=True, validate=validate.OneOf(["topic"]))


class SearchUserSchema(PublicUserSchema):
    type = fields.String(required=True, validate=validate.OneOf(["user"]))


SEARCH_ITEM_SHAPES = {"post": SearchPostSchema, "topic": SearchTopicSchema,
                      "user": SearchUserSchema}


TopicPageSchema = page_schema(TopicSchema, "TopicPage")
MemberPageSchema = page_schema(MemberSchema, "MemberPage")
TopicInvitationPageSchema = page_schema(TopicInvitationSchema, "TopicInvitationPage")
BanPageSchema = page_schema(BanSchema, "BanPage")
ModerationPageSchema = page_schema(ModerationEntrySchema, "ModerationPage")
PostPageSchema = page_schema(PostSchema, "PostPage")
CommentPageSchema = page_schema(CommentSchema, "CommentPage")
SearchPageSchema = page_schema(TaggedUnion(SEARCH_ITEM_SHAPES), "SearchPage")

TOPIC = TopicSchema()
TOPIC_MEMBER = MemberSchema()
PSEUDONYM = PseudonymSchema()
TOPIC_INVITATION = TopicInvitationSchema()
BAN = BanSchema()
MODERATION_ENTRY = ModerationEntrySchema()
POST = PostSchema()
# A room broadcast has no viewer, so no `my_vote`.
POST_BROADCAST = PostSchema(exclude=("my_vote",))
COMMENT = CommentSchema(exclude=("replies",))
