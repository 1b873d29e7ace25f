"""The one mailer (chat/mailer.py) against a real SMTP server (aiosmtpd) with TLS: STARTTLS and implicit TLS,
with a login; the server's certificate checked; plain SMTP only to a relay on this machine."""
from __future__ import annotations

import datetime
import ipaddress
import smtplib
import ssl
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from chat.mailer import MailSettingsError, SmtpServer, send

from .conftest import free_port


class Inbox:
    def __init__(self) -> None:
        self.received: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.received.append(envelope.content.decode("utf-8", "replace"))
        return "250 OK"


def login(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"samtal", b"hemligt")
    return AuthResult(success=ok)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, and its key."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def tls_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


def running(controller: Controller) -> Iterator[Controller]:
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


@pytest.fixture
def starttls_server(certificate: tuple[Path, Path]) -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    yield from ((inbox, port) for _ in running(Controller(
        inbox, hostname="127.0.0.1", port=port, tls_context=tls_context(certificate), require_starttls=True,
        authenticator=login, auth_require_tls=True)))


@pytest.fixture
def implicit_tls_server(certificate: tuple[Path, Path]) -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    yield from ((inbox, port) for _ in running(Controller(
        inbox, hostname="127.0.0.1", port=port, ssl_context=tls_context(certificate), authenticator=login,
        auth_require_tls=False)))


@pytest.fixture
def plain_server() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    yield from ((inbox, port) for _ in running(Controller(inbox, hostname="127.0.0.1", port=port)))


def mail(text: str = "Du har ett nytt meddelande i Samtal.") -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "samtal@kommun.example", "dana@example.se", "Samtal"
    message.set_content(text)
    return message


def test_starttls_with_a_login_delivers(starttls_server: tuple[Inbox, int], certificate: tuple[Path, Path]) -> None:
    inbox, port = starttls_server
    send(SmtpServer("127.0.0.1", port, "starttls", "samtal", "hemligt", str(certificate[0])), mail("över TLS"))
    assert len(inbox.received) == 1 and "Subject: Samtal" in inbox.received[0]


def test_implicit_tls_with_a_login_delivers(implicit_tls_server: tuple[Inbox, int],
                                            certificate: tuple[Path, Path]) -> None:
    inbox, port = implicit_tls_server
    send(SmtpServer("127.0.0.1", port, "tls", "samtal", "hemligt", str(certificate[0])), mail())
    assert len(inbox.received) == 1


def test_a_certificate_that_does_not_verify_sends_nothing(starttls_server: tuple[Inbox, int]) -> None:
    inbox, port = starttls_server
    with pytest.raises(ssl.SSLError):
        send(SmtpServer("127.0.0.1", port, "starttls", "samtal", "hemligt"), mail())  # system CAs only
    assert inbox.received == []


def test_a_wrong_password_sends_nothing(starttls_server: tuple[Inbox, int], certificate: tuple[Path, Path]) -> None:
    inbox, port = starttls_server
    with pytest.raises(smtplib.SMTPException):  # refused (or, after every mechanism is refused, hung up on)
        send(SmtpServer("127.0.0.1", port, "starttls", "samtal", "fel", str(certificate[0]), timeout=3), mail())
    assert inbox.received == []


def test_a_server_without_starttls_is_refused_when_tls_is_asked_for(plain_server: tuple[Inbox, int]) -> None:
    inbox, port = plain_server
    with pytest.raises(smtplib.SMTPNotSupportedError):
        send(SmtpServer("127.0.0.1", port, "starttls"), mail())
    assert inbox.received == []
    send(SmtpServer("127.0.0.1", port, "none"), mail())  # a relay on this machine may be plain
    assert len(inbox.received) == 1


def test_plain_smtp_to_another_host_or_a_password_without_tls_is_refused() -> None:
    with pytest.raises(MailSettingsError):
        SmtpServer("mail.kommun.example", 25, "none").check()
    with pytest.raises(MailSettingsError):
        SmtpServer("127.0.0.1", 25, "none", "samtal", "hemligt").check()
    with pytest.raises(MailSettingsError):
        SmtpServer("mail.kommun.example", 25, "ssl").check()
