"""Domain errors: services raise them; :mod:`app.web.errors` alone maps them to HTTP.

An error says *what* went wrong in the domain's terms: its kind (the classes below, which
each error subclasses), a machine-readable ``code`` for API clients and a ``message`` safe to
show. It carries no HTTP status: the web layer decides that from the kind, in one table.

``keep_effects`` marks a refusal whose database changes must outlive it (a wrong password
counts toward the account's lockout although the sign-in is refused): the transaction owner
(the request in :mod:`app.context`, the command in :mod:`app.cli.common`) commits them
instead of rolling back.
"""

from __future__ import annotations


class DomainError(Exception):
    """A failure the user can understand; ``message`` is safe to show (never tip content)."""

    code = "bad_request"
    keep_effects = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DomainError):
    """The request itself is wrong: a value out of range, a form not filled in."""

    code = "invalid_input"


class NotFound(DomainError):
    """Nothing the caller may see has this name (also: exists, but not for this caller)."""

    code = "not_found"


class Conflict(DomainError):
    """The request is fine but does not fit the current state (already done, out of order)."""

    code = "conflict"


class NotSignedIn(DomainError):
    """No valid session or token: the caller must sign in (or present a token) again."""

    code = "not_signed_in"


class NotPermitted(DomainError):
    """The caller is known but may not do this (role, a refused credential, a foreign site)."""

    code = "forbidden"


class NoLongerAvailable(DomainError):
    """It existed, but is gone for good (an expired draft, a used invitation)."""

    code = "gone"


class TooLarge(DomainError):
    """More bytes than the tip line accepts in one request or one report."""

    code = "too_large"


class TooManyAttempts(DomainError):
    """Refused until later (a locked account)."""

    code = "too_many_attempts"


class CannotServeNow(DomainError):
    """Nothing is wrong with the request, but it cannot be served now (no recipient yet)."""

    code = "unavailable"


class StoredDataDamaged(DomainError):
    """What the server holds was rejected as damaged or tampered with (fail closed)."""

    code = "damaged"


class LengthNeeded(DomainError):
    """A request body must declare its length before it is read."""

    code = "length_required"


class UnsupportedFormat(DomainError):
    """The request body is not of a media type this endpoint reads."""

    code = "unsupported_media_type"
