"""Finding 8: event text never becomes markup, links or e-mail headers.

Before the fix Slack's top-level ``text`` was not escaped (``<!channel>`` pinged a
channel), a ``javascript:`` URL from a GDELT record became a link in the HTML e-mail,
and a line break in a summary made the e-mail subject invalid, which was retried as an
unexpected error.
"""

from __future__ import annotations

import pytest
from vigia.alerts.sinks.email import EmailConfig, EmailSink
from vigia.alerts.sinks.errors import PermanentSinkError
from vigia.alerts.sinks.render import RenderOptions, render_html, render_subject, web_url
from vigia.alerts.sinks.slack import slack_payload
from vigia.alerts.sinks.testing import sample_alert, sample_notification

HOSTILE_SUMMARY = "<!channel> Ataque <https://evil.example|aquí>\r\nBcc: victim@example.org"


def _hostile_notification():
    alert = sample_alert()
    evidence = [
        e.model_copy(update={"source_urls": ["javascript:alert(1)", "https://ok.example/a"]})
        for e in alert.detection.evidence
    ]
    detection = alert.detection.model_copy(update={"evidence": evidence})
    alert = alert.model_copy(
        update={
            "annotations": {"summary": HOSTILE_SUMMARY, "dashboard_url": "javascript:void(0)"},
            "detection": detection,
            "generator_url": "data:text/html,<script>x</script>",
        }
    )
    return sample_notification(alerts=[alert])


def test_slack_top_level_text_is_escaped() -> None:
    payload = slack_payload(_hostile_notification(), RenderOptions())
    assert "<!channel>" not in payload["text"] and "&lt;!channel&gt;" in payload["text"]
    assert "<https://evil.example|" not in payload["text"]
    assert not any(b["type"] == "actions" for b in payload["blocks"])  # no javascript: button
    assert "javascript:" not in str(payload)


def test_html_email_links_only_http_urls() -> None:
    html = render_html(_hostile_notification(), RenderOptions())
    assert "javascript:" not in html and "data:text/html" not in html
    assert 'href="https://ok.example/a"' in html


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://ok.example/x?a=1", True),
        ("HTTP://ok.example", True),
        ("javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        ("data:text/html,x", False),
        ("https://ok.example/\nSet-Cookie", False),
        ("//no-scheme.example", False),
        ("http://", False),
    ],
)
def test_web_url(url: str, kept: bool) -> None:
    assert (web_url(url) == url) is kept


def test_subject_is_one_line_and_the_message_builds() -> None:
    notification = _hostile_notification()
    subject = render_subject(notification, RenderOptions())
    assert "\r" not in subject and "\n" not in subject and "Bcc: victim" in subject
    sink = EmailSink(
        "mail", EmailConfig(host="127.0.0.1", port=9, from_addr="a@b.co", to=["c@d.co"])
    )
    message = sink.build_message(notification)
    assert message["Bcc"] is None
    assert "\n" not in message["Subject"]


async def test_an_unbuildable_message_is_permanent_not_retried() -> None:
    sink = EmailSink(
        "mail", EmailConfig(host="127.0.0.1", port=9, from_addr="a@b.co", to=["c@d.co"])
    )

    def broken(_notification):
        raise ValueError("Header values may not contain linefeed or carriage return characters")

    sink.build_message = broken  # the failure mode of the email package, forced
    with pytest.raises(PermanentSinkError, match="cannot build the message"):
        await sink.send(sample_notification())
