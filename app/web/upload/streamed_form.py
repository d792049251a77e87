"""Reading a streamed tip form: CSRF first, text fields into memory, files to a callback."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError

from app.web.upload.multipart_stream import Part

CSRF_FIELD = "csrf_token"


@dataclass
class StreamedForm:
    fields: dict[str, str] = field(default_factory=dict)
    file_count: int = 0


def read_streamed_form(
    parts: Iterable[Part], on_file: Callable[[Part, StreamedForm], None]
) -> StreamedForm:
    """Consume every part: the CSRF token must come first (the templates put it first).

    :raises CSRFError: missing or invalid token — checked before any other byte is used.
    :raises MalformedUpload: from the parser, or a field that is too long.
    """
    form = StreamedForm()
    checked = False
    for part in parts:
        if not checked:
            if part.name != CSRF_FIELD or part.filename is not None:
                raise CSRFError("The CSRF token is missing.")
            try:
                validate_csrf(part.read_text(limit=512))
            except ValidationError as error:
                raise CSRFError(str(error)) from None
            checked = True
            continue
        if part.filename is None:
            text = part.read_text()
            previous = form.fields.get(part.name)
            form.fields[part.name] = text if previous is None else previous + "\n" + text
        elif part.filename:
            form.file_count += 1
            on_file(part, form)
        # An empty filename is a file input left empty: nothing to read.
    if not checked:
        raise CSRFError("The CSRF token is missing.")
    return form
