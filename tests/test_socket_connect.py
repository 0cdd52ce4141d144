import pytest
import redis

from services.platform.live_rooms import ORIGINS_PREFIX
from tests.auth_helpers import refusal
from tests.helpers import bearer, register_and_login
from utils.extensions import socketio


def test_connect_refused_without_auth(app, client):
    sc = socketio.test_client(app, flask_test_client=client)
    assert not sc.is_connected()

def test_connect_with_cookie_and_token(app, client):
    register_and_login(client, "alice")
    sc = socketio.test_client(app, flask_test_client=client)
    assert sc.is_connected()
    headers = bearer(app.test_client(), "bobby")
    token = headers["Authorization"].split()[1]
    sc2 = socketio.test_client(app, auth={"token": token})
    assert sc2.is_connected()
    sc3 = socketio.test_client(app, auth={"token": "nope"})
    assert not sc3.is_connected()


@pytest.fixture
def forget_whoami():
    """The handler below is registered on the process-wide SocketIO; it must not outlive
    the test (the authorization matrix classifies every registered event)."""
    yield
    socketio.handlers[:] = [entry for entry in socketio.handlers if entry[0] != "whoami"]
    socketio.server.handlers.get("/", {}).pop("whoami", None)


def test_events_see_the_connected_user_until_sessions_end(app, client, forget_whoami):
    from utils.socket_events import acknowledged, socket_user

    @socketio.on("whoami")
    @acknowledged()
    def whoami(_payload):
        return socket_user()["username"]

    user, _ = register_and_login(client, "carol")
    sc = socketio.test_client(app, flask_test_client=client)
    assert sc.emit("whoami", {}, callback=True) == {"ok": True, "data": "carol"}
    with app.app_context():
        from bson import ObjectId

        from models.user import User
        # Only the epoch bump, without the disconnect that ending sessions also sends
        # (as when an event is already running when it arrives). Through the model: a
        # raw write would not replace the user's version stamp (utils.user_versions).
        User().bump_session_epoch(ObjectId(user["id"]))
    answer = sc.emit("whoami", {}, callback=True)
    assert answer["ok"] is False and answer["error"]["code"] == "unauthorized"


def test_refusals_name_their_reason(app, client):
    assert refusal(app)["code"] == "unauthorized"
    assert refusal(app, auth={"token": ""})["code"] == "unauthorized"
    assert refusal(app, auth={"token": "rt_never_issued"})["code"] == "session_expired"
    headers = bearer(app.test_client(), "dora")
    token = headers["Authorization"].split()[1]
    assert refusal(app, auth={"token": token}) is None
    assert app.test_client().delete("/api/auth/token", headers=headers).status_code == 204
    assert refusal(app, auth={"token": token})["code"] == "session_expired"


def test_an_ended_session_is_expired(app, client):
    """A session ended elsewhere (password change, "log out everywhere": the epoch bump)
    is `session_expired`; a cookie naming no session at all (logged out) `unauthorized`."""
    from bson import ObjectId

    from models.user import User
    from tests.helpers import csrf

    user, token = register_and_login(client, "erin")
    assert refusal(app, client) is None
    with app.app_context():
        User().bump_session_epoch(ObjectId(user["id"]))
    assert refusal(app, client)["code"] == "session_expired"
    _, token = register_and_login(client, "erin2")
    assert client.post("/api/auth/logout", headers=csrf(token)).status_code in (200, 204)
    assert refusal(app, client)["code"] == "unauthorized"


def test_a_banned_account_is_told_so(app, client):
    from datetime import timedelta

    from bson import ObjectId

    from models.user import User
    from utils import clock

    user, _ = register_and_login(client, "frank")
    token = bearer(app.test_client(), "frank", register_first=False)[
        "Authorization"].split()[1]
    with app.app_context():
        User().update(ObjectId(user["id"]), {"ban": {
            "reason": "spam", "banned_at": clock.now(),
            "expires_at": clock.now() + timedelta(days=1)}})
    for kind in (refusal(app, client), refusal(app, auth={"token": token})):
        assert kind["code"] == "banned" and "spam" in kind["message"]


def test_too_many_sockets_is_rate_limited_with_a_retry_hint(make_app):
    app = make_app(SOCKET_MAX_PER_USER=1)
    token = bearer(app.test_client(), "gina")["Authorization"].split()[1]
    assert refusal(app, auth={"token": token}) is None
    first = socketio.test_client(app, auth={"token": token})
    try:
        data = refusal(app, auth={"token": token})
    finally:
        first.disconnect()
    assert data["code"] == "rate_limited" and data["retry_after"] >= 1


def test_a_page_on_a_foreign_origin_gets_a_400_before_socketio(make_app):
    """python-engineio answers a handshake from an origin not in CORS_ORIGINS with 400
    "Not an accepted origin." and no CORS headers, before the connect handler runs: a
    browser cannot read it, socket.io-client reports `connect_error` "xhr poll error"
    (polling) or "websocket error" (docs/CLIENTS.md)."""
    client = make_app(CORS_ORIGINS=["https://app.example"]).test_client()
    handshake = "/socket.io/?EIO=4&transport=polling"
    refused = client.get(handshake, headers={"Origin": "https://evil.example"})
    assert refused.status_code == 400
    assert "Not an accepted origin." in refused.get_data(as_text=True)
    assert "Access-Control-Allow-Origin" not in refused.headers
    allowed = client.get(handshake, headers={"Origin": "https://app.example"})
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example"


def test_with_a_message_queue_the_socket_cap_and_origins_are_kept_in_redis(app, redis_url):
    # Several processes: sockets are counted in Redis (services.platform.connections),
    # each one's login beside it, for closing the sockets of one session or token.
    app.config.update(SOCKETIO_MESSAGE_QUEUE=redis_url, SOCKET_MAX_PER_USER=1)
    headers = bearer(app.test_client(), "hugo")
    token = headers["Authorization"].split()[1]
    [mine] = app.test_client().get("/api/auth/tokens", headers=headers).get_json()["tokens"]
    hugo = app.test_client().get("/api/auth/me", headers=headers).get_json()["user"]
    store = redis.Redis.from_url(redis_url)
    first = socketio.test_client(app, auth={"token": token})
    assert first.is_connected()
    origins = store.hgetall(ORIGINS_PREFIX + hugo["id"])
    assert [value.decode() for value in origins.values()] == [f"token:{mine['id']}"]
    try:
        data = refusal(app, auth={"token": token})
    finally:
        first.disconnect()
    assert data["code"] == "rate_limited" and data["retry_after"] >= 1
    # Gone with its socket, and its place is free again.
    assert store.hgetall(ORIGINS_PREFIX + hugo["id"]) == {}
    assert refusal(app, auth={"token": token}) is None
