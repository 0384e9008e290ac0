"""Credentials stay with the origin they were configured for.

An origin is (scheme, host, port), as in browsers. A connector's *home* origins are
those of the URLs in its configuration (``url``, ``base_url``, ``lastupdate_url``…).
Every request the connector's HTTP client sends, including each redirect hop and each
``Link: rel="next"`` or feed next-page URL, passes :meth:`OriginGuard.check` first
(an httpx request hook, so no request escapes it):

* to a home origin (or its ``https`` upgrade on the same host): sent as it is;
* to an origin listed in ``http.origins.allowed``: GET only, sent *without* any header
  that holds one of the instance's secrets (refused if its URL holds one), and only if
  the host is not a
  loopback, link-local or private address, unless ``http.origins.allow_private``
  (tests point connectors at servers on 127.0.0.1);
* anywhere else: refused with :class:`OriginRefused` (permanent: the configuration or
  the source changed, a retry would not help), before a byte is sent.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable, Iterable
from typing import NamedTuple

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from vigia.connectors.errors import PermanentError

_DEFAULT_PORTS = {"http": 80, "https": 443}


class OriginRefused(PermanentError):
    """A request to an origin the connector's credentials are not bound to."""

    kind = "origin_refused"


class Origin(NamedTuple):
    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, url: str | httpx.URL) -> Origin:
        u = httpx.URL(str(url))
        scheme = u.scheme.lower()
        return cls(scheme, (u.host or "").lower(), u.port or _DEFAULT_PORTS.get(scheme, 0))

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


class OriginPolicy(BaseModel):
    """Where, besides its configured URLs, a connector may follow redirects and next links."""

    model_config = ConfigDict(extra="forbid")

    allowed: list[str] = Field(
        default_factory=list,
        description="Other origins (scheme://host[:port]) it may follow to, without credentials",
    )
    allow_private: bool = Field(
        default=False,
        description="Whether those may be loopback, link-local or private addresses",
    )


def is_private_address(address: str) -> bool:
    """Loopback, link-local (169.254.0.0/16 holds cloud metadata), private or unspecified."""
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return False
    return ip.is_loopback or ip.is_link_local or ip.is_private or ip.is_unspecified


async def _resolves_private(host: str, port: int) -> bool:
    if host in ("localhost",) or is_private_address(host):
        return True
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return False  # the request itself will fail with a transport error
    return any(is_private_address(info[4][0]) for info in infos)


class OriginGuard:
    """Checks (and, for allowed foreign origins, strips) every outgoing request."""

    def __init__(
        self,
        home: Iterable[str],
        policy: OriginPolicy | None = None,
        secrets: Callable[[], list[SecretStr]] = list,
    ) -> None:
        self.home = {Origin.of(u) for u in home}
        self.policy = policy or OriginPolicy()
        self.allowed = {Origin.of(u) for u in self.policy.allowed}
        self._secrets = secrets

    def bind(self, url: str) -> None:
        """Add ``url``'s origin to the home origins (a URL the operator configured)."""
        self.home.add(Origin.of(url))

    def _is_home(self, origin: Origin) -> bool:
        if not self.home or origin in self.home:
            return True  # no configured URL at all: nothing to bind to (tests, file sources)
        # http → https on the same host (a common redirect) keeps the credentials safe
        return origin.scheme == "https" and any(
            h.host == origin.host and h.scheme == "http" and origin.port == 443 for h in self.home
        )

    async def check(self, request: httpx.Request) -> None:
        """Run before every request is sent; raises :class:`OriginRefused` to stop it."""
        origin = Origin.of(request.url)
        if self._is_home(origin):
            return
        where = f"{request.method} {origin}"
        if origin not in self.allowed:
            raise OriginRefused(
                f"{where}: not the configured origin ({', '.join(map(str, self.home))}); "
                "redirects and next links stay on it unless listed in http.origins.allowed"
            )
        if not self.policy.allow_private and await _resolves_private(origin.host, origin.port):
            raise OriginRefused(
                f"{where}: a loopback, link-local or private address "
                "(set http.origins.allow_private to follow it)"
            )
        self._strip_credentials(request, where)

    def _strip_credentials(self, request: httpx.Request, where: str) -> None:
        values = [s.get_secret_value() for s in self._secrets() if s.get_secret_value()]
        for name in list(request.headers):
            if name.lower() in ("authorization", "proxy-authorization", "cookie") or any(
                v in request.headers[name] for v in values
            ):
                del request.headers[name]
        if request.method not in ("GET", "HEAD"):
            # a 307/308 re-sends the body (ACLED's username and password), and a redirected
            # request's body is a stream that cannot be inspected here
            raise OriginRefused(f"{where}: only GET may follow to another origin (a body may "
                                "hold a credential)")  # fmt: skip
        if any(v in str(request.url) for v in values):
            raise OriginRefused(f"{where}: the request carries a credential in its URL")
