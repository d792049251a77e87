"""The JSON API of the browser intake (DESIGN §5 "Intake, JavaScript on"); see openapi.json.

Thin views over :mod:`app.services.drafts`. The API is exempt from form CSRF tokens: every
request must carry a JSON or octet-stream body type (which a cross-site form cannot send
without a CORS preflight we never answer), draft requests carry a bearer token, the page's
CSP allows ``connect-src 'self'`` only, and a browser's ``Sec-Fetch-Site`` must say
same-origin. Nothing here is logged (tipster routes have no access log).
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, date, datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue

from app.context import end_read_transaction, get_blob_store, get_config, get_db
from app.errors import (
    DomainError,
    InvalidInput,
    LengthNeeded,
    NotPermitted,
    TooLarge,
    UnsupportedFormat,
)
from app.i18n import SUPPORTED_LOCALES
from app.models import ObjectKind, Scope
from app.security import csrf
from app.services import draft_chunks, draft_errors, drafts, upload_plan
from app.web import params
from app.web.api_spec import openapi_document
from app.web.upload import socket_body
from crypto.keys import key_id

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
params.reads_own_body(bp)  # JSON and ciphertext bodies, never forms

MAX_JSON_BYTES = 256 * 1024
# The API's bodies nest three levels; far more is an attack on the parser.
MAX_JSON_DEPTH = 32
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_JSON_BRACKET = re.compile(rb"[\[\]{}]")
JSON_TYPE = "application/json"
BYTES_TYPE = "application/octet-stream"
# Each piece of a chunk batch is written (and its writeback started) while the next arrives.
BODY_PIECE_BYTES = 1024 * 1024
SAME_ORIGIN_FETCH_SITES = frozenset({"same-origin", "none"})


class UnsupportedMediaType(UnsupportedFormat):
    code = "unsupported_media_type"


class LengthRequired(LengthNeeded):
    code = "length_required"

    def __init__(self) -> None:
        super().__init__("Send the request body with a Content-Length header.")


class CrossSiteRequest(NotPermitted):
    code = "cross_site_request"

    def __init__(self) -> None:
        super().__init__("The tip line's API only answers its own pages.")


class BodyTooLarge(TooLarge):
    code = "body_too_large"


@bp.before_request
def refuse_cross_site_requests() -> None:
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in SAME_ORIGIN_FETCH_SITES:
        raise CrossSiteRequest()


def _today() -> date:
    return datetime.now(UTC).date()


def _credentials(draft_id: object) -> drafts.DraftCredentials:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise draft_errors.BadDraftToken()
    return drafts.DraftCredentials(str(draft_id), token.strip())


def _require_type(expected: str) -> None:
    if request.mimetype != expected:
        raise UnsupportedMediaType(f"Send this request's body as {expected}.")


def _declared_length(limit: int, too_large: DomainError) -> int:
    length = request.content_length
    if length is None:
        raise LengthRequired()
    if length > limit:
        raise too_large
    return length


def nesting_depth(raw: bytes, limit: int) -> int:
    """How deep the arrays and objects of the JSON text ``raw`` nest, counted up to just
    past ``limit`` (a scan of the brackets outside strings: no parser recursion)."""
    depth = deepest = 0
    for bracket in _JSON_BRACKET.findall(_JSON_STRING.sub(b'""', raw)):
        depth += 1 if bracket in b"[{" else -1
        deepest = max(deepest, depth)
        if deepest > limit:
            break
    return deepest


def _json_body() -> dict[str, Any]:
    """:raises InvalidInput: / :raises UnsupportedMediaType: / :raises BodyTooLarge:"""
    _require_type(JSON_TYPE)
    too_large = BodyTooLarge(f"JSON bodies are at most {MAX_JSON_BYTES} bytes.")
    _declared_length(MAX_JSON_BYTES, too_large)
    # Checked before parsing: Python's parser recurses, and fails deep down (RecursionError).
    if nesting_depth(request.get_data(cache=True), MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise InvalidInput(f"The JSON body nests deeper than {MAX_JSON_DEPTH} levels.")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("The request body is not a JSON object.")
    return body


def _b64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be a base64 string.")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(f"{what} is not valid base64.") from None


def _b64_or_empty(value: object) -> bytes:
    try:
        return _b64(value, "value")
    except InvalidInput:
        return b""


def _b64_text(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _declared_objects(value: object) -> list[upload_plan.DeclaredObject]:
    if not isinstance(value, list):
        raise InvalidInput("'objects' must be a list.")
    declared = []
    for item in value:
        if not isinstance(item, dict):
            raise InvalidInput("Each object must be a JSON object.")
        kind, size = item.get("kind"), item.get("ciphertext_size")
        # bool is an int in Python, never in JSON
        kinds = ("report", "body", "file")
        if kind not in kinds or not isinstance(size, int) or isinstance(size, bool):
            raise InvalidInput(
                "Each object needs a kind (report, body or file) and an integer ciphertext_size."
            )
        declared.append(upload_plan.DeclaredObject(ObjectKind(kind), size))
    return declared


def _view_json(view: drafts.DraftView) -> dict[str, Any]:
    return {
        "draft_id": view.draft_id,
        "expires_on": view.expires_on.isoformat(),
        "tipster": {
            "key_id": key_id(view.tipster_public_key),
            "public_key": _b64_text(view.tipster_public_key),
        },
        "recipients": [
            {"key_id": r.key_id, "public_key": _b64_text(r.public_key)} for r in view.recipients
        ],
        "objects": [
            {
                "object_id": o.object_id,
                "kind": o.kind.value,
                "ciphertext_size": o.ciphertext_size,
                "stored": o.stored,
            }
            for o in view.objects
        ],
        "limits": {"max_batch_bytes": upload_plan.MAX_BATCH_BYTES},
    }


# --- routes -------------------------------------------------------------------------------


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document())


@bp.post("/drafts")
def create_draft() -> ResponseReturnValue:
    body = _json_body()
    desk, lang = body.get("desk"), body.get("lang")
    if not isinstance(desk, str):
        raise InvalidInput("'desk' must be a desk's slug.")
    config = get_config()
    created = drafts.create_draft(
        get_db(),
        get_blob_store(),
        desk_slug=desk,
        lang=lang if lang in SUPPORTED_LOCALES else "en",
        objects=_declared_objects(body.get("objects")),
        pepper=config.pepper,
        secret_key=config.secret_key,
        max_upload_bytes=config.max_upload_bytes,
        today=_today(),
    )
    payload = _view_json(created.view)
    payload.update(token=created.token, code=created.code, code_language=created.code_language)
    return jsonify(payload), 201


@bp.get("/drafts/<uuid:draft_id>")
def read_draft(draft_id: object) -> ResponseReturnValue:
    view = drafts.read_draft(
        get_db(),
        get_blob_store(),
        get_config().secret_key,
        _credentials(draft_id),
        today=_today(),
    )
    return jsonify(_view_json(view))


@bp.delete("/drafts/<uuid:draft_id>")
def discard_draft(draft_id: object) -> ResponseReturnValue:
    drafts.discard_draft(
        get_db(),
        get_blob_store(),
        get_config().secret_key,
        _credentials(draft_id),
        today=_today(),
    )
    return "", 204


@bp.post("/drafts/<uuid:draft_id>/objects/<uuid:object_id>/chunks")
def append_chunk(draft_id: object, object_id: object) -> ResponseReturnValue:
    credentials = _credentials(draft_id)
    _require_type(BYTES_TYPE)
    offset = params.int_param(
        request.args, "offset", message="Give the chunk's byte offset as ?offset=N."
    )
    if offset is None:
        raise InvalidInput("Give the chunk's byte offset as ?offset=N.")
    length = _declared_length(
        upload_plan.MAX_BATCH_BYTES, draft_errors.ChunkTooLarge(upload_plan.MAX_BATCH_BYTES)
    )
    stored = draft_chunks.append_chunk(
        get_db(),
        get_blob_store(),
        get_config().secret_key,
        credentials,
        object_id=str(object_id),
        offset=offset,
        length=length,
        pieces=socket_body.body_pieces(request.environ, request.stream, length, BODY_PIECE_BYTES),
        today=_today(),
        end_reads=end_read_transaction,
    )
    return jsonify(stored=stored)


@bp.post("/drafts/<uuid:draft_id>/finalize")
def finalize_draft(draft_id: object) -> ResponseReturnValue:
    credentials = _credentials(draft_id)
    body = _json_body()
    commitments = body.get("commitments")
    sealed_keys = body.get("sealed_keys")
    if not isinstance(commitments, dict) or not isinstance(sealed_keys, list):
        raise InvalidInput("Send 'commitments' (an object) and 'sealed_keys' (a list).")
    keys = []
    for entry in sealed_keys:
        if not isinstance(entry, dict) or entry.get("scope") not in ("thread", "internal"):
            raise InvalidInput("Each sealed key needs a key_id, a scope and the sealed bytes.")
        if not isinstance(entry.get("key_id"), str):
            raise InvalidInput("Each sealed key needs a key_id.")
        keys.append(
            drafts.SubmittedKey(
                entry["key_id"], Scope(entry["scope"]), _b64(entry.get("sealed"), "'sealed'")
            )
        )
    tip_id = drafts.finalize_draft(
        get_db(),
        get_blob_store(),
        get_config().secret_key,
        credentials,
        # Malformed commitments reach the service as b"" and are refused there, after the
        # draft lookup, so an unknown draft is a 404 whatever the body says.
        commitments={scope: _b64_or_empty(commitments.get(scope.value)) for scope in Scope},
        sealed_keys=keys,
        today=_today(),
    )
    return jsonify(state="submitted", tip_id=tip_id)
