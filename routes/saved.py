"""Saved items: posts, comments and chat messages I keep to come back to (docs/TOPICS.md
"Saved items")."""
from __future__ import annotations

from services.discovery import saved_items
from services.platform.shapes.saved import SavedPageSchema
from utils.api import Blueprint
from utils.auth import current_user, login_required
from utils.schemas import PageQuerySchema

blp = Blueprint("saved", __name__, description="My saved posts, comments and messages")

ITEM = "/<any(post, comment, message):item_type>/<objectid:item_id>"


@blp.route("")
@login_required
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, SavedPageSchema)
def list_saved(query):
    """My saved items, the latest saved first, each in its usual shape with `type` and
    `saved_at`; items I can no longer read are left out."""
    return saved_items.list_saved(current_user(), query["limit"], query["cursor"])


@blp.route(ITEM, methods=["PUT"])
@login_required
@blp.response(204)
def save(item_type, item_id):
    """Save an item I may read (again: no change)."""
    saved_items.save(current_user(), item_type, item_id)


@blp.route(ITEM, methods=["DELETE"])
@login_required
@blp.response(204)
def unsave(item_type, item_id):
    """Remove an item from my saved items (204 whether it was there or not)."""
    saved_items.unsave(current_user(), item_type, item_id)
