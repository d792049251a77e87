"""Keyset cursors: every cursor handed out reads back as its key, and nothing else reads at all."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.errors import InvalidInput
from app.services.pager import MAX_INT_DIGITS, IdCursor, KeysetCursor

DAMAGED = "This page link is damaged; go back to the first page."
BY_NUMBER = KeysetCursor(int, damaged=DAMAGED)
BY_DAY = KeysetCursor(date, damaged=DAMAGED)
BY_ID = IdCursor(damaged=DAMAGED)
TIP = "5f0c2a9e-7b1d-4c3e-9a8f-0123456789ab"

int_keys = st.integers(min_value=0, max_value=10**MAX_INT_DIGITS - 1)
tip_ids = st.uuids().map(str)


@given(int_keys, tip_ids)
def test_a_numbered_cursor_reads_back_as_its_key(key: int, tip_id: str) -> None:
    assert BY_NUMBER.decode(BY_NUMBER.encode(key, tip_id)) == (key, tip_id)


@given(st.dates(), tip_ids)
def test_a_dated_cursor_reads_back_as_its_key(key: date, tip_id: str) -> None:
    assert BY_DAY.decode(BY_DAY.encode(key, tip_id)) == (key, tip_id)


@given(int_keys)
def test_an_id_cursor_reads_back_as_its_id(row_id: int) -> None:
    assert BY_ID.decode(BY_ID.encode(row_id)) == row_id


def test_the_format_is_the_one_page_links_and_benchmarks_already_carry() -> None:
    assert BY_NUMBER.encode(42, TIP) == f"42.{TIP}"
    assert BY_DAY.encode(date(2026, 11, 1), TIP) == f"2026-11-01.{TIP}"
    assert BY_ID.encode(42) == "42"


@pytest.mark.parametrize("cursor", [None, ""])
def test_no_cursor_is_the_first_page(cursor: str | None) -> None:
    assert BY_NUMBER.decode(cursor) is None
    assert BY_DAY.decode(cursor) is None
    assert BY_ID.decode(cursor) is None


@given(st.text(max_size=60))
def test_a_numbered_cursor_reads_only_what_encoding_writes(cursor: str) -> None:
    try:
        decoded = BY_NUMBER.decode(cursor)
    except InvalidInput as error:
        assert error.message == DAMAGED
    else:
        assert decoded is None or BY_NUMBER.encode(*decoded) == cursor


@given(st.text(max_size=60))
def test_a_dated_cursor_reads_only_what_encoding_writes(cursor: str) -> None:
    try:
        decoded = BY_DAY.decode(cursor)
    except InvalidInput as error:
        assert error.message == DAMAGED
    else:
        assert decoded is None or BY_DAY.encode(*decoded) == cursor


@given(st.text(max_size=30))
def test_an_id_cursor_reads_only_what_encoding_writes(cursor: str) -> None:
    try:
        decoded = BY_ID.decode(cursor)
    except InvalidInput as error:
        assert error.message == DAMAGED
    else:
        assert decoded is None or BY_ID.encode(decoded) == cursor


@pytest.mark.parametrize(
    "cursor",
    [
        "1; DROP TABLE tips",
        f"1.{TIP}\n",  # a trailing newline, which a "$" regex would let through
        f"01.{TIP}",  # not how 1 is written
        f"-1.{TIP}",
        f"+1.{TIP}",
        f"{'9' * (MAX_INT_DIGITS + 1)}.{TIP}",  # past a 64-bit column
        f"١٢.{TIP}",  # digits, but not ASCII ones
        f"1.{TIP.upper()}",
        f"1.{TIP.replace('-', '')}",
        f"1.{TIP}.1",
        f".{TIP}",
        "1.",
        "1",
    ],
)
def test_edited_numbered_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(InvalidInput, match="page link is damaged"):
        BY_NUMBER.decode(cursor)


@pytest.mark.parametrize(
    "cursor", [f"2026-02-30.{TIP}", f"20261101.{TIP}", f"2026-11-1.{TIP}", f"42.{TIP}"]
)
def test_edited_dated_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(InvalidInput, match="page link is damaged"):
        BY_DAY.decode(cursor)


@pytest.mark.parametrize("cursor", ["²", "1e3", " 1", "1 ", "0x10", "1" * (MAX_INT_DIGITS + 1)])
def test_edited_id_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(InvalidInput, match="page link is damaged"):
        BY_ID.decode(cursor)


@pytest.mark.parametrize("key", [-1, 10**MAX_INT_DIGITS])
def test_a_key_no_cursor_can_carry_is_a_programming_error(key: int) -> None:
    with pytest.raises(ValueError, match="cursor key"):
        BY_NUMBER.encode(key, TIP)
    with pytest.raises(ValueError, match="cursor key"):
        BY_ID.encode(key)


def test_a_tip_id_no_cursor_can_carry_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="tip id"):
        BY_NUMBER.encode(1, "tip-1")
