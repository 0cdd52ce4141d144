"""Search over topics, posts and users."""
from __future__ import annotations

from routes.topic_schemas import (
    SearchQuerySchema,
)
from services.discovery import search_service
from services.platform.shapes.forum import (
    SearchPageSchema,
)
from utils.api import Blueprint
from utils.auth import current_user

blp = Blueprint("search", __name__, description="Search")


@blp.route("")
@blp.arguments(SearchQuerySchema, location="query")
@blp.response(200, SearchPageSchema)
def search(query):
    """Posts, topics or users matching every word; the last word may be a prefix."""
    return search_service.search(current_user(), query["q"], query["type"], query["limit"],
                                 query["cursor"])
