"""flask-smorest wired to the contract: validation failures are 400 `validation_error`,
malformed JSON (and JSON nested too deeply to parse) is 400 `bad_request`, a string that
is no text (an unpaired surrogate, utils/json_text.py) is 400 `validation_error`, ids in
paths are ObjectIds, and the OpenAPI document names our error shape for every response."""
from __future__ import annotations

import functools

import flask_smorest
import orjson
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.openapi import OpenAPIConverter
from bson import ObjectId
from flask import Request, Response, current_app, jsonify
from flask.json.provider import DefaultJSONProvider, _default
from flask_smorest.utils import unpack_tuple_response
from webargs.flaskparser import FlaskParser
from werkzeug.routing import BaseConverter, ValidationError

from utils.auth import security_doc
from utils.encoded import EncodedJSON
from utils.errors import BadRequest, ValidationFailed, field_messages
from utils.json_text import surrogate_details
from utils.schemas import ErrorSchema, TaggedUnion


class ContractParser(FlaskParser):
    DEFAULT_VALIDATION_STATUS = 400

    def handle_error(self, error, req, schema, *, error_status_code, error_headers):
        raise ValidationFailed(details=field_messages(error.normalized_messages()))

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        raise BadRequest("The body is not valid JSON.")

    def _raw_load_json(self, req):
        try:
            data = super()._raw_load_json(req)
        except RecursionError:
            raise BadRequest(NESTED_TOO_DEEPLY) from None
        details = surrogate_details(data)
        if details:
            raise ValidationFailed(details=details)
        return data


NESTED_TOO_DEEPLY = "The body is nested too deeply."


class NotText(ValueError):
    """A JSON document holding an unpaired surrogate (utils/json_text.py)."""

    def __init__(self, details: dict) -> None:
        super().__init__("The body holds an unpaired surrogate.")
        self.details = details


# orjson's own datetime format (RFC 3339) is not what Flask's provider wrote (RFC 822, the
# HTTP date): datetimes, dates and everything else orjson does not know go through Flask's
# `default`, so every value reads as it did. Keys are not sorted (clients read JSON, not
# bytes); non-string keys become strings, as the json module makes them.
ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


class JSONProvider(DefaultJSONProvider):
    """Responses are encoded by orjson (8-10x faster than the json module on our pages,
    `make bench-serialize`), as compact UTF-8 (no `\\u` escapes: JSON is UTF-8 on the wire,
    RFC 8259). What orjson refuses (an integer beyond 64 bits) falls back to the json module,
    so no value that encoded before fails now; an unknown type is the same TypeError.

    `request.get_json()` answers 400 `bad_request` (not 500) for a body nested deeper
    than Python's parser recurses: its RecursionError becomes the ValueError that Flask
    treats as malformed JSON (and `silent=True` as no JSON). A document holding an
    unpaired surrogate is a ValueError too (NotText), which ContractRequest answers
    `validation_error`."""

    ensure_ascii = False
    sort_keys = False

    def encode(self, obj) -> bytes:
        """`obj` as the compact JSON bytes a response carries (without its newline)."""
        try:
            return orjson.dumps(obj, default=_default, option=ORJSON_OPTIONS)
        except orjson.JSONEncodeError:
            # ASCII escapes: also safe for a string orjson refused as no UTF-8.
            return super().dumps(obj, separators=(",", ":"), ensure_ascii=True).encode()

    def dumps(self, obj, **kwargs) -> str:
        if kwargs:  # json module options (indent, separators ...): the json module's output
            return super().dumps(obj, **kwargs)
        return self.encode(obj).decode()

    def response(self, *args, **kwargs):
        if (self.compact is None and self._app.debug) or self.compact is False:
            return super().response(*args, **kwargs)  # indented for a person to read
        body = self.encode(self._prepare_response_obj(args, kwargs))
        return self._app.response_class(body + b"\n", mimetype=self.mimetype)

    def loads(self, s, **kwargs):
        try:
            data = super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError(NESTED_TOO_DEEPLY) from None
        details = surrogate_details(data)
        if details:
            raise NotText(details)
        return data


class ContractRequest(Request):
    """`request.get_json()` refuses a body that is no text as the schemas refuse a bad
    field (silently ignored with `silent=True`, as malformed JSON is)."""

    def on_json_loading_failed(self, e):
        if isinstance(e, NotText):
            raise ValidationFailed(details=e.details)
        return super().on_json_loading_failed(e)


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = ContractParser()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._prepare_doc_cbks.append(self._prepare_security_doc)

    @staticmethod
    def _prepare_security_doc(doc, doc_info, *, method, **kwargs):
        """Each operation names the credentials it needs (`security: []` when none), as
        `login_required`, the role decorators and `csrf_exempt` marked the view."""
        doc["security"] = security_doc(method, doc_info)
        return doc

    def response(self, status_code, schema=None, **kwargs):
        """Document `schema` for this status; the body is sent as the view returns it.

        Services build every body with the same schema (services/platform/shapes), since the
        socket events carry the same shapes; a second dump here would only cost time.
        """
        documented = super().response(status_code, schema, **kwargs)
        if schema is None:
            return documented

        def decorator(func):
            @functools.wraps(func)
            def send_as_built(*args, **view_kwargs):
                body, status, headers = unpack_tuple_response(func(*args, **view_kwargs))
                if isinstance(body, Response):
                    return body, status, headers
                if isinstance(body, EncodedJSON):  # encoded already (a cached page)
                    sent = current_app.response_class(body + b"\n", mimetype="application/json")
                else:
                    sent = jsonify(body)
                sent.status_code = int(status_code)
                return sent, status, headers

            return documented(send_as_built)

        return decorator


# OpenAPI 3.0.3: `nullable` adds null only to a `type` in the same schema object, so
# `{type: object, nullable: true, enum: [null]}` is the schema of null and nothing else.
NULL_ONLY = {"type": "object", "nullable": True, "enum": [None]}


class NullableRefConverter(OpenAPIConverter):
    """OpenAPI 3.0 has no `null` type: apispec writes a nullable nested schema as
    `anyOf: [{type: object, nullable: true}, {$ref}]`, which admits any object, and
    `nullable: true` beside `allOf: [{$ref}]` is ignored by strict validators (no `type`
    beside it), which then refuse the null. Write `oneOf: [{$ref}, NULL_ONLY]`: the
    referenced shape, or null (generated clients type it `Shape | null`)."""

    def field2nullable(self, field, ret) -> dict:
        if field.allow_none and self.openapi_version.major == 3 and \
                self.openapi_version.minor == 0 and ("$ref" in ret or "allOf" in ret):
            shapes = [{"$ref": ret.pop("$ref")}] if "$ref" in ret else ret.pop("allOf")
            shape = shapes[0] if len(shapes) == 1 else {"allOf": shapes}
            return {"oneOf": [shape, dict(NULL_ONLY)]}
        return super().field2nullable(field, ret)

    def init_attribute_functions(self):
        super().init_attribute_functions()
        self.add_attribute_function(tagged_union2properties)


def tagged_union2properties(self, field, **kwargs) -> dict:
    """A TaggedUnion as `oneOf` its shapes with a `discriminator` mapping each value of
    the key to its shape (the generated clients narrow on it)."""
    if not isinstance(field, TaggedUnion):
        return {}
    refs = {value: self.resolve_nested_schema(schema)
            for value, schema in field.choices.items()}
    return {"oneOf": list(refs.values()),
            "discriminator": {"propertyName": field.key,
                              "mapping": {value: ref["$ref"] for value, ref in refs.items()}}}


class ContractPlugin(MarshmallowPlugin):
    Converter = NullableRefConverter


class Api(flask_smorest.Api):
    ERROR_SCHEMA = ErrorSchema

    def _init_spec(self, **kwargs):
        kwargs["marshmallow_plugin"] = ContractPlugin()
        super()._init_spec(**kwargs)

    def _register_error_handlers(self):
        """Errors are rendered by utils.errors for the whole app, not by flask-smorest."""


class ObjectIdConverter(BaseConverter):
    """`<objectid:name>` matches only a well-formed id, so a malformed one is a routing
    404; the view receives the id as a string."""

    def to_python(self, value: str) -> str:
        if len(value) != 24 or not ObjectId.is_valid(value):
            raise ValidationError()
        return value

    def to_url(self, value) -> str:
        return str(value)


def register_converters(app, api: Api) -> None:
    app.url_map.converters["objectid"] = ObjectIdConverter
    api.register_converter(ObjectIdConverter,
                           lambda converter: {"type": "string", "pattern": "^[0-9a-f]{24}$"})

