"""Our work around every HTTP request, as one `before_request` and one `after_request`
hook that run their steps in the order `create_app` lists them (app.py
`_init_request_hooks`), instead of one Flask hook per step: Flask looks up and calls
each hook for every request, and two timers were read where one does.

The steps say nothing to each other except through `g` and the request, as before:
- before: the request's clock starts (`elapsed()` reads it for the access log and the
  metrics), then each step in order; the first that raises answers the request (its
  error response still goes through the after steps), the rest do not run;
- after: each step in order takes the response and returns it.

Library hooks stay the libraries' own (Flask-Limiter's check runs after our before
steps, its headers are set before our after steps; Flask-CORS's headers likewise).
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from flask import Flask, Response, g

BeforeStep = Callable[[], None]
AfterStep = Callable[[Response], Response]
KEY = "roundtable_request_hooks"


def elapsed() -> float | None:
    """Seconds since this request's before hook ran (None if it did not)."""
    return g.get("request_seconds")


def _before(steps: Sequence[BeforeStep]) -> Callable[[], None]:
    def before_request() -> None:
        g.request_started = time.perf_counter()
        for step in steps:
            step()

    return before_request


def _after(steps: Sequence[AfterStep]) -> Callable[[Response], Response]:
    def after_request(response: Response) -> Response:
        started = g.pop("request_started", None)
        g.request_seconds = None if started is None else time.perf_counter() - started
        for step in steps:
            response = step(response)
        return response

    return after_request


def init_app(app: Flask, before: Sequence[BeforeStep], after: Sequence[AfterStep]) -> None:
    """Register the pair; call before the extensions whose own hooks must run after our
    before steps and before our after steps (Flask runs after hooks last-registered first)."""
    app.extensions[KEY] = (tuple(before), tuple(after))
    app.before_request(_before(tuple(before)))
    app.after_request(_after(tuple(after)))
