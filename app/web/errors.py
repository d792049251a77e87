"""The one place that maps errors to HTTP: status code, page or JSON body, log line.

Domain errors (:mod:`app.errors`) say what went wrong; :data:`STATUS_OF_KIND` says which HTTP
status that is. A view that shows its own page for a refused action (a form with the reason
beside it) asks :func:`refusal_status`, which also settles the request's transaction first, so
the page shows the state without the refused change (and with what the error says to keep).

Infrastructure that is down (the database, the rate-limit store) and a worker whose key
derivation slots stay taken answer 503 with ``Retry-After``: a page in the visitor's language
saying that nothing was stored, or JSON under /api. The transaction is rolled back.
"""

from __future__ import annotations

import logging
import traceback

import limits.errors
import redis.exceptions
import sqlalchemy.exc
from flask import Flask, Response, jsonify, make_response, render_template, request, url_for
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from app import errors
from app.context import settle_transaction
from app.services.kdf_slots import ServerBusy

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

# Errors that mean a component is unreachable or failing, not that the request is wrong:
# connection refused or dropped, a lock held too long. The value names it in the log.
UNAVAILABLE_COMPONENT: dict[type[Exception], str] = {
    sqlalchemy.exc.OperationalError: "database",
    sqlalchemy.exc.InterfaceError: "database",
    redis.exceptions.ConnectionError: "rate_limits",
    redis.exceptions.TimeoutError: "rate_limits",
    limits.errors.StorageError: "rate_limits",
}
RETRY_AFTER_SECONDS = 60

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


def unavailable_component(error: BaseException | None) -> str | None:
    """Which component ``error`` says is down (``database``, ``rate_limits``), or None."""
    for kind, component in UNAVAILABLE_COMPONENT.items():
        if isinstance(error, kind):
            return component
    return None


def unavailable_response(*, busy: bool) -> Response:
    """503 with Retry-After: busy (no key-derivation slot) or a component down; either way
    nothing was stored. The words are the visitor's language's (gettext)."""
    if busy:
        heading = gettext("Many people are using the tip line right now.")
        advice = gettext("Please try again in a minute. Your code is not locked.")
        back = url_for("tipster.login"), gettext("Back to the code page")
    else:
        heading = gettext("The tip line cannot answer right now.")
        advice = gettext(
            "Please try again shortly. Nothing you sent was stored, so send it again then."
        )
        back = url_for("public.index"), gettext("Back to the start page")
    if wants_json():
        response = jsonify(error="busy" if busy else "unavailable", message=f"{heading} {advice}")
    else:
        response = make_response(
            render_template("unavailable.html", heading=heading, advice=advice, back=back)
        )
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def register_error_handlers(flask_app: Flask) -> None:
    @flask_app.errorhandler(ServerBusy)
    def handle_busy(_error: ServerBusy) -> Response:
        return unavailable_response(busy=True)

    def handle_unavailable(error: Exception) -> Response:
        # The type only: a driver's message can quote the statement and its parameters.
        log.error(
            "%s unavailable: %s in %s",
            unavailable_component(error),
            type(error).__name__,
            request.endpoint,
        )
        return unavailable_response(busy=False)

    for kind in UNAVAILABLE_COMPONENT:
        flask_app.register_error_handler(kind, handle_unavailable)

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
    def handle_http_error(error: HTTPException) -> Response | tuple[Response | str, int]:
        # A failure after the view (the commit) reaches here wrapped as a 500.
        if isinstance(error, InternalServerError) and unavailable_component(
            error.original_exception
        ):
            return unavailable_response(busy=False)
        status = error.code or 500
        message = FRIENDLY_HTTP_MESSAGES.get(status, error.description or "Request failed.")
        code = (error.name or "error").lower().replace(" ", "_")
        response = make_response(error_response(status, code, message))
        # The error's own headers (Allow on every 405), not the type of its own body.
        response.headers.extend(
            (name, value) for name, value in error.get_headers() if name.lower() != "content-type"
        )
        return response

    @flask_app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> tuple[Response | str, int]:
        # Log the type and place only: exception text could echo request data.
        frames = "".join(traceback.format_tb(error.__traceback__))
        log.error("unhandled %s in %s\n%s", type(error).__name__, request.endpoint, frames)
        return error_response(500, "internal_error", FRIENDLY_HTTP_MESSAGES[500])
