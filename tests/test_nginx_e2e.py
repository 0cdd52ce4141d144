"""End to end through nginx: Debian's nginx with the shipped deploy/nginx/roundtable.conf
in front of three gunicorn/gevent processes sharing one SecantusDB and one Redis. Clients
connect from distinct loopback addresses, so ip_hash spreads them over the processes."""
from __future__ import annotations

import http.client
import json
import time
import uuid

import pytest
import requests
import socketio
from prometheus_client.parser import text_string_to_metric_families

from services.chat import chat_rooms
from services.forum import topic_members, topics_service
from tests.helpers import wait_for
from tests.nginx_helpers import METRICS_TOKEN, Cluster, EdgeClient, session_from


@pytest.fixture(scope="module")
def edge(mongo_server, tmp_path_factory):
    cluster = Cluster(mongo_server.uri, tmp_path_factory.mktemp("edge"), 3,
                      {"RATELIMIT_REGISTER": "3 per hour"})
    yield cluster
    cluster.stop()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def scrape(server) -> dict[tuple[str, tuple], float]:
    """Every sample of one process's /metrics: (name, sorted labels) -> value."""
    answer = requests.get(server.url + "/metrics", headers=bearer(METRICS_TOKEN), timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(answer.text) for s in family.samples}


def sample(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_the_shipped_config_spreads_clients_and_keeps_each_on_one_process(edge):
    # ip_hash put some of 40 client addresses on each of the three processes.
    assert all(edge.routes[server.port] for server in edge.servers), edge.routes
    source = edge.source_for(edge.servers[1])
    session = session_from(source)
    upstreams = {session.get(edge.edge.url + "/health", timeout=10).headers["X-Upstream"]
                 for _ in range(5)}
    assert upstreams == {f"127.0.0.1:{edge.servers[1].port}"}
    # The app adopted nginx's request id, so both logs name a request the same way.
    answer = session.get(edge.edge.url + "/version", timeout=10)
    assert len(answer.headers["X-Request-ID"]) == 32
    # /metrics is for Prometheus on the internal network, never through nginx.
    hidden = session.get(edge.edge.url + "/metrics", headers=bearer(METRICS_TOKEN), timeout=10)
    assert hidden.status_code == 404


def test_no_spelling_of_metrics_gets_past_nginx(edge):
    # nginx matches its locations on the decoded, normalized path but passes the request
    # line on as the client wrote it: each of these reached the app before.
    source = edge.source_for(edge.servers[0], 1)
    spellings = ["/metrics", "/metrics/", "/metrics%2f", "/metrics%2F", "/metrics%2F%2F",
                 "//metrics", "/./metrics", "/x/../metrics", "/%6Detrics", "/METRICS",
                 "/Metrics/", "/metrics?x=1", "/metrics;x"]
    seen = len(edge.edge.statuses())
    for method in ("GET", "OPTIONS", "POST", "HEAD"):
        for path in spellings:
            connection = http.client.HTTPConnection("127.0.0.1", edge.edge.port, timeout=10,
                                                    source_address=(source, 0))
            connection.request(method, path, headers={
                "Authorization": f"Bearer {METRICS_TOKEN}", "Content-Length": "0"})
            answer = connection.getresponse()
            answer.read()
            connection.close()
            assert answer.status == 404, (method, path, answer.status)
            assert "X-Upstream" not in answer.headers, (method, path)
    # Only our requests (the cluster's own health checks pass through nginx meanwhile).
    # nginx writes a request's log line after it sent the answer, so the last line may
    # still be on its way when the loop ends: read until every one is there.
    sent = sorted(f"{method} {path} HTTP/1.1" for method in ("GET", "OPTIONS", "POST", "HEAD")
                  for path in spellings)

    def every_one_logged():
        refused = [entry for entry in edge.edge.statuses()[seen:] if entry[2] in sent]
        return refused if sorted(line for *_, line in refused) == sent else None

    refused = wait_for(every_one_logged, timeout=10, what="a log line for every request sent")
    assert all(upstream == "-" for _status, upstream, _line in refused), refused


def test_websocket_and_polling_clients_on_three_processes(edge):
    a, b, c = edge.servers
    alice, alice_token = edge.user("alice")
    bob, bob_token = edge.user("bob")
    carol, carol_token = edge.user("carol")
    dave, dave_token = edge.user("dave")
    with edge.app.app_context():
        room_id = str(chat_rooms.create_group(
            alice, "trio", [str(bob["_id"]), str(carol["_id"])])["_id"])
        chat_rooms.open_direct(alice, str(dave["_id"]))  # dave's presence reaches alice
    ws_alice = EdgeClient(edge.edge, alice_token, edge.source_for(a))
    poll_bob = EdgeClient(edge.edge, bob_token, edge.source_for(b), transport="polling")
    ws_carol = EdgeClient(edge.edge, carol_token, edge.source_for(c))
    clients = [ws_alice, poll_bob, ws_carol]
    try:
        assert poll_bob.sio.transport() == "polling" and ws_alice.sio.transport() == "websocket"
        for client in clients:
            assert client.call("join_room", {"room_id": room_id})["ok"]

        # Cross-process delivery, both ways, both transports.
        sent = ws_alice.call("send_message", {"room_id": room_id, "body": "hi from A",
                                              "client_id": "a-1"})["data"]
        assert [m["id"] for m in poll_bob.wait_for("message")] == [sent["id"]]
        assert [m["id"] for m in ws_carol.wait_for("message")] == [sent["id"]]
        reply = poll_bob.call("send_message", {"room_id": room_id, "body": "hi from B",
                                               "client_id": "b-1"})["data"]
        assert reply["seq"] == 2
        assert [m["seq"] for m in ws_alice.wait_for("message", 2)] == [1, 2]
        assert [m["seq"] for m in ws_carol.wait_for("message", 2)] == [1, 2]

        # Typing from C reaches A and B.
        assert ws_carol.call("typing", {"room_id": room_id, "typing": True})["ok"]
        expected = {"room_id": room_id, "user_id": str(carol["_id"]), "typing": True,
                    "expires_in": 5}
        for seen in (ws_alice.wait_for("typing"), poll_bob.wait_for("typing")):
            assert [{k: v for k, v in t.items() if k != "user"} for t in seen] == [expected]
            assert seen[0]["user"]["id"] == str(carol["_id"])  # and its public fields

        # Presence: dave comes online over long-polling on C, then leaves.
        dave_id = str(dave["_id"])
        poll_dave = EdgeClient(edge.edge, dave_token, edge.source_for(c, 1), transport="polling")
        assert ws_alice.wait_for("presence", where=lambda d: d["user_id"] == dave_id) == [
            {"user_id": dave_id, "online": True}]
        online = poll_bob.call("get_online_users", {"room_id": room_id})["data"]["user_ids"]
        assert sorted(online) == sorted(str(u["_id"]) for u in (alice, bob, carol))
        poll_dave.close()
        assert ws_alice.wait_for("presence", 2, where=lambda d: d["user_id"] == dave_id)[-1] == {
            "user_id": dave_id, "online": False}

        # Catch-up: bob (long-polling) is away for three messages, then comes back.
        poll_bob.close()
        for i in range(3):
            assert ws_carol.call("send_message", {"room_id": room_id, "body": f"away {i}",
                                                  "client_id": f"c-{i}"})["ok"]
        poll_bob = EdgeClient(edge.edge, bob_token, edge.source_for(b), transport="polling")
        clients.append(poll_bob)
        caught = poll_bob.call("join_room", {"room_id": room_id, "after_seq": 2})["data"]
        assert [m["seq"] for m in caught["messages"]] == [3, 4, 5]
        assert [m["body"] for m in caught["messages"]] == ["away 0", "away 1", "away 2"]
    finally:
        for client in clients:
            client.close()


def test_live_bans_reach_sockets_on_other_processes(edge):
    a, b, c = edge.servers
    _, admin_token = edge.user("sysop", role="admin")
    owner, owner_token = edge.user("olivia")
    troll, troll_token = edge.user("troll")
    spammer, spammer_token = edge.user("spammer")
    with edge.app.app_context():
        topic = topics_service.create_topic(owner, "Gardening")
        topic_id = str(topic["_id"])
        topic_members.join_topic(troll, topic["_id"])
        direct_id = str(chat_rooms.open_direct(owner, str(troll["_id"]))[0]["_id"])
    admin_http = session_from(edge.source_for(a))
    owner_http = session_from(edge.source_for(a, 1))
    troll_ws = EdgeClient(edge.edge, troll_token, edge.source_for(b))
    owner_ws = EdgeClient(edge.edge, owner_token, edge.source_for(c))
    spammer_poll = EdgeClient(edge.edge, spammer_token, edge.source_for(c, 1),
                              transport="polling")
    try:
        # A topic ban made on A takes troll's socket on B out of the topic's live room.
        for client in (troll_ws, owner_ws):
            assert client.call("join_topic", {"topic_id": topic_id})["ok"]
        assert troll_ws.call("join_room", {"room_id": direct_id})["ok"]
        banned = owner_http.post(f"{edge.edge.url}/api/topics/{topic_id}/bans",
                                 json={"user_id": str(troll["_id"])},
                                 headers=bearer(owner_token), timeout=10)
        assert banned.status_code == 201, banned.text
        post = owner_http.post(f"{edge.edge.url}/api/posts", headers=bearer(owner_token),
                               json={"topic_id": topic_id, "title": "After the ban",
                                     "body": "Members only."}, timeout=10)
        assert post.status_code == 201, post.text
        assert owner_ws.wait_for("new_post"), "the owner's socket on C missed the post"
        dm = owner_http.post(f"{edge.edge.url}/api/messages/rooms/{direct_id}/messages",
                             json={"body": "you are banned", "client_id": "dm-1"},
                             headers=bearer(owner_token), timeout=10)
        assert dm.status_code == 201, dm.text
        # The message was published after the post; once it is here, so would the post be.
        assert troll_ws.wait_for("message")
        assert troll_ws.named("new_post") == []

        # A site ban made on A logs the long-polling socket on C out.
        response = admin_http.post(f"{edge.edge.url}/api/admin/users/{spammer['_id']}/ban",
                                   json={"reason": "spam ring"}, headers=bearer(admin_token),
                                   timeout=10)
        assert response.status_code == 200, response.text
        logout = spammer_poll.wait_for("force_logout")
        assert logout and "spam ring" in logout[0]["reason"]
        deadline = time.monotonic() + 10
        while spammer_poll.sio.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not spammer_poll.sio.connected
        with pytest.raises(socketio.exceptions.ConnectionError):
            EdgeClient(edge.edge, spammer_token, edge.source_for(c, 1), transport="polling")
    finally:
        for client in (troll_ws, owner_ws, spammer_poll):
            client.close()


def test_rate_limits_key_on_the_address_nginx_forwards(edge):
    source = edge.source_for(edge.servers[2], 2)
    session = session_from(source)

    def register(http, name: str, spoof: str | None = None) -> requests.Response:
        headers = {"X-Forwarded-For": spoof} if spoof else {}
        return http.post(f"{edge.edge.url}/api/auth/register", headers=headers, timeout=10,
                         json={"username": name, "email": f"{name}@example.com",
                               "password": "a long and unusual passphrase 42"})

    before = scrape(edge.servers[2])
    # A new forged X-Forwarded-For each time: nginx appends the real address after it,
    # and the app (TRUSTED_PROXIES=1) keys on that last entry only.
    statuses = [register(session, f"limited{i}", spoof=f"203.0.113.{i}").status_code
                for i in range(4)]
    assert statuses == [201, 201, 201, 429]
    # Another client address has its own allowance, so the key is not nginx's address.
    other = session_from(edge.source_for(edge.servers[2], 3))
    assert register(other, "elsewhere").status_code == 201
    after = scrape(edge.servers[2])
    labels = {"transport": "http", "route": "/api/auth/register"}
    assert (sample(after, "roundtable_rate_limit_refusals_total", **labels)
            - sample(before, "roundtable_rate_limit_refusals_total", **labels)) == 1
    # The log line of the refused request names the client, not nginx.
    lines = log_lines(edge.servers[2], lambda r: r.get("kind") == "request"
                      and r.get("status") == 429)
    assert lines and lines[-1]["remote_addr"] == source


def log_lines(server, where, timeout: float = 5) -> list[dict]:
    """The JSON lines a process wrote that satisfy `where` (waiting for them a little)."""
    deadline = time.monotonic() + timeout
    while True:
        found = []
        for line in server.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                if where(record):
                    found.append(record)
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_metrics_and_json_logs_of_one_process(edge):
    server = edge.servers[0]
    user, token = edge.user(f"metered{uuid.uuid4().hex[:6]}")
    other, _ = edge.user(f"peer{uuid.uuid4().hex[:6]}")
    with edge.app.app_context():
        room_id = str(chat_rooms.open_direct(user, str(other["_id"]))[0]["_id"])
    source = edge.source_for(server, 4)
    before = scrape(server)
    client = EdgeClient(edge.edge, token, source)
    try:
        assert client.call("join_room", {"room_id": room_id})["ok"]
        sent = client.call("send_message", {"room_id": room_id, "body": "measured",
                                            "client_id": "m-1"})
        assert sent["ok"]
        assert client.wait_for("message")
        me = session_from(source).get(f"{edge.edge.url}/api/auth/me", headers=bearer(token),
                                      timeout=10)
        assert me.status_code == 200
        after = scrape(server)
        assert sample(after, "roundtable_socket_connections") >= 1

        def grew(name: str, **labels: str) -> float:
            return sample(after, name, **labels) - sample(before, name, **labels)

        assert grew("roundtable_socket_events_in_total", event="send_message",
                    outcome="ok") == 1
        assert grew("roundtable_socket_events_in_total", event="join_room", outcome="ok") == 1
        assert grew("roundtable_socket_event_duration_seconds_count", event="send_message") == 1
        assert grew("roundtable_message_send_seconds_count", transport="socket") == 1
        assert grew("roundtable_socket_events_out_total", event="message") >= 1
        assert grew("roundtable_socket_deliveries_total", event="message") >= 1
        assert grew("roundtable_http_requests_total", method="GET", route="/api/auth/me",
                    status="200") == 1
        assert grew("roundtable_http_request_duration_seconds_bucket", method="GET",
                    route="/api/auth/me", le="+Inf") == 1
        # Without the token, /metrics does not exist.
        assert requests.get(server.url + "/metrics", timeout=10).status_code == 404
        assert requests.get(server.url + "/metrics", headers=bearer("wrong"),
                            timeout=10).status_code == 404

        # Production logs: one JSON object per request and per socket event.
        request_id = me.headers["X-Request-ID"]
        [line] = log_lines(server, lambda r: r.get("request_id") == request_id
                           and r.get("kind") == "request")
        assert line["route"] == "/api/auth/me" and line["status"] == 200
        assert line["user_id"] == str(user["_id"]) and line["remote_addr"] == source
        assert line["level"] == "INFO" and line["duration_ms"] >= 0 and line["time"]
        [event] = log_lines(server, lambda r: r.get("kind") == "socket_event"
                            and r.get("event") == "send_message"
                            and r.get("user_id") == str(user["_id"]))
        assert event["status"] == "ok" and event["sid"] and len(event["request_id"]) == 32
    finally:
        client.close()
