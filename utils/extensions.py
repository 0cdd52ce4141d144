"""Extension objects, created unbound here and bound to an app in `create_app`.

They live in one small module so that blueprints, services and socket handlers can import
them without importing `app` (which `python app.py` runs as `__main__`).
"""
from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_session import Session
from utils.api import Api
from flask_socketio import SocketIO

# The key is request.remote_addr, which ProxyFix rewrites from X-Forwarded-For only for
# the number of proxies TRUSTED_PROXIES names; a client cannot spoof its way around limits.
limiter = Limiter(key_func=get_remote_address)
socketio = SocketIO()
server_session = Session()
api = Api()
