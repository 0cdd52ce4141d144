"""The authorization matrix: every route of the URL map and every Socket.IO event, found
by walking `app.url_map` and the registered handlers, tried by an anonymous caller, an
outsider, a moderator of another topic, a member and a site admin on a private topic, a
group and a direct conversation, with a live call in each of their three chat rooms
(tests/authz_world.py builds them).

Each route and event has an access class in ROUTES / EVENTS (tests/authz_tables.py, with
the values that fill them); one that nobody classified fails
`test_every_route_and_event_is_classified`, so a new one cannot slip by. A class says what
each role gets:

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
from collections import Counter
from typing import Any

from tests.authz_checks import (
    ANY,
    HIDDEN,
    REFUSALS,
    SKIP,
    UNAUTHORIZED,
    Variant,
    error_of,
    judge,
    judge_ack,
    missing,
    written,
)
from tests.authz_tables import (
    ARGUMENT,
    CANDIDATE,
    EVENTS,
    IN_CALL_EVENTS,
    OBJECT_CLASSES,
    PATH_VALUES,
    RELAYED,
    ROUTES,
    SDP,
    SITE_CLASSES,
    SPARE_SOCKET,
    discovered_events,
    discovered_routes,
    emit_variants,
    emitted,
    route_key,
    variants,
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


def test_every_route_and_event_is_classified(app):
    routes = {route_key(method, rule) for method, rule in discovered_routes(app)}
    assert len(routes) > 90
    unclassified = sorted(routes - set(ROUTES))
    stale = sorted(set(ROUTES) - routes)
    assert not unclassified, \
        f"classify these routes in tests/authz_tables.py ROUTES: {unclassified}"
    assert not stale, f"ROUTES names routes that no longer exist: {stale}"
    assert set(ROUTES.values()) <= set(OBJECT_CLASSES) | set(SITE_CLASSES)
    events = set(discovered_events())
    assert {"connect", "join_room", "send_message", "join_topic"} <= events
    assert not sorted(events - set(EVENTS)), \
        f"classify these events in tests/authz_tables.py EVENTS: {events - set(EVENTS)}"
    assert not sorted(set(EVENTS) - events), f"EVENTS names unknown events: {set(EVENTS) - events}"
    assert set(EVENTS.values()) <= set(OBJECT_CLASSES) | set(SITE_CLASSES) | {
        "connection", "leave", "catch-all"}
    params = {name for _m, rule in discovered_routes(app) for name in ARGUMENT.findall(rule)}
    assert params <= set(PATH_VALUES), f"no value for path parameters {params - set(PATH_VALUES)}"


# Filling routes and events with the world

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

# The world's calls ring and stay up for the whole matrix: with the defaults (45 s) a slow
# run (coverage, a loaded machine) saw the sweeper end them mid-way, and the missed-call
# messages it wrote were blamed on the request being checked.
CALLS_LAST_THE_RUN = {"CALL_RING_SECONDS": 3600, "CALL_HEARTBEAT_TIMEOUT_SECONDS": 3600}


def test_http_authorization_matrix(make_app):
    app = make_app(MONGO_COUNT_COMMANDS=True, RATELIMIT_ENABLED=False,
                   CHAT_RATE_LIMIT="1000 per 5 seconds", **CALLS_LAST_THE_RUN,
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


def socket_expected(variant: Variant, role: str, world: World) -> Any:
    if variant.cls == "leave":
        return ANY  # leaving a room one is not in changes nothing
    return expected(variant, role, world, protected=True)


def test_socket_authorization_matrix(make_app):
    app = make_app(MONGO_COUNT_COMMANDS=True, RATELIMIT_ENABLED=False,
                   CHAT_RATE_LIMIT="1000 per 5 seconds", **CALLS_LAST_THE_RUN,
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
