"""Login, sessions in Redis, lockout, logout, email verification gate."""
from __future__ import annotations

import time

import redis

from services.platform import passwords
from tests.helpers import (
    DEFAULT_PASSWORD,
    csrf,
    fresh_address,
    login,
    read_mails,
    register,
    run_jobs,
)

SESSION_COOKIE = "roundtable_session"


def attempt(client, login_name, password, address=None):
    return client.post("/api/auth/login", json={"login": login_name, "password": password},
                       environ_base=address or {"REMOTE_ADDR": "192.0.2.1"})


def session_id(client) -> str | None:
    cookie = client.get_cookie(SESSION_COOKIE)
    return cookie.value if cookie else None


def test_login_by_username_or_email_case_insensitive(client):
    register(client, "alice")
    assert attempt(client, "ALICE", DEFAULT_PASSWORD).status_code == 200
    response = attempt(client, "Alice@Example.com", DEFAULT_PASSWORD)
    assert response.status_code == 200
    body = response.get_json()
    assert body["user"]["username"] == "alice" and body["csrf_token"]
    assert client.get("/api/auth/me").get_json()["user"]["email"] == "alice@example.com"


def test_unknown_user_and_wrong_password_answer_identically(client):
    register(client, "alice")
    unknown = attempt(client, "nobody", "whatever-password")
    wrong = attempt(client, "alice", "whatever-password")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.get_data() == wrong.get_data()
    assert wrong.get_json()["error"]["code"] == "invalid_credentials"


def test_unknown_user_costs_a_bcrypt_check_too(make_app, monkeypatch):
    """Both answers cost one bcrypt check at the configured cost (the time ratio itself
    is measured by `make bench`: bench/login_timing.py)."""
    app = make_app(BCRYPT_ROUNDS=10)
    client = app.test_client()
    register(client, "alice")
    costs = {"alice": [], "nobody": []}
    real = passwords.bcrypt.checkpw
    for name, spent in costs.items():
        def check(password, hashed, spent=spent):
            spent.append(int(hashed.split(b"$")[2]))  # $2b$<cost>$...
            return real(password, hashed)

        monkeypatch.setattr(passwords.bcrypt, "checkpw", check)
        for _ in range(3):
            response = attempt(client, name, "wrong-password-123", fresh_address())
            assert response.status_code == 401
    assert costs == {"alice": [10, 10, 10], "nobody": [10, 10, 10]}


def test_session_id_is_regenerated_at_login(client, redis_url):
    register(client, "alice")
    client.get("/api/auth/csrf")  # an anonymous session exists before login
    before = session_id(client)
    assert before
    login(client, "alice")
    after = session_id(client)
    assert after and after != before
    store = redis.Redis.from_url(redis_url)
    assert store.exists(f"rt:session:{after}")
    assert not store.exists(f"rt:session:{before}")


def test_planted_session_id_never_becomes_logged_in(client):
    register(client, "alice")
    client.set_cookie(SESSION_COOKIE, "attacker-chosen-id")
    login(client, "alice")
    assert session_id(client) != "attacker-chosen-id"


def test_sessions_survive_restart_and_are_shared_between_apps(make_app):
    first = make_app()
    client = first.test_client()
    register(client, "alice")
    login(client, "alice")
    cookie = session_id(client)
    second = make_app(init_db=False)  # a restarted process, or a second worker
    other = second.test_client()
    other.set_cookie(SESSION_COOKIE, cookie)
    response = other.get("/api/auth/me")
    assert response.status_code == 200 and response.get_json()["user"]["username"] == "alice"


def test_unverified_user_cannot_log_in(client):
    register(client, "alice", verify=False)
    response = attempt(client, "alice", DEFAULT_PASSWORD)
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "email_not_verified"
    # A wrong password still says invalid_credentials: the 403 needs the password.
    assert attempt(client, "alice", "wrong-password-1").status_code == 401


def test_verification_can_be_switched_off(make_app):
    client = make_app(REQUIRE_EMAIL_VERIFICATION=False).test_client()
    register(client, "alice", verify=False)
    assert attempt(client, "alice", DEFAULT_PASSWORD).status_code == 200


ATTACKER = {"REMOTE_ADDR": "192.0.2.66"}
OTHER_ATTACKER = {"REMOTE_ADDR": "192.0.2.67"}
OWNER = {"REMOTE_ADDR": "198.51.100.7"}


def alerts(app) -> list:
    run_jobs(app)
    return [m for m in read_mails(app.config["MAIL_FILE_DIR"])
            if m["Subject"] == "Someone is trying to sign in to your account"]


def test_guessing_from_one_address_throttles_it_but_never_locks_the_owner_out(make_app,
                                                                              tmp_path):
    app = make_app(MAIL_BACKEND="file", MAIL_FILE_DIR=str(tmp_path))
    client = app.test_client()
    register(client, "alice")
    for _ in range(5):
        assert attempt(client, "alice", "wrong-password-1", ATTACKER).status_code == 401
    # The owner, from an address without failures, logs in as usual.
    assert attempt(client, "alice", DEFAULT_PASSWORD, OWNER).status_code == 200
    # The guessing address waits, even with the right password, by name or by email.
    for login_name in ("alice", "alice@example.com"):
        response = attempt(client, login_name, DEFAULT_PASSWORD, ATTACKER)
        assert response.status_code == 429
        assert response.get_json()["error"]["code"] == "rate_limited"
        assert 1 <= int(response.headers["Retry-After"]) <= 15 * 60
    # The owner was told once, however long the guessing goes on and from wherever.
    for _ in range(5):
        attempt(client, "alice", "wrong-password-1", OTHER_ATTACKER)
    [mail] = alerts(app)
    assert mail["To"] == "alice@example.com"
    assert "192.0.2.66" in mail.get_body(preferencelist=("plain",)).get_content()
    assert attempt(client, "alice", DEFAULT_PASSWORD, OWNER).status_code == 200


def test_a_few_typos_by_the_owner_send_no_warning(make_app, tmp_path):
    app = make_app(MAIL_BACKEND="file", MAIL_FILE_DIR=str(tmp_path))
    client = app.test_client()
    register(client, "alice")
    for _ in range(4):
        attempt(client, "alice", "wrong-password-1", OWNER)
    assert attempt(client, "alice", DEFAULT_PASSWORD, OWNER).status_code == 200
    assert alerts(app) == []


def test_one_address_guessing_at_many_accounts_is_throttled(make_app):
    client = make_app(RATELIMIT_LOGIN="6 per 15 minutes").test_client()
    for name in ("alice", "bob", "carol"):
        register(client, name)
    for name in ("alice", "bob", "ghost"):
        for _ in range(2):
            assert attempt(client, name, "wrong-password-1", ATTACKER).status_code == 401
    response = attempt(client, "carol", DEFAULT_PASSWORD, ATTACKER)
    assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
    assert attempt(client, "carol", DEFAULT_PASSWORD, OWNER).status_code == 200


def test_lockout_for_unknown_login_looks_the_same(client):
    for _ in range(5):
        attempt(client, "ghost", "wrong-password-1")
    assert attempt(client, "ghost", "wrong-password-1").status_code == 429


def test_lockout_window_expires(client, monkeypatch):
    register(client, "alice")
    for _ in range(5):
        attempt(client, "alice", "wrong-password-1")
    assert attempt(client, "alice", DEFAULT_PASSWORD).status_code == 429
    # The windows are the `limits` library's, which reads time.time() itself.
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 15 * 60 - 5)
    assert attempt(client, "alice", DEFAULT_PASSWORD).status_code == 429
    monkeypatch.setattr(time, "time", lambda: real_time() + 15 * 60 + 1)
    assert attempt(client, "alice", DEFAULT_PASSWORD).status_code == 200


def test_success_clears_failures(client):
    register(client, "alice")
    for _ in range(4):
        attempt(client, "alice", "wrong-password-1")
    assert attempt(client, "alice", DEFAULT_PASSWORD).status_code == 200
    for _ in range(4):
        attempt(client, "alice", "wrong-password-1")
    assert attempt(client, "alice", DEFAULT_PASSWORD).status_code == 200


def test_lockout_works_without_redis(make_app):
    client = make_app(REDIS_URL=None).test_client()
    register(client, "alice")
    for _ in range(5):
        attempt(client, "alice", "wrong-password-1")
    assert attempt(client, "alice", DEFAULT_PASSWORD).status_code == 429


def test_logout_ends_the_session_server_side(client, redis_url):
    register(client, "alice")
    token = login(client, "alice")
    sid = session_id(client)
    assert client.post("/api/auth/logout", headers=csrf(token)).status_code == 204
    assert not redis.Redis.from_url(redis_url).exists(f"rt:session:{sid}")
    client.set_cookie(SESSION_COOKIE, sid)  # a copy of the old cookie
    assert client.get("/api/auth/me").status_code == 401


def test_me_requires_authentication(client):
    response = client.get("/api/auth/me")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_throttle_keeps_counting_when_redis_fails(make_app, monkeypatch):
    """Redis failing mid-way: failures are counted in process memory instead, never
    forgotten (unlimited guessing) and never a 500."""
    import redis.exceptions
    from limits.storage import RedisStorage

    # An app of its own: the in-memory counts it falls back to are not handed on.
    client = make_app(reuse=False).test_client()
    register(client, "alice")

    def down(*args, **kwargs):
        raise redis.exceptions.ConnectionError("redis is down")

    monkeypatch.setattr(RedisStorage, "acquire_entry", down)
    monkeypatch.setattr(RedisStorage, "get_moving_window", down)
    for _ in range(5):
        assert attempt(client, "alice", "wrong-password-1", ATTACKER).status_code == 401
    assert attempt(client, "alice", DEFAULT_PASSWORD, ATTACKER).status_code == 429
