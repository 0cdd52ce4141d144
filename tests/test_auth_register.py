"""Registration rules and password hashing."""
from __future__ import annotations

import bcrypt
import pytest
from bson import ObjectId

import config
from services.platform import passwords
from tests.helpers import fresh_address, login, read_mails, register, run_jobs


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
    error = response.get_json()["error"]
    # Usernames are public (profiles, mentions): naming this field tells nothing new.
    assert error["code"] == "conflict" and list(error["details"]) == ["username"]


def test_email_normalised_and_unique_without_regard_to_case(client, db):
    assert post_register(client, email="  Alice@Example.COM ").status_code == 201
    assert db.users.find_one({"username": "alice"})["email"] == "Alice@example.com"
    response = post_register(client, username="alice2", email="ALICE@example.com")
    assert response.status_code == 201  # answered like a success, see below
    assert db.users.count_documents({}) == 1


@pytest.fixture
def mail_app(make_app, tmp_path):
    return make_app(MAIL_BACKEND="file", MAIL_FILE_DIR=str(tmp_path))


def mails(app):
    run_jobs(app)
    return [(m["To"], m["Subject"]) for m in read_mails(app.config["MAIL_FILE_DIR"])]


def comparable(response):
    """The answer without what differs between any two registrations."""
    user = dict(response.get_json()["user"])
    assert ObjectId.is_valid(user.pop("id"))
    assert user.pop("created_at").endswith("Z")
    user.pop("username"), user.pop("email")
    # Named after the username: drawn from its URL alone, so it answers alike for both.
    user.pop("display_name")
    assert user.pop("avatar_url").startswith("/api/users/initials.svg?")
    return response.status_code, user, sorted(response.headers.keys())


def test_taken_email_answers_like_a_new_one_creates_nothing_and_mails_the_owner(mail_app, db):
    client = mail_app.test_client()
    assert post_register(client).status_code == 201
    taken = post_register(client, username="mallory", email="alice@example.com")
    fresh = post_register(client, username="carol", email="carol@example.com")
    assert comparable(taken) == comparable(fresh)
    assert taken.get_json()["user"]["username"] == "mallory"
    assert taken.get_json()["user"]["email"] == "alice@example.com"
    assert db.users.find_one({"username_lower": "mallory"}) is None
    assert db.users.count_documents({"email_lower": "alice@example.com"}) == 1
    # No session came with it, for either.
    assert client.get("/api/auth/me").status_code == 401
    assert mails(mail_app) == [
        ("alice@example.com", "Confirm your email address"),
        ("alice@example.com", "Someone tried to register with your email address"),
        ("carol@example.com", "Confirm your email address"),
    ]
    # The owner is told once per ACCOUNT_ALERT_INTERVAL_SECONDS, not once per attempt.
    assert post_register(client, username="mallory2", email="alice@example.com").status_code == 201
    assert len(mails(mail_app)) == 3


def test_taken_and_new_email_do_the_same_work_on_the_request(mail_app, monkeypatch):
    from services.platform import email_service
    from utils import jobs

    client = mail_app.test_client()
    assert post_register(client).status_code == 201
    run_jobs(mail_app)
    hashes, rendered = [], []
    real_hash = passwords.hash_password
    monkeypatch.setattr(passwords, "hash_password", lambda p: hashes.append(1) or real_hash(p))
    real_compose = email_service.compose
    monkeypatch.setattr(email_service, "compose", lambda *a, **k: rendered.append(
        a[1]) or real_compose(*a, **k))
    huey = jobs.get_huey(mail_app)
    prepared = []
    for username, email in (("mallory", "alice@example.com"), ("carol", "carol@example.com")):
        hashes.clear(), rendered.clear()
        assert post_register(client, username=username, email=email).status_code == 201
        # One hash and one queued job, and no mail prepared on the request.
        assert (len(hashes), huey.pending_count(), rendered) == (1, 1, []), username
        run_jobs(mail_app)
        prepared += rendered
    # Both mails were prepared off the request, in their jobs.
    assert prepared == ["registration_attempt", "verify_email"]


ZERO_WIDTH_VARIANTS = [
    "alice@example.com\u200b",        # trailing zero-width space
    "alice@exam\u200dple.com",        # zero-width joiner inside the domain
    "\ufeffalice@example.com",        # byte order mark
    "alice@example.com\u2060",        # word joiner
    "\uff41lice@\uff45xample.com",    # fullwidth letters
    "ALICE@EXAMPLE.COM\u200e",        # case and a left-to-right mark
]


@pytest.mark.parametrize("variant", ZERO_WIDTH_VARIANTS)
def test_invisible_or_lookalike_characters_make_no_second_account(client, db, variant):
    register(client, "alice")
    assert post_register(client, username="alice2", email=variant).status_code == 201
    assert db.users.count_documents({}) == 1
    # The variant is the same account at login too.
    login(client, variant)


@pytest.mark.parametrize("username", ["alice\n", " alice", "\uff41lice", "ali\u200bce"])
def test_username_variants_make_no_second_account(client, db, username):
    register(client, "alice")
    response = post_register(client, username=username, email="other@example.com")
    assert response.status_code in (400, 409)
    assert db.users.count_documents({}) == 1


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
    from services.platform.passwords import hash_password

    with app.app_context():
        app.config["BCRYPT_ROUNDS"] = config.Config().BCRYPT_ROUNDS
        stored = hash_password("correct horse battery staple")
    assert stored.startswith("$2b$12$")
    assert bcrypt.checkpw(b"x", stored.encode()) is False


def test_register_limit_counts_only_created_accounts(make_app):
    app = make_app(RATELIMIT_REGISTER="2 per hour")
    client = app.test_client()
    address = {"REMOTE_ADDR": "203.0.113.77"}

    def attempt(number, **body):
        payload = {"username": f"user{number}", "email": f"user{number}@example.com",
                   "password": "correct horse battery staple", **body}
        return client.post("/api/auth/register", json=payload, environ_base=address)

    for number in range(5):  # typos: refused, and none of them spends an attempt
        assert attempt(number, password="short").status_code == 400
    assert attempt(10).status_code == 201
    assert attempt(11).status_code == 201
    assert attempt(12).status_code == 429
