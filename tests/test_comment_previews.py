"""Link previews of comments (docs/MEDIA.md "Link previews"), like posts and messages: the
best-effort job stores them on the comment after a create or an edit naming a URL and
announces `comment_updated` to the post's room; an edit that drops the link drops them."""
from __future__ import annotations

from tests.helpers import PREVIEW_PAGE as PAGE
from tests.helpers import events, run_jobs
from tests.topic_helpers import Person, make_post, make_topic
from utils import jobs

EXPECTED_TITLE = "Tomato & basil"


def comments_of(person: Person, post: dict) -> list[dict]:
    return person.get(f"/api/posts/{post['id']}/comments").get_json()["items"]


def test_comment_previews_arrive_live_and_stay(app, client, stub_http):
    app.config["LINK_PREVIEW_ALLOW_LOOPBACK"] = True
    stub_http.html("/article", PAGE)
    alice, bob = Person(client, "alice"), Person(client, "bob")
    topic = make_topic(alice, "Tomatoes")
    post = make_post(alice, topic["id"], "Growing notes")
    watcher = bob.socket()
    assert watcher.emit("join_post", {"post_id": post["id"]}, callback=True)["ok"]
    url = f"{stub_http.url}/article"
    created = bob.post(f"/api/posts/{post['id']}/comments", {"body": f"See {url}."})
    assert created.status_code == 201 and created.get_json()["previews"] == []
    watcher.get_received()
    run_jobs(app)
    updates = events(watcher, "comment_updated")
    assert [(u["id"], [p["title"] for p in u["previews"]]) for u in updates] == [
        (created.get_json()["id"], [EXPECTED_TITLE])]
    assert updates[0]["author"]["id"] == bob.id and updates[0]["body"] == f"See {url}."
    stored = comments_of(alice, post)[0]["previews"]
    assert stored == [{"url": url, "title": EXPECTED_TITLE,
                       "description": "How to grow both together.",
                       "image": f"{stub_http.url}/img/tomato.png",
                       "site_name": "Garden Weekly"}]
    # An edit without the link takes its preview away (and announces it).
    comment_id = created.get_json()["id"]
    assert bob.patch(f"/api/comments/{comment_id}", {"body": "no link now"}).status_code == 200
    run_jobs(app)
    assert [u["previews"] for u in events(watcher, "comment_updated")] == [[]]
    assert comments_of(alice, post)[0]["previews"] == []
    watcher.disconnect()


def test_a_comment_without_links_fetches_nothing_and_deleted_ones_show_none(app, client,
                                                                          stub_http):
    app.config["LINK_PREVIEW_ALLOW_LOOPBACK"] = True
    stub_http.html("/article", PAGE)
    alice = Person(client, "alice")
    topic = make_topic(alice, "Tomatoes")
    post = make_post(alice, topic["id"], "Growing notes")
    run_jobs(app)
    alice.post(f"/api/posts/{post['id']}/comments", {"body": "just words"})
    run_jobs(app)
    assert stub_http.requests == []
    linked = alice.post(f"/api/posts/{post['id']}/comments",
                        {"body": f"{stub_http.url}/article"}).get_json()
    run_jobs(app)
    assert alice.delete(f"/api/comments/{linked['id']}").status_code in (200, 204)
    shown = {c["id"]: c for c in comments_of(alice, post)}
    assert shown[linked["id"]]["deleted"] is True and shown[linked["id"]]["previews"] == []


def test_the_comment_preview_job_is_registered_on_the_best_effort_queue(app):
    registered = jobs.registered(app)
    name = next(n for n in registered if n.endswith(".attach_comment_previews"))
    assert registered[name].queue == jobs.BEST_EFFORT
