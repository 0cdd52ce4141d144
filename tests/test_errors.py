"""One error shape for every failure, including the ones Flask raises itself."""
from __future__ import annotations

import logging

import flask_smorest
import pytest
from marshmallow import fields

from utils.api import Blueprint
from utils.errors import Conflict
from utils.schemas import StrictSchema


class EchoSchema(StrictSchema):
    name = fields.String(required=True)


@pytest.fixture
def probe_app(make_app):
    """An app with a few probe routes that exercise the shared error machinery."""
    application = make_app(reuse=False)  # adds routes
    blp = Blueprint("probe", __name__, url_prefix="/api/probe")

    @blp.route("/echo", methods=["POST"])
    @blp.arguments(EchoSchema)
    @blp.response(200, EchoSchema)
    def echo(body):
        return body

    @blp.route("/boom")
    def boom():
        raise RuntimeError("secret internals")

    @blp.route("/conflict")
    def conflict():
        raise Conflict("Taken.")

    @blp.route("/smorest-422")
    def smorest_422():
        # What flask-smorest's own parser would raise, were a route to use it.
        flask_smorest.abort(422, messages={"json": {"name": ["Missing data."]}})

    @blp.route("/bare-422")
    def bare_422():
        flask_smorest.abort(422)

    application.register_blueprint(blp)
    return application


def assert_error(response, status, code):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    body = response.get_json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


def test_unknown_route_is_json_404(client):
    assert_error(client.get("/api/nope"), 404, "not_found")


def test_wrong_method_is_json_405(client):
    response = client.delete("/health")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_malformed_json_is_400_not_500(probe_app):
    response = probe_app.test_client().post("/api/probe/echo", data="{bad",
                                            content_type="application/json")
    assert_error(response, 400, "bad_request")


def test_unknown_json_field_is_validation_error(probe_app):
    response = probe_app.test_client().post("/api/probe/echo",
                                            json={"name": "x", "role": "admin"})
    error = assert_error(response, 400, "validation_error")
    assert "role" in error["details"]


def test_missing_field_names_the_field(probe_app):
    error = assert_error(probe_app.test_client().post("/api/probe/echo", json={}),
                         400, "validation_error")
    assert error["details"] == {"name": ["Missing data for required field."]}


def test_valid_body_passes(probe_app):
    response = probe_app.test_client().post("/api/probe/echo", json={"name": "x"})
    assert response.status_code == 200 and response.get_json() == {"name": "x"}


def test_oversize_body_is_413(make_app):
    application = make_app(MAX_CONTENT_LENGTH=1024)
    response = application.test_client().post("/api/anything", data="x" * 5000,
                                              content_type="application/json")
    assert_error(response, 413, "payload_too_large")


def test_form_and_text_bodies_never_reach_a_view(probe_app):
    client = probe_app.test_client()
    assert_error(client.post("/api/probe/echo", data={"name": "x"}), 415,
                 "unsupported_media_type")
    assert_error(client.post("/api/probe/echo", data='{"name": "x"}', content_type="text/plain"),
                 415, "unsupported_media_type")


def test_domain_error_renders_its_code(probe_app):
    assert_error(probe_app.test_client().get("/api/probe/conflict"), 409, "conflict")


def test_a_422_from_the_library_is_our_validation_error(probe_app):
    """Our parser raises validation_error itself; a 422 raised the library's way answers
    the same shape, its messages listed by field."""
    client = probe_app.test_client()
    error = assert_error(client.get("/api/probe/smorest-422"), 400, "validation_error")
    assert error["details"] == {"name": ["Missing data."]}
    assert "details" not in assert_error(client.get("/api/probe/bare-422"), 400,
                                         "validation_error")


def test_500_hides_internals_and_logs_request_id(probe_app, caplog):
    with caplog.at_level(logging.ERROR):
        response = probe_app.test_client().get("/api/probe/boom",
                                               headers={"X-Request-ID": "req-12345678"})
    error = assert_error(response, 500, "internal_error")
    assert "secret internals" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    assert "req-12345678" in error["message"]
    assert response.headers["X-Request-ID"] == "req-12345678"
    logged = [r for r in caplog.records if "req-12345678" in r.getMessage()]
    assert logged and logged[0].exc_info and "secret internals" in str(logged[0].exc_info[1])


def test_every_response_has_a_request_id(client):
    first = client.get("/health").headers["X-Request-ID"]
    second = client.get("/api/nope").headers["X-Request-ID"]
    assert first and second and first != second


def test_spoofed_request_id_is_replaced(client):
    response = client.get("/health", headers={"X-Request-ID": "<script>alert(1)</script>"})
    assert response.headers["X-Request-ID"] != "<script>alert(1)</script>"


def test_collection_paths_answer_with_or_without_trailing_slash(client):
    for path in ("/api/topics", "/api/topics/", "/api/posts", "/api/posts/",
                 "/api/search?q=x", "/api/search/?q=x", "/api/users?q=x", "/api/users/?q=x"):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
