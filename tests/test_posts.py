"""Posts through the API: create, read, sanitised HTML, edit, soft delete, pin and lock,
sorting (hot decay with a controlled clock, top windows), stable pagination and the cached
front page."""
from __future__ import annotations

from datetime import timedelta

import pytest
from bson import ObjectId

from models.base import utcnow
from tests.topic_helpers import Person, join, make_post, make_topic
from utils import clock


@pytest.fixture
def owner(client):
    return Person(client, "olivia")


@pytest.fixture
def member(client):
    return Person(client, "mike")


@pytest.fixture
def topic(owner, member):
    created = make_topic(owner)
    join(member, created["id"])
    return created


def test_create_and_read_sanitised(member, topic, client):
    body = "Hi <script>alert(1)</script> [x](javascript:alert(1)) **bold**"
    post = make_post(member, topic["id"], "My first post", body)
    assert post["body"] == body  # raw markdown, as text
    assert "<script>" not in post["body_html"] and "href=\"javascript" not in post["body_html"]
    assert "<strong>bold</strong>" in post["body_html"]
    assert post["score"] == 0 and post["my_vote"] == 0 and post["comment_count"] == 0
    assert post["author"]["username"] == "mike" and post["edited_at"] is None
    anonymous = client.get(f"/api/posts/{post['id']}").get_json()
    assert anonymous["my_vote"] is None and anonymous["title"] == "My first post"


def test_posting_needs_membership_and_valid_fields(owner, topic, client):
    stranger = Person(client, "sam")
    refused = stranger.post("/api/posts/", {"topic_id": topic["id"], "title": "Hey there"})
    assert refused.status_code == 403
    for body in ({"topic_id": topic["id"], "title": "ab"},
                 {"topic_id": topic["id"], "title": "Fine", "body": "x" * 40001},
                 {"topic_id": "nope", "title": "Fine"}):
        assert owner.post("/api/posts/", body).status_code == 400
    missing = owner.post("/api/posts/", {"topic_id": "0" * 24, "title": "Fine"})
    assert missing.status_code == 404


def test_edit_by_author_only(owner, member, topic):
    post = make_post(member, topic["id"])
    assert owner.patch(f"/api/posts/{post['id']}", {"title": "Hijacked"}).status_code == 403
    edited = member.patch(f"/api/posts/{post['id']}", {"body": "new *words*"})
    assert edited.status_code == 200
    assert edited.get_json()["edited_at"] is not None
    assert edited.get_json()["body"] == "new *words*"


def test_soft_delete_keeps_place_and_comments(owner, member, topic, client):
    other = Person(client, "nina")
    join(other, topic["id"])
    post = make_post(member, topic["id"])
    comment = other.post(f"/api/posts/{post['id']}/comments", {"body": "nice"}).get_json()
    assert other.delete(f"/api/posts/{post['id']}").status_code == 403
    assert member.delete(f"/api/posts/{post['id']}").status_code == 204
    shown = client.get(f"/api/posts/{post['id']}").get_json()
    assert shown["deleted"] and shown["title"] == "[deleted]" and shown["author"] is None
    listed = client.get(f"/api/posts/?topic_id={topic['id']}").get_json()["items"]
    assert [p["id"] for p in listed] == [post["id"]]
    comments = client.get(f"/api/posts/{post['id']}/comments").get_json()["items"]
    assert [c["id"] for c in comments] == [comment["id"]]
    assert member.post(f"/api/posts/{post['id']}/comments", {"body": "x"}).status_code == 403

    second = make_post(member, topic["id"], "Another one")
    assert owner.delete(f"/api/posts/{second['id']}").status_code == 204  # topic owner


def test_pin_and_lock_by_moderators(owner, member, topic, client):
    first = make_post(member, topic["id"], "Older post")
    make_post(member, topic["id"], "Newer post")
    foreign_mod = Person(client, "fred")
    make_topic(foreign_mod, "Fred's place")
    for person in (member, foreign_mod):
        assert person.post(f"/api/posts/{first['id']}/pin").status_code == 403
        assert person.post(f"/api/posts/{first['id']}/lock").status_code == 403
    pinned = owner.post(f"/api/posts/{first['id']}/pin")
    assert pinned.status_code == 200 and pinned.get_json()["pinned"] is True
    for sort in ("new", "hot", "top"):
        items = client.get(f"/api/posts/?topic_id={topic['id']}&sort={sort}").get_json()
        assert items["items"][0]["id"] == first["id"]
    assert owner.post(f"/api/posts/{first['id']}/lock").get_json()["locked"] is True
    assert member.post(f"/api/posts/{first['id']}/comments", {"body": "x"}).status_code == 403
    assert member.post(f"/api/posts/{first['id']}/vote", {"value": 1}).status_code == 403
    assert owner.post(f"/api/posts/{first['id']}/unlock").get_json()["locked"] is False
    assert member.post(f"/api/posts/{first['id']}/vote", {"value": 1}).status_code == 200
    assert owner.post(f"/api/posts/{first['id']}/unpin").get_json()["pinned"] is False


def _post_at(person, topic_id, title, at, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: at)
    return make_post(person, topic_id, title)


def _voters(client, topic_id, count):
    people = [Person(client, f"voter{n}") for n in range(count)]
    for person in people:
        join(person, topic_id)
    return people


def test_hot_decays_with_age(owner, topic, client, monkeypatch):
    start = utcnow()
    old = _post_at(owner, topic["id"], "Old but loved", start, monkeypatch)
    for person in _voters(client, topic["id"], 10):
        assert person.post(f"/api/posts/{old['id']}/vote", {"value": 1}).status_code == 200
    same_time_later = _post_at(owner, topic["id"], "Newer, no votes", start +
                               timedelta(hours=2), monkeypatch)

    def hot_order():
        items = client.get(f"/api/posts/?topic_id={topic['id']}&sort=hot").get_json()["items"]
        return [p["title"] for p in items]

    # Two hours younger is not enough against ten votes...
    assert hot_order().index("Old but loved") < hot_order().index("Newer, no votes")
    # ...but as time passes, a fresh post with no votes overtakes it.
    _post_at(owner, topic["id"], "Much later", start + timedelta(hours=14), monkeypatch)
    assert hot_order()[0] == "Much later"
    # Equal scores: the newer post ranks first.
    assert hot_order().index("Newer, no votes") > hot_order().index("Much later")
    assert same_time_later["score"] == 0


def test_top_within_window(owner, topic, client, monkeypatch):
    start = utcnow()
    old = _post_at(owner, topic["id"], "Last month", start - timedelta(days=20), monkeypatch)
    recent = _post_at(owner, topic["id"], "This morning", start - timedelta(hours=3),
                      monkeypatch)
    monkeypatch.setattr(clock, "now", lambda: start)
    voters = _voters(client, topic["id"], 2)
    for person in voters:
        person.post(f"/api/posts/{old['id']}/vote", {"value": 1})
    voters[0].post(f"/api/posts/{recent['id']}/vote", {"value": 1})

    def top(window):
        url = f"/api/posts/?topic_id={topic['id']}&sort=top&t={window}"
        return [p["title"] for p in client.get(url).get_json()["items"]]

    assert top("day") == ["This morning"]
    assert top("month") == ["Last month", "This morning"]
    assert top("all") == ["Last month", "This morning"]
    assert client.get(f"/api/posts/?topic_id={topic['id']}&t=year").status_code == 400


@pytest.mark.parametrize("sort", ["new", "hot"])
def test_pagination_stable_while_posts_arrive(owner, topic, client, sort):
    originals = [make_post(owner, topic["id"], f"Post number {n}")["id"] for n in range(9)]
    seen, cursor, extra = [], None, 0
    while True:
        url = f"/api/posts/?topic_id={topic['id']}&sort={sort}&limit=4"
        answer = client.get(url + (f"&cursor={cursor}" if cursor else "")).get_json()
        seen.extend(p["id"] for p in answer["items"])
        make_post(owner, topic["id"], f"Arrived meanwhile {extra}")
        extra += 1
        cursor = answer["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    assert set(originals) <= set(seen)


def test_front_page_cached_and_invalidated(owner, member, topic, client):
    secret = make_topic(owner, "Owners only", visibility="private")
    make_post(owner, secret["id"], "Private words")
    first = make_post(member, topic["id"], "Public words")
    assert [p["title"] for p in client.get("/api/posts/").get_json()["items"]] == \
        ["Public words"]
    mine = owner.get("/api/posts/").get_json()["items"]
    assert {p["title"] for p in mine} == {"Public words", "Private words"}
    # Served from the cache now; a new post must show up at once all the same.
    make_post(member, topic["id"], "Fresh news")
    assert "Fresh news" in [p["title"] for p in client.get("/api/posts/").get_json()["items"]]
    member.post(f"/api/posts/{first['id']}/vote", {"value": 1})
    items = member.get("/api/posts/?sort=top").get_json()["items"]
    assert items[0]["id"] == first["id"] and items[0]["my_vote"] == 1
    assert client.get("/api/posts/?sort=top").get_json()["items"][0]["my_vote"] is None
    keys = [k for k in owner.client.application.extensions["roundtable_cache"].redis.keys("*")
            if b"front_page" in k]
    assert keys, "the front page should be cached in Redis"


def test_topic_post_lists_cached_and_invalidated_by_every_write(owner, member, topic,
                                                                client, db):
    url = f"/api/posts/?topic_id={topic['id']}"
    first = make_post(member, topic["id"], "First words")

    def listed(person=None):
        return (person or client).get(url).get_json()["items"]

    assert [p["title"] for p in listed()] == ["First words"]
    # Served from the cache: a change behind the services' back does not show...
    db.posts.update_one({"_id": ObjectId(first["id"])}, {"$set": {"title": "Sneaky"}})
    assert listed()[0]["title"] == "First words"
    # ...while every write through them shows at once.
    second = make_post(owner, topic["id"], "Second words")
    assert {p["title"] for p in listed()} == {"Sneaky", "Second words"}
    member.post(f"/api/posts/{second['id']}/vote", {"value": 1})
    top = listed()[0]
    assert (top["id"], top["score"]) == (second["id"], 1)
    assert listed(member)[0]["my_vote"] == 1 and listed(owner)[0]["my_vote"] == 0
    assert listed()[0]["my_vote"] is None
    member.post(f"/api/posts/{first['id']}/comments", {"body": "me first"})
    assert {p["id"]: p["comment_count"] for p in listed()}[first["id"]] == 1
    assert owner.post(f"/api/posts/{first['id']}/pin").status_code == 200
    assert listed()[0]["id"] == first["id"] and listed()[0]["pinned"]
    member.patch(f"/api/posts/{first['id']}", {"title": "Edited words"})
    assert listed()[0]["title"] == "Edited words"
    assert member.delete(f"/api/posts/{first['id']}").status_code == 204
    assert listed()[0]["deleted"]


def test_cached_post_list_of_a_private_topic_stays_private(owner, client):
    secret = make_topic(owner, "Owners only", visibility="private")
    make_post(owner, secret["id"], "Private words")
    url = f"/api/posts/?topic_id={secret['id']}"
    assert [p["title"] for p in owner.get(url).get_json()["items"]] == ["Private words"]
    assert client.get(url).status_code == 404  # the cache holds it; access comes first
    assert Person(client, "sam").get(url).status_code == 404


def test_topic_list_cache_invalidated_by_new_topic(owner, client):
    make_topic(owner, "First one")
    assert len(client.get("/api/topics/").get_json()["items"]) == 1
    make_topic(owner, "Second one")
    assert len(client.get("/api/topics/").get_json()["items"]) == 2


def test_body_html_stored_at_write_and_served_from_storage(member, topic, client, db):
    post = make_post(member, topic["id"], body="**bold**")
    stored = db.posts.find_one({"_id": ObjectId(post["id"])})
    assert stored["body_html"] == post["body_html"] == "<p><strong>bold</strong></p>\n"
    edited = member.patch(f"/api/posts/{post['id']}", {"body": "*new*"}).get_json()
    stored = db.posts.find_one({"_id": ObjectId(post["id"])})
    assert stored["body_html"] == edited["body_html"] == "<p><em>new</em></p>\n"
    # Reads serve what was stored, they do not render again.
    db.posts.update_one({"_id": stored["_id"]}, {"$set": {"body_html": "<p>stored</p>"}})
    assert client.get(f"/api/posts/{post['id']}").get_json()["body_html"] == "<p>stored</p>"
    listed = client.get(f"/api/posts/?topic_id={topic['id']}").get_json()["items"]
    assert listed[0]["body_html"] == "<p>stored</p>"


def test_post_written_before_body_html_renders_on_read(member, topic, client, db):
    post = make_post(member, topic["id"], body="old **text**")
    db.posts.update_one({"_id": ObjectId(post["id"])}, {"$unset": {"body_html": ""}})
    shown = client.get(f"/api/posts/{post['id']}").get_json()
    listed = client.get(f"/api/posts/?topic_id={topic['id']}").get_json()["items"]
    assert shown["body_html"] == listed[0]["body_html"] == post["body_html"]
    assert shown == {**post, "my_vote": None}
    assert "body_html" not in db.posts.find_one({"_id": ObjectId(post["id"])})  # no rewrite
    assert member.delete(f"/api/posts/{post['id']}").status_code == 204
    deleted = client.get(f"/api/posts/{post['id']}").get_json()
    assert deleted["body"] == "" and deleted["body_html"] == ""


def test_views_need_only_the_fields_reads_load(app, member, topic, client, db):
    """Reads load posts, comments, topics and authors with a projection (no search_terms,
    no password hash): the views built from those must equal the views of whole documents."""
    from services.accounts import users_service
    from services.forum import comments_service, posts_service, topics_service

    post = make_post(member, topic["id"], body="with *markdown*")
    member.post(f"/api/posts/{post['id']}/comments", {"body": "a **comment**"})

    def only(document, fields):
        return {k: v for k, v in document.items() if k == "_id" or k in fields}

    author = db.users.find_one({"_id": ObjectId(member.id)})
    slim_author = only(author, users_service.PUBLIC_FIELDS)
    assert "password_hash" in author and "password_hash" not in slim_author
    full_post = db.posts.find_one({"_id": ObjectId(post["id"])})
    comment = db.comments.find_one({"post_id": full_post["_id"]})
    full_topic = db.topics.find_one({"_id": ObjectId(topic["id"])})
    assert full_post["search_terms"] and full_topic["search_terms"]
    with app.app_context():
        assert posts_service.serialize_post(
            only(full_post, posts_service.VIEW_FIELDS), slim_author, 1
        ) == posts_service.serialize_post(full_post, author, 1)
        assert comments_service.serialize_comment(
            only(comment, comments_service.VIEW_FIELDS), slim_author, 0
        ) == comments_service.serialize_comment(comment, author, 0)
        assert topics_service.serialize_topic(
            only(full_topic, topics_service.VIEW_FIELDS), "owner", slim_author
        ) == topics_service.serialize_topic(full_topic, "owner", author)


def test_posts_carry_their_topic_from_one_query_per_page(owner, member, topic, client,
                                                         monkeypatch):
    """Every post, in lists, single views, the front page, search and live events, shows
    `topic: {id, slug, title}`; a page of posts reads its topics in one query, and the
    cached lists follow a renamed topic."""
    from models.topic import Topic

    other = make_topic(owner, "Cooking")
    for n in range(3):
        make_post(member, topic["id"], f"Garden post {n}")
    make_post(owner, other["id"], "Soup post")
    calls = []
    original = Topic.find_by_ids

    def counted(self, ids, projection=None):
        calls.append(sorted(set(map(str, ids))))
        return original(self, ids, projection)

    monkeypatch.setattr(Topic, "find_by_ids", counted)
    front = client.get("/api/posts/").get_json()["items"]
    assert calls == [sorted({topic["id"], other["id"]})]  # one query for the whole page
    refs = {p["title"]: p["topic"] for p in front}
    assert refs["Soup post"] == {"id": other["id"], "slug": other["slug"], "title": "Cooking"}
    assert refs["Garden post 0"] == {"id": topic["id"], "slug": topic["slug"],
                                     "title": "Gardening"}
    listed = client.get(f"/api/posts/?topic_id={topic['id']}").get_json()["items"]
    assert {p["topic"]["title"] for p in listed} == {"Gardening"}
    single = client.get(f"/api/posts/{listed[0]['id']}").get_json()
    assert single["topic"] == refs["Garden post 0"]
    found = member.get("/api/search/?q=soup&type=posts").get_json()["items"]
    assert found[0].get("post", found[0])["topic"]["slug"] == other["slug"]

    assert owner.patch(f"/api/topics/{topic['id']}", {"title": "Gardens"}).status_code == 200
    listed = client.get(f"/api/posts/?topic_id={topic['id']}").get_json()["items"]
    assert {p["topic"]["title"] for p in listed} == {"Gardens"}
