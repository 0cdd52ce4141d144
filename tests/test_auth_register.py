"""Registration rules and password hashing."""
from __future__ import annotations

import bcrypt
import pytest

import config
from tests.helpers import fresh_address, login, register


def post_register(client, **body):
    payload = {"username": "alice", "email": "alice@example.com",
               "password": "correct horse battery staple", **body}
    return client.post("/api/auth/register", json=payload, environ_base=fresh_address())


def test_register_returns_private_user_and_stores_hash(client, db):
    response = post_register(client)
    assert response.status_code == 201
    user = response.get_json()["user"]
    assert user["username"] == "alice" and user["email"] == "alice@example.com"
    assert user["email_verified"] is False and user["role"] == "user"
    stored = db.users.find_one({"username_lower": "alice"})
    assert stored["password_hash"].startswith("$2b$04$")  # TestingConfig rounds
    assert "correct horse" not in str(stored)


@pytest.mark.parametrize("username", ["ab", "a" * 33, "has space", "bad-dash", "émile", "me"])
def test_bad_usernames_are_refused(client, username):
    response = post_register(client, username=username)
    assert response.status_code == 400
    assert "username" in response.get_json()["error"]["details"]


def test_username_unique_without_regard_to_case(client):
    assert post_register(client).status_code == 201
    response = post_register(client, username="ALICE", email="other@example.com")
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "conflict"


def test_email_normalised_and_unique_without_regard_to_case(client, db):
    assert post_register(client, email="  Alice@Example.COM ").status_code == 201
    assert db.users.find_one({"username": "alice"})["email"] == "Alice@example.com"
    response = post_register(client, username="alice2", email="ALICE@example.com")
    assert response.status_code == 409


@pytest.mark.parametrize("password,reason", [
    ("short1234", "at least 10"),
    ("password123", "too common"),
    ("QwertyUiop", "too common"),
    ("alice_long_name", "differ"),
])
def test_weak_passwords_are_refused(client, password, reason):
    response = post_register(client, username="alice_long_name", password=password)
    assert response.status_code == 400
    messages = " ".join(response.get_json()["error"]["details"]["password"])
    assert reason in messages


def test_password_equal_to_email_is_refused(client):
    response = post_register(client, email="someone@example.com", password="someone@example.com")
    assert response.status_code == 400


def test_unknown_field_such_as_role_is_refused(client):
    response = post_register(client, role="admin")
    assert response.status_code == 400
    assert "role" in response.get_json()["error"]["details"]


def test_long_multibyte_password_is_not_truncated(client, app):
    # 100 characters, 300 bytes in UTF-8: far past bcrypt's 72 bytes.
    password = "ä€😀" * 33 + "x"
    assert len(password) == 100 and len(password.encode()) > 72
    register(client, "longpass", password=password)
    login(client, "longpass", password)
    # Same first 72 bytes, different end: must be refused, or truncation happened.
    wrong = password[:-1] + "y"
    response = client.post("/api/auth/login", json={"login": "longpass", "password": wrong})
    assert response.status_code == 401


def test_bcrypt_cost_is_12_outside_tests(app):
    assert config.Config().BCRYPT_ROUNDS == 12
    assert config.ProductionConfig().BCRYPT_ROUNDS == 12
    assert config.TestingConfig().BCRYPT_ROUNDS == 4
    from services.passwords import hash_password

    with app.app_context():
        app.config["BCRYPT_ROUNDS"] = config.Config().BCRYPT_ROUNDS
        stored = hash_password("correct horse battery staple")
    assert stored.startswith("$2b$12$")
    assert bcrypt.checkpw(b"x", stored.encode()) is False
