"""Uploads and attachments (docs/MEDIA.md) on both storage backends: the local directory
and S3, the latter against moto's standalone S3 server on a loopback port, with its
presigned URLs fetched over plain HTTP. Round trips through REST, history, join_room
catch-up and live events; who may download; image safety; limits; deletion and sweep."""
from __future__ import annotations

import io
import json
import struct
import uuid
import zlib
from pathlib import Path

import boto3
import pytest
import requests
from bson import ObjectId
from PIL import Image

from tests.helpers import DEFAULT_PASSWORD, Person, events, run_jobs
from utils import storage as backends
from utils.db import get_db
from utils.embedded_db import free_port

BUCKET = "roundtable-test"
S3_KEYS = {"S3_ACCESS_KEY_ID": "testing", "S3_SECRET_ACCESS_KEY": "testing",
           "S3_REGION": "us-east-1"}


@pytest.fixture(scope="session")
def moto_s3():
    """moto's S3 server, once per test process, with one private bucket."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="testing",
                 aws_secret_access_key="testing", region_name="us-east-1"
                 ).create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


@pytest.fixture(params=["local", "s3"])
def backend(request, app, tmp_path):
    """The shared app on one storage backend for this test (a fresh directory, or a
    fresh prefix of the bucket); the app's own backend is put back afterwards."""
    if request.param == "local":
        settings = {"STORAGE_BACKEND": "local", "UPLOAD_DIR": str(tmp_path / "uploads")}
    else:
        endpoint = request.getfixturevalue("moto_s3")
        settings = {"STORAGE_BACKEND": "s3", "S3_BUCKET": BUCKET, "S3_ENDPOINT_URL": endpoint,
                    "S3_PREFIX": f"t-{uuid.uuid4().hex[:8]}", **S3_KEYS}
    saved = app.extensions[backends.EXTENSION]
    app.config.update(settings)
    app.extensions[backends.EXTENSION] = backends.make_storage(app.config)
    yield request.param
    app.extensions[backends.EXTENSION] = saved


class Uploader(Person):
    """A person who uploads and downloads."""

    def fetch(self, url):
        """The bytes of a download and its final answer (following S3's redirect with
        plain HTTP, as a browser would)."""
        response = self.client.get(url)
        if response.status_code == 302:
            assert response.headers["Cache-Control"] == "private, no-store"
            direct = requests.get(response.headers["Location"], timeout=10)
            assert direct.status_code == 200, direct.text
            return direct.content, direct.headers
        assert response.status_code == 200, response.get_json()
        return response.get_data(), response.headers


@pytest.fixture
def trio(app):
    return Uploader(app, "alice"), Uploader(app, "bob"), Uploader(app, "carol")


def jpeg_with_gps(size=(400, 300)) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # Make
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    output = io.BytesIO()
    image.save(output, format="JPEG", exif=exif)
    data = output.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)  # the GPS block is in
    return data


def png(size=(10, 10), colour=(0, 128, 255)) -> bytes:
    output = io.BytesIO()
    Image.new("RGB", size, colour).save(output, format="PNG")
    return output.getvalue()


def stored_object(app, upload_id: str, field: str = "key") -> bytes | None:
    with app.app_context():
        upload = get_db().uploads.find_one({"_id": ObjectId(upload_id)})
        return backends.get_storage().read(upload[field]) if upload and upload.get(field) \
            else None


def no_exif(data: bytes) -> bool:
    image = Image.open(io.BytesIO(data))
    return not image.getexif() and b"Exif" not in data and b"SpyCam" not in data


def not_found_like_missing(person, url, upload_id):
    refused = person.client.get(url)
    missing = person.client.get(url.replace(upload_id, str(ObjectId())))
    assert refused.status_code == missing.status_code == 404
    assert refused.get_json() == missing.get_json()
    assert "Location" not in refused.headers


# Round trips

def test_message_attachment_round_trip(trio, backend, app):
    alice, bob, carol = trio
    room_id = alice.post("/api/messages/direct", {"user_id": bob.id}).get_json()["id"]
    uploaded = alice.upload(jpeg_with_gps(), "holiday.jpg")
    assert uploaded.status_code == 201, uploaded.get_json()
    item = uploaded.get_json()
    assert item["name"] == "holiday.jpg" and item["content_type"] == "image/jpeg"
    assert (item["width"], item["height"]) == (400, 300)
    assert item["url"] == f"/api/uploads/{item['id']}"
    assert item["thumbnail_url"] == f"/api/uploads/{item['id']}/thumbnail"
    assert item["color"].startswith("#") and item["size"] > 0
    # The stored bytes are a re-encoded JPEG: no EXIF, no GPS.
    assert no_exif(stored_object(app, item["id"]))

    bob_socket = bob.socket()
    sent = alice.post(f"/api/messages/rooms/{room_id}/messages",
                      {"body": "", "client_id": "c1", "attachments": [item["id"]]})
    assert sent.status_code == 201, sent.get_json()
    assert sent.get_json()["attachments"] == [item]
    live = events(bob_socket, "message")
    assert [m["attachments"] for m in live] == [[item]]
    history = bob.client.get(f"/api/messages/rooms/{room_id}/messages").get_json()
    assert history["items"][0]["attachments"] == [item]
    caught_up = bob_socket.emit("join_room", {"room_id": room_id}, callback=True)
    assert caught_up["data"]["messages"][0]["attachments"] == [item]

    data, headers = bob.fetch(item["url"])
    assert no_exif(data) and Image.open(io.BytesIO(data)).size == (400, 300)
    assert headers["Content-Disposition"].startswith("inline")
    thumb, _ = bob.fetch(item["thumbnail_url"])
    assert max(Image.open(io.BytesIO(thumb)).size) == 320
    for url in (item["url"], item["thumbnail_url"]):
        not_found_like_missing(carol, url, item["id"])

    # Deleting the message: the file stops being served at once, the objects go.
    assert alice.client.delete(f"/api/messages/{sent.get_json()['id']}",
                               headers=alice.headers).status_code == 200
    assert bob.client.get(item["url"]).status_code == 404
    assert stored_object(app, item["id"]) is not None
    run_jobs(app)
    with app.app_context():
        assert get_db().uploads.count_documents({}) == 0
        assert not any(backends.get_storage().exists(k) for k in _keys_in(app))


def _keys_in(app):
    storage = backends.get_storage()
    if isinstance(storage, backends.LocalStorage):
        return [str(p.relative_to(storage.root)) for p in storage.root.rglob("*")
                if p.is_file()]
    listed = storage.client.list_objects_v2(Bucket=storage.bucket, Prefix=storage.prefix)
    return [o["Key"][len(storage.prefix):] for o in listed.get("Contents", [])]


def test_socket_sends_attach_in_every_room_kind(trio, app):
    alice, bob, carol = trio
    topic = alice.post("/api/topics", {"title": "Pictures"}).get_json()
    rooms = {
        "direct": alice.post("/api/messages/direct", {"user_id": bob.id}).get_json()["id"],
        "group": alice.post("/api/messages/groups", {"title": "g", "member_ids": [bob.id]}
                            ).get_json()["id"],
        "topic": alice.post(f"/api/topics/{topic['id']}/rooms", {"name": "pics"}
                            ).get_json()["id"],
    }
    sc = alice.socket()
    for kind, room_id in rooms.items():
        item = alice.upload(png(), f"{kind}.png").get_json()
        ack = sc.emit("send_message", {"room_id": room_id, "body": kind, "client_id": kind,
                                       "attachments": [item["id"]]}, callback=True)
        assert ack["ok"], ack
        assert ack["data"]["attachments"] == [item]
        # A resend with the same client_id gets the stored message, and the upload
        # stays attached to it (not released by the resend's failed claim).
        again = sc.emit("send_message", {"room_id": room_id, "body": kind, "client_id": kind,
                                         "attachments": [item["id"]]}, callback=True)
        assert again["data"]["id"] == ack["data"]["id"]
        assert bob.client.get(item["url"]).status_code == 200
    # The topic is public: anyone signed in reads its chat, so its file too; the
    # direct and group files are for their members only.
    assert carol.client.get(f"/api/uploads/{_attachment_ids(app, rooms['topic'])[0]}"
                            ).status_code == 200
    for kind in ("direct", "group"):
        upload_id = _attachment_ids(app, rooms[kind])[0]
        not_found_like_missing(carol, f"/api/uploads/{upload_id}", upload_id)


def _attachment_ids(app, room_id):
    with app.app_context():
        return [str(a["id"]) for m in get_db().messages.find({"room_id": ObjectId(room_id)})
                for a in m.get("attachments", [])]


def test_post_and_comment_attachments(trio, backend, app):
    alice, bob, carol = trio
    topic = alice.post("/api/topics", {"title": "Private pictures",
                                       "visibility": "private"}).get_json()
    alice.post(f"/api/topics/{topic['id']}/invitations", {"user_id": bob.id})
    bob.post(f"/api/topics/{topic['id']}/invitations/accept")
    first, second = (alice.upload(png((500, 400)), "a.png").get_json(),
                     bob.upload(b"plain words\n", "notes.txt").get_json())
    assert second["content_type"] == "text/plain" and "width" not in second
    assert "thumbnail_url" not in second
    post = alice.post("/api/posts", {"topic_id": topic["id"], "title": "Look",
                                     "attachments": [first["id"]]})
    assert post.status_code == 201 and post.get_json()["attachments"] == [first]
    post_id = post.get_json()["id"]
    watcher = alice.socket()
    assert watcher.emit("join_post", {"post_id": post_id}, callback=True)["ok"]
    comment = bob.post(f"/api/posts/{post_id}/comments",
                       {"body": "notes", "attachments": [second["id"]]})
    assert comment.status_code == 201 and comment.get_json()["attachments"] == [second]
    assert [c["attachments"] for c in events(watcher, "new_comment")] == [[second]]
    assert bob.client.get(f"/api/posts/{post_id}").get_json()["attachments"] == [first]
    listed = bob.client.get(f"/api/posts/{post_id}/comments").get_json()["items"]
    assert listed[0]["attachments"] == [second]

    data, headers = bob.fetch(second["url"])
    assert data == b"plain words\n"
    assert headers["Content-Disposition"].startswith("attachment")
    assert alice.fetch(first["url"])[0][:8] == b"\x89PNG\r\n\x1a\n"
    for item in (first, second):
        not_found_like_missing(carol, item["url"], item["id"])

    assert bob.client.delete(f"/api/comments/{comment.get_json()['id']}",
                             headers=bob.headers).status_code == 204
    assert alice.client.delete(f"/api/posts/{post_id}", headers=alice.headers
                               ).status_code == 204
    for item in (first, second):
        assert alice.client.get(item["url"]).status_code == 404
    run_jobs(app)
    with app.app_context():
        assert _keys_in(app) == []


def test_only_my_own_unattached_uploads_can_be_attached(trio, app):
    alice, bob, _ = trio
    room_id = alice.post("/api/messages/direct", {"user_id": bob.id}).get_json()["id"]
    mine = alice.upload(png()).get_json()
    theirs = bob.upload(png()).get_json()
    stolen = alice.post(f"/api/messages/rooms/{room_id}/messages",
                        {"body": "x", "client_id": "s", "attachments": [mine["id"],
                                                                        theirs["id"]]})
    assert stolen.status_code == 404
    assert stolen.get_json()["error"]["code"] == "not_found"
    # Nothing was sent, and my own upload was not left claimed by the refused send.
    assert alice.client.get(f"/api/messages/rooms/{room_id}/messages").get_json()["items"] == []
    # Bob cannot read my unattached upload (only its uploader can).
    not_found_like_missing(bob, mine["url"], mine["id"])
    assert alice.client.get(mine["url"]).status_code == 200
    sent = alice.post(f"/api/messages/rooms/{room_id}/messages",
                      {"body": "x", "client_id": "ok", "attachments": [mine["id"]]})
    assert sent.status_code == 201
    again = alice.post(f"/api/messages/rooms/{room_id}/messages",
                       {"body": "y", "client_id": "other", "attachments": [mine["id"]]})
    assert again.status_code == 404  # attached once only
    app.config["UPLOAD_MAX_ATTACHMENTS"] = 1
    many = alice.post(f"/api/messages/rooms/{room_id}/messages",
                      {"body": "z", "client_id": "many",
                       "attachments": [alice.upload(png()).get_json()["id"] for _ in range(2)]})
    assert many.status_code == 400 and many.get_json()["error"]["code"] == "validation_error"
    empty = alice.post(f"/api/messages/rooms/{room_id}/messages",
                       {"body": " ", "client_id": "empty"})
    assert empty.get_json()["error"]["code"] == "validation_error"


# Image safety and limits

def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels (a decompression bomb)."""
    data = bytearray(png((1, 1)))
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


def test_decompression_bomb_and_too_many_pixels_are_refused(trio, app):
    alice = trio[0]
    bomb = alice.upload(_png_claiming(30000, 30000), "bomb.png")
    assert bomb.status_code == 400, bomb.get_json()
    assert bomb.get_json()["error"]["code"] == "validation_error"
    app.config["UPLOAD_IMAGE_MAX_PIXELS"] = 50 * 50
    wide = alice.upload(png((60, 60)), "wide.png")
    assert wide.status_code == 400 and "pixels" in wide.get_json()["error"]["message"]
    with app.app_context():
        assert get_db().uploads.count_documents({}) == 0


def test_bytes_decide_the_type(trio, app):
    alice = trio[0]
    html = b"<!DOCTYPE html><html><script>alert(1)</script></html>"
    disguised = alice.upload(html, "cat.jpg")
    assert disguised.status_code == 415
    assert disguised.get_json()["error"]["code"] == "unsupported_media_type"
    assert alice.upload(b"\x7fELF\x02\x01\x01" + b"\x00" * 64, "run.bin").status_code == 415
    assert alice.upload(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10, "broken.png"
                        ).get_json()["error"]["code"] == "validation_error"
    # A PNG named .jpg claims another type: refused too (test_the_name_must_claim_...).
    assert alice.upload(png(), "really.jpg").status_code == 415


@pytest.mark.parametrize("backend", ["local", "s3"], indirect=True)
def test_svg_and_html_are_never_served_inline(trio, backend, app):
    alice = trio[0]
    app.config["UPLOAD_ALLOWED_TYPES"] = [*app.config["UPLOAD_ALLOWED_TYPES"],
                                          "image/svg+xml", "text/html"]
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    for data, name in ((svg, "logo.svg"), (b"<html><body>hi</body></html>", "page.html")):
        item = alice.upload(data, name).get_json()
        assert item["content_type"] in ("image/svg+xml", "text/html")
        response = alice.client.get(item["url"])
        if backend == "local":
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert "sandbox" in response.headers["Content-Security-Policy"]
        body, headers = alice.fetch(item["url"])
        assert body == data
        assert headers["Content-Disposition"].startswith("attachment")
        assert headers["Content-Type"] == "application/octet-stream"


def test_quota_and_file_size_limits(trio, app, clock):
    alice = trio[0]
    app.config["UPLOAD_QUOTA_BYTES_PER_DAY"] = 2000
    assert alice.upload(b"a" * 1500, "one.txt").status_code == 201
    over = alice.upload(b"b" * 600, "two.txt")
    assert over.status_code == 413
    assert over.get_json()["error"]["code"] == "quota_exceeded"
    clock.advance(hours=25)
    assert alice.upload(b"b" * 600, "two.txt").status_code == 201
    # This route's body limit follows UPLOAD_MAX_BYTES, not MAX_CONTENT_LENGTH.
    app.config["UPLOAD_QUOTA_BYTES_PER_DAY"] = 10**9
    app.config["MAX_CONTENT_LENGTH"] = 50_000
    assert alice.upload(b"e" * 100_000, "long.txt").status_code == 201
    assert alice.post("/api/uploads/presign", {"name": "x" * 60_000, "size": 1}
                      ).status_code == 413
    app.config["UPLOAD_MAX_BYTES"] = 1000
    big = alice.upload(b"c" * 1001, "big.txt")
    assert big.status_code == 413 and big.get_json()["error"]["code"] == "payload_too_large"
    # A body far past the limit is refused before the form is read.
    huge = alice.upload(b"d" * 200_000, "huge.txt")
    assert huge.status_code == 413 and huge.get_json()["error"]["code"] == "payload_too_large"


def test_sweep_removes_old_unattached_uploads(trio, backend, app, clock):
    alice, bob, _ = trio
    room_id = alice.post("/api/messages/direct", {"user_id": bob.id}).get_json()["id"]
    kept = alice.upload(png(), "kept.png").get_json()
    alice.post(f"/api/messages/rooms/{room_id}/messages",
               {"body": "k", "client_id": "k", "attachments": [kept["id"]]})
    clock.advance(hours=23)
    young = alice.upload(png(), "young.png").get_json()
    old = alice.upload(png(), "old.png").get_json()
    with app.app_context():
        get_db().uploads.update_one({"_id": ObjectId(old["id"])},
                                    {"$set": {"created_at": get_db().uploads.find_one(
                                        {"_id": ObjectId(kept["id"])})["created_at"]}})
    clock.advance(hours=2)
    result = app.test_cli_runner().invoke(args=["uploads", "sweep"])
    assert result.exit_code == 0 and "Removed 1 uploads" in result.output, result.output
    assert alice.client.get(old["url"]).status_code == 404
    assert stored_object(app, old["id"]) is None
    for item in (kept, young):
        assert alice.client.get(item["url"]).status_code in (200, 302)
    clock.advance(hours=23)
    from services.media import attachments

    with app.app_context():
        assert attachments.sweep_uploads() == 1  # the periodic job: `young` now
        assert len(_keys_in(app)) == 1  # only the attached file remains


@pytest.mark.parametrize("name, shown", [
    ("../../etc/passwd", "passwd"),
    # (the multipart client drops backslashes itself; whatever arrives has no path)
    ("..\\..\\windows\\win.ini", None),
    ("a" * 300 + ".txt", "a" * 251 + ".txt"),
    ("r\u00e9sum\u00e9 \u65e5\u672c\u8a9e.txt", "r\u00e9sum\u00e9 \u65e5\u672c\u8a9e.txt"),
    ("tab\there\x1b[31m\u202e.txt", "tabhere[31m.txt"),
    ("..", "file"),
])
def test_adversarial_filenames(trio, app, name, shown):
    alice = trio[0]
    item = alice.upload(b"words\n", name).get_json()
    assert item["name"] == shown or shown is None
    assert not {"/", "\\", "\r", "\n"} & set(item["name"]) and len(item["name"]) <= 255
    response = alice.client.get(item["url"])
    assert response.status_code == 200 and response.get_data() == b"words\n"
    disposition = response.headers["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition and "/" not in disposition
    with app.app_context():
        stored = get_db().uploads.find_one({"_id": ObjectId(item["id"])})
        storage = backends.get_storage()
        path = storage.path_for(stored["key"]).resolve()
        assert path.is_relative_to(Path(storage.root).resolve())
        assert backends.KEY_PATTERN.match(stored["key"])


def test_local_backend_hands_downloads_to_nginx_when_asked(trio, app):
    alice = trio[0]
    app.config["STORAGE_LOCAL_ACCEL_PREFIX"] = "/_uploads/"
    saved = app.extensions[backends.EXTENSION]
    app.extensions[backends.EXTENSION] = backends.make_storage(app.config)
    try:
        item = alice.upload(png(), "p.png").get_json()
        response = alice.client.get(item["url"])
        with app.app_context():
            key = get_db().uploads.find_one({"_id": ObjectId(item["id"])})["key"]
        assert response.headers["X-Accel-Redirect"] == f"/_uploads/{key}"
        assert response.get_data() == b"" and response.mimetype == "image/png"
        presign = alice.post("/api/uploads/presign", {"name": "big.bin", "size": 10})
        assert presign.status_code == 400
        assert "local storage backend" in presign.get_json()["error"]["message"]
    finally:
        app.extensions[backends.EXTENSION] = saved


# Presigned uploads straight to S3

@pytest.mark.parametrize("backend", ["s3"], indirect=True)
def test_presigned_upload_is_checked_before_use(trio, backend, app):
    alice, bob, carol = trio
    room_id = alice.post("/api/messages/direct", {"user_id": bob.id}).get_json()["id"]
    data = jpeg_with_gps((800, 600))
    answer = alice.post("/api/uploads/presign", {"name": "big.jpg", "size": len(data)})
    assert answer.status_code == 201, answer.get_json()
    form = answer.get_json()
    upload_id = form["upload_id"]
    # Not usable (nor visible to anyone else) before it is confirmed.
    not_found_like_missing(carol, f"/api/uploads/{upload_id}", upload_id)
    assert carol.post(f"/api/uploads/{upload_id}/complete").status_code == 404
    early = alice.post(f"/api/uploads/{upload_id}/complete")
    assert early.status_code == 400
    sent = requests.post(form["url"], data=form["fields"],
                         files={"file": ("big.jpg", data)}, timeout=10)
    assert sent.status_code in (200, 201, 204), sent.text
    done = alice.post(f"/api/uploads/{upload_id}/complete")
    assert done.status_code == 200, done.get_json()
    item = done.get_json()
    assert item["id"] == upload_id and (item["width"], item["height"]) == (800, 600)
    assert no_exif(stored_object(app, upload_id))
    assert carol.post(f"/api/uploads/{upload_id}/complete").status_code == 404
    alice.post(f"/api/messages/rooms/{room_id}/messages",
               {"body": "big", "client_id": "big", "attachments": [upload_id]})
    body, _ = bob.fetch(item["url"])
    assert no_exif(body)
    not_found_like_missing(carol, f"/api/uploads/{upload_id}", upload_id)
    with app.app_context():
        assert len(_keys_in(app)) == 2  # the checked copy and its thumbnail, not the raw one


@pytest.mark.parametrize("backend", ["s3"], indirect=True)
def test_presigned_upload_bigger_than_announced_is_refused(trio, backend, app):
    alice = trio[0]
    form = alice.post("/api/uploads/presign", {"name": "f.txt", "size": 10}).get_json()
    # Whether or not the store enforces the form's length range, the server checks.
    requests.post(form["url"], data=form["fields"], files={"file": ("f.txt", b"x" * 50)},
                  timeout=10)
    refused = alice.post(f"/api/uploads/{form['upload_id']}/complete")
    assert refused.status_code == 413, refused.get_json()
    # Refused for good: not retried, never served, and the raw object is gone.
    assert alice.post(f"/api/uploads/{form['upload_id']}/complete").status_code == 404
    assert alice.client.get(f"/api/uploads/{form['upload_id']}").status_code == 404
    with app.app_context():
        assert _keys_in(app) == []
    app.config["UPLOAD_DIRECT_MAX_BYTES"] = 100
    too_big = alice.post("/api/uploads/presign", {"name": "g.txt", "size": 101})
    assert too_big.status_code == 413


@pytest.mark.parametrize("backend", ["s3"], indirect=True)
def test_sweep_removes_presigned_uploads_never_confirmed(trio, backend, app, clock):
    alice = trio[0]
    form = alice.post("/api/uploads/presign", {"name": "f.txt", "size": 5}).get_json()
    requests.post(form["url"], data=form["fields"], files={"file": ("f.txt", b"words")},
                  timeout=10)
    with app.app_context():
        assert len(_keys_in(app)) == 1
    clock.advance(hours=25)
    assert "Removed 1 uploads" in app.test_cli_runner().invoke(args=["uploads", "sweep"]).output
    with app.app_context():
        assert _keys_in(app) == [] and get_db().uploads.count_documents({}) == 0


@pytest.mark.parametrize("backend", ["s3"], indirect=True)
def test_avatars_use_the_same_storage(trio, backend, app):
    alice = trio[0]
    response = alice.client.put("/api/users/me/avatar", headers=alice.headers,
                                data={"file": (io.BytesIO(png((300, 300))), "me.png")},
                                content_type="multipart/form-data")
    assert response.status_code == 200
    body, headers = alice.fetch(response.get_json()["avatar_url"])
    assert Image.open(io.BytesIO(body)).size == (256, 256)
    assert headers["Content-Type"] == "image/png"


def test_a_gif_from_the_provider_is_sent_as_an_attachment(trio, app):
    """A GIF picked from GET /api/gifs/search travels as `gif` in a send: stored with the
    message as a `type: "gif"` attachment pointing at the provider (nothing downloaded),
    in the answer, the live event and history; a URL off the provider's hosts is refused
    and stores nothing."""
    alice, bob, _carol = trio
    room_id = alice.post("/api/messages/direct", {"user_id": bob.id}).get_json()["id"]
    picked = alice.client.get("/api/gifs/search?q=cat&limit=1").get_json()["items"][0]
    gif = {"url": picked["full"]["url"], "width": picked["full"]["width"],
           "height": picked["full"]["height"], "thumbnail_url": picked["preview"]["url"]}
    bob_socket = bob.socket()
    sent = alice.post(f"/api/messages/rooms/{room_id}/messages",
                      {"body": "", "client_id": "g1", "gif": gif})
    assert sent.status_code == 201, sent.get_json()
    attachment, = sent.get_json()["attachments"]
    assert attachment["type"] == "gif" and attachment["provider"] == "giphy"
    assert {k: attachment[k] for k in gif} == gif
    assert attachment["content_type"] == "image/gif"
    assert [m["attachments"] for m in events(bob_socket, "message")] == [[attachment]]
    history = bob.client.get(f"/api/messages/rooms/{room_id}/messages").get_json()
    assert history["items"][0]["attachments"] == [attachment]
    # Socket sends take it too; an upload and a GIF share one message.
    sc = alice.socket()
    upload = alice.upload(png(), "a.png").get_json()
    ack = sc.emit("send_message", {"room_id": room_id, "body": "both", "client_id": "g2",
                                   "attachments": [upload["id"]], "gif": gif}, callback=True)
    assert ack["ok"], ack
    assert [a["type"] for a in ack["data"]["attachments"]] == ["file", "gif"]

    for bad in ("https://evil.example/cat.gif", "http://media0.giphy.com/media/x/giphy.gif"):
        refused = alice.post(f"/api/messages/rooms/{room_id}/messages",
                             {"body": "", "client_id": f"bad-{bad}"[:64], "gif": {"url": bad}})
        assert refused.status_code == 400
        assert refused.get_json()["error"]["code"] == "validation_error"
    history = bob.client.get(f"/api/messages/rooms/{room_id}/messages").get_json()
    assert len(history["items"]) == 2


def test_erasing_an_account_removes_its_files_and_their_names(trio, backend, app):
    alice, bob, _ = trio
    room_id = alice.post("/api/messages/direct", {"user_id": bob.id}).get_json()["id"]
    topic = alice.post("/api/topics/", {"title": "Albums"}).get_json()
    in_chat, in_post, never_used = (alice.upload(png(), f"alice-{n}.png").get_json()["id"]
                                    for n in ("chat", "post", "spare"))
    assert alice.post(f"/api/messages/rooms/{room_id}/messages",
                      {"body": "look", "client_id": "c1",
                       "attachments": [in_chat]}).status_code == 201
    post = alice.post("/api/posts/", {"topic_id": topic["id"], "title": "Trip",
                                      "body": "photos", "attachments": [in_post]})
    assert post.status_code == 201, post.get_json()
    bobs = bob.upload(png(), "bob.png").get_json()["id"]
    with app.app_context():
        alices_keys = [doc[field] for doc in get_db().uploads.find({"owner_id":
                                                                    ObjectId(alice.id)})
                       for field in ("key", "thumb_key") if doc.get(field)]
    assert len(alices_keys) >= 3

    gone = alice.client.delete("/api/users/me", headers=alice.headers,
                               json={"password": DEFAULT_PASSWORD, "content": "remove"})
    assert gone.status_code == 204
    for upload_id in (in_chat, in_post, never_used):
        assert bob.client.get(f"/api/uploads/{upload_id}").status_code == 404
    run_jobs(app)
    with app.app_context():
        db = get_db()
        assert [u["_id"] for u in db.uploads.find()] == [ObjectId(bobs)]
        stored = json.dumps([list(db[name].find({}, {"_id": 0}))
                             for name in ("messages", "posts")], default=str)
    assert "alice-" not in stored  # no file name left behind either
    assert stored_object(app, bobs) is not None
    with app.app_context():
        assert not any(backends.get_storage().exists(key) for key in alices_keys)


# Issue 25: animations, metadata, parallel quota, names and types, presigned lifetimes

def animated_gif(frames: int, canvas=(1000, 1000), comment: bytes = b"") -> bytes:
    """`frames` frames of one pixel each on a large canvas, written byte by byte (so the
    test itself decodes nothing): a few KB that decode to frames x canvas pixels."""
    width, height = canvas
    out = bytearray(b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0)
                    + b"\x00\x00\x00\xff\xff\xff")  # a global table of two colours
    out += b"!\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"  # loop forever
    if comment:
        out += b"!\xfe" + bytes([len(comment)]) + comment + b"\x00"
    for index in range(frames):
        out += b"!\xf9\x04\x04\x02\x00\x00\x00"  # graphic control: 20 ms, keep
        x, y = index % width, (index // width) % height
        out += b"," + struct.pack("<HHHHB", x, y, 1, 1, 0)
        out += b"\x02\x02\x4c\x01\x00"  # LZW, minimum code size 2: one pixel of colour 1
    out += b";"
    return bytes(out)


def test_an_animation_over_the_frame_budget_is_refused_before_decoding(trio, app, monkeypatch):
    """The review's GIF (300 one-pixel frames on a 1000x1000 canvas, a few KB) decodes to
    300 M pixels: refused from its header, with nothing decoded and no re-encoder run."""
    from PIL import ImageFile

    from services.media import media

    alice = trio[0]
    data = animated_gif(300)
    assert len(data) < 10_000 and Image.open(io.BytesIO(data)).n_frames == 300
    decoded, reencoded = [], []
    real_load = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load",
                        lambda self: decoded.append(self) or real_load(self))
    monkeypatch.setattr(media, "reencode", lambda *args: reencoded.append(args))
    refused = alice.upload(data, "dance.gif")
    assert refused.status_code == 413, refused.get_json()
    error = refused.get_json()["error"]
    assert error["code"] == "image_too_complex"
    assert error["details"]["max_animation_pixels"] == app.config[
        "UPLOAD_MAX_ANIMATION_PIXELS"]
    assert error["details"]["animation_pixels"] == 300 * 1000 * 1000
    assert decoded == [] and reencoded == []
    with app.app_context():
        assert get_db().uploads.count_documents({}) == 0


def test_an_animation_within_the_budget_is_reencoded_in_a_bounded_process(trio, app):
    """Re-encoding runs in a child process under CPU-time and address-space limits: a
    file that needs more memory than UPLOAD_IMAGE_MEMORY_BYTES is a 413, and this
    process's peak memory does not grow with it (the old in-process re-encode held
    every frame, 4 bytes a pixel: 480 MB here)."""
    import resource

    alice = trio[0]
    small = alice.upload(animated_gif(12, (40, 30)), "small.gif")
    assert small.status_code == 201, small.get_json()
    assert (small.get_json()["width"], small.get_json()["height"]) == (40, 30)
    assert Image.open(io.BytesIO(stored_object(app, small.get_json()["id"]))).n_frames == 12

    app.config["UPLOAD_MAX_ANIMATION_PIXELS"] = 10**9
    app.config["UPLOAD_IMAGE_MEMORY_BYTES"] = 300 * 1024 * 1024
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
    heavy = alice.upload(animated_gif(120), "heavy.gif")
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert heavy.status_code == 413, heavy.get_json()
    assert heavy.get_json()["error"]["code"] == "image_too_complex"
    assert grown < 150 * 1024, f"this process grew by {grown // 1024} MB"


def _with_text_chunks(data: bytes, secret: bytes) -> bytes:
    """A PNG with tEXt, zTXt and iTXt chunks carrying `secret`, inserted before IEND."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body))
    extra = (chunk(b"tEXt", b"Comment\x00" + secret)
             + chunk(b"zTXt", b"Author\x00\x00" + zlib.compress(secret))
             + chunk(b"iTXt", b"Title\x00\x00\x00\x00\x00" + secret))
    return data[:-12] + extra + data[-12:]


def test_comments_and_text_blocks_do_not_survive_reencoding(trio, app):
    alice = trio[0]
    secret = b"SECRET-COMMENT-42"
    jpeg = io.BytesIO()
    Image.new("RGB", (50, 40), (9, 9, 9)).save(jpeg, format="JPEG", comment=secret)
    still_gif = io.BytesIO()
    Image.new("P", (20, 20), 1).save(still_gif, format="GIF", comment=secret)
    samples = {"c.jpg": jpeg.getvalue(), "still.gif": still_gif.getvalue(),
               "anim.gif": animated_gif(3, (10, 10), comment=secret),
               "text.png": _with_text_chunks(png((30, 30)), secret)}
    for name, data in samples.items():
        assert secret in data or zlib.compress(secret) in data, name
        item = alice.upload(data, name)
        assert item.status_code == 201, (name, item.get_json())
        for field in ("key", "thumb_key"):
            stored = stored_object(app, item.get_json()["id"], field)
            assert stored is None or (secret not in stored
                                      and zlib.compress(secret) not in stored), (name, field)
        assert Image.open(io.BytesIO(stored_object(app, item.get_json()["id"]))).info.get(
            "comment") is None


def test_parallel_uploads_cannot_pass_the_daily_quota(trio, app):
    """Seven uploads at once against a quota that holds five: exactly five are kept."""
    import threading

    alice = trio[0]
    app.config["UPLOAD_QUOTA_BYTES_PER_DAY"] = 5000
    start, answers = threading.Barrier(7), []

    def send(n):
        start.wait()
        answers.append(alice.upload(b"%d" % n * 1000, f"part-{n}.txt"))

    threads = [threading.Thread(target=send, args=(n,)) for n in range(7)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = sorted(answer.status_code for answer in answers)
    assert codes == [201] * 5 + [413] * 2, [a.get_json() for a in answers]
    assert {a.get_json()["error"]["code"] for a in answers if a.status_code == 413} == {
        "quota_exceeded"}
    with app.app_context():
        kept = list(get_db().uploads.find({"owner_id": ObjectId(alice.id)}))
    assert len(kept) == 5 and sum(u["size"] for u in kept) == 5000
    assert {u["state"] for u in kept} == {"ready"}
    # A refused upload gives its bytes back: a failed one does not spend the quota.
    app.config["UPLOAD_QUOTA_BYTES_PER_DAY"] = 6000
    assert alice.upload(b"\x7fELF" + b"\x00" * 996, "x.bin").status_code == 415
    assert alice.upload(b"z" * 1000, "last.txt").status_code == 201


def test_the_name_must_claim_exactly_the_sniffed_type(trio, app):
    alice = trio[0]
    zipped = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("payload.exe", b"MZ")
    cases = [(b"<p>hello</p><script>alert(1)</script>", "page.html"),  # sniffed text/plain
             (zipped.getvalue(), "invoice.pdf"), (png(), "really.jpg"),
             (b"plain words", "notes.js"), (b"plain words", "photo.svg")]
    for data, name in cases:
        refused = alice.upload(data, name)
        assert refused.status_code == 415, (name, refused.get_json())
        assert refused.get_json()["error"]["code"] == "unsupported_media_type"
    # The documented equivalents: names the sniffer cannot tell from the bytes' type.
    for data, name, kind in ((b"a,b\n1,2\n", "table.csv", "text/plain"),
                             (b"# Title\n", "README.md", "text/plain"),
                             (zipped.getvalue(), "report.docx", "application/zip")):
        accepted = alice.upload(data, name)
        assert accepted.status_code == 201, (name, accepted.get_json())
        assert accepted.get_json()["content_type"] == kind


def test_downloads_never_keep_a_name_that_would_open_as_another_type(trio, app):
    alice = trio[0]
    app.config["UPLOAD_ALLOWED_TYPES"] = [*app.config["UPLOAD_ALLOWED_TYPES"], "text/html",
                                          "image/svg+xml"]
    expected = [(b"<!doctype html><script>alert(1)</script>", "page.html", "page.html.txt"),
                (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "logo.svg", "logo.svg.txt"),
                (b"echo hi\r\n", "run.bat", "run.bat.txt"),
                (b"<script>alert(1)</script>", "app.hta", "app.hta.txt"),
                (b"words", "notes", "notes.txt"), (b"words", "notes.txt", "notes.txt"),
                (b"a,b\n", "t.csv", "t.csv")]
    for data, name, saved_as in expected:
        item = alice.upload(data, name)
        assert item.status_code == 201, (name, item.get_json())
        assert item.get_json()["name"] == name
        response = alice.client.get(item.get_json()["url"])
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("attachment") and f'filename="{saved_as}"' in disposition
        if name.endswith((".html", ".svg")):
            assert response.headers["Content-Type"] == "application/octet-stream"


@pytest.mark.parametrize("backend", ["s3"], indirect=True)
def test_presigned_downloads_live_a_minute(trio, backend, app):
    from urllib.parse import parse_qs, urlsplit

    alice = trio[0]
    item = alice.upload(png(), "p.png").get_json()
    location = alice.client.get(item["url"]).headers["Location"]
    assert parse_qs(urlsplit(location).query)["X-Amz-Expires"] == [
        str(app.config["S3_DOWNLOAD_SECONDS"])] == ["60"]
