"""Search, friends and blocks."""
from __future__ import annotations

from bson import ObjectId

from services.accounts import users_service
from tests.helpers import csrf, register, register_and_login


def logged_in(app, username):
    client = app.test_client()
    user, token = register_and_login(client, username)
    return client, user, csrf(token)


def test_search_lists_a_user_matching_both_names_once_and_stops_at_the_prefix(app, db):
    client, _, _ = logged_in(app, "searcher")
    for name in ("anna", "annabel", "ao_next", "am_before"):
        register(client, name)
    db.users.update_one({"username": "annabel"},
                        {"$set": {"display_name": "Anne", "display_name_lower": "anne"}})
    db.users.update_one({"username": "ao_next"},
                        {"$set": {"display_name": "Annie", "display_name_lower": "annie"}})
    pages, cursor = [], None
    while True:
        answer = client.get("/api/users/?q=an&limit=1" + (f"&cursor={cursor}" if cursor
                                                           else "")).get_json()
        pages.append([u["username"] for u in answer["items"]])
        cursor = answer["next_cursor"]
        if cursor is None:
            break
    assert pages == [["anna"], ["annabel"], ["ao_next"]]


def test_search_by_username_or_display_name_prefix_paginated(app):
    client, _, headers = logged_in(app, "searcher")
    for name in ("anna", "annabel", "annika", "bob"):
        register(client, name)
    client.patch("/api/users/me", headers=headers, json={"display_name": "Annette"})
    first = client.get("/api/users/?q=ANN&limit=2").get_json()
    assert [u["username"] for u in first["items"]] == ["anna", "annabel"]
    assert "email" not in first["items"][0]
    second = client.get(f"/api/users/?q=ann&limit=2&cursor={first['next_cursor']}").get_json()
    assert [u["username"] for u in second["items"]] == ["annika", "searcher"]
    assert second["next_cursor"] is None
    assert client.get("/api/users/?q=.*").get_json()["items"] == []
    assert client.get("/api/users/?limit=0").status_code == 400
    assert client.get("/api/users/?cursor=garbage").status_code == 400


def test_friend_request_accept_list_remove(app, db):
    alice, a, a_headers = logged_in(app, "alice")
    bob, b, b_headers = logged_in(app, "bob")
    sent = alice.post(f"/api/users/{b['id']}/friend-request", headers=a_headers)
    assert sent.status_code == 201 and sent.get_json()["direction"] == "outgoing"
    assert alice.post(f"/api/users/{b['id']}/friend-request", headers=a_headers).status_code == 409
    incoming = bob.get("/api/users/me/friend-requests?direction=incoming").get_json()["items"]
    assert [r["user"]["username"] for r in incoming] == ["alice"]
    outgoing = alice.get("/api/users/me/friend-requests?direction=outgoing").get_json()["items"]
    assert [r["user"]["username"] for r in outgoing] == ["bob"]
    # Only the addressee can accept.
    request_id = incoming[0]["id"]
    assert alice.post(f"/api/users/me/friend-requests/{request_id}/accept",
                      headers=a_headers).status_code == 404
    accepted = bob.post(f"/api/users/me/friend-requests/{request_id}/accept", headers=b_headers)
    assert accepted.status_code == 200 and accepted.get_json()["user"]["username"] == "alice"
    assert [f["user"]["username"] for f in alice.get("/api/users/me/friends").get_json()["items"]] \
        == ["bob"]
    with app.app_context():
        assert users_service.are_friends(ObjectId(a["id"]), ObjectId(b["id"]))
    assert alice.delete(f"/api/users/me/friends/{b['id']}", headers=a_headers).status_code == 204
    assert bob.get("/api/users/me/friends").get_json()["items"] == []
    assert alice.delete(f"/api/users/me/friends/{b['id']}", headers=a_headers).status_code == 404


def test_decline_and_mutual_request(app):
    alice, a, a_headers = logged_in(app, "alice")
    bob, b, b_headers = logged_in(app, "bob")
    alice.post(f"/api/users/{b['id']}/friend-request", headers=a_headers)
    request_id = bob.get("/api/users/me/friend-requests").get_json()["items"][0]["id"]
    assert bob.post(f"/api/users/me/friend-requests/{request_id}/decline",
                    headers=b_headers).status_code == 204
    assert bob.get("/api/users/me/friend-requests").get_json()["items"] == []
    alice.post(f"/api/users/{b['id']}/friend-request", headers=a_headers)
    mutual = bob.post(f"/api/users/{a['id']}/friend-request", headers=b_headers)
    assert mutual.status_code == 201 and mutual.get_json()["status"] == "accepted"


def test_friend_request_edge_cases(app):
    alice, a, a_headers = logged_in(app, "alice")
    assert alice.post(f"/api/users/{a['id']}/friend-request", headers=a_headers).status_code == 400
    missing = str(ObjectId())
    assert alice.post(f"/api/users/{missing}/friend-request", headers=a_headers).status_code == 404
    assert alice.post("/api/users/not-an-id/friend-request", headers=a_headers).status_code == 404
    assert alice.post(f"/api/users/me/friend-requests/{missing}/accept",
                      headers=a_headers).status_code == 404


def test_block_stops_friend_requests_search_and_profile(app):
    alice, a, a_headers = logged_in(app, "alice")
    bob, b, b_headers = logged_in(app, "bob")
    alice.post(f"/api/users/{b['id']}/friend-request", headers=a_headers)
    assert alice.post(f"/api/users/{b['id']}/block", headers=a_headers).status_code == 204
    assert alice.post(f"/api/users/{b['id']}/block", headers=a_headers).status_code == 204
    assert bob.get("/api/users/me/friend-requests").get_json()["items"] == []
    refused = bob.post(f"/api/users/{a['id']}/friend-request", headers=b_headers)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"
    assert bob.get("/api/users/?q=ali").get_json()["items"] == []
    assert bob.get("/api/users/alice").status_code == 404
    with app.app_context():
        assert users_service.is_blocked_between(ObjectId(b["id"]), ObjectId(a["id"]))
    blocked = alice.get("/api/users/me/blocked").get_json()["items"]
    assert [entry["user"]["username"] for entry in blocked] == ["bob"]
    assert alice.delete(f"/api/users/{b['id']}/block", headers=a_headers).status_code == 204
    assert [u["username"] for u in bob.get("/api/users/?q=ali").get_json()["items"]] == ["alice"]
    assert bob.post(f"/api/users/{a['id']}/friend-request", headers=b_headers).status_code == 201


def test_social_routes_need_login(client):
    some_id = str(ObjectId())
    assert client.get("/api/users/me/friends").status_code == 401
    assert client.post(f"/api/users/{some_id}/block").status_code == 401
