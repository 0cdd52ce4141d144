"""Export my data (a job builds a JSON archive and mails a signed, expiring link that
works for its owner only; one export a day) and account deletion that keeps others'
threads readable: `content=keep` (by "deleted user") or `content=remove` (deleted
markers, words erased)."""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from bson import ObjectId

from models.base import isoformat
from models.user import User
from services.privacy import data_export
from tests.helpers import DEFAULT_PASSWORD, forged, link_token, read_mails, run_jobs
from tests.topic_helpers import Person, join, make_post, make_topic
from utils import clock as app_clock
from utils.extensions import socketio


@pytest.fixture
def export_app(make_app, tmp_path):
    return make_app(MAIL_BACKEND="file", MAIL_FILE_DIR=str(tmp_path / "mail"),
                    EXPORT_DIR=str(tmp_path / "exports"))


def _activity(alice: Person, bob: Person) -> dict:
    topic = make_topic(bob, "Export Garden")
    join(alice, topic["id"])
    post = make_post(alice, topic["id"], "Alice writes", "alice body words")
    comment = alice.post(f"/api/posts/{post['id']}/comments", {"body": "alice comment"})
    bobs_post = make_post(bob, topic["id"], "Bob writes", "bob body")
    assert alice.post(f"/api/posts/{bobs_post['id']}/vote", {"value": 1}).status_code == 200
    room = alice.post("/api/messages/direct", {"user_id": bob.id}).get_json()
    sent = alice.post(f"/api/messages/rooms/{room['id']}/messages",
                      {"body": "alice says hi", "client_id": "export-1"})
    assert sent.status_code == 201, sent.get_json()
    return {"topic": topic, "post": post, "comment": comment.get_json(), "room": room,
            "message": sent.get_json(), "bobs_post": bobs_post}


def test_export_is_built_by_a_job_mailed_and_downloaded_by_its_owner_only(export_app, clock):
    client = export_app.test_client()
    alice, bob = Person(client, "alice"), Person(client, "bob")
    made = _activity(alice, bob)
    assert client.post("/api/users/me/export").status_code == 401

    started = alice.post("/api/users/me/export")
    assert started.status_code == 202, started.get_json()
    export = started.get_json()
    assert export["status"] == "pending"
    again = alice.post("/api/users/me/export")
    assert again.status_code == 429 and int(again.headers["Retry-After"]) > 3600
    assert run_jobs(export_app) >= 1

    [mail] = [m for m in read_mails(export_app.config["MAIL_FILE_DIR"])
              if m["To"] == "alice@example.com" and "export" in m["Subject"]]
    token = link_token(mail, f"exports/{export['id']}")
    url = f"/api/users/me/exports/{export['id']}"
    got = alice.get(url, query_string={"token": token})
    assert got.status_code == 200, got.get_json()
    assert "attachment" in got.headers["Content-Disposition"]
    archive = json.loads(got.data)
    assert archive["profile"]["username"] == "alice" and archive["profile"]["email"]
    assert [p["body"] for p in archive["posts"]] == ["alice body words"]
    assert [c["id"] for c in archive["comments"]] == [made["comment"]["id"]]
    assert [(m["body"], m["room_id"]) for m in archive["messages"]] == [
        ("alice says hi", made["room"]["id"])]
    assert [(v["target_id"], v["value"]) for v in archive["votes"]] == [
        (made["bobs_post"]["id"], 1)]
    assert {t["topic_id"] for t in archive["topics"]} == {made["topic"]["id"]}
    assert "bob body" not in got.get_data(as_text=True)

    # Anyone else, with the link or not, gets what a missing export gets.
    missing = alice.get(f"/api/users/me/exports/{ObjectId()}", query_string={"token": token})
    assert missing.status_code == 404
    for response in (bob.get(url, query_string={"token": token}),
                     alice.get(url, query_string={"token": forged(token)}),
                     client.get(url, query_string={"token": token})):
        assert response.status_code in (401, 404)
        if response.status_code == 404:
            assert response.get_json() == missing.get_json()
    assert client.get(url, query_string={"token": token}).status_code == 401

    # The link expires with the archive, which the hourly sweep deletes.
    files = list(Path(export_app.config["EXPORT_DIR"]).glob("*.json"))
    assert len(files) == 1
    clock.advance(hours=73)
    assert alice.get(url, query_string={"token": token}).get_json() == missing.get_json()
    with export_app.app_context():
        data_export.sweep_exports()
    assert not files[0].exists()
    # A day later, another export may be asked for.
    assert alice.post("/api/users/me/export").status_code == 202


def test_delete_keep_leaves_content_by_deleted_user(export_app):
    client = export_app.test_client()
    alice, bob = Person(client, "alice"), Person(client, "bob")
    made = _activity(alice, bob)
    wrong = alice.call("DELETE", "/api/users/me", json={"password": "not my password at all",
                                                        "content": "remove"})
    assert wrong.status_code in (400, 401, 403)
    assert bob.get(f"/api/posts/{made['post']['id']}").get_json()["body"] == "alice body words"
    assert alice.call("DELETE", "/api/users/me",
                      json={"password": DEFAULT_PASSWORD, "content": "maybe"}).status_code == 400

    gone = alice.call("DELETE", "/api/users/me", json={"password": DEFAULT_PASSWORD,
                                                       "content": "keep"})
    assert gone.status_code == 204
    assert alice.get("/api/users/me").status_code == 401  # the token died with the account
    post = bob.get(f"/api/posts/{made['post']['id']}").get_json()
    assert post["body"] == "alice body words" and post["author"]["username"] == "deleted user"
    messages = bob.get(f"/api/messages/rooms/{made['room']['id']}/messages").get_json()
    assert [m["body"] for m in messages["items"]] == ["alice says hi"]


def test_delete_remove_leaves_markers_and_keeps_others_replies(export_app, db):
    client = export_app.test_client()
    alice, bob = Person(client, "alice"), Person(client, "bob")
    made = _activity(alice, bob)
    post_id = made["post"]["id"]
    reply = bob.post(f"/api/posts/{post_id}/comments",
                     {"body": "bob replies", "parent_id": made["comment"]["id"]})
    assert reply.status_code == 201
    assert bob.get(f"/api/posts/{post_id}").get_json()["comment_count"] == 2
    alice_socket = socketio.test_client(export_app, auth={
        "token": alice.headers["Authorization"].split()[1]})
    assert alice_socket.is_connected()

    gone = alice.call("DELETE", "/api/users/me", json={"password": DEFAULT_PASSWORD,
                                                       "content": "remove"})
    assert gone.status_code == 204
    assert not alice_socket.is_connected()  # the account's sockets end with it

    post = bob.get(f"/api/posts/{post_id}").get_json()
    assert (post["title"], post["body"], post["author"], post["deleted"]) == (
        "[deleted]", "", None, True)
    assert post["comment_count"] == 1
    [top] = bob.get(f"/api/posts/{post_id}/comments").get_json()["items"]
    assert (top["body"], top["author"], top["deleted"]) == ("[deleted]", None, True)
    assert [r["body"] for r in top["replies"]] == ["bob replies"]
    [message] = bob.get(f"/api/messages/rooms/{made['room']['id']}/messages").get_json()["items"]
    assert message["deleted"] and message["body"] == ""
    rooms = bob.get("/api/messages/rooms").get_json()["items"]
    assert "alice says hi" not in json.dumps(rooms)
    # The words are gone from storage, not only hidden.
    stored = json.dumps([list(db[name].find({"author_id": ObjectId(alice.id)}, {"_id": 0}))
                         for name in ("posts", "comments", "messages")], default=str)
    assert "alice" not in stored.replace(alice.id, "")
    found = bob.get("/api/search", query_string={"q": "alice", "type": "posts"}).get_json()
    assert found["items"] == []


def test_the_archive_carries_edits_saved_items_drafts_ballots_and_threads(export_app):
    """Edit history, saved items, drafts, scheduled messages, ballots, followed threads:
    mine, and nobody else's."""
    client = export_app.test_client()
    alice, bob = Person(client, "alice"), Person(client, "bob")
    made = _activity(alice, bob)
    room_id, post_id = made["room"]["id"], made["post"]["id"]
    assert alice.patch(f"/api/posts/{post_id}", {"body": "second words"}).status_code == 200
    assert alice.call("PUT", f"/api/saved/post/{made['bobs_post']['id']}").status_code == 204
    bob.call("PUT", f"/api/saved/post/{post_id}")
    later = isoformat(app_clock.now() + timedelta(hours=2))
    scheduled = alice.post(f"/api/messages/rooms/{room_id}/messages",
                           {"body": "see you", "client_id": "later-1", "send_at": later})
    assert scheduled.status_code == 202, scheduled.get_json()
    poll = bob.post(f"/api/messages/rooms/{room_id}/messages",
                    {"body": "", "client_id": "poll-1",
                     "poll": {"question": "Tea?", "options": ["Yes", "No"]}}).get_json()
    alice.post(f"/api/polls/{poll['poll']['id']}/vote", {"option_ids": ["1"]})
    alice.post(f"/api/messages/rooms/{room_id}/messages",
               {"body": "me too", "client_id": "t-1", "thread_root_id": poll["id"]})
    alice.call("PUT", f"/api/messages/rooms/{room_id}/draft", json={"body": "half a"})
    with export_app.app_context():
        archive = json.loads(json.dumps(data_export.build_archive(
            User().find_by_id(ObjectId(alice.id))), default=data_export._plain))
    assert [(v["item_id"], v["body"]) for v in archive["edit_versions"]] == [
        (post_id, "alice body words")]
    assert [(s["item_type"], s["item_id"]) for s in archive["saved"]] == [
        ("post", made["bobs_post"]["id"])]
    assert [(d["room_id"], d["body"]) for d in archive["drafts"]] == [(room_id, "half a")]
    assert [s["body"] for s in archive["scheduled_messages"]] == ["see you"]
    assert [(b["poll_id"], b["option_ids"]) for b in archive["poll_ballots"]] == [
        (poll["poll"]["id"], ["1"])]
    assert [t["root_id"] for t in archive["thread_follows"]] == [poll["id"]]
