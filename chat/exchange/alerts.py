"""Urgent documents nobody has read: after `urgent_seconds` without a read receipt, e-mail the unit's
on-call contacts. The e-mail carries no content, label or names (DOMAIN.md rule 14): only that an urgent
document waits, and a link."""
from __future__ import annotations

import asyncio
import functools
import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage

from chat import mailer
from chat.audit.chain import AuditEvent
from chat.mailer import SmtpServer
from chat.model import now_ms
from chat.scheduled import Claims
from chat.storage.exchange import ExchangeStore, Message
from chat.texts import N_, text

log = logging.getLogger("samtal.exchange.alerts")

# gettext msgids (chat/texts.py); the unit's on-call staff read Swedish first, English below.
SUBJECT = N_("An urgent document waits in Samtal")
WAITING = N_("An urgent document from another agency waits at your unit's functional address in Samtal and "
             "has not been read.")


@dataclass(frozen=True)
class SmtpConfig:
    server: SmtpServer  # the mail server, over TLS (chat/mailer.py)
    sender: str
    link: str
    urgent_seconds: int
    check_seconds: float


def _send(config: SmtpConfig, recipients: list[str]) -> None:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = config.sender, ", ".join(recipients), text("sv", SUBJECT)
    mail.set_content(f"{text('sv', WAITING)}\n\n{text('en', WAITING)}\n\n{config.link}\n")
    mailer.send(config.server, mail)


async def check_once(store: ExchangeStore, config: SmtpConfig, claims: Claims) -> int:
    """Alert for every urgent unread message past its time; returns how many were alerted. Each message is
    claimed first: every node runs this check, and each alert goes once (chat/scheduled.py)."""
    alerted = 0
    for message in await store.unread_urgent(now_ms() - config.urgent_seconds * 1000):
        if await claims.once("urgent_alert", str(message.row), functools.partial(_alert, store, config, message)):
            alerted += 1
    return alerted


async def _alert(store: ExchangeStore, config: SmtpConfig, message: Message) -> bool:
    address = await store.address(message.recipient)
    contacts = address.oncall if address else []
    if contacts:
        try:
            await asyncio.to_thread(_send, config, contacts)
        except (OSError, smtplib.SMTPException) as error:
            log.warning("urgent alert not sent", extra={"error": type(error).__name__})
            return False  # tried again next round
    await store.mark_alerted(message, _alert_event(message, len(contacts)))
    return True


def _alert_event(message: Message, contacts: int) -> AuditEvent:
    outcome = "allowed" if contacts else "error"
    return AuditEvent(action="exchange.alert", outcome=outcome, actor=None, role="system",
                      reason="" if contacts else "no_oncall_contacts",
                      detail={"message": message.msg_id, "recipient": message.recipient, "contacts": contacts})


async def run(store: ExchangeStore, config: SmtpConfig, claims: Claims) -> None:
    """Checks every `check_seconds` until cancelled (on shutdown)."""
    while True:
        await asyncio.sleep(config.check_seconds)
        try:
            await check_once(store, config, claims)
        except Exception as error:  # noqa: BLE001 (one bad round must not end the alerts)
            log.error("urgent alert check failed", extra={"error": type(error).__name__})
