"""Tokens for apps: POST /api/auth/token answers a short-lived access token and a rotating
refresh token; POST /api/auth/token/refresh trades one for a new pair, and a refresh token
presented twice ends its whole family (every token of that login) and its sockets."""
from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from bson import ObjectId

import config
from tests.auth_helpers import add_passkey, refusal
from tests.chat_helpers import open_direct, send
from tests.helpers import (
    DEFAULT_PASSWORD,
    Person,
    events,
    force_logouts,
    fresh_address,
    register,
    register_and_login,
)
from tests.webauthn_authenticator import SoftAuthenticator
from utils import clock as app_clock
from utils.extensions import socketio

ACCESS_TTL = 15 * 60


@pytest.fixture
def app(app):
    """The shared app at the access-token lifetime of every other environment (the
    testing one keeps the old 30 days for the rest of the suite's scripts)."""
    app.config["ACCESS_TOKEN_TTL_SECONDS"] = config.Config().ACCESS_TOKEN_TTL_SECONDS
    return app


def test_the_access_token_lives_15_minutes_and_the_refresh_token_30_days_by_default():
    settings = config.Config()
    assert settings.ACCESS_TOKEN_TTL_SECONDS == ACCESS_TTL
    assert settings.REFRESH_TOKEN_TTL_DAYS == 30


def _app_login(client, username: str = "bob", register_first: bool = True) -> dict:
    """The answer of POST /api/auth/token for `username` (registering it first)."""
    if register_first:
        register(client, username)
    response = client.post("/api/auth/token", environ_base=fresh_address(),
                           json={"login": username, "password": DEFAULT_PASSWORD,
                                 "name": "phone"})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def _refresh(client, refresh_token, address: dict | None = None):
    return client.post("/api/auth/token/refresh", json={"refresh_token": refresh_token},
                       environ_base=address or fresh_address())


def _as(pair: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {pair['access_token']}"}


def _me(client, pair: dict) -> int:
    return client.get("/api/auth/me", headers=_as(pair)).status_code


def test_a_login_answers_a_pair_with_its_lifetimes_and_the_old_fields(client, db):
    pair = _app_login(client)
    assert set(pair) == {"access_token", "refresh_token", "token_type", "expires_in",
                         "token", "expires_at"}
    assert pair["token_type"] == "Bearer" and pair["expires_in"] == ACCESS_TTL
    assert pair["access_token"] != pair["refresh_token"]
    # The deprecated fields are the access token, as before.
    assert pair["token"] == pair["access_token"] and pair["expires_at"].endswith("Z")
    assert _me(client, pair) == 200

    stored = {token["kind"]: token for token in db.auth_tokens.find()}
    assert set(stored) == {"access", "refresh"}
    assert stored["access"]["family_id"] == stored["refresh"]["family_id"]
    for kind, token in stored.items():
        raw = pair[f"{kind}_token"]
        assert raw not in str(token)
        assert token["token_hash"] == hashlib.sha256(raw.encode()).hexdigest()
        assert token["name"] == "phone"
    access_life = stored["access"]["expires_at"] - stored["access"]["created_at"]
    refresh_life = stored["refresh"]["expires_at"] - stored["refresh"]["created_at"]
    assert abs(access_life - timedelta(seconds=ACCESS_TTL)) < timedelta(seconds=2)
    assert abs(refresh_life - timedelta(days=30)) < timedelta(seconds=2)


def test_an_expired_access_token_answers_401_and_a_refresh_token_is_no_bearer(client, clock):
    pair = _app_login(client)
    refused = client.get("/api/auth/me", headers={
        "Authorization": f"Bearer {pair['refresh_token']}"})
    assert refused.status_code == 401
    clock.advance(ACCESS_TTL - 5)
    assert _me(client, pair) == 200
    clock.advance(10)
    response = client.get("/api/auth/me", headers=_as(pair))
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_refresh_rotates_the_pair(client, clock):
    first = _app_login(client)
    clock.advance(ACCESS_TTL + 60)
    assert _me(client, first) == 401
    response = _refresh(client, first["refresh_token"])
    assert response.status_code == 200, response.get_json()
    second = response.get_json()
    assert second["token_type"] == "Bearer" and second["expires_in"] == ACCESS_TTL
    assert second["token"] == second["access_token"]
    assert {second["access_token"], second["refresh_token"]}.isdisjoint(
        {first["access_token"], first["refresh_token"]})
    assert _me(client, second) == 200
    # The new refresh token rotates in turn.
    third = _refresh(client, second["refresh_token"])
    assert third.status_code == 200 and _me(client, third.get_json()) == 200


def test_the_refresh_token_lives_on_with_use_and_ends_unused(client, clock):
    pair = _app_login(client)
    clock.advance(days=29)
    renewed = _refresh(client, pair["refresh_token"]).get_json()
    clock.advance(days=29)  # 58 days after the login, 29 after the last refresh
    again = _refresh(client, renewed["refresh_token"])
    assert again.status_code == 200
    clock.advance(days=31)
    assert _refresh(client, again.get_json()["refresh_token"]).status_code == 401


def test_a_reused_refresh_token_ends_its_family_and_its_sockets(app, client):
    old = _app_login(client)
    new = _refresh(client, old["refresh_token"]).get_json()
    other = _app_login(client, register_first=False)  # a second login: another family
    family_socket = socketio.test_client(app, auth={"token": new["access_token"]})
    other_socket = socketio.test_client(app, auth={"token": other["access_token"]})
    assert family_socket.is_connected() and other_socket.is_connected()

    reused = _refresh(client, old["refresh_token"])
    assert reused.status_code == 401
    assert reused.get_json()["error"]["code"] == "unauthorized"
    # Every token of the family is dead: the newer access and refresh tokens too.
    assert _me(client, new) == 401
    assert _refresh(client, new["refresh_token"]).status_code == 401
    assert force_logouts(family_socket) == [{"reason": "token_reused"}]
    assert not family_socket.is_connected()
    # The other login is untouched.
    assert _me(client, other) == 200 and other_socket.is_connected()
    assert force_logouts(other_socket) == []
    assert _refresh(client, other["refresh_token"]).status_code == 200


def test_garbage_refresh_tokens_answer_401_or_400_and_are_throttled(make_app):
    client = make_app(RATELIMIT_LOGIN="4 per 15 minutes",
                      ACCESS_TOKEN_TTL_SECONDS=ACCESS_TTL).test_client()
    pair = _app_login(client)
    address = fresh_address()
    for garbage in ("garbage", pair["access_token"], "x" * 300):
        response = _refresh(client, garbage, address)
        assert response.status_code == 401, response.get_json()
        assert set(response.get_json()["error"]) >= {"code", "message"}
    for body in ({}, {"refresh_token": 5}, {"refresh_token": ""}, {"refresh_token": "y" * 600},
                 {"refresh_token": pair["refresh_token"], "extra": 1}):
        response = client.post("/api/auth/token/refresh", json=body,
                               environ_base=fresh_address())
        assert response.status_code == 400, (body, response.get_json())
        assert response.get_json()["error"]["code"] == "validation_error"
    assert _refresh(client, "garbage", address).status_code == 401  # the fourth failure
    throttled = _refresh(client, pair["refresh_token"], address)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"]
    # Another address is not held back, and the refresh token was not spent.
    assert _refresh(client, pair["refresh_token"]).status_code == 200


def test_a_socket_outlives_its_access_token_but_a_reconnect_needs_a_fresh_one(app, clock):
    alice, client = Person(app, "alice"), app.test_client()
    room_id = open_direct(alice, Person(client, "bob"))
    pair = _app_login(client, "bob", register_first=False)
    sc = socketio.test_client(app, auth={"token": pair["access_token"]})
    assert sc.is_connected()

    clock.advance(ACCESS_TTL + 60)
    assert _me(client, pair) == 401
    send(alice.socket(), room_id, "still there?", "m1")
    assert [m["body"] for m in events(sc, "message")] == ["still there?"]
    assert send(sc, room_id, "yes", "m2")["ok"] is True
    assert sc.is_connected()

    assert refusal(app, auth={"token": pair["access_token"]})["code"] == "session_expired"
    fresh = _refresh(client, pair["refresh_token"]).get_json()
    assert refusal(app, auth={"token": fresh["access_token"]}) is None
    # The rotation did not close the socket: it belongs to the login, not to one token.
    assert sc.is_connected() and force_logouts(sc) == []


def test_an_app_login_is_listed_once_and_revoked_whole(app, client):
    first = _app_login(client)
    second = _refresh(client, first["refresh_token"]).get_json()
    tokens = client.get("/api/auth/tokens", headers=_as(second)).get_json()["tokens"]
    assert [(t["name"], t["current"]) for t in tokens] == [("phone", True)]
    # The same entry, whichever access token of the login asks.
    assert client.get("/api/auth/tokens", headers=_as(first)).get_json()["tokens"] == tokens

    assert client.delete("/api/auth/token", headers=_as(second)).status_code == 204
    assert _me(client, first) == _me(client, second) == 401
    assert _refresh(client, second["refresh_token"]).status_code == 401


def test_revoking_an_app_login_by_id_closes_its_sockets(app, client):
    _, csrf_token = register_and_login(client, "bob")
    pair = _app_login(app.test_client(), register_first=False)
    sc = socketio.test_client(app, auth={"token": pair["access_token"]})
    [listed] = client.get("/api/auth/tokens").get_json()["tokens"]
    assert client.delete(f"/api/auth/tokens/{listed['id']}",
                         headers={"X-CSRF-Token": csrf_token}).status_code == 204
    assert force_logouts(sc) == [{"reason": "token_revoked"}] and not sc.is_connected()
    assert _refresh(client, pair["refresh_token"]).status_code == 401


def test_a_password_change_keeps_the_callers_login_and_ends_the_others(client):
    mine = _app_login(client)
    others = _app_login(client, register_first=False)
    changed = client.post("/api/auth/password/change", headers=_as(mine),
                          json={"current_password": DEFAULT_PASSWORD,
                                "new_password": "another long passphrase"})
    assert changed.status_code == 200, changed.get_json()
    assert _me(client, mine) == 200
    assert _refresh(client, mine["refresh_token"]).status_code == 200
    assert _me(client, others) == 401
    assert _refresh(client, others["refresh_token"]).status_code == 401


def test_an_access_token_cannot_end_browser_sessions(client):
    pair = _app_login(client)
    browser = client.application.test_client()
    response = browser.post("/api/auth/login", environ_base=fresh_address(),
                            json={"login": "bob", "password": DEFAULT_PASSWORD})
    assert response.status_code == 200
    [session] = client.get("/api/auth/sessions", headers=_as(pair)).get_json()["sessions"]
    assert client.delete(f"/api/auth/sessions/{session['id']}",
                         headers=_as(pair)).status_code == 403
    assert client.post("/api/auth/sessions/revoke-others",
                       headers=_as(pair)).status_code == 403
    assert browser.get("/api/auth/me").status_code == 200


def test_a_long_lived_token_issued_before_keeps_working_until_it_expires(client, db, clock):
    user = register(client, "carol")
    raw = "rt_" + "a" * 43
    db.auth_tokens.insert_one({
        "user_id": ObjectId(user["id"]), "name": "script",
        "token_hash": hashlib.sha256(raw.encode()).hexdigest(),
        "created_at": app_clock.now(), "expires_at": app_clock.now() + timedelta(days=30)})
    headers = {"Authorization": f"Bearer {raw}"}
    clock.advance(days=29)
    assert client.get("/api/auth/me", headers=headers).status_code == 200
    [listed] = client.get("/api/auth/tokens", headers=headers).get_json()["tokens"]
    assert listed["name"] == "script" and listed["current"] is True
    # It is no refresh token.
    assert _refresh(client, raw).status_code == 401
    clock.advance(days=2)
    assert client.get("/api/auth/me", headers=headers).status_code == 401


def test_a_passkey_login_can_ask_for_tokens(app, client):
    _, csrf_token = register_and_login(client, "dave")
    authenticator = SoftAuthenticator()
    add_passkey(client, csrf_token, authenticator)
    app_client = app.test_client()
    options = app_client.post("/api/auth/passkeys/login/options", json={}).get_json()
    answer = app_client.post("/api/auth/passkeys/token", json={
        "challenge_id": options["challenge_id"], "name": "tablet",
        "credential": authenticator.get(options["options"])})
    assert answer.status_code == 201, answer.get_json()
    pair = answer.get_json()
    assert pair["token_type"] == "Bearer" and pair["expires_in"] == ACCESS_TTL
    assert app_client.get("/api/auth/me", headers=_as(pair)).get_json()["user"][
        "username"] == "dave"
    # No browser session was started for the app, and the pair refreshes.
    assert app_client.get("/api/auth/me").status_code == 401
    assert _refresh(app_client, pair["refresh_token"]).status_code == 200
    names = [t["name"] for t in client.get("/api/auth/tokens").get_json()["tokens"]]
    assert names == ["tablet"]
