"""What the authorization matrix (tests/test_authorization_matrix.py) tries, and how: the
access class of every route (ROUTES) and Socket.IO event (EVENTS), what each class gives
each role (OBJECT_CLASSES, SITE_CLASSES), the values, bodies, queries and payloads that
fill routes and events with the world (tests/authz_world.py), and the functions that fill
them (`variants`, `emit_variants`). tests/test_write_gate.py walks the same routes and
events. A new route or event is classified here; the matrix fails until it is."""
from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from tests.authz_checks import (
    ANY,
    DENIED,
    HIDDEN,
    OK,
    REFUSED,
    SEES,
    SKIP,
    UNAUTHORIZED,
    VISIBLE,
    Variant,
    resolve,
)
from tests.authz_world import (
    ROLES,
    World,
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
    "POST /api/auth/token/refresh": "credentials",
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
    "POST /api/auth/passkeys/token": "credentials",
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
    "GET /api/push/vapid-public-key": "public",
    "GET /api/push/subscriptions": "signed-in",
    "POST /api/push/subscriptions": "signed-in",
    # Someone else's subscription is the 404 of a missing one (tests/test_push.py).
    "DELETE /api/push/subscriptions/<objectid:subscription_id>": "signed-in",
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
    # Edit history: the author, the topic's (room's) moderators and site staff; any other
    # reader gets the 404 of a missing item (tests/test_edit_history.py: the world's
    # member wrote them, so no role here is a reader who is neither).
    "GET /api/posts/<objectid:post_id>/history": "author-or-moderator",
    "GET /api/comments/<objectid:comment_id>/history": "author-or-moderator",
    "GET /api/messages/<objectid:message_id>/history": "author-or-moderator",
    "GET /api/search": "visibility-list",
    # Messages
    "GET /api/messages/rooms": "signed-in",
    # Narrowed to one room by the query (QUERIES): read like that room.
    "GET /api/messages/search": "visibility-list",
    "POST /api/messages/direct": "signed-in",
    "POST /api/messages/groups": "signed-in",
    "GET /api/messages/rooms/<objectid:room_id>": "reader",
    "PATCH /api/messages/rooms/<objectid:room_id>": "room-moderator",
    # Topic rooms only (groups and direct rooms: 400): the topic's moderators, site staff.
    "DELETE /api/messages/rooms/<objectid:room_id>": "room-moderator",
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
    "GET /api/messages/rooms/<objectid:room_id>/draft": "reader",
    "PUT /api/messages/rooms/<objectid:room_id>/draft": "reader",
    "PUT /api/messages/<objectid:message_id>/reactions/<string:emoji>": "participant",
    "DELETE /api/messages/<objectid:message_id>/reactions/<string:emoji>": "participant",
    # Saved items (tests/test_saved_items.py): my own list, filtered by what I may read;
    # saving needs a readable item; unsaving answers 204 whatever the id (it tells nothing).
    "GET /api/saved": "own-list",
    "PUT /api/saved/<any(post, comment, message):item_type>/<objectid:item_id>": "reader",
    "DELETE /api/saved/<any(post, comment, message):item_type>/<objectid:item_id>":
        "signed-in",
    # Scheduled messages (tests/test_scheduled_messages.py): my own list; someone else's
    # id answers the 404 of a missing one (the world holds none: any id is missing).
    "GET /api/messages/scheduled": "own-list",
    "PATCH /api/messages/scheduled/<objectid:scheduled_id>": "signed-in",
    "DELETE /api/messages/scheduled/<objectid:scheduled_id>": "signed-in",
    # Threads: whoever reads the room reads, follows and marks its threads.
    "GET /api/messages/threads": "signed-in",
    "GET /api/messages/<objectid:message_id>/thread": "reader",
    "POST /api/messages/<objectid:message_id>/thread/follow": "reader",
    "DELETE /api/messages/<objectid:message_id>/thread/follow": "reader",
    "POST /api/messages/<objectid:message_id>/thread/read": "reader",
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
    # Polls (docs/POLLS.md): read with their post or message; voting is a write there.
    "GET /api/polls/<objectid:poll_id>": "reader",
    "GET /api/polls/<objectid:poll_id>/voters": "reader",
    "POST /api/polls/<objectid:poll_id>/vote": "participant",
    "DELETE /api/polls/<objectid:poll_id>/vote": "participant",
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
    "poll_id": ["@post_poll", "@topic_poll", "@group_poll", "@direct_poll"],
    # A user outside everything (banned from the private topic): admin actions, blocks.
    "user_id": ["@target"],
    "emoji": ["\N{THUMBS UP SIGN}"], "username": ["mx_member"], "filename": ["matrix.txt"],
    "folder": ["avatars"], "name": ["matrix.png"],
    "target_type": ["topic"], "target_id": ["@topic"], "slug": ["@topic_slug"],
    "pseudonym": ["@pseudonym"],
    # Saved items: the world's post (each type with its own ids: tests/test_saved_items.py).
    "item_type": ["post"], "item_id": ["@post"],
    # The caller's own credentials: no object of the world (classified own-account).
    "session_id": ["0" * 24], "token_id": ["0" * 24], "passkey_id": ["0" * 24],
    "subscription_id": ["0" * 24],
    # Scheduled messages: the world has none (tests/test_scheduled_messages.py tries them).
    "scheduled_id": ["0" * 24],
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
    "POST /api/polls/<objectid:poll_id>/vote": {"option_ids": ["1"]},
    "POST /api/messages/direct": {"user_id": "@newcomer"},
    "POST /api/messages/groups": {"title": "Matrix group", "member_ids": ["@newcomer"]},
    "PATCH /api/messages/rooms/<objectid:room_id>": [{"title": "renamed"},
                                                     {"read_only": True}],
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
    "POST /api/messages/<objectid:message_id>/thread/read": {"seq": 1},
    "PUT /api/messages/rooms/<objectid:room_id>/draft": {"body": "matrix draft"},
    "PATCH /api/messages/scheduled/<objectid:scheduled_id>": {"body": "matrix later"},
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
    "save_draft": "reader",
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
    "save_draft": [{"room_id": room, "body": "matrix draft"} for room in PATH_VALUES["room_id"]],
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


def emitted(sc, variant: Variant) -> Any:
    return sc.emit(variant.path, variant.body, callback=True)
