"""Languages of the pages: Swedish by default, English by choice (gettext catalogues kept with Babel).

The catalogues are the `.po` files in web/locale; they are compiled in memory when the app starts, so no
compiled file is ever out of date. Strings used by the browser code are sent to it as a JSON catalogue."""
from __future__ import annotations

import gettext
import io
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

# The catalogues are read where the e-mails read them too (chat/texts.py), for the pages and the mail alike.
from chat.texts import DOMAIN as DOMAIN
from chat.texts import LANGUAGES as LANGUAGES
from chat.texts import LOCALE_ROOT as LOCALE_ROOT
from chat.texts import compile_catalog
from chat.texts import read_catalog as read_catalog

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_LANGUAGE = "sv"
JS_KEYWORDS = {"t": None, "tn": (1, 2)}  # t("text", {params}) and tn("one", "many", n, {params})


@dataclass(frozen=True)
class Language:
    code: str
    name: str  # the language's own name for itself, for the language switch
    direction: str  # "ltr" or "rtl"
    translations: gettext.NullTranslations
    js_catalogue: dict[str, str | list[str]]


def _used_by_js(message: Any) -> bool:
    return any(path.endswith(".js") for path, _ in message.locations)


def _js_catalogue(catalog: Catalog) -> dict[str, str | list[str]]:
    """msgid -> translation (or [singular, plural] forms) for every string the browser code uses; an
    untranslated string falls back to its msgid, as gettext does."""
    out: dict[str, str | list[str]] = {}
    for message in catalog:
        if not message.id or not _used_by_js(message):
            continue
        msgid, string = message.id, message.string
        if isinstance(msgid, tuple | list):
            plurals = string if isinstance(string, tuple | list) else ()
            out[msgid[0]] = [s or msgid[min(i, 1)] for i, s in enumerate(plurals)]
        else:
            out[msgid] = string if isinstance(string, str) and string else msgid
    return out


def load_languages() -> dict[str, Language]:
    languages = {}
    for code in LANGUAGES:
        catalog = read_catalog(code)
        locale = Locale.parse(code)
        languages[code] = Language(code, locale.get_display_name(locale) or code,
                                   "rtl" if locale.text_direction == "rtl" else "ltr",
                                   compile_catalog(catalog), _js_catalogue(catalog))
    return languages


def negotiate(query_lang: str | None, cookie_lang: str | None) -> str:
    """An explicit choice in the address wins, then the remembered one; otherwise Swedish."""
    for choice in (query_lang, cookie_lang):
        if choice is not None and choice in LANGUAGES:
            return choice
    return DEFAULT_LANGUAGE


# -- keeping the catalogues up to date (python -m web.i18n update) -------------------------------------
def extract() -> Catalog:
    """Every translatable string in the sources listed in babel.cfg."""
    from babel.messages.extract import (  # tooling, not needed to serve
        DEFAULT_KEYWORDS,
        extract_from_dir,
    )
    from babel.messages.frontend import parse_mapping_cfg as untyped_parse_mapping_cfg

    parse_mapping_cfg: Callable[..., tuple[Any, Any]] = untyped_parse_mapping_cfg  # Babel has no annotations here
    with (ROOT / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle, "babel.cfg")
    template = Catalog(project="Samtal", fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
            ROOT, method_map, options_map, keywords={**DEFAULT_KEYWORDS, **JS_KEYWORDS}):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def update() -> None:
    """Add new strings to every catalogue (untranslated) and mark strings no longer used obsolete."""
    template = extract()
    for code in LANGUAGES:
        path = LOCALE_ROOT / code / "LC_MESSAGES" / f"{DOMAIN}.po"
        catalog = read_catalog(code) if path.exists() else Catalog(locale=code, project="Samtal", fuzzy=False)
        catalog.update(template, no_fuzzy_matching=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            write_po(handle, catalog, width=100, omit_header=False, ignore_obsolete=True, include_previous=False)
        missing = [m.id for m in catalog if m.id and not m.string and code != "en"]
        print(f"{path.relative_to(ROOT)}: {len(catalog)} strings, {len(missing)} untranslated")


def merge(ref: str) -> None:
    """Fill untranslated strings from the catalogues as they are at git revision `ref`.

    For merges: the .po files name every source line, so two branches that add strings always conflict.
    Take one side's files, run `update`, then `merge <other side's commit>` to bring its translations back."""
    import subprocess  # tooling only

    for code in LANGUAGES:
        rel = (LOCALE_ROOT / code / "LC_MESSAGES" / f"{DOMAIN}.po").relative_to(ROOT).as_posix()
        shown = subprocess.run(["git", "show", f"{ref}:{rel}"], cwd=ROOT, capture_output=True, check=True)
        theirs = read_po(io.BytesIO(shown.stdout), locale=code)
        ours = read_catalog(code)
        filled = 0
        for message in ours:
            other = theirs.get(message.id, message.context) if message.id else None
            if other is not None and not any(_as_tuple(message.string)) and any(_as_tuple(other.string)):
                message.string = other.string
                filled += 1
        with (ROOT / rel).open("wb") as handle:
            write_po(handle, ours, width=100, omit_header=False, ignore_obsolete=True, include_previous=False)
        print(f"{rel}: {filled} translations taken from {ref}")


def _as_tuple(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


if __name__ == "__main__":
    if sys.argv[1:] == ["update"]:
        update()
    elif len(sys.argv) == 3 and sys.argv[1] == "merge":
        merge(sys.argv[2])
    else:
        sys.exit("usage: python -m web.i18n update | python -m web.i18n merge <git revision>")
