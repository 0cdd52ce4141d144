"""The TypeScript client's directory (clients/typescript) and its npm install, shared by
the suites that build or run it."""
from __future__ import annotations

import fcntl
import shutil
import subprocess

import pytest

from tests.servers import ROOT

CLIENT_DIR = ROOT / "clients" / "typescript"


def ensure_node_modules() -> None:
    if shutil.which("npm") is None:
        pytest.fail("needs node and npm: `apt-get install -y nodejs npm` (.ci/run installs them)")
    # One install at a time: pytest-xdist workers may get here together.
    with open(CLIENT_DIR / "package-lock.json") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (CLIENT_DIR / "node_modules" / ".package-lock.json").is_file():
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=CLIENT_DIR,
                           check=True, timeout=600)
