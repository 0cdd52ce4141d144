"""The durable job queue: Huey, on Redis (`REDIS_URL`) or on SQLite (`JOBS_SQLITE_PATH`,
under instance/ by default) when REDIS_URL is unset, so queued work survives a restart.

Define a job with a decorator on a function of the area's service module (it needs no
app), then add it to the one list of jobs, `registrations.JOBS`, which the app factory
hands to `init_app`:

    from utils import jobs

    @jobs.task(retries=3, retry_delay=2)        # 2 s, then 4 s, then 8 s (backoff 2)
    def fan_out(notification_id: str) -> None:
        ...

    fan_out.enqueue(str(notification["_id"]))   # in a request (any app context)
    fan_out.schedule(str(...), delay=300)       # not before 5 minutes from now

    @jobs.periodic(jobs.crontab(minute="0", hour="7"))
    def daily_digest() -> None: ...

    @jobs.task(queue=jobs.BEST_EFFORT)          # may wait on other servers: link previews
    def attach_previews(message_id: str) -> None: ...

Defining a job registers nothing: an app knows the jobs it was given, whatever was
imported before, so every process (server or `flask jobs worker`) runs the same list;
enqueueing a job missing from it raises at once instead of leaving work no consumer
knows ("not found in TaskRegistry"). A job's name is what queued jobs store:
`services.<module>.<function>` (see `_stored_name`); it never changes when a module moves.

Two queues: DEFAULT (mail, account work, fan-out, everything someone waits for) and
BEST_EFFORT (work that may hang on servers outside ours and whose loss costs little: link
previews). Each has workers of its own in every consumer (`JOBS_WORKERS`,
`JOBS_BEST_EFFORT_WORKERS`), so a mail queued behind a hundred stuck previews is taken at
once by a DEFAULT worker. (Huey's task priorities would only reorder what waits: a mail
would still wait for a worker busy with a preview.) Periodic jobs are on DEFAULT.

Arguments are pickled: pass ids and plain values, not documents. A job runs in an app
context of the consumer's app, so services work as in a request. `enqueue` only writes
to the queue (one Redis LPUSH): the request takes the same time whatever the job does.

Retries: `retries` more attempts after the first, `retry_delay` seconds before the first
retry, multiplied by `retry_backoff` (2 by default) before each next one. Each option may
also be a function of the app config (`retries=lambda c: c["MAIL_MAX_ATTEMPTS"] - 1`).
A job whose last attempt fails is logged and kept in the dead-letter list
(`failed_jobs()`, `flask jobs failed`, `failed_jobs` in GET /api/admin/stats).

Delivery: Huey takes a job off the queue atomically (Redis RPOP / an SQLite transaction),
so with any number of consumers each job runs at most once per attempt. A consumer killed
with SIGKILL while a job runs loses that job (it was already taken off the queue); on
SIGTERM the consumer (`flask jobs worker`) lets running jobs finish first (SIGINT: at once).

Consumers: `flask jobs worker` (its own process, production), `start_consumer(app)` (threads
in the development server: `python app.py`, and `flask run` through `consume_in_process`);
either consumes both queues. A running consumer writes a heartbeat into the job store
(`last_heartbeat`); `consumer_state` (GET /health/ready, the start-up log line) says when
jobs wait and no consumer was seen for JOBS_CONSUMER_STALE_SECONDS. Tests call
`run_pending(app)` to run every due job of both queues synchronously.
"""
from __future__ import annotations

import datetime
import logging
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from huey import RedisHuey, SqliteHuey, crontab
from huey.consumer import Consumer, Scheduler

from utils import clock, redis_client

log = logging.getLogger(__name__)

__all__ = ["BEST_EFFORT", "DEFAULT", "crontab", "failed_jobs", "periodic", "run_pending",
           "start_consumer", "task"]

DEAD_LETTER_PREFIX = "dead-letter:"
HEARTBEAT_KEY = "consumer-heartbeat"
HEARTBEAT_SECONDS = 5.0  # a running consumer writes its heartbeat this often
EXTENSION = "roundtable_jobs"
SHUTDOWN_SECONDS = 25
DEFAULT = "default"
BEST_EFFORT = "best_effort"
QUEUES = (DEFAULT, BEST_EFFORT)  # run_pending runs the first one's jobs first

Option = int | float | Callable[[Any], int | float]


@dataclass
class Job:
    """A job definition; `enqueue`/`schedule` put one run of it on the current app's queue."""
    func: Callable[..., Any]
    name: str
    retries: Option = 0
    retry_delay: Option = 0
    retry_backoff: float = 2.0
    schedule_rule: Callable[[datetime.datetime], bool] | None = None
    queue: str = DEFAULT
    options: dict[str, Any] = field(default_factory=dict)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)  # run now, in this process (no queue)

    def enqueue(self, *args: Any, **kwargs: Any) -> None:
        _wrapper(get_huey(queue=self.queue), self)(*args, **kwargs)

    def schedule(self, *args: Any, delay: float | None = None,
                 eta: datetime.datetime | None = None, **kwargs: Any) -> None:
        if delay is not None and eta is None:
            # Measured on the app's clock, which the queue reads too (_AppClock).
            eta, delay = datetime.datetime.fromtimestamp(clock.time() + delay,
                                                         datetime.UTC), None
        elif eta is not None and eta.tzinfo is None:
            eta = eta.replace(tzinfo=datetime.UTC)  # naive times here are UTC
        # Aware, always: Huey reads a naive eta as the machine's local time (moving it by
        # the UTC offset: five hours late in New York, at once in Tokyo) and keeps it to
        # the whole second, rounded down.
        _wrapper(get_huey(queue=self.queue), self).schedule(args, kwargs, delay=delay, eta=eta)


def _clock_timestamp() -> datetime.datetime:
    """Now on utils.clock, as Huey (utc=True) stores times: naive UTC."""
    return datetime.datetime.fromtimestamp(clock.time(), datetime.UTC).replace(tzinfo=None)


class _AppClock:
    """The queue tells what is due by utils.clock (the one clock), so tests that move it
    find delayed jobs and retries due without sleeping."""

    def _get_timestamp(self) -> datetime.datetime:
        return _clock_timestamp()


def _stored_name(func: Callable[..., Any]) -> str:
    """A job's name as queued jobs store it: `services.<module>.<function>`. Names were made
    when services/ was flat; its domain packages stay out of them, so moving a module
    between packages never orphans the jobs already waiting in a queue."""
    module = func.__module__
    if module.startswith("services."):
        module = "services." + module.rsplit(".", 1)[-1]
    return f"{module}.{func.__qualname__}"


def _define(func: Callable[..., Any], **options: Any) -> Job:
    """A job definition; it runs nowhere until an app is given it (`init_app`)."""
    name = options.pop("name", None) or _stored_name(func)
    if options.get("queue", DEFAULT) not in QUEUES:
        raise ValueError(f"job {name!r}: no queue {options['queue']!r}")
    return Job(func=func, name=name, **options)


def task(retries: Option = 0, retry_delay: Option = 0, retry_backoff: float = 2.0,
         name: str | None = None, queue: str = DEFAULT
         ) -> Callable[[Callable[..., Any]], Job]:
    """Define a job (see the module docstring)."""
    return lambda func: _define(func, retries=retries, retry_delay=retry_delay,
                                retry_backoff=retry_backoff, name=name, queue=queue)


def periodic(rule: Callable[[datetime.datetime], bool], retries: Option = 0,
             retry_delay: Option = 0, name: str | None = None
             ) -> Callable[[Callable[..., Any]], Job]:
    """Define a job the consumers enqueue whenever `rule` (a `crontab(...)`) matches the
    minute (UTC); it takes no arguments. On Redis it is enqueued once per due minute
    whatever the number of consumers (the first to claim the minute wins); a consumer
    that is down at that minute does not catch up later, so digests should look at
    what is unsent rather than assume they ran the previous time."""
    return lambda func: _define(func, retries=retries, retry_delay=retry_delay,
                                schedule_rule=rule, name=name)


def _value(option: Option, config: Any) -> Any:
    return option(config) if callable(option) else option


def _register(huey, app: Flask, job: Job):
    def run(*args: Any, **kwargs: Any) -> Any:
        with app.app_context():
            return job.func(*args, **kwargs)

    run.__name__ = job.name
    settings = dict(retries=_value(job.retries, app.config),
                    retry_delay=_value(job.retry_delay, app.config),
                    retry_backoff=job.retry_backoff, name=job.name)
    if job.schedule_rule is not None:
        del settings["retry_backoff"]
        return huey.periodic_task(job.schedule_rule, **settings)(run)
    return huey.task(**settings)(run)


def _wrapper(huey, job: Job):
    wrapper = huey._roundtable_wrappers.get(job.name)
    if wrapper is None or huey._roundtable_jobs[job.name] is not job:
        raise LookupError(f"job {job.name!r} is not registered on this app: add it to "
                          "registrations.JOBS")
    return wrapper


class _ClockedSqliteHuey(_AppClock, SqliteHuey):
    pass


class _SharedRedisHuey(_AppClock, RedisHuey):
    """Each consumer's scheduler enqueues the periodic jobs due this minute; on Redis the
    first consumer to claim (job, minute) enqueues it and the others skip it, so a
    periodic job runs once per due minute however many workers run."""

    def read_periodic(self, timestamp):
        due = super().read_periodic(timestamp)
        if timestamp is None:
            timestamp = self._get_timestamp()
        minute = timestamp.strftime("%Y%m%d%H%M")
        return [job_task for job_task in due
                if self.storage.conn.set(f"huey.{self.name}.periodic:{job_task.name}:{minute}",
                                         "1", nx=True, ex=3600)]


def make_huey(app: Flask, queue: str = DEFAULT, jobs: dict[str, Job] | None = None):
    """The Huey of one queue, running those of `jobs` (by name) that belong to it: DEFAULT
    is named JOBS_QUEUE_NAME, the others get a suffix."""
    config = app.config
    name = config["JOBS_QUEUE_NAME"]
    if queue != DEFAULT:
        name = f"{name}.{queue.replace('_', '-')}"
    if redis_client.enabled(config):  # directly or behind sentinels: redis_client's pool
        huey = _SharedRedisHuey(name, connection_pool=redis_client.job_pool(config),
                                results=False, utc=True)
    else:
        path = Path(config["JOBS_SQLITE_PATH"])
        path.parent.mkdir(parents=True, exist_ok=True)
        huey = _ClockedSqliteHuey(name, filename=str(path), results=False, utc=True)
    huey._roundtable_jobs = {name: job for name, job in (jobs or {}).items()
                             if job.queue == queue}
    huey._roundtable_wrappers = {name: _register(huey, app, job)
                                 for name, job in huey._roundtable_jobs.items()}

    @huey.post_execute()
    def dead_letter(job_task, value, exception) -> None:
        if exception is None or job_task.retries:
            return  # done, or another attempt is scheduled
        known = huey._roundtable_jobs.get(job_task.name)
        attempts = 1 + _value(known.retries, config) if known is not None else 1
        entry = {"id": job_task.id, "name": job_task.name, "args": repr(job_task.args)[:500],
                 "kwargs": repr(job_task.kwargs)[:500], "attempts": attempts,
                 "error": "".join(traceback.format_exception_only(exception)).strip()[:2000],
                 "failed_at": datetime.datetime.now(datetime.UTC).isoformat()}
        huey.put(DEAD_LETTER_PREFIX + job_task.id, entry)
        log.error("job %s (%s) failed after %s attempts, kept in the dead-letter list: %s",
                  job_task.name, job_task.id, attempts, entry["error"])

    return huey


def get_huey(app: Flask | None = None, queue: str = DEFAULT):
    return (app or current_app).extensions[EXTENSION][queue]


def _hueys(app: Flask | None = None) -> list[Any]:
    return list((app or current_app).extensions[EXTENSION].values())


def init_app(app: Flask, jobs: Iterable[Job]) -> None:
    """Register `jobs` (the app factory passes `registrations.JOBS`) on the app's queues."""
    by_name: dict[str, Job] = {}
    for job in jobs:
        if by_name.setdefault(job.name, job) is not job:
            raise ValueError(f"two jobs are named {job.name!r}")
    app.extensions[EXTENSION] = {queue: make_huey(app, queue, by_name) for queue in QUEUES}


def registered(app: Flask | None = None) -> dict[str, Job]:
    """The jobs registered on the app, by name."""
    return {name: job for huey in _hueys(app) for name, job in huey._roundtable_jobs.items()}


def register(app: Flask, *jobs: Job) -> None:
    """Add jobs to an app already set up (tests define jobs of their own)."""
    known = registered(app)
    for job in jobs:
        if known.setdefault(job.name, job) is not job:
            raise ValueError(f"two jobs are named {job.name!r}")
        huey = get_huey(app, job.queue)
        if job.name not in huey._roundtable_wrappers:
            huey._roundtable_jobs[job.name] = job
            huey._roundtable_wrappers[job.name] = _register(huey, app, job)


# The dead-letter list and the queue's state

def failed_jobs(app: Flask | None = None) -> list[dict[str, Any]]:
    """Jobs of every queue whose last attempt failed, oldest first."""
    entries = [huey.serializer.deserialize(value)
               for huey in _hueys(app)
               for key, value in huey.storage.result_items().items()
               if _text(key).startswith(DEAD_LETTER_PREFIX)]
    return sorted(entries, key=lambda entry: entry["failed_at"])


def failed_count(app: Flask | None = None) -> int:
    return len(failed_jobs(app))


def forget_failed(job_id: str, app: Flask | None = None) -> bool:
    return any(huey.get(DEAD_LETTER_PREFIX + job_id) is not None  # get() pops it
               for huey in _hueys(app))


def queue_depth(app: Flask | None = None) -> dict[str, int]:
    """Jobs waiting in all queues: queued, and scheduled (retries, delayed jobs)."""
    hueys = _hueys(app)
    return {"pending": sum(huey.pending_count() for huey in hueys),
            "scheduled": sum(huey.scheduled_count() for huey in hueys)}


def _text(key: Any) -> str:
    return key.decode() if isinstance(key, bytes) else str(key)


# Consumers

def run_pending(app: Flask, timeout: float = 10.0) -> int:
    """Run every queued job, and every scheduled one (retries) once due, in this thread,
    until the queue and the schedule are empty; the number of runs. For tests and
    one-off scripts (`flask jobs run-pending`); never alongside a consumer. A DEFAULT
    job runs before a queued BEST_EFFORT one."""
    hueys = _hueys(app)
    deadline = time.monotonic() + timeout
    runs = 0
    while True:
        huey = next((huey for huey in hueys if huey.pending_count()), None)
        if huey is not None:
            job_task = huey.dequeue()
            if job_task is not None:
                huey.execute(job_task)
                runs += 1
            continue
        if not any(huey.scheduled_count() for huey in hueys):
            return runs
        for huey in hueys:
            for due in huey.read_schedule():
                huey.enqueue(due)
        if any(huey.pending_count() for huey in hueys):
            continue
        if time.monotonic() > deadline:
            raise TimeoutError(f"jobs still scheduled after {timeout} s")
        time.sleep(0.01)


class _ReportingConsumer(Consumer):
    """Calls `on_ready` once its workers run and its signal handlers are set, so whoever
    started it knows when a SIGTERM will be the graceful stop, not the default kill.
    Its `companions` (the other queues' consumers, without signal handlers of their own)
    start, stop and have their workers' health checked with it."""

    def __init__(self, *args: Any, on_ready: Callable[[], None] | None = None,
                 companions: tuple[Consumer, ...] = (), heartbeat_app: Flask | None = None,
                 **kwargs: Any) -> None:
        self._heartbeat_app = heartbeat_app  # read by _create_scheduler, in super().__init__
        super().__init__(*args, **kwargs)
        self._on_ready = on_ready
        self.companions = companions

    def _create_scheduler(self) -> Scheduler:
        if self._heartbeat_app is None:
            return super()._create_scheduler()
        return _BeatingScheduler(huey=self.huey, stop_flag=self.stop_flag,
                                 interval=self.scheduler_interval, periodic=self.periodic,
                                 app=self._heartbeat_app)

    def start(self) -> None:
        for companion in self.companions:
            companion.start()
        super().start()
        if self._on_ready is not None:
            self._on_ready()

    def stop(self, graceful: bool = False) -> None:
        for companion in self.companions:
            companion.stop_flag.set()  # every queue stops taking jobs at once
        started = time.monotonic()
        super().stop(graceful)
        for companion in self.companions:
            # What is left of the one shutdown time (the workers ran side by side).
            companion.shutdown_timeout = max(
                0.0, SHUTDOWN_SECONDS - (time.monotonic() - started))
            companion.stop(graceful)

    def check_worker_health(self) -> bool:
        healthy = [companion.check_worker_health() for companion in self.companions]
        return super().check_worker_health() and all(healthy)


class _BeatingScheduler(Scheduler):
    """The consumer's scheduler (a thread that wakes every second) also writes the
    consumer's heartbeat into the job store, every HEARTBEAT_SECONDS."""

    def __init__(self, *args: Any, app: Flask, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._app = app
        self._next_beat = 0.0

    def loop(self, now: datetime.datetime | None = None) -> None:
        if time.monotonic() >= self._next_beat:
            self._next_beat = time.monotonic() + HEARTBEAT_SECONDS
            try:
                beat(self._app)
            except Exception as exc:  # the store is down: the queue itself will say so
                log.warning("job consumer heartbeat not written: %s", exc)
        super().loop(now)


class _QuietConsumer(_ReportingConsumer):
    """A consumer that leaves the process's signal handlers alone (it runs beside a
    server that has its own)."""

    def _set_signal_handlers(self) -> None:
        pass


def create_consumer(app: Flask, in_process: bool = False,
                    on_ready: Callable[[], None] | None = None) -> Consumer:
    """A consumer of the DEFAULT queue (JOBS_WORKERS workers, the periodic jobs' scheduler)
    carrying one of the BEST_EFFORT queue (JOBS_BEST_EFFORT_WORKERS workers): one process,
    and no best-effort job ever occupies a worker that sends mail."""
    config = app.config
    # SIGTERM (docker stop, systemd) is the graceful one: running jobs finish, for at most
    # SHUTDOWN_SECONDS (below the compose file's stop_grace_period); SIGINT stops at once.
    common = dict(worker_type="greenlet" if _gevent_patched() else "thread",
                  max_delay=config["JOBS_POLL_MAX_SECONDS"], graceful_signal="TERM",
                  shutdown_timeout=SHUTDOWN_SECONDS)
    best_effort = _QuietConsumer(get_huey(app, BEST_EFFORT),
                                 workers=config["JOBS_BEST_EFFORT_WORKERS"], periodic=False,
                                 **common)
    consumer_class = _QuietConsumer if in_process else _ReportingConsumer
    return consumer_class(get_huey(app), workers=config["JOBS_WORKERS"], periodic=True,
                          on_ready=on_ready, companions=(best_effort,), heartbeat_app=app,
                          **common)


def _gevent_patched() -> bool:
    try:
        from gevent import monkey
    except ImportError:
        return False
    return monkey.is_module_patched("socket")


def health(app: Flask | None = None) -> dict[str, int]:
    """The queue's storage answers (raises otherwise): the worker's health check."""
    return queue_depth(app)


def start_consumer(app: Flask) -> Consumer:
    """Start a consumer on threads of this process (the development servers, `python
    app.py` and `flask run`: app.py `_init_job_consumer`)."""
    consumer = create_consumer(app, in_process=True)
    consumer.start()
    return consumer


# Is anyone consuming? A heartbeat in the job store, read by /health/ready and at start.

def beat(app: Flask) -> None:
    """Record that a consumer of this app's queues is running, now (the app clock)."""
    get_huey(app).put(HEARTBEAT_KEY, clock.time())


def last_heartbeat(app: Flask | None = None) -> float | None:
    """When a consumer last wrote its heartbeat (epoch seconds), or None if never."""
    return get_huey(app).get(HEARTBEAT_KEY, peek=True)


def consumer_state(app: Flask | None = None) -> str:
    """'ok' while a consumer was seen within JOBS_CONSUMER_STALE_SECONDS; otherwise
    'no consumer seen ...', with how many jobs wait for one."""
    app = app or current_app
    seen = last_heartbeat(app)
    ago = None if seen is None else clock.time() - seen
    if ago is not None and ago <= app.config["JOBS_CONSUMER_STALE_SECONDS"]:
        return "ok"
    depth = queue_depth(app)
    waiting = depth["pending"] + depth["scheduled"]
    last = "never" if ago is None else f"{ago:.0f} s ago"
    state = f"no consumer seen (last: {last})"
    return f"{state}, {waiting} job(s) waiting" if waiting else state
