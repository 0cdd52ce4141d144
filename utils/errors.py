"""Domain errors and the one JSON error shape every response uses.

Services raise these; `register_error_handlers` renders them, routing errors (404, 405,
413), schema failures and unexpected exceptions as
`{"error": {"code", "message", "details"?}}`.
"""
from __future__ import annotations

import logging
from typing import Any

import pymongo.errors
import redis.exceptions
from flask import Flask, g, jsonify
from werkzeug.exceptions import HTTPException, InternalServerError

from utils import metrics

log = logging.getLogger(__name__)


class APIError(Exception):
    status = 400
    code = "bad_request"
    message = "Bad request."

    def __init__(self, message: str | None = None, details: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        self.details = details
        self.headers = headers or {}


class BadRequest(APIError):
    status, code, message = 400, "bad_request", "Bad request."


class ValidationFailed(APIError):
    status, code, message = 400, "validation_error", "The request has invalid fields."


class Unauthorized(APIError):
    status, code, message = 401, "unauthorized", "Authentication required."


class InvalidCredentials(APIError):
    status, code, message = 401, "invalid_credentials", "The login or password is wrong."


class OtpRequired(APIError):
    status, code, message = 401, "otp_required", "A valid two-factor code is required."


class CsrfFailed(APIError):
    status, code, message = 403, "csrf_failed", "The X-CSRF-Token header is missing or wrong."


class EmailNotVerified(APIError):
    status, code, message = 403, "email_not_verified", "Verify your email address first."


class PayloadTooLarge(APIError):
    status, code, message = 413, "payload_too_large", "The upload is too large."


class QuotaExceeded(APIError):
    status, code, message = 413, "quota_exceeded", "The upload quota is used up."


class ImageTooComplex(APIError):
    """An image whose frames x canvas, time or memory to re-encode is over the budget."""
    status, code, message = 413, "image_too_complex", "The image is too costly to process."


class UnsupportedMediaType(APIError):
    status, code, message = 415, "unsupported_media_type", "This media type is not accepted."


class Forbidden(APIError):
    status, code, message = 403, "forbidden", "You may not do this."


class Muted(Forbidden):
    """A muted account (site mute) or member (room mute) tried to write; `details` names
    the expiry so clients can say until when."""
    code, message = "muted", "You are muted and cannot write."


class RoomReadOnly(Forbidden):
    """A topic's chat room its moderators closed: readable, not writable (until reopened)."""
    code, message = "room_read_only", "This room is closed: it can be read but not written."


class NotFound(APIError):
    status, code, message = 404, "not_found", "Not found."


class Conflict(APIError):
    status, code, message = 409, "conflict", "This conflicts with existing data."


class PollClosed(Conflict):
    """A vote on a poll past its `closes_at`."""
    status, code, message = 409, "poll_closed", "This poll is closed."


class ContentRejected(APIError):
    status, code, message = 422, "content_rejected", "The content was rejected."


class TooManyMentions(APIError):
    """A new account (trust level 0) mentioned more people in one item than it may."""
    status, code, message = 422, "too_many_mentions", "Too many mentions for a new account."


class TooManyAttachments(APIError):
    """A new account (trust level 0) attached more files to one item than it may."""
    status, code, message = 422, "too_many_attachments", "Too many attachments for a new account."


class RateLimited(APIError):
    status, code, message = 429, "rate_limited", "Too many requests; slow down."

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message, headers={"Retry-After": str(max(1, int(retry_after)))})
        self.retry_after = max(1, int(retry_after))


class DuplicateContent(RateLimited):
    """The same text sent to more places than REPEAT_CONTENT_MAX within the window."""
    code = "duplicate_content"


class ServiceUnavailable(APIError):
    status, code, message = 503, "service_unavailable", "A backing service is unavailable."


# Codes for errors raised by Werkzeug/Flask itself (routing, body size, limiter).
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}

# Exceptions that mean "a dependency is down", not "our code is wrong".
DEPENDENCY_ERRORS = (
    pymongo.errors.ConnectionFailure,
    pymongo.errors.ServerSelectionTimeoutError,
    pymongo.errors.NetworkTimeout,
    pymongo.errors.ExecutionTimeout,
    pymongo.errors.WaitQueueTimeoutError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


def dependency_name(exc: BaseException) -> str | None:
    """'mongo' or 'redis' when exc means that dependency is unreachable, else None."""
    if isinstance(exc, redis.exceptions.RedisError) and isinstance(exc, DEPENDENCY_ERRORS):
        return "redis"
    if isinstance(exc, DEPENDENCY_ERRORS):
        return "mongo"
    # With timeoutMS, pymongo reports an expired client-side deadline as PyMongoError.timeout.
    if isinstance(exc, pymongo.errors.PyMongoError) and getattr(exc, "timeout", False):
        return "mongo"
    return None


def error_response(status: int, code: str, message: str, details: dict | None = None,
                   headers: dict[str, str] | None = None):
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    response = jsonify({"error": body})
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


# Where webargs files a schema's messages; the contract lists them by field alone.
LOCATIONS = {"json", "query", "querystring", "form", "files", "path", "headers", "cookies",
             "json_or_form"}


def field_messages(messages: Any) -> dict:
    """webargs nests messages under the location; the contract wants field -> messages."""
    if isinstance(messages, dict) and len(messages) == 1 and next(iter(messages)) in LOCATIONS:
        messages = next(iter(messages.values()))
    return messages if isinstance(messages, dict) else {"_schema": messages}


def handle_api_error(exc: APIError):
    return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)


def handle_http_exception(exc: HTTPException):
    status = exc.code or 500
    if status == 422:
        # A schema failure raised as flask-smorest's own `abort(422, messages=...)` (our
        # parser raises ValidationFailed itself): the contract calls it 400.
        messages = (getattr(exc, "data", None) or {}).get("messages")
        return error_response(400, "validation_error", "The request has invalid fields.",
                              field_messages(messages) if messages else None)
    if status == 429:
        retry_after = None
        response = getattr(exc, "response", None)
        if response is not None:
            retry_after = response.headers.get("Retry-After")
        return error_response(429, "rate_limited", "Too many requests; slow down.",
                              headers={"Retry-After": retry_after or "60"})
    if status >= 500:
        return handle_unexpected(getattr(exc, "original_exception", None) or exc)
    code = HTTP_CODES.get(status, "bad_request")
    message = exc.description or code.replace("_", " ")
    headers = {}
    if status == 405 and exc.get_headers():
        headers = {k: v for k, v in exc.get_headers() if k.lower() == "allow"}
    return error_response(status, code, message, headers=headers)


def handle_unexpected(exc: BaseException):
    if isinstance(exc, APIError):
        return handle_api_error(exc)
    dependency = dependency_name(exc)
    if dependency:
        metrics.dependency_failed(dependency)
        log.warning("dependency %s unavailable: %s", dependency, exc)
        return error_response(503, "service_unavailable",
                              f"The {dependency} service is unavailable; try again shortly.",
                              {"dependency": dependency}, {"Retry-After": "5"})
    if isinstance(exc, HTTPException) and not isinstance(exc, InternalServerError):
        return handle_http_exception(exc)
    request_id = g.get("request_id", "-")
    log.error("unhandled error (request %s)", request_id, exc_info=exc)
    return error_response(500, "internal_error",
                          f"Something went wrong on our side (request {request_id}).")


def register_error_handlers(app: Flask) -> None:
    """App-wide handlers, so routing errors outside any blueprint are JSON too."""
    app.register_error_handler(APIError, handle_api_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
