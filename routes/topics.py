"""Topics: communities with members, moderators, bans and invitations."""
from __future__ import annotations

from routes.topic_schemas import (
    BanCreateSchema,
    TopicCreateSchema,
    TopicQuerySchema,
    TopicUpdateSchema,
    UserIdSchema,
)
from services.discovery import my_lists
from services.forum import pseudonyms, topic_members, topic_moderation, topics_service
from services.platform import topic_access
from services.platform.shapes.forum import (
    PSEUDONYM,
    BanPageSchema,
    BanSchema,
    MemberPageSchema,
    MemberSchema,
    ModerationPageSchema,
    PseudonymSchema,
    TopicPageSchema,
    TopicSchema,
)
from utils.api import Blueprint
from utils.auth import current_user, login_required
from utils.schemas import PageQuerySchema

blp = Blueprint("topics", __name__, description="Topics, membership and moderation")


@blp.route("")
@blp.arguments(TopicQuerySchema, location="query")
@blp.response(200, TopicPageSchema)
def list_topics(query):
    """Topics I may see; filter by `q` (words) and `tag`, sort active, new or popular."""
    return topics_service.list_topics(current_user(), query["q"], query["tag"], query["sort"],
                              query["limit"], query["cursor"])


@blp.route("", methods=["POST"])
@login_required
@blp.arguments(TopicCreateSchema)
@blp.response(201, TopicSchema)
def create_topic(body):
    """Create a topic; I become its owner."""
    topic = topics_service.create_topic(current_user(), **body)
    return topics_service.topic_view(current_user(), topic)


@blp.route("/by-slug/<string:slug>")
@blp.response(200, TopicSchema)
def get_topic_by_slug(slug):
    """One topic by its slug (a private one only for its members)."""
    return topics_service.topic_view(current_user(), my_lists.topic_by_slug(current_user(), slug))


@blp.route("/<objectid:topic_id>")
@blp.response(200, TopicSchema)
def get_topic(topic_id):
    """One topic (a private one only for its members)."""
    return topics_service.topic_view(current_user(), topic_access.get_readable_topic(current_user(),
                                                                       topic_id))


@blp.route("/<objectid:topic_id>", methods=["PATCH"])
@login_required
@blp.arguments(TopicUpdateSchema)
@blp.response(200, TopicSchema)
def update_topic(body, topic_id):
    """Change title, description, tags or visibility (owner or moderators)."""
    topic = topics_service.update_topic(current_user(), topic_id, body)
    return topics_service.topic_view(current_user(), topic)


@blp.route("/<objectid:topic_id>", methods=["DELETE"])
@login_required
@blp.response(204)
def delete_topic(topic_id):
    """Delete a topic (owner or site admin); its history is kept."""
    topics_service.delete_topic(current_user(), topic_id)


@blp.route("/<objectid:topic_id>/join", methods=["POST"])
@login_required
@blp.response(200, TopicSchema)
def join_topic(topic_id):
    """Join a public topic."""
    user = current_user()
    return topics_service.topic_view(user, topic_members.join_topic(user, topic_id))


@blp.route("/<objectid:topic_id>/leave", methods=["POST"])
@login_required
@blp.response(200, TopicSchema)
def leave_topic(topic_id):
    """Leave a topic (an owner transfers ownership first)."""
    user = current_user()
    return topics_service.topic_view(user, topic_members.leave_topic(user, topic_id))


@blp.route("/<objectid:topic_id>/transfer", methods=["POST"])
@login_required
@blp.arguments(UserIdSchema)
@blp.response(200, TopicSchema)
def transfer_topic(body, topic_id):
    """Hand ownership to another member (owner only); I stay as a moderator."""
    topic = topic_members.transfer_ownership(current_user(), topic_id, body["user_id"])
    return topics_service.topic_view(current_user(), topic)


@blp.route("/<objectid:topic_id>/members")
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, MemberPageSchema)
def list_members(query, topic_id):
    """Members and their roles, in joining order."""
    return topic_members.list_members(current_user(), topic_id, query["limit"], query["cursor"])


@blp.route("/<objectid:topic_id>/moderators", methods=["POST"])
@login_required
@blp.arguments(UserIdSchema)
@blp.response(200, MemberSchema)
def add_moderator(body, topic_id):
    """Make a member a moderator (owner only)."""
    return topic_members.add_moderator(current_user(), topic_id, body["user_id"])


@blp.route("/<objectid:topic_id>/moderators/<objectid:user_id>", methods=["DELETE"])
@login_required
@blp.response(204)
def remove_moderator(topic_id, user_id):
    """Make a moderator a plain member again (owner only)."""
    topic_members.remove_moderator(current_user(), topic_id, user_id)


@blp.route("/<objectid:topic_id>/bans", methods=["POST"])
@login_required
@blp.arguments(BanCreateSchema)
@blp.response(201, BanSchema)
def ban_user(body, topic_id):
    """Ban a user from the topic, with a reason and an optional expiry (moderators)."""
    return topic_moderation.ban_user(current_user(), topic_id, body["user_id"], body["reason"],
                           body["expires_at"])


@blp.route("/<objectid:topic_id>/bans/<objectid:user_id>", methods=["DELETE"])
@login_required
@blp.response(204)
def unban_user(topic_id, user_id):
    """Lift a ban (moderators)."""
    topic_moderation.unban_user(current_user(), topic_id, user_id)


@blp.route("/<objectid:topic_id>/bans")
@login_required
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, BanPageSchema)
def list_bans(query, topic_id):
    """Bans in force, newest first (moderators)."""
    return topic_moderation.list_bans(current_user(), topic_id, query["limit"], query["cursor"])


@blp.route("/<objectid:topic_id>/moderation-log")
@login_required
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, ModerationPageSchema)
def moderation_log(query, topic_id):
    """Every moderation action in this topic, newest first (moderators)."""
    return topic_moderation.list_moderation_log(current_user(), topic_id, query["limit"],
                                      query["cursor"])


@blp.route("/<objectid:topic_id>/invitations", methods=["POST"])
@login_required
@blp.arguments(UserIdSchema)
@blp.response(204)
def invite(body, topic_id):
    """Invite a user into a private topic (owner or moderators)."""
    topic_members.invite(current_user(), topic_id, body["user_id"])


@blp.route("/<objectid:topic_id>/invitations/accept", methods=["POST"])
@login_required
@blp.response(200, TopicSchema)
def accept_invitation(topic_id):
    """Accept my invitation and become a member."""
    topic = topic_members.accept_invitation(current_user(), topic_id)
    return topics_service.topic_view(current_user(), topic)


@blp.route("/<objectid:topic_id>/invitations/decline", methods=["POST"])
@login_required
@blp.response(204)
def decline_invitation(topic_id):
    """Decline my invitation."""
    topic_members.decline_invitation(current_user(), topic_id)


@blp.route("/<objectid:topic_id>/pseudonyms/<string:pseudonym>")
@login_required
@blp.response(200, PseudonymSchema)
def resolve_pseudonym(topic_id, pseudonym):
    """Who posts under this pseudonym in the topic (its moderators and site staff; the
    lookup is written to the moderation log)."""
    return PSEUDONYM.dump(pseudonyms.resolve(current_user(), topic_id, pseudonym))
