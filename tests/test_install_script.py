"""scripts/install-system-deps, which `make test` and `.ci/run` run first: on a machine
without a program the tests need (and without a way to install it) it stops within
seconds with one line naming the apt-get command; on a machine with everything it does
nothing, quickly; it reinstalls npm packages whose lock file changed."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests.servers import ROOT

SCRIPT = ROOT / "scripts" / "install-system-deps"
NPM_DIRS = ("tests/browser", "tests/clients", "clients/typescript")
# Installing is forbidden, as for a user without root or passwordless sudo; the venv is
# the one running these tests.
NO_INSTALL = {"INSTALL_SYSTEM_DEPS": "0", "PYTHON": sys.executable, "VENV": sys.prefix}


def path_without(directory: Path, *programs: str) -> str:
    """A PATH of one directory: a link to every program on this PATH but `programs`."""
    directory.mkdir()
    for entry_dir in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(entry_dir):
            continue
        for entry in os.scandir(entry_dir):
            link = directory / entry.name
            if (entry.name in programs or os.path.lexists(link) or entry.is_dir()
                    or not os.access(entry.path, os.X_OK)):
                continue  # the first on the PATH wins, as it would
            link.symlink_to(entry.path)
    return str(directory)


def run(script: Path, **env: str) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    result = subprocess.run([str(script)], env={**os.environ, **NO_INSTALL, **env},
                            capture_output=True, text=True, timeout=300)
    return result, time.monotonic() - started


def test_a_missing_program_stops_it_at_once_with_the_command_to_run(tmp_path):
    result, seconds = run(SCRIPT, PATH=path_without(tmp_path / "bin", "redis-server"))

    assert result.returncode != 0
    lines = (result.stdout + result.stderr).splitlines()
    assert len(lines) == 1, lines
    assert "apt-get install -y redis-server" in lines[0]
    assert seconds < 10


def test_every_missing_package_is_in_the_one_command(tmp_path):
    result, _ = run(SCRIPT, PATH=path_without(tmp_path / "bin", "redis-server", "redis-sentinel",
                                              "turnutils_uclient", "npm"))

    assert result.returncode != 0
    line, = (result.stdout + result.stderr).splitlines()
    assert line.endswith("apt-get install -y redis-server redis-sentinel coturn npm"), line


def test_on_a_machine_with_everything_it_does_nothing_quickly():
    run(SCRIPT)  # a new checkout has no node_modules yet: the first run installs them
    result, seconds = run(SCRIPT)

    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert seconds < 10


def test_npm_packages_are_installed_again_when_their_lock_file_changed(tmp_path):
    """In a copy of the tree's npm directories (the real ones serve other tests meanwhile):
    the browser tests' lock file is newer than what was installed, the others are not."""
    (tmp_path / "scripts").mkdir()
    script = Path(shutil.copy(SCRIPT, tmp_path / "scripts"))
    for name in NPM_DIRS:
        copy = tmp_path / name
        copy.mkdir(parents=True)
        for file in ("package.json", "package-lock.json"):
            shutil.copy(ROOT / name / file, copy / file)
        (copy / "node_modules").mkdir()
        (copy / "node_modules" / ".package-lock.json").write_text("{}")
    browser = tmp_path / "tests" / "browser"
    installed = browser / "node_modules" / ".package-lock.json"
    os.utime(installed, (time.time() - 60, time.time() - 60))

    result, _ = run(script)

    assert result.returncode == 0, result.stderr
    assert result.stdout == "scripts/install-system-deps: npm ci in tests/browser\n"
    assert (browser / "node_modules" / "socket.io-client" / "package.json").is_file()
    assert installed.stat().st_mtime > (browser / "package-lock.json").stat().st_mtime
    assert run(script)[0].stdout == ""


def test_make_test_and_ci_run_it_first():
    dry_run = subprocess.run(["make", "-n", "test", f"VENV={sys.prefix}"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout
    assert dry_run.index("scripts/install-system-deps") < dry_run.index("-m pytest")
    commands = "\n".join(line for line in (ROOT / ".ci" / "run").read_text().splitlines()
                         if not line.lstrip().startswith("#"))
    assert "scripts/install-system-deps" in commands
    assert "apt-get" not in commands and "npm ci" not in commands  # no copy of its own
