"""The e-mails' words come from the gettext catalogues (web/locale), Swedish and English, like the pages':
every marked text is in both catalogues and translated into Swedish, and each mail is written from them."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from chat import texts
from chat.booking import mail as booking_mail
from chat.booking.mail import MailConfig
from chat.exchange import alerts
from chat.mailer import SmtpServer
from chat.notifications import mail as notification_mail
from chat.storage.bookings import Booking, Slot
from web.i18n import read_catalog

from .conftest import ROOT

MAIL_MODULES = ("chat/booking/mail.py", "chat/notifications/mail.py", "chat/exchange/alerts.py")
CONFIG = MailConfig(SmtpServer("127.0.0.1", 25, "none"), "samtal@kommun.example", "https://samtal.kommun.example/")
START = 1_796_000_000_000  # Monday 30 November 2026, 01:53 Swedish time


def marked(path: str) -> set[str]:
    """The msgids a module marks with N_()."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    return {node.args[0].value for node in ast.walk(tree)
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "N_"
            and isinstance(node.args[0], ast.Constant)}


@pytest.mark.parametrize("path", MAIL_MODULES)
def test_every_mail_text_is_in_both_catalogues_and_translated_into_swedish(path: str) -> None:
    ids = marked(path)
    assert ids, f"{path} marks no text"
    sv, en = ({m.id: m.string for m in read_catalog(code) if m.id} for code in ("sv", "en"))
    assert ids <= set(en), f"not in the English catalogue (run python -m web.i18n update): {ids - set(en)}"
    untranslated = sorted(i for i in ids if not sv.get(i))
    assert not untranslated, f"no Swedish in web/locale/sv for: {untranslated}"


def booking(form: str) -> Booking:
    slot = Slot(7, "ekonomiskt-bistand", "anna", START, START + 45 * 60_000, ("in_person", "phone"), 1,
                "Storgatan 1, 111 22 Stockholm")
    return Booking(3, slot, "eb-2026-0001", "dana", form, "booked", "dana", False, START - 86_400_000, None, None,
                   None, None)


def sv(msgid: str) -> str:
    return texts.text("sv", msgid)


def test_the_booking_mail_says_it_in_swedish_then_english_from_the_catalogues() -> None:
    mail = booking_mail.message("reminder", booking("phone"), "dana@example.se", CONFIG)
    body = mail.get_body(("plain",)).get_content()
    assert mail["Subject"] == sv(booking_mail.SUBJECTS["reminder"]) == "Påminnelse om bokad tid i Samtal"
    swedish, english = body.split(sv(booking_mail.SIGN_IN))[0], body.split(booking_mail.SIGN_IN)[0]
    assert "Påminnelse om din bokade tid." in swedish and "Mötesform: telefon" in swedish
    assert "Plats: Telefon: handläggaren ringer dig / Phone: the caseworker calls you" in swedish
    assert "A reminder of your appointment." in english and "Form: phone" in english and "Place: " in english
    assert body.index("Tid: måndag 30 november 2026, kl. 01:53") < body.index("Time: Monday 30 November 2026, 01:53")
    [calendar] = [p for p in mail.iter_attachments() if p.get_content_type() == "text/calendar"]
    ics = calendar.get_payload(decode=True).decode("utf-8").replace("\r\n ", "")
    assert "SUMMARY:Bokad tid i Samtal" in ics and "DESCRIPTION:Mötesform: telefon / Form: phone." in ics


@pytest.mark.parametrize(("language", "subject", "has_swedish", "has_english"), [
    ("sv", "Nytt i Samtal", True, False),
    ("en", "New in Samtal", False, True),
    (None, "Nytt i Samtal / New in Samtal", True, True),  # no choice made: Swedish with English below
])
def test_the_notification_is_in_the_chosen_language(language: str | None, subject: str, has_swedish: bool,
                                                    has_english: bool) -> None:
    mail = notification_mail.message("dana@example.se", language, CONFIG)
    body = mail.get_body(("plain",)).get_content()
    assert mail["Subject"] == subject
    assert (sv(notification_mail.NEWS) in body) is has_swedish and "Det finns något nytt" in sv(notification_mail.NEWS)
    assert (notification_mail.NEWS in body) is has_english and CONFIG.link in body


def test_the_urgent_alert_is_written_from_the_catalogues(monkeypatch: pytest.MonkeyPatch) -> None:
    sent = []
    monkeypatch.setattr(alerts.mailer, "send", lambda server, mail: sent.append(mail))
    alerts._send(alerts.SmtpConfig(CONFIG.server, CONFIG.sender, CONFIG.link, 60, 1.0), ["jour@kommun.example"])
    [mail] = sent
    assert mail["Subject"] == "Brådskande dokument väntar i Samtal"
    body = mail.get_body(("plain",)).get_content()
    assert sv(alerts.WAITING) in body and alerts.WAITING in body and sv(alerts.WAITING) != alerts.WAITING


def test_a_translation_changed_in_the_catalogue_changes_the_mail(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """No copy of the words is left in the code: the catalogue is where they are read."""
    for code in texts.LANGUAGES:
        folder = tmp_path / code / "LC_MESSAGES"
        folder.mkdir(parents=True)
        po = (texts.LOCALE_ROOT / code / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8")
        (folder / "messages.po").write_text(po.replace('msgstr "Nytt i Samtal"', 'msgstr "Något nytt väntar"'),
                                            encoding="utf-8")
    monkeypatch.setattr(texts, "LOCALE_ROOT", tmp_path)
    texts._translations.cache_clear()
    try:
        assert notification_mail.message("dana@example.se", "sv", CONFIG)["Subject"] == "Något nytt väntar"
    finally:
        monkeypatch.undo()
        texts._translations.cache_clear()
