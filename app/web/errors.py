"""The one place that maps errors to HTTP: status code, page or JSON body, log line.

Domain errors (:mod:`app.errors`) say what went wrong; :data:`STATUS_OF_KIND` says which HTTP
status that is. A view that shows its own page for a refused action (a form with the reason
beside it) asks :func:`refusal_status`, which also settles the request's transaction first, so
the page shows the state without the refused change (and with what the error says to keep).
"""

from __future__ import annotations

import logging
import traceback

from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app import errors
from app.context import settle_transaction

log = logging.getLogger("tipline.errors")

# Most specific kind first is not needed: each error has exactly one kind among these.
STATUS_OF_KIND: dict[type[errors.DomainError], int] = {
    errors.InvalidInput: 400,
    errors.NotSignedIn: 401,
    errors.NotPermitted: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.NoLongerAvailable: 410,
    errors.LengthNeeded: 411,
    errors.TooLarge: 413,
    errors.UnsupportedFormat: 415,
    errors.TooManyAttempts: 429,
    errors.StoredDataDamaged: 500,
    errors.CannotServeNow: 503,
}

# A form shown again with the reason beside it (the input kept).
FORM_REFUSED = 422

FRIENDLY_HTTP_MESSAGES = {
    400: "The request could not be understood.",
    403: "You do not have access to this page.",
    404: "There is no page at this address.",
    405: "This page does not accept that kind of request.",
    413: "The upload is larger than this tip line accepts.",
    429: "Too many attempts. Please wait a few minutes and try again.",
    500: "Something went wrong on our side. Nothing you sent was kept half-way.",
}


def status_of(error: errors.DomainError) -> int:
    """The HTTP status of a domain error: that of the first of its kinds in the table."""
    for kind in type(error).__mro__:
        if kind in STATUS_OF_KIND:
            return STATUS_OF_KIND[kind]
    return 400


def refusal_status(error: errors.DomainError) -> int:
    """Settle the transaction of a request whose action was refused, and return the status.

    What the refused action changed is discarded, except where the error says its effects
    must persist (``keep_effects``): those are committed. Call it before rendering the page
    that shows the refusal, so the page reads the settled state.
    """
    settle_transaction(keep=error.keep_effects)
    return status_of(error)


def form_refusal_status(error: errors.DomainError) -> int:
    """As :func:`refusal_status`, for a form shown again with the reason beside it and the
    input kept (nothing lost): such a page answers 422, whatever the error's kind.
    """
    refusal_status(error)
    return FORM_REFUSED


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def error_response(status: int, code: str, message: str) -> tuple[Response | str, int]:
    if wants_json():
        return jsonify(error=code, message=message), status
    return render_template("error.html", status=status, message=message), status


def register_error_handlers(flask_app: Flask) -> None:
    @flask_app.errorhandler(errors.DomainError)
    def handle_domain_error(error: errors.DomainError) -> tuple[Response | str, int]:
        return error_response(refusal_status(error), error.code, error.message)

    @flask_app.errorhandler(CSRFError)
    def handle_csrf_error(_error: CSRFError) -> tuple[Response | str, int]:
        return error_response(
            400,
            "csrf_failed",
            "This form expired or was not sent from this site. Please go back, reload the page "
            "and send it again.",
        )

    @flask_app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException) -> tuple[Response | str, int]:
        status = error.code or 500
        message = FRIENDLY_HTTP_MESSAGES.get(status, error.description or "Request failed.")
        return error_response(status, (error.name or "error").lower().replace(" ", "_"), message)

    @flask_app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> tuple[Response | str, int]:
        # Log the type and place only: exception text could echo request data.
        frames = "".join(traceback.format_tb(error.__traceback__))
        log.error("unhandled %s in %s\n%s", type(error).__name__, request.endpoint, frames)
        return error_response(500, "internal_error", FRIENDLY_HTTP_MESSAGES[500])
