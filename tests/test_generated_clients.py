"""Generated clients can use the OpenAPI document: openapi-typescript (npm, pinned in
tests/clients/package.json) and openapi-python-client (PyPI, requirements-dev.txt)
generate from /api/openapi.json, and a small consumer of each type-checks strictly
(tests/clients/consumer.ts with `tsc --strict`, tests/clients/consumer.py with
`mypy --strict`). The consumers read required fields without optional chaining, a
nullable author with a null check, times as datetimes and the search union by its
`type`, so a document that loses any of that fails here. The Python client then runs
against the app."""
from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.topic_helpers import Person, make_post, make_topic

CLIENTS_DIR = Path(__file__).parent / "clients"
NODE_BIN = CLIENTS_DIR / "node_modules" / ".bin"
PACKAGE = "roundtable_client"
# No formatter run on the generated code (the default post hooks call ruff from PATH).
PYTHON_CLIENT_CONFIG = f"project_name_override: {PACKAGE}\npackage_name_override: {PACKAGE}\n" \
                       "post_hooks: []\n"


def run(command: list, cwd: Path) -> None:
    done = subprocess.run([str(part) for part in command], cwd=cwd, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, f"{command[0]}:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def document_file(_shared, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("openapi") / "openapi.json"
    path.write_text(json.dumps(_shared.app.test_client().get("/api/openapi.json").get_json()))
    return path


@pytest.fixture(scope="module")
def python_client(document_file, tmp_path_factory) -> Path:
    """The generated package beside a copy of the consumer, in a directory of its own."""
    root = tmp_path_factory.mktemp("python_client")
    config = root / "config.yml"
    config.write_text(PYTHON_CLIENT_CONFIG)
    run([Path(sys.executable).parent / "openapi-python-client", "generate", "--path",
         document_file, "--meta", "none", "--output-path", root / PACKAGE, "--config",
         config], root)
    shutil.copy(CLIENTS_DIR / "consumer.py", root / "consumer.py")
    return root


def test_typescript_types_serve_a_strict_consumer(document_file, tmp_path):
    if not (NODE_BIN / "tsc").is_file():  # `.ci/run` installs them; a checkout may not
        run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], CLIENTS_DIR)
    run([NODE_BIN / "openapi-typescript", document_file, "-o", tmp_path / "api.d.ts"],
        tmp_path)
    shutil.copy(CLIENTS_DIR / "consumer.ts", tmp_path / "consumer.ts")
    run([NODE_BIN / "tsc", "--strict", "--noEmit", "--target", "es2022", "--module", "esnext",
         "--moduleResolution", "bundler", "consumer.ts"], tmp_path)


def test_python_client_serves_a_strict_consumer(python_client, tmp_path):
    run([Path(sys.executable).parent / "mypy", "--strict", "--follow-imports=silent",
         "--cache-dir", tmp_path / "mypy", "consumer.py"], python_client)


def test_python_client_reads_the_answers(python_client, app, client, monkeypatch):
    """The generated models parse what the API sends: a post with its author, and each
    kind of search hit as its own class."""
    owner = Person(client, "olivia")
    topic = make_topic(owner, "Quince jam")
    post = make_post(owner, topic["id"], "Quince paste", "slow cooked")
    monkeypatch.syspath_prepend(str(python_client))
    for name in [name for name in sys.modules if name == "consumer"
                 or name.startswith(PACKAGE)]:
        monkeypatch.delitem(sys.modules, name)  # another module's copy: none expected
    consumer = importlib.import_module("consumer")
    generated = importlib.import_module(PACKAGE)
    api = generated.AuthenticatedClient(
        base_url="http://localhost", token=owner.headers["Authorization"].split()[1],
        httpx_args={"transport": httpx.WSGITransport(app=app)})
    line = consumer.post_line(api, post["id"])
    assert line.startswith("Quince paste by olivia in 20")
    assert consumer.search_labels(api, "quince", "posts") == [f"post: {line}"]
    assert consumer.search_labels(api, "quince", "topics")[0].startswith("topic: quince-jam ")
    assert consumer.search_labels(api, "olivia", "users") == ["user: olivia"]
