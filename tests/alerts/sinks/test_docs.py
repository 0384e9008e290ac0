"""The verification example in docs/sinks.md works on a real signed webhook request."""

from __future__ import annotations

import re
from pathlib import Path

from vigia.alerts.sinks.registry import load_sink
from vigia.alerts.sinks.testing import sample_notification

DOC = Path(__file__).resolve().parents[3] / "docs" / "sinks.md"


def doc_verifier():
    text = DOC.read_text()
    section = text[text.index("## Verifying a webhook") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, str(DOC), "exec"), namespace)
    return namespace["verify_vigia_request"]


async def test_documented_verification_accepts_vigia_and_rejects_forgeries(httpserver):
    secret = "documented-secret-value-1"
    httpserver.expect_request("/in").respond_with_data("ok")
    sink = load_sink("webhook", "w", {"url": httpserver.url_for("/in"), "secret": secret})
    await sink.send(sample_notification())
    await sink.aclose()
    ((request, _),) = httpserver.log
    verify = doc_verifier()
    body = request.get_data()
    assert verify(secret, request.headers, body)
    assert not verify("some-other-secret-value", request.headers, body)
    assert not verify(secret, request.headers, body.replace(b"firing", b"resolved", 1))
    forged = dict(request.headers)
    forged["X-Vigia-Timestamp"] = str(int(forged["X-Vigia-Timestamp"]) - 3600)
    assert not verify(secret, forged, body)
