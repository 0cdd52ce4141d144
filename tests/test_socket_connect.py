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


def test_events_see_the_connected_user_until_sessions_end(app, client):
    from flask_socketio import SocketIO  # noqa: F401

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
