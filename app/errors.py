"""Domain errors: services raise them, one handler (app.web.errors) maps them to HTTP."""

from __future__ import annotations


class DomainError(Exception):
    """A failure the user can understand; ``message`` is safe to show (never tip content)."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class InvalidInput(DomainError):
    status_code = 400
    code = "invalid_input"
