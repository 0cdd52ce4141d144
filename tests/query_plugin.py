"""The whole-suite query check (issue 29 points 1 and 7), as a pytest plugin conftest
registers: every test process records the shape of each query the project's code sends
(tests/query_shapes.py); at the end of the session the shapes of all processes (a
pytest-xdist worker hands its own to the controller) are checked against the declared
indexes and the shard keys (models/sharding.py), and the run fails on any query no index
serves or that misses its collection's shard key without being listed
(tests/query_rules.py). docs/OPERATIONS.md "Every query on an index" says how to fix one.
"""
from __future__ import annotations

import pytest
from pymongo import monitoring

from models import registry
from tests import query_rules, query_shapes
from tests.query_shapes import Shape

OUTPUT_KEY = "roundtable_query_shapes"


def findings(seen: dict[tuple[Shape, str], str]) -> tuple[list, list]:
    """(queries no index serves, queries on a sharded collection without its shard key)."""
    unindexed = query_shapes.unserved(seen, registry.ALL_MODELS,
                                      {**query_rules.BOUNDED, **query_rules.TEST_ONLY},
                                      query_rules.SCANS)
    return unindexed, query_rules.scatter_gathers(seen)


class QueryCheck:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.recorder = query_shapes.ShapeRecorder()
        self.seen: dict[tuple[Shape, str], str] = {}
        self.report: list[str] = []

    def start(self) -> QueryCheck:
        # Every MongoClient built from now on in this process reports to the recorder.
        monitoring.register(self.recorder)
        return self

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item):
        self.recorder.test = item.nodeid
        yield

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error):
        query_shapes.from_plain(node.workeroutput.get(OUTPUT_KEY, ()), self.seen)

    def pytest_sessionfinish(self, session, exitstatus):
        if hasattr(self.config, "workerinput"):  # a worker: the controller checks
            self.config.workeroutput[OUTPUT_KEY] = query_shapes.to_plain(self.recorder.seen)
            return
        for key, test in self.recorder.seen.items():
            self.seen.setdefault(key, test)
        self.report = report(self.seen)
        if self.report and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter):
        if self.report:
            terminalreporter.section("query check", red=True)
            for line in self.report:
                terminalreporter.write_line(line)


def report(seen: dict[tuple[Shape, str], str]) -> list[str]:
    """The lines that fail the run: empty when every query is on an index and names its
    shard key (or is listed)."""
    unindexed, scattered = findings(seen)
    lines = []
    if unindexed:
        lines.append(f"{len(unindexed)} query shape(s) no declared index serves "
                     "(docs/OPERATIONS.md, 'Every query on an index'):")
        lines += [finding.line() for finding in unindexed]
    if scattered:
        lines.append(f"{len(scattered)} query shape(s) on a sharded collection "
                     "without its shard key (docs/OPERATIONS.md, 'Sharding'):")
        lines += [finding.line() for finding in scattered]
    return lines
