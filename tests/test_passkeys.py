"""Passkeys end to end with a software authenticator (tests/webauthn_authenticator.py)
against the real `webauthn` verification: register, list, rename, delete, log in as the
first factor (usernameless or with the login name) and as the second factor."""
from __future__ import annotations

import pytest
from bson import ObjectId

from tests.auth_helpers import add_passkey, passkey_options
from tests.auth_helpers import enable as enable_totp
from tests.helpers import DEFAULT_PASSWORD, csrf, register, register_and_login
from tests.webauthn_authenticator import SoftAuthenticator, b64url


def _login_options(client, **body):
    answer = client.post("/api/auth/passkeys/login/options", json=body)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def _login(client, challenge, credential):
    return client.post("/api/auth/passkeys/login",
                       json={"challenge_id": challenge["challenge_id"], "credential": credential})


@pytest.mark.parametrize("attestation", ["none", "packed"])
def test_register_then_log_in_without_a_username(app, client, db, attestation):
    _, token = register_and_login(client)
    authenticator = SoftAuthenticator(attestation=attestation)
    passkey = add_passkey(client, token, authenticator, "Laptop")
    assert passkey["name"] == "Laptop" and passkey["transports"] == ["internal"]
    assert passkey["last_used_at"] is None
    stored = db.passkeys.find_one()
    assert stored["user_id"] == db.users.find_one({"username": "alice"})["_id"]

    device = app.test_client()
    challenge = _login_options(device)
    assert challenge["options"]["allowCredentials"] == []
    assert challenge["options"]["userVerification"] == "required"
    answer = _login(device, challenge, authenticator.get(challenge["options"]))
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["user"]["username"] == "alice"
    assert device.get("/api/auth/me").get_json()["user"]["username"] == "alice"
    # Listed among the sessions like any login; the counter and last use are stored.
    assert len(device.get("/api/auth/sessions").get_json()["sessions"]) == 2
    assert db.passkeys.find_one()["sign_count"] == 1


def test_log_in_with_a_username_lists_only_that_accounts_passkeys(app, client):
    _, token = register_and_login(client)
    authenticator = SoftAuthenticator()
    passkey = add_passkey(client, token, authenticator)
    named = _login_options(app.test_client(), login="alice")
    assert [c["id"] for c in named["options"]["allowCredentials"]] == [
        b64url(authenticator.credentials[0].credential_id)]
    assert _login_options(app.test_client(), login="nobody")["options"][
        "allowCredentials"] == []
    device = app.test_client()
    assert _login(device, named, authenticator.get(named["options"])).status_code == 200
    listed = client.get("/api/auth/passkeys").get_json()["passkeys"]
    assert [p["id"] for p in listed] == [passkey["id"]] and listed[0]["last_used_at"]


def test_challenges_are_single_use_and_expire(app, client, clock):
    _, token = register_and_login(client)
    authenticator = SoftAuthenticator(counter_step=0)
    add_passkey(client, token, authenticator)
    challenge = _login_options(app.test_client())
    assertion = authenticator.get(challenge["options"])
    assert _login(app.test_client(), challenge, assertion).status_code == 200
    replay = _login(app.test_client(), challenge, assertion)
    assert replay.status_code == 400
    late = _login_options(app.test_client())
    clock.advance(301)
    assert _login(app.test_client(), late, authenticator.get(late["options"])
                  ).status_code == 400


def test_forged_or_foreign_answers_are_refused(app, client):
    _, token = register_and_login(client)
    authenticator = SoftAuthenticator()
    add_passkey(client, token, authenticator)
    # Another origin (a phishing page) cannot use the passkey.
    challenge = _login_options(app.test_client())
    phished = authenticator.get(challenge["options"], origin="https://evil.example")
    assert _login(app.test_client(), challenge, phished).status_code == 401
    # A signature over another challenge.
    first, second = _login_options(app.test_client()), _login_options(app.test_client())
    assert _login(app.test_client(), second, authenticator.get(first["options"])
                  ).status_code == 401
    # No user verification: not enough as the only factor.
    lazy = SoftAuthenticator(user_verified=False, credentials=authenticator.credentials)
    challenge = _login_options(app.test_client())
    assert _login(app.test_client(), challenge, lazy.get(challenge["options"])
                  ).status_code == 401
    # An unknown passkey, and garbage.
    stranger = SoftAuthenticator()
    stranger.create({"rp": {"id": "localhost"}, "user": {"id": "AA"}, "challenge": "AA"})
    challenge = _login_options(app.test_client())
    assert _login(app.test_client(), challenge, stranger.get(challenge["options"])
                  ).status_code == 401
    challenge = _login_options(app.test_client())
    assert _login(app.test_client(), challenge, {"id": "%%%", "response": 3}
                  ).status_code in (400, 401)


def test_registration_needs_the_password_and_a_fresh_challenge(client, db):
    _, token = register_and_login(client)
    assert passkey_options(client, token, "not the password").status_code == 401
    body = passkey_options(client, token).get_json()
    authenticator = SoftAuthenticator()
    bad_origin = authenticator.create(body["options"], origin="https://evil.example")
    answer = client.post("/api/auth/passkeys/register", headers=csrf(token),
                         json={"challenge_id": body["challenge_id"], "credential": bad_origin})
    assert answer.status_code == 400
    # The challenge was spent by that attempt.
    retry = client.post("/api/auth/passkeys/register", headers=csrf(token), json={
        "challenge_id": body["challenge_id"], "credential": authenticator.create(body["options"])})
    assert retry.status_code == 400
    assert db.passkeys.count_documents({}) == 0


def test_rename_and_delete_and_other_users_get_404(app, client):
    _, token = register_and_login(client)
    authenticator = SoftAuthenticator()
    passkey = add_passkey(client, token, authenticator)
    mallory = app.test_client()
    _, mallory_token = register_and_login(mallory, "mallory")
    for call in (lambda c, t, pid: c.patch(f"/api/auth/passkeys/{pid}", headers=csrf(t),
                                           json={"name": "mine now"}),
                 lambda c, t, pid: c.delete(f"/api/auth/passkeys/{pid}", headers=csrf(t))):
        theirs = call(mallory, mallory_token, passkey["id"])
        absent = call(mallory, mallory_token, str(ObjectId()))
        assert theirs.status_code == absent.status_code == 404
        assert theirs.get_json() == absent.get_json()
    assert mallory.get("/api/auth/passkeys").get_json() == {"passkeys": []}
    # Someone else's registration challenge is not theirs to answer.
    options = passkey_options(client, token).get_json()
    stolen = mallory.post("/api/auth/passkeys/register", headers=csrf(mallory_token), json={
        "challenge_id": options["challenge_id"],
        "credential": SoftAuthenticator().create(options["options"])})
    assert stolen.status_code == 400

    renamed = client.patch(f"/api/auth/passkeys/{passkey['id']}", headers=csrf(token),
                           json={"name": "Work laptop"})
    assert renamed.status_code == 200 and renamed.get_json()["name"] == "Work laptop"
    assert client.delete(f"/api/auth/passkeys/{passkey['id']}", headers=csrf(token)
                         ).status_code == 204
    assert client.get("/api/auth/passkeys").get_json() == {"passkeys": []}
    challenge = _login_options(app.test_client())
    assert _login(app.test_client(), challenge,
                  authenticator.get(challenge["options"])).status_code == 401


def test_a_passkey_as_the_second_factor(app, client):
    _, token = register_and_login(client)
    authenticator = SoftAuthenticator(user_verified=False)
    add_passkey(client, token, authenticator)
    enable_totp(client, token)
    device = app.test_client()
    first = device.post("/api/auth/login", json={"login": "alice",
                                                 "password": DEFAULT_PASSWORD})
    assert first.status_code == 401
    assert first.get_json()["error"]["details"] == {"methods": ["totp", "passkey"]}
    wrong = device.post("/api/auth/passkeys/second-factor/options",
                        json={"login": "alice", "password": "not the password"})
    assert wrong.status_code == 401
    options = device.post("/api/auth/passkeys/second-factor/options",
                          json={"login": "alice", "password": DEFAULT_PASSWORD})
    assert options.status_code == 200
    challenge = options.get_json()
    assert challenge["options"]["userVerification"] == "discouraged"
    answer = _login(device, challenge, authenticator.get(challenge["options"]))
    assert answer.status_code == 200, answer.get_json()
    assert device.get("/api/auth/me").status_code == 200


def test_the_second_factor_challenge_is_bound_to_its_account(app, client):
    _, token = register_and_login(client)
    alice_key = SoftAuthenticator()
    add_passkey(client, token, alice_key)
    enable_totp(client, token)
    bob = app.test_client()
    register(bob, "bob")
    # Bob has no 2FA: no passkey step for him.
    refused = bob.post("/api/auth/passkeys/second-factor/options",
                       json={"login": "bob", "password": DEFAULT_PASSWORD})
    assert refused.status_code == 400
    # Alice's passkey cannot answer a challenge opened with another account's password.
    _, bob_token = register_and_login(bob, "carol")
    carol_key = SoftAuthenticator()
    add_passkey(bob, bob_token, carol_key)
    enable_totp(bob, bob_token)
    options = app.test_client().post("/api/auth/passkeys/second-factor/options", json={
        "login": "carol", "password": DEFAULT_PASSWORD}).get_json()
    forged = alice_key.get({**options["options"], "allowCredentials": []})
    assert _login(app.test_client(), options, forged).status_code == 401


def test_an_unverified_account_cannot_log_in_with_a_passkey(app, client, db):
    _, token = register_and_login(client)
    authenticator = SoftAuthenticator()
    add_passkey(client, token, authenticator)
    db.users.update_one({"username": "alice"}, {"$set": {"email_verified": False}})
    challenge = _login_options(app.test_client())
    answer = _login(app.test_client(), challenge, authenticator.get(challenge["options"]))
    assert answer.status_code == 403
    assert answer.get_json()["error"]["code"] == "email_not_verified"


def test_deleting_the_account_deletes_its_passkeys(app, client, db):
    _, token = register_and_login(client)
    authenticator = SoftAuthenticator()
    add_passkey(client, token, authenticator)
    assert client.delete("/api/users/me", headers=csrf(token),
                         json={"password": DEFAULT_PASSWORD}).status_code == 204
    assert db.passkeys.count_documents({}) == 0
    challenge = _login_options(app.test_client())
    assert _login(app.test_client(), challenge,
                  authenticator.get(challenge["options"])).status_code == 401
