"""Fetching a URL a user chose without letting it reach into our own network (SSRF).

Every hop is checked before anything is sent: the scheme is http or https, the URL has
no userinfo, the host is resolved once here and every address it resolves to must be a
public one (no private, loopback, link-local, multicast, reserved, shared or unspecified
address, IPv4-mapped or 6to4/Teredo-wrapped ones included). The connection then goes to
the address that was checked, with the original name in `Host` and in TLS (SNI and the
certificate check), so a second DNS answer cannot swap the target (DNS rebinding).
Redirects are followed by hand, each hop checked the same way. The body is read up to
`max_bytes` (decoded size; a larger one is refused) and the whole fetch, redirects
included, ends at `timeout` seconds.

`send` makes one request of any method under the same rules (a body, headers of the
caller's, no redirect followed): Web Push deliveries (services/notify/push_delivery.py).

`allow_loopback` (tests only) lets 127.0.0.0/8 and ::1 through; nothing else.
"""
from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import urllib3

SCHEMES = {"http": 80, "https": 443}
REDIRECTS = {301, 302, 303, 307, 308}
CHUNK = 16 * 1024
MAX_URL_LENGTH = 2048

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
# NAT64's well-known prefix (RFC 6052): the last 32 bits are the IPv4 address reached.
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeURL(Exception):
    """Refused before or while fetching: scheme, address, redirects or size."""


class FetchFailed(Exception):
    """The fetch was allowed but did not give a usable answer (network, status, time)."""


@dataclass(frozen=True)
class Policy:
    max_bytes: int = 512 * 1024
    timeout: float = 5.0
    max_redirects: int = 3
    allow_loopback: bool = False
    user_agent: str = "RoundtableBot/1.0 (link previews)"
    accept: str = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"
    # CA bundle for https; None: the system's (tests pass their own).
    ca_certs: str | None = None


@dataclass(frozen=True)
class Fetched:
    url: str
    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def _unwrapped(ip: Address) -> Address:
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        for inner in (ip.ipv4_mapped, ip.sixtofour, ip.teredo and ip.teredo[1]):
            if inner:
                return inner
    return ip


def check_address(ip: Address, allow_loopback: bool = False) -> None:
    """UnsafeURL unless `ip` is a public unicast address (or loopback when allowed)."""
    ip = _unwrapped(ip)
    if ip.is_loopback and allow_loopback:
        return
    if not ip.is_global or ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        raise UnsafeURL(f"{ip} is not a public address")


def resolve(host: str, port: int, allow_loopback: bool = False) -> str:
    """The address to connect to; every address the name resolves to must pass."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchFailed(f"cannot resolve {host}: {exc}") from exc
    addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
    if not addresses:
        raise FetchFailed(f"{host} has no address")
    for ip in addresses:
        check_address(ip, allow_loopback)
    return str(addresses[0])


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    path: str

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == SCHEMES[self.scheme] else f"{host}:{self.port}"


def parse(url: str) -> _Target:
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeURL("the URL is too long")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL(f"not a valid URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise UnsafeURL(f"scheme {scheme or '(none)'!r} is not http or https")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UnsafeURL("URLs with credentials are refused")
    if not parts.hostname:
        raise UnsafeURL("the URL has no host")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Target(scheme, parts.hostname, port or SCHEMES[scheme], path)


def fetch(url: str, policy: Policy) -> Fetched:
    """GET `url` under `policy`; UnsafeURL or FetchFailed otherwise."""
    deadline = time.monotonic() + policy.timeout
    for _hop in range(policy.max_redirects + 1):
        target = parse(url)
        address = resolve(target.host, target.port, policy.allow_loopback)
        response, pool = _open(target, address, policy, deadline)
        try:
            if response.status in REDIRECTS:
                location = response.headers.get("Location")
                if not location:
                    raise FetchFailed(f"redirect without Location from {url}")
                url = urljoin(url, location.strip())
                continue
            if response.status != 200:
                raise FetchFailed(f"{url} answered {response.status}")
            body = _read(response, policy, deadline)
            return Fetched(url, response.status, response.headers.get("Content-Type", ""),
                           body)
        finally:
            response.release_conn()
            pool.close()
    raise UnsafeURL(f"more than {policy.max_redirects} redirects")


def send(method: str, url: str, body: bytes, headers: dict[str, str], policy: Policy
         ) -> Answer:
    """One `method` request to `url` with `body` and `headers`, checked like `fetch`; the
    answer whatever its status (a redirect is not followed), its body read up to
    `policy.max_bytes`. UnsafeURL or FetchFailed otherwise."""
    deadline = time.monotonic() + policy.timeout
    target = parse(url)
    address = resolve(target.host, target.port, policy.allow_loopback)
    response, pool = _open(target, address, policy, deadline, method, body, headers)
    try:
        return Answer(response.status, {k.lower(): v for k, v in response.headers.items()},
                      _read(response, policy, deadline))
    finally:
        response.release_conn()
        pool.close()


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchFailed("the fetch took too long")
    return left


def _open(target: _Target, address: str, policy: Policy, deadline: float,
          method: str = "GET", body: bytes | None = None,
          extra: dict[str, str] | None = None):
    timeout = urllib3.Timeout(connect=_remaining(deadline), read=_remaining(deadline))
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address, target.port, timeout=timeout, retries=False, maxsize=1,
            cert_reqs="CERT_REQUIRED", ca_certs=policy.ca_certs, server_hostname=target.host,
            assert_hostname=target.host)
    else:
        pool = urllib3.HTTPConnectionPool(address, target.port, timeout=timeout,
                                          retries=False, maxsize=1)
    headers = {"Host": target.host_header, "User-Agent": policy.user_agent,
               "Accept": policy.accept, "Accept-Encoding": "gzip, deflate", **(extra or {})}
    try:
        response = pool.urlopen(method, target.path, body=body, headers=headers,
                                redirect=False,
                                retries=False, preload_content=False,
                                assert_same_host=False)
    except urllib3.exceptions.HTTPError as exc:
        pool.close()
        raise FetchFailed(f"{target.host}: {exc}") from exc
    return response, pool


def _read(response, policy: Policy, deadline: float) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > policy.max_bytes:
        raise UnsafeURL(f"the page is larger than {policy.max_bytes} bytes")
    chunks, size = [], 0
    try:
        while True:
            _remaining(deadline)
            chunk = response.read1(CHUNK)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > policy.max_bytes:
                raise UnsafeURL(f"the page is larger than {policy.max_bytes} bytes")
            chunks.append(chunk)
    except urllib3.exceptions.HTTPError as exc:
        raise FetchFailed(f"reading failed: {exc}") from exc
