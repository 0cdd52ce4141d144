"""Calls: my recent calls and the ICE servers (STUN/TURN) to call with. The signaling
itself runs over Socket.IO (socketio_calls.py, docs/CALLS.md)."""
from __future__ import annotations

from routes.call_schemas import CallQuerySchema
from services.calls import call_records, ice_servers
from services.chat import call_access
from services.platform.shapes.calls import CallPageSchema, CallSchema, IceServersSchema
from utils.api import Blueprint
from utils.auth import current_user, login_required
from utils.pagination import page

blp = Blueprint("calls", __name__, description="Voice and video calls")


@blp.route("/")
@login_required
@blp.arguments(CallQuerySchema, location="query")
@blp.response(200, CallPageSchema)
def list_calls(query):
    """Calls I started, was invited to or joined, newest first (`room_id` to narrow)."""
    items, next_cursor = call_records.list_mine(current_user(), query["limit"],
                                                query["cursor"], query["room_id"])
    return page(items, next_cursor, call_records.serialize)


@blp.route("/ice-servers")
@login_required
@blp.response(200, IceServersSchema)
def get_ice_servers():
    """STUN/TURN servers for RTCPeerConnection, with TURN credentials valid for `ttl`
    seconds (coturn REST API format)."""
    return ice_servers.ice_servers(current_user())


@blp.route("/<objectid:call_id>")
@login_required
@blp.response(200, CallSchema)
def get_call(call_id):
    """One call of a room I may read."""
    return call_records.serialize(call_access.visible_call(current_user(), call_id))
