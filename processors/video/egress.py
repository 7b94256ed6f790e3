"""Where the video downloader may connect: public internet addresses only, on every hop.

yt-dlp's generic extractor takes any URL, and its HTTP handlers follow redirects inside themselves: a
link, or a redirect, to ``127.0.0.1:9001`` would reach the Lambda runtime API, one to ``10.x`` or
``169.254.169.254`` a network's services. So the check sits where a connection is made, not on the URL:
a ``socket.connect`` audit hook (PEP 578) sees the address actually connected to, after DNS, for every
request, redirect and fragment of every handler (urllib, requests), and refuses one that is not global
(loopback, private, link-local, shared, reserved, multicast) unless the exact address and port are on
the allowlist (``allowed_private_destinations``: local mode's demo clip server, never a default).

The hook is active only while ``guarded`` runs, in its thread (a context variable): other threads of
the process (the local runtime's servers) connect as before. A new thread would run unguarded, so the
downloader keeps fragments in its own thread (``concurrent_fragment_downloads`` 1) and fails closed
otherwise: an address the hook cannot read is refused.
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
import socket
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Destination = tuple[IpAddress, int]


class DestinationRefused(OSError):
    """A connection to an address that is not on the public internet (an OSError, as a failed connect is)."""


def parse_destination(entry: str) -> Destination:
    """``127.0.0.1:8000`` or ``[::1]:8000``; ValueError saying what is wrong."""
    host, sep, port = entry.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    try:
        if not sep or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError
        return ipaddress.ip_address(host), int(port)
    except ValueError:
        raise ValueError(f"{entry!r} is not an IP address and port such as 127.0.0.1:8000") from None


def is_public(address: IpAddress) -> bool:
    """A global unicast address (an IPv4-mapped IPv6 address is judged as its IPv4 address)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


@dataclass
class EgressGuard:
    """The allowlist, and the destinations refused while it was active (for the user's answer)."""

    allowed: frozenset[Destination] = frozenset()
    refused: list[str] = field(default_factory=list)

    @classmethod
    def allowing(cls, entries: Iterable[str]) -> EgressGuard:
        return cls(frozenset(parse_destination(e) for e in entries))

    def check(self, sock: Any, address: Any) -> None:
        """Raise DestinationRefused unless every address ``address`` stands for may be reached."""
        for ip, port in _resolved(sock, address):
            if not is_public(ip) and (ip, port) not in self.allowed:
                self.refused.append(str(ip))
                raise DestinationRefused(f"{ip} is not a public internet address")


def _resolved(sock: Any, address: Any) -> list[Destination]:
    """The (IP, port) pairs of a connect's address: as given when it is an IP, else from DNS."""
    family = getattr(sock, "family", None)
    if family not in (socket.AF_INET, socket.AF_INET6) or not isinstance(address, tuple) or len(address) < 2:
        raise DestinationRefused(f"connections of family {family!r} are not made by the downloader")
    host, port = str(address[0]).split("%", 1)[0], int(address[1])
    try:
        return [(ipaddress.ip_address(host), port)]
    except ValueError:
        infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
        return [(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]), port) for info in infos]


_ACTIVE: contextvars.ContextVar[EgressGuard | None] = contextvars.ContextVar("ganger_video_egress", default=None)
_hook_lock = threading.Lock()
_hook_installed: list[bool] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event != "socket.connect":
        return
    guard = _ACTIVE.get()
    if guard is not None:
        guard.check(args[0], args[1])


def _install_hook() -> None:
    """Once per process: audit hooks cannot be removed, and this one does nothing outside ``guarded``."""
    with _hook_lock:
        if not _hook_installed:
            sys.addaudithook(_audit)
            _hook_installed.append(True)


@contextlib.contextmanager
def guarded(guard: EgressGuard) -> Iterator[EgressGuard]:
    """Connections made in this thread within the block are checked by ``guard``."""
    _install_hook()
    token = _ACTIVE.set(guard)
    try:
        yield guard
    finally:
        _ACTIVE.reset(token)
