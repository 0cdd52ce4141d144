"""Forwarded headers (X-Forwarded-For, X-Forwarded-Proto) count only when the connection
comes from a configured proxy address: TRUSTED_PROXIES says how many proxies stand in front,
TRUSTED_PROXY_ADDRESSES which peers those are. A client that reaches the app directly keeps
its own address whatever it writes in the headers, so it cannot rotate past a rate limit."""
from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from werkzeug.middleware.proxy_fix import ProxyFix

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(entries: Iterable[str]) -> list[Network]:
    """Addresses or CIDR networks; a bad entry fails at start-up, not on a request."""
    return [ipaddress.ip_network(entry, strict=False) for entry in entries]


class ForwardedOnlyFromProxies:
    """ProxyFix for requests whose peer (REMOTE_ADDR) is in `trusted`; the raw app for
    every other request, so its forwarded headers are ignored."""

    def __init__(self, app, hops: int, trusted: Iterable[str]) -> None:
        self.app = app
        self.fixed = ProxyFix(app, x_for=hops, x_proto=hops, x_host=0, x_port=0)
        self.trusted = networks(trusted)

    def from_proxy(self, peer: str | None) -> bool:
        try:
            address = ipaddress.ip_address(peer or "")
        except ValueError:  # a unix socket or no peer at all: not a proxy address
            return False
        return any(address in network for network in self.trusted)

    def __call__(self, environ, start_response):
        if self.from_proxy(environ.get("REMOTE_ADDR")):
            return self.fixed(environ, start_response)
        return self.app(environ, start_response)
