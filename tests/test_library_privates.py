"""No code of ours (the app and its tests) reaches into a library's private state: the
private attributes of the extension objects we bind (Flask-Limiter's `_storage_dead`,
Socket.IO's server and manager, flask-smorest, Flask-Session) and the Socket.IO
manager's internal tables (`manager.rooms`, ...). Such state changes shape in any
release without notice; the public API (`limiter.storage`, `manager.get_participants`,
`manager.disconnect`, `server.get_environ`) or state the app keeps itself does the job."""
from __future__ import annotations

import ast
from pathlib import Path

from utils.extensions import api, limiter, server_session, socketio

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted({*ROOT.glob("*.py"),
                  *(p for d in ("routes", "services", "models", "utils", "tests")
                    for p in (ROOT / d).rglob("*.py"))})
# The Socket.IO manager's own tables: who is in which room, pending acks and connects.
MANAGER_TABLES = {"rooms", "eio_to_sid", "callbacks", "pending_connect", "pending_disconnect"}

# The only exceptions, each where no public call can do it (a test's own harness, never
# the app): file -> private names it may touch, and why.
ALLOWED = {
    # Hands the server a raw packet the test client cannot encode (a payload nested too
    # deeply for its JSON encoder), as a socket would send it.
    "tests/test_input_safety.py": {"_handle_eio_message"},
    # The load test's own clients handle messages on the read thread (python-engineio
    # offers no switch for it); a client-side speed-up, nothing the server relies on.
    "tests/cluster_helpers.py": {"_trigger_event"},
}


def private_names() -> set[str]:
    """The private attributes the bound library objects really have (single underscore,
    name-mangled ones included), taken from the objects, not from a list that ages."""
    names: set[str] = set()
    for thing in (limiter, socketio, socketio.server, socketio.server.manager, api,
                  server_session):
        names.update(dir(thing))  # its class's members and its own attributes
    return {n for n in names if n.startswith("_") and not n.endswith("__")}


def offences(source: str, private: set[str]) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Attribute):
            continue
        owner = node.value
        if node.attr in MANAGER_TABLES and (
                (isinstance(owner, ast.Attribute) and owner.attr == "manager")
                or (isinstance(owner, ast.Name) and owner.id == "manager")):
            found.append(f"{node.lineno}: manager.{node.attr}")
        elif node.attr in private and not _own(owner):
            found.append(f"{node.lineno}: .{node.attr}")
    return found


def _own(owner: ast.expr) -> bool:
    """`self._x`, `cls._x` and `super()._x`: a class of ours using its own (or its base
    class's overridable) members."""
    return ((isinstance(owner, ast.Name) and owner.id in ("self", "cls"))
            or (isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name)
            and owner.func.id == "super"))


def test_no_code_reads_or_writes_library_private_state(app):
    private = private_names()
    assert {"_storage_dead", "_fallback_storage", "_storage"} <= private  # the scan sees them
    found = {}
    for path in SOURCES:
        name = str(path.relative_to(ROOT))
        hits = offences(path.read_text(), private - ALLOWED.get(name, set()))
        if hits:
            found[name] = hits
    assert found == {}


def test_the_scan_catches_what_it_is_for(app):  # app: the objects bound
    private = private_names()
    caught = offences("limiter._storage_dead = False\n"
                      "rooms = server.manager.rooms.get('/')\n"
                      "manager.eio_to_sid.clear()\n"
                      "limiter._fallback_storage.reset()\n", private)
    assert len(caught) == 4
    assert offences("self._storage = None\nsuper()._init_spec()\n"
                    "limiter.storage.reset()\n", private) == []
