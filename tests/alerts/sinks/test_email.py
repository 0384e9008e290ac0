"""The e-mail sink against a real local SMTP server (aiosmtpd) with STARTTLS and AUTH.

The server's certificate is self-signed, made by ``openssl`` in the test; the sink
trusts it through ``ca_file``. The relevant parts of the shared suite: transient
(4xx) replies and lost connections are recoverable, 5xx replies permanent, the
idempotency key travels (Message-ID), and the password never shows.
"""

from __future__ import annotations

import email
import email.policy
import logging
import socket
import ssl
import subprocess
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from vigia.alerts.sinks.errors import PermanentSinkError, RecoverableSinkError, SinkError
from vigia.alerts.sinks.registry import load_sink
from vigia.alerts.sinks.testing import sample_alert, sample_notification

from tests.alerts.sinks.suite import make_deliverer
from vigia.schema import AlertState

PASSWORD = "smtp-password-8d2c1f"
USER = "vigia"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 / localhost, made with openssl."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


class Recorder:
    """An aiosmtpd handler that keeps what it accepted and can answer with a chosen reply."""

    def __init__(self) -> None:
        self.accepted: list[tuple[bytes, bool, bool, list[str]]] = []
        self.rcpt_reply: str | None = None
        self.data_reply = "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_reply.startswith("250"):
            self.accepted.append(
                (envelope.content, bool(session.ssl), session.authenticated, envelope.rcpt_tos)
            )
        return self.data_reply


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (
        auth_data.login.decode() == USER and auth_data.password.decode() == PASSWORD
    )
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server(certificate):
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    handler = Recorder()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=context,
        require_starttls=True,
        authenticator=authenticator,
        auth_require_tls=True,
    )
    controller.start()
    yield handler, controller
    controller.stop()


def email_sink(controller, cert: Path, **overrides):
    config = {
        "host": "127.0.0.1",
        "port": controller.port,
        "from_addr": "vigia@example.org",
        "to": ["analyst@example.org", "desk@example.org"],
        "username": USER,
        "password": PASSWORD,
        "starttls": True,
        "ca_file": str(cert),
        "timeout": 5,
        "language": "es",
        "dashboard_url": "https://grafana.example.org/d/vigia-region",
    }
    config.update(overrides)
    return load_sink("email", "desk-email", config)


async def test_delivers_multipart_over_starttls_with_auth(smtp_server, certificate):
    handler, controller = smtp_server
    notification = sample_notification()
    sink = email_sink(controller, certificate[0])
    await sink.send(notification)

    ((content, over_tls, authenticated, recipients),) = handler.accepted
    assert over_tls and authenticated
    assert recipients == ["analyst@example.org", "desk@example.org"]
    message = email.message_from_bytes(content, policy=email.policy.default)
    assert message["Message-ID"] == f"<{notification.idempotency_key}.desk-email@vigia>"
    assert message["X-Vigia-Idempotency-Key"] == notification.idempotency_key
    assert message["Subject"].startswith("[Vigía ACTIVA]")
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Santander de Quilichao" in text and "19698" in text
    assert "var-department=19" in text
    assert "&lt;near&gt;" in html  # evidence text is escaped in HTML
    assert "Eventos que más contribuyen" in html


async def test_wrong_password_is_permanent_and_never_shown(smtp_server, certificate, caplog):
    caplog.set_level(logging.DEBUG)
    handler, controller = smtp_server
    wrong = "wrong-password-0a9b8c"
    sink = email_sink(controller, certificate[0], password=wrong)
    with pytest.raises(PermanentSinkError) as info:
        await sink.send(sample_notification())
    assert "535" in str(info.value)
    assert handler.accepted == []
    for secret in (wrong, PASSWORD):
        assert secret not in str(info.value) and secret not in repr(info.value)
        assert secret not in caplog.text


async def test_untrusted_certificate_is_permanent(smtp_server, certificate):
    _, controller = smtp_server
    sink = email_sink(controller, certificate[0], ca_file=None)  # system CAs only
    with pytest.raises(PermanentSinkError, match="certificate"):
        await sink.send(sample_notification())


async def test_plain_connection_refused_by_server_requiring_starttls(smtp_server, certificate):
    _, controller = smtp_server
    sink = email_sink(controller, certificate[0], starttls=False, username=None, password=None)
    with pytest.raises(PermanentSinkError, match="530"):  # "Must issue a STARTTLS command first"
        await sink.send(sample_notification())


@pytest.mark.parametrize(
    ("where", "reply", "error"),
    [
        ("data", "451 4.3.0 Try again later", RecoverableSinkError),
        ("data", "554 5.6.0 Message rejected", PermanentSinkError),
        ("rcpt", "450 4.2.1 Mailbox busy", RecoverableSinkError),
        ("rcpt", "550 5.1.1 No such user", PermanentSinkError),
    ],
)
async def test_reply_class_decides_retry(smtp_server, certificate, where, reply, error):
    handler, controller = smtp_server
    if where == "data":
        handler.data_reply = reply
    else:
        handler.rcpt_reply = reply
    with pytest.raises(error) as info:
        await email_sink(controller, certificate[0]).send(sample_notification())
    assert reply[:3] in str(info.value)


async def test_server_down_is_recoverable(certificate):
    sink = load_sink(
        "email",
        "down",
        {"host": "127.0.0.1", "port": free_port(), "from_addr": "a@b.org", "to": ["c@d.org"]},
    )
    with pytest.raises(RecoverableSinkError):
        await sink.send(sample_notification())


async def test_deliverer_retries_transient_then_delivers_once(smtp_server, certificate, tmp_path):
    handler, controller = smtp_server
    replies = iter(["451 4.3.0 Try again later", "250 OK"])

    async def flaky(server, session, envelope):
        reply = next(replies)
        if reply.startswith("250"):
            handler.accepted.append((envelope.content, bool(session.ssl), True, envelope.rcpt_tos))
        return reply

    handler.handle_DATA = flaky
    notification = sample_notification(
        receiver="mail", alerts=[sample_alert(), sample_alert(AlertState.RESOLVED, code="05001")]
    )
    deliverer, dead, sleep = make_deliverer(
        {"mail": email_sink(controller, certificate[0])}, tmp_path
    )
    result = await deliverer.submit("mail", notification)
    assert (result.outcome, result.attempts) == ("delivered", 2)
    assert len(handler.accepted) == 1 and len(sleep.delays) == 1 and dead.letters == []


def test_config_errors_name_the_field():
    with pytest.raises(SinkError, match="to"):
        load_sink("email", "e", {"host": "h", "from_addr": "a@b.org", "to": []})
    with pytest.raises(SinkError, match="starttls or tls"):
        load_sink(
            "email", "e", {"host": "h", "from_addr": "a@b.org", "to": ["c@d.org"], "tls": True}
        )
