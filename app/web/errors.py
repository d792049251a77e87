"""The one place that maps errors to HTTP: status code, page or JSON body, log line."""

from __future__ import annotations

import logging
import traceback

from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.errors import DomainError

log = logging.getLogger("tipline.errors")

FRIENDLY_HTTP_MESSAGES = {
    400: "The request could not be understood.",
    403: "You do not have access to this page.",
    404: "There is no page at this address.",
    405: "This page does not accept that kind of request.",
    413: "The upload is larger than this tip line accepts.",
    429: "Too many attempts. Please wait a few minutes and try again.",
    500: "Something went wrong on our side. Nothing you sent was kept half-way.",
}


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def error_response(status: int, code: str, message: str) -> tuple[Response | str, int]:
    if wants_json():
        return jsonify(error=code, message=message), status
    return render_template("error.html", status=status, message=message), status


def register_error_handlers(flask_app: Flask) -> None:
    @flask_app.errorhandler(DomainError)
    def handle_domain_error(error: DomainError) -> tuple[Response | str, int]:
        return error_response(error.status_code, error.code, error.message)

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
