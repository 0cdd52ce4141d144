"""My sessions and API tokens: listing them (device, address, last seen), ending one or
all others, and the sockets of what ended closing."""
from __future__ import annotations

from bson import ObjectId

from tests.helpers import DEFAULT_PASSWORD, bearer, csrf, force_logouts, register
from utils.extensions import socketio

FIREFOX = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME_MAC = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
              "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36")


def _device(app, user_agent: str, address: str, username: str = "alice"):
    """A browser of its own (cookie jar) logged in as `username`: (client, csrf headers)."""
    device = app.test_client()
    response = device.post("/api/auth/login", headers={"User-Agent": user_agent},
                           environ_base={"REMOTE_ADDR": address},
                           json={"login": username, "password": DEFAULT_PASSWORD})
    assert response.status_code == 200, response.get_data(as_text=True)
    return device, csrf(response.get_json()["csrf_token"])


def _sessions(device, headers=None):
    response = device.get("/api/auth/sessions", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["sessions"]


def test_sessions_list_device_address_and_which_is_mine(app):
    register(app.test_client(), "alice")
    laptop, _ = _device(app, FIREFOX, "192.0.2.10")
    phone, _ = _device(app, CHROME_MAC, "192.0.2.20")

    listed = _sessions(laptop)
    assert [(s["device"], s["address"], s["current"]) for s in listed] == [
        ("Chrome 120 on Mac OS X", "192.0.2.20", False),
        ("Firefox 128 on Ubuntu", "192.0.2.10", True)]
    assert listed[1]["user_agent"] == FIREFOX
    assert {"id", "created_at", "last_seen_at"} <= listed[0].keys()
    assert [s["current"] for s in _sessions(phone)] == [True, False]


def test_the_address_is_the_trusted_one_never_a_forwarded_header(app):
    """Without TRUSTED_PROXIES, X-Forwarded-For is anyone's to write: it is ignored."""
    register(app.test_client(), "alice")
    device = app.test_client()
    response = device.post("/api/auth/login",
                           headers={"X-Forwarded-For": "203.0.113.66", "User-Agent": FIREFOX},
                           environ_base={"REMOTE_ADDR": "192.0.2.30"},
                           json={"login": "alice", "password": DEFAULT_PASSWORD})
    assert response.status_code == 200
    assert [s["address"] for s in _sessions(device)] == ["192.0.2.30"]


def test_last_seen_moves_at_most_once_a_minute(app, db, clock):
    register(app.test_client(), "alice")
    device, _ = _device(app, FIREFOX, "192.0.2.10")
    first = db.login_sessions.find_one()["last_seen_at"]
    clock.advance(30)
    assert device.get("/api/auth/me").status_code == 200
    assert db.login_sessions.find_one()["last_seen_at"] == first
    clock.advance(31)
    assert device.get("/api/auth/me", environ_base={"REMOTE_ADDR": "192.0.2.99"}
                      ).status_code == 200
    stored = db.login_sessions.find_one()
    assert (stored["last_seen_at"] - first).total_seconds() >= 60
    assert stored["address"] == "192.0.2.99"


def test_ending_a_session_logs_it_out_and_closes_its_sockets_only(app):
    register(app.test_client(), "alice")
    laptop, laptop_csrf = _device(app, FIREFOX, "192.0.2.10")
    phone, _ = _device(app, CHROME_MAC, "192.0.2.20")
    phone_socket = socketio.test_client(app, flask_test_client=phone)
    laptop_socket = socketio.test_client(app, flask_test_client=laptop)
    assert phone_socket.is_connected() and laptop_socket.is_connected()
    phone_id = next(s["id"] for s in _sessions(laptop) if not s["current"])

    assert laptop.delete(f"/api/auth/sessions/{phone_id}", headers=laptop_csrf
                         ).status_code == 204
    assert force_logouts(phone_socket) == [{"reason": "session_revoked"}]
    assert not phone_socket.is_connected()
    assert phone.get("/api/auth/me").status_code == 401
    assert not socketio.test_client(app, flask_test_client=phone).is_connected()
    # The laptop lives on, socket included.
    assert laptop.get("/api/auth/me").status_code == 200
    assert laptop_socket.is_connected() and force_logouts(laptop_socket) == []
    assert [s["current"] for s in _sessions(laptop)] == [True]
    # Ended twice: it is gone.
    assert laptop.delete(f"/api/auth/sessions/{phone_id}", headers=laptop_csrf
                         ).status_code == 404


def test_ending_the_current_session_logs_out(app):
    register(app.test_client(), "alice")
    laptop, laptop_csrf = _device(app, FIREFOX, "192.0.2.10")
    mine = _sessions(laptop)[0]["id"]
    assert laptop.delete(f"/api/auth/sessions/{mine}", headers=laptop_csrf).status_code == 204
    assert laptop.get("/api/auth/me").status_code == 401


def test_someone_elses_session_or_token_is_not_found(app, db):
    register(app.test_client(), "alice")
    register(app.test_client(), "mallory")
    alice, _ = _device(app, FIREFOX, "192.0.2.10")
    mallory, mallory_csrf = _device(app, CHROME_MAC, "192.0.2.20", "mallory")
    alice_session = _sessions(alice)[0]["id"]
    alice_token = bearer(app.test_client(), "alice", register_first=False)
    token_id = alice.get("/api/auth/tokens").get_json()["tokens"][0]["id"]

    for path in (f"/api/auth/sessions/{alice_session}", f"/api/auth/tokens/{token_id}"):
        answer = mallory.delete(path, headers=mallory_csrf)
        absent = mallory.delete(f"/api/auth/sessions/{ObjectId()}", headers=mallory_csrf)
        assert answer.status_code == 404
        assert answer.get_json()["error"]["code"] == absent.get_json()["error"]["code"]
    assert alice.get("/api/auth/me").status_code == 200
    assert app.test_client().get("/api/auth/me", headers=alice_token).status_code == 200
    assert [s["id"] for s in _sessions(mallory)] != [alice_session]
    assert db.login_sessions.count_documents({}) == 2


def test_revoke_others_keeps_mine_and_the_tokens(app):
    register(app.test_client(), "alice")
    laptop, laptop_csrf = _device(app, FIREFOX, "192.0.2.10")
    phones = [_device(app, CHROME_MAC, f"192.0.2.{20 + n}")[0] for n in range(2)]
    sockets = [socketio.test_client(app, flask_test_client=phone) for phone in phones]
    token = bearer(app.test_client(), "alice", register_first=False)

    answer = laptop.post("/api/auth/sessions/revoke-others", headers=laptop_csrf)
    assert answer.status_code == 200 and answer.get_json() == {"ended": 2}
    for phone, sc in zip(phones, sockets, strict=True):
        assert phone.get("/api/auth/me").status_code == 401
        assert not sc.is_connected() and force_logouts(sc) == [{"reason": "session_revoked"}]
    assert laptop.get("/api/auth/me").status_code == 200
    assert app.test_client().get("/api/auth/me", headers=token).status_code == 200
    assert len(_sessions(laptop)) == 1


def test_logout_and_password_change_drop_sessions_from_the_list(app):
    register(app.test_client(), "alice")
    laptop, laptop_csrf = _device(app, FIREFOX, "192.0.2.10")
    phone, phone_csrf = _device(app, CHROME_MAC, "192.0.2.20")
    third, _ = _device(app, CHROME_MAC, "192.0.2.30")
    assert phone.post("/api/auth/logout", headers=phone_csrf).status_code == 204
    assert len(_sessions(laptop)) == 2
    changed = laptop.post("/api/auth/password/change", headers=laptop_csrf,
                          json={"current_password": DEFAULT_PASSWORD,
                                "new_password": "another long passphrase"})
    assert changed.status_code == 200
    assert third.get("/api/auth/me").status_code == 401
    assert [s["current"] for s in _sessions(laptop)] == [True]


def test_tokens_are_listed_without_their_secret_and_revoked_by_id(app):
    client = app.test_client()
    first = bearer(client, "bot")
    second = bearer(client, "bot", register_first=False)
    tokens = client.get("/api/auth/tokens", headers=first).get_json()["tokens"]
    assert len(tokens) == 2 and set(tokens[0]) == {"id", "name", "created_at", "expires_at",
                                                  "current"}
    mine = next(t for t in tokens if t["current"])
    other = next(t for t in tokens if not t["current"])
    sc = socketio.test_client(app, auth={"token": second["Authorization"].split()[1]})
    assert sc.is_connected()

    assert client.delete(f"/api/auth/tokens/{other['id']}", headers=first).status_code == 204
    assert not sc.is_connected() and force_logouts(sc) == [{"reason": "token_revoked"}]
    assert client.get("/api/auth/me", headers=second).status_code == 401
    assert [t["id"] for t in client.get("/api/auth/tokens", headers=first
                                        ).get_json()["tokens"]] == [mine["id"]]


def test_sessions_are_listed_and_ended_without_redis(make_app, tmp_path):
    """Development without Redis keeps sessions in files; the index in MongoDB still
    lists them, and ending one kills it, a kept copy of its cookie included."""
    app = make_app(REDIS_URL=None, SESSION_DIR=str(tmp_path / "sessions"))
    register(app.test_client(), "alice")
    laptop, laptop_csrf = _device(app, FIREFOX, "192.0.2.10")
    phone, _ = _device(app, CHROME_MAC, "192.0.2.20")
    phone_cookie = phone.get_cookie("roundtable_session").value
    phone_socket = socketio.test_client(app, flask_test_client=phone)
    assert phone_socket.is_connected()
    phone_id = next(s["id"] for s in _sessions(laptop) if not s["current"])

    assert laptop.delete(f"/api/auth/sessions/{phone_id}", headers=laptop_csrf
                         ).status_code == 204
    assert not phone_socket.is_connected()
    assert force_logouts(phone_socket) == [{"reason": "session_revoked"}]
    replayed = app.test_client()
    replayed.set_cookie("roundtable_session", phone_cookie)
    assert replayed.get("/api/auth/me").status_code == 401
    assert [s["current"] for s in _sessions(laptop)] == [True]


def test_a_bearer_token_cannot_end_browser_sessions(app, db):
    """A leaked API token must not log its owner's browsers out (the owner would lose the
    page they would use to revoke it): ending sessions needs a browser session; a
    password change still ends everything."""
    register(app.test_client(), "alice")
    laptop, laptop_csrf = _device(app, FIREFOX, "192.0.2.10")
    laptop_session = _sessions(laptop)[0]["id"]
    token = bearer(app.test_client(), "alice", register_first=False)
    script = app.test_client()
    for method, path in (("POST", "/api/auth/sessions/revoke-others"),
                         ("DELETE", f"/api/auth/sessions/{laptop_session}"),
                         ("DELETE", f"/api/auth/sessions/{ObjectId()}")):
        answer = script.open(path, method=method, headers=token)
        assert answer.status_code == 403, (path, answer.get_json())
        assert answer.get_json()["error"]["code"] == "forbidden"
    assert laptop.get("/api/auth/me").status_code == 200
    assert db.login_sessions.count_documents({}) == 1
    # The browser still ends the token.
    token_id = laptop.get("/api/auth/tokens").get_json()["tokens"][0]["id"]
    assert laptop.delete(f"/api/auth/tokens/{token_id}", headers=laptop_csrf
                         ).status_code == 204
    assert script.get("/api/auth/me", headers=token).status_code == 401
