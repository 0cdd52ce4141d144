"""The OpenAPI document is generated from the code, covers every /api route, and the
whole API survives a schemathesis fuzz run without a 5xx."""
from __future__ import annotations

import json
import os
import re
import zlib

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)

from models.user import User
from services.accounts import auth_login, token_pairs
from tests.helpers import register

# Routes that serve the documentation itself rather than the API.
DOC_ROUTES = {"/api/openapi.json", "/api/asyncapi.json", "/api/docs",
              "/api/docs/assets/{filename}"}


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def test_every_api_route_is_documented(app, client):
    document = client.get("/api/openapi.json").get_json()
    documented = {(path, method.upper()) for path, item in document["paths"].items()
                  for method in item if method in {"get", "post", "put", "patch", "delete"}}
    missing = []
    for rule in app.url_map.iter_rules():
        path = openapi_path(rule.rule)
        if not path.startswith("/api") or path in DOC_ROUTES:
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if (path, method) not in documented:
                missing.append(f"{method} {path}")
    assert not missing, f"routes missing from /api/openapi.json: {missing}"


def test_document_names_the_error_shape(client):
    document = client.get("/api/openapi.json").get_json()
    error = document["components"]["schemas"]["Error"]
    assert "error" in error["properties"]
    assert document["paths"]["/health"]["get"]["responses"]["default"]


def test_swagger_ui_is_served_from_local_assets(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/docs/assets/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "https://" not in html
    asset = client.get("/api/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.data) > 100_000


# The fuzz run is split into shards of operations (by a stable hash of each operation's
# label), each its own test, so that pytest-xdist spreads it over its workers.
FUZZ_SHARDS = 8


def fuzz_shard(label: str) -> int:
    return zlib.crc32(label.encode()) % FUZZ_SHARDS


@pytest.fixture
def api_schema(app):
    return schemathesis.openapi.from_wsgi("/api/openapi.json", app)


@pytest.fixture
def fuzz_user(app, client):
    """A verified account the fuzzer acts as, so it reaches past the 401s, with the
    bearer token its cases send (`token`, replaced when a case ended it)."""
    user = register(client, "fuzzer")
    with app.app_context():
        return {"user": User().find_by_id(user["id"]), "token": None}


def fuzz_one_case(case, app, fuzz_user):
    # A fuzzed DELETE /api/auth/token, logout or password change must not leave the
    # following cases anonymous: a token the app no longer accepts is replaced first.
    with app.app_context():
        token = fuzz_user["token"]
        if token is None or auth_login.user_for_token(token) is None:
            token = fuzz_user["token"] = token_pairs.issue_pair(fuzz_user["user"],
                                                                "fuzz")["access_token"]
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"},
        checks=[not_a_server_error, response_schema_conformance, content_type_conformance])


SHARD_SCHEMAS = [schemathesis.pytest.from_fixture("api_schema").include(
    lambda ctx, shard=shard: fuzz_shard(ctx.operation.label) == shard)
    for shard in range(FUZZ_SHARDS)]


def _fuzz_test(shard: int):
    @SHARD_SCHEMAS[shard].parametrize()
    @settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "12")), deadline=None,
              suppress_health_check=list(HealthCheck))
    def test_fuzz_whole_api(case, app, fuzz_user):
        fuzz_one_case(case, app, fuzz_user)

    return test_fuzz_whole_api


for _shard in range(FUZZ_SHARDS):
    globals()[f"test_fuzz_whole_api_shard{_shard}"] = _fuzz_test(_shard)


def test_fuzz_shards_take_every_operation_once(api_schema):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 50
    for operation in operations:
        takers = [shard for shard, lazy in enumerate(SHARD_SCHEMAS)
                  if lazy.filter_set.applies_to(operation)]
        assert takers == [fuzz_shard(operation.label)], operation.label
    assert {fuzz_shard(op.label) for op in operations} == set(range(FUZZ_SHARDS))


def with_lone_surrogates(body):
    """`body` with an unpaired surrogate (utils/json_text.py) after every string, or in a
    key when it holds no string: valid JSON, but no text."""
    def spoil(value):
        if isinstance(value, str):
            return value + "\ud800"
        if isinstance(value, list):
            return [spoil(item) for item in value]
        if isinstance(value, dict):
            return {key: spoil(value) for key, value in value.items()}
        return value

    spoiled = spoil(body)
    return spoiled if spoiled != body else {**body, "\udc00": "x"}


@pytest.fixture
def positive_api_schema(app):
    """The document with positive generation only: the surrogate test spoils bodies that
    fit it, and the negative cases (about three of every four the coverage phase built for
    POST/PUT/PATCH) were built only to be skipped."""
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    schema.config.generation.update(modes=[GenerationMode.POSITIVE])
    return schema


SURROGATE_FUZZ = schemathesis.pytest.from_fixture("positive_api_schema").include(
    method=["POST", "PUT", "PATCH"])


@SURROGATE_FUZZ.parametrize()
@settings(max_examples=int(os.environ.get("FUZZ_SURROGATE_EXAMPLES", "2")), deadline=None,
          suppress_health_check=list(HealthCheck))
def test_fuzz_lone_surrogates_are_refused_everywhere(case, app, fuzz_user):
    """Every JSON body, its strings and keys given an unpaired surrogate, is refused as
    `validation_error` by whatever reads it first; nothing takes it, nothing answers 5xx.
    A 401/403/404/429 means the request was refused before its body was read."""
    if case.meta is None or not case.meta.generation.mode.is_positive or \
            case.media_type != "application/json" or not isinstance(case.body, dict):
        return  # a case built not to fit the document, or no JSON object to spoil
    with app.app_context():
        token = token_pairs.issue_pair(fuzz_user["user"], "fuzz")["access_token"]
    # Sent as the JSON text a client writes (the surrogate escaped); schemathesis itself
    # would encode the body as UTF-8, which has no surrogates.
    response = case.call(headers={"Authorization": f"Bearer {token}",
                                  "Content-Type": "application/json"},
                         data=json.dumps(with_lone_surrogates(case.body)))
    assert response.status_code in {400, 401, 403, 404, 429}, (
        case.operation.label, response.status_code, response.text)
    if response.status_code == 400:
        assert response.json()["error"]["code"] == "validation_error", (
            case.operation.label, response.text)
