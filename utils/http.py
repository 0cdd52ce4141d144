"""Request plumbing: request ids, security headers, CORS, proxies and body types."""
from __future__ import annotations

import functools
import ipaddress
import logging
import re
import uuid
from urllib.parse import urlsplit

from flask import Flask, after_this_request, current_app, g, request
from flask_cors import CORS
from publicsuffixlist import PublicSuffixList
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.serving import WSGIRequestHandler

from utils.errors import UnsupportedMediaType
from utils.proxies import ForwardedOnlyFromProxies

log = logging.getLogger("roundtable")

REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Response headers a script on an allowed origin may read (fetch hides the others).
WARNING_HEADER = "X-Roundtable-Warning"
EXPOSED_HEADERS = ["X-Request-ID", "Retry-After", "X-RateLimit-Limit",
                   "X-RateLimit-Remaining", "X-RateLimit-Reset", WARNING_HEADER]
# The statuses whose Retry-After means something: too many requests, unavailable.
RETRY_AFTER_STATUSES = {429, 503}
# A body the API accepts; form posts and text/plain (CSRF vectors) never reach a view.
ACCEPTED_BODY_TYPES = {"application/json", "multipart/form-data"}


def assign_request_id() -> None:
    """The request's id: the client's X-Request-ID when well formed, else a new one."""
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if REQUEST_ID_PATTERN.match(incoming) else uuid.uuid4().hex


def accepts_form_body(view):
    """Let one view take an application/x-www-form-urlencoded body (RFC 8058 one-click
    unsubscribe POSTs `List-Unsubscribe=One-Click` that way); put it under the route."""
    view._accepts_form_body = True
    return view


def body_limit(setting: str, slack: int = 64 * 1024):
    """Let one view take bodies up to config[setting] + `slack` bytes (multipart
    framing) instead of MAX_CONTENT_LENGTH; put it under the route."""
    def mark(view):
        view._body_limit_setting = (setting, slack)
        return view
    return mark


def _view_mark(name: str):
    view = current_app.view_functions.get(request.endpoint or "")
    while view is not None:
        if getattr(view, name, None):
            return getattr(view, name)
        view = getattr(view, "__wrapped__", None)
    return None


def _view_accepts_form() -> bool:
    return bool(_view_mark("_accepts_form_body"))


def _body_limit() -> int | None:
    mark = _view_mark("_body_limit_setting")
    if mark is None:
        return current_app.config["MAX_CONTENT_LENGTH"]
    setting, slack = mark
    limit = current_app.config[setting] + slack
    request.max_content_length = limit  # what the form parser enforces too
    return limit


def require_json_body() -> None:
    if request.method not in UNSAFE_METHODS:
        return
    has_body = bool(request.content_length) or request.headers.get("Transfer-Encoding")
    if not has_body:
        return
    limit = _body_limit()
    if limit and request.content_length and request.content_length > limit:
        # Refuse before any view (or form parser) reads a byte of an oversize body.
        raise RequestEntityTooLarge()
    if request.mimetype == "application/x-www-form-urlencoded" and _view_accepts_form():
        return
    if request.mimetype not in ACCEPTED_BODY_TYPES and not request.mimetype.endswith("+json"):
        raise UnsupportedMediaType("Send the body as application/json.")


def add_response_headers(response):
    response.headers["X-Request-ID"] = g.get("request_id") or uuid.uuid4().hex
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if request.path.startswith("/api/docs"):
        # Swagger UI runs inline scripts; everything else is plain JSON.
        response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
    else:
        response.headers.setdefault("Content-Security-Policy",
                                    "default-src 'none'; frame-ancestors 'none'")
    if current_app.config["HSTS_ENABLED"]:
        response.headers.setdefault("Strict-Transport-Security",
                                    "max-age=31536000; includeSubDomains")
    return response


def drop_stray_retry_after(response):
    """Flask-Limiter (RATELIMIT_HEADERS_ENABLED) sets Retry-After on every response of a
    limited route, 200s included; it is kept only where it tells the client to wait.
    An after step of the request hooks, registered before the limiter so that it runs
    after the limiter's own hook (app.py `_init_request_hooks`)."""
    if response.status_code not in RETRY_AFTER_STATUSES:
        response.headers.pop("Retry-After", None)
    return response


@functools.cache
def _public_suffixes() -> PublicSuffixList:
    return PublicSuffixList()  # the list the package ships: no download


def site_of(scheme: str, host: str) -> tuple[str, str]:
    """The site a browser sees for SameSite cookies: the scheme and the registrable domain
    (`api.example.co.uk` -> `example.co.uk`); an IP address or a name without one
    (`localhost`) is a site of its own."""
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return scheme, str(ipaddress.ip_address(host))
    except ValueError:
        return scheme, _public_suffixes().privatesuffix(host) or host


def _is_cross_site() -> bool:
    """Whether the page that sent this request is on another site than the API. A
    browser's own verdict (`Sec-Fetch-Site`, right behind a dev-server proxy too) wins;
    without one the `Origin` is compared with the host the request was sent to."""
    verdict = request.headers.get("Sec-Fetch-Site")
    if verdict:
        return verdict == "cross-site"
    try:
        origin, here = urlsplit(request.headers.get("Origin", "")), urlsplit(request.host_url)
    except ValueError:
        return False
    if not origin.scheme or not origin.hostname or not here.hostname:
        return False
    return site_of(origin.scheme, origin.hostname) != site_of(here.scheme, here.hostname)


def warn_cross_site_cookie() -> None:
    """Called where a login sets the session cookie: from a page on another site, a
    SameSite=Lax/Strict cookie is stored but never sent back, so every later request
    answers 401. Development says so, in a response header and one log line."""
    config = current_app.config
    if not config["CROSS_SITE_COOKIE_WARNING"] or \
            str(config["SESSION_COOKIE_SAMESITE"]).lower() not in {"lax", "strict"}:
        return
    if not _is_cross_site():
        return
    message = (f"The page on {request.headers.get('Origin', 'another site')} is on another "
               f"site than this API ({request.host_url.rstrip('/')}): the browser will not "
               f"send the SameSite={config['SESSION_COOKIE_SAMESITE']} session cookie back, "
               "so requests after this login answer 401. Use one host name for both (a "
               "dev-server proxy) or bearer tokens; see docs/CLIENTS.md.")
    log.warning("cross-site login: %s", message)

    @after_this_request
    def add_warning(response):
        response.headers[WARNING_HEADER] = message
        return response


class SocketOrigins:
    """The Origin check of Socket.IO handshakes (python-engineio calls it): the API's own
    origin, as python-engineio allows when given no list, and CORS_ORIGINS. A list alone
    would refuse pages served by the API itself (and clients that send its own origin)."""

    def __init__(self, origins: list[str]) -> None:
        self.origins = frozenset(origins)

    def __call__(self, origin: str | None, environ: dict) -> bool:
        return origin in self.origins or origin in _own_origins(environ)


def _own_origins(environ: dict) -> set[str]:
    scheme, host = environ.get("wsgi.url_scheme"), environ.get("HTTP_HOST")
    if not scheme or not host:
        return set()
    own = {f"{scheme}://{host}"}
    if "HTTP_X_FORWARDED_PROTO" in environ or "HTTP_X_FORWARDED_HOST" in environ:
        forwarded_scheme = environ.get("HTTP_X_FORWARDED_PROTO", scheme).split(",")[0].strip()
        forwarded_host = environ.get("HTTP_X_FORWARDED_HOST", host).split(",")[0].strip()
        own.add(f"{forwarded_scheme}://{forwarded_host}")
    return own


def _unversioned_server_header(handler: WSGIRequestHandler) -> str:
    return "Roundtable"


def _close_dropped_connection(handler: WSGIRequestHandler, error: BaseException,
                              environ: dict | None = None) -> None:
    """A websocket on the Werkzeug development server ends with python-engineio raising
    ConnectionError (simple-websocket's "werkzeug" mode). Werkzeug then kept the
    connection and read the rest of the websocket stream (the close frame) as the next
    HTTP request: an ERROR "Bad request syntax" and a 400 logged for every closed socket.
    A dropped connection is closed instead."""
    handler.close_connection = True


def init_app(app: Flask) -> None:
    # The Werkzeug development server (`flask run`, `python app.py`) names its own and
    # Python's version in every `Server` header, Socket.IO responses included; `flask run`
    # takes no handler class, so the class itself is told. gunicorn sends no version.
    WSGIRequestHandler.version_string = _unversioned_server_header
    WSGIRequestHandler.connection_dropped = _close_dropped_connection
    if app.config["TRUSTED_PROXIES"] > 0:
        app.wsgi_app = ForwardedOnlyFromProxies(app.wsgi_app, app.config["TRUSTED_PROXIES"],
                                                app.config["TRUSTED_PROXY_ADDRESSES"])
    # An explicit allowlist with credentials; an empty list allows no cross-origin caller.
    CORS(app, resources={r"/*": {"origins": app.config["CORS_ORIGINS"]}},
         supports_credentials=True, expose_headers=EXPOSED_HEADERS,
         max_age=app.config["CORS_MAX_AGE"],
         allow_headers=["Content-Type", "Authorization", "X-CSRF-Token", "X-Request-ID"])
    # assign_request_id, require_json_body, add_response_headers and drop_stray_retry_after
    # run as steps of the request hooks (app.py `_init_request_hooks`).
