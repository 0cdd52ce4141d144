# The two commands that matter: `make run` and `make test`. Both set up .venv themselves.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test system-deps lint format install init-db seed clients bench bench-ops bench-serialize bench-connections bench-scale bench-broadcast clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

## Start the development server on http://127.0.0.1:5000 (embedded SecantusDB, no Redis needed)
## with a job queue consumer in the same process (mail and other background jobs).
run: $(STAMP)
	$(PY) app.py

## Run the whole test suite in parallel: each pytest-xdist worker starts its own
## SecantusDB and redis-server. TEST_WORKERS=1 runs it in one process;
## PYTEST_ARGS passes more options (e.g. PYTEST_ARGS="-x --durations=20").
TEST_WORKERS ?= 3
## Two depths: a developer's run sends the two-process burst as 20 senders x 50 and fuzzes
## 4 examples per operation (about 5 minutes on 2 cores); CI (.ci/run) runs the same tests
## at issue 5's figure (20 x 200 = 4,000 messages) and 12 examples per operation.
E2E_BURST_PER_SENDER ?= 50
FUZZ_EXAMPLES ?= 4
export E2E_BURST_PER_SENDER FUZZ_EXAMPLES
## Line and branch coverage of the code under test, the servers the tests start included
## (pyproject.toml [tool.coverage.*]: subprocesses measured, combined, fail_under enforced).
## On by default; COVERAGE=0 make test is the quicker loop without it (about half the time).
COVERAGE ?= 1
## A part of the suite (PYTEST_ARGS naming a path inside tests/, however written:
## tests/x.py, ./tests/x.py, an absolute path or a node id; or choosing tests with -k, -m,
## --lf or --deselect) prints its coverage without the whole suite's fail_under, which a
## part cannot reach. The tests/ folder itself is the whole suite.
PART_OPTIONS := -k -k% -m -m% --lf --last-failed --deselect%
WHOLE_SUITE_PATHS := tests tests/ ./tests ./tests/ $(CURDIR)/tests $(CURDIR)/tests/
PART_PATHS = $(foreach word,$(filter-out $(WHOLE_SUITE_PATHS),$(PYTEST_ARGS)),\
	$(findstring tests/,$(word)))
COVERAGE_ARGS = $(if $(filter 1,$(COVERAGE)),--cov --cov-report=term \
	$(if $(filter $(PART_OPTIONS),$(PYTEST_ARGS))$(strip $(PART_PATHS)),--cov-fail-under=0))
test: system-deps $(STAMP)
	@started=$$(date +%s); \
	$(PY) -m pytest $(if $(filter 1,$(TEST_WORKERS)),-p no:xdist,-n $(TEST_WORKERS) --dist loadgroup) $(COVERAGE_ARGS) $(PYTEST_ARGS); \
	status=$$?; \
	echo "make test: wall time $$(( $$(date +%s) - started )) s with $(TEST_WORKERS) worker(s); load average now: $$(cut -d' ' -f1-3 /proc/loadavg)"; \
	exit $$status

## The system programs and npm packages the tests use: installed with apt-get and npm ci
## when missing and running as root (or with passwordless sudo); otherwise one line names
## the apt-get command (scripts/install-system-deps; INSTALL_SYSTEM_DEPS=0 never installs).
system-deps:
	@PYTHON=$(PYTHON) VENV=$(VENV) scripts/install-system-deps

## Style (ruff) and architecture (import-linter: layers point down, no circles).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .

init-db: $(STAMP)
	$(VENV)/bin/flask init-db

## Regenerate the TypeScript client's types (clients/typescript/src/generated) from this
## revision's OpenAPI and AsyncAPI documents (no server needed); commit the result.
clients: $(STAMP)
	$(VENV)/bin/flask docs dump clients/typescript/dist/docs
	cd clients/typescript && { test -d node_modules || npm ci --no-audit --no-fund --silent; } \
		&& npm run --silent generate -- --dir dist/docs

## Fill an empty development database with demo users, topics, posts and votes.
seed: $(STAMP)
	$(VENV)/bin/flask init-db
	$(VENV)/bin/flask seed

## Benchmark against servers it starts on 127.0.0.1 (~5 min); see docs/PERFORMANCE.md.
## Needs wrk: installed with apt-get when missing and running as root.
bench: $(STAMP)
	@command -v wrk >/dev/null || { test "$$(id -u)" = 0 && \
		{ apt-get install -y wrk >/dev/null || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }; }; } || \
		{ echo "wrk is missing: apt-get install -y wrk"; exit 1; }
	$(PY) -m pip install --quiet -r bench/requirements.txt
	$(PY) -m bench.run $(BENCH_ARGS)

## Memory per socket and the cost of one Redis pub/sub channel per process (~1 min; on
## 127.0.0.1 only); figures in docs/OPERATIONS.md.
bench-ops: $(STAMP)
	$(PY) -m bench.ops $(BENCH_ARGS)

## 10,000 idle authenticated sockets on one process, a heartbeat, then broadcasts to all
## (~3 min; 127.0.0.1 only); figures in docs/PERFORMANCE.md.
bench-connections: $(STAMP)
	$(PY) -m pip install --quiet -r bench/requirements.txt
	$(PY) -m bench.connections $(BENCH_ARGS)

## One chat room heard by 10,000 sockets on two processes sharing the Redis queue, from
## several client processes (~10 min; 127.0.0.1 only); figures in docs/PERFORMANCE.md.
bench-broadcast: $(STAMP)
	$(PY) -m pip install --quiet -r bench/requirements.txt
	$(PY) -m bench.broadcast $(BENCH_ARGS)

## The in-process cost of serializing posts, comments and messages (a few seconds, no
## servers); figures in docs/PERFORMANCE.md.
bench-serialize: $(STAMP)
	$(PY) -m bench.serialize $(BENCH_ARGS)

## Cost against size: seeds 10^4, 10^5 and 10^6 messages (with posts, comments, rooms,
## notifications) in bulk into its own SecantusDB and measures the main reads at each size
## (~30 min; BENCH_SCALE_SIZES=10000,100000 for a quicker run); docs/PERFORMANCE.md.
bench-scale: $(STAMP)
	$(PY) -m pip install --quiet -r bench/requirements.txt
	$(PY) -m bench.scale $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
