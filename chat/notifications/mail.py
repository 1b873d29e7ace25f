"""The one e-mail a notification is: that there is something new in Samtal, and a link to it. Nothing else,
whatever waits: no content, no case, no unit, no names, not even what kind of thing it is (DOMAIN.md rule
14), since the mailbox may be read by others and the mere contact with social services is sensitive."""
from __future__ import annotations

from email.message import EmailMessage

from chat.booking.mail import MailConfig

SUBJECT = {"sv": "Nytt i Samtal", "en": "New in Samtal"}
TEXT = {
    "sv": ("Hej!\n\nDet finns något nytt för dig i Samtal. Logga in för att se det:\n{link}\n\n"
           "Du får det här e-postmeddelandet för att du har valt att få besked när något nytt väntar. "
           "Du kan stänga av det under Inställningar i Samtal.\n"),
    "en": ("Hello,\n\nThere is something new for you in Samtal. Sign in to see it:\n{link}\n\n"
           "You get this e-mail because you chose to be told when something new waits. "
           "You can turn it off under Settings in Samtal.\n"),
}


def message(recipient: str, language: str | None, config: MailConfig) -> EmailMessage:
    """In the person's chosen language; without a choice, Swedish with English below."""
    languages = [language] if language in SUBJECT else ["sv", "en"]
    mail = EmailMessage()
    mail["From"], mail["To"] = config.sender, recipient
    mail["Subject"] = " / ".join(SUBJECT[code] for code in languages)
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office answers back to Samtal
    mail.set_content("\n".join(TEXT[code].format(link=config.link) for code in languages))
    return mail
