"""The appeal deadline of a decision (överklagandetid). An appeal must have come in within three weeks of the day
the person received the decision (förvaltningslagen, SFS 2017:900, 44 §). A time counted in weeks ends on the
day with the same weekday name as the day counting starts from (lag (1930:173) om beräkning av lagstadgad tid,
1 §): received on a Tuesday, the last day is the Tuesday three weeks later, whatever the months in between. If
that day is a Saturday, a Sunday, another public holiday (lag (1989:253) om allmänna helgdagar), midsommarafton,
julafton or nyårsafton, the appeal may still come in on the next weekday (1930:173, 2 §). Days are Swedish
calendar days (Europe/Stockholm), not UTC ones: a decision opened at 00:30 on a Tuesday in Sweden was received
that Tuesday."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

SWEDEN = ZoneInfo("Europe/Stockholm")
APPEAL_WEEKS = 3


def swedish_day(at_ms: int) -> date:
    """The calendar day in Sweden of a moment (ms since the epoch)."""
    return datetime.fromtimestamp(at_ms / 1000, UTC).astimezone(SWEDEN).date()


def day_end_ms(day: date) -> int:
    """The last millisecond of a Swedish calendar day: an appeal that came in before it is in time."""
    nxt = datetime(day.year, day.month, day.day, tzinfo=SWEDEN) + timedelta(days=1)
    return int(nxt.timestamp() * 1000) - 1


def _easter(year: int) -> date:
    """Easter Sunday (the anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    lw = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * lw) // 451
    month, day = divmod(h + lw - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _saturday_between(year: int, month: int, first: int, days: int) -> date:
    start = date(year, month, first)
    return next(start + timedelta(days=n) for n in range(days) if (start + timedelta(days=n)).weekday() == 5)


@lru_cache(maxsize=64)
def holidays(year: int) -> frozenset[date]:
    """The public holidays of lag (1989:253) that can fall on a weekday, and the three eves 1930:173 2 § names
    (midsommarafton, julafton, nyårsafton). Sundays and Saturdays are not working days anyway."""
    easter = _easter(year)
    midsummer = _saturday_between(year, 6, 20, 7)  # midsommardagen: the Saturday 20-26 June
    return frozenset({
        date(year, 1, 1), date(year, 1, 6),  # nyårsdagen, trettondedag jul
        easter - timedelta(days=2), easter + timedelta(days=1),  # långfredagen, annandag påsk
        date(year, 5, 1), easter + timedelta(days=39),  # första maj, Kristi himmelsfärdsdag
        date(year, 6, 6),  # Sveriges nationaldag
        midsummer - timedelta(days=1),  # midsommarafton (1930:173 2 §)
        _saturday_between(year, 10, 31, 7),  # alla helgons dag: the Saturday 31 October - 6 November
        date(year, 12, 24), date(year, 12, 25), date(year, 12, 26), date(year, 12, 31),  # julafton ... nyårsafton
    })


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in holidays(day.year)


def appeal_deadline(received: date) -> date:
    """The last day an appeal of a decision received on `received` is in time (FL 44 §, 1930:173 1-2 §§)."""
    last = received + timedelta(weeks=APPEAL_WEEKS)
    while not is_working_day(last):
        last += timedelta(days=1)
    return last


def in_time(received_at_ms: int, arrived_at_ms: int) -> bool:
    """Whether an appeal that came in at `arrived_at_ms` is in time for a decision received at `received_at_ms`
    (for the unit's check of the deadline, FL 45 §)."""
    return arrived_at_ms <= day_end_ms(appeal_deadline(swedish_day(received_at_ms)))
