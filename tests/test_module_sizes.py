"""The house rule of docs/ARCHITECTURE.md: a service module does one job, and none grows
much past 300 lines (issue 13). A module that does is split by job before it lands."""
from __future__ import annotations

from pathlib import Path

SERVICES = Path(__file__).resolve().parent.parent / "services"
MOST_LINES = 320  # "about 300": a little room for a docstring, never a second job


def test_no_service_module_grows_past_about_300_lines():
    sizes = {path.relative_to(SERVICES.parent).as_posix(): len(path.read_text().splitlines())
             for path in SERVICES.rglob("*.py")}
    assert sizes, "no service modules found"
    assert {name: lines for name, lines in sizes.items() if lines > MOST_LINES} == {}
