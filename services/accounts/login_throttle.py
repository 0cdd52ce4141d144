"""Throttles for password and second-factor guesses, and for the warning mails they cause.

Failures are counted per (account, client address) and per client address, never per
account alone: a stranger who fails five times is stopped, but cannot lock the owner out,
whose address has no failures. The owner is told by mail when the account as a whole sees
`LOGIN_ALERT_FAILURES` failures, at most once per `ACCOUNT_ALERT_INTERVAL_SECONDS`.

The windows are `limits` moving windows (the library under Flask-Limiter) in Redis,
shared by every process; in memory without REDIS_URL. When Redis fails the count goes on
in this process's memory (never unlimited, never a 500). They are the app's own storage,
not Flask-Limiter's: RATELIMIT_ENABLED=false (benchmarks) does not switch them off.
"""
from __future__ import annotations

import hashlib
import logging
import math
import time
from typing import Any

from flask import current_app
from limits import RateLimitItem, RateLimitItemPerSecond, parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from services.platform import email_service
from utils import redis_client
from utils.errors import RateLimited

log = logging.getLogger(__name__)

NAMESPACE = "rt:loginfail"


class _Windows:
    """The app's moving-window strategy on REDIS_URL, and a memory one to fall back on."""

    def __init__(self, config: dict[str, Any]) -> None:
        uri, options = redis_client.limits_storage(config)  # on the shared Redis pool
        self.storage = storage_from_string(uri, key_prefix="rt:throttle", **options)
        self.primary = MovingWindowRateLimiter(self.storage)
        self.fallback = MovingWindowRateLimiter(MemoryStorage())


def _call(method: str, *args: Any) -> Any:
    """`method` of the moving-window strategy (test, hit, get_window_stats, clear)."""
    windows = current_app.extensions.get("roundtable_login_windows")
    if windows is None:
        windows = current_app.extensions["roundtable_login_windows"] = _Windows(
            current_app.config)
    try:
        return getattr(windows.primary, method)(*args)
    except windows.storage.base_exceptions as exc:
        log.warning("login throttle storage unreachable, counting in memory: %s", exc)
        return getattr(windows.fallback, method)(*args)


def _per_pair() -> RateLimitItem:
    config = current_app.config
    return RateLimitItemPerSecond(config["LOGIN_MAX_FAILURES"],
                                  config["LOGIN_FAILURE_WINDOW_SECONDS"])


def _per_account() -> RateLimitItem:
    config = current_app.config
    return RateLimitItemPerSecond(config["LOGIN_ALERT_FAILURES"],
                                  config["LOGIN_FAILURE_WINDOW_SECONDS"])


def _per_address() -> RateLimitItem:
    return parse(current_app.config["RATELIMIT_LOGIN"])


def _hashed(value: str) -> str:
    # Unknown logins are whatever the client typed: keep them out of Redis key names.
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _windows(account: str, address: str) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
    return [(_per_address(), ("address", address)),
            (_per_pair(), ("pair", _hashed(account), address))]


def check(account: str, address: str) -> None:
    """Raise RateLimited (with Retry-After) while `address` may not try `account`:
    too many failures on this account from there, or on any account from there."""
    for item, keys in _windows(account, address):
        if not _call("test", item, NAMESPACE, *keys):
            stats = _call("get_window_stats", item, NAMESPACE, *keys)
            raise RateLimited(math.ceil(max(1.0, stats.reset_time - time.time())),
                              "Too many failed attempts; try again later.")


def record_failure(account: str, address: str, owner: dict[str, Any] | None) -> None:
    """Count one failure; `owner` is the account's user when it exists, to be warned."""
    for item, keys in _windows(account, address):
        _call("hit", item, NAMESPACE, *keys)
    if owner is None:
        return
    item, keys = _per_account(), ("account", _hashed(account))
    _call("hit", item, NAMESPACE, *keys)
    spent = _call("get_window_stats", item, NAMESPACE, *keys).remaining == 0
    if spent and first_notice("login_alert", account):
        _send_alert(owner, address)


def clear(account: str, address: str) -> None:
    """The right password from `address` wipes that address's failures on this account
    (not its failures elsewhere: guessing at other accounts stays counted)."""
    item = _per_pair()
    _call("clear", item, NAMESPACE, "pair", _hashed(account), address)


def first_notice(kind: str, key: str) -> bool:
    """True at most once per ACCOUNT_ALERT_INTERVAL_SECONDS for (kind, key): warning
    mails go out once per window, never once per attempt."""
    item = RateLimitItemPerSecond(1, current_app.config["ACCOUNT_ALERT_INTERVAL_SECONDS"])
    return bool(_call("hit", item, "rt:notice", kind, _hashed(key)))


def _send_alert(owner: dict[str, Any], address: str) -> None:
    config = current_app.config
    email_service.send_template(owner["email"], "login_alert", username=owner["username"],
                                failures=config["LOGIN_ALERT_FAILURES"],
                                minutes=config["LOGIN_FAILURE_WINDOW_SECONDS"] // 60,
                                address=address, site=config["FRONTEND_URL"])
