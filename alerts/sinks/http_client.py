"""The HTTP client of the sinks: HTTP/1.1 requests over a pool of keep-alive connections.

The sinks need one thing from HTTP: send a body, get the status, the ``Retry-After``
header and the answer back, many times a second to the same receiver. aiohttp's
client spent about 200 µs of CPU per request on that (bench: ``bench/results/alerts.md``),
a third of a notification's whole cost in the dispatcher; this client spends a
fraction of it because it does only what the sinks use:

* requests with ``Content-Length`` bodies, written in one ``write``;
* answers framed by ``Content-Length``, chunked encoding, or the connection closing;
  ``1xx`` interim answers are skipped;
* connections kept alive (HTTP/1.1 unless ``Connection: close``), at most ``limit``
  open per origin, an idle one dropped after ``keepalive`` seconds;
* a request on a reused connection that the receiver had already closed (no byte of
  an answer, then end of stream) is sent once more on a new connection;
* TLS with the system's trust store, or without verification (``verify_tls: false``);
* ``user:password@`` in the URL becomes ``Authorization: Basic``, as aiohttp did.

No redirects (a sink treats 3xx as an error), no proxies from the environment, no
cookies, no decompression. Failures raise :class:`TimeoutError` (the whole request
took longer than ``timeout``), :class:`OSError` (connecting, TLS, reset) or
:class:`HttpProtocolError` (an answer that is not HTTP/1.x); ``HttpSink._post`` maps
them to recoverable sink errors.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
import time
from dataclasses import dataclass
from urllib.parse import SplitResult, unquote, urlsplit

MAX_HEAD_BYTES = 64 * 1024


class HttpProtocolError(Exception):
    """The other side did not answer in HTTP/1.x."""


class _Closed(ConnectionResetError):
    """The connection ended; ``answered``: whether any byte of an answer had arrived."""

    def __init__(self, answered: bool) -> None:
        super().__init__("connection closed by the receiver")
        self.answered = answered


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection: bytes in a buffer, a future to wait for more."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.ended = False
        self.idle_since = 0.0
        self._waiter: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._wake()

    def eof_received(self) -> bool:
        self.ended = True
        self._wake()
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended = True
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def more(self, answered: bool) -> None:
        """Wait for more bytes; raises :class:`_Closed` at the end of the stream."""
        if self.ended:
            raise _Closed(answered or bool(self.buffer))
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    @property
    def usable(self) -> bool:
        return (
            not self.ended
            and not self.buffer
            and self.transport is not None
            and not self.transport.is_closing()
        )

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class HttpClient:
    """Requests to any URL; connections pooled per (scheme, host, port).

    Args:
        limit: connections open at once per origin (more requests wait for one).
        keepalive: seconds an idle connection is kept.
        timeout: seconds a whole request may take (connect, send, answer).
        verify_tls: check the receiver's certificate and host name.
        headers: sent with every request (e.g. ``User-Agent``).
    """

    def __init__(
        self,
        *,
        limit: int = 32,
        keepalive: float = 30.0,
        timeout: float = 10.0,
        verify_tls: bool = True,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.limit = limit
        self.keepalive = keepalive
        self.timeout = timeout
        self.headers = dict(headers or {})
        self._verify_tls = verify_tls
        self._tls: ssl.SSLContext | None = None
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._slots: dict[tuple[str, str, int], asyncio.Semaphore] = {}
        self.closed = False

    async def request(
        self, method: str, url: str, *, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Answer:
        """Send one request and read its answer (any status)."""
        if self.closed:
            raise RuntimeError("HttpClient is closed")
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {parts.scheme}://{parts.hostname}")
        port = parts.port or (443 if scheme == "https" else 80)
        origin = (scheme, parts.hostname, port)
        head = self._head(method, parts, body, headers or {})
        slots = self._slots.get(origin)
        if slots is None:
            slots = self._slots[origin] = asyncio.Semaphore(self.limit)
        async with slots, asyncio.timeout(self.timeout):
            for _ in range(2):
                connection, reused = await self._connection(origin)
                try:
                    connection.transport.write(head + body)  # type: ignore[union-attr]
                    answer, keep = await _read_answer(connection, method)
                except _Closed as exc:
                    connection.close()
                    if reused and not exc.answered:
                        continue  # the receiver had closed it while idle: a new one
                    raise
                except BaseException:
                    connection.close()
                    raise
                if keep:
                    connection.idle_since = time.monotonic()
                    self._idle.setdefault(origin, []).append(connection)
                else:
                    connection.close()
                return answer
            raise _Closed(False)  # unreachable: the second try is on a new connection

    async def aclose(self) -> None:
        self.closed = True
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()

    # -- internals ----------------------------------------------------------------------

    def _head(self, method: str, parts: SplitResult, body: bytes, headers: dict[str, str]) -> bytes:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = parts.netloc.rpartition("@")[2]
        merged = {**self.headers, **headers}
        if parts.username is not None and not any(k.lower() == "authorization" for k in merged):
            user = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            merged["Authorization"] = "Basic " + base64.b64encode(user.encode()).decode()
        lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
        for name, value in merged.items():
            if "\r" in name or "\n" in name or "\r" in value or "\n" in value:
                raise ValueError(f"line break in HTTP header {name!r}")
            lines.append(f"{name}: {value}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")

    async def _connection(self, origin: tuple[str, str, int]) -> tuple[_Connection, bool]:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            if connection.usable and now - connection.idle_since < self.keepalive:
                return connection, True
            connection.close()
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        tls = self._tls_context() if scheme == "https" else None
        _, connection = await loop.create_connection(
            _Connection, host, port, ssl=tls, server_hostname=host if tls else None
        )
        return connection, False

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            context = ssl.create_default_context()
            if not self._verify_tls:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            self._tls = context
        return self._tls


async def _read_answer(connection: _Connection, method: str) -> tuple[Answer, bool]:
    """The next answer on ``connection`` and whether the connection can be reused."""
    buffer = connection.buffer
    while True:
        end = buffer.find(b"\r\n\r\n")
        while end < 0:
            if len(buffer) > MAX_HEAD_BYTES:
                raise HttpProtocolError("answer head larger than 64 KiB")
            await connection.more(answered=False)
            end = buffer.find(b"\r\n\r\n")
        head = bytes(buffer[:end]).decode("latin-1")
        del buffer[: end + 4]
        status_line, *header_lines = head.split("\r\n")
        version, _, rest = status_line.partition(" ")
        code = rest[:3]
        if not version.startswith("HTTP/1.") or not code.isdigit():
            raise HttpProtocolError(f"not an HTTP/1.x answer: {status_line[:40]!r}")
        status = int(code)
        headers: dict[str, str] = {}
        for line in header_lines:
            name, colon, value = line.partition(":")
            if not colon:
                raise HttpProtocolError(f"bad header line {line[:40]!r}")
            headers[name.strip().lower()] = value.strip()
        if 100 <= status < 200 and status != 101:
            continue  # an interim answer (100 Continue, 103 Early Hints): the real one follows
        break
    connection_header = headers.get("connection", "").lower()
    keep = (version == "HTTP/1.1" and "close" not in connection_header) or (
        version == "HTTP/1.0" and "keep-alive" in connection_header
    )
    if method == "HEAD" or status in (204, 304):
        body = b""
    elif "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _read_chunked(connection)
    elif "content-length" in headers:
        try:
            length = int(headers["content-length"])
        except ValueError:
            raise HttpProtocolError("bad Content-Length") from None
        while len(buffer) < length:
            await connection.more(answered=True)
        body = bytes(buffer[:length])
        del buffer[:length]
    else:  # the body ends with the connection
        keep = False
        while not connection.ended:
            await connection.more(answered=True)
        body = bytes(buffer)
        buffer.clear()
    return Answer(status, headers, body), keep


async def _read_chunked(connection: _Connection) -> bytes:
    buffer = connection.buffer
    body = bytearray()
    while True:
        end = buffer.find(b"\r\n")
        while end < 0:
            await connection.more(answered=True)
            end = buffer.find(b"\r\n")
        size_text = bytes(buffer[:end]).split(b";", 1)[0].strip()
        del buffer[: end + 2]
        try:
            size = int(size_text, 16)
        except ValueError:
            raise HttpProtocolError("bad chunk size") from None
        if size == 0:
            break
        while len(buffer) < size + 2:
            await connection.more(answered=True)
        body += buffer[:size]
        del buffer[: size + 2]
    while True:  # trailers, up to the empty line
        end = buffer.find(b"\r\n")
        while end < 0:
            await connection.more(answered=True)
            end = buffer.find(b"\r\n")
        line = bytes(buffer[:end])
        del buffer[: end + 2]
        if not line:
            return bytes(body)
