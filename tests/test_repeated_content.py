"""Repeated content (services/write_gate, docs/ADMIN.md): one account's same text sent to
many places within minutes is refused after REPEAT_CONTENT_MAX copies, over REST and
sockets, with 429 `duplicate_content`; other texts, short ones and the same place again
are not."""
from __future__ import annotations

from tests.authz_world import differences, snapshot
from tests.topic_helpers import Person, join, make_topic, socket_of

SPAM = "Cheap watches at example shop, visit now"


def rooms(app, count: int):
    client = app.test_client()
    owner, spammer = Person(client, "owner"), Person(client, "spammer")
    topic = make_topic(owner)
    join(spammer, topic["id"])
    made = [owner.post(f"/api/topics/{topic['id']}/rooms", {"name": f"room {i}"}).get_json()
            for i in range(count)]
    return owner, spammer, topic, made


def send(person: Person, room: dict, body: str, client_id: str):
    return person.post(f"/api/messages/rooms/{room['id']}/messages",
                       {"body": body, "client_id": client_id})


def test_the_same_text_in_too_many_rooms_is_refused(make_app):
    app = make_app(REPEAT_CONTENT_MAX=3, CHAT_RATE_LIMIT="1000 per minute")
    _owner, spammer, _topic, made = rooms(app, 5)
    for i, room in enumerate(made[:3]):
        assert send(spammer, room, SPAM, f"c{i}").status_code == 201
    # The same room again is no new copy; neither case nor spacing makes one new.
    assert send(spammer, made[0], SPAM.upper(), "again").status_code == 201
    before = snapshot(app)
    refused = send(spammer, made[3], "  " + SPAM.replace(" ", "   "), "c3")
    assert refused.status_code == 429, refused.get_json()
    assert refused.get_json()["error"]["code"] == "duplicate_content"
    assert 1 <= int(refused.headers["Retry-After"]) <= 600
    assert differences(before, snapshot(app)) == []
    # Over a socket too.
    socket = socket_of(app, spammer)
    ack = socket.emit("send_message", {"room_id": made[4]["id"], "body": SPAM,
                                       "client_id": "s"}, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == "duplicate_content"
    assert 1 <= ack["error"]["details"]["retry_after"] <= 600
    socket.disconnect()
    # Another text, a short one, goes anywhere.
    for i, room in enumerate(made):
        assert send(spammer, room, f"A different thought number {i}", f"d{i}").status_code == 201
        assert send(spammer, room, "ok thanks", f"short{i}").status_code == 201


def test_the_same_post_in_too_many_topics_is_refused(make_app):
    app = make_app(REPEAT_CONTENT_MAX=2)
    client = app.test_client()
    owner, spammer = Person(client, "owner"), Person(client, "spammer")
    topics = [make_topic(owner, f"Topic {i}") for i in range(3)]
    codes = []
    for topic in topics:
        join(spammer, topic["id"])
        answer = spammer.post("/api/posts/", {"topic_id": topic["id"], "title": "Deal",
                                              "body": SPAM})
        codes.append((answer.status_code, (answer.get_json().get("error") or {}).get("code")))
    assert codes == [(201, None), (201, None), (429, "duplicate_content")]
    # The same comment under many posts counts per post.
    post = spammer.post("/api/posts/", {"topic_id": topics[2]["id"], "title": "Fresh",
                                        "body": "something else entirely here"}).get_json()
    others = [owner.post("/api/posts/", {"topic_id": topics[0]["id"], "title": f"Post {i}",
                                         "body": "x"}).get_json() for i in range(2)]
    answers = [spammer.post(f"/api/posts/{p['id']}/comments", {"body": SPAM}).status_code
               for p in [post, *others]]
    assert answers == [201, 201, 429]
