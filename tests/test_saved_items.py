"""Saved items (docs/TOPICS.md "Saved items"): PUT/DELETE /api/saved/<type>/<id> (204,
idempotent), GET /api/saved (cursor pages, the latest saved first, each item in its usual
shape with `type`); an item I cannot read is 404 to save and left out of my list, checked
when the list is read."""
from __future__ import annotations

from bson import ObjectId

from tests.helpers import DEFAULT_PASSWORD
from tests.topic_helpers import Person, make_post, make_topic, send_message
from utils.db import get_db


def saved(person: Person, **query) -> dict:
    response = person.get("/api/saved", query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def listed(person: Person) -> list[tuple[str, str]]:
    return [(item["type"], item["id"]) for item in saved(person)["items"]]


def save(person: Person, item_type: str, item_id: str):
    return person.call("PUT", f"/api/saved/{item_type}/{item_id}")


def test_save_list_and_unsave_every_kind(client, clock):
    owner, alice, bob = Person(client, "olivia"), Person(client, "alice"), Person(client, "bob")
    topic = make_topic(owner)
    post = make_post(owner, topic["id"], "Worth keeping", "a body")
    comment = owner.post(f"/api/posts/{post['id']}/comments", {"body": "a comment"}).get_json()
    room = alice.post("/api/messages/direct", {"user_id": bob.id}).get_json()["id"]
    message = send_message(bob, room, "remember this", "b1")

    for item_type, item in (("post", post), ("comment", comment), ("message", message)):
        assert save(alice, item_type, item["id"]).status_code == 204
        clock.advance(1)
    assert save(alice, "post", post["id"]).status_code == 204  # again: keeps its place
    items = saved(alice)["items"]
    assert [(i["type"], i["id"]) for i in items] == [
        ("message", message["id"]), ("comment", comment["id"]), ("post", post["id"])]
    # Each in the shape its own lists send, plus `type` and `saved_at`.
    assert items[0]["body"] == "remember this" and items[0]["room_id"] == room
    assert items[1]["body"] == "a comment" and items[1]["replies"] == []
    assert items[2]["title"] == "Worth keeping" and items[2]["topic"]["id"] == topic["id"]
    assert items[2]["saved_at"] < items[1]["saved_at"] < items[0]["saved_at"]
    assert listed(bob) == []  # mine only

    first = saved(alice, limit=2)
    assert [i["type"] for i in first["items"]] == ["message", "comment"]
    rest = saved(alice, limit=2, cursor=first["next_cursor"])
    assert ([i["type"] for i in rest["items"]], rest["next_cursor"]) == (["post"], None)

    assert alice.delete(f"/api/saved/comment/{comment['id']}").status_code == 204
    assert alice.delete(f"/api/saved/comment/{comment['id']}").status_code == 204  # again
    assert listed(alice) == [("message", message["id"]), ("post", post["id"])]


def test_what_i_cannot_read_is_the_404_of_a_missing_item(client):
    owner, outsider = Person(client, "olivia"), Person(client, "otto")
    topic = make_topic(owner, visibility="private")
    post = make_post(owner, topic["id"], "Members only", "secret")
    comment = owner.post(f"/api/posts/{post['id']}/comments", {"body": "secret"}).get_json()
    room = owner.post(f"/api/topics/{topic['id']}/rooms", {"name": "chat"}).get_json()["id"]
    message = send_message(owner, room, "secret", "o1")
    for item_type, item_id in (("post", post["id"]), ("comment", comment["id"]),
                               ("message", message["id"])):
        refused, missing = save(outsider, item_type, item_id), save(outsider, item_type,
                                                                    str(ObjectId()))
        assert refused.status_code == missing.status_code == 404
        assert refused.get_json() == missing.get_json()
    assert save(outsider, "topic", topic["id"]).status_code == 404  # not a kind one saves
    assert listed(outsider) == []
    # A deleted item is gone for saving too.
    assert owner.delete(f"/api/posts/{post['id']}").status_code == 204
    assert save(owner, "post", post["id"]).status_code == 404


def test_items_i_can_no_longer_read_leave_my_list(app, client):
    owner, alice, bob = Person(client, "olivia"), Person(client, "alice"), Person(client, "bob")
    topic = make_topic(owner)
    post = make_post(owner, topic["id"], "Public for now", "soon private words")
    comment = owner.post(f"/api/posts/{post['id']}/comments", {"body": "private soon"}
                         ).get_json()
    other_topic = make_topic(owner, "Cooking")
    deleted_later = make_post(owner, other_topic["id"], "Going away", "gone words")
    group = bob.post("/api/messages/groups", {"title": "Crew", "member_ids": [alice.id]}
                     ).get_json()["id"]
    message = send_message(bob, group, "group words", "b1")
    direct = alice.post("/api/messages/direct", {"user_id": bob.id}).get_json()["id"]
    kept = send_message(bob, direct, "kept words", "b2")
    for item_type, item in (("post", post), ("comment", comment), ("post", deleted_later),
                            ("message", message), ("message", kept)):
        assert save(alice, item_type, item["id"]).status_code == 204
    assert len(listed(alice)) == 5

    # The topic turns private (alice never joined it), a post is deleted, alice leaves
    # the group.
    assert owner.patch(f"/api/topics/{topic['id']}", {"visibility": "private"}
                       ).status_code == 200
    assert owner.delete(f"/api/posts/{deleted_later['id']}").status_code == 204
    assert alice.post(f"/api/messages/rooms/{group}/leave").status_code == 204
    answer = alice.get("/api/saved")
    assert [(i["type"], i["id"]) for i in answer.get_json()["items"]] == [("message", kept["id"])]
    text = answer.get_data(as_text=True)
    for leaked in ("soon private words", "private soon", "gone words", "group words"):
        assert leaked not in text
    # Still saved: unsaving works on what she can no longer read, and tells nothing.
    assert alice.delete(f"/api/saved/message/{message['id']}").status_code == 204
    with app.app_context():
        assert get_db().saved_items.count_documents({"user_id": ObjectId(alice.id)}) == 4


def test_deleting_my_account_deletes_my_saved_items(app, client):
    owner, alice = Person(client, "olivia"), Person(client, "alice")
    topic = make_topic(owner)
    post = make_post(owner, topic["id"])
    assert save(alice, "post", post["id"]).status_code == 204
    assert save(owner, "post", post["id"]).status_code == 204
    gone = alice.call("DELETE", "/api/users/me", json={"password": DEFAULT_PASSWORD})
    assert gone.status_code == 204
    with app.app_context():
        users = get_db().saved_items.distinct("user_id")
    assert users == [ObjectId(owner.id)]


def test_what_authors_i_hide_wrote_is_blanked_or_left_out_as_in_their_lists(client):
    owner, alice, bob = Person(client, "olivia"), Person(client, "alice"), Person(client, "bob")
    topic = make_topic(owner)
    post = make_post(owner, topic["id"], "Worth keeping", "a body")
    comment = owner.post(f"/api/posts/{post['id']}/comments", {"body": "a comment"}).get_json()
    room = alice.post("/api/messages/direct", {"user_id": owner.id}).get_json()["id"]
    message = send_message(owner, room, "remember this", "o1")
    for item_type, item in (("post", post), ("comment", comment), ("message", message)):
        assert save(alice, item_type, item["id"]).status_code == 204
    assert alice.call("PUT", f"/api/users/{owner.id}/hide").status_code == 204
    items = {item["type"]: item for item in saved(alice)["items"]}
    # A post list leaves the post out; a comment tree and a chat keep an emptied place.
    assert set(items) == {"comment", "message"}
    assert (items["comment"]["body"], items["comment"]["author_hidden"]) == ("", True)
    assert (items["message"]["body"], items["message"]["author_hidden"]) == ("", True)
    assert alice.call("DELETE", f"/api/users/{owner.id}/hide").status_code == 204
    assert [i["type"] for i in saved(alice)["items"]] == ["message", "comment", "post"]
    assert bob.get("/api/saved").get_json()["items"] == []
