"""The words Samtal sends without a page (the e-mails), in the reader's language, from the same gettext
catalogues as the pages: web/locale/<lang>/LC_MESSAGES/messages.po. Mail modules mark their English msgids
with N_(); `python -m web.i18n update` (babel.cfg lists those modules) brings new ones into the catalogues,
where they are translated like any page text. The catalogues are read and compiled in memory once."""
from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_ROOT = Path(__file__).resolve().parent.parent / "web" / "locale"  # package data of `web`, beside us
DOMAIN = "messages"
LANGUAGES = ("sv", "en")


def N_(msgid: str) -> str:
    """Marks a msgid for extraction; the text is looked up when the mail is written (`text`)."""
    return msgid


def read_catalog(code: str) -> Catalog:
    with (LOCALE_ROOT / code / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as handle:
        return read_po(handle, locale=code)


def compile_catalog(catalog: Catalog) -> gettext.GNUTranslations:
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


@cache
def _translations(code: str) -> gettext.NullTranslations:
    return compile_catalog(read_catalog(code)) if code in LANGUAGES else gettext.NullTranslations()


def text(language: str, msgid: str) -> str:
    """`msgid` in `language` (the msgid itself, English, where a catalogue has no translation)."""
    return _translations(language).gettext(msgid)
