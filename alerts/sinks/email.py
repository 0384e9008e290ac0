"""``email``: one multipart message (plain text + HTML) per notification over SMTP.

Supports STARTTLS (``starttls: true``, port 587), implicit TLS (``tls: true``, port
465) and AUTH. The blocking ``smtplib`` conversation runs in a worker thread.
``Message-ID`` is derived from the idempotency key, so a redelivered message is
recognisable (and dropped by mail systems that dedupe on Message-ID).

SMTP replies map to errors by their class: 4xx is transient (recoverable), 5xx is
permanent (unknown mailbox, authentication refused). Connection failures are
recoverable; a TLS certificate that fails verification is a configuration problem
(permanent).
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from vigia.alerts.sinks.base import AlertSink, SinkConfig
from vigia.alerts.sinks.errors import PermanentSinkError, RecoverableSinkError, SinkError
from vigia.alerts.sinks.render import RenderOptions, render_html, render_subject, render_text
from vigia.alerts.web.pictures import mail_pictures

from vigia.schema import Notification

log = logging.getLogger(__name__)


class EmailConfig(SinkConfig):
    host: str
    port: int = Field(default=587, gt=0, lt=65536)
    from_addr: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    to: list[str] = Field(min_length=1)
    username: str | None = None
    password: SecretStr | None = None
    starttls: bool = Field(default=True, description="Upgrade with STARTTLS (required if true).")
    tls: bool = Field(default=False, description="Implicit TLS from the first byte (port 465).")
    verify_tls: bool = True
    ca_file: Path | None = Field(default=None, description="CA bundle to verify the server.")
    timeout: float = Field(default=30.0, gt=0)
    subject_prefix: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> EmailConfig:
        if self.tls and self.starttls:
            raise ValueError("choose starttls or tls, not both")
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        for address in self.to:
            if "@" not in address:
                raise ValueError(f"to: {address!r} is not an e-mail address")
        return self


class EmailSink(AlertSink):
    type_name = "email"
    Config = EmailConfig
    config: EmailConfig

    def _target(self) -> str:
        return f"email {self.name!r} ({self.config.host}:{self.config.port})"

    def build_message(self, notification: Notification) -> EmailMessage:
        """The multipart/alternative message for one notification."""
        options = RenderOptions.from_config(self.config)
        message = EmailMessage()
        message["Subject"] = self.config.subject_prefix + render_subject(notification, options)
        message["From"] = self.config.from_addr
        message["To"] = ", ".join(self.config.to)
        message["Date"] = email.utils.formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = f"<{notification.idempotency_key}.{self.name}@vigia>"
        message["X-Vigia-Idempotency-Key"] = notification.idempotency_key
        message.set_content(render_text(notification, options))
        # Charts as PNG parts of a multipart/related body (most clients show no SVG); the
        # SVG goes inline when PNG conversion is unavailable.
        shown = (notification.firing + notification.resolved)[: options.max_alerts]
        pictures = mail_pictures(shown, options.language, small=len(shown) > 1)
        markup = {fp: p.html() for fp, p in pictures.items()}
        message.add_alternative(render_html(notification, options, markup), subtype="html")
        body = message.get_payload()[1]
        for picture in pictures.values():
            if picture.png is not None:
                body.add_related(picture.png, "image", "png", cid=f"<{picture.cid}>")
        return message

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(
            cafile=str(self.config.ca_file) if self.config.ca_file else None
        )
        if not self.config.verify_tls:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _deliver(self, message: EmailMessage) -> None:
        """The blocking SMTP conversation (runs in a thread)."""
        c = self.config
        context = self._tls_context() if (c.tls or c.starttls) else None
        if c.tls:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                c.host, c.port, timeout=c.timeout, context=context
            )
        else:
            client = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
        with client:
            client.ehlo()
            if c.starttls:
                client.starttls(context=context)
                client.ehlo()
            if c.username is not None and c.password is not None:
                client.login(c.username, c.password.get_secret_value())
            refused = client.send_message(message)
        if refused:
            # Some recipients got it: a retry would duplicate it for them.
            log.warning("%s: recipients refused: %s", self._target(), sorted(refused))

    def _message(self, notification: Notification) -> EmailMessage:
        try:
            return self.build_message(notification)
        except ValueError as exc:  # e.g. a header the email package refuses: retrying won't help
            raise PermanentSinkError(f"{self._target()}: cannot build the message: {exc}") from None

    async def send(self, notification: Notification) -> None:
        """Send one message; raises Recoverable/PermanentSinkError by SMTP reply class."""
        try:
            # building draws PNG charts (tens of ms each): off the event loop, like the SMTP talk
            await asyncio.to_thread(lambda: self._deliver(self._message(notification)))
        except SinkError:
            raise
        except Exception as exc:  # classify everything smtplib and ssl can raise
            raise classify_smtp_error(exc, self._target()) from None


def classify_smtp_error(exc: BaseException, target: str) -> SinkError:
    """Map an ``smtplib``/``ssl``/socket exception to a sink error (4xx, network → retry)."""
    name = type(exc).__name__
    if isinstance(exc, ssl.SSLCertVerificationError):
        return PermanentSinkError(f"{target}: TLS certificate not trusted ({exc.verify_message})")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return PermanentSinkError(f"{target}: server does not support {exc}")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        detail = f"{target}: all recipients refused ({', '.join(map(str, codes))})"
        if any(400 <= code < 500 for code in codes):
            return RecoverableSinkError(detail)
        return PermanentSinkError(detail)
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else ""
        detail = f"{target}: {name} {exc.smtp_code} {text}".rstrip()
        if 400 <= exc.smtp_code < 500 or exc.smtp_code < 0:
            return RecoverableSinkError(detail)
        return PermanentSinkError(detail)
    if isinstance(exc, smtplib.SMTPException | OSError | ssl.SSLError):
        return RecoverableSinkError(f"{target}: {name} {exc}".rstrip())
    return PermanentSinkError(f"{target}: unexpected {name}")
