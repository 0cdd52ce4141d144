"""The tests' own hygiene, read from their source with ast: no test module imports another
test module (what several share lives in a helper module: tests/helpers.py,
tests/chat_helpers.py, tests/call_helpers.py, ...), and the shared `Person` and
`events()` are defined once. And a helper thread that dies fails the run."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
SHARED_ONCE = {"Person", "events"}


def is_test_module(name: str) -> bool:
    """`tests.test_x`, or `test_x` (relative or bare); not `flask_socketio.test_client`."""
    package, _, module = name.rpartition(".")
    return module.startswith("test_") and package in ("", "tests")


def imported_test_modules(source: str) -> list[str]:
    """The test modules `source` imports, however it spells it."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if is_test_module(alias.name)]
        elif isinstance(node, ast.ImportFrom):
            if node.module and is_test_module(node.module):
                found.append(node.module)
            elif node.module in (None, "tests"):  # from tests import test_x / from . import
                found += [alias.name for alias in node.names if is_test_module(alias.name)]
    return found


def top_level_names(source: str) -> set[str]:
    return {node.name for node in ast.parse(source).body
            if isinstance(node, ast.FunctionDef | ast.ClassDef)}


def python_files() -> dict[str, str]:
    return {str(path.relative_to(TESTS)): path.read_text()
            for path in sorted(TESTS.rglob("*.py"))
            if "node_modules" not in path.parts}


def test_no_test_module_imports_another():
    files = python_files()
    assert len([name for name in files if Path(name).name.startswith("test_")]) > 50
    offenders = {name: imported for name, source in files.items()
                 if (imported := imported_test_modules(source))}
    assert offenders == {}


def test_shared_helpers_are_defined_once():
    defined = {name: sorted(SHARED_ONCE & top_level_names(source))
               for name, source in python_files().items()}
    assert {name: names for name, names in defined.items() if names} == {
        "helpers.py": sorted(SHARED_ONCE)}


def test_the_scan_sees_every_spelling():
    source = ("import tests.test_a\nfrom tests.test_b import x\nfrom tests import test_c\n"
              "from .test_d import y\nfrom . import test_e\nimport test_f\n"
              "from tests.helpers import Person\nfrom flask_socketio.test_client import X\n"
              "def f():\n    from tests.test_g import z\n")
    assert imported_test_modules(source) == [
        "tests.test_a", "tests.test_b", "test_c", "test_d", "test_e", "test_f", "tests.test_g"]


DYING_THREAD = """
import threading

def test_with_a_helper_thread_that_dies():
    helper = threading.Thread(target=lambda: 1 / 0)
    helper.start()
    helper.join()
"""


def test_a_helper_thread_that_dies_fails_the_run(tmp_path):
    """Under the suite's own settings (pyproject.toml), not a warning under a later test."""
    (tmp_path / "test_dying.py").write_text(DYING_THREAD)
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:xdist", "-p", "no:cov",
                          "-c", str(TESTS.parent / "pyproject.toml"), "--rootdir", str(tmp_path),
                          str(tmp_path / "test_dying.py")],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 1, run.stdout[-2000:]
    assert "1 failed" in run.stdout and "PytestUnhandledThreadExceptionWarning" in run.stdout
