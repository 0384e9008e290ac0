"""Finding 2 and 9: credentials stay with their origin; answers are bounded.

Before the fix ``http_json`` sent its auth header to whatever host a ``Link:
rel="next"`` named, redirects kept custom headers (``X-App-Token``) across hosts, and
RSS followed a feed's next-page link anywhere, link-local addresses included. Every
test runs both sides: refused by default, followed (without credentials) when the
other origin is allowed in the configuration.
"""

from __future__ import annotations

import asyncio
import gzip
import json

import httpx
import pytest
from pytest_httpserver import HTTPServer
from vigia.connectors.http import HttpClient, HttpSettings, ResponseTooLarge
from vigia.connectors.origin import OriginRefused
from vigia.connectors.testing.helpers import collect, fresh_metrics
from werkzeug import Response

from vigia.schema import RawRecord

TOKEN = "tok-3f9a8c1e77d2"


@pytest.fixture(autouse=True)
def _secrets(monkeypatch) -> None:
    monkeypatch.setenv("ORIGIN_TEST_TOKEN", TOKEN)
    monkeypatch.setenv("ORIGIN_TEST_USER", "ana@example.org")
    monkeypatch.setenv("ORIGIN_TEST_PASSWORD", "pw-61c2ab90ee")


@pytest.fixture
def other():
    """A second local server: another origin (same host, other port)."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.clear()
    server.stop()


def _spec(home: HTTPServer, origins: dict | None = None) -> dict:
    config = {
        "source": "api",
        "url": home.url_for("/list"),
        "records_path": "items",
        "auth": {"header": "X-App-Token", "prefix": "", "secret": "env:ORIGIN_TEST_TOKEN"},
        "pagination": {"type": "link"},
    }
    if origins is not None:
        config["http"] = {"origins": origins}
    return {"name": "api", "type": "http_json", "config": config}


def _page(items: list[dict], next_url: str | None) -> Response:
    headers = {"Link": f'<{next_url}>; rel="next"'} if next_url else {}
    return Response(json.dumps({"items": items}), headers=headers, content_type="application/json")


def _serve_two_pages(home: HTTPServer, other: HTTPServer) -> None:
    home.expect_request("/list").respond_with_response(_page([{"id": "1"}], other.url_for("/more")))
    other.expect_request("/more").respond_with_response(_page([{"id": "2"}], None))


def test_next_link_to_another_origin_is_refused_by_default(httpserver, other) -> None:
    _serve_two_pages(httpserver, other)
    with pytest.raises(OriginRefused, match="not the configured origin"):
        collect(_spec(httpserver))
    assert other.log == []  # not one byte reached the other origin
    [(first, _)] = httpserver.log
    assert first.headers["X-App-Token"] == TOKEN  # the home origin gets its credential


def test_allowed_origin_on_a_private_address_needs_allow_private(httpserver, other) -> None:
    _serve_two_pages(httpserver, other)
    allowed = {"allowed": [f"http://127.0.0.1:{other.port}"]}
    with pytest.raises(OriginRefused, match="private address"):
        collect(_spec(httpserver, allowed))
    assert other.log == []


def test_allowed_origin_is_followed_without_the_credential(httpserver, other) -> None:
    _serve_two_pages(httpserver, other)
    allowed = {"allowed": [f"http://127.0.0.1:{other.port}"], "allow_private": True}
    items = collect(_spec(httpserver, allowed))
    assert [i.source_id for i in items if isinstance(i, RawRecord)] == ["1", "2"]
    [(followed, _)] = other.log
    assert "X-App-Token" not in followed.headers
    assert TOKEN not in str(followed.headers) and TOKEN not in followed.url


def test_redirect_to_another_origin_keeps_no_custom_header(httpserver, other) -> None:
    httpserver.expect_request("/list").respond_with_response(
        Response(status=307, headers={"Location": other.url_for("/stolen")})
    )
    other.expect_request("/stolen").respond_with_response(_page([], None))
    with pytest.raises(OriginRefused):
        collect(_spec(httpserver))
    assert other.log == []


def test_acled_password_is_not_reposted_to_another_origin(httpserver, other) -> None:
    """A 307 keeps method and body: the username and password would be re-POSTed."""
    httpserver.expect_request("/oauth/token").respond_with_response(
        Response(status=307, headers={"Location": other.url_for("/oauth/token")})
    )
    spec = {"name": "acled", "type": "acled", "config": {
        "base_url": httpserver.url_for("/").rstrip("/"),
        "username": "env:ORIGIN_TEST_USER", "password": "env:ORIGIN_TEST_PASSWORD",
        "http": {"origins": {"allowed": [f"http://127.0.0.1:{other.port}"],
                             "allow_private": True}}}}  # fmt: skip
    with pytest.raises(OriginRefused, match="only GET may follow"):
        collect(spec)
    assert other.log == []


def test_rss_next_page_to_link_local_is_refused(httpserver) -> None:
    feed = """<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
      <link rel="next" href="http://169.254.169.254/latest/meta-data/"/>
      <entry><id>urn:1</id><title>a</title><link href="https://n.example/1"/>
      <updated>2024-01-01T00:00:00Z</updated></entry></feed>"""
    httpserver.expect_request("/feed").respond_with_data(feed, content_type="application/atom+xml")
    with pytest.raises(OriginRefused, match=r"169\.254\.169\.254"):
        collect({"name": "news", "type": "rss", "config": {"url": httpserver.url_for("/feed")}})


def test_rss_next_page_on_the_same_origin_is_followed(httpserver) -> None:
    def page(n: int) -> str:
        nxt = f'<link rel="next" href="{httpserver.url_for("/feed2")}"/>' if n == 1 else ""
        return f"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
          {nxt}<entry><id>urn:{n}</id><title>a</title><link href="https://n.example/{n}"/>
          <updated>2024-01-0{n}T00:00:00Z</updated></entry></feed>"""

    httpserver.expect_request("/feed").respond_with_data(page(1))
    httpserver.expect_request("/feed2").respond_with_data(page(2))
    items = collect({"name": "news", "type": "rss", "config": {"url": httpserver.url_for("/feed")}})
    assert sorted(i.source_id for i in items if isinstance(i, RawRecord)) == ["urn:1", "urn:2"]


async def _get(settings: HttpSettings, handler) -> httpx.Response:
    client = HttpClient("t", fresh_metrics(), settings, transport=httpx.MockTransport(handler))
    try:
        return await client.get("http://source.example/data")
    finally:
        await client.aclose()


async def test_an_answer_over_max_bytes_is_refused_even_gzipped() -> None:
    settings = HttpSettings(max_bytes=4096)
    bomb = gzip.compress(b"0" * 100_000)  # 100 kB inflated, ~100 bytes on the wire

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=bomb, headers={"Content-Encoding": "gzip"})

    with pytest.raises(ResponseTooLarge, match="max_bytes is 4096"):
        await _get(settings, handler)

    def small(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=gzip.compress(b'{"ok": 1}'),
                              headers={"Content-Encoding": "gzip"})  # fmt: skip

    assert (await _get(settings, small)).json() == {"ok": 1}


async def test_an_answer_that_never_completes_ends_at_the_deadline() -> None:
    settings = HttpSettings(deadline=0.5, retry={"attempts": 1})
    never = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        await never.wait()  # the server never answers
        raise AssertionError("unreachable")

    from vigia.connectors.errors import TransportError

    with pytest.raises(TransportError, match=r"no whole answer within 0\.5s"):
        await _get(settings, handler)


def test_gdelt_defaults_to_https_and_caps_the_unzipped_size(httpserver) -> None:
    import hashlib
    import io
    import zipfile

    from vigia.connectors.errors import InvalidResponse
    from vigia.connectors.sources.gdelt_events import GdeltEventsConfig

    assert GdeltEventsConfig().lastupdate_url.startswith("https://")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("20240101000000.export.CSV", b"\t" * (3 << 20))  # 3 MiB of tabs
    data = buffer.getvalue()
    name = "/gdeltv2/20240101000000.export.CSV.zip"
    listing = f"{len(data)} {hashlib.md5(data).hexdigest()} {httpserver.url_for(name)}\n"
    httpserver.expect_request("/gdeltv2/lastupdate.txt").respond_with_data(listing)
    httpserver.expect_request(name).respond_with_data(data)
    spec = {"name": "gdelt", "type": "gdelt_events", "config": {
        "lastupdate_url": httpserver.url_for("/gdeltv2/lastupdate.txt"),
        "max_uncompressed_bytes": 1 << 20}}  # fmt: skip
    with pytest.raises(InvalidResponse, match="max_uncompressed_bytes is 1048576"):
        collect(spec)
