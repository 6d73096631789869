"""When an incident happened, as precisely as it is known: a day, a month or only a year.

Survivors often remember "March 2024" or "in 2023", not a day. A coding keeps what is known
and no more: the first day of the period and its precision (`DAY`, `MONTH`, `YEAR`), so a
March that is not a day is never read back as the 1st of March, and a year is never counted
in a month (the statistics count an incident in no month when only its year is known).

`parse_period` reads what a coder types: ISO 8601 dates of reduced precision ("2024-03",
"2024"; ISO 8601-1:2019 §5.2.2), "03/2024", or a month's name and a year ("March 2024",
"mars 2024", "مارس 2024") in the page's language or in English, with digits of any script.
Pure: the CLDR month names come from Babel.
"""

from __future__ import annotations

import re
import unicodedata
from calendar import monthrange
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Literal

from babel.core import Locale, UnknownLocaleError
from babel.dates import format_date, format_skeleton, get_month_names

Precision = Literal["day", "month", "year"]
DAY: Precision = "day"
MONTH: Precision = "month"
YEAR: Precision = "year"
MIN_YEAR, MAX_YEAR = 1900, 2999


@dataclass(frozen=True)
class Period:
    """A day, a month or a year: `start` is its first day."""

    start: date
    precision: Precision

    @property
    def end(self) -> date:
        """Its last day (to compare a range: "to March" is not before "from 15 March")."""
        if self.precision == YEAR:
            return date(self.start.year, 12, 31)
        if self.precision == MONTH:
            return self.start.replace(day=monthrange(self.start.year, self.start.month)[1])
        return self.start

    def iso(self) -> str:
        """ISO 8601 of this precision: 2024-03-02, 2024-03, 2024."""
        text = self.start.isoformat()
        return {DAY: text, MONTH: text[:7], YEAR: text[:4]}[self.precision]


class NotAPeriod(ValueError):
    """The text is not a day, a month or a year this parser reads."""


def _digits(text: str) -> str:
    """Digits of any script as ASCII ("٢٠٢٤" -> "2024"), without the invisible direction
    marks (Unicode category Cf) that right-to-left dates carry; anything else unchanged."""
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text
                   if unicodedata.category(c) != "Cf")


@cache
def _month_names(lang: str) -> dict[str, int]:
    """Month names (wide and abbreviated, format and stand-alone, case-folded) of `lang`
    and of English, to their number."""
    names: dict[str, int] = {}
    for code in dict.fromkeys((lang, "en")):
        try:
            Locale.parse(code)
        except (UnknownLocaleError, ValueError):
            continue
        for width in ("wide", "abbreviated"):
            for context in ("format", "stand-alone"):
                for number, name in get_month_names(width, context, code).items():
                    names.setdefault(name.casefold().rstrip("."), number)
    return names


_ISO = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")
_MONTH_YEAR = re.compile(r"(\d{1,2})\s*[/.\-]\s*(\d{4})")
# a month's name and a year, either way round; the year may carry a short word ("2024 р.")
_NAMED = re.compile(r"(\D+?)\.?\s*,?\s*(\d{4})(?:\s*[^\W\d_]{1,3}\.?)?"
                    r"|(\d{4})\s*,?\s*(\D+?)\.?")


def parse_period(text: str, lang: str = "en") -> Period:
    """The day, month or year `text` names, or `NotAPeriod`."""
    text = " ".join(_digits(text).split()).strip()
    if len(text) > 40:
        raise NotAPeriod(text[:40])
    year: str | None
    month: int | None = None
    day: int | None = None
    if m := _ISO.fullmatch(text):
        year = m[1]
        month = int(m[2]) if m[2] else None
        day = int(m[3]) if m[3] else None
    elif m := _MONTH_YEAR.fullmatch(text):
        month, year = int(m[1]), m[2]
    elif m := _NAMED.fullmatch(text):
        name, year = (m[1], m[2]) if m[1] else (m[4], m[3])
        month = _month_names(lang).get(name.strip().casefold())
        if month is None:
            raise NotAPeriod(text)
    else:
        raise NotAPeriod(text)
    if not MIN_YEAR <= int(year) <= MAX_YEAR:
        raise NotAPeriod(text)
    try:
        start = date(int(year), month or 1, day or 1)
    except ValueError:
        raise NotAPeriod(text) from None
    return Period(start, DAY if day else MONTH if month else YEAR)


def describe(period: Period, lang: str) -> str:
    """The period as a person of `lang` reads it: "2 March 2024", "March 2024", "2024"."""
    if period.precision == DAY:
        return format_date(period.start, format="long", locale=lang)
    if period.precision == MONTH:
        return format_skeleton("yMMMM", period.start, locale=lang)
    return format_skeleton("y", period.start, locale=lang)
