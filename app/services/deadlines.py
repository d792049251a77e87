"""Legal deadlines of a tip (EU Directive 2019/1937) and of platform preservation requests.

- Acknowledge receipt within 7 days (art. 9(1)(b), 11(2)(b)).
- Give feedback within 3 months of the acknowledgement — or, when none was sent, of the end
  of those 7 days (art. 9(1)(f)); an external channel may extend to 6 months in duly
  justified cases, with the reason recorded (art. 11(2)(d)).
- A preservation request (e.g. 18 U.S.C. §2703(f)) lasts 90 days and may be extended once by
  another 90.

Pure functions over days: no times are involved, so no time zone can shift a deadline.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

ACKNOWLEDGEMENT_PERIOD = timedelta(days=7)
FEEDBACK_MONTHS = 3
EXTENDED_FEEDBACK_MONTHS = 6
PRESERVATION_PERIOD = timedelta(days=90)
DUE_SOON = timedelta(days=7)


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's end (31 Jan + 1 → 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def acknowledgement_due(received_on: date) -> date:
    return received_on + ACKNOWLEDGEMENT_PERIOD


def feedback_due(received_on: date, acknowledged_on: date | None, *, extended: bool) -> date:
    """Feedback deadline: 3 (or, extended, 6) months from acknowledgement or its deadline."""
    start = acknowledged_on or acknowledgement_due(received_on)
    return add_months(start, EXTENDED_FEEDBACK_MONTHS if extended else FEEDBACK_MONTHS)


def preservation_expires(sent_on: date, *, extended: bool) -> date:
    return sent_on + PRESERVATION_PERIOD * (2 if extended else 1)
