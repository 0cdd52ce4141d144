"""Request and response schemas of topics, posts, comments and search."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from models.comment import SORTS as COMMENT_SORTS
from models.post import SORTS as POST_SORTS
from models.topic import SORTS as TOPIC_SORTS
from models.topic import VISIBILITIES
from models.topic_member import ROLES
from routes.account_schemas import PublicUserSchema
from services.posts_service import TOP_WINDOWS
from utils.schemas import PageQuerySchema, StrictSchema, page_schema

ObjectIdString = validate.Regexp(r"^[0-9a-f]{24}$", error="Not a valid id.")
Tag = fields.String(validate=validate.Length(min=1, max=30))


# Topics

class TopicCreateSchema(StrictSchema):
    title = fields.String(required=True, validate=validate.Length(min=3, max=100))
    description = fields.String(load_default="", validate=validate.Length(max=2000))
    tags = fields.List(Tag, load_default=list, validate=validate.Length(max=5))
    visibility = fields.String(load_default="public", validate=validate.OneOf(VISIBILITIES))


class TopicUpdateSchema(StrictSchema):
    title = fields.String(validate=validate.Length(min=3, max=100))
    description = fields.String(validate=validate.Length(max=2000))
    tags = fields.List(Tag, validate=validate.Length(max=5))
    visibility = fields.String(validate=validate.OneOf(VISIBILITIES))


class TopicQuerySchema(PageQuerySchema):
    q = fields.String(load_default=None, validate=validate.Length(max=200))
    tag = fields.String(load_default=None, validate=validate.Length(max=30))
    sort = fields.String(load_default="active", validate=validate.OneOf(list(TOPIC_SORTS)))


class TopicSchema(Schema):
    id = fields.String(required=True)
    slug = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    tags = fields.List(fields.String(), required=True)
    visibility = fields.String(required=True)
    owner = fields.Nested(PublicUserSchema, allow_none=True)
    member_count = fields.Integer(required=True)
    post_count = fields.Integer(required=True)
    created_at = fields.String(required=True)
    updated_at = fields.String(required=True)
    last_activity_at = fields.String(required=True)
    my_role = fields.String(allow_none=True, required=True)


TopicPageSchema = page_schema(TopicSchema, "TopicPage")


class UserIdSchema(StrictSchema):
    user_id = fields.String(required=True, validate=ObjectIdString)


class MemberSchema(Schema):
    user = fields.Nested(PublicUserSchema, required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    joined_at = fields.String()


MemberPageSchema = page_schema(MemberSchema, "MemberPage")


class BanCreateSchema(StrictSchema):
    user_id = fields.String(required=True, validate=ObjectIdString)
    reason = fields.String(load_default="", validate=validate.Length(max=500))
    expires_at = fields.AwareDateTime(load_default=None, allow_none=True)


class BanSchema(Schema):
    user = fields.Nested(PublicUserSchema, required=True)
    reason = fields.String(required=True)
    expires_at = fields.String(allow_none=True, required=True)
    created_at = fields.String(required=True)


BanPageSchema = page_schema(BanSchema, "BanPage")


class ModerationEntrySchema(Schema):
    id = fields.String(required=True)
    action = fields.String(required=True)
    actor = fields.Nested(PublicUserSchema, allow_none=True)
    target_type = fields.String(required=True)
    target_id = fields.String(allow_none=True)
    reason = fields.String(required=True)
    created_at = fields.String(required=True)


ModerationPageSchema = page_schema(ModerationEntrySchema, "ModerationPage")


# Posts

class PostQuerySchema(PageQuerySchema):
    topic_id = fields.String(load_default=None, validate=ObjectIdString)
    sort = fields.String(load_default="hot", validate=validate.OneOf(list(POST_SORTS)))
    t = fields.String(load_default="all", validate=validate.OneOf(list(TOP_WINDOWS)))


class PostCreateSchema(StrictSchema):
    topic_id = fields.String(required=True, validate=ObjectIdString)
    title = fields.String(required=True, validate=validate.Length(min=3, max=300))
    body = fields.String(load_default="", validate=validate.Length(max=40000))


class PostUpdateSchema(StrictSchema):
    title = fields.String(validate=validate.Length(min=3, max=300))
    body = fields.String(validate=validate.Length(max=40000))


class PostSchema(Schema):
    id = fields.String(required=True)
    topic_id = fields.String(required=True)
    title = fields.String(required=True)
    body = fields.String(required=True, metadata={"description": "Raw markdown, as text."})
    body_html = fields.String(required=True,
                              metadata={"description": "Rendered and sanitised HTML."})
    author = fields.Nested(PublicUserSchema, allow_none=True, required=True)
    score = fields.Integer(required=True)
    my_vote = fields.Integer(allow_none=True, required=True)
    comment_count = fields.Integer(required=True)
    pinned = fields.Boolean(required=True)
    locked = fields.Boolean(required=True)
    deleted = fields.Boolean(required=True)
    created_at = fields.String(required=True)
    edited_at = fields.String(allow_none=True, required=True)


PostPageSchema = page_schema(PostSchema, "PostPage")


class VoteBodySchema(StrictSchema):
    value = fields.Integer(required=True, strict=True, validate=validate.OneOf([-1, 0, 1]))


class VoteResultSchema(Schema):
    score = fields.Integer(required=True)
    my_vote = fields.Integer(required=True)


# Comments

class CommentQuerySchema(PageQuerySchema):
    sort = fields.String(load_default="best", validate=validate.OneOf(list(COMMENT_SORTS)))


class CommentCreateSchema(StrictSchema):
    body = fields.String(required=True, validate=validate.Length(min=1, max=10000))
    parent_id = fields.String(load_default=None, allow_none=True, validate=ObjectIdString)


class CommentUpdateSchema(StrictSchema):
    body = fields.String(required=True, validate=validate.Length(min=1, max=10000))


class CommentSchema(Schema):
    id = fields.String(required=True)
    post_id = fields.String(required=True)
    parent_id = fields.String(allow_none=True, required=True)
    author = fields.Nested(PublicUserSchema, allow_none=True, required=True)
    body = fields.String(required=True)
    body_html = fields.String(required=True)
    score = fields.Integer(required=True)
    my_vote = fields.Integer(allow_none=True, required=True)
    depth = fields.Integer(required=True)
    reply_count = fields.Integer(required=True)
    deleted = fields.Boolean(required=True)
    created_at = fields.String(required=True)
    edited_at = fields.String(allow_none=True, required=True)
    replies = fields.List(fields.Nested(lambda: CommentSchema()), required=True)


CommentPageSchema = page_schema(CommentSchema, "CommentPage")


# Search

class SearchQuerySchema(PageQuerySchema):
    q = fields.String(required=True, validate=validate.Length(min=1, max=200))
    type = fields.String(load_default="posts",
                         validate=validate.OneOf(["posts", "topics", "users"]))


class SearchResultSchema(Schema):
    type = fields.String(required=True, validate=validate.OneOf(["post", "topic", "user"]))
    post = fields.Nested(PostSchema)
    topic = fields.Nested(TopicSchema)
    user = fields.Nested(PublicUserSchema)


SearchPageSchema = page_schema(SearchResultSchema, "SearchPage")
