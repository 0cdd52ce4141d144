"""Explicit registration (issue 26 point 4): the app factory registers the models
(`models.registry.ALL_MODELS`), the jobs and the live-room hooks (`registrations.py`),
one list each; importing a module registers nothing, and a job's stored name never
changes."""
from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import registrations
from models.registry import ALL_MODELS
from utils import jobs

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("routes", "services", "models", "utils")

# The names queued jobs carry in Redis or SQLite today (services.<module>.<function>,
# the domain package left out). A job renamed here would orphan what waits in a queue.
STORED_NAMES = {
    "services.attachments.remove_uploads",
    "services.attachments.sweep_uploads",
    "services.auth_passwords._mail_reset_link",
    "services.auth_signup._mail_registration_attempt",
    "services.auth_signup._resend_verification",
    "services.auth_signup._send_verification",
    "services.call_push.ring_push",
    "services.call_push.ring_stopped_push",
    "services.chat_previews.attach_message_previews",
    "services.chat_scheduled.send_scheduled_messages",
    "services.comments_service.attach_comment_previews",
    "services.data_export.build_export",
    "services.data_export.sweep_exports",
    "services.email_service.deliver",
    "services.notify_content.fan_out_to_followers",
    "services.notify_digest.send_digests",
    "services.notify_digest.send_digests_hourly",
    "services.notify_mail.mail_sweep",
    "services.poll_live.announce_poll",
    "services.posts_service.attach_post_previews",
    "services.push_delivery.push_notification",
    "services.push_delivery.push_retry_sweep",
}

# Run in a fresh interpreter: import every module of the code base, look for any
# module-level list, dict or set holding a job, a model class or a live-room hook (a
# registry filled by importing), then build an app with create_app and look again.
PROBE = """
import importlib, json, pkgutil, sys

PACKAGES = ("routes", "services", "models", "utils")
names = []
for package in PACKAGES:
    module = importlib.import_module(package)
    names += [info.name for info in pkgutil.walk_packages(module.__path__, package + ".")]
for name in sorted(names) + ["socketio_handlers", "socketio_calls", "registrations", "app"]:
    importlib.import_module(name)

from flask import Flask

import registrations
from models import indexes
from models.base import BaseModel
from services.notify import push_delivery
from services.platform import live_rooms
from services.polls import poll_hosts
from utils import jobs

OURS = set(PACKAGES) | {"socketio_handlers", "socketio_calls", "registrations", "app"}
hooks = (registrations.CHAT_ROOM_LEAVERS + registrations.PUSH_READERS
         + tuple(registrations.POLL_HOSTS.values()))


def registered_thing(value):
    return (isinstance(value, jobs.Job) or any(value is hook for hook in hooks)
            or (isinstance(value, type) and issubclass(value, BaseModel)))


def module_registries():
    found = []
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] not in OURS:
            continue
        for attribute, value in vars(module).items():
            if isinstance(value, (list, dict, set)):
                items = list(value.values()) if isinstance(value, dict) else list(value)
                if any(registered_thing(item) for item in items):
                    found.append(f"{name}.{attribute}")
    return sorted(found)


before = module_registries()
bare = Flask("bare")
bare.config.update(REDIS_URL=None, JOBS_SQLITE_PATH=sys.argv[1] + "/bare.sqlite3",
                   JOBS_QUEUE_NAME="bare")
jobs.init_app(bare, [])
indexes.init_app(bare, [])
live_rooms.init_app(bare, chat_room_leavers=[])
bare_knows = [sorted(jobs.registered(bare)), len(indexes.registered_models(bare)),
              len(live_rooms.chat_room_leavers(bare))]

from app import create_app

application = create_app("testing", MONGO_URI="mongodb://127.0.0.1:9/", REDIS_URL=None,
                         JOBS_SQLITE_PATH=sys.argv[1] + "/app.sqlite3",
                         SESSION_DIR=sys.argv[1] + "/sessions")
from models.registry import ALL_MODELS

print(json.dumps({
    "before": before,
    "bare": bare_knows,
    "jobs": sorted(jobs.registered(application)),
    "listed_jobs": sorted(job.name for job in registrations.JOBS),
    "models": indexes.registered_models(application) == ALL_MODELS,
    "hooks": live_rooms.chat_room_leavers(application) == registrations.CHAT_ROOM_LEAVERS
             and push_delivery.readers(application) == registrations.PUSH_READERS
             and poll_hosts.hosts(application) == registrations.POLL_HOSTS,
    "after": module_registries(),
}))
"""


def test_importing_every_module_registers_nothing_until_create_app(tmp_path):
    result = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    # No registry was filled by importing every module...
    assert seen["before"] == []
    # ...so an app given empty lists knows no job, model or hook, whatever was imported.
    assert seen["bare"] == [[], 0, 0]
    # create_app registers exactly the three lists, on the app and nowhere else.
    assert seen["jobs"] == seen["listed_jobs"] and len(seen["jobs"]) == len(STORED_NAMES)
    assert seen["models"] is True and seen["hooks"] is True
    assert seen["after"] == []


def _defined_jobs() -> dict[str, jobs.Job]:
    """Every function decorated with `jobs.task(...)` or `jobs.periodic(...)` in the code
    base, found by reading the source, as the Job its module defines."""
    found: dict[str, jobs.Job] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(), str(path))
            module_name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef) and any(
                        isinstance(decorator, ast.Call)
                        and isinstance(decorator.func, ast.Attribute)
                        and decorator.func.attr in ("task", "periodic")
                        and isinstance(decorator.func.value, ast.Name)
                        and decorator.func.value.id == "jobs"
                        for decorator in node.decorator_list):
                    job = getattr(importlib.import_module(module_name), node.name)
                    found[f"{module_name}.{node.name}"] = job
    return found


def test_every_job_defined_in_the_code_is_in_the_list():
    defined = _defined_jobs()
    assert len(defined) >= len(STORED_NAMES)
    listed = {id(job) for job in registrations.JOBS}
    missing = sorted(name for name, job in defined.items() if id(job) not in listed)
    assert missing == [], "add these jobs to registrations.JOBS"
    # And the list holds nothing else (each entry is one of the defined jobs).
    assert len(registrations.JOBS) == len(defined)
    assert all(isinstance(job, jobs.Job) for job in registrations.JOBS)


def test_job_names_stay_the_names_queued_jobs_carry(make_app):
    app = make_app(reuse=False)  # an app no test added jobs of its own to
    assert {job.name for job in registrations.JOBS} == STORED_NAMES
    assert set(jobs.registered(app)) == STORED_NAMES
    # What Huey writes into each queued message (and looks up when running it): the
    # module of the wrapper that runs the job in an app context, then the job's name.
    assert {name for huey in jobs._hueys(app) for name in huey._registry._registry} \
        == {f"utils.jobs.{name}" for name in STORED_NAMES}


def test_the_models_list_is_every_model_class_without_an_import_circle():
    from models.base import BaseModel

    classes = {value for path in (ROOT / "models").glob("*.py")
               for value in vars(importlib.import_module(f"models.{path.stem}")).values()
               if isinstance(value, type) and issubclass(value, BaseModel)
               and value is not BaseModel and value.__module__ == f"models.{path.stem}"}
    assert set(ALL_MODELS) == classes and len(ALL_MODELS) == len(classes)
    # models.registry imports the model modules; none of them (nor the package) imports
    # it back, not even inside a function.
    for path in (ROOT / "models").glob("*.py"):
        if path.stem == "registry":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                named = {f"{node.module}.{alias.name}" for alias in node.names}
                assert "models.registry" not in named | {node.module}, path
            elif isinstance(node, ast.Import):
                assert all(alias.name != "models.registry" for alias in node.names), path
    registry_imports = {node.module for node in ast.walk(ast.parse(
        (ROOT / "models" / "registry.py").read_text())) if isinstance(node, ast.ImportFrom)}
    registry_imports |= {alias.name for node in ast.walk(ast.parse(
        (ROOT / "models" / "registry.py").read_text())) if isinstance(node, ast.Import)
        for alias in node.names}
    assert "models" not in registry_imports
