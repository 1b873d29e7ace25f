"""Swedish personal identity numbers (personnummer and samordningsnummer), as people write them at a desk.

Samtal never stores one: an account is found by a keyed hash of the 12-digit form (web/login.py),
the same whether the person signs in with e-identification or is registered by staff in person."""
from __future__ import annotations

import re
from datetime import date

WRITTEN = re.compile(r"^(\d{8})[-+]?(\d{4})$")  # YYYYMMDD-NNNN, with or without the hyphen


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(digits):
        n = int(ch) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def normalize(text: str, today: date | None = None) -> str | None:
    """The 12-digit form of a valid number (a real date, or its day + 60 for a samordningsnummer, not in
    the future, and a correct check digit), or None."""
    found = WRITTEN.match(text.strip())
    if found is None:
        return None
    born, serial = found.groups()
    year, month, day = int(born[:4]), int(born[4:6]), int(born[6:])
    if day > 60:
        day -= 60  # samordningsnummer
    try:
        birth = date(year, month, day)
    except ValueError:
        return None
    if birth > (today or date.today()) or year < 1880:
        return None
    if not _luhn(born[2:] + serial):
        return None
    return born + serial
