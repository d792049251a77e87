"""How a decrypted report's fields are shown: any JSON value becomes text, never an error.

The browser encrypts the report, so the server cannot check it: a report written through the
API may hold a number, a boolean, null, an object or a mixed list where the form writes a
string or a list of strings, and field names the form does not have (docs/THREAT_MODEL.md,
"Known limits"). Pages show a string as it is, a list of strings one per line, and anything
else as its JSON text; Jinja escapes all of it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from flask import Flask

from app.services.report_form import REPORT_FIELDS

_LABELS = {field.name: field.label for field in REPORT_FIELDS}
WHOLE_REPORT = "Report"  # the label when ``fields`` is not even an object


@dataclass(frozen=True)
class ShownField:
    name: str
    label: str  # the form's label (a translation msgid), or the name of an unknown field
    text: str
    known: bool


def field_text(value: object) -> str:
    """A field's value as text: a string itself, a list of strings one per line, anything
    else its JSON text."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return "\n".join(value)
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError, RecursionError):  # nested deeper than we can write out
        return "(a value this page cannot show)"


def _has_value(value: object) -> bool:
    """An empty string, list or object, or null, is a field left blank; false and 0 are not."""
    return value is not None and not (isinstance(value, str | list | dict) and not value)


def shown_fields(values: object, *, with_unknown: bool) -> list[ShownField]:
    """The non-blank fields of a decrypted report, the form's in its order, then (with
    ``with_unknown``) the others in the order the report has them."""
    if not isinstance(values, Mapping):
        text = field_text(values)
        return [ShownField("", WHOLE_REPORT, text, known=False)] if with_unknown else []
    shown = [
        ShownField(field.name, field.label, field_text(values[field.name]), known=True)
        for field in REPORT_FIELDS
        if _has_value(values.get(field.name))
    ]
    if with_unknown:
        shown += [
            ShownField(str(name), str(name), field_text(value), known=False)
            for name, value in values.items()
            if name not in _LABELS and _has_value(value)
        ]
    return shown


def register_report_helpers(flask_app: Flask) -> None:
    flask_app.jinja_env.globals["report_fields"] = shown_fields
