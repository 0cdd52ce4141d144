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


def test_a_circle_between_services_fails_lint(tree):
    (tree / "services" / "probe_a.py").write_text("from services import probe_b  # noqa\n")
    (tree / "services" / "probe_b.py").write_text(
        "def later():\n    from services import probe_a  # noqa\n")
    result = lint(tree)
    assert result.returncode != 0
    assert "No cycles are allowed in services" in result.stdout


def test_topic_access_may_not_lean_on_an_area(tree):
    path = tree / "services" / "platform" / "topic_access.py"
    path.write_text(path.read_text() + "\nfrom services.forum import posts_service  # noqa\n")
    result = lint(tree)
    assert result.returncode != 0
    assert "services.platform.topic_access is not allowed to import services.forum.posts_service" \
        in result.stdout


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
