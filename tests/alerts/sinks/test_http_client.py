"""The sinks' HTTP client against a real local TCP server that answers as scripted:
framing (length, chunked, until close), keep-alive reuse, a connection the receiver
closed while idle, interim answers, timeouts, basic auth from the URL."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable

import pytest
from vigia.alerts.sinks.http_client import HttpClient, HttpProtocolError

Answer = Callable[[bytes], bytes | None]  # request bytes → raw answer (None: close, no answer)


class Server:
    """Reads one request at a time (head + Content-Length body) per connection and writes
    what ``answer`` returns; ``close_after`` closes the connection after that answer."""

    def __init__(self, answer: Answer, *, close_after: bool = False) -> None:
        self.answer = answer
        self.close_after = close_after
        self.requests: list[bytes] = []
        self.connections = 0

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/hook?x=1"

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                raw = self.answer(request)
                if raw is None:
                    break
                writer.write(raw)
                await writer.drain()
                if self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def ok(body: bytes = b"fine", extra: str = "") -> bytes:
    return f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body


async def test_keep_alive_reuses_one_connection_and_sends_the_request_as_given() -> None:
    server = Server(lambda r: ok())
    async with server as url:
        client = HttpClient(headers={"User-Agent": "test"})
        for _ in range(3):
            answer = await client.request("POST", url, body=b"{}", headers={"X-Key": "k"})
            assert (answer.status, answer.body) == (200, b"fine")
        await client.aclose()
    assert server.connections == 1
    first = server.requests[0]
    assert first.startswith(b"POST /hook?x=1 HTTP/1.1\r\n")
    for header in (b"Host: 127.0.0.1:", b"Content-Length: 2", b"X-Key: k", b"User-Agent: test"):
        assert header in first
    assert first.endswith(b"\r\n\r\n{}")


async def test_chunked_answers_interim_answers_and_headers_in_any_case() -> None:
    chunked = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 429 Too Many\r\nTransfer-Encoding: chunked\r\nRETRY-AFTER: 7\r\n\r\n"
        b"4;ext=1\r\nslow\r\n5\r\n down\r\n0\r\nTrailer: x\r\n\r\n"
    )
    server = Server(lambda r: chunked)
    async with server as url:
        client = HttpClient()
        for _ in range(2):  # the connection is clean after a chunked answer: reused
            answer = await client.request("POST", url, body=b"x")
            assert (answer.status, answer.body) == (429, b"slow down")
            assert answer.headers["retry-after"] == "7"
        await client.aclose()
    assert server.connections == 1


async def test_an_answer_without_length_ends_with_the_connection() -> None:
    server = Server(lambda r: b"HTTP/1.0 503 Busy\r\n\r\nback later", close_after=True)
    async with server as url:
        client = HttpClient()
        for _ in range(2):
            answer = await client.request("POST", url, body=b"x")
            assert (answer.status, answer.body) == (503, b"back later")
        await client.aclose()
    assert server.connections == 2  # not reusable


async def test_a_connection_closed_by_the_receiver_while_idle_is_replaced() -> None:
    # the receiver answers with keep-alive but closes right after (an idle timeout):
    # the next request finds the pooled connection dead and goes on a new one
    server = Server(lambda r: ok(), close_after=True)
    async with server as url:
        client = HttpClient()
        assert (await client.request("POST", url, body=b"1")).status == 200
        await asyncio.sleep(0)  # let the close arrive... or not: both paths must work
        assert (await client.request("POST", url, body=b"2")).status == 200
        await client.aclose()
    assert len(server.requests) == 2


async def test_a_receiver_that_closes_without_answering_is_an_error_not_a_loop() -> None:
    server = Server(lambda r: None)
    async with server as url:
        client = HttpClient()
        with pytest.raises(ConnectionResetError):
            await client.request("POST", url, body=b"x")
        await client.aclose()
    assert len(server.requests) == 1  # a new connection is never retried


async def test_timeout_covers_the_whole_request() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1 << 16)
        await asyncio.sleep(5)
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = HttpClient(timeout=0.2)
    with pytest.raises(TimeoutError):
        await client.request("POST", f"http://127.0.0.1:{port}/", body=b"x")
    await client.aclose()
    server.close()


async def test_garbage_is_a_protocol_error_and_refused_connections_an_os_error() -> None:
    server = Server(lambda r: b"SSH-2.0-OpenSSH\r\n\r\n")
    async with server as url:
        client = HttpClient()
        with pytest.raises(HttpProtocolError):
            await client.request("POST", url, body=b"x")
    with pytest.raises(OSError):
        await client.request("POST", url, body=b"x")  # the server is gone
    await client.aclose()


async def test_user_info_in_the_url_becomes_basic_auth_and_header_breaks_are_refused() -> None:
    server = Server(lambda r: ok())
    async with server as url:
        client = HttpClient()
        with_user = url.replace("http://", "http://ana:s%40cret@")
        await client.request("POST", with_user, body=b"x")
        expected = base64.b64encode(b"ana:s@cret")
        assert b"Authorization: Basic " + expected + b"\r\n" in server.requests[0]
        assert b"ana" not in server.requests[0].split(b"\r\n")[0]  # not in the request line
        with pytest.raises(ValueError, match="line break"):
            await client.request("POST", url, body=b"x", headers={"X-Bad": "a\r\nX-Injected: 1"})
        await client.aclose()
