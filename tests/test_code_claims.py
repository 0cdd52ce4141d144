"""What the docs and the code's own comments say about the code holds: every Socket.IO
event a doc shows emitted exists in the AsyncAPI document (the one the code generates),
and only config.py reads the environment for settings (config.py's docstring)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = [*ROOT.glob("docs/*.md"), ROOT / "README.md"]
APP_CODE = [p for p in (*ROOT.glob("*.py"), *(p for d in ("routes", "services", "models", "utils")
                                              for p in (ROOT / d).rglob("*.py")))
            # gunicorn's own configuration, read before any app exists.
            if p.name not in ("config.py", "gunicorn.conf.py")]
EMITTED = re.compile(r"""emit\(\s*["']([a-z_]+)["']""")


def _event_names(client) -> set[str]:
    document = client.get("/api/asyncapi.json").get_json()
    return {message["name"] for message in document["components"]["messages"].values()}


def test_every_event_the_docs_show_emitted_exists(client):
    known = _event_names(client)
    shown = {(path.name, name) for path in DOCS for name in EMITTED.findall(path.read_text())}
    assert shown, "the docs show no emit at all: the pattern no longer matches"
    assert {(doc, name) for doc, name in shown if name not in known} == set()


def _reads_environment(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv") \
                and isinstance(node.value, ast.Name) and node.value.id == "os":
            lines.append(node.lineno)
    return lines


def test_only_config_reads_the_environment():
    found = {str(p.relative_to(ROOT)): lines for p in APP_CODE
             if (lines := _reads_environment(ast.parse(p.read_text())))}
    assert found == {}
    assert _reads_environment(ast.parse("import os\nport = os.environ.get('PORT')\n")) == [2]
