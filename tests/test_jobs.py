"""The job queue (utils/jobs.py): retries with backoff, the dead-letter list and where it
shows (`flask jobs failed`, GET /api/admin/stats), periodic jobs, the SQLite queue and
the in-process consumer of `python app.py`."""
from __future__ import annotations

import datetime
import time

import pytest
from huey import SqliteHuey

from tests.helpers import fresh_address, read_mails, register, run_jobs
from tests.http_stub import Stall
from tests.topic_helpers import Person
from utils import clock as clock_module
from utils import jobs

ATTEMPTS: list[tuple[str, float]] = []


@jobs.task(retries=3, retry_delay=0.05)
def flaky(key: str, failures: int) -> None:
    ATTEMPTS.append((key, time.monotonic()))
    if sum(1 for k, _ in ATTEMPTS if k == key) <= failures:
        raise RuntimeError(f"{key} failed")


@jobs.task(retries=1, retry_delay=0.01)
def hopeless(label: str) -> None:
    raise ValueError(f"cannot {label}")


@jobs.periodic(jobs.crontab(minute="30", hour="7"))
def morning_sweep() -> None:
    ATTEMPTS.append(("sweep", time.monotonic()))


@jobs.task()
def unlisted() -> None:
    """Defined, but given to no app."""


def knowing_test_jobs(app):
    """The app with this module's jobs registered too (the factory registers only
    registrations.JOBS)."""
    jobs.register(app, flaky, hopeless, morning_sweep)
    return app


def test_a_job_missing_from_the_app_list_is_refused_when_enqueued(app):
    """Defining (importing) a job registers nothing: a job the app was not given is
    refused at once, not queued for consumers that would not know it."""
    with app.app_context():
        try:
            unlisted.enqueue()
        except LookupError as refused:
            assert "tests.test_jobs.unlisted" in str(refused)
            assert "registrations.JOBS" in str(refused)
        else:
            raise AssertionError("an unregistered job was queued")
    assert jobs.queue_depth(app)["pending"] == 0
    assert "tests.test_jobs.unlisted" not in jobs.registered(app)


def test_a_failing_job_is_retried_with_growing_delays_until_it_succeeds(app):
    knowing_test_jobs(app)
    ATTEMPTS.clear()
    with app.app_context():
        flaky.enqueue("a", 2)
    assert run_jobs(app) == 3
    times = [at for key, at in ATTEMPTS if key == "a"]
    assert len(times) == 3
    # 0.05 s before the first retry, twice that before the second.
    assert times[1] - times[0] >= 0.05 and times[2] - times[1] >= 0.1
    assert jobs.failed_jobs(app) == []


def test_a_job_that_keeps_failing_is_in_the_dead_letter_list_cli_and_stats(app, client):
    knowing_test_jobs(app)
    with app.app_context():
        hopeless.enqueue("fly")
        flaky.enqueue("b", 0)
    assert run_jobs(app) == 3  # hopeless twice, flaky once
    [failed] = jobs.failed_jobs(app)
    assert failed["name"] == "tests.test_jobs.hopeless" and failed["attempts"] == 2
    assert failed["args"] == "('fly',)" and "ValueError: cannot fly" in failed["error"]

    runner = app.test_cli_runner()
    listing = runner.invoke(args=["jobs", "failed"])
    assert listing.exit_code == 0
    assert failed["id"] in listing.output and "ValueError: cannot fly" in listing.output
    assert "1 failed job(s)." in listing.output

    admin = Person(client, "boss")
    admin.set_role("admin")
    assert admin.get("/api/admin/stats").get_json()["failed_jobs"] == 1

    forgot = runner.invoke(args=["jobs", "failed", "--forget", failed["id"]])
    assert forgot.exit_code == 0 and jobs.failed_jobs(app) == []
    assert runner.invoke(args=["jobs", "failed", "--forget", failed["id"]]).exit_code == 1


def test_a_periodic_job_is_due_at_its_minute_only(app):
    huey = jobs.get_huey(knowing_test_jobs(app))
    with app.app_context():
        morning_sweep.enqueue()
    run_jobs(app)
    due = {task.name for task in huey.read_periodic(datetime.datetime(2026, 1, 5, 7, 30))}
    assert "tests.test_jobs.morning_sweep" in due
    later = {task.name for task in huey.read_periodic(datetime.datetime(2026, 1, 5, 7, 31))}
    assert "tests.test_jobs.morning_sweep" not in later


def test_without_redis_the_queue_is_a_sqlite_file_that_outlives_the_app(make_app, tmp_path):
    path = tmp_path / "queue" / "jobs.sqlite3"
    settings = dict(REDIS_URL=None, JOBS_SQLITE_PATH=str(path), MAIL_BACKEND="file",
                    MAIL_FILE_DIR=str(tmp_path / "mail"), SESSION_DIR=str(tmp_path / "s"))
    first = make_app(**settings)
    assert isinstance(jobs.get_huey(first), SqliteHuey)
    register(first.test_client(), "alice", verify=False)
    assert path.exists() and jobs.queue_depth(first)["pending"] == 1
    # Another app (a restarted process) on the same file runs what the first queued.
    second = make_app(**settings)
    assert run_jobs(second) == 2  # the verification job, then its mail
    assert [m["To"] for m in read_mails(tmp_path / "mail")] == ["alice@example.com"]


def test_the_development_consumer_runs_jobs_beside_the_server(make_app, tmp_path):
    app = make_app(MAIL_BACKEND="file", MAIL_FILE_DIR=str(tmp_path), JOBS_POLL_MAX_SECONDS=0.1)
    assert jobs.last_heartbeat(app) is None
    consumer = jobs.start_consumer(app)
    try:
        register(app.test_client(), "alice", verify=False)
        deadline = time.monotonic() + 15
        while not read_mails(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.05)
        [mail] = read_mails(tmp_path)
        assert mail["To"] == "alice@example.com"
        # The running consumer's heartbeat is in the job store (written on its first
        # scheduler loop, then every few seconds): readiness sees a consumer.
        while jobs.last_heartbeat(app) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert jobs.consumer_state(app) == "ok"
    finally:
        consumer.stop(graceful=True)


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Tokyo"])
def test_a_delayed_job_is_due_after_its_delay_whatever_the_machines_time_zone(
        app, clock, monkeypatch, zone):
    """A developer's laptop or a server keeps local time: a job delayed 30 s is due after
    30 s, not 5 hours later (New York) or at once (Tokyo), and after half a second when
    delayed half a second (not at the whole second before it)."""
    knowing_test_jobs(app)
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        huey = jobs.get_huey(app)
        with app.app_context():
            for delay, early, due in ((30, 29, 31), (0.5, 0.4, 0.6)):
                started = clock_module.time()
                flaky.schedule(f"in {delay}", 0, delay=delay)
                huey.execute(huey.dequeue())  # a consumer takes it and puts it on the schedule
                clock.advance(started + early - clock_module.time())
                assert huey.read_schedule() == [], f"due before {delay} s"
                clock.advance(started + due - clock_module.time())
                assert len(huey.read_schedule()) == 1, f"not due after {delay} s"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_metrics_report_queue_depth_and_failures(make_app):
    token = "metrics-token-" + "j" * 20
    app = knowing_test_jobs(make_app(METRICS_TOKEN=token))
    with app.app_context():
        hopeless.enqueue("fail")
    run_jobs(app)
    huey = jobs.get_huey(app)
    with app.app_context():
        flaky.schedule("later", 0, delay=3600)
        huey.execute(huey.dequeue())  # a consumer takes it and puts it on the schedule
        flaky.enqueue("queued", 0)
    text = app.test_client().get("/metrics", headers={"Authorization": f"Bearer {token}"}
                                 ).get_data(as_text=True)
    assert "roundtable_jobs_queued 1.0" in text
    assert "roundtable_jobs_scheduled 1.0" in text
    assert "roundtable_jobs_failed 1.0" in text


def test_a_periodic_job_is_enqueued_once_per_minute_by_several_consumers(app, make_app):
    other = knowing_test_jobs(make_app())  # a second process's app on the same Redis queue
    knowing_test_jobs(app)
    minute = datetime.datetime(2026, 1, 5, 7, 30, 12)
    with app.app_context():
        morning_sweep.enqueue()
    with other.app_context():
        morning_sweep.enqueue()
    run_jobs(app)
    first = jobs.get_huey(app).read_periodic(minute)
    second = jobs.get_huey(other).read_periodic(minute.replace(second=40))
    # The application's own periodic jobs (the mail sweep, every minute) are due too,
    # and likewise claimed by the first consumer only.
    assert "tests.test_jobs.morning_sweep" in [t.name for t in first] and second == []
    # The next day's 7:30 is due again.
    assert "tests.test_jobs.morning_sweep" in [
        t.name for t in jobs.get_huey(other).read_periodic(minute + datetime.timedelta(days=1))]


def test_a_mail_is_not_queued_behind_link_previews_that_hang(make_app, stub_http, tmp_path):
    """Best-effort work has workers of its own: with the preview jobs of six messages
    (three links each to a page that never answers) queued first and their workers held,
    a password-reset mail queued after them is still sent, while every fetch is held."""
    app = make_app(MAIL_BACKEND="file", MAIL_FILE_DIR=str(tmp_path), JOBS_POLL_MAX_SECONDS=0.1,
                   LINK_PREVIEW_ALLOW_LOOPBACK=True, LINK_PREVIEW_TIMEOUT_SECONDS=60,
                   LINK_PREVIEW_JOB_DEADLINE_SECONDS=60, CONTENT_FILTER_NEW_ACCOUNT_LINKS=3)
    stall = Stall()
    links = [f"{stub_http.url}/hang/{n}" for n in range(18)]
    for link in links:
        stub_http.routes[link.removeprefix(stub_http.url)] = stall
    client = app.test_client()
    alice, bob = Person(client, "alice"), Person(client, "bob")
    room = alice.post("/api/messages/direct", {"user_id": bob.id}).get_json()
    run_jobs(app)  # the registration mails
    mails_before = len(read_mails(tmp_path))
    for n in range(6):
        sent = alice.post(f"/api/messages/rooms/{room['id']}/messages",
                          {"body": " ".join(links[3 * n:3 * n + 3]), "client_id": f"h{n}"})
        assert sent.status_code == 201, sent.get_json()
    consumer = jobs.start_consumer(app)
    try:
        assert stall.wait_held(app.config["JOBS_WORKERS"])  # the preview jobs hang
        forgot = client.post("/api/auth/password/forgot", json={"email": "bob@example.com"},
                             environ_base=fresh_address())
        assert forgot.status_code == 202
        deadline = time.monotonic() + 20  # gives up on a failing test; never reached else
        while len(read_mails(tmp_path)) == mails_before and time.monotonic() < deadline:
            time.sleep(0.05)
        mails = read_mails(tmp_path)[mails_before:]
        assert [(m["To"], m["Subject"]) for m in mails] == [
            ("bob@example.com", "Reset your password")]
        # The mail went out while the preview jobs were still waiting for the page.
        assert not stall.released.is_set() and stall.held >= app.config["JOBS_WORKERS"]
    finally:
        stall.release()
        consumer.stop(graceful=True)
