"""Edit history (docs/TOPICS.md "Edit history", docs/MESSAGING.md): each edit of a message,
post or comment keeps the version it replaced; items carry `edited_at` and `edit_count`;
GET .../<id>/history answers the versions to the author, the room's or topic's moderators
and site staff, and to anyone else the 404 of a missing item; deleting an item or erasing
an account's content removes its history."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from bson import ObjectId

from tests.helpers import DEFAULT_PASSWORD, events
from tests.topic_helpers import Person, join, make_post, make_topic, send_message, socket_of
from utils.db import get_db


def history(person: Person, path: str, **query):
    return person.get(f"{path}/history", query_string=query)


def bodies(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [version["body"] for version in response.get_json()["items"]]


def hidden_like_missing(person: Person, path: str, missing: str) -> None:
    """`person` gets, word for word, what a missing item's history answers."""
    refused, absent = history(person, path), history(person, missing)
    assert refused.status_code == absent.status_code == 404
    assert refused.get_json() == absent.get_json()


def stored_versions(app, item_id: str) -> int:
    with app.app_context():
        return get_db().edit_versions.count_documents({"item_id": ObjectId(item_id)})


def test_message_edits_keep_each_version_for_author_and_moderators(app, client):
    alice, bob, carol = (Person(client, name) for name in ("alice", "bob", "carol"))
    room = alice.post("/api/messages/groups", {"title": "Crew",
                                               "member_ids": [bob.id, carol.id]}
                      ).get_json()["id"]
    message = send_message(bob, room, "first words", "b1")
    assert (message["edited_at"], message["edit_count"]) == (None, 0)
    watcher = socket_of(app, carol)
    edited = bob.patch(f"/api/messages/{message['id']}", {"body": "second words"}).get_json()
    assert edited["edit_count"] == 1 and edited["edited_at"] is not None
    # The socket edit takes the same path.
    sc = socket_of(app, bob)
    ack = sc.emit("edit_message", {"message_id": message["id"], "body": "third words"},
                  callback=True)
    assert ack["ok"] and ack["data"]["edit_count"] == 2
    assert [e["edit_count"] for e in events(watcher, "message_updated")] == [1, 2]
    path = f"/api/messages/{message['id']}"

    # The author and the group's owner (its moderator) read both earlier versions.
    for reader in (bob, alice):
        assert bodies(history(reader, path)) == ["first words", "second words"]
    first, second = history(bob, path).get_json()["items"]
    assert (first["version"], second["version"], first["title"]) == (1, 2, None)
    assert first["replaced_at"] == second["written_at"]
    assert second["replaced_at"] == ack["data"]["edited_at"]
    # Paged, the first written first.
    page = history(bob, path, limit=1).get_json()
    assert [v["body"] for v in page["items"]] == ["first words"]
    rest = history(bob, path, limit=1, cursor=page["next_cursor"]).get_json()
    assert ([v["body"] for v in rest["items"]], rest["next_cursor"]) == (["second words"], None)
    # A member who is neither, and someone outside the room: the 404 of a missing message.
    outsider = Person(client, "eve")
    missing = f"/api/messages/{ObjectId()}"
    hidden_like_missing(carol, path, missing)
    hidden_like_missing(outsider, path, missing)
    sc.disconnect()
    watcher.disconnect()


def test_topic_room_history_to_topic_moderators_and_site_staff(client):
    owner, member, other, admin = (Person(client, name)
                                   for name in ("olivia", "mia", "otto", "ada"))
    admin.set_role("admin")
    topic = make_topic(owner)
    join(member, topic["id"])
    join(other, topic["id"])
    room = owner.post(f"/api/topics/{topic['id']}/rooms", {"name": "chat"}).get_json()["id"]
    message = send_message(member, room, "before", "m1")
    assert member.patch(f"/api/messages/{message['id']}", {"body": "after"}).status_code == 200
    path = f"/api/messages/{message['id']}"
    for reader in (member, owner, admin):
        assert bodies(history(reader, path)) == ["before"]
    hidden_like_missing(other, path, f"/api/messages/{ObjectId()}")


def test_direct_room_history_is_the_authors_only(client):
    alice, bob = Person(client, "alice"), Person(client, "bob")
    room = alice.post("/api/messages/direct", {"user_id": bob.id}).get_json()["id"]
    message = send_message(alice, room, "hello", "a1")
    alice.patch(f"/api/messages/{message['id']}", {"body": "hello there"})
    path = f"/api/messages/{message['id']}"
    assert bodies(history(alice, path)) == ["hello"]
    hidden_like_missing(bob, path, f"/api/messages/{ObjectId()}")


def test_post_and_comment_history_with_titles_to_author_moderators_staff(app, client):
    owner, author, reader, admin = (Person(client, name)
                                    for name in ("olivia", "anna", "rita", "ada"))
    admin.set_role("admin")
    topic = make_topic(owner)
    join(author, topic["id"])
    join(reader, topic["id"])
    post = make_post(author, topic["id"], "First title", "first body")
    changed = author.patch(f"/api/posts/{post['id']}", {"title": "Second title"})
    assert changed.status_code == 200
    assert changed.get_json()["edit_count"] == 1
    author.patch(f"/api/posts/{post['id']}", {"body": "third body"})
    shown = reader.get(f"/api/posts/{post['id']}").get_json()
    assert (shown["title"], shown["body"], shown["edit_count"]) == ("Second title",
                                                                    "third body", 2)
    path = f"/api/posts/{post['id']}"
    for who in (author, owner, admin):
        versions = history(who, path).get_json()["items"]
        assert [(v["version"], v["title"], v["body"]) for v in versions] == [
            (1, "First title", "first body"), (2, "Second title", "first body")]
    hidden_like_missing(reader, path, f"/api/posts/{ObjectId()}")

    comment = author.post(f"/api/posts/{post['id']}/comments", {"body": "said once"}
                          ).get_json()
    edited = author.patch(f"/api/comments/{comment['id']}", {"body": "said twice"})
    assert edited.get_json()["edit_count"] == 1
    listed = reader.get(f"/api/posts/{post['id']}/comments").get_json()["items"]
    assert listed[0]["edit_count"] == 1
    comment_path = f"/api/comments/{comment['id']}"
    for who in (author, owner, admin):
        assert bodies(history(who, comment_path)) == ["said once"]
    hidden_like_missing(reader, comment_path, f"/api/comments/{ObjectId()}")


def test_a_private_topics_history_is_hidden_from_outsiders(client):
    owner, outsider = Person(client, "olivia"), Person(client, "otto")
    topic = make_topic(owner, visibility="private")
    post = make_post(owner, topic["id"], "Secret plans", "plan A")
    owner.patch(f"/api/posts/{post['id']}", {"body": "plan B"})
    assert bodies(history(owner, f"/api/posts/{post['id']}")) == ["plan A"]
    hidden_like_missing(outsider, f"/api/posts/{post['id']}", f"/api/posts/{ObjectId()}")


def test_deleting_an_item_removes_its_history(app, client):
    owner, author = Person(client, "olivia"), Person(client, "anna")
    topic = make_topic(owner)
    join(author, topic["id"])
    post = make_post(author, topic["id"], "A title", "v1")
    author.patch(f"/api/posts/{post['id']}", {"body": "v2"})
    comment = author.post(f"/api/posts/{post['id']}/comments", {"body": "c1"}).get_json()
    author.patch(f"/api/comments/{comment['id']}", {"body": "c2"})
    room = owner.post(f"/api/topics/{topic['id']}/rooms", {"name": "chat"}).get_json()["id"]
    message = send_message(author, room, "m1", "a1")
    author.patch(f"/api/messages/{message['id']}", {"body": "m2"})
    items = {"post": post["id"], "comment": comment["id"], "message": message["id"]}
    assert {kind: stored_versions(app, item) for kind, item in items.items()} == {
        "post": 1, "comment": 1, "message": 1}

    # A moderator removes the comment and the message, the author deletes the post.
    assert owner.delete(f"/api/comments/{comment['id']}").status_code == 204
    assert owner.delete(f"/api/messages/{message['id']}").status_code == 200
    assert author.delete(f"/api/posts/{post['id']}").status_code == 204
    assert {kind: stored_versions(app, item) for kind, item in items.items()} == {
        "post": 0, "comment": 0, "message": 0}
    for path in (f"/api/posts/{post['id']}", f"/api/comments/{comment['id']}",
                 f"/api/messages/{message['id']}"):
        assert history(author, path).status_code == 404


def test_erasing_an_account_removes_the_history_of_what_it_wrote(app, client):
    owner, author = Person(client, "olivia"), Person(client, "anna")
    topic = make_topic(owner)
    join(author, topic["id"])
    kept = make_post(owner, topic["id"], "Owner's", "o1")
    owner.patch(f"/api/posts/{kept['id']}", {"body": "o2"})
    post = make_post(author, topic["id"], "Anna's", "a1")
    author.patch(f"/api/posts/{post['id']}", {"body": "a2"})
    room = owner.post(f"/api/topics/{topic['id']}/rooms", {"name": "chat"}).get_json()["id"]
    message = send_message(author, room, "m1", "a1")
    author.patch(f"/api/messages/{message['id']}", {"body": "m2"})

    gone = author.call("DELETE", "/api/users/me", json={"password": DEFAULT_PASSWORD,
                                                        "content": "remove"})
    assert gone.status_code == 204
    assert stored_versions(app, post["id"]) == stored_versions(app, message["id"]) == 0
    assert bodies(history(owner, f"/api/posts/{kept['id']}")) == ["o1"]  # others' stay


def test_concurrent_edits_each_keep_the_version_they_replaced(app, client):
    owner = Person(client, "olivia")
    topic = make_topic(owner)
    post = make_post(owner, topic["id"], "Racing", "v0")
    edits = [f"v{n}" for n in range(1, 7)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        answers = list(pool.map(
            lambda body: app.test_client().patch(f"/api/posts/{post['id']}", json={"body": body},
                                                 headers=owner.headers), edits))
    assert [a.status_code for a in answers] == [200] * len(edits)
    versions = history(owner, f"/api/posts/{post['id']}").get_json()["items"]
    current = owner.get(f"/api/posts/{post['id']}").get_json()
    assert [v["version"] for v in versions] == list(range(1, len(edits) + 1))
    assert current["edit_count"] == len(edits)
    # Every text written is either a replaced version or the current one, once.
    assert sorted([v["body"] for v in versions] + [current["body"]]) == ["v0", *edits]
