"""The shape of every query the app sends to MongoDB, and whether a declared index serves it.

`ShapeRecorder` is a pymongo command listener (`monitoring.register`, so every client the
test process builds has it). For each find, aggregate, count, distinct, update, delete and
findAndModify it keeps the shape, not the values: the collection, each filter field with the
kind of its condition (equality, `$in`, range, ...), the sort, and whether a limit bounds an
unfiltered read. Only commands sent from the project's own code count: the first project
frame on the stack names the origin (`models/message.py:Message.page`); a query a test
writes itself, or the harness's clean-up, is left out. One entry per (shape, origin) with
the first test that sent it, so the set stays small.

`unserved(shapes, models)` applies MongoDB's rules (the ESR guideline of its docs, "The
ESR (Equality, Sort, Range) Guideline"): an index serves a query when its keys are the
equality fields (any order) followed by the sort fields in index order (all directions
as declared, or all reversed), then anything else. A query on an index prefix is served;
an equality on `_id` or on every key of a unique index is a point lookup; `$or` needs each
branch served. Rules for a collection that does not grow with use, and for the few
deliberate scans, live in tests/query_rules.py.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pymongo import monitoring

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
TESTS = os.path.join(ROOT, "tests") + os.sep

# Condition kinds. An index is bounded by EQUAL (a point per value) and RANGE kinds;
# the others are applied to what the index returns (MongoDB could scan the whole index
# for them, which bounds nothing).
EQUAL = frozenset({"eq", "in", "null", "missing"})  # null and missing: the null key
RANGE = frozenset({"range", "prefix", "exists", "elem"})
RANGE_OPS = frozenset({"$gt", "$gte", "$lt", "$lte"})
STRENGTH = ("eq", "null", "in", "range", "prefix", "elem", "exists")


def _regex_kind(pattern: Any) -> str:
    text = getattr(pattern, "pattern", pattern)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    anchored = isinstance(text, str) and text.startswith("^") and text[1:2] not in ("", ".")
    return "prefix" if anchored else "regex"


def condition_kind(value: Any) -> str:
    """The kind of one field's condition: eq, null, in, range, prefix, exists, ..."""
    if value is None:
        return "null"
    if hasattr(value, "pattern") and hasattr(value, "flags"):  # re.Pattern, bson Regex
        return _regex_kind(value)
    if not isinstance(value, Mapping) or not value or not all(
            isinstance(key, str) and key.startswith("$") for key in value):
        return "eq"
    ops = set(value) - {"$options"}
    if ops == {"$eq"}:
        return "null" if value["$eq"] is None else "eq"
    if ops == {"$in"}:
        return "in"
    if ops & RANGE_OPS:
        return "range"
    if "$regex" in ops:
        return _regex_kind(value["$regex"])
    if ops == {"$exists"}:
        return "exists" if value["$exists"] else "missing"
    if ops == {"$elemMatch"}:
        return "elem"
    return "+".join(sorted(op[1:] for op in ops))  # ne, nin, all, size, not ...


@dataclass(frozen=True)
class Filter:
    """A filter's shape: ((field, kind), ...) sorted, and its `$or` groups of branches."""

    fields: tuple[tuple[str, str], ...] = ()
    ors: tuple[tuple[Filter, ...], ...] = ()

    def describe(self) -> str:
        parts = [f"{field}:{kind}" for field, kind in self.fields]
        parts += ["$or[" + " | ".join(b.describe() for b in group) + "]" for group in self.ors]
        return "{" + ", ".join(parts) + "}"


def _merge(into: dict[str, str], field: str, kind: str) -> None:
    old = into.get(field)
    rank = {k: i for i, k in enumerate(STRENGTH)}
    if old is None or rank.get(kind, 99) < rank.get(old, 99):
        into[field] = kind


def filter_shape(query: Mapping[str, Any] | None) -> Filter:
    fields: dict[str, str] = {}
    ors: list[tuple[Filter, ...]] = []

    def walk(part: Mapping[str, Any]) -> None:
        for key, value in part.items():
            if key == "$and":
                for sub in value:
                    walk(sub)
            elif key == "$or":
                ors.append(tuple(filter_shape(branch) for branch in value))
            elif key in ("$comment",):
                continue
            elif key.startswith("$"):
                _merge(fields, key, "other")  # $expr, $text, $nor, $where
            else:
                kind = condition_kind(value)
                _merge(fields, key, kind)
                if kind == "elem" and isinstance(value["$elemMatch"], Mapping):
                    # {"a": {"$elemMatch": {"b": x}}} is bounded by an index on a.b
                    inner = filter_shape(value["$elemMatch"])
                    for sub, sub_kind in inner.fields:
                        if not sub.startswith("$"):
                            _merge(fields, f"{key}.{sub}", sub_kind)

    walk(query or {})
    return Filter(tuple(sorted(fields.items())), tuple(ors))


Sort = tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Shape:
    command: str
    collection: str
    filter: Filter
    sort: Sort = ()
    limited: bool = False  # an unfiltered read that stops after a few documents

    def describe(self) -> str:
        sort = " sort " + ",".join(f"{f}:{d}" for f, d in self.sort) if self.sort else ""
        return f"{self.command} {self.collection} {self.filter.describe()}{sort}"


def _sort(spec: Any) -> Sort:
    if not isinstance(spec, Mapping):
        return ()
    return tuple((field, 1 if direction == 1 else -1) for field, direction in spec.items()
                 if isinstance(direction, int))  # {"$meta": ...} sorts are not index sorts


def _pipeline_shapes(collection: str, pipeline: list[Any]) -> Iterable[Shape]:
    stages = [stage for stage in pipeline if isinstance(stage, Mapping) and stage]
    match: Mapping[str, Any] | None = None
    sort: Sort = ()
    rest = stages
    if rest and "$match" in rest[0]:
        match, rest = rest[0]["$match"], rest[1:]
    if rest and "$sort" in rest[0]:
        sort, rest = _sort(rest[0]["$sort"]), rest[1:]
    limited = bool(rest) and "$limit" in rest[0] and not sort
    if not (stages and next(iter(stages[0])) in ("$geoNear", "$search", "$collStats",
                                                 "$indexStats", "$documents")):
        yield Shape("aggregate", collection, filter_shape(match), sort, limited)
    for stage in stages:
        lookup = stage.get("$lookup")
        if isinstance(lookup, Mapping) and "foreignField" in lookup:
            # each document looks its partners up by foreignField
            yield Shape("lookup", lookup["from"], Filter(((lookup["foreignField"], "eq"),)))


def command_shapes(name: str, command: Mapping[str, Any]) -> list[Shape]:
    """The query shapes one command carries (an update or delete batch carries several)."""
    target = command.get(name)
    if not isinstance(target, str):
        return []
    if name == "find":
        flt = command.get("filter") or {}
        limited = not flt and not command.get("sort") and bool(command.get("limit"))
        return [Shape("find", target, filter_shape(flt), _sort(command.get("sort")), limited)]
    if name == "aggregate":
        return list(_pipeline_shapes(target, command.get("pipeline") or []))
    if name == "count":
        query = command.get("query")
        return [Shape("count", target, filter_shape(query))] if query else []  # metadata
    if name == "distinct":
        return [Shape("distinct", target, filter_shape(command.get("query")),
                      ((command.get("key"), 1),) if not command.get("query") else ())]
    if name == "findAndModify":
        return [Shape("findAndModify", target, filter_shape(command.get("query")),
                      _sort(command.get("sort")))]
    if name == "update":
        return [Shape("update", target, filter_shape(entry.get("q")))
                for entry in command.get("updates") or ()]
    if name == "delete":
        return [Shape("delete", target, filter_shape(entry.get("q")))
                for entry in command.get("deletes") or ()]
    return []


WATCHED = frozenset({"find", "aggregate", "count", "distinct", "findAndModify", "update",
                     "delete"})


MODELS = os.path.join(ROOT, "models") + os.sep


def project_origin(frame: Any) -> str | None:
    """`path:qualname` of the model method that sent the query (else of the first project
    frame up the stack); None if it is a test's own (or the harness's) query."""
    first = None
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith(ROOT) and "site-packages" not in filename:
            if filename.startswith(TESTS):
                break
            if first is None:
                first = frame
            if filename.startswith(MODELS):
                first = frame
                break
        frame = frame.f_back
    if first is None:
        return None
    return f"{first.f_code.co_filename[len(ROOT):]}:{first.f_code.co_qualname}"


class ShapeRecorder(monitoring.CommandListener):
    """{(shape, origin): first test id} of every query the project's code sends."""

    def __init__(self) -> None:
        self.seen: dict[tuple[Shape, str], str] = {}
        self.test = "(outside a test)"

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name not in WATCHED:
            return
        origin = project_origin(sys._getframe(1))
        if origin is None:
            return
        for shape in command_shapes(event.command_name, event.command):
            self.seen.setdefault((shape, origin), self.test)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


# Indexes and the rules

@dataclass(frozen=True)
class Index:
    name: str
    keys: tuple[tuple[str, int], ...]
    unique: bool = False
    sparse: bool = False


ID_INDEX = Index("_id_", (("_id", 1),), unique=True)


def declared_indexes(models: Iterable[Any]) -> dict[str, list[Index]]:
    """{collection: [its `_id` index and every index its model declares]}."""
    found: dict[str, list[Index]] = {}
    for model in models:
        indexes = found.setdefault(model.collection_name, [ID_INDEX])
        for index in model.indexes:
            spec = index.document
            keys = tuple((field, 1 if d == 1 else -1 if d == -1 else d)
                         for field, d in spec["key"].items())
            indexes.append(Index(spec["name"], keys, bool(spec.get("unique")),
                                 bool(spec.get("sparse") or spec.get("partialFilterExpression"))))
    return found


def _serves(index: Index, kinds: Mapping[str, str], sort: Sort) -> bool:
    equal = {field for field, kind in kinds.items() if kind in EQUAL}
    keys = index.keys
    if any(not isinstance(d, int) for _, d in keys):
        return False  # text, hashed, 2dsphere: not ordered
    if index.sparse and kinds.get(keys[0][0]) not in (EQUAL | RANGE) - {"null", "missing"}:
        return False  # a sparse index holds no document lacking its key
    if index.unique and all(kinds.get(field) in ("eq", "in") for field, _ in keys):
        return True  # a point lookup: at most one document per value
    prefix = 0
    while prefix < len(keys) and keys[prefix][0] in equal:
        prefix += 1
    if equal and prefix == 0:
        return False  # an equality the index does not start with: a scan of all of it
    wanted = [(field, d) for field, d in sort if field not in equal]
    if wanted:
        block = keys[prefix:prefix + len(wanted)]
        if [field for field, _ in block] != [field for field, _ in wanted]:
            return False  # a sort in memory
        same = [d == w for (_, d), (_, w) in zip(block, wanted, strict=True)]
        if not (all(same) or not any(same)):
            return False
    elif prefix == 0 and kinds.get(keys[0][0]) not in RANGE:
        return False  # neither bounds the scan nor gives the order
    return True


def served_by(shape: Shape, indexes: list[Index]) -> bool:
    """Whether one declared index serves `shape` (each `$or` branch, with the fields
    outside the `$or`, served on its own)."""
    if shape.limited and not shape.filter.fields and not shape.filter.ors:
        return True

    def branches(flt: Filter, base: dict[str, str]) -> list[dict[str, str]]:
        kinds = dict(base)
        for field, kind in flt.fields:
            _merge(kinds, field, kind)
        combos = [kinds]
        for group in flt.ors:
            combos = [branch for combo in combos for option in group
                      for branch in branches(option, combo)]
        return combos

    for kinds in branches(shape.filter, {}):
        if not any(_serves(index, kinds, shape.sort) for index in indexes):
            return False
    return True


@dataclass(frozen=True)
class Finding:
    shape: Shape
    origin: str
    test: str

    def line(self) -> str:
        return f"  {self.shape.describe()}\n      from {self.origin}, first in {self.test}"


def unserved(seen: Mapping[tuple[Shape, str], str], models: Iterable[Any],
             bounded: Mapping[str, str], scans: Mapping[tuple[str, str], str]) -> list[Finding]:
    """The recorded shapes no declared index serves, on collections that grow with use and
    not listed as a deliberate scan ((collection, origin) in `scans`)."""
    indexes = declared_indexes(models)
    found = []
    for (shape, origin), test in sorted(seen.items(), key=lambda item: item[0][0].describe()):
        if shape.collection in bounded or (shape.collection, origin) in scans:
            continue
        if not served_by(shape, indexes.get(shape.collection, [ID_INDEX])):
            found.append(Finding(shape, origin, test))
    return found


# Across processes (pytest-xdist hands a worker's output to the controller as plain data)

def _plain_filter(flt: Filter) -> tuple:
    return (flt.fields, tuple(tuple(_plain_filter(b) for b in group) for group in flt.ors))


def _filter(plain: Any) -> Filter:
    fields, ors = plain
    return Filter(tuple((f, k) for f, k in fields),
                  tuple(tuple(_filter(b) for b in group) for group in ors))


def to_plain(seen: Mapping[tuple[Shape, str], str]) -> list:
    return [(s.command, s.collection, _plain_filter(s.filter), s.sort, s.limited, origin, test)
            for (s, origin), test in seen.items()]


def from_plain(rows: Iterable[Any], into: dict[tuple[Shape, str], str]) -> None:
    for command, collection, flt, sort, limited, origin, test in rows:
        shape = Shape(command, collection, _filter(flt),
                      tuple((f, d) for f, d in sort), limited)
        into.setdefault((shape, origin), test)
