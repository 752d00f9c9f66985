"""One webhook request: the signature, the SSRF check and a POST to the address checked.

``Wangge-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`` with the
subscription's secret (the scheme Stripe made common; the time lets a receiver refuse
replays). Outgoing URLs must be http(s) and resolve to public addresses only (no loopback,
link-local, private, shared, multicast or reserved ranges) unless private ones are allowed
(``WANGGE_WEBHOOK_ALLOW_PRIVATE``). The name is resolved once, each address checked, and the
connection made to the checked address (then the peer checked again), so a name that
resolves differently a moment later (DNS rebinding) cannot redirect a delivery. Redirects
are not followed.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from gis.errors import InvalidInput

MAX_URL_LENGTH: Final = 2000
USER_AGENT: Final = "wangge-webhooks/1"


def sign(secret: str, body: bytes, at: int | None = None) -> str:
    """The ``Wangge-Signature`` header value of ``body`` at unix time ``at`` (default now)."""
    t = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(secret: str, body: bytes, header: str, *, tolerance_s: float | None = 300) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` (and, with ``tolerance_s``, was made
    within that many seconds of now): what a receiver runs."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if tolerance_s is not None and abs(time.time() - t) > tolerance_s:
        return False
    expected = sign(secret, body, t).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


@dataclass(frozen=True)
class Target:
    """A checked URL: scheme, host (for Host and TLS), port, path with query."""

    scheme: str
    host: str
    port: int
    path: str


def parse_url(url: str) -> Target:
    """``url`` split and checked for shape (http/https, a host, no credentials)."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise InvalidInput(
            f"give an http(s) URL of at most {MAX_URL_LENGTH} characters", field="url"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidInput("not a valid URL", field="url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("must be an http:// or https:// URL with a host", field="url")
    if parts.username or parts.password:
        raise InvalidInput("must not carry a user name or password", field="url")
    if any(c in url for c in "\r\n\t \x00"):
        raise InvalidInput("must not contain spaces or control characters", field="url")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    default = 443 if parts.scheme == "https" else 80
    return Target(parts.scheme, parts.hostname, port or default, path)


def public(address: str) -> bool:
    """Whether ``address`` is a globally routable unicast address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve(target: Target, *, allow_private: bool) -> list[tuple[int, str]]:
    """(family, address) of every address the host resolves to, all of them allowed;
    InvalidInput naming ``url`` when the name does not resolve or any address is not."""
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise InvalidInput(f"the host {target.host!r} does not resolve", field="url") from None
    found = [(int(family), str(sockaddr[0])) for family, _, _, _, sockaddr in infos]
    for _, address in found:
        if not allow_private and not public(address):
            raise InvalidInput(
                f"{target.host} resolves to {address}, a loopback, private or link-local "
                "address (WANGGE_WEBHOOK_ALLOW_PRIVATE allows them)",
                field="url",
            )
    return found


def check_url(url: str, *, allow_private: bool) -> Target:
    """``url`` checked for shape and every address it resolves to (see module docstring)."""
    target = parse_url(url)
    resolve(target, allow_private=allow_private)
    return target


class Refused(Exception):
    """The delivery was not attempted or failed before an HTTP answer; ``str`` says why."""


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout_s: float,
    allow_private: bool,
) -> int:
    """POST ``body`` to ``url`` at a checked address; the HTTP status. Raises Refused for a
    URL or address not allowed, a failed connection, a timeout or a broken answer."""
    try:
        target = parse_url(url)
        addresses = resolve(target, allow_private=allow_private)
    except InvalidInput as exc:
        raise Refused(exc.reason) from None
    sock: socket.socket | None = None
    last: OSError | None = None
    for family, address in addresses:
        attempt = socket.socket(family, socket.SOCK_STREAM)
        try:
            attempt.settimeout(timeout_s)
            attempt.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            attempt.connect((address, target.port))
        except OSError as exc:
            last = exc
            attempt.close()
            continue
        sock = attempt
        break
    if sock is None:
        raise Refused(f"cannot connect to {target.host}:{target.port}: {last}")
    try:
        peer = str(sock.getpeername()[0])
        if not allow_private and not public(peer):
            raise Refused(f"connected to {peer}, which is not a public address")
        connection: http.client.HTTPConnection
        if target.scheme == "https":
            context = ssl.create_default_context()
            sock = context.wrap_socket(sock, server_hostname=target.host)
            connection = http.client.HTTPSConnection(target.host, target.port, timeout=timeout_s)
        else:
            connection = http.client.HTTPConnection(target.host, target.port, timeout=timeout_s)
        connection.sock = sock
        try:
            connection.request(
                "POST",
                target.path,
                body=body,
                headers={"User-Agent": USER_AGENT, "Content-Type": "application/json", **headers},
            )
            response = connection.getresponse()
            response.read(65536)
            return int(response.status)
        finally:
            connection.close()
    except (OSError, http.client.HTTPException) as exc:
        raise Refused(f"{type(exc).__name__}: {exc}") from None
    finally:
        sock.close()
