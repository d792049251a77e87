"""Deadline arithmetic across month ends, leap years and extensions."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.services.deadlines import (
    acknowledgement_due,
    add_months,
    feedback_due,
    preservation_expires,
)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # leap year
        (date(2027, 11, 30), 3, date(2028, 2, 29)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
        (date(2026, 8, 31), 6, date(2027, 2, 28)),
        (date(2026, 10, 15), 3, date(2027, 1, 15)),
        (date(2026, 12, 31), 12, date(2027, 12, 31)),
    ],
)
def test_adding_months_clamps_to_the_end_of_the_month(
    start: date, months: int, expected: date
) -> None:
    assert add_months(start, months) == expected


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)), st.integers(0, 24))
def test_adding_months_never_goes_backwards_or_skips_a_month(start: date, months: int) -> None:
    result = add_months(start, months)
    assert result >= start
    assert (result.year - start.year) * 12 + result.month - start.month == months
    assert result.day <= start.day


def test_acknowledgement_is_due_seven_days_after_receipt_across_a_year_end() -> None:
    assert acknowledgement_due(date(2026, 12, 28)) == date(2027, 1, 4)


def test_feedback_counts_from_acknowledgement_or_from_its_deadline() -> None:
    received = date(2026, 11, 25)
    assert feedback_due(received, date(2026, 11, 27), extended=False) == date(2027, 2, 27)
    # No acknowledgement: three months from the end of the 7 days (2 December).
    assert feedback_due(received, None, extended=False) == date(2027, 3, 2)
    assert feedback_due(received, date(2026, 11, 30), extended=True) == date(2027, 5, 30)


def test_preservation_requests_last_90_days_and_one_extension() -> None:
    assert preservation_expires(date(2026, 1, 1), extended=False) == date(2026, 4, 1)
    assert preservation_expires(date(2028, 1, 1), extended=True) == date(2028, 6, 29)
