"""The 10,000-socket broadcast bench (bench/broadcast.py, issue 29 point 6) runs end to end
on a small scale and counts lost and duplicated deliveries right. No timing is checked:
speed is the bench's to measure, not a test's."""
from __future__ import annotations

from bench import broadcast


def test_counts_lost_duplicated_and_out_of_order_per_socket_per_message():
    sent = {"a": 10.0, "b": 11.0}
    sockets = [
        {"a": [10.1], "b": [11.2], "stray": [9.0]},  # both once; an unknown id is ignored
        {"a": [10.2, 10.3]},  # a twice, b lost
        {"b": [11.05], "a": [11.1]},  # both once, but b (seq 2) before a (seq 1)
        {},  # joined, heard nothing: both lost
    ]
    result = broadcast.summarize(sent, ["a", "b"], sockets)
    assert (result["deliveries"], result["lost"], result["duplicated"],
            result["sockets_out_of_order"]) == (5, 3, 1, 1)
    # Latency from the send to each socket's first arrival: 100, 200, 1100 ms for a;
    # 200, 50 ms for b. The whole room had a at 11.1 and b at 11.2.
    assert result["delivery_ms"] == {"p50": 200.0, "p99": 1100.0, "max": 1100.0}
    assert result["last_arrival_ms"] == {"p50": 200.0, "p99": 1100.0, "max": 1100.0}


def test_three_client_processes_hear_every_message_once_through_two_servers(cluster, db):
    _app, servers = cluster
    room = broadcast.seed_room(servers[0].url, db, 30)
    assert db.topic_members.count_documents({}) == 31
    assert db.auth_tokens.count_documents({"kind": "access"}) == 31  # 30 seeded + sender

    report = broadcast.measure([s.url for s in servers], room, processes=3, messages=3,
                               spacing=0.05, settle=0, collect_timeout=30)

    assert report["connect"]["connected"] == 30, report["connect"]
    assert report["send"]["acknowledged"] == 3, report["send"]
    result = report["result"]
    assert (result["deliveries"], result["lost"], result["duplicated"],
            result["sockets_out_of_order"]) == (90, 0, 0, 0), result
    assert report["clients"]["open_at_end"] == 30
    assert db.messages.count_documents({"room_id": db.rooms.find_one()["_id"]}) == 3
