"""The data layer: embedded SecantusDB, ids at the edge, indexes, duplicate keys."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import timezone
from pathlib import Path

import pytest
from bson import ObjectId
from pymongo import ASCENDING, IndexModel

from models import indexes
from models.base import BaseModel, isoformat, to_object_id, utcnow
from utils import db as db_module
from utils import embedded_db
from utils.embedded_db import EmbeddedDatabase, free_port, port_answers
from utils.errors import Conflict, NotFound


class Widget(BaseModel):
    collection_name = "widgets"
    indexes = [IndexModel([("name", ASCENDING)], unique=True, name="name_unique")]


@pytest.mark.parametrize("bad", ["", "123", "zzzzzzzzzzzzzzzzzzzzzzzz", None, 42, "a" * 25])
def test_malformed_id_is_not_found(bad):
    with pytest.raises(NotFound):
        to_object_id(bad)


def test_valid_id_round_trips():
    oid = ObjectId()
    assert to_object_id(str(oid)) == oid


def test_times_are_aware_utc_and_printed_with_z(db):
    now = utcnow()
    assert now.tzinfo is not None
    db.things.insert_one({"at": now})
    stored = db.things.find_one()["at"]
    assert stored == now and stored.utcoffset().total_seconds() == 0
    assert isoformat(now.replace(microsecond=0)).endswith("Z")
    assert isoformat(now.astimezone(timezone.utc)).endswith("Z")


def test_duplicate_key_becomes_conflict(app, db):
    Widget.ensure_indexes(db)
    widgets = Widget(db)
    widgets.insert({"name": "a"})
    with pytest.raises(Conflict) as info:
        widgets.insert({"name": "a"})
    assert info.value.details == {"name": ["already taken"]}


def test_get_missing_or_malformed_is_not_found(app, db):
    with pytest.raises(NotFound):
        Widget(db).get(str(ObjectId()))
    with pytest.raises(NotFound):
        Widget(db).get("not-an-id")


def test_malformed_id_in_a_url_is_404(make_app):
    from utils.api import Blueprint

    application = make_app(reuse=False)  # adds routes
    blp = Blueprint("probe_ids", __name__, url_prefix="/api/probe")

    @blp.route("/things/<objectid:thing_id>")
    def thing(thing_id):
        return {"id": thing_id}

    application.register_blueprint(blp)
    client = application.test_client()
    oid = str(ObjectId())
    assert client.get(f"/api/probe/things/{oid}").get_json() == {"id": oid}
    response = client.get("/api/probe/things/not-an-id")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_init_db_is_idempotent(app, db, monkeypatch):
    monkeypatch.setitem(app.extensions, indexes.EXTENSION,
                        (*indexes.registered_models(app), Widget))
    runner = app.test_cli_runner()
    first = runner.invoke(args=["init-db"])
    second = runner.invoke(args=["init-db"])
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert "widgets.name_unique" in first.output
    assert first.output == second.output
    assert "name_unique" in db.widgets.index_information()


def test_one_client_per_process(app):
    with app.app_context():
        assert db_module.get_client() is db_module.get_client()


def test_embedded_database_keeps_data_across_restarts(tmp_path):
    port = free_port()
    storage = str(tmp_path / "db")
    server = EmbeddedDatabase(port, storage).start()
    client = db_module.make_client(server.uri, 5000)
    client.roundtable.notes.insert_one({"text": "kept"})
    client.close()
    server.stop()
    assert not port_answers(port)

    again = EmbeddedDatabase(port, storage).start()
    try:
        client = db_module.make_client(again.uri, 5000)
        assert client.roundtable.notes.find_one()["text"] == "kept"
        client.close()
    finally:
        again.stop()


# A process that had its own SIGTERM handler (coverage installs one) before it started
# the development database: prints the port, then waits to be stopped.
HANDLER_FIRST = """
import os, signal, sys, time
from utils.embedded_db import EmbeddedDatabase, free_port
os.environ.pop("COVERAGE_PROCESS_CONFIG", None)  # measure this process, not SecantusDB
def earlier(signum, frame):
    print("earlier handler ran", flush=True)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.raise_signal(signal.SIGTERM)
signal.signal(signal.SIGTERM, earlier)
port = free_port()
EmbeddedDatabase(port, ":memory:").start()
print(port, flush=True)
time.sleep(60)
"""


def test_sigterm_stops_the_embedded_database_and_keeps_an_earlier_handler():
    """`make run` stopped with SIGTERM takes its database with it, also when another
    handler was there first (under coverage a stopped `python app.py` left its database
    running); the earlier handler still runs."""
    child = subprocess.Popen([sys.executable, "-c", HANDLER_FIRST], stdout=subprocess.PIPE,
                             text=True, cwd=Path(__file__).resolve().parent.parent)
    try:
        port = int(child.stdout.readline())
        assert port_answers(port)
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=20)
        assert "earlier handler ran" in child.stdout.read()
        deadline = time.monotonic() + 5
        while port_answers(port) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not port_answers(port)
    finally:
        child.kill()


# A process whose later SIGTERM handler chains to ours (as ours chains to the one before
# it), then starts a second database: prints both ports, then waits to be stopped.
HANDLER_AFTER = """
import os, signal, sys, time
from utils.embedded_db import EmbeddedDatabase, free_port
os.environ.pop("COVERAGE_PROCESS_CONFIG", None)
first = EmbeddedDatabase(free_port(), ":memory:").start()
ours = signal.getsignal(signal.SIGTERM)
def later(signum, frame):
    print("later handler ran", flush=True)
    ours(signum, frame)
signal.signal(signal.SIGTERM, later)
second = EmbeddedDatabase(free_port(), ":memory:").start()
print(first.port, second.port, flush=True)
time.sleep(60)
"""


def test_a_later_sigterm_handler_that_chains_back_runs_once_and_both_databases_stop():
    """A second database started after another handler took SIGTERM over leaves that
    handler in charge: installing ours again over it made ours and a handler chaining
    back call each other until RecursionError."""
    child = subprocess.Popen([sys.executable, "-c", HANDLER_AFTER], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True,
                             cwd=Path(__file__).resolve().parent.parent)
    try:
        ports = [int(port) for port in child.stdout.readline().split()]
        assert all(port_answers(port) for port in ports)
        child.send_signal(signal.SIGTERM)
        # Our exit status, or the signal itself when a handler from before ours (coverage's,
        # under `make test`) ends the process with it.
        assert child.wait(timeout=20) in (128 + signal.SIGTERM, -signal.SIGTERM)
        assert child.stdout.read().count("later handler ran") == 1
        assert "Error" not in child.stderr.read()
        deadline = time.monotonic() + 5
        while any(port_answers(port) for port in ports) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(port_answers(port) for port in ports)
    finally:
        child.kill()
        child.wait()


def test_a_missing_secantusdb_names_the_command_that_installs_it(monkeypatch, tmp_path):
    """`make run` or `flask run` on a machine without SecantusDB: one line saying what to
    run, not a traceback from subprocess."""
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))  # nothing beside it
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(embedded_db.EmbeddedDatabaseError, match="make install"):
        EmbeddedDatabase(free_port(), str(tmp_path / "db")).start()


def a_database_binary(tmp_path: Path, script: str) -> str:
    binary = tmp_path / "secantusd-py"
    binary.write_text(f"#!/bin/sh\n{script}\n")
    binary.chmod(0o755)
    return str(binary)


def test_a_database_that_exits_while_starting_is_reported_with_its_exit_code(monkeypatch,
                                                                              tmp_path):
    monkeypatch.setattr(embedded_db, "find_binary",
                        lambda: a_database_binary(tmp_path, "exit 3"))
    port = free_port()
    with pytest.raises(embedded_db.EmbeddedDatabaseError, match=f"code 3 on port {port}"):
        EmbeddedDatabase(port, str(tmp_path / "db")).start()


def test_a_database_that_never_answers_is_stopped_and_reported(monkeypatch, tmp_path):
    monkeypatch.setattr(embedded_db, "find_binary",
                        lambda: a_database_binary(tmp_path, "exec sleep 60"))
    database = EmbeddedDatabase(free_port(), str(tmp_path / "db"))
    started = []
    real_popen = subprocess.Popen

    def popen(*args, **kwargs):
        started.append(real_popen(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(embedded_db.subprocess, "Popen", popen)
    with pytest.raises(embedded_db.EmbeddedDatabaseError, match="did not answer"):
        database.start(timeout=0.5)
    assert started[0].poll() is not None  # not left running
    assert database.process is None


def test_embedded_database_reuses_a_running_server(mongo_server):
    reuse = EmbeddedDatabase(mongo_server.port, ":memory:").start()
    assert reuse.process is None  # nothing started, so stop() leaves the server alone
    reuse.stop()
    assert port_answers(mongo_server.port)


def test_the_embedded_database_is_standalone_and_records_no_writes_twice(mongo_server):
    """One process, no replica set: it says so to the driver, and keeps no oplog (a
    second copy of every write, about a third of SecantusDB's CPU on writes)."""
    client = db_module.make_client(mongo_server.uri, 5000)
    try:
        assert "setName" not in client.admin.command("hello")
        client.roundtable_oplog_probe.notes.insert_many([{"n": n} for n in range(5)])
        assert client.local["oplog.rs"].count_documents({}) == 0
    finally:
        client.drop_database("roundtable_oplog_probe")
        client.close()


def test_init_db_lists_then_drops_the_indexes_no_model_declares(app, db):
    """An index replaced under a new name stays beside its successor until dropped:
    `flask init-db` names it, `--drop-superseded` drops it, and nothing else (the
    declared ones, `_id_`, indexes on collections no model owns)."""
    # As an older release named the thread index, before it named the room.
    db.messages.create_index([("thread_root_id", 1), ("seq", 1)], name="thread_seq")
    db.scratch_notes.create_index("x", name="x_1")
    runner = app.test_cli_runner()
    try:
        listed = runner.invoke(args=["init-db"])
        assert listed.exit_code == 0, listed.output
        assert "Superseded (no model declares them): 1\n  messages.thread_seq\n" in listed.output
        assert "--drop-superseded" in listed.output
        assert "thread_seq" in db.messages.index_information()

        declared = {name for name in db.messages.index_information() if name != "thread_seq"}
        dropped = runner.invoke(args=["init-db", "--drop-superseded"])
        assert dropped.exit_code == 0, dropped.output
        assert "Dropped (no model declares them): 1\n  messages.thread_seq\n" in dropped.output
        assert set(db.messages.index_information()) == declared
        assert "_id_" in declared and "room_thread_seq" in declared
        assert "x_1" in db.scratch_notes.index_information()
        assert "no model declares" not in runner.invoke(args=["init-db"]).output
    finally:
        if "thread_seq" in db.messages.index_information():
            db.messages.drop_index("thread_seq")
