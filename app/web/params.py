"""Request parameters: the one layer between what a client sent and what a view reads.

Three parts, so that no view can forget one:

- **A guard** (``before_request``, :func:`refuse_hostile_parameters`) answers 400 to a request
  with a control character (Unicode ``Cc``: NUL, U+0001–U+001F, U+007F–U+009F) in its path, in
  its query string or in a value of its urlencoded or multipart form, or with a value longer
  than this app ever asks for. A view that takes free text on several lines names those fields
  with :func:`multiline` (tab, CR and LF are allowed there); a view that stream-parses its own
  body is marked :func:`reads_own_body` and its body is left alone (the tip forms, whose
  content is encrypted and never reaches a column; the JSON and byte bodies of the API).
- **URL converters**: ``<int:…>`` is a database row id (ASCII digits, at most a signed 64-bit
  integer; Werkzeug's own accepts any Unicode digit and any size), and ``<uuid_text:…>`` a
  canonical lower-case UUID, as text. Anything else in those places is a 404.
- **Typed helpers** for query and form values (:func:`int_param`, :func:`uuid_param`,
  :func:`text_param`, :func:`choice_param`, :func:`day_param`): each returns the value, or
  None when it is absent or empty (text: its default), and raises
  :class:`~app.errors.InvalidInput` with a clear message otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from enum import Enum
from typing import Any, TypeVar

from flask import Flask, current_app, request
from werkzeug.routing import BaseConverter, IntegerConverter, Map

from app.errors import InvalidInput

V = TypeVar("V", bound=Callable[..., Any])
T = TypeVar("T")
E = TypeVar("E", bound=Enum)

# Database ids are signed 64-bit integers (PostgreSQL BIGINT; SQLite INTEGER).
MAX_ROW_ID = 2**63 - 1
# The longest value a query parameter or a one-line form field ever needs (a password: 1024).
MAX_LINE_CHARS = 2_048
# The longest free text a staff form takes (a reply or note: 40,000; guidance markdown).
MAX_TEXT_CHARS = 100_000

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_EXCEPT_LINE_BREAKS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_ASCII_INT = re.compile(r"-?[0-9]{1,19}")
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
_MULTILINE = "tipline_multiline_fields"
_OWN_BODY = "tipline_reads_own_body"


# --- Marking views -------------------------------------------------------------------------


def multiline(*fields: str) -> Callable[[V], V]:
    """The view takes free text on several lines in ``fields``: tab, CR and LF are allowed
    there (other control characters are not). Place it right under the route decorator."""

    def mark(view: V) -> V:
        setattr(view, _MULTILINE, frozenset(fields))
        return view

    return mark


def reads_own_body(view: T) -> T:
    """The view (or every view of a blueprint) reads its body itself: the guard must not
    touch ``request.form`` (that would read, and could spool, the body). On a view, place it
    right under the route decorator."""
    setattr(view, _OWN_BODY, True)
    return view


# --- The guard -----------------------------------------------------------------------------


def _check_value(where: str, name: str, value: str, *, multiline_ok: bool) -> None:
    limit = MAX_TEXT_CHARS if multiline_ok else MAX_LINE_CHARS
    if len(value) > limit or len(name) > MAX_LINE_CHARS:
        raise InvalidInput(f"The {where} value '{name[:40]}' is longer than this site accepts.")
    control = _CONTROL_EXCEPT_LINE_BREAKS if multiline_ok else _CONTROL
    if control.search(name) or control.search(value):
        raise InvalidInput(f"The {where} value '{name[:40]}' contains a control character.")


def refuse_hostile_parameters() -> None:
    """``before_request``: refuse control characters and oversized values (see module doc).

    :raises InvalidInput: what is wrong, naming the parameter.
    """
    if _CONTROL.search(request.path):
        raise InvalidInput("The address contains a control character.")
    for name, value in request.args.items(multi=True):
        _check_value("address", name, value, multiline_ok=False)
    view = current_app.view_functions.get(request.endpoint or "")
    blueprint = current_app.blueprints.get(request.blueprint or "")
    own_body = getattr(view, _OWN_BODY, False) or getattr(blueprint, _OWN_BODY, False)
    if request.mimetype not in _FORM_TYPES or own_body:
        return
    free_text: frozenset[str] = getattr(view, _MULTILINE, frozenset())
    for name, value in request.form.items(multi=True):
        _check_value("form", name, value, multiline_ok=name in free_text)


# --- URL converters ------------------------------------------------------------------------


class RowIdConverter(IntegerConverter):
    """``<int:…>``: ASCII digits, at most :data:`MAX_ROW_ID` (larger is a 404, not an overflow)."""

    regex = r"[0-9]{1,19}"

    def __init__(  # Werkzeug's parameters, with a default maximum
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = None,
        max: int | None = MAX_ROW_ID,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


class UuidTextConverter(BaseConverter):
    """``<uuid_text:…>``: a canonical lower-case UUID (as ids are stored), given as text."""

    regex = _CANONICAL_UUID.pattern


def init_app(flask_app: Flask) -> None:
    """Install the converters (before any blueprint adds its rules) and the guard."""
    flask_app.url_map.converters["int"] = RowIdConverter
    flask_app.url_map.converters["uuid_text"] = UuidTextConverter
    flask_app.before_request(refuse_hostile_parameters)


# --- Typed helpers -------------------------------------------------------------------------


def text_param(
    values: Mapping[str, str],
    name: str,
    *,
    max_chars: int = MAX_LINE_CHARS,
    multiline_ok: bool = False,
    default: str = "",
) -> str:
    """The text of ``name`` (``default`` when absent).

    :raises InvalidInput: longer than ``max_chars``, or a control character (tab, CR and LF
        are allowed with ``multiline_ok``).
    """
    value = values.get(name, default)
    if len(value) > max_chars:
        raise InvalidInput(f"'{name}' is longer than {max_chars} characters.")
    control = _CONTROL_EXCEPT_LINE_BREAKS if multiline_ok else _CONTROL
    if control.search(value):
        raise InvalidInput(f"'{name}' contains a control character.")
    return value


def int_param(
    values: Mapping[str, str],
    name: str,
    *,
    message: str,
    minimum: int = 0,
    maximum: int = MAX_ROW_ID,
) -> int | None:
    """The integer in ``name``, or None when absent or empty.

    :raises InvalidInput: (``message``) not ASCII decimal digits (``²`` and ``٣`` are digits to
        :meth:`str.isdigit` and :func:`int`, not here), or outside ``[minimum, maximum]``.
    """
    raw = text_param(values, name).strip()
    if not raw:
        return None
    if _ASCII_INT.fullmatch(raw) is None:
        raise InvalidInput(message)
    number = int(raw)
    if not minimum <= number <= maximum:
        raise InvalidInput(message)
    return number


def uuid_param(values: Mapping[str, str], name: str, *, message: str) -> str | None:
    """The canonical lower-case UUID in ``name``, or None when absent or empty.

    :raises InvalidInput: (``message``) anything else, an upper-case or unbraced form too.
    """
    raw = text_param(values, name).strip()
    if not raw:
        return None
    if _CANONICAL_UUID.fullmatch(raw) is None:
        raise InvalidInput(message)
    return raw


def choice_param(
    values: Mapping[str, str], name: str, choices: type[E], *, message: str
) -> E | None:
    """The member of ``choices`` whose value ``name`` holds, or None when absent or empty.

    :raises InvalidInput: (``message``) not one of the values.
    """
    raw = text_param(values, name)
    if not raw:
        return None
    try:
        return choices(raw)
    except ValueError:
        raise InvalidInput(message) from None


def day_param(values: Mapping[str, str], name: str, *, message: str) -> date | None:
    """The day (``YYYY-MM-DD``) in ``name``, or None when absent or empty.

    :raises InvalidInput: (``message``) another form, or a day that does not exist.
    """
    raw = text_param(values, name).strip()
    if not raw:
        return None
    if _DAY.fullmatch(raw) is None:
        raise InvalidInput(message)
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(message) from None
