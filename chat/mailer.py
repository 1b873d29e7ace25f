"""The one way Samtal sends e-mail (booking confirmations and reminders, notifications, urgent exchange
alerts): over TLS to the municipality's mail server, with its login. No mail carries case content; still,
the addresses and the fact of a meeting are personal data, so the connection is encrypted by default.

- `starttls` (the default, port 587 or 25): the connection is upgraded with STARTTLS before anything is sent,
  and a server that does not offer it is refused;
- `tls` (port 465): TLS from the first byte;
- `none`: plain SMTP, accepted only to a relay on this machine (127.0.0.1, ::1, localhost), e.g. a local
  postfix that does the TLS itself.
The server's certificate is checked against the system's CAs, or `ca_file`."""
from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

SECURITY = ("starttls", "tls", "none")
LOCAL_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


class MailSettingsError(ValueError):
    """The mail settings cannot work (checked when the server starts)."""


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int = 587
    security: str = "starttls"
    username: str = ""
    password: str = ""
    ca_file: str = ""  # a CA bundle for the server's certificate, instead of the system's
    timeout: float = 10.0

    def check(self) -> None:
        if self.security not in SECURITY:
            raise MailSettingsError(f"SAMTAL_SMTP_SECURITY is one of {', '.join(SECURITY)}, not {self.security!r}")
        if self.security == "none" and self.host not in LOCAL_HOSTS:
            raise MailSettingsError("plain SMTP (SAMTAL_SMTP_SECURITY=none) only to a relay on this machine; "
                                    "use starttls or tls for another host")
        if self.username and self.security == "none":
            raise MailSettingsError("a password is sent over TLS only (SAMTAL_SMTP_SECURITY starttls or tls)")


def default_security(host: str) -> str:
    """starttls, except to a relay on this machine (which may well offer no TLS)."""
    return "none" if host in LOCAL_HOSTS else "starttls"


def _context(server: SmtpServer) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=server.ca_file or None)


def send(server: SmtpServer, mail: EmailMessage) -> None:
    """Send one message; raises OSError or smtplib.SMTPException (the callers retry on their next round)."""
    server.check()
    smtp: smtplib.SMTP
    if server.security == "tls":
        smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=server.timeout, context=_context(server))
    else:
        smtp = smtplib.SMTP(server.host, server.port, timeout=server.timeout)
    with smtp:
        if server.security == "starttls":
            smtp.ehlo()
            if not smtp.has_extn("starttls"):
                raise smtplib.SMTPNotSupportedError("the mail server offers no STARTTLS; nothing was sent")
            smtp.starttls(context=_context(server))
            smtp.ehlo()
        if server.username:
            smtp.login(server.username, server.password)
        smtp.send_message(mail)
