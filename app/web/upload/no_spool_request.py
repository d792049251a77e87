"""The request class: form parsing that can never spool an uploaded file to disk."""

from __future__ import annotations

from typing import IO

from flask import Request
from werkzeug.exceptions import BadRequest


class NoSpoolRequest(Request):
    """Werkzeug writes file parts of ordinary form parsing to temporary files, in plaintext.

    Tip uploads are stream-parsed by the views that take them
    (app.web.upload.multipart_stream); anywhere else a file part is refused outright, so no
    code path can spool one by accident.
    """

    max_form_memory_size = 1024 * 1024
    max_form_parts = 200

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        raise BadRequest("File uploads are only accepted by the tip forms.")
