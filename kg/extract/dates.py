"""Dates in their common written forms, with the span they were read from.

Recognised: "February 23, 2010", "Feb. 23, 2010", "23 February 2010", "23rd of February, 2010", "this 23rd day of
February 2010", "2010-02-23",
"23/02/2010" (day first), "23 de febrero de 2010", "23 février 2010", and a range "8-11 November 2010" (its first
day). Year-only mentions ("in 2008") are found by :func:`find_years` and used as cues, not as dates.

>>> [(d.isoformat(), s, e) for d, s, e in find_dates("Mayan Riviera, Mexico, February 23, 2010")]
[('2010-02-23', 23, 40)]
>>> [d.isoformat() for d, _, _ in find_dates("Adopted on 23 de febrero de 2010 and 2011-05-01.")]
['2010-02-23', '2011-05-01']
"""

from __future__ import annotations

import datetime as dt
import re

MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    [
        ("january", "jan", "enero", "janvier", "janv"),
        ("february", "feb", "febrero", "février", "fevrier", "févr", "fevr"),
        ("march", "mar", "marzo", "mars"),
        ("april", "apr", "abril", "avril", "avr"),
        ("may", "mayo", "mai"),
        ("june", "jun", "junio", "juin"),
        ("july", "jul", "julio", "juillet", "juil"),
        ("august", "aug", "agosto", "août", "aout"),
        ("september", "sep", "sept", "septiembre", "setiembre", "septembre"),
        ("october", "oct", "octubre", "octobre"),
        ("november", "nov", "noviembre", "novembre"),
        ("december", "dec", "diciembre", "décembre", "decembre", "déc"),
    ],
    start=1,
):
    for _name in _names:
        MONTHS[_name] = _number

_MONTH = r"(?P<month>" + "|".join(sorted((re.escape(m) for m in MONTHS), key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th|er|º|°)?"
_RANGE = r"(?:\s*[-–]\s*[0-3]?\d(?:st|nd|rd|th)?)?"
_YEAR = r"(?P<year>(?:1[89]|2[01])\d\d)"

_PATTERNS = [
    # February 23, 2010 / Feb. 23 2010
    re.compile(rf"\b{_MONTH}\s+{_DAY}{_RANGE},?\s+{_YEAR}\b", re.IGNORECASE),
    # 23 February 2010 / 23rd of February, 2010 / 23 de febrero de 2010 / 8-11 November 2010
    re.compile(rf"\b{_DAY}{_RANGE}\s+(?:of\s+|de\s+)?{_MONTH},?\s+(?:de\s+|del\s+)?{_YEAR}\b", re.IGNORECASE),
    # this 23rd day of February 2010
    re.compile(rf"\b{_DAY}\s+day\s+of\s+{_MONTH},?\s+(?:in\s+the\s+year\s+)?{_YEAR}\b", re.IGNORECASE),
    # 2010-02-23
    re.compile(r"\b(?P<year>(?:1[89]|2[01])\d\d)-(?P<month>[01]\d)-(?P<day>[0-3]\d)\b"),
    # 23/02/2010 or 23.02.2010 (day first, the international convention)
    re.compile(r"\b(?P<day>[0-3]?\d)[/.](?P<month>[01]?\d)[/.](?P<year>(?:1[89]|2[01])\d\d)\b"),
]
_YEAR_RE = re.compile(r"\b(?:1[89]|2[01])\d\d\b")


def _month(value: str) -> int:
    return int(value) if value.isdigit() else MONTHS[value.lower().rstrip(".")]


def find_dates(text: str, start: int = 0, end: int | None = None) -> list[tuple[dt.date, int, int]]:
    """Every date written in ``text[start:end]``: ``(date, start, end)`` with offsets into ``text``, in order.

    Overlapping readings keep the first pattern's; impossible dates (30 February) are skipped.
    """
    end = len(text) if end is None else end
    if not _YEAR_RE.search(text, start, end):
        return []  # every form needs a year
    found: list[tuple[dt.date, int, int]] = []
    taken: list[tuple[int, int]] = []
    for pattern in _PATTERNS:
        for match in pattern.finditer(text, start, end):
            s, e = match.span()
            if any(s < te and ts < e for ts, te in taken):
                continue
            try:
                value = dt.date(int(match["year"]), _month(match["month"]), int(match["day"]))
            except (ValueError, KeyError):
                continue
            found.append((value, s, e))
            taken.append((s, e))
    return sorted(found, key=lambda item: item[1])


def find_years(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int, int]]:
    """Every four-digit year (1800-2199) in ``text[start:end]``: ``(year, start, end)``."""
    end = len(text) if end is None else end
    return [(int(m.group()), m.start(), m.end()) for m in _YEAR_RE.finditer(text, start, end)]
