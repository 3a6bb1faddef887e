"""Dates in their written forms, with spans."""

from __future__ import annotations

import datetime as dt

import pytest

from kg.extract.dates import find_dates, find_years


@pytest.mark.parametrize(
    ("text", "value", "quote"),
    [
        ("Mayan Riviera, Mexico, February 23, 2010", dt.date(2010, 2, 23), "February 23, 2010"),
        ("Done on 23 February 2010.", dt.date(2010, 2, 23), "23 February 2010"),
        ("Done on the 23rd of February, 2010.", dt.date(2010, 2, 23), "23rd of February, 2010"),
        ("Hecho el 23 de febrero de 2010", dt.date(2010, 2, 23), "23 de febrero de 2010"),
        ("Fait le 23 février 2010", dt.date(2010, 2, 23), "23 février 2010"),
        ("issued 2010-02-23 in Cancún", dt.date(2010, 2, 23), "2010-02-23"),
        ("issued 23/02/2010 in Cancún", dt.date(2010, 2, 23), "23/02/2010"),
        ("met on 8-11 November 2010", dt.date(2010, 11, 8), "8-11 November 2010"),
        ("by Sept. 5, 2011", dt.date(2011, 9, 5), "Sept. 5, 2011"),
        ("Done at Lima, this 3rd day of May 2015.", dt.date(2015, 5, 3), "3rd day of May 2015"),
    ],
)
def test_written_forms(text: str, value: dt.date, quote: str) -> None:
    [(found, start, end)] = find_dates(text)
    assert found == value
    assert text[start:end] == quote


def test_impossible_and_partial_dates_are_not_dates() -> None:
    assert find_dates("on 30 February 2010") == []
    assert find_dates("held in Lima in 2008, in May 2008") == []


def test_range_and_offsets() -> None:
    text = "A. 1 May 2010. B. 2 June 2011."
    found = find_dates(text, 5)
    assert [d for d, _, _ in found] == [dt.date(2011, 6, 2)]
    assert [text[s:e] for _, s, e in found] == ["2 June 2011"]


def test_years() -> None:
    text = "the Fifth Summit, held in Lima in 2008"
    assert [(y, text[s:e]) for y, s, e in find_years(text)] == [(2008, "2008")]
