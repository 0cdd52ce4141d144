"""Request and response schemas of topics, posts, comments and search."""
from __future__ import annotations

from marshmallow import fields, validate

from models.comment import SORTS as COMMENT_SORTS
from models.post import SORTS as POST_SORTS
from models.topic import SORTS as TOPIC_SORTS
from models.topic import VISIBILITIES
from models.topic_member import ROLES
from routes.poll_schemas import PollSpec
from services.forum import comments_service, posts_service, topics_service
from services.forum.post_lists import TOP_WINDOWS
from utils.schemas import ConfigLength, PageQuerySchema, StrictSchema

ObjectIdString = validate.Regexp(r"^[0-9a-f]{24}$", error="Not a valid id.")
Tag = fields.String(validate=validate.Length(min=1, max=30))
TopicTitle = validate.Length(min=topics_service.TITLE_MIN, max=topics_service.TITLE_MAX)
Tags = validate.Length(max=topics_service.MAX_TAGS)
PostTitle = validate.Length(min=posts_service.TITLE_MIN, max=posts_service.TITLE_MAX)
PostBody = validate.Length(max=posts_service.BODY_MAX)
CommentBody = validate.Length(min=1, max=comments_service.BODY_MAX)
# Upload ids (POST /api/uploads), at most the UPLOAD_MAX_ATTACHMENTS the service applies.
Attachments = ConfigLength("UPLOAD_MAX_ATTACHMENTS")


# Topics

class TopicCreateSchema(StrictSchema):
    title = fields.String(required=True, validate=TopicTitle)
    description = fields.String(load_default="", validate=validate.Length(max=2000))
    tags = fields.List(Tag, load_default=list, validate=Tags)
    visibility = fields.String(load_default="public", validate=validate.OneOf(VISIBILITIES))
    allow_anonymous = fields.Boolean(load_default=False)


class TopicUpdateSchema(StrictSchema):
    title = fields.String(validate=TopicTitle)
    description = fields.String(validate=validate.Length(max=2000))
    tags = fields.List(Tag, validate=Tags)
    visibility = fields.String(validate=validate.OneOf(VISIBILITIES))
    allow_anonymous = fields.Boolean()


class TopicQuerySchema(PageQuerySchema):
    q = fields.String(load_default=None, validate=validate.Length(max=200))
    tag = fields.String(load_default=None, validate=validate.Length(max=30))
    sort = fields.String(load_default="active", validate=validate.OneOf(list(TOPIC_SORTS)))


class MyTopicsQuerySchema(PageQuerySchema):
    role = fields.String(load_default=None, validate=validate.OneOf(ROLES))


class UserIdSchema(StrictSchema):
    user_id = fields.String(required=True, validate=ObjectIdString)


class BanCreateSchema(StrictSchema):
    user_id = fields.String(required=True, validate=ObjectIdString)
    reason = fields.String(load_default="", validate=validate.Length(max=500))
    expires_at = fields.AwareDateTime(load_default=None, allow_none=True)


# Posts

class PostQuerySchema(PageQuerySchema):
    topic_id = fields.String(load_default=None, validate=ObjectIdString)
    sort = fields.String(load_default="hot", validate=validate.OneOf(list(POST_SORTS)))
    t = fields.String(load_default="all", validate=validate.OneOf(list(TOP_WINDOWS)))


class PostCreateSchema(StrictSchema):
    topic_id = fields.String(required=True, validate=ObjectIdString)
    title = fields.String(required=True, validate=PostTitle)
    body = fields.String(load_default="", validate=PostBody)
    attachments = fields.List(fields.String(validate=ObjectIdString), load_default=list,
                              validate=Attachments)
    anonymous = fields.Boolean(load_default=False)
    poll = PollSpec


class PostUpdateSchema(StrictSchema):
    title = fields.String(validate=PostTitle)
    body = fields.String(validate=PostBody)


class VoteBodySchema(StrictSchema):
    value = fields.Integer(required=True, strict=True, validate=validate.OneOf([-1, 0, 1]))


# Comments

class CommentQuerySchema(PageQuerySchema):
    sort = fields.String(load_default="best", validate=validate.OneOf(list(COMMENT_SORTS)))


class CommentCreateSchema(StrictSchema):
    body = fields.String(required=True, validate=CommentBody)
    parent_id = fields.String(load_default=None, allow_none=True, validate=ObjectIdString)
    attachments = fields.List(fields.String(validate=ObjectIdString), load_default=list,
                              validate=Attachments)
    anonymous = fields.Boolean(load_default=False)


class CommentUpdateSchema(StrictSchema):
    body = fields.String(required=True, validate=CommentBody)


# Search

class SearchQuerySchema(PageQuerySchema):
    q = fields.String(required=True, validate=validate.Length(min=1, max=200))
    type = fields.String(load_default="posts",
                         validate=validate.OneOf(["posts", "topics", "users"]))


