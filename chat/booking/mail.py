"""Booking confirmations, cancellations and reminders by e-mail, with an iCalendar invitation (RFC 5545).
Like every notification (DOMAIN.md rule 14) they carry no sensitive content: no case title, no names, no
unit name, nothing that says social services (a calendar is seen by others: a shared family calendar, a
work phone); only the time, the meeting form (with the office address or the meeting link) and a link to
Samtal. Times are Swedish time (Europe/Stockholm), with the zone stated, as the person's phone shows them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from chat import mailer
from chat.mailer import SmtpServer
from chat.storage.bookings import Booking
from chat.texts import N_, text

ZONE = "Europe/Stockholm"
STOCKHOLM = ZoneInfo(ZONE)
# Europe/Stockholm as RFC 5545 wants it beside a TZID (3.6.5): CET in winter, CEST from the last Sunday of
# March to the last Sunday of October (the EU rule since 1996).
VTIMEZONE = [
    "BEGIN:VTIMEZONE", f"TZID:{ZONE}",
    "BEGIN:DAYLIGHT", "TZOFFSETFROM:+0100", "TZOFFSETTO:+0200", "TZNAME:CEST", "DTSTART:19700329T020000",
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", "END:DAYLIGHT",
    "BEGIN:STANDARD", "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100", "TZNAME:CET", "DTSTART:19701025T030000",
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU", "END:STANDARD",
    "END:VTIMEZONE",
]
WEEKDAYS_SV = ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag")
MONTHS_SV = ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober",
             "november", "december")
# Named here, not by strftime's %A/%B, which follow the server's locale.
WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December")
# The words are gettext msgids (chat/texts.py), in Swedish from web/locale/sv. A mail says everything in
# Swedish, then in English: the booking does not know the person's language.
FORMS = {"in_person": N_("in person"), "phone": N_("phone"), "video": N_("video")}
SUBJECTS = {"confirmation": N_("Meeting booked in Samtal"), "cancellation": N_("Meeting cancelled in Samtal"),
            "reminder": N_("Reminder of a meeting booked in Samtal")}
SUMMARY = SUBJECTS["confirmation"]  # the calendar entry has the same neutral words as the subject
INTRO = {"confirmation": N_("Your appointment is booked."), "cancellation": N_("Your appointment is cancelled."),
         "reminder": N_("A reminder of your appointment.")}
TIME, FORM, PLACE = N_("Time:"), N_("Form:"), N_("Place:")
SIGN_IN = N_("Sign in to Samtal to see, change or cancel it:")
BY_PHONE = N_("Phone: the caseworker calls you")


@dataclass(frozen=True)
class MailConfig:
    server: SmtpServer  # the mail server, over TLS (chat/mailer.py)
    sender: str
    link: str  # Samtal's address, where the person signs in to see the booking
    uid_domain: str = "samtal.invalid"
    video_link: str = ""  # SAMTAL_VIDEO_LINK_TEMPLATE, with {booking} and {unit} filled in


def ics_time(ms: int) -> str:
    """A UTC time (DTSTAMP must be one)."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y%m%dT%H%M%SZ")


def ics_local(ms: int) -> str:
    """A Swedish local time, for DTSTART/DTEND with TZID=Europe/Stockholm."""
    return datetime.fromtimestamp(ms / 1000, STOCKHOLM).strftime("%Y%m%dT%H%M%S")


def when_sv(start_ms: int, end_ms: int) -> str:
    start, end = (datetime.fromtimestamp(ms / 1000, STOCKHOLM) for ms in (start_ms, end_ms))
    return (f"{WEEKDAYS_SV[start.weekday()]} {start.day} {MONTHS_SV[start.month - 1]} {start.year}, "
            f"kl. {start:%H:%M}–{end:%H:%M} svensk tid")


def when_en(start_ms: int, end_ms: int) -> str:
    start, end = (datetime.fromtimestamp(ms / 1000, STOCKHOLM) for ms in (start_ms, end_ms))
    return (f"{WEEKDAYS_EN[start.weekday()]} {start.day} {MONTHS_EN[start.month - 1]} {start.year}, "
            f"{start:%H:%M}–{end:%H:%M} Swedish time ({ZONE})")


def escape_text(value: str) -> str:
    """TEXT values (RFC 5545 3.3.11): backslash, semicolon, comma and newline escaped."""
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold(line: str) -> str:
    """Lines longer than 75 octets are folded (RFC 5545 3.1): CRLF and a space, never inside a UTF-8
    character."""
    out: list[bytes] = []
    current = b""
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
    return f"{text('sv', BY_PHONE)} / {text('en', BY_PHONE)}"


def ics(booking: Booking, config: MailConfig, cancelled: bool = False, stamp_ms: int | None = None) -> str:
    stamp = ics_time(stamp_ms if stamp_ms is not None else int(datetime.now(UTC).timestamp() * 1000))
    where = location(booking, config.video_link)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Samtal//Tidsbokning//SV",
        "CALSCALE:GREGORIAN",
        f"METHOD:{'CANCEL' if cancelled else 'REQUEST'}",
        *VTIMEZONE,
        "BEGIN:VEVENT",
        f"UID:booking-{booking.id}@{config.uid_domain}",
        f"DTSTAMP:{stamp}",
        f"DTSTART;TZID={ZONE}:{ics_local(booking.slot.starts_at)}",
        f"DTEND;TZID={ZONE}:{ics_local(booking.slot.ends_at)}",
        f"SUMMARY:{escape_text(text('sv', SUMMARY))}",
        f"DESCRIPTION:{escape_text(' / '.join(both(FORM, FORMS[booking.form])) + '. ' + config.link)}",
        *([f"LOCATION:{escape_text(where)}"] if where else []),
        f"URL:{config.link}",
        f"ORGANIZER:mailto:{config.sender}",
        f"SEQUENCE:{1 if cancelled else 0}",
        f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "".join(fold(line) + "\r\n" for line in lines)


def both(label: str, value: str) -> tuple[str, str]:
    """'label value' in Swedish and in English."""
    return f"{text('sv', label)} {text('sv', value)}", f"{text('en', label)} {text('en', value)}"


def body(language: str, kind: str, booking: Booking, where: str, link: str) -> str:
    start, end = booking.slot.starts_at, booking.slot.ends_at
    when = when_sv(start, end) if language == "sv" else when_en(start, end)
    return (f"{text(language, INTRO[kind])}\n\n{text(language, TIME)} {when}\n"
            f"{text(language, FORM)} {text(language, FORMS[booking.form])}\n"
            + (f"{text(language, PLACE)} {where}\n" if where else "")
            + f"\n{text(language, SIGN_IN)} {link}\n")


def message(kind: str, booking: Booking, recipient: str, config: MailConfig) -> EmailMessage:
    cancelled = kind == "cancellation"
    where = location(booking, config.video_link)
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = config.sender, recipient, text("sv", SUBJECTS[kind])
    mail.set_content("\n".join(body(code, kind, booking, where, config.link) for code in ("sv", "en")))
    method = "CANCEL" if cancelled else "REQUEST"
    mail.add_attachment(ics(booking, config, cancelled).encode("utf-8"), maintype="text", subtype="calendar",
                        filename="mote.ics", params={"method": method, "charset": "utf-8"})
    return mail


def send(config: MailConfig, mail: EmailMessage) -> None:
    mailer.send(config.server, mail)
