"""CSRF for cookie sessions; bearer tokens for other clients."""
from __future__ import annotations

from tests.helpers import DEFAULT_PASSWORD, bearer, csrf, register, register_and_login, user_written


def test_cookie_unsafe_request_without_token_is_csrf_failed(client):
    _, token = register_and_login(client)
    for headers in ({}, {"X-CSRF-Token": "wrong"}):
        response = client.patch("/api/users/me", json={"bio": "x"}, headers=headers)
        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "csrf_failed"
    assert client.patch("/api/users/me", json={"bio": "x"},
                        headers=csrf(token)).status_code == 200


def test_csrf_endpoint_returns_the_session_token(client):
    _, token = register_and_login(client)
    assert client.get("/api/auth/csrf").get_json() == {"csrf_token": token}


def test_safe_requests_need_no_csrf_header(client):
    register_and_login(client)
    assert client.get("/api/users/me").status_code == 200


def test_form_and_text_posts_never_reach_a_handler(client, db):
    _, token = register_and_login(client)
    form = client.patch("/api/users/me", data={"bio": "form"}, headers=csrf(token))
    text = client.patch("/api/users/me", data='{"bio": "text"}', content_type="text/plain",
                        headers=csrf(token))
    assert form.status_code == text.status_code == 415
    assert db.users.find_one({"username": "alice"})["bio"] == ""


def test_bearer_needs_no_csrf_and_gives_the_same_user(client):
    user, _ = register_and_login(client, "alice")
    other = client.application.test_client()
    response = other.post("/api/auth/token", json={"login": "alice", "password": DEFAULT_PASSWORD,
                                                   "name": "cli"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["token"] and body["expires_at"].endswith("Z")
    headers = {"Authorization": f"Bearer {body['token']}"}
    assert other.get("/api/auth/me", headers=headers).get_json() == \
        client.get("/api/auth/me").get_json() == {"user": user | {"email_verified": True}}
    assert other.patch("/api/users/me", json={"bio": "hi"}, headers=headers).status_code == 200


def test_token_stored_only_as_hash_with_name_and_expiry(client, db):
    headers = bearer(client, "bob")
    token = headers["Authorization"].split()[1]
    stored = db.auth_tokens.find_one({})
    assert token not in str(stored)
    assert stored["name"] == "api" and stored["expires_at"] > stored["created_at"]


def test_revoked_token_is_dead(client):
    headers = bearer(client, "bob")
    assert client.delete("/api/auth/token", headers=headers).status_code == 204
    response = client.get("/api/auth/me", headers=headers)
    assert response.status_code == 401


def test_expired_token_is_refused(client, monkeypatch):
    from datetime import timedelta

    from models.base import utcnow

    headers = bearer(client, "bob")
    moment = utcnow() + timedelta(days=31)
    monkeypatch.setattr("utils.clock.now", lambda: moment)
    assert client.get("/api/auth/me", headers=headers).status_code == 401


def test_live_token_of_a_deleted_or_banned_account_is_refused(client, db):
    """The token and its user are read together; the user's state still decides."""
    from models.base import utcnow

    headers = bearer(client, "bob")
    assert client.get("/api/auth/me", headers=headers).status_code == 200
    bob = db.users.find_one({"username": "bob"})["_id"]
    # Written straight to MongoDB, so the stamp is replaced as the models would.
    db.users.update_one({"username": "bob"}, {"$set": {"ban": {
        "reason": "spam", "expires_at": None, "banned_at": utcnow(), "banned_by": None}}})
    user_written(client.application, bob)
    assert client.get("/api/auth/me", headers=headers).status_code == 401
    db.users.update_one({"username": "bob"}, {"$unset": {"ban": ""}})
    user_written(client.application, bob)
    assert client.get("/api/auth/me", headers=headers).status_code == 200
    db.users.update_one({"username": "bob"}, {"$set": {"deleted": True}})
    user_written(client.application, bob)
    assert client.get("/api/auth/me", headers=headers).status_code == 401


def test_token_whose_user_document_is_gone_is_refused(client, db):
    headers = bearer(client, "bob")
    db.users.delete_one({"username": "bob"})
    assert client.get("/api/auth/me", headers=headers).status_code == 401


def test_bad_bearer_does_not_fall_back_to_cookie(client):
    register_and_login(client)
    assert client.get("/api/auth/me", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/api/auth/me", headers={"Authorization": "Basic abc"}).status_code == 401


def test_delete_token_with_cookie_is_bad_request(client):
    _, token = register_and_login(client)
    assert client.delete("/api/auth/token", headers=csrf(token)).status_code == 400


def test_token_creation_checks_credentials_like_login(client):
    register(client, "bob")
    response = client.post("/api/auth/token", json={"login": "bob", "password": "wrong-pass-1"})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_credentials"
    register(client, "carol", verify=False)
    response = client.post("/api/auth/token", json={"login": "carol", "password": DEFAULT_PASSWORD})
    assert response.status_code == 403
