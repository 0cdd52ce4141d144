"""GIF search through the configured provider (docs/MEDIA.md "GIF search")."""
from __future__ import annotations

from flask import current_app
from flask_limiter.util import get_remote_address

from routes.gif_schemas import GifSearchQuerySchema
from services.media import gifs
from services.platform.shapes.gifs import GifPageSchema
from utils.api import Blueprint
from utils.auth import current_user, login_required
from utils.extensions import limiter
from utils.schemas import PageQuerySchema

blp = Blueprint("gifs", __name__, description="GIF search")


def _user_key() -> str:
    """Per signed-in user, never per header; an anonymous caller (refused with a 401
    anyway) by address."""
    user = current_user()
    return f"user:{user['_id']}" if user else f"anonymous:{get_remote_address()}"


# One budget shared by both routes. Only answered requests spend it: a refused one (400,
# 401, or a 503 from the provider) cost the provider nothing.
_gif_limit = limiter.shared_limit(lambda: current_app.config["RATELIMIT_GIFS"], scope="gifs",
                                  key_func=_user_key,
                                  deduct_when=lambda response: response.status_code < 400)


@blp.route("/search")
@login_required
@_gif_limit
@blp.arguments(GifSearchQuerySchema, location="query")
@blp.response(200, GifPageSchema)
def search(query):
    """GIFs matching `q` from the configured provider; 503 when none is configured."""
    return gifs.search(current_user(), query["q"], query["limit"], query["cursor"])


@blp.route("/featured")
@login_required
@_gif_limit
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, GifPageSchema)
def featured(query):
    """The provider's trending GIFs; 503 when no provider is configured."""
    return gifs.featured(current_user(), query["limit"], query["cursor"])
