"""Polls in posts and chat messages (docs/POLLS.md): results, votes and voters. Whoever
may not read the poll's post or message gets the same 404 as for a missing poll."""
from __future__ import annotations

from routes.poll_schemas import PollVotersQuerySchema, PollVoteSchema
from services.platform.shapes.polls import PollSchema, PollVoterPageSchema
from services.polls import poll_votes
from utils.api import Blueprint
from utils.auth import current_user, login_required

blp = Blueprint("polls", __name__, description="Polls in posts and chat messages")


@blp.route("/<objectid:poll_id>")
@login_required
@blp.response(200, PollSchema)
def get_poll(poll_id):
    """A poll's results as I see them (`my_vote`: my ballot)."""
    return poll_votes.get_poll(current_user(), poll_id)


@blp.route("/<objectid:poll_id>/vote", methods=["POST"])
@login_required
@blp.arguments(PollVoteSchema)
@blp.response(200, PollSchema)
def vote(body, poll_id):
    """Vote, or change my vote, until the poll closes (409 `poll_closed` after)."""
    return poll_votes.vote(current_user(), poll_id, body["option_ids"])


@blp.route("/<objectid:poll_id>/vote", methods=["DELETE"])
@login_required
@blp.response(200, PollSchema)
def withdraw(poll_id):
    """Take my vote back while the poll is open."""
    return poll_votes.withdraw(current_user(), poll_id)


@blp.route("/<objectid:poll_id>/voters")
@login_required
@blp.arguments(PollVotersQuerySchema, location="query")
@blp.response(200, PollVoterPageSchema)
def voters(query, poll_id):
    """Who voted for what, oldest ballot first; 403 for an anonymous poll."""
    return poll_votes.voters(current_user(), poll_id, query["limit"], query["cursor"])
