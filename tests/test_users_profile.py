"""Profiles, avatar upload, account deletion."""
from __future__ import annotations

import io

from bson import ObjectId
from PIL import Image

from services.platform.shapes.users import avatar_url
from tests.helpers import DEFAULT_PASSWORD, csrf, register, register_and_login


def image_bytes(fmt="PNG", size=(600, 400), **save):
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(buffer, format=fmt, **save)
    return buffer.getvalue()


def upload(client, token, data, name="avatar.png"):
    return client.put("/api/users/me/avatar", headers=csrf(token),
                      data={"file": (io.BytesIO(data), name)},
                      content_type="multipart/form-data")


def test_private_and_public_views(client):
    register_and_login(client)
    me = client.get("/api/users/me").get_json()
    assert me["email"] == "alice@example.com" and me["role"] == "user"
    assert me["settings"]["allow_messages_from"] == "everyone"
    public = client.application.test_client().get("/api/users/ALICE").get_json()
    assert set(public) >= {"id", "username", "display_name", "bio", "avatar_url", "created_at"}
    assert "email" not in public and "settings" not in public and "role" not in public


def test_patch_me_changes_allowed_fields(client, db):
    _, token = register_and_login(client)
    response = client.patch("/api/users/me", headers=csrf(token), json={
        "display_name": "Alice A.", "bio": "hello",
        "settings": {"allow_messages_from": "friends", "notifications": {"email": False}}})
    assert response.status_code == 200
    stored = db.users.find_one({"username": "alice"})
    assert stored["display_name"] == "Alice A." and stored["bio"] == "hello"
    assert stored["settings"]["allow_messages_from"] == "friends"
    assert stored["settings"]["notifications"]["email"] is False
    assert stored["settings"]["notifications"]["mentions"] is True


def test_patch_me_refuses_other_fields_and_bad_values(client, db):
    _, token = register_and_login(client)
    for body in ({"role": "admin"}, {"email_verified": True}, {"bio": "x" * 501},
                 {"settings": {"allow_messages_from": "martians"}}, {"settings": {"x": 1}}):
        response = client.patch("/api/users/me", headers=csrf(token), json=body)
        assert response.status_code == 400, body
        assert response.get_json()["error"]["code"] == "validation_error"
    assert db.users.find_one({"username": "alice"})["role"] == "user"


def test_display_name_refuses_bidirectional_controls(client, db):
    # "alice\u202egnp.exe" shows as "aliceexe.png": embeddings, overrides and isolates
    # (and their pops) let a name show other text than it holds.
    _, token = register_and_login(client)
    controls = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]
    for control in controls:
        response = client.patch("/api/users/me", headers=csrf(token),
                                json={"display_name": f"alice{control}gnp.exe"})
        assert response.status_code == 400, hex(ord(control))
        error = response.get_json()["error"]
        assert error["code"] == "validation_error" and "display_name" in error["details"]
    assert db.users.find_one({"username": "alice"})["display_name"] is None
    # Right-to-left names and their marks (LRM, RLM), emoji joiners stay.
    for name in ("\u05e9\u05dc\u05d5\u05dd \u200fAlice", "\U0001f468\u200d\U0001f469"):
        response = client.patch("/api/users/me", headers=csrf(token), json={"display_name": name})
        assert response.status_code == 200, name
        assert db.users.find_one({"username": "alice"})["display_name"] == name


def test_unknown_profile_is_404(client):
    assert client.get("/api/users/nobody").status_code == 404


def test_avatar_is_reencoded_to_256_png_without_metadata(client, app):
    _, token = register_and_login(client)
    jpeg = image_bytes("JPEG", exif=b"Exif\x00\x00secret-gps")
    response = upload(client, token, jpeg, name="me.jpg")
    assert response.status_code == 200
    url = response.get_json()["avatar_url"]
    served = client.get(url)
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    image = Image.open(io.BytesIO(served.data))
    assert image.format == "PNG" and image.size == (256, 256)
    assert b"secret-gps" not in served.data
    assert client.get("/api/users/me").get_json()["avatar_url"] == url


def test_avatar_accepts_webp_and_gif(client):
    _, token = register_and_login(client)
    assert upload(client, token, image_bytes("WEBP"), "a.webp").status_code == 200
    assert upload(client, token, image_bytes("GIF"), "a.gif").status_code == 200


def test_avatar_type_is_judged_by_content_not_name(client):
    _, token = register_and_login(client)
    spoofed = upload(client, token, b"<?php system($_GET['c']); ?>" * 10, name="evil.png")
    assert spoofed.status_code in (400, 415)
    bmp = upload(client, token, image_bytes("BMP"), name="a.png")
    assert bmp.status_code == 415
    truncated = upload(client, token, image_bytes("PNG")[:60], name="a.png")
    assert truncated.status_code in (400, 415)
    me = client.get("/api/users/me").get_json()  # still the generated picture
    assert me["avatar_url"].startswith("/api/users/initials.svg?")


def test_avatar_over_2mb_is_refused(client):
    _, token = register_and_login(client)
    big = image_bytes("PNG", size=(1200, 1200))
    big += b"\x00" * (2 * 1024 * 1024 + 1 - len(big))
    assert upload(client, token, big).status_code == 413


def test_avatar_needs_a_file(client):
    _, token = register_and_login(client)
    response = client.put("/api/users/me/avatar", headers=csrf(token), data={},
                          content_type="multipart/form-data")
    assert response.status_code == 400


def test_replacing_the_avatar_deletes_the_old_file(client):
    _, token = register_and_login(client)
    first = upload(client, token, image_bytes()).get_json()["avatar_url"]
    second = upload(client, token, image_bytes()).get_json()["avatar_url"]
    assert first != second
    assert client.get(first).status_code == 404
    assert client.get("/api/files/avatars/..%2f..%2fconfig.py").status_code == 404


def test_delete_me_removes_personal_data_and_ends_sessions(client, db):
    user, token = register_and_login(client)
    other = client.application.test_client()
    register_and_login(other, "bob")
    other.post(f"/api/users/{user['id']}/friend-request",
               headers=csrf(other.get("/api/auth/csrf").get_json()["csrf_token"]))
    upload(client, token, image_bytes())
    wrong = client.delete("/api/users/me", headers=csrf(token), json={"password": "nope-nope-1"})
    assert wrong.status_code == 401
    response = client.delete("/api/users/me", headers=csrf(token),
                             json={"password": DEFAULT_PASSWORD})
    assert response.status_code == 204
    assert client.get("/api/auth/me").status_code == 401
    stored = db.users.find_one({"_id": __import__("bson").ObjectId(user["id"])})
    assert stored["deleted"] is True and "alice" not in str(stored).lower()
    assert stored["password_hash"] is None and stored["avatar_key"] is None
    assert db.friendships.count_documents({}) == 0
    assert client.get("/api/users/alice").status_code == 404
    from services.accounts.users_service import serialize_public_user

    assert serialize_public_user(stored)["username"] == "deleted user"
    # The name and address are free again.
    register(client, "alice")


def test_display_name_and_avatar_url_are_never_null(client, db):
    """Unset, `display_name` is the username and `avatar_url` a generated picture; a
    chosen name replaces both the name and the picture's initials (and so its URL),
    an uploaded picture replaces the generated one, clearing the name brings it back."""
    _user, token = register_and_login(client)
    me = client.get("/api/users/me").get_json()
    assert me["display_name"] == "alice"
    generated = "/api/users/initials.svg?"
    assert me["avatar_url"].startswith(generated)
    public = client.application.test_client().get("/api/users/alice").get_json()
    assert public["display_name"] == "alice" and public["avatar_url"] == me["avatar_url"]

    renamed = client.patch("/api/users/me", headers=csrf(token),
                           json={"display_name": "Zed Lovelace"}).get_json()
    assert renamed["display_name"] == "Zed Lovelace"
    assert renamed["avatar_url"].startswith(generated)
    assert renamed["avatar_url"] != me["avatar_url"]  # a new URL: caches follow the rename
    svg = client.get(renamed["avatar_url"])
    assert ">ZL</text>" in svg.get_data(as_text=True)

    assert upload(client, token, image_bytes()).status_code == 200
    assert client.get("/api/users/me").get_json()["avatar_url"].startswith("/api/files/")
    cleared = client.patch("/api/users/me", headers=csrf(token),
                           json={"display_name": None}).get_json()
    assert cleared["display_name"] == "alice"
    assert db.users.find_one({"username": "alice"})["display_name"] is None


def test_generated_avatar_is_a_safe_svg(client, db):
    """GET /api/users/initials.svg: the letters and colour its URL names, escaped, served
    with a CSP that forbids everything and nosniff, cacheable for good; it reads no
    account, so a registration's answer (a real account or the stand-in of a taken
    address) names a picture that answers alike; a deleted account shows "?"."""
    user, token = register_and_login(client)
    renamed = client.patch("/api/users/me", headers=csrf(token),
                           json={"display_name": "<script>alert(1)</script> & co"}).get_json()
    response = client.get(renamed["avatar_url"])
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "max-age=31536000" in response.headers["Cache-Control"]
    body = response.get_data(as_text=True)
    assert body.startswith("<svg ") and "<script" not in body and ">SC</text>" in body
    hostile = client.get("/api/users/initials.svg", query_string={"text": "<s", "color": 0})
    assert hostile.status_code == 200 and ">&lt;s</text>" in hostile.get_data(as_text=True)
    for bad in ({"text": "abc", "color": 0}, {"text": "A", "color": 99}, {"text": "A"},
                {"text": "", "color": 0}):
        refused = client.get("/api/users/initials.svg", query_string=bad)
        assert refused.status_code == 400
        assert refused.get_json()["error"]["code"] == "validation_error"

    assert client.delete("/api/users/me", headers=csrf(token),
                         json={"password": DEFAULT_PASSWORD}).status_code == 204
    with client.application.test_request_context():
        shown = avatar_url(db.users.find_one({"_id": ObjectId(user["id"])}))
    picture = client.application.test_client().get(shown)
    assert picture.status_code == 200 and ">?</text>" in picture.get_data(as_text=True)
