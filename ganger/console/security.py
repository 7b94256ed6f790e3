"""What the console refuses: a foreign ``Host`` (DNS rebinding), a foreign ``Origin``, a cross-site fetch, and
a POST without this console's CSRF token.

The console listens on 127.0.0.1, yet any page the operator opens can send it requests: a page on
``http://evil.example`` posting a form sends ``Origin: http://evil.example``; a page whose name was rebound to
127.0.0.1 sends ``Host: evil.example:PORT``. Neither is served. A POST must also carry the token this console put
in its own pages (a fresh random one per start), which no other origin can read. The same rules as the local
servers' guard (``ganger/local/origin_guard.py``), kept here so the console depends on nothing of local mode.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field

OWN_HOSTNAMES = ("127.0.0.1", "localhost")
SAFE_FETCH_SITES = ("same-origin", "none")


@dataclass(frozen=True)
class Guard:
    """The console's own port and its CSRF token."""

    port: int
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    def own_hosts(self) -> frozenset[str]:
        hosts = {f"{name}:{self.port}" for name in OWN_HOSTNAMES}
        return frozenset(hosts | (set(OWN_HOSTNAMES) if self.port == 80 else set()))

    def own_origins(self) -> frozenset[str]:
        return frozenset(f"http://{host}" for host in self.own_hosts())

    def refusal(self, host: str | None, origin: str | None, fetch_site: str | None) -> str | None:
        """Why any request must be refused (None: serve it)."""
        if host is None or host.strip().lower() not in self.own_hosts():
            return f"Host {host!r} is not this console's own (127.0.0.1:{self.port}): refused"
        if origin is not None and origin.strip().lower() not in self.own_origins():
            return f"Origin {origin!r} is not this console's own (http://127.0.0.1:{self.port}): refused"
        if fetch_site is not None and fetch_site.strip().lower() not in (*SAFE_FETCH_SITES, "same-site"):
            return f"a {fetch_site} request: refused"
        return None

    def post_refusal(self, host: str | None, origin: str | None, fetch_site: str | None, token: str) -> str | None:
        """Why a POST must be refused: anything ``refusal`` refuses, a same-site (not same-origin) fetch, or a
        missing or wrong CSRF token."""
        reason = self.refusal(host, origin, fetch_site)
        if reason is not None:
            return reason
        if fetch_site is not None and fetch_site.strip().lower() not in SAFE_FETCH_SITES:
            return f"a {fetch_site} POST: refused"
        if not hmac.compare_digest(token.encode(), self.token.encode()):
            return "missing or wrong CSRF token: reload the page and try again"
        return None
