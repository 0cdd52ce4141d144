"""The job queue survives a killed process: real subprocesses against the worker's real
redis-server (and, without REDIS_URL, the SQLite queue file). A process queues a mail and
is killed with SIGKILL before any consumer ran; two consumers started afterwards deliver
it exactly once, with the mails queued after them (the file mail backend)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from tests.helpers import read_mails, wait_for
from tests.servers import ROOT

ENQUEUE = """
import sys, time
from app import create_app
from services.platform import email_service
app = create_app()
with app.app_context():
    for to in sys.argv[1:]:
        email_service.send_template(to, "verify_email", username="someone",
                                    link="http://localhost/verify-email?token=x", hours=48)
print("queued", flush=True)
if sys.argv[1].startswith("first"):
    time.sleep(120)  # killed here, like a server killed before any consumer ran
"""


def recipients(directory) -> list[str]:
    return [str(mail["To"]) for mail in read_mails(directory)]


@pytest.fixture(params=["redis", "sqlite"])
def environment(request, redis_url, mongo_server, tmp_path):
    env = {**os.environ, "FLASK_ENV": "testing", "MONGO_URI": mongo_server.uri,
           "MONGO_DB_NAME": f"jobs_restart_{request.param}", "MAIL_BACKEND": "file",
           "MAIL_FILE_DIR": str(tmp_path / "mail"), "SOCKETIO_MESSAGE_QUEUE": "none",
           "JOBS_QUEUE_NAME": f"restart-{os.getpid()}", "JOBS_WORKERS": "2",
           "JOBS_POLL_MAX_SECONDS": "0.2", "FLASK_APP": "app:create_app",
           "REDIS_URL": redis_url if request.param == "redis" else "",
           "JOBS_SQLITE_PATH": str(tmp_path / "jobs.sqlite3")}
    return env


def assert_ready(consumer: subprocess.Popen) -> None:
    for line in consumer.stdout:
        if line.strip() == "Job consumer ready.":
            return
    raise AssertionError("the consumer exited before it was ready")


def test_a_mail_queued_by_a_killed_process_is_sent_once_after_the_restart(environment):
    mail_dir = environment["MAIL_FILE_DIR"]
    started: list[subprocess.Popen] = []

    def start(*command: str) -> subprocess.Popen:
        process = subprocess.Popen(command, cwd=ROOT, env=environment, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        started.append(process)
        return process

    try:
        server = start(sys.executable, "-c", ENQUEUE, "first@example.com")
        assert server.stdout.readline().strip() == "queued"
        server.send_signal(signal.SIGKILL)
        assert server.wait(10) == -signal.SIGKILL
        assert recipients(mail_dir) == []  # nothing ran it: no consumer existed

        # Restarted: two consumers, and more mail queued while they run.
        consumers = [start(sys.executable, "-m", "flask", "jobs", "worker") for _ in range(2)]
        for consumer in consumers:  # SIGTERM is graceful only once the consumer runs
            assert_ready(consumer)
        later = [f"later{n}@example.com" for n in range(10)]
        enqueuer = start(sys.executable, "-c", ENQUEUE, *later)
        assert enqueuer.stdout.readline().strip() == "queued"
        assert enqueuer.wait(10) == 0
        wait_for(lambda: len(recipients(mail_dir)) >= 11, what="11 mails")
        # Every mail once: the killed process's one and the ten later ones.
        assert sorted(recipients(mail_dir)) == sorted(["first@example.com", *later])
        for consumer in consumers:
            assert consumer.poll() is None, "a consumer died"
            consumer.send_signal(signal.SIGTERM)  # graceful: running jobs finish
        for consumer in consumers:
            assert consumer.wait(20) == 0
        assert sorted(recipients(mail_dir)) == sorted(["first@example.com", *later])
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
                process.wait(10)
