"""The one e-mail a notification is: that there is something new in Samtal, and a link to it. Nothing else,
whatever waits: no content, no case, no unit, no names, not even what kind of thing it is (DOMAIN.md rule
14), since the mailbox may be read by others and the mere contact with social services is sensitive."""
from __future__ import annotations

from email.message import EmailMessage

from chat.booking.mail import MailConfig
from chat.texts import LANGUAGES, N_, text

# Texts from the gettext catalogues (chat/texts.py): English msgids, Swedish in web/locale/sv.
SUBJECT = N_("New in Samtal")
GREETING = N_("Hello,")
NEWS = N_("There is something new for you in Samtal. Sign in to see it:")
WHY = N_("You get this e-mail because you chose to be told when something new waits. "
         "You can turn it off under Settings in Samtal.")


def body(language: str, link: str) -> str:
    return f"{text(language, GREETING)}\n\n{text(language, NEWS)}\n{link}\n\n{text(language, WHY)}\n"


def message(recipient: str, language: str | None, config: MailConfig) -> EmailMessage:
    """In the person's chosen language; without a choice, Swedish with English below."""
    languages = [language] if language in LANGUAGES else ["sv", "en"]
    mail = EmailMessage()
    mail["From"], mail["To"] = config.sender, recipient
    mail["Subject"] = " / ".join(text(code, SUBJECT) for code in languages)
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office answers back to Samtal
    mail.set_content("\n".join(body(code, config.link) for code in languages))
    return mail
