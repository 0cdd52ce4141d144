"""Notification mail (docs/NOTIFICATIONS.md "Mail"): a notification still unread after
NOTIFY_EMAIL_DELAY_SECONDS is mailed once (also with consumers racing), never when read in
time or when the user turned email off for its kind; digests; one-click unsubscribe links
(RFC 8058 headers, a signed token, no login)."""
from __future__ import annotations

import email
import threading
from datetime import datetime, timedelta, timezone
from email import policy
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.controller import Controller

from services.notify import notify_digest, notify_mail
from tests.helpers import Recorder, forged, read_mails, run_jobs
from tests.topic_helpers import Person, join, make_post, make_topic
from utils import clock as clock_module
from utils.embedded_db import free_port

DELAY = 60


@pytest.fixture
def app(make_app, tmp_path):
    return make_app(RATELIMIT_ENABLED=False, MAIL_BACKEND="file",
                    MAIL_FILE_DIR=str(tmp_path / "mail"), NOTIFY_EMAIL_DELAY_SECONDS=DELAY,
                    API_PUBLIC_URL="https://api.example.test")


@pytest.fixture
def people(client):
    return {name: Person(client, name) for name in ("alice", "bob", "carol")}


def sweep(app) -> int:
    with app.app_context():
        sent = notify_mail.mail_sweep()
    run_jobs(app)
    return sent


def notification_mails(app) -> list:
    return [m for m in read_mails(app.config["MAIL_FILE_DIR"]) if m["List-Unsubscribe"]]


def befriend(requester: Person, addressee: Person) -> None:
    response = requester.post(f"/api/users/{addressee.id}/friend-request")
    assert response.status_code in (200, 201), response.get_json()


def one_click_url(mail) -> str:
    header = str(mail["List-Unsubscribe"])
    return header.split(",")[0].strip().strip("<>")


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def test_an_unread_notification_is_mailed_once_after_the_delay(app, people, clock):
    alice, bob = people["alice"], people["bob"]
    run_jobs(app)  # the registration mails
    befriend(bob, alice)
    assert sweep(app) == 0  # not yet due
    clock.advance(DELAY - 5)
    assert sweep(app) == 0
    clock.advance(10)
    assert sweep(app) == 1
    [mail] = notification_mails(app)
    assert mail["To"] == "alice@example.com"
    assert mail["Subject"] == "bob sent you a friend request"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert "bob sent you a friend request" in text and "bob sent you a friend request" in html
    assert "http://localhost:5173/unsubscribe?token=" in text
    # Later sweeps find nothing more to mail.
    clock.advance(DELAY * 10)
    assert sweep(app) == 0
    assert len(notification_mails(app)) == 1


def test_a_notification_read_before_the_delay_is_not_mailed(app, people, clock):
    alice, bob = people["alice"], people["bob"]
    befriend(bob, alice)
    clock.advance(DELAY - 1)
    assert alice.post("/api/notifications/read-all").status_code == 200
    clock.advance(DELAY * 2)
    assert sweep(app) == 0
    assert notification_mails(app) == []


def test_email_turned_off_for_the_kind_sends_nothing(app, people, clock):
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    response = alice.patch("/api/notifications/settings",
                           {"kinds": {"friend_request": {"email": False}}})
    assert response.status_code == 200
    befriend(bob, alice)
    # Turned off after the notification was made: checked again when it is due.
    befriend(bob, carol)
    carol.patch("/api/notifications/settings", {"kinds": {"friend_request": {"email": False}}})
    clock.advance(DELAY + 1)
    assert sweep(app) == 0
    assert notification_mails(app) == []


def test_consumers_racing_send_one_mail(app, people, clock):
    alice, bob = people["alice"], people["bob"]
    befriend(bob, alice)
    clock.advance(DELAY + 1)
    barrier = threading.Barrier(6)
    results: list[int] = []

    def consume() -> None:
        with app.app_context():
            barrier.wait()
            results.append(notify_mail.mail_sweep())

    threads = [threading.Thread(target=consume) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results) == 1
    run_jobs(app)
    assert sweep(app) == 0  # a second consumer's later sweep
    assert [m["To"] for m in notification_mails(app)] == ["alice@example.com"]


def test_a_coalesced_notification_is_mailed_again_only_after_a_new_event(app, people, clock):
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    topic = make_topic(alice, "Gardening")
    for person in (bob, carol):
        join(person, topic["id"])
    post = make_post(alice, topic["id"], "Tomatoes")
    app.config["NOTIFY_COALESCE_SECONDS"] = 10**8  # no slot boundary within the test
    bob.post(f"/api/posts/{post['id']}/comments", {"body": "first"})
    clock.advance(DELAY + 1)
    assert sweep(app) == 1
    clock.advance(DELAY + 1)
    assert sweep(app) == 0  # no change since its mail
    carol.post(f"/api/posts/{post['id']}/comments", {"body": "second"})
    assert sweep(app) == 0  # re-surfaced, but not unseen for a full delay yet
    clock.advance(DELAY + 1)
    assert sweep(app) == 2  # alice's replies again, and bob's activity (he follows now)
    subjects = [(m["To"], m["Subject"]) for m in notification_mails(app)]
    assert subjects[0] == ("alice@example.com", "bob replied to your post \u201cTomatoes\u201d")
    assert sorted(subjects[1:]) == [
        ("alice@example.com", "2 new replies on \u201cTomatoes\u201d"),
        ("bob@example.com", "carol commented on \u201cTomatoes\u201d")]


def test_the_digest_lists_unread_activity_once_per_user(app, people, clock):
    clock.advance_to(8, 0)  # 08:00 where no time zone is set (UTC)
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    for person in (alice, carol):
        response = person.patch("/api/notifications/settings", {"digest": "daily"})
        assert response.get_json()["digest"] == "daily"
    befriend(bob, alice)
    befriend(bob, carol)
    with app.app_context():
        assert notify_digest.send_digests() == 2
        assert notify_digest.send_digests() == 0  # once per period
    run_jobs(app)
    digests = {str(m["To"]): m for m in notification_mails(app)
               if "digest" in str(m["Subject"])}
    assert sorted(digests) == ["alice@example.com", "carol@example.com"]
    text = digests["alice@example.com"].get_body(preferencelist=("plain",)).get_content()
    assert "bob sent you a friend request" in text
    assert digests["alice@example.com"]["Subject"] == \
        "Your Roundtable digest: 1 unread notification"
    # A day later only what changed since the last digest counts; nothing: no mail.
    clock.advance(hours=24)
    with app.app_context():
        assert notify_digest.send_digests() == 0
    befriend(alice, carol)  # new for carol; alice has nothing new
    with app.app_context():
        assert notify_digest.send_digests() == 0  # carol had hers for today
    clock.advance(hours=24)
    with app.app_context():
        assert notify_digest.send_digests() == 1
    run_jobs(app)
    last = [m for m in notification_mails(app) if "digest" in str(m["Subject"])][-1]
    assert last["To"] == "carol@example.com"
    assert "alice sent you a friend request" in \
        last.get_body(preferencelist=("plain",)).get_content()


def test_one_click_unsubscribe_headers_over_smtp(make_app, clock):
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        app = make_app(RATELIMIT_ENABLED=False, MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1",
                       MAIL_PORT=controller.port, MAIL_USE_TLS=False, MAIL_TIMEOUT_SECONDS=2,
                       NOTIFY_EMAIL_DELAY_SECONDS=DELAY,
                       API_PUBLIC_URL="https://api.example.test",
                       MAIL_UNSUBSCRIBE_ADDRESS="unsubscribe@example.test")
        client = app.test_client()
        alice, bob = Person(client, "alice"), Person(client, "bob")
        run_jobs(app)
        recorder.messages.clear()
        befriend(bob, alice)
        clock.advance(DELAY + 1)
        assert sweep(app) == 1
        [raw] = recorder.messages
    finally:
        controller.stop()
    mail = email.message_from_bytes(raw, policy=policy.default)
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url, mailto = [part.strip().strip("<>") for part in str(mail["List-Unsubscribe"]).split(",")]
    assert url.startswith("https://api.example.test/api/notifications/unsubscribe?token=")
    assert mailto.startswith("mailto:unsubscribe@example.test?subject=unsubscribe")
    assert mail.get_body(preferencelist=("html",)) is not None
    token = token_of(url)
    path = urlsplit(url).path + "?" + urlsplit(url).query
    # The browser's GET says what the link turns off; the mail client's POST turns it off.
    anonymous = app.test_client()
    assert anonymous.get(path).get_json() == {"kind": "friend_request", "subscribed": True}
    response = anonymous.post(path, data="List-Unsubscribe=One-Click",
                              content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"kind": "friend_request", "subscribed": False}
    kinds = alice.get("/api/notifications/settings").get_json()["kinds"]
    assert kinds["friend_request"] == {"in_app": True, "email": False, "push": False}
    assert kinds["mention"]["email"] is True  # only the kind the link names
    # Forged or altered tokens are refused, and change nothing.
    for bad in (forged(token), "forged"):
        answer = anonymous.post("/api/notifications/unsubscribe",
                                query_string={"token": bad})
        assert answer.status_code == 400
        assert answer.get_json()["error"]["message"] == "This unsubscribe link is not valid."


def test_the_digest_link_turns_the_digest_off(app, people, clock):
    clock.advance_to(8, 0, weekday=app.config["NOTIFY_DIGEST_WEEKDAY"])
    alice = people["alice"]
    alice.patch("/api/notifications/settings", {"digest": "weekly"})
    befriend(people["bob"], alice)
    with app.app_context():
        assert notify_digest.send_digests() == 1
    run_jobs(app)
    [digest] = [m for m in notification_mails(app) if "digest" in str(m["Subject"])]
    token = token_of(one_click_url(digest))
    anonymous = app.test_client()
    response = anonymous.post("/api/notifications/unsubscribe", query_string={"token": token})
    assert response.get_json() == {"kind": "digest", "subscribed": False}
    assert alice.get("/api/notifications/settings").get_json()["digest"] == "off"
    assert anonymous.get("/api/notifications/unsubscribe",
                         query_string={"token": token + "x"}).status_code == 400
    # Form bodies stay refused everywhere else (a CSRF vector).
    refused = anonymous.post("/api/auth/login", data="login=alice",
                             content_type="application/x-www-form-urlencoded")
    assert refused.status_code == 415


def _friend_request_link(app, people, clock) -> str:
    befriend(people["bob"], people["alice"])
    clock.advance(DELAY + 1)
    assert sweep(app) == 1
    return token_of(one_click_url(notification_mails(app)[-1]))


def _use(app, token: str):
    return app.test_client().post("/api/notifications/unsubscribe",
                                  query_string={"token": token})


def test_an_unsubscribe_link_expires(app, people, clock, db):
    token = _friend_request_link(app, people, clock)
    clock.advance(days=app.config["UNSUBSCRIBE_LINK_DAYS"], seconds=-DELAY)
    assert app.test_client().get("/api/notifications/unsubscribe",
                                 query_string={"token": token}).status_code == 200
    clock.advance(DELAY)
    expired = _use(app, token)
    assert expired.status_code == 400
    assert expired.get_json()["error"]["message"] == notify_mail.INVALID_LINK
    stored = db.users.find_one({"username": "alice"})["settings"]["notifications"]
    assert "friend_request" not in stored.get("kinds", {})  # nothing was turned off


def test_an_old_link_does_not_apply_again_after_re_subscribing(app, people, clock):
    alice = people["alice"]
    token = _friend_request_link(app, people, clock)
    assert _use(app, token).get_json() == {"kind": "friend_request", "subscribed": False}
    assert _use(app, token).status_code == 200  # idempotent while still unsubscribed
    assert alice.patch("/api/notifications/settings",
                       {"kinds": {"friend_request": {"email": True}}}).status_code == 200
    assert _use(app, token).status_code == 400
    kinds = alice.get("/api/notifications/settings").get_json()["kinds"]
    assert kinds["friend_request"]["email"] is True
    # Re-subscribing one kind leaves the links of the others working; the account-wide
    # email switch turned back on re-subscribes (and so voids the links of) every kind.
    other = _friend_request_link(app, {"alice": alice, "bob": people["carol"]}, clock)
    assert alice.patch("/api/notifications/settings", {"digest": "weekly"}).status_code == 200
    assert app.test_client().get("/api/notifications/unsubscribe",
                                 query_string={"token": other}).status_code == 200
    assert alice.patch("/api/users/me", {"settings": {"notifications": {"email": False}}}
                       ).status_code == 200
    assert alice.patch("/api/users/me", {"settings": {"notifications": {"email": True}}}
                       ).status_code == 200
    assert _use(app, other).status_code == 400


# Quiet hours (services/notify/quiet_hours.py): mail waits for their end, in-app does not

def test_mail_waits_for_the_end_of_quiet_hours_in_the_users_zone(app, client, clock, db):
    clock.advance_to(13, 30)  # 22:30 in Tokyo
    alice, bob = Person(client, "alice"), Person(client, "bob")
    night = {"start": "22:00", "end": "07:00"}  # 13:00-22:00 UTC
    response = alice.patch("/api/users/me", {"time_zone": "Asia/Tokyo", "quiet_hours": night})
    assert response.status_code == 200
    run_jobs(app)  # the registration mails
    befriend(bob, alice)
    # In-app arrives at once.
    assert alice.get("/api/notifications/unread-count").get_json() == {"count": 1}
    clock.advance(DELAY + 1)
    assert sweep(app) == 0
    held = db.notifications.find_one({"kind": "friend_request"})
    assert held["mail_pending"] is True
    assert held["mail_held_until"].isoformat().endswith("T22:00:00+00:00")
    clock.advance_to(21, 59)  # 06:59 in Tokyo: still quiet
    assert sweep(app) == 0
    clock.advance_to(22, 0)  # 07:00 in Tokyo
    assert sweep(app) == 1
    assert [m["To"] for m in notification_mails(app)] == ["alice@example.com"]
    assert sweep(app) == 0


def test_moderation_mail_does_not_wait_for_quiet_hours(app, client, clock):
    clock.advance_to(3, 0)
    alice, mod = Person(client, "alice"), Person(client, "mod")
    mod.set_role("moderator")
    alice.patch("/api/users/me", {"quiet_hours": {"start": "01:00", "end": "05:00"}})
    run_jobs(app)
    response = mod.post(f"/api/admin/users/{alice.id}/warn", {"reason": "Be kind."})
    assert response.status_code == 201, response.get_json()
    clock.advance(DELAY + 1)
    assert sweep(app) == 1
    assert [m["To"] for m in notification_mails(app)] == ["alice@example.com"]


def test_changing_quiet_hours_frees_mail_held_for_the_old_window(app, client, clock):
    clock.advance_to(3, 0)
    alice, bob = Person(client, "alice"), Person(client, "bob")
    alice.patch("/api/users/me", {"quiet_hours": {"start": "01:00", "end": "05:00"}})
    run_jobs(app)
    befriend(bob, alice)
    clock.advance(DELAY + 1)
    assert sweep(app) == 0
    assert alice.patch("/api/users/me", {"quiet_hours": None}).status_code == 200
    assert sweep(app) == 1


# Digests at 08:00 in each user's own time zone (services/notify/notify_digest.py)

def hourly_runs(app, db, hours: int) -> list[tuple[str, str, str]]:
    """Run the hourly digest job at each of the next `hours` full UTC hours; the digests
    claimed, as (UTC hour, username, local date marked sent)."""
    seen = {u["username"]: u.get("notify_digest_day") for u in db.users.find()}
    claimed = []
    start = clock_module.now().replace(minute=0, second=0, microsecond=0)
    for step in range(1, hours + 1):
        moment = start + timedelta(hours=step)
        clock_module.advance((moment - clock_module.now()).total_seconds())
        with app.app_context():
            notify_digest.send_digests_hourly()
        for user in db.users.find({"notify_digest_day": {"$exists": True}}):
            if user["notify_digest_day"] != seen.get(user["username"]):
                seen[user["username"]] = user["notify_digest_day"]
                claimed.append((moment.strftime("%d %H:%M"), user["username"],
                                user["notify_digest_day"]))
    return claimed


def test_digests_go_out_at_08_00_local_across_zones_and_a_dst_change(app, client, clock, db):
    # 8-11 March 2030: Los Angeles moves from UTC-8 to UTC-7 on the 10th at 02:00.
    clock.move_to(datetime(2030, 3, 8, 11, 30, tzinfo=timezone.utc))
    bob = Person(client, "bob")
    settings = {"tokyo": ("Asia/Tokyo", "daily", None),
                "angeleno": ("America/Los_Angeles", "daily", None),
                "nowhere": (None, "daily", None),  # no zone: UTC
                "weekly": ("Asia/Tokyo", "weekly", None),  # Monday 08:00 in Tokyo
                "late": (None, "daily", {"start": "06:00", "end": "09:30"})}
    for name, (zone, every, quiet) in settings.items():
        person = Person(client, name)
        person.patch("/api/users/me", {"time_zone": zone, "quiet_hours": quiet})
        person.patch("/api/notifications/settings", {"digest": every})
        befriend(bob, person)
    assert clock_module.now() < datetime(2030, 3, 8, 12, tzinfo=timezone.utc)
    assert hourly_runs(app, db, 72) == [
        ("08 16:00", "angeleno", "2030-03-08"),  # 08:00 PST
        ("08 23:00", "tokyo", "2030-03-09"),
        ("09 08:00", "nowhere", "2030-03-09"),
        ("09 10:00", "late", "2030-03-09"),      # after quiet hours that cover 08:00
        ("09 16:00", "angeleno", "2030-03-09"),
        ("09 23:00", "tokyo", "2030-03-10"),
        ("10 08:00", "nowhere", "2030-03-10"),
        ("10 10:00", "late", "2030-03-10"),
        ("10 15:00", "angeleno", "2030-03-10"),  # 08:00 PDT
        ("10 23:00", "tokyo", "2030-03-11"),
        ("10 23:00", "weekly", "2030-03-11"),
        ("11 08:00", "nowhere", "2030-03-11"),
        ("11 10:00", "late", "2030-03-11"),
    ]
    # Each user's first digest listed bob's request; later ones had nothing new to say.
    run_jobs(app)
    digests = sorted(str(m["To"]) for m in notification_mails(app)
                     if "digest" in str(m["Subject"]))
    assert digests == [f"{name}@example.com" for name in sorted(settings)]


def test_a_digest_goes_out_once_per_local_date(app, client, clock, db):
    clock.move_to(datetime(2030, 3, 8, 22, 30, tzinfo=timezone.utc))
    alice = Person(client, "alice")
    alice.patch("/api/users/me", {"time_zone": "Asia/Tokyo"})
    alice.patch("/api/notifications/settings", {"digest": "daily"})
    befriend(Person(client, "bob"), alice)
    clock.move_to(datetime(2030, 3, 8, 23, 0, tzinfo=timezone.utc))  # 08:00 in Tokyo
    with app.app_context():
        assert notify_digest.send_digests_hourly() == 1
        assert notify_digest.send_digests_hourly() == 0  # the job run twice
    assert db.users.find_one({"username": "alice"})["notify_digest_day"] == "2030-03-09"
    # Moving to Los Angeles, where the 9th's 08:00 is still ahead, does not send the 9th
    # again: the next digest is the 10th's.
    alice.patch("/api/users/me", {"time_zone": "America/Los_Angeles"})
    assert hourly_runs(app, db, 48) == [("10 15:00", "alice", "2030-03-10")]
