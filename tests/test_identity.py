"""Personal identity numbers as staff type them: the 12-digit form, the date (or samordningsnummer day + 60),
and the check digit."""
from __future__ import annotations

from datetime import date

import pytest

from chat.identity import normalize

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(("written", "expected"), [
    ("19121212-1212", "191212121212"),  # Skatteverket's example number
    ("191212121212", "191212121212"),
    (" 20100201-2381 ", "201002012381"),
    ("19701063-2391", "197010632391"),  # a samordningsnummer: day 03 + 60
])
def test_valid_numbers_are_given_in_twelve_digits(written, expected):
    assert normalize(written, TODAY) == expected


@pytest.mark.parametrize("written", [
    "19121212-1213",  # wrong check digit
    "121212-1212",  # ten digits: the century is needed
    "19121312-1210",  # no month 13
    "19120230-1212",  # no 30 February
    "20271212-1212",  # born in the future
    "1912121212a2", "", "19121212 1212",
])
def test_invalid_numbers_are_refused(written):
    assert normalize(written, TODAY) is None
