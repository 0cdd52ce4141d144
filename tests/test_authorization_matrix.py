"""The authorization matrix: every route of the URL map and every Socket.IO event, found
by walking `app.url_map` and the registered handlers, tried by an anonymous caller, an
outsider, a moderator of another topic, a member and a site admin on a private topic, a
group and a direct conversation (tests/authz_world.py builds them).

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
  before the next call).

All failures of a walk are collected and reported together.
"""
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
    READS,
    ROLES,
    World,
    add_turned_topic,
    build_world,
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
    "owner-or-admin": (REFUSED, OK),
    "joiner": (OK, REFUSED),         # private topics are joined by invitation only
    "invitee": (HIDDEN, HIDDEN),     # neither has an invitation
    "room-moderator": (REFUSED, OK),
    "group-manager": (REFUSED, REFUSED),
    "room-leaver": ({"topic": OK, "group": OK, "direct": REFUSED}, OK),
    "reporter": (VISIBLE, OK),       # reporting one's own content is refused
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
}

ROUTES: dict[str, str] = {
    # Service and documentation
    "GET /health": "public",
    "GET /health/ready": "public",
    "GET /version": "public",
    "GET /static/<path:filename>": "public",
    "GET /api/openapi.json": "public",
    "GET /api/docs": "public",
    "GET /api/docs/assets/<path:filename>": "public",
    "GET /api/files/<string:folder>/<string:name>": "public",
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
    "GET /api/auth/me": "signed-in",
    "DELETE /api/auth/token": "own-account",
    "POST /api/auth/password/change": "own-account",
    "POST /api/auth/2fa/setup": "own-account",
    "POST /api/auth/2fa/enable": "own-account",
    "POST /api/auth/2fa/disable": "own-account",
    # Users
    "GET /api/users/": "public",
    "GET /api/users/<string:username>": "public",
    "GET /api/users/me": "signed-in",
    "PATCH /api/users/me": "signed-in",
    "DELETE /api/users/me": "own-account",
    "PUT /api/users/me/avatar": "own-account",
    "GET /api/users/me/blocked": "signed-in",
    "POST /api/users/<objectid:user_id>/block": "signed-in",
    "DELETE /api/users/<objectid:user_id>/block": "signed-in",
    "POST /api/users/<objectid:user_id>/friend-request": "signed-in",
    "GET /api/users/me/friend-requests": "signed-in",
    "POST /api/users/me/friend-requests/<objectid:request_id>/accept": "recipient",
    "POST /api/users/me/friend-requests/<objectid:request_id>/decline": "recipient",
    "GET /api/users/me/friends": "signed-in",
    "DELETE /api/users/me/friends/<objectid:user_id>": "signed-in",
    "GET /api/notifications/": "signed-in",
    "POST /api/notifications/<objectid:notification_id>/read": "recipient",
    # Topics
    "GET /api/topics": "visibility-list",
    "POST /api/topics": "signed-in",
    "GET /api/topics/<objectid:topic_id>": "reader",
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
    "POST /api/messages/direct": "signed-in",
    "POST /api/messages/groups": "signed-in",
    "GET /api/messages/rooms/<objectid:room_id>": "reader",
    "PATCH /api/messages/rooms/<objectid:room_id>": "room-moderator",
    "POST /api/messages/rooms/<objectid:room_id>/members": "group-manager",
    "DELETE /api/messages/rooms/<objectid:room_id>/members/<objectid:user_id>":
        "group-manager",
    "POST /api/messages/rooms/<objectid:room_id>/leave": "room-leaver",
    "GET /api/messages/rooms/<objectid:room_id>/messages": "reader",
    "POST /api/messages/rooms/<objectid:room_id>/messages": "participant",
    "POST /api/messages/rooms/<objectid:room_id>/read": "reader",
    "PATCH /api/messages/<objectid:message_id>": "author",
    "DELETE /api/messages/<objectid:message_id>": "author-or-moderator",
    "PUT /api/messages/<objectid:message_id>/reactions/<string:emoji>": "participant",
    "DELETE /api/messages/<objectid:message_id>/reactions/<string:emoji>": "participant",
    # Reports and administration
    "POST /api/reports": "reporter",
    "POST /api/reports/<objectid:report_id>/resolve": "topic-moderator",
    "GET /api/admin/users": "site-moderator",
    "PATCH /api/admin/users/<objectid:user_id>": "admin",
    "POST /api/admin/users/<objectid:user_id>/ban": "site-moderator",
    "POST /api/admin/users/<objectid:user_id>/unban": "site-moderator",
    "POST /api/admin/users/<objectid:user_id>/warn": "site-moderator",
    "GET /api/admin/reports": "site-moderator",
    "GET /api/admin/stats": "admin",
    "GET /api/admin/audit-log": "admin",
    "GET /api/admin/content-filter": "admin",
    "PUT /api/admin/content-filter": "admin",
}

# What fills each path parameter: `@name` is an object of the world (or a person's id).
# PATH_OVERRIDES replaces them for one route.
PATH_VALUES: dict[str, list[str]] = {
    "topic_id": ["@topic"], "post_id": ["@post"], "comment_id": ["@comment"],
    "room_id": ["@topic_room", "@group", "@direct"],
    "message_id": ["@topic_message", "@group_message", "@direct_message"],
    "report_id": ["@report"], "notification_id": ["@notification"],
    "request_id": ["@friend_request"],
    # A user outside everything (banned from the private topic): admin actions, blocks.
    "user_id": ["@target"],
    "emoji": ["\N{THUMBS UP SIGN}"], "username": ["mx_member"], "filename": ["matrix.txt"],
    "folder": ["avatars"], "name": ["matrix.png"],
}

PATH_OVERRIDES: dict[str, dict[str, list[str]]] = {
    # Only a banned user can be unbanned.
    "POST /api/admin/users/<objectid:user_id>/unban": {"user_id": ["@exile"]},
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
    "POST /api/posts/<objectid:post_id>/comments": {"body": "matrix comment"},
    "PATCH /api/comments/<objectid:comment_id>": {"body": "edited"},
    "POST /api/comments/<objectid:comment_id>/vote": {"value": 1},
    "POST /api/messages/direct": {"user_id": "@newcomer"},
    "POST /api/messages/groups": {"title": "Matrix group", "member_ids": ["@newcomer"]},
    "PATCH /api/messages/rooms/<objectid:room_id>": {"title": "renamed"},
    "POST /api/messages/rooms/<objectid:room_id>/members": {"user_id": "@newcomer"},
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
    "PUT /api/admin/content-filter": {"rules": [], "new_account_link_limit": 2},
}

# Query strings; a private object named in one makes that variant a `reader` of it.
QUERIES: dict[str, list[dict[str, str]]] = {
    "GET /api/posts": [{"sort": "new"}, {"topic_id": "@topic"}],
    "GET /api/search": [{"q": "xylotopic", "type": "posts"},
                        {"q": "xylotopic", "type": "topics"}],
    "GET /api/users/": [{"q": "mx_"}],
}

EVENTS: dict[str, str] = {
    "connect": "connection",
    "disconnect": "connection",
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
}

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
    assert set(EVENTS.values()) <= set(OBJECT_CLASSES) | {"connection", "leave"}
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
        if names and cls in SITE_CLASSES:
            # A list narrowed by its query to one private object is read like that object.
            assert resolve(world, variant.query)[1] == names, f"{key} reaches {names}"
            cls = "reader"
        labels = [*variant.labels, *(f"@{n}" for n in names if f"@{n}" not in variant.labels)]
        filled.append(replace(variant, cls=cls, path=path, body=body, query=query,
                              obj=names[0] if names else None, labels=labels))
    return filled


def protected_operations(app) -> set[tuple[str, str]]:
    """(METHOD, openapi path) of every operation the OpenAPI document says needs a login."""
    document = app.test_client().get("/api/openapi.json").get_json()
    return {(method.upper(), path) for path, item in document["paths"].items()
            for method, operation in item.items()
            if isinstance(operation, dict) and operation.get("security")}


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


def test_http_authorization_matrix(make_app):
    app = make_app(RATELIMIT_ENABLED=False, CHAT_RATE_LIMIT="1000 per 5 seconds",
                   CONTENT_FILTER_NEW_ACCOUNT_LINKS=2)
    world = build_world(app)
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
    assert calls > 400
    assert not failures, f"{len(failures)} authorization failures:\n" + "\n".join(failures)


# Socket.IO

SOCKET_ROLES = ROLES[1:]  # anonymous sockets are refused at connect


def emit_variants(world: World, event: str) -> list[Variant]:
    filled = []
    for payload in PAYLOADS.get(event, [{}]):
        resolved, names = resolve(world, payload)
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
    app = make_app(RATELIMIT_ENABLED=False, CHAT_RATE_LIMIT="1000 per 5 seconds",
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
    assert all(sc.is_connected() for sc in sockets.values())
    probes = probe_rooms(world)
    follow_then_turn_private(world, sockets)
    for sc in sockets.values():
        sc.get_received()

    failures += emit_matrix(app, world, sockets)
    live_events(world, sockets)
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


def emit_matrix(app, world: World, sockets: dict[str, Any]) -> list[str]:
    """Every event, on every private object, by every role. The leaves go first, so a
    join that wrongly succeeds is still in force when the members' live events come."""
    baseline = snapshot(app)
    failures: list[str] = []
    for event in sorted(discovered_events(), key=lambda name: EVENTS[name] != "leave"):
        if EVENTS[event] == "connection":
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
            if written(app, baseline):
                for role in quiet:  # one by one, to name who wrote
                    emitted(sockets[role], variant)
                    changed = written(app, baseline)
                    if changed:
                        failures.append(f"{variant} as {role} ({plan[role]}) wrote: {changed}")
            for role in [role for role in SOCKET_ROLES if role not in quiet]:
                acks[role] = emitted(sockets[role], variant)
                problem = judge_ack(plan[role], acks[role], world, role, variant)
                if problem:
                    failures.append(f"{variant} as {role}: {problem}")
                written(app, baseline)
            if variant.obj and acks["other_mod"] != acks["outsider"]:
                failures.append(f"{variant}: a moderator of another topic gets "
                                f"{acks['other_mod']}, an outsider {acks['outsider']}")
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


# What the member must have heard, by (event, scope): proof the live events happened.
MEMBER_HEARS = [("message", "topic"), ("message", "group"), ("message", "direct"),
                ("new_post", "topic"), ("new_comment", "topic"), ("post_updated", "topic"),
                ("message_updated", "group"), ("reaction_updated", "direct"),
                ("message_deleted", "topic"), ("typing", "group"), ("read", "direct"),
                ("room_updated", "group")]


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
