"""Thin models, request-free services (issue 26): a query is a named method of the model
that owns its collection, so no service touches a model's `.collection`; and a service
takes what it needs of the socket or the HTTP request (a sid, an origin) from its caller,
so none reads `flask.request`. The check reads the source with `ast`, so a comment or a
docstring naming either does not count."""
from __future__ import annotations

import ast
from pathlib import Path

SERVICES = Path(__file__).resolve().parent.parent / "services"

def offences(source: str, filename: str) -> list[str]:
    """`file:line what` for each `.collection` and each use of Flask's request."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Attribute) and node.attr in ("collection", "db"):
            found.append((node.lineno, f".{node.attr}"))
        elif (isinstance(node, ast.ImportFrom) and node.module == "utils.db"
              and any(alias.name == "get_db" for alias in node.names)):
            found.append((node.lineno, "imports get_db"))
        elif (isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "flask"
              and any(alias.name == "request" for alias in node.names)):
            found.append((node.lineno, f"imports request from {node.module}"))
        elif (isinstance(node, ast.Attribute) and node.attr == "request"
              and isinstance(node.value, ast.Name) and node.value.id == "flask"):
            found.append((node.lineno, "flask.request"))
    return [f"{filename}:{line} {what}" for line, what in sorted(found)]


def test_services_query_through_models_and_never_read_the_request():
    files = sorted(SERVICES.rglob("*.py"))
    assert len(files) > 80
    found = [offence for path in files for offence in offences(
        path.read_text(), path.relative_to(SERVICES.parent).as_posix())]
    assert found == []


def test_the_check_names_each_offence_by_file_and_line():
    source = '''"""Mentions of .collection and flask.request in a docstring are fine."""
import flask
from flask import current_app, request
from flask.globals import request as incoming
from models.room import Room
from utils.db import get_db


def rooms(user_id):
    sid = flask.request.sid
    return Room().collection.find({"member_ids": user_id}), sid, request, incoming, Room().db
'''
    assert offences(source, "services/chat/probe.py") == [
        "services/chat/probe.py:3 imports request from flask",
        "services/chat/probe.py:4 imports request from flask.globals",
        "services/chat/probe.py:6 imports get_db",
        "services/chat/probe.py:10 flask.request",
        "services/chat/probe.py:11 .collection",
        "services/chat/probe.py:11 .db",
    ]
    assert offences("from models.room import Room\nRoom().find_by_key('k')\n", "ok.py") == []
