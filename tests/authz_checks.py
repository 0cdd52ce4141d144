"""How the authorization matrix (tests/test_authorization_matrix.py) judges one call: the
outcomes a class can expect, a call filled with the world's ids (`Variant`), and what is
wrong with an HTTP answer or a Socket.IO acknowledgement."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from bson import ObjectId

from tests.authz_world import World, differences, restore, snapshot
from utils import db as db_module

OK = "ok"                      # 2xx / ack ok
REFUSED = "refused"            # visible but not allowed: 4xx but 401 and 404
VISIBLE = "visible"            # OK or REFUSED
HIDDEN = "hidden"              # 404, word for word what a missing id gets
UNAUTHORIZED = "unauthorized"  # 401
DENIED = "denied"              # 403: a site role is missing
ANY = "any"                    # nothing private involved: anything but a 5xx
SEES = "sees"                  # 200, and the private topic's marker is in the answer
SKIP = None                    # not tried for this role

# Outcomes after which the database must be as it was.
REFUSALS = {REFUSED, HIDDEN, UNAUTHORIZED, DENIED}

NAME = re.compile(r"@([a-z_]+)")


@dataclass
class Variant:
    """One route (or event) filled in: `path` is the event name for a socket event."""

    key: str
    cls: str
    method: str
    path: str
    body: Any = None
    query: dict[str, str] | None = None
    obj: str | None = None  # the private object it reaches, by world name
    labels: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        extra = f" ?{self.query}" if self.query else ""
        extra += f" {json.dumps(self.body, ensure_ascii=False)}" if self.body is not None else ""
        return f"{self.key} [{' '.join(self.labels)}]{extra}"


def resolve(world: World, value: Any) -> tuple[Any, list[str]]:
    """`value` with every `@name` replaced by the id of that object or person; also the
    names of the private objects it named."""
    names: list[str] = []

    def fill(name: str) -> str:
        if name in world.ids:
            if name in world.scopes and name not in names:
                names.append(name)
            return world.ids[name]
        return world.people[name].id

    def walk(item: Any) -> Any:
        if isinstance(item, dict):
            return {k: walk(v) for k, v in item.items()}
        if isinstance(item, list):
            return [walk(v) for v in item]
        if isinstance(item, str):
            return NAME.sub(lambda found: fill(found.group(1)), item)
        return item

    return walk(value), names


def missing(variant: Variant, world: World) -> Variant:
    """The same call on an id that does not exist; on no object, a path that does not
    exist (what a hidden route must answer like)."""
    if variant.obj is None:
        return replace(variant, path=variant.path + "-missing")
    old = world.ids[variant.obj]
    text = json.dumps([variant.path, variant.body, variant.query]).replace(old, str(ObjectId()))
    path, body, query = json.loads(text)
    return replace(variant, path=path, body=body, query=query)


def leaks(text: str, world: World, role: str, variant: Variant) -> list[str]:
    """`role`'s leak tokens found in `text`, but for ids the caller sent itself."""
    sent = json.dumps([variant.path, variant.body, variant.query], ensure_ascii=False)
    return [token for token in world.leak_tokens(role) if token in text and token not in sent]


def error_of(response) -> Any:
    payload = response.get_json(silent=True)
    return payload.get("error") if isinstance(payload, dict) else response.get_data(as_text=True)


def judge(outcome: Any, response, world: World, role: str, variant: Variant) -> str | None:
    """What is wrong with an HTTP `response` expected to be `outcome`, or None."""
    # A download's bytes need not be text; a marker or an id in them still shows.
    status, text = response.status_code, response.get_data().decode(errors="replace")
    leaked = leaks(text, world, role, variant)
    if leaked:
        return f"{status}, leaks {leaked}: {text[:300]}"
    if status >= 500:
        return f"{status}: {text[:300]}"
    good = {
        OK: 200 <= status < 300,
        REFUSED: 400 <= status < 500 and status not in (401, 404),
        VISIBLE: status < 500 and status not in (401, 404),
        HIDDEN: status == 404,
        UNAUTHORIZED: status == 401,
        DENIED: status == 403,
        ANY: True,
        SEES: status == 200 and "xylotopic" in text,
    }[outcome]
    return None if good else f"expected {outcome}, got {status}: {text[:300]}"


def judge_ack(outcome: Any, ack: Any, world: World, role: str, variant: Variant) -> str | None:
    """What is wrong with a Socket.IO acknowledgement expected to be `outcome`, or None."""
    text = json.dumps(ack, ensure_ascii=False)
    leaked = leaks(text, world, role, variant)
    if leaked:
        return f"ack leaks {leaked}: {text[:300]}"
    if not isinstance(ack, dict) or "ok" not in ack:
        return f"not an acknowledgement: {text[:300]}"
    code = None if ack["ok"] else ack["error"]["code"]
    good = {
        OK: ack["ok"] is True,
        REFUSED: code not in (None, "not_found", "unauthorized", "internal_error"),
        HIDDEN: code == "not_found",
        DENIED: code == "forbidden",  # visible, but not this user's (or socket's) to act on
        ANY: code != "internal_error",
    }[outcome]
    return None if good else f"expected {outcome}, got {text[:300]}"


# Commands that never change a document (the app writes with no `$out` or `$merge`).
READ_COMMANDS = {"find", "getMore", "aggregate", "count", "distinct", "listCollections",
                 "listIndexes", "killCursors", "endSessions", "ping", "hello", "isMaster",
                 "ismaster", "buildInfo", "dbStats", "collStats"}


def _writes_sent() -> int:
    """Commands other than reads this process has sent (MONGO_COUNT_COMMANDS counts them)."""
    return sum(count for name, count in db_module.COMMANDS.counts.items()
               if name.split()[0] not in READ_COMMANDS)


def written(app, baseline: dict[str, list]) -> list[str]:
    """What the database has that `baseline` did not (then put back as it was), or [].
    With the app counting its commands, a call that sent no write is answered without
    reading the whole database again (most calls of the matrices are refusals)."""
    counting = app.config.get("MONGO_COUNT_COMMANDS")
    seen = app.extensions.get("authz_writes_seen")
    if counting and seen is not None and _writes_sent() == seen:
        return []
    now = snapshot(app)
    changed = differences(baseline, now)
    if changed:
        restore(app, baseline, now)
    if counting:
        app.extensions["authz_writes_seen"] = _writes_sent()
    return changed
