"""`make lint` runs lint-imports with the contracts in pyproject.toml. These tests run it
on a copy of the code with one bad import added, and show that each is refused."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("routes", "services", "models", "utils")
LINT = Path(sys.executable).with_name("lint-imports")


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def lint(tree: Path) -> subprocess.CompletedProcess:
    result = subprocess.run([str(LINT), "--no-cache"], cwd=tree, capture_output=True,
                            text=True, env={"PYTHONPATH": str(tree), "PATH": ""}, timeout=120)
    # lint-imports wraps long lines; the assertions read one line of words.
    result.stdout = " ".join(result.stdout.split())
    return result


def test_the_code_as_it_is_keeps_every_contract(tree):
    result = lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_upward_import_fails_lint(tree):
    (tree / "models" / "probe.py").write_text("from services.platform import realtime  # noqa\n")
    result = lint(tree)
    assert result.returncode != 0
    assert "models.probe -> services.platform.realtime" in result.stdout


def test_a_circle_inside_a_service_package_fails_lint(tree):
    # The second import is function-local: circles hide there too.
    (tree / "services" / "chat" / "probe_a.py").write_text(
        "from services.chat import probe_b  # noqa\n")
    (tree / "services" / "chat" / "probe_b.py").write_text(
        "def later():\n    from services.chat import probe_a  # noqa\n")
    result = lint(tree)
    assert result.returncode != 0
    assert "No cycles are allowed in services.chat" in result.stdout


def add_import(tree: Path, module: str, line: str) -> None:
    path = tree / (module.replace(".", "/") + ".py")
    text = path.read_text() if path.exists() else ""
    path.write_text(text + f"\n{line}  # noqa\n")


@pytest.mark.parametrize(("module", "line", "refusal"), [
    # Down the layers only: the bottom may not lean on an area.
    ("services.platform.topic_access", "from services.forum import posts_service",
     "services.platform.topic_access -> services.forum.posts_service"),
    ("services.notify.notify_core", "from services.accounts import users_service",
     "services.notify.notify_core -> services.accounts.users_service"),
    # Packages on one layer are independent: chat and forum never meet.
    ("services.forum.posts_service", "from services.chat import chat_send",
     "services.forum.posts_service -> services.chat.chat_send"),
    ("services.chat.chat_send", "from services.forum import votes_service",
     "services.chat.chat_send -> services.forum.votes_service"),
    ("services.privacy.data_export", "from services.admin import stats_service",
     "services.privacy.data_export -> services.admin.stats_service"),
    # A module written today is inside the contract without naming it anywhere.
    ("services.platform.written_today", "from services.calls import calls_service",
     "services.platform.written_today -> services.calls.calls_service"),
    # Inside platform, the access rules stay away from live rooms and emits.
    ("services.platform.topic_access", "from services.platform import realtime",
     "services.platform.topic_access is not allowed to import services.platform.realtime"),
    # Calls reach forum rooms only through room_entry, never directly.
    ("services.calls.call_records", "from services.forum import topics_service",
     "services.calls is not allowed to import services.forum: "
     "- services.calls.call_records -> services.forum.topics_service"),
])
def test_every_service_package_keeps_its_place(tree, module, line, refusal):
    add_import(tree, module, line)
    result = lint(tree)
    assert result.returncode != 0
    assert refusal in result.stdout


def test_services_holds_packages_only(tree):
    (tree / "services" / "loose.py").write_text('"""A module outside every package."""\n')
    result = lint(tree)
    assert result.returncode != 0
    assert "services.loose" in result.stdout


@pytest.mark.parametrize(("module", "line", "upward"), [
    ("auth", "from models.user import User", "utils.auth -> models.user"),
    ("socket_events", "from services.platform import chat_limits",
     "utils.socket_events -> services.platform.chat_limits"),
    ("db", "from models import registry", "utils.db -> models.registry"),
])
def test_utils_is_the_bottom_floor_without_exceptions(tree, module, line, upward):
    # These imports were once tolerated debt; no contract ignores them any more.
    path = tree / "utils" / f"{module}.py"
    path.write_text(path.read_text() + f"\n{line}  # noqa\n")
    result = lint(tree)
    assert result.returncode != 0
    assert upward in result.stdout
