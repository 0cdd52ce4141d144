"""The authorization matrix: every route of the URL map and every Socket.IO event, found
by walking `app.url_map` and the registered handlers, tried by an anonymous caller, an
outsider, a moderator of another topic, a member and a site admin on a private topic, a
group and a direct conversation, with a live call in each of their three chat rooms
(tests/authz_world.py builds them).

Each route and event has an access class in ROUTES / EVENTS; one that nobody classified
fails `test_every_route_and_event_is_classified`, so a new one cannot slip by. A class says
what each role gets:

- on something private the caller may not read: 404, the same answer (code and message)
  as for an id that does not exist, and a moderator of another topic gets exactly what an
  outsider gets; anonymous callers get 401 where the route needs a login (the OpenAPI
  document says which);
- no response and no socket event carries a marker word or an id of a scope the caller
  may not read;
- a call that is refused, hidden or unauthorized leaves the database as it was;
- members and admins succeed where the class says they may (each success is undone
  before the next call);
- call events from anyone but a participant's socket are refused (a member's other
  socket too), and nothing of a call reaches a socket that is not in it.

All failures of a walk are collected and reported together.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from tests.authz_checks import (
    ANY,
    DENIED,
    HIDDEN,
    OK,
    REFUSALS,
    REFUSED,
    SEES,
    SKIP,
    UNAUTHORIZED,
    VISIBLE,
    Variant,
    error_of,
    judge,
    judge_ack,
    missing,
    resolve,
    written,
)
from tests.authz_world import (
    CALL_ROOMS,
    READS,
    ROLES,
    World,
    add_calls,
    add_turned_topic,
    build_world,
    emit_ok,
    party_id,
    snapshot,
    turn_private,
)
from utils.extensions import socketio

# Classes on a private object: what a member and a site admin get on the scopes they read
# (a dict: by scope). A role that cannot read the scope gets HIDDEN (401 when anonymous
# and the route needs a login).
OBJECT_CLASSES: dict[str, tuple[Any, Any]] = {
    "reader": (OK, OK),
    "recipient": (OK, OK),           # my notification, a friend request to me
    "participant": (OK, REFUSED),    # writes need membership: admins are not members
    "commenter": (OK, OK),           # comments and votes: whoever reads and is not banned
    "author": (OK, REFUSED),         # the member wrote the post, comment and messages
    "author-or-moderator": (OK, OK),
    "topic-moderator": (REFUSED, OK),
    "topic-owner": (REFUSED, REFUSED),
    # Confirming a presigned upload: only its uploader (the member); to anyone else an
    # upload is the 404 of a missing one, even to an admin who may read where it is.
    "uploader": (OK, HIDDEN),
    "owner-or-admin": (REFUSED, OK),
    "joiner": (OK, REFUSED),         # private topics are joined by invitation only
    "invitee": (HIDDEN, HIDDEN),     # neither has an invitation
    "room-moderator": (REFUSED, OK),
    # Pins: the room's moderators; in a direct room either member.
    "pinner": ({"topic": REFUSED, "group": REFUSED, "direct": OK}, OK),
    "group-manager": (REFUSED, REFUSED),
    "room-leaver": ({"topic": OK, "group": OK, "direct": REFUSED}, OK),
    "reporter": (VISIBLE, OK),       # reporting one's own content is refused
    # Calls (docs/CALLS.md). In the world each room's live call has two participants: the
    # member's socket (it started the call) and the owner's. The admin reads the topic's
    # call but writes in no room: "forbidden".
    # Starting (`call_start` joins the room's live call: glare) or answering needs the
    # right to write in the room; the member, already in the call, gets `conflict`
    # (answered_elsewhere: one device per user per call).
    "call-joiner": (REFUSED, DENIED),
    # Signaling, mute, speaking, heartbeat, hangup: only a participant's own socket.
    "call-party": (OK, DENIED),
    # `call_rejoin`: a writer of the room taking back a party of their own.
    "call-own-party": (OK, DENIED),
    # `call_reject`: only a ringing invitee; `call_cancel`: only the caller of a ringing
    # call. The world's calls are answered, so readers get `conflict`.
    "call-invitee": (REFUSED, REFUSED),
    "call-caller": (REFUSED, REFUSED),
}

# Classes on no private object: what each role gets.
SITE_CLASSES: dict[str, dict[str, Any]] = {
    # Served to anyone; the answer may not leak.
    "public": dict.fromkeys(ROLES, ANY),
    # Lists filtered by what the caller may read: readers of the topic see it listed.
    "visibility-list": {"anonymous": OK, "outsider": OK, "other_mod": OK, "member": SEES,
                        "admin": SEES},
    # Credentials in the body (or the caller's own session): tried anonymously only.
    "credentials": {"anonymous": ANY, **dict.fromkeys(ROLES[1:], SKIP)},
    # Any signed-in user, on themselves or on a public user.
    "signed-in": {"anonymous": UNAUTHORIZED, **dict.fromkeys(ROLES[1:], ANY)},
    # Acts on the caller's own credentials or session: calling it would end the actor.
    "own-account": {"anonymous": UNAUTHORIZED, **dict.fromkeys(ROLES[1:], SKIP)},
    "site-moderator": {"anonymous": UNAUTHORIZED, "outsider": DENIED, "other_mod": DENIED,
                       "member": DENIED, "admin": OK},
    "admin": {"anonymous": UNAUTHORIZED, "outsider": DENIED, "other_mod": DENIED,
              "member": DENIED, "admin": OK},
    # Not part of the user API (Prometheus, with its own token): for every user, site
    # admins included, the 404 of a path that does not exist, word for word.
    "internal": dict.fromkeys(ROLES, HIDDEN),
    # The caller's own records (my calls), whatever the query narrows them to: a room
    # the caller may not read lists nothing, exactly like a room that does not exist.
    "own-list": {"anonymous": UNAUTHORIZED, **dict.fromkeys(ROLES[1:], OK)},
}

ROUTES: dict[str, str] = {
    # Service and documentation
    "GET /health": "public",
    "GET /health/ready": "public",
    "GET /version": "public",
    "GET /static/<path:filename>": "public",
    "GET /api/openapi.json": "public",
    "GET /api/asyncapi.json": "public",
    "GET /api/users/initials.svg": "public",
    "GET /api/docs": "public",
    "GET /api/docs/assets/<path:filename>": "public",
    "GET /api/files/<string:folder>/<string:name>": "public",
    "GET /metrics": "internal",
    # Auth
    "POST /api/auth/register": "credentials",
    "POST /api/auth/verify-email": "credentials",
    "POST /api/auth/resend-verification": "credentials",
    "POST /api/auth/login": "credentials",
    "POST /api/auth/logout": "credentials",
    "GET /api/auth/csrf": "credentials",
    "POST /api/auth/token": "credentials",
    "POST /api/auth/password/forgot": "credentials",
    "POST /api/auth/password/reset": "credentials",
    "POST /api/auth/2fa/remove": "credentials",
    # Sign-up checks: no login, nothing stored, the same answer for everyone.
    "GET /api/auth/availability": "public",
    "POST /api/auth/availability/email": "public",
    "GET /api/auth/me": "signed-in",
    "DELETE /api/auth/token": "own-account",
    "POST /api/auth/password/change": "own-account",
    "POST /api/auth/2fa/setup": "own-account",
    "POST /api/auth/2fa/enable": "own-account",
    "POST /api/auth/2fa/disable": "own-account",
    "POST /api/auth/2fa/email/enable": "own-account",
    "POST /api/auth/2fa/email/disable": "own-account",
    "POST /api/auth/2fa/recovery-codes": "own-account",
    # My sessions and tokens: what the caller lists is their own; ending one could end
    # the actor's own credentials.
    "GET /api/auth/sessions": "signed-in",
    "DELETE /api/auth/sessions/<objectid:session_id>": "own-account",
    "POST /api/auth/sessions/revoke-others": "own-account",
    "GET /api/auth/tokens": "signed-in",
    "DELETE /api/auth/tokens/<objectid:token_id>": "own-account",
    # Passkeys: the caller's own; registering needs the password (own-account); logging
    # in acts on credentials in the body.
    "GET /api/auth/passkeys/": "signed-in",
    "POST /api/auth/passkeys/register/options": "own-account",
    "POST /api/auth/passkeys/register": "own-account",
    "PATCH /api/auth/passkeys/<objectid:passkey_id>": "own-account",
    "DELETE /api/auth/passkeys/<objectid:passkey_id>": "own-account",
    "POST /api/auth/passkeys/login/options": "credentials",
    "POST /api/auth/passkeys/second-factor/options": "credentials",
    "POST /api/auth/passkeys/login": "credentials",
    # Users
    "GET /api/users/": "public",
    "GET /api/users/<string:username>": "public",
    "GET /api/users/me": "signed-in",
    "PATCH /api/users/me": "signed-in",
    "DELETE /api/users/me": "own-account",
    "POST /api/users/me/export": "signed-in",
    # The owner's export, with the mailed link's token; nobody else's, admins included.
    "GET /api/users/me/exports/<objectid:export_id>": "recipient",
    "PUT /api/users/me/avatar": "own-account",
    "GET /api/users/me/blocked": "signed-in",
    "POST /api/users/<objectid:user_id>/block": "signed-in",
    "DELETE /api/users/<objectid:user_id>/block": "signed-in",
    "PUT /api/users/<objectid:user_id>/hide": "signed-in",
    "DELETE /api/users/<objectid:user_id>/hide": "signed-in",
    "GET /api/users/me/hidden": "signed-in",
    "POST /api/users/<objectid:user_id>/friend-request": "signed-in",
    "GET /api/users/me/friend-requests": "signed-in",
    "POST /api/users/me/friend-requests/<objectid:request_id>/accept": "recipient",
    "POST /api/users/me/friend-requests/<objectid:request_id>/decline": "recipient",
    "GET /api/users/me/friends": "signed-in",
    "DELETE /api/users/me/friends/<objectid:user_id>": "signed-in",
    "GET /api/notifications/": "signed-in",
    "POST /api/notifications/<objectid:notification_id>/read": "recipient",
    "DELETE /api/notifications/<objectid:notification_id>": "recipient",
    "GET /api/notifications/unread-count": "signed-in",
    "POST /api/notifications/read-all": "signed-in",
    "GET /api/notifications/settings": "signed-in",
    "PATCH /api/notifications/settings": "signed-in",
    # The signed token in the query is the authority (mail unsubscribe links): no login.
    "GET /api/notifications/unsubscribe": "public",
    "POST /api/notifications/unsubscribe": "public",
    "GET /api/notifications/mutes": "signed-in",
    # A mute answers the same whether its target exists or may be read (it tells nothing).
    "PUT /api/notifications/mutes/<any(topic, post, room, user):target_type>"
    "/<objectid:target_id>": "signed-in",
    "DELETE /api/notifications/mutes/<any(topic, post, room, user):target_type>"
    "/<objectid:target_id>": "signed-in",
    # Topics
    "GET /api/topics": "visibility-list",
    "POST /api/topics": "signed-in",
    "GET /api/topics/<objectid:topic_id>": "reader",
    "GET /api/topics/by-slug/<string:slug>": "reader",
    "GET /api/users/me/topics": "signed-in",
    "GET /api/users/me/topic-invitations": "signed-in",
    "PATCH /api/topics/<objectid:topic_id>": "topic-moderator",
    "DELETE /api/topics/<objectid:topic_id>": "owner-or-admin",
    "POST /api/topics/<objectid:topic_id>/join": "joiner",
    "POST /api/topics/<objectid:topic_id>/leave": "reader",
    "POST /api/topics/<objectid:topic_id>/transfer": "topic-owner",
    "GET /api/topics/<objectid:topic_id>/members": "reader",
    "POST /api/topics/<objectid:topic_id>/moderators": "topic-owner",
    "DELETE /api/topics/<objectid:topic_id>/moderators/<objectid:user_id>": "topic-owner",
    "POST /api/topics/<objectid:topic_id>/bans": "topic-moderator",
    "GET /api/topics/<objectid:topic_id>/bans": "topic-moderator",
    "DELETE /api/topics/<objectid:topic_id>/bans/<objectid:user_id>": "topic-moderator",
    "GET /api/topics/<objectid:topic_id>/moderation-log": "topic-moderator",
    "GET /api/topics/<objectid:topic_id>/pseudonyms/<string:pseudonym>": "topic-moderator",
    "POST /api/topics/<objectid:topic_id>/invitations": "topic-moderator",
    "POST /api/topics/<objectid:topic_id>/invitations/accept": "invitee",
    "POST /api/topics/<objectid:topic_id>/invitations/decline": "invitee",
    "GET /api/topics/<objectid:topic_id>/reports": "topic-moderator",
    "GET /api/topics/<objectid:topic_id>/rooms": "reader",
    "POST /api/topics/<objectid:topic_id>/rooms": "participant",
    # Posts and comments
    "GET /api/posts": "visibility-list",
    "POST /api/posts": "participant",
    "GET /api/posts/<objectid:post_id>": "reader",
    "PATCH /api/posts/<objectid:post_id>": "author",
    "DELETE /api/posts/<objectid:post_id>": "author-or-moderator",
    "POST /api/posts/<objectid:post_id>/vote": "commenter",
    "GET /api/posts/<objectid:post_id>/follow": "reader",
    "PUT /api/posts/<objectid:post_id>/follow": "reader",
    "DELETE /api/posts/<objectid:post_id>/follow": "reader",
    "POST /api/posts/<objectid:post_id>/pin": "topic-moderator",
    "POST /api/posts/<objectid:post_id>/unpin": "topic-moderator",
    "POST /api/posts/<objectid:post_id>/lock": "topic-moderator",
    "POST /api/posts/<objectid:post_id>/unlock": "topic-moderator",
    "GET /api/posts/<objectid:post_id>/comments": "reader",
    "POST /api/posts/<objectid:post_id>/comments": "commenter",
    "PATCH /api/comments/<objectid:comment_id>": "author",
    "DELETE /api/comments/<objectid:comment_id>": "author-or-moderator",
    "POST /api/comments/<objectid:comment_id>/vote": "commenter",
    "GET /api/search": "visibility-list",
    # Messages
    "GET /api/messages/rooms": "signed-in",
    # Narrowed to one room by the query (QUERIES): read like that room.
    "GET /api/messages/search": "visibility-list",
    "POST /api/messages/direct": "signed-in",
    "POST /api/messages/groups": "signed-in",
    "GET /api/messages/rooms/<objectid:room_id>": "reader",
    "PATCH /api/messages/rooms/<objectid:room_id>": "room-moderator",
    # Invitations (and the old add route, which now invites): owner and moderators.
    "POST /api/messages/rooms/<objectid:room_id>/members": "group-manager",
    "POST /api/messages/rooms/<objectid:room_id>/invitations": "group-manager",
    "GET /api/messages/invitations": "signed-in",
    "POST /api/messages/invitations/<objectid:invitation_id>/accept": "invitee",
    "POST /api/messages/invitations/<objectid:invitation_id>/decline": "invitee",
    # Kick, ban and mute: the room's owner and moderators (site moderators everywhere).
    "DELETE /api/messages/rooms/<objectid:room_id>/members/<objectid:user_id>":
        "room-moderator",
    "POST /api/messages/rooms/<objectid:room_id>/bans": "room-moderator",
    "DELETE /api/messages/rooms/<objectid:room_id>/bans/<objectid:user_id>": "room-moderator",
    "POST /api/messages/rooms/<objectid:room_id>/mutes": "room-moderator",
    "DELETE /api/messages/rooms/<objectid:room_id>/mutes/<objectid:user_id>": "room-moderator",
    # A group's owner only (topic rooms take the topic's moderators).
    "POST /api/messages/rooms/<objectid:room_id>/moderators": "group-manager",
    "DELETE /api/messages/rooms/<objectid:room_id>/moderators/<objectid:user_id>":
        "group-manager",
    "POST /api/messages/rooms/<objectid:room_id>/transfer": "group-manager",
    "POST /api/messages/rooms/<objectid:room_id>/leave": "room-leaver",
    "GET /api/messages/rooms/<objectid:room_id>/messages": "reader",
    "POST /api/messages/rooms/<objectid:room_id>/messages": "participant",
    "POST /api/messages/rooms/<objectid:room_id>/read": "reader",
    "PATCH /api/messages/<objectid:message_id>": "author",
    "DELETE /api/messages/<objectid:message_id>": "author-or-moderator",
    "GET /api/messages/rooms/<objectid:room_id>/pins": "reader",
    "PUT /api/messages/<objectid:message_id>/pin": "pinner",
    "DELETE /api/messages/<objectid:message_id>/pin": "pinner",
    # Personal controls: only what the caller sees changes.
    "DELETE /api/messages/<objectid:message_id>/for-me": "reader",
    "PUT /api/messages/rooms/<objectid:room_id>/archive": "reader",
    "DELETE /api/messages/rooms/<objectid:room_id>/archive": "reader",
    "PUT /api/messages/<objectid:message_id>/reactions/<string:emoji>": "participant",
    "DELETE /api/messages/<objectid:message_id>/reactions/<string:emoji>": "participant",
    # Reports and administration
    "POST /api/reports": "reporter",
    "POST /api/reports/<objectid:report_id>/resolve": "topic-moderator",
    "GET /api/reports/mine": "signed-in",
    "GET /api/admin/users": "site-moderator",
    "PATCH /api/admin/users/<objectid:user_id>": "admin",
    "POST /api/admin/users/<objectid:user_id>/ban": "site-moderator",
    "POST /api/admin/users/<objectid:user_id>/unban": "site-moderator",
    "POST /api/admin/users/<objectid:user_id>/warn": "site-moderator",
    "POST /api/admin/users/<objectid:user_id>/mute": "site-moderator",
    "POST /api/admin/users/<objectid:user_id>/unmute": "site-moderator",
    "GET /api/admin/reports": "site-moderator",
    "GET /api/admin/stats": "admin",
    "GET /api/admin/audit-log": "admin",
    "GET /api/admin/content-filter": "admin",
    "PUT /api/admin/content-filter": "admin",
    # Calls
    "GET /api/calls/": "own-list",
    "GET /api/calls/ice-servers": "signed-in",
    # GIF search through the provider (the tests' GIPHY stand-in); nothing private.
    "GET /api/gifs/search": "signed-in",
    "GET /api/gifs/featured": "signed-in",
    "GET /api/calls/<objectid:call_id>": "reader",
    # Uploads (docs/MEDIA.md): the world's uploads are attached to the three messages.
    "POST /api/uploads": "signed-in",
    "POST /api/uploads/presign": "signed-in",
    "POST /api/uploads/<objectid:upload_id>/complete": "uploader",
    "GET /api/uploads/<objectid:upload_id>": "reader",
    "GET /api/uploads/<objectid:upload_id>/thumbnail": "reader",
}

# What fills each path parameter: `@name` is an object of the world (or a person's id).
# PATH_OVERRIDES replaces them for one route.
PATH_VALUES: dict[str, list[str]] = {
    "topic_id": ["@topic"], "post_id": ["@post"], "comment_id": ["@comment"],
    "room_id": ["@topic_room", "@group", "@direct"],
    "message_id": ["@topic_message", "@group_message", "@direct_message"],
    "report_id": ["@report"], "notification_id": ["@notification"],
    "call_id": ["@topic_call", "@group_call", "@direct_call"],
    "request_id": ["@friend_request"], "export_id": ["@export"],
    "upload_id": ["@topic_upload", "@group_upload", "@direct_upload"],
    "invitation_id": ["@room_invitation"],
    # A user outside everything (banned from the private topic): admin actions, blocks.
    "user_id": ["@target"],
    "emoji": ["\N{THUMBS UP SIGN}"], "username": ["mx_member"], "filename": ["matrix.txt"],
    "folder": ["avatars"], "name": ["matrix.png"],
    "target_type": ["topic"], "target_id": ["@topic"], "slug": ["@topic_slug"],
    "pseudonym": ["@pseudonym"],
    # The caller's own credentials: no object of the world (classified own-account).
    "session_id": ["0" * 24], "token_id": ["0" * 24], "passkey_id": ["0" * 24],
}

PATH_OVERRIDES: dict[str, dict[str, list[str]]] = {
    # Only a banned user can be unbanned.
    "POST /api/admin/users/<objectid:user_id>/unban": {"user_id": ["@exile"]},
    # Kicking someone who is in the room (a member of all three).
    "DELETE /api/messages/rooms/<objectid:room_id>/members/<objectid:user_id>":
        {"user_id": ["@member"]},
    "DELETE /api/messages/rooms/<objectid:room_id>/moderators/<objectid:user_id>":
        {"user_id": ["@member"]},
    # Only a muted user can be unmuted.
    "POST /api/admin/users/<objectid:user_id>/unmute": {"user_id": ["@exile"]},
}

# Plausible bodies; a list tries each. Routes not named here send no body.
BODIES: dict[str, Any] = {
    "PATCH /api/users/me": {"bio": "matrix"},
    "POST /api/topics": {"title": "Matrix topic"},
    "PATCH /api/topics/<objectid:topic_id>": {"description": "changed"},
    "POST /api/topics/<objectid:topic_id>/transfer": {"user_id": "@member"},
    "POST /api/topics/<objectid:topic_id>/moderators": {"user_id": "@member"},
    "POST /api/topics/<objectid:topic_id>/bans": {"user_id": "@target", "reason": "matrix"},
    "POST /api/topics/<objectid:topic_id>/invitations": {"user_id": "@newcomer"},
    "POST /api/topics/<objectid:topic_id>/rooms": {"name": "Matrix room"},
    "POST /api/posts": {"topic_id": "@topic", "title": "Matrix post", "body": "matrix"},
    "PATCH /api/posts/<objectid:post_id>": {"body": "edited"},
    "POST /api/posts/<objectid:post_id>/vote": {"value": 1},
    "PATCH /api/notifications/settings": {"kinds": {"mention": {"email": False}}},
    "POST /api/posts/<objectid:post_id>/comments": {"body": "matrix comment"},
    "PATCH /api/comments/<objectid:comment_id>": {"body": "edited"},
    "POST /api/comments/<objectid:comment_id>/vote": {"value": 1},
    "POST /api/messages/direct": {"user_id": "@newcomer"},
    "POST /api/messages/groups": {"title": "Matrix group", "member_ids": ["@newcomer"]},
    "PATCH /api/messages/rooms/<objectid:room_id>": {"title": "renamed"},
    "POST /api/messages/rooms/<objectid:room_id>/members": {"user_id": "@newcomer"},
    "POST /api/messages/rooms/<objectid:room_id>/invitations": {"user_id": "@newcomer"},
    "POST /api/messages/rooms/<objectid:room_id>/bans": {"user_id": "@newcomer",
                                                         "reason": "matrix"},
    "POST /api/messages/rooms/<objectid:room_id>/mutes": {"user_id": "@newcomer"},
    "POST /api/messages/rooms/<objectid:room_id>/moderators": {"user_id": "@member"},
    "POST /api/messages/rooms/<objectid:room_id>/transfer": {"user_id": "@member"},
    "POST /api/messages/rooms/<objectid:room_id>/messages": {"body": "matrix",
                                                             "client_id": "matrix-1"},
    "POST /api/messages/rooms/<objectid:room_id>/read": {"seq": 1},
    "PATCH /api/messages/<objectid:message_id>": {"body": "edited"},
    "POST /api/reports": [
        {"target_type": kind, "target_id": f"@{name}", "reason": "spam"}
        for kind, name in [("topic", "topic"), ("post", "post"), ("comment", "comment"),
                           ("message", "topic_message"), ("message", "group_message"),
                           ("message", "direct_message")]],
    "POST /api/reports/<objectid:report_id>/resolve": {"action": "dismiss"},
    "PATCH /api/admin/users/<objectid:user_id>": {"role": "user"},
    "POST /api/admin/users/<objectid:user_id>/ban": {"reason": "matrix"},
    "POST /api/admin/users/<objectid:user_id>/unban": {},
    "POST /api/admin/users/<objectid:user_id>/warn": {"reason": "matrix"},
    "POST /api/admin/users/<objectid:user_id>/mute": {"reason": "matrix"},
    "POST /api/admin/users/<objectid:user_id>/unmute": {},
    "PUT /api/admin/content-filter": {"rules": [], "new_account_link_limit": 2},
}

# Query strings; a private object named in one makes that variant a `reader` of it.
QUERIES: dict[str, list[dict[str, str]]] = {
    "GET /api/posts": [{"sort": "new"}, {"topic_id": "@topic"}],
    "GET /api/search": [{"q": "xylotopic", "type": "posts"},
                        {"q": "xylotopic", "type": "topics"}],
    "GET /api/users/": [{"q": "mx_"}],
    "GET /api/users/initials.svg": [{"text": "MX", "color": "0"}],
    "GET /api/users/me/exports/<objectid:export_id>": [{"token": "@export_token"}],
    "GET /api/messages/search": [{"q": "xylotopic words", "room_id": room}
                                 for room in PATH_VALUES["room_id"]],
    "GET /api/calls/": [{"limit": "50"}] + [{"room_id": room} for room in PATH_VALUES["room_id"]],
    "GET /api/gifs/search": [{"q": "cat"}],
}

EVENTS: dict[str, str] = {
    "connect": "connection",
    "disconnect": "connection",
    # Flask-SocketIO's catch-all: any event name without a handler of its own gets the
    # same `unknown_event` ack from every role (emit_matrix; tests/test_socket_unknown_event.py).
    "*": "catch-all",
    "join_room": "reader",
    "leave_room": "leave",
    "send_message": "participant",
    "edit_message": "author",
    "delete_message": "author-or-moderator",
    "react": "participant",
    "typing": "participant",
    "mark_read": "reader",
    "get_online_users": "reader",
    "join_topic": "reader",
    "leave_topic": "leave",
    "join_post": "reader",
    "leave_post": "leave",
    "call_start": "call-joiner",
    "call_accept": "call-joiner",
    "call_rejoin": "call-own-party",
    "call_reject": "call-invitee",
    "call_cancel": "call-caller",
    "call_hangup": "call-party",
    "call_offer": "call-party",
    "call_answer": "call-party",
    "call_candidates": "call-party",
    "call_mute": "call-party",
    "call_speaking": "call-party",
    "call_heartbeat": "call-party",
    "call_active": "reader",
    "call_mine": "signed-in",
}

# What a socket of the member that is not in the call gets, by class (the member's own
# participant socket gets what OBJECT_CLASSES says). `call_rejoin` is not tried: taking
# a party back from another socket of the same user is how a reconnect works.
SPARE_SOCKET = {"call-party": DENIED, "call-joiner": REFUSED, "call-invitee": REFUSED,
                "call-caller": REFUSED}
# Call events that reach only the sockets in the call (the addressed party, or the
# voip_<call_id> room): a socket not in the call never gets one.
IN_CALL_EVENTS = {"call_offer", "call_answer", "call_candidates", "call_mute",
                  "call_speaking", "call_accepted", "call_left", "call_party_disconnected",
                  "call_party_rejoined"}
# Relayed from one participant to the others: counted against the senders' acks.
RELAYED = ("call_offer", "call_answer", "call_candidates", "call_mute", "call_speaking")
SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=matrix\r\n"
CANDIDATE = {"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host",
             "sdpMid": "0", "sdpMLineIndex": 0}

# Payloads of the events; a list tries each.
PAYLOADS: dict[str, list[dict[str, Any]]] = {
    "join_room": [{"room_id": room} for room in PATH_VALUES["room_id"]],
    "leave_room": [{"room_id": room} for room in PATH_VALUES["room_id"]],
    "send_message": [{"room_id": room, "body": "matrix", "client_id": "matrix-socket"}
                     for room in PATH_VALUES["room_id"]],
    "edit_message": [{"message_id": m, "body": "edited"} for m in PATH_VALUES["message_id"]],
    "delete_message": [{"message_id": m} for m in PATH_VALUES["message_id"]],
    "react": [{"message_id": m, "emoji": "\N{THUMBS UP SIGN}", "on": True}
              for m in PATH_VALUES["message_id"]],
    "typing": [{"room_id": room, "typing": True} for room in PATH_VALUES["room_id"]],
    "mark_read": [{"room_id": room, "seq": 1} for room in PATH_VALUES["room_id"]],
    "get_online_users": [{"room_id": room} for room in PATH_VALUES["room_id"]]
    + [{"topic_id": "@topic"}],
    "join_topic": [{"topic_id": "@topic"}],
    "leave_topic": [{"topic_id": "@topic"}],
    "join_post": [{"post_id": "@post"}],
    "leave_post": [{"post_id": "@post"}],
    # Calls: `{party:<role>}` is that role's party_id in the call (filled by emit_variants).
    "call_start": [{"room_id": room, "kind": "audio", "party_id": "matrix-start"}
                   for room in PATH_VALUES["room_id"]],
    "call_accept": [{"call_id": c, "party_id": "matrix-accept"}
                    for c in PATH_VALUES["call_id"]],
    "call_rejoin": [{"call_id": c, "party_id": "{party:member}"} for c in PATH_VALUES["call_id"]],
    "call_reject": [{"call_id": c, "reason": "rejected"} for c in PATH_VALUES["call_id"]],
    "call_cancel": [{"call_id": c} for c in PATH_VALUES["call_id"]],
    "call_hangup": [{"call_id": c, "reason": "user_hangup"} for c in PATH_VALUES["call_id"]],
    "call_offer": [{"call_id": c, "to_party_id": "{party:owner}",
                    "description": {"type": "offer", "sdp": SDP}} for c in PATH_VALUES["call_id"]],
    "call_answer": [{"call_id": c, "to_party_id": "{party:owner}",
                     "description": {"type": "answer", "sdp": SDP}}
                    for c in PATH_VALUES["call_id"]],
    "call_candidates": [{"call_id": c, "to_party_id": "{party:owner}",
                         "candidates": [CANDIDATE, {"candidate": ""}]}
                        for c in PATH_VALUES["call_id"]],
    "call_mute": [{"call_id": c, "audio_muted": True} for c in PATH_VALUES["call_id"]],
    "call_speaking": [{"call_id": c, "speaking": True} for c in PATH_VALUES["call_id"]],
    "call_heartbeat": [{"call_id": c} for c in PATH_VALUES["call_id"]],
    "call_active": [{"room_id": room} for room in PATH_VALUES["room_id"]],
}

ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def route_key(method: str, rule: str) -> str:
    return f"{method} {rule}"


def discovered_routes(app) -> list[tuple[str, str]]:
    return sorted((method, rule.rule) for rule in app.url_map.iter_rules()
                  for method in rule.methods - {"HEAD", "OPTIONS"})


def discovered_events() -> list[str]:
    return sorted(socketio.server.handlers["/"])


def test_every_route_and_event_is_classified(app):
    routes = {route_key(method, rule) for method, rule in discovered_routes(app)}
    assert len(routes) > 90
    unclassified = sorted(routes - set(ROUTES))
    stale = sorted(set(ROUTES) - routes)
    assert not unclassified, f"classify these routes in ROUTES: {unclassified}"
    assert not stale, f"ROUTES names routes that no longer exist: {stale}"
    assert set(ROUTES.values()) <= set(OBJECT_CLASSES) | set(SITE_CLASSES)
    events = set(discovered_events())
    assert {"connect", "join_room", "send_message", "join_topic"} <= events
    assert not sorted(events - set(EVENTS)), f"classify these events: {events - set(EVENTS)}"
    assert not sorted(set(EVENTS) - events), f"EVENTS names unknown events: {set(EVENTS) - events}"
    assert set(EVENTS.values()) <= set(OBJECT_CLASSES) | set(SITE_CLASSES) | {
        "connection", "leave", "catch-all"}
    params = {name for _m, rule in discovered_routes(app) for name in ARGUMENT.findall(rule)}
    assert params <= set(PATH_VALUES), f"no value for path parameters {params - set(PATH_VALUES)}"


# Filling routes and events with the world

def variants(world: World, method: str, rule: str) -> list[Variant]:
    key = route_key(method, rule)
    found = [Variant(key, ROUTES[key], method, rule)]
    for param in ARGUMENT.findall(rule):
        pattern = re.compile(r"<(?:[^:<>]+:)?" + param + ">")
        found = [replace(v, path=pattern.sub(quote(value, safe="@"), v.path, count=1),
                         labels=[*v.labels, value])
                 for v in found
                 for value in PATH_OVERRIDES.get(key, {}).get(param, PATH_VALUES[param])]
    bodies = BODIES.get(key)
    if bodies is not None:
        found = [replace(v, body=body) for v in found
                 for body in (bodies if isinstance(bodies, list) else [bodies])]
    queries = QUERIES.get(key)
    if queries is not None:
        found = [replace(v, query=query) for v in found for query in queries]
    filled = []
    for variant in found:
        (path, body, query), names = resolve(world, [variant.path, variant.body, variant.query])
        cls = variant.cls
        if names and cls == "visibility-list":
            # A list narrowed by its query to one private object is read like that object.
            assert resolve(world, variant.query)[1] == names, f"{key} reaches {names}"
            cls = "reader"
        labels = [*variant.labels, *(f"@{n}" for n in names if f"@{n}" not in variant.labels)]
        filled.append(replace(variant, cls=cls, path=path, body=body, query=query,
                              obj=names[0] if names else None, labels=labels))
    return filled


def protected_operations(app) -> set[tuple[str, str]]:
    """(METHOD, openapi path) of every operation the OpenAPI document says needs a login
    (credentials named, and no `{}` alternative that makes them optional, as logout's)."""
    document = app.test_client().get("/api/openapi.json").get_json()
    return {(method.upper(), path) for path, item in document["paths"].items()
            for method, operation in item.items()
            if isinstance(operation, dict) and operation.get("security")
            and {} not in operation["security"]}


def openapi_path(rule: str) -> str:
    return ARGUMENT.sub(r"{\1}", rule)


def expected(variant: Variant, role: str, world: World, protected: bool) -> Any:
    if variant.cls in SITE_CLASSES:
        outcome = SITE_CLASSES[variant.cls][role]
        if outcome is not SKIP and role == "anonymous" and protected:
            return UNAUTHORIZED
        return outcome
    if role == "anonymous" and protected:
        return UNAUTHORIZED
    assert variant.obj is not None, f"{variant} is classified {variant.cls} but reaches nothing"
    scope = world.scopes[variant.obj]
    if scope not in READS[role]:
        return HIDDEN
    outcome = OBJECT_CLASSES[variant.cls][0 if role == "member" else 1]
    return outcome[scope] if isinstance(outcome, dict) else outcome


def call(world: World, role: str, variant: Variant):
    return world.actor(role).call(variant.method, variant.path, variant.body, variant.query)


def check(world: World, variant: Variant, role: str, outcome: Any):
    """Call `variant` as `role`; (response, what is wrong or None)."""
    response = call(world, role, variant)
    problem = judge(outcome, response, world, role, variant)
    if problem is None and outcome == HIDDEN:
        absent = call(world, role, missing(variant, world))
        if (absent.status_code, error_of(absent)) != (404, error_of(response)):
            problem = (f"404 differs from a missing id's {absent.status_code}: "
                       f"{error_of(response)} vs {error_of(absent)}")
    return response, problem


METRICS_TOKEN = "matrix-metrics-token-" + "m" * 16


def test_http_authorization_matrix(make_app):
    app = make_app(MONGO_COUNT_COMMANDS=True, RATELIMIT_ENABLED=False,
                   CHAT_RATE_LIMIT="1000 per 5 seconds",
                   CONTENT_FILTER_NEW_ACCOUNT_LINKS=2, METRICS_TOKEN=METRICS_TOKEN)
    world = build_world(app)
    devices = [socketio.test_client(app, auth={"token": world.actor(role).token})
               for role in ("member", "owner")]
    add_calls(world, *devices)
    # /metrics exists and is served to its token: its 404s below hide it from users.
    scraped = app.test_client().get("/metrics",
                                    headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert scraped.status_code == 200, scraped.status_code
    protected = protected_operations(app)
    # Every call starts from this state: whatever a call changes is put back after it.
    baseline = snapshot(app)
    failures: list[str] = []
    calls = 0
    for method, rule in discovered_routes(app):
        guarded = (method, openapi_path(rule)) in protected
        for variant in variants(world, method, rule):
            plan = {role: expected(variant, role, world, guarded) for role in ROLES}
            refused = [role for role, outcome in plan.items() if outcome in REFUSALS]
            allowed = [role for role, outcome in plan.items()
                       if outcome is not SKIP and outcome not in REFUSALS]
            answers = {}
            for role in refused:
                answers[role], problem = check(world, variant, role, plan[role])
                if problem:
                    failures.append(f"{variant} as {role}: {problem}")
            # The refusals are checked together (one snapshot), and one by one if any wrote.
            if refused and written(app, baseline):
                for role in refused:
                    call(world, role, variant)
                    changed = written(app, baseline)
                    if changed:
                        failures.append(f"{variant} as {role} ({plan[role]}) wrote: {changed}")
            for role in allowed:
                answers[role], problem = check(world, variant, role, plan[role])
                if problem:
                    failures.append(f"{variant} as {role}: {problem}")
                if method != "GET" or problem:
                    changed = written(app, baseline)
                    if changed and answers[role].status_code >= 400:
                        failures.append(f"{variant} as {role} was refused "
                                        f"({answers[role].status_code}) but wrote: {changed}")
            calls += len(answers)
            if variant.obj and "outsider" in answers and "other_mod" in answers:
                outsider, other = answers["outsider"], answers["other_mod"]
                if (other.status_code, error_of(other)) != (outsider.status_code,
                                                            error_of(outsider)):
                    failures.append(f"{variant}: a moderator of another topic gets "
                                    f"{other.status_code} {error_of(other)}, an outsider "
                                    f"{outsider.status_code} {error_of(outsider)}")
    for device in devices:
        device.disconnect()
    assert calls > 400
    assert not failures, f"{len(failures)} authorization failures:\n" + "\n".join(failures)


# Socket.IO

SOCKET_ROLES = ROLES[1:]  # anonymous sockets are refused at connect


PARTY = re.compile(r"\{party:([a-z_]+)\}")


def emit_variants(world: World, event: str) -> list[Variant]:
    filled = []
    for payload in PAYLOADS.get(event, [{}]):
        resolved, names = resolve(world, payload)
        if names and names[0] in world.parties:
            text = json.dumps(resolved)
            for role, party in world.parties[names[0]].items():
                text = text.replace(f"{{party:{role}}}", party)
            resolved = json.loads(text)
            assert not PARTY.search(text), text
        filled.append(Variant(event, EVENTS[event], "EMIT", event, resolved,
                              obj=names[0] if names else None,
                              labels=[f"@{name}" for name in names]))
    return filled


def socket_expected(variant: Variant, role: str, world: World) -> Any:
    if variant.cls == "leave":
        return ANY  # leaving a room one is not in changes nothing
    return expected(variant, role, world, protected=True)


def emitted(sc, variant: Variant) -> Any:
    return sc.emit(variant.path, variant.body, callback=True)


def test_socket_authorization_matrix(make_app):
    app = make_app(MONGO_COUNT_COMMANDS=True, RATELIMIT_ENABLED=False,
                   CHAT_RATE_LIMIT="1000 per 5 seconds",
                   CHAT_TYPING_RATE_LIMIT="1000 per 10 seconds")
    world = build_world(app)
    add_turned_topic(world)
    failures: list[str] = []
    for refused in (socketio.test_client(app, flask_test_client=world.actor("anonymous").client),
                    socketio.test_client(app, auth={"token": "not-a-token"})):
        if refused.is_connected():
            failures.append("connect: a socket without a login was accepted")
    sockets = {role: socketio.test_client(app, auth={"token": world.actor(role).token})
               for role in (*SOCKET_ROLES, "owner")}
    # Another socket of the member's (a second device) that is in no call.
    sockets["member_spare"] = socketio.test_client(app,
                                                   auth={"token": world.actor("member").token})
    assert all(sc.is_connected() for sc in sockets.values())
    add_calls(world, sockets["member"], sockets["owner"])
    probes = probe_rooms(world)
    follow_then_turn_private(world, sockets)
    for sc in sockets.values():
        sc.get_received()

    matrix_failures, relayed = emit_matrix(app, world, sockets)
    failures += matrix_failures
    failures += relays_to_the_owner(world, sockets, relayed)
    live_events(world, sockets)
    live_calls(world, sockets)
    failures += deliveries(world, sockets, probes)
    for sc in sockets.values():
        sc.disconnect()
    assert not failures, f"{len(failures)} socket authorization failures:\n" + "\n".join(failures)


def probe_rooms(world: World) -> dict[str, str]:
    """Each role's direct room with the owner: it carries the probe that closes the test."""
    owner = world.actor("owner")
    return {role: owner.ok("POST", "/api/messages/direct",
                           {"user_id": world.actor(role).id})["id"] for role in SOCKET_ROLES}


def follow_then_turn_private(world: World, sockets: dict[str, Any]) -> None:
    """The outsiders follow a public topic's live rooms while anyone may; then it turns
    private, and nothing of it may reach them any more."""
    for role in ("outsider", "other_mod"):
        for event, key, name in [("join_topic", "topic_id", "turned_topic"),
                                 ("join_post", "post_id", "turned_post"),
                                 ("join_room", "room_id", "turned_room")]:
            ack = sockets[role].emit(event, {key: world.ids[name]}, callback=True)
            assert ack["ok"], (role, event, ack)
    turn_private(world)


def emit_matrix(app, world: World, sockets: dict[str, Any]) -> tuple[list[str], Counter]:
    """Every event, on every private object, by every role (and call events by the
    member's socket that is not in the call, too). The leaves go first, so a join that
    wrongly succeeds is still in force when the members' live events come. Also returns
    how many relayed call events were acknowledged, by event."""
    baseline = snapshot(app)
    failures: list[str] = []
    relayed: Counter = Counter()
    for event in sorted(discovered_events(), key=lambda name: EVENTS[name] != "leave"):
        if EVENTS[event] == "connection":
            continue
        if EVENTS[event] == "catch-all":
            failures += unknown_event_answers(app, baseline, sockets)
            continue
        for variant in emit_variants(world, event):
            plan = {role: socket_expected(variant, role, world) for role in SOCKET_ROLES}
            quiet = [role for role in SOCKET_ROLES if plan[role] in REFUSALS | {ANY}]
            acks = {}
            for role in quiet:
                acks[role] = emitted(sockets[role], variant)
                problem = judge_ack(plan[role], acks[role], world, role, variant)
                if problem is None and plan[role] == HIDDEN:
                    absent = emitted(sockets[role], missing(variant, world))
                    if absent != acks[role]:
                        problem = f"differs from a missing id's {absent}"
                if problem:
                    failures.append(f"{variant} as {role}: {problem}")
            spare = SPARE_SOCKET.get(variant.cls)
            if spare is not None:
                quiet.append("member_spare")
                acks["member_spare"] = emitted(sockets["member_spare"], variant)
                problem = judge_ack(spare, acks["member_spare"], world, "member", variant)
                if problem:
                    failures.append(f"{variant} from the member's socket not in the call: "
                                    f"{problem}")
            if written(app, baseline):
                for role in quiet:  # one by one, to name who wrote
                    emitted(sockets[role], variant)
                    changed = written(app, baseline)
                    if changed:
                        failures.append(f"{variant} as {role} "
                                        f"({plan.get(role, spare)}) wrote: {changed}")
            for role in [role for role in SOCKET_ROLES if role not in quiet]:
                acks[role] = emitted(sockets[role], variant)
                problem = judge_ack(plan[role], acks[role], world, role, variant)
                if problem:
                    failures.append(f"{variant} as {role}: {problem}")
                if acks[role].get("ok") and variant.path in RELAYED:
                    relayed[variant.path] += 1
                written(app, baseline)
            if variant.obj and acks["other_mod"] != acks["outsider"]:
                failures.append(f"{variant}: a moderator of another topic gets "
                                f"{acks['other_mod']}, an outsider {acks['outsider']}")
    return failures, relayed


def unknown_event_answers(app, baseline, sockets: dict[str, Any]) -> list[str]:
    """An event name nobody handles (a typo of join_room): every role gets the same
    `unknown_event` ack, and nothing is written."""
    failures = []
    wanted = {"ok": False, "error": {"code": "unknown_event",
                                     "message": "There is no event named 'join_rooms'."}}
    for role in SOCKET_ROLES:
        ack = sockets[role].emit("join_rooms", {"room_id": "@room"}, callback=True)
        if ack != wanted:
            failures.append(f"EMIT join_rooms (no such event) as {role}: {ack}")
    changed = written(app, baseline)
    if changed:
        failures.append(f"EMIT join_rooms (no such event) wrote: {changed}")
    return failures


def drained(world: World, sc, role: str, room: str) -> list[dict[str, Any]]:
    """Everything `sc` (a socket of `role`) received, up to a probe message posted last
    in `room` (a world object name) by the other side of it."""
    sender = world.actor("owner" if role != "owner" else "member")
    body = f"drain {role} {len(world.ids)}"
    sender.ok("POST", f"/api/messages/rooms/{world.ids[room]}/messages",
              {"body": body, "client_id": body.replace(" ", "-")})
    events = sc.get_received()
    assert body in [data_of(e).get("body") for e in events if e["name"] == "message"], body
    return events


def relays_to_the_owner(world: World, sockets: dict[str, Any], relayed: Counter) -> list[str]:
    """The owner's socket, the other party of every call, got exactly the relayed events
    the member's participant socket sent and had acknowledged: none from a refused
    sender (the outsiders, the admin, the member's socket that is not in the call)."""
    parties = {world.ids[call]: world.parties[call]["member"] for call in CALL_ROOMS}
    member = world.actor("member").id
    got: Counter = Counter()
    failures = []
    for event in drained(world, sockets["owner"], "owner", "direct"):
        if event["name"] not in RELAYED:
            continue
        got[event["name"]] += 1
        data = data_of(event)
        sender = (data.get("from_user_id", data.get("user_id")),
                  data.get("from_party_id", data.get("party_id")))
        if sender != (member, parties.get(data.get("call_id"))):
            failures.append(f"the owner's socket got {event['name']} from {sender}: "
                            f"{json.dumps(data)[:200]}")
    if got != relayed or not relayed:
        failures.append(f"the owner's socket got {dict(got)}, the member's acks said "
                        f"{dict(relayed)}")
    return failures


def live_events(world: World, sockets: dict[str, Any]) -> None:
    """What members do in the private topic, the group, the direct room and the topic
    that turned private; the member and the admin follow what they may read."""
    owner, member, ids = world.actor("owner"), world.actor("member"), world.ids
    for role, event, key, name in [
            ("member", "join_topic", "topic_id", "topic"),
            ("member", "join_post", "post_id", "post"),
            ("member", "join_room", "room_id", "topic_room"),
            ("member", "join_room", "room_id", "group"),
            ("member", "join_room", "room_id", "direct"),
            ("admin", "join_topic", "topic_id", "topic"),
            ("admin", "join_post", "post_id", "post")]:
        ack = sockets[role].emit(event, {key: ids[name]}, callback=True)
        assert ack["ok"], (role, event, ack)
    post = owner.ok("POST", "/api/posts/", {"topic_id": ids["topic"], "title": "New xylotopic",
                                            "body": "xylotopic news"})
    owner.ok("POST", f"/api/posts/{ids['post']}/comments", {"body": "xylotopic reply"})
    owner.ok("POST", f"/api/posts/{post['id']}/pin")
    for room in ("topic_room", "group", "direct"):
        owner.ok("POST", f"/api/messages/rooms/{ids[room]}/messages",
                 {"body": f"live {room} xylo{world.scopes[room]}", "client_id": f"live-{room}"})
        for event, payload in [("typing", {"typing": True}), ("mark_read", {"seq": 2})]:
            ack = sockets["owner"].emit(event, {"room_id": ids[room], **payload}, callback=True)
            assert ack["ok"], (event, room, ack)
    member.ok("PATCH", f"/api/messages/{ids['group_message']}", {"body": "xylogroup edit"})
    member.ok("PUT", f"/api/messages/{ids['direct_message']}/reactions/%F0%9F%91%8D")
    owner.ok("PATCH", f"/api/messages/rooms/{ids['group']}", {"title": "xylogroup renamed"})
    owner.ok("DELETE", f"/api/messages/{ids['topic_message']}")
    turned = owner.ok("POST", "/api/posts/", {"topic_id": ids["turned_topic"],
                                              "title": "Private xyloturned", "body": "news"})
    owner.ok("POST", f"/api/posts/{ids['turned_post']}/comments", {"body": "xyloturned reply"})
    owner.ok("POST", f"/api/posts/{turned['id']}/pin")
    owner.ok("POST", f"/api/messages/rooms/{ids['turned_room']}/messages",
             {"body": "live xyloturned", "client_id": "live-turned"})


def live_calls(world: World, sockets: dict[str, Any]) -> None:
    """In each room the owner hangs up the world's call (which ends it), then a new call
    goes through every step: ringing (the owner calls in the group and the direct room,
    the member in the topic's room, which rings nobody), answered, offers both ways, an
    answer, candidates, mute, speaking, a heartbeat, and a hangup that ends it. The SDP
    and the party ids carry the room's marker."""
    for call, room in CALL_ROOMS.items():
        emit_ok(sockets["owner"], "call_hangup", {"call_id": world.ids[call],
                                                  "reason": "user_hangup"})
        caller, callee = ("member", "owner") if room == "topic_room" else ("owner", "member")
        party = {role: party_id(world, call, role) + "-live" for role in ("member", "owner")}
        started = emit_ok(sockets[caller], "call_start", {"room_id": world.ids[room],
                                                          "kind": "video",
                                                          "party_id": party[caller]})
        call_id = world.add(f"live_{call}", world.scopes[room], started["call"]["id"])
        emit_ok(sockets[callee], "call_accept", {"call_id": call_id, "party_id": party[callee]})
        sdp = SDP + f"a=x-scope:{party['owner']}\r\n"
        for sender, event, payload in [
                ("member", "call_offer", {"description": {"type": "offer", "sdp": sdp}}),
                ("owner", "call_answer", {"description": {"type": "answer", "sdp": sdp}}),
                ("owner", "call_candidates", {"candidates": [CANDIDATE]}),
                ("owner", "call_offer", {"description": {"type": "offer", "sdp": sdp}}),
                ("member", "call_answer", {"description": {"type": "answer", "sdp": sdp}})]:
            to = "owner" if sender == "member" else "member"
            emit_ok(sockets[sender], event, {"call_id": call_id, "to_party_id": party[to],
                                             **payload})
        emit_ok(sockets["owner"], "call_mute", {"call_id": call_id, "video_muted": True})
        emit_ok(sockets["owner"], "call_speaking", {"call_id": call_id, "speaking": True})
        emit_ok(sockets["member"], "call_heartbeat", {"call_id": call_id})
        ended = emit_ok(sockets["owner"], "call_hangup", {"call_id": call_id,
                                                          "reason": "user_hangup"})
        assert ended["call"]["state"] == "ended", ended


# What the member must have heard, by (event, scope): proof the live events happened.
MEMBER_HEARS = [("message", "topic"), ("message", "group"), ("message", "direct"),
                ("new_post", "topic"), ("new_comment", "topic"), ("post_updated", "topic"),
                ("message_updated", "group"), ("reaction_updated", "direct"),
                ("message_deleted", "topic"), ("typing", "group"), ("read", "direct"),
                ("room_updated", "group")] + [
    (event, scope) for scope in ("topic", "group", "direct")
    for event in ("call_left", "call_ended", "call_offer", "call_answer", "call_candidates",
                  "call_mute", "call_speaking")] + [
    ("call_accepted", "topic"), ("call_invite", "group"), ("call_invite", "direct")]
# What the member's socket that is in no call must have heard: it rings, and it hears
# that the member answered on another device and that the call ended.
SPARE_HEARS = [("call_invite", "group"), ("call_answered_elsewhere", "direct"),
               ("call_ended", "topic")]


def deliveries(world: World, sockets: dict[str, Any], probes: dict[str, str]) -> list[str]:
    """A probe message last, to every socket: once it has arrived, whatever was sent
    before it has arrived too. Nothing received may carry what the role may not read."""
    for role in SOCKET_ROLES:
        world.actor("owner").ok("POST", f"/api/messages/rooms/{probes[role]}/messages",
                                {"body": f"probe {role}", "client_id": f"probe-{role}"})
    failures = []
    heard = {}
    for role in SOCKET_ROLES:
        events = sockets[role].get_received()
        bodies = [data_of(e).get("body") for e in events if e["name"] == "message"]
        if f"probe {role}" not in bodies:
            failures.append(f"{role}'s socket never got its probe: {bodies}")
        for event in events:
            text = json.dumps(event, ensure_ascii=False)
            leaked = [token for token in world.leak_tokens(role) if token in text]
            if leaked:
                failures.append(f"{role}'s socket received {event['name']} leaking {leaked}: "
                                f"{text[:200]}")
        heard[role] = {(e["name"], scope_of(world, e)) for e in events}
    failures += [f"the member never heard {wanted}: the live events did not happen"
                 for wanted in MEMBER_HEARS if wanted not in heard["member"]]
    # The member's socket in no call: its probe is the member's (same user room).
    spare = sockets["member_spare"].get_received()
    if "probe member" not in [data_of(e).get("body") for e in spare if e["name"] == "message"]:
        failures.append("the member's socket in no call never got its probe")
    failures += [f"the member's socket in no call received {e['name']}: "
                 f"{json.dumps(e, ensure_ascii=False)[:200]}"
                 for e in spare if e["name"] in IN_CALL_EVENTS]
    heard_spare = {(e["name"], scope_of(world, e)) for e in spare}
    failures += [f"the member's socket in no call never heard {wanted}"
                 for wanted in SPARE_HEARS if wanted not in heard_spare]
    if ("new_post", "topic") not in heard["admin"]:
        failures.append("the admin, following the private topic, never heard its new_post")
    return failures


def data_of(event: dict[str, Any]) -> dict[str, Any]:
    args = event["args"]
    data = args[0] if isinstance(args, list) and args else args
    return data if isinstance(data, dict) else {}


def scope_of(world: World, event: dict[str, Any]) -> str | None:
    text = json.dumps(event, ensure_ascii=False)
    return next((scope for name, scope in world.scopes.items() if world.ids[name] in text),
                None)
