"""Booking confirmations, cancellations and reminders by e-mail, with an iCalendar invitation (RFC 5545).
Like every notification (DOMAIN.md) they carry no sensitive content: no case title, no names, no unit
name; only the time, the meeting form (with the office address or the meeting link) and a link to Samtal."""
from __future__ import annotations

import smtplib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage

from chat.booking.store import Booking

SUMMARY = "Möte med socialtjänsten"
FORM_SV = {"in_person": "besök", "phone": "telefon", "video": "video"}
FORM_EN = {"in_person": "in person", "phone": "phone", "video": "video"}
SUBJECTS = {"confirmation": "Bokad tid i Samtal", "cancellation": "Avbokad tid i Samtal",
            "reminder": "Påminnelse om bokad tid i Samtal"}
INTRO = {"confirmation": ("Din tid är bokad.", "Your meeting is booked."),
         "cancellation": ("Din tid är avbokad.", "Your meeting is cancelled."),
         "reminder": ("Påminnelse om din bokade tid.", "A reminder of your meeting.")}


@dataclass(frozen=True)
class MailConfig:
    host: str
    port: int
    sender: str
    link: str  # Samtal's address, where the person signs in to see the booking
    uid_domain: str = "samtal.invalid"
    video_link: str = ""  # SAMTAL_VIDEO_LINK_TEMPLATE, with {booking} and {unit} filled in


def ics_time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y%m%dT%H%M%SZ")


def escape_text(value: str) -> str:
    """TEXT values (RFC 5545 3.3.11): backslash, semicolon, comma and newline escaped."""
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold(line: str) -> str:
    """Lines longer than 75 octets are folded (RFC 5545 3.1): CRLF and a space, never inside a UTF-8
    character."""
    out, current = [], b""
    for char in line:
        encoded = char.encode("utf-8")
        if len(current) + len(encoded) > (75 if not out else 74):
            out.append(current)
            current = b""
        current += encoded
    out.append(current)
    return "\r\n ".join(part.decode("utf-8") for part in out)


def location(booking: Booking, video_link: str) -> str:
    if booking.form == "in_person":
        return booking.slot.address or ""
    if booking.form == "video":
        return video_link
    return "Telefon: handläggaren ringer dig / phone: the caseworker calls you"


def ics(booking: Booking, config: MailConfig, cancelled: bool = False, stamp_ms: int | None = None) -> str:
    stamp = ics_time(stamp_ms if stamp_ms is not None else int(datetime.now(UTC).timestamp() * 1000))
    where = location(booking, config.video_link)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Samtal//Tidsbokning//SV",
        "CALSCALE:GREGORIAN",
        f"METHOD:{'CANCEL' if cancelled else 'REQUEST'}",
        "BEGIN:VEVENT",
        f"UID:booking-{booking.id}@{config.uid_domain}",
        f"DTSTAMP:{stamp}",
        f"DTSTART:{ics_time(booking.slot.starts_at)}",
        f"DTEND:{ics_time(booking.slot.ends_at)}",
        f"SUMMARY:{escape_text(SUMMARY)}",
        f"DESCRIPTION:{escape_text(f'Mötesform / form: {FORM_SV[booking.form]} / {FORM_EN[booking.form]}. ' + config.link)}",
        *([f"LOCATION:{escape_text(where)}"] if where else []),
        f"URL:{config.link}",
        f"ORGANIZER:mailto:{config.sender}",
        f"SEQUENCE:{1 if cancelled else 0}",
        f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "".join(fold(line) + "\r\n" for line in lines)


def _local(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def message(kind: str, booking: Booking, recipient: str, config: MailConfig) -> EmailMessage:
    cancelled = kind == "cancellation"
    sv, en = INTRO[kind]
    where = location(booking, config.video_link)
    text = (f"{sv}\n\nTid: {_local(booking.slot.starts_at)} till {_local(booking.slot.ends_at)}\n"
            f"Mötesform: {FORM_SV[booking.form]}\n" + (f"Plats: {where}\n" if where else "") +
            f"\nLogga in i Samtal för att se, ändra eller avboka: {config.link}\n\n"
            f"{en}\n\nTime: {_local(booking.slot.starts_at)} to {_local(booking.slot.ends_at)}\n"
            f"Form: {FORM_EN[booking.form]}\n\nSign in to Samtal to see, change or cancel it: {config.link}\n")
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = config.sender, recipient, SUBJECTS[kind]
    mail.set_content(text)
    method = "CANCEL" if cancelled else "REQUEST"
    mail.add_attachment(ics(booking, config, cancelled).encode("utf-8"), maintype="text", subtype="calendar",
                        filename="mote.ics", params={"method": method, "charset": "utf-8"})
    return mail


def send(config: MailConfig, mail: EmailMessage) -> None:
    with smtplib.SMTP(config.host, config.port, timeout=10) as smtp:
        smtp.send_message(mail)
