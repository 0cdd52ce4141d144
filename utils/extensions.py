"""Extension objects, created unbound here and bound to an app in `create_app`.

They live in one small module so that blueprints, services and socket handlers can import
them without importing `app` (which `python app.py` runs as `__main__`).
"""
from __future__ import annotations

from flask import current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_session import Session
from flask_socketio import SocketIO

from utils.api import Api

# The key is request.remote_addr, which ProxyFix rewrites from X-Forwarded-For only for
# the number of proxies TRUSTED_PROXIES names; a client cannot spoof its way around limits.
# Default limits are read per request, so each app (tests build many) uses its own config.
limiter = Limiter(key_func=get_remote_address,
                  default_limits=[lambda: current_app.config["RATELIMIT_DEFAULT"]])
socketio = SocketIO()
server_session = Session()
api = Api()
