"""Authorization over the whole URL map: every /api/admin route refuses anonymous callers
(401) and signed-in plain users (403) before looking at the input; topic-moderator routes
refuse moderators of other topics (403 or 404)."""
from __future__ import annotations

import re

import pytest
from bson import ObjectId

from tests.helpers import csrf, register_and_login
from tests.topic_helpers import Person, join, make_post, make_topic

ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def admin_routes(app) -> list[tuple[str, str]]:
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/admin"):
            continue
        path = ARGUMENT.sub(lambda _: str(ObjectId()), rule.rule)
        routes.extend((method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"}))
    return routes


def test_the_admin_area_has_the_contract_routes(app):
    found = {(method, ARGUMENT.sub("{id}", rule.rule)) for rule in app.url_map.iter_rules()
             if rule.rule.startswith("/api/admin") for method in rule.methods}
    for expected in [("GET", "/api/admin/stats"), ("GET", "/api/admin/users"),
                     ("PATCH", "/api/admin/users/{id}"), ("POST", "/api/admin/users/{id}/ban"),
                     ("POST", "/api/admin/users/{id}/unban"),
                     ("POST", "/api/admin/users/{id}/warn"), ("GET", "/api/admin/reports"),
                     ("GET", "/api/admin/audit-log"), ("GET", "/api/admin/content-filter"),
                     ("PUT", "/api/admin/content-filter")]:
        assert expected in found


def test_every_admin_route_refuses_anonymous_and_plain_users(app, client):
    routes = admin_routes(app)
    assert len(routes) >= 10
    plain = Person(client, "plainuser")
    cookie_client = app.test_client()
    _, token = register_and_login(cookie_client, "cookieuser")
    for method, path in routes:
        anonymous = app.test_client().open(path, method=method, json={})
        assert anonymous.status_code == 401, (method, path)
        assert anonymous.get_json()["error"]["code"] == "unauthorized"
        signed_in = plain.call(method, path, json={})
        assert signed_in.status_code == 403, (method, path, signed_in.get_json())
        assert signed_in.get_json()["error"]["code"] == "forbidden"
        with_cookie = cookie_client.open(path, method=method, json={}, headers=csrf(token))
        assert with_cookie.status_code == 403, (method, path)


def test_site_moderators_reach_moderation_but_not_administration(client):
    moderator = Person(client, "sitemod")
    moderator.set_role("moderator")
    assert moderator.get("/api/admin/users").status_code == 200
    assert moderator.get("/api/admin/reports").status_code == 200
    for path in ["/api/admin/stats", "/api/admin/audit-log", "/api/admin/content-filter"]:
        assert moderator.get(path).status_code == 403, path
    response = moderator.patch(f"/api/admin/users/{moderator.id}", {"role": "admin"})
    assert response.status_code == 403


@pytest.fixture
def two_topics(client):
    people = {name: Person(client, name) for name in ("owner_a", "owner_b", "member")}
    topic_a = make_topic(people["owner_a"], "Topic Alpha")
    topic_b = make_topic(people["owner_b"], "Topic Beta")
    join(people["member"], topic_a["id"])
    post = make_post(people["member"], topic_a["id"], "Reported post", "rude words")
    return people, topic_a, topic_b, post


def test_topic_moderator_routes_refuse_moderators_of_other_topics(two_topics):
    people, topic_a, topic_b, post = two_topics
    reporter = people["owner_b"]
    report = reporter.post("/api/reports", {"target_type": "post", "target_id": post["id"],
                                            "reason": "spam"}).get_json()
    # owner_b moderates topic B only: topic A's reports and their resolution are closed.
    assert reporter.get(f"/api/topics/{topic_a['id']}/reports").status_code in (403, 404)
    assert people["member"].get(f"/api/topics/{topic_a['id']}/reports").status_code == 403
    other = reporter.post(f"/api/reports/{report['id']}/resolve", {"action": "dismiss"})
    assert other.status_code == 404
    assert reporter.get(f"/api/topics/{topic_b['id']}/reports").get_json()["items"] == []
    owner = people["owner_a"].get(f"/api/topics/{topic_a['id']}/reports").get_json()
    assert [item["id"] for item in owner["items"]] == [report["id"]]
