"""Anonymous identity per topic: where the topic allows it, posts and comments show a
stable pseudonym per user and topic; nothing a normal member can reach (lists, the post,
comments, search, live events, notifications, a report they file) names the author;
the topic's moderators and site admins resolve it, and that is logged."""
from __future__ import annotations

import json
import re

import pytest

from tests.helpers import run_jobs
from tests.topic_helpers import Person, join, make_post, make_topic
from utils.extensions import socketio

PSEUDONYM = re.compile(r"^[a-z]+-[a-z]+-\d{4}$")


@pytest.fixture
def forum(client):
    people = {name: Person(client, name) for name in (
        "owner_anon", "zork_writer", "plain_reader", "topic_mod", "site_boss", "stranger")}
    people["site_boss"].set_role("admin")
    topic = make_topic(people["owner_anon"], "Confessions")
    for name in ("zork_writer", "plain_reader", "topic_mod"):
        join(people[name], topic["id"])
    assert people["owner_anon"].post(f"/api/topics/{topic['id']}/moderators",
                                     {"user_id": people["topic_mod"].id}).status_code == 200
    return people, topic


def _anonymous_post(person, topic_id, title, body="text"):
    return person.post("/api/posts/", {"topic_id": topic_id, "title": title, "body": body,
                                       "anonymous": True})


def test_only_topics_that_allow_it_take_anonymous_posts(forum):
    people, topic = forum
    writer, reader = people["zork_writer"], people["plain_reader"]
    refused = _anonymous_post(writer, topic["id"], "Too early")
    assert refused.status_code == 403
    post = make_post(reader, topic["id"], "Open post")
    assert writer.post(f"/api/posts/{post['id']}/comments",
                       {"body": "hi", "anonymous": True}).status_code == 403
    # A plain member may not switch it on; the owner (or a moderator) may.
    assert reader.patch(f"/api/topics/{topic['id']}",
                        {"allow_anonymous": True}).status_code == 403
    assert people["stranger"].patch(f"/api/topics/{topic['id']}",
                                    {"allow_anonymous": True}).status_code == 403
    assert people["topic_mod"].get(f"/api/topics/{topic['id']}").get_json()[
        "allow_anonymous"] is False
    changed = people["topic_mod"].patch(f"/api/topics/{topic['id']}", {"allow_anonymous": True})
    assert changed.status_code == 200 and changed.get_json()["allow_anonymous"] is True
    assert _anonymous_post(writer, topic["id"], "Now allowed").status_code == 201


def test_the_author_never_leaks_to_a_normal_member(app, forum):
    people, topic = forum
    owner, writer, reader = people["owner_anon"], people["zork_writer"], people["plain_reader"]
    assert owner.patch(f"/api/topics/{topic['id']}", {"allow_anonymous": True}).status_code == 200
    other = make_topic(owner, "Second Confessions", allow_anonymous=True)
    join(writer, other["id"])
    readers_post = make_post(reader, topic["id"], "Reader asks")
    reader_socket = socketio.test_client(app, auth={
        "token": reader.headers["Authorization"].split()[1]})
    assert reader_socket.emit("join_topic", {"topic_id": topic["id"]}, callback=True)["ok"]
    assert reader_socket.emit("join_post", {"post_id": readers_post["id"]}, callback=True)["ok"]
    reader_socket.get_received()

    created = _anonymous_post(writer, topic["id"], "Secret thoughts quokka",
                              "asking @plain_reader about quokka")
    assert created.status_code == 201
    post = created.get_json()
    name = post["author"]["username"]
    assert PSEUDONYM.match(name) and post["anonymous"] is True
    assert post["author"]["id"] != writer.id and post["author"]["display_name"] == name
    reply = writer.post(f"/api/posts/{readers_post['id']}/comments",
                        {"body": "anonymous answer", "anonymous": True}).get_json()
    assert reply["author"] == post["author"]  # one pseudonym per user in a topic
    elsewhere = _anonymous_post(writer, other["id"], "Another place").get_json()
    assert elsewhere["author"]["username"] != name
    # The follower of the anonymous post hears of the writer's next comment by a job.
    assert reader.post(f"/api/posts/{post['id']}/comments", {"body": "following"}
                       ).status_code == 201
    assert writer.post(f"/api/posts/{post['id']}/comments",
                       {"body": "more from me", "anonymous": True}).status_code == 201
    run_jobs(app)

    seen = [reader_socket.get_received()]
    assert {"new_post", "new_comment", "notification"} <= {e["name"] for e in seen[0]}
    for path, query in [(f"/api/posts/{post['id']}", {}),
                        ("/api/posts/", {"topic_id": topic["id"]}), ("/api/posts/", {}),
                        (f"/api/posts/{post['id']}/comments", {}),
                        (f"/api/posts/{readers_post['id']}/comments", {}),
                        ("/api/search", {"q": "quokka", "type": "posts"}),
                        ("/api/notifications/", {})]:
        response = reader.get(path, query_string=query)
        assert response.status_code == 200, path
        seen.append(response.get_json())
    report = reader.post("/api/reports", {"target_type": "post", "target_id": post["id"],
                                          "reason": "spam"})
    assert report.status_code == 201
    seen.append(report.get_json())
    text = json.dumps(seen, default=str)
    assert name in text and "quokka" in text
    kinds = {n["kind"] for n in seen[-2]["items"]}
    assert {"mention", "post_reply", "post_activity"} <= kinds
    assert all(a["username"] == name for n in seen[-2]["items"] for a in n["actors"])
    # Shown like any user (display name, picture), drawn from the pseudonym alone.
    assert all(a["display_name"] == name and a["id"] == post["author"]["id"]
               and a["avatar_url"] == post["author"]["avatar_url"]
               for n in seen[-2]["items"] for a in n["actors"])
    assert writer.id not in text and "zork_writer" not in text

    # Without `anonymous`, the same writer is named: the checks above can see a leak.
    plain = writer.post(f"/api/posts/{post['id']}/comments", {"body": "signed"}).get_json()
    assert plain["author"]["username"] == "zork_writer" and plain["anonymous"] is False
    reader_socket.disconnect()


def test_moderators_and_admins_resolve_a_pseudonym(forum):
    people, topic = forum
    owner, writer = people["owner_anon"], people["zork_writer"]
    assert owner.patch(f"/api/topics/{topic['id']}", {"allow_anonymous": True}).status_code == 200
    name = _anonymous_post(writer, topic["id"], "Who am I").get_json()["author"]["username"]
    path = f"/api/topics/{topic['id']}/pseudonyms/{name}"
    for person in (people["plain_reader"], people["stranger"]):
        assert person.get(path).status_code == 403
    assert people["plain_reader"].get(path.replace(name, "no-such-name-0000")).status_code \
        == 403
    for person in (people["topic_mod"], owner, people["site_boss"]):
        resolved = person.get(path)
        assert resolved.status_code == 200, resolved.get_json()
        assert resolved.get_json()["user"]["username"] == "zork_writer"
    assert people["topic_mod"].get(path.replace(name, "no-such-name-0000")).status_code == 404
    log = people["topic_mod"].get(f"/api/topics/{topic['id']}/moderation-log").get_json()
    assert [e["action"] for e in log["items"]].count("resolve_pseudonym") == 3
    # Turning anonymity off keeps old posts anonymous.
    assert owner.patch(f"/api/topics/{topic['id']}", {"allow_anonymous": False}
                       ).status_code == 200
    listed = people["plain_reader"].get("/api/posts/", query_string={"topic_id": topic["id"]})
    assert listed.get_json()["items"][0]["author"]["username"] == name


def test_hiding_a_user_never_marks_their_anonymous_items(forum):
    """Hiding candidates one by one must not tell which of them wrote an anonymous
    comment or post: a hide acts on the identity shown (the stand-in), like post lists."""
    people, topic = forum
    owner, writer, reader = people["owner_anon"], people["zork_writer"], people["plain_reader"]
    assert owner.patch(f"/api/topics/{topic['id']}", {"allow_anonymous": True}).status_code == 200
    post = make_post(owner, topic["id"], "Ask me")
    secret = writer.post(f"/api/posts/{post['id']}/comments",
                         {"body": "only a pseudonym", "anonymous": True}).get_json()
    signed = writer.post(f"/api/posts/{post['id']}/comments", {"body": "signed"}).get_json()
    anonymous_post = _anonymous_post(writer, topic["id"], "Anonymous post").get_json()
    for candidate in (people["topic_mod"], writer):
        assert reader.call("PUT", f"/api/users/{candidate.id}/hide").status_code == 204
    comments = {c["id"]: c for c in reader.get(f"/api/posts/{post['id']}/comments"
                                               ).get_json()["items"]}
    assert comments[secret["id"]]["body"] == "only a pseudonym"
    assert comments[secret["id"]].get("author_hidden", False) is False
    # The same hide still empties what the writer signed with their name.
    assert comments[signed["id"]]["author_hidden"] is True
    listed = [p["id"] for p in reader.get("/api/posts/", query_string={
        "topic_id": topic["id"]}).get_json()["items"]]
    assert anonymous_post["id"] in listed


def test_muting_a_user_never_silences_their_anonymous_comments(forum):
    """The same probe through mutes: a mute acts on the actor shown, so muting the writer
    leaves their pseudonym's notifications alone, and muting the stand-in silences them."""
    people, topic = forum
    owner, writer = people["owner_anon"], people["zork_writer"]
    assert owner.patch(f"/api/topics/{topic['id']}", {"allow_anonymous": True}).status_code == 200
    post = make_post(owner, topic["id"], "Tell me")

    def replies_after(body):
        assert writer.post(f"/api/posts/{post['id']}/comments",
                           {"body": body, "anonymous": True}).status_code == 201
        items = owner.get("/api/notifications/").get_json()["items"]
        return sum(n["count"] for n in items if n["kind"] == "post_reply")

    assert owner.call("PUT", f"/api/notifications/mutes/user/{writer.id}").status_code == 204
    assert replies_after("first") == 1
    stand_in = owner.get(f"/api/posts/{post['id']}/comments").get_json()["items"][0]["author"]
    assert stand_in["id"] != writer.id
    assert owner.call("PUT", f"/api/notifications/mutes/user/{stand_in['id']}"
                      ).status_code == 204
    assert replies_after("second") == 1


def test_report_lists_show_the_stand_in_and_actions_still_reach_the_writer(forum):
    """A report about anonymous content names its stand-in to the moderators who list it
    (every unmasking goes through the audited resolve); its actions still reach the
    writer, and resolving the name is the one logged way to learn who it is."""
    people, topic = forum
    owner, writer, reader = people["owner_anon"], people["zork_writer"], people["plain_reader"]
    moderator, boss = people["topic_mod"], people["site_boss"]
    assert owner.patch(f"/api/topics/{topic['id']}", {"allow_anonymous": True}).status_code == 200
    post = _anonymous_post(writer, topic["id"], "Report me").get_json()
    stand_in = post["author"]
    assert reader.post("/api/reports", {"target_type": "post", "target_id": post["id"],
                                        "reason": "spam"}).status_code == 201
    topic_list = moderator.get(f"/api/topics/{topic['id']}/reports").get_json()["items"]
    site_list = boss.get("/api/admin/reports").get_json()["items"]
    for listed in (topic_list, site_list):
        assert [(r["target_author_id"], r["target_pseudonym"]) for r in listed] == [
            (stand_in["id"], stand_in["username"])]
        assert writer.id not in json.dumps(listed)
    log = moderator.get(f"/api/topics/{topic['id']}/moderation-log").get_json()["items"]
    assert "resolve_pseudonym" not in [e["action"] for e in log]
    # A signed report still names its author to the moderators.
    plain = make_post(writer, topic["id"], "Signed post")
    assert reader.post("/api/reports", {"target_type": "post", "target_id": plain["id"],
                                        "reason": "spam"}).status_code == 201
    named = {r["target_id"]: r for r in moderator.get(
        f"/api/topics/{topic['id']}/reports").get_json()["items"]}
    assert named[plain["id"]]["target_author_id"] == writer.id
    assert named[plain["id"]]["target_pseudonym"] is None
    # Warning from the report reaches the real writer, and its answer stays masked.
    resolved = boss.post(f"/api/reports/{topic_list[0]['id']}/resolve",
                         {"action": "warn_user", "note": "Be kind"})
    assert resolved.status_code == 200, resolved.get_json()
    assert writer.id not in json.dumps(resolved.get_json())
    warnings = [n for n in writer.get("/api/notifications/").get_json()["items"]
                if n["kind"] == "warning"]
    assert len(warnings) == 1
