"""The OpenAPI 3.1 description of /api/v1 (served at /api/v1/openapi.json).

Kept beside the views it describes; a test checks that every /api/v1 route the app registers
appears here.
"""

from __future__ import annotations

from typing import Any

from app.services.upload_plan import MAX_BATCH_BYTES

_UUID = {"type": "string", "format": "uuid"}
_B64 = {"type": "string", "contentEncoding": "base64"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(status): {"$ref": f"#/components/responses/Error{status}"} for status in statuses}


_ERROR_TEXT = {
    400: "Malformed input (invalid_input, bad_chunk), also a control character or an overlong "
    "value anywhere in the address (invalid_input).",
    401: "Missing or wrong draft token (bad_token).",
    403: "A cross-site request (cross_site_request).",
    404: "No such draft or object (draft_not_found, object_not_found).",
    409: "Out-of-order or replayed chunk (offset_mismatch), upload_incomplete, "
    "recipients_changed, already_submitted.",
    410: "The draft expired (draft_expired).",
    411: "No Content-Length (length_required).",
    413: "Too large (chunk_too_large, draft_too_large, body_too_large).",
    415: "Wrong Content-Type (unsupported_media_type).",
    503: "Try again later. The desk cannot receive tips: it has no recipient key "
    "(desk_unavailable); or the database or the rate-limit store is down (unavailable, with "
    "Retry-After): nothing was committed, and a chunk upload resumes from the stored size.",
}

_DRAFT_ID = {"name": "draft_id", "in": "path", "required": True, "schema": _UUID}
_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": {"type": "string", "description": "A stable, machine-readable code."},
            "message": {"type": "string", "description": "What happened, for people."},
        },
    },
    "PublicKey": {
        "type": "object",
        "required": ["key_id", "public_key"],
        "properties": {
            "key_id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
            "public_key": _B64,
        },
    },
    "DeclaredObject": {
        "type": "object",
        "required": ["kind", "ciphertext_size"],
        "properties": {
            "kind": {"enum": ["report", "body", "file"]},
            "ciphertext_size": {
                "type": "integer",
                "description": "Exact length of the object's v1 ciphertext (crypto/layout.py).",
            },
        },
    },
    "DraftObject": {
        "type": "object",
        "required": ["object_id", "kind", "ciphertext_size", "stored"],
        "properties": {
            "object_id": _UUID,
            "kind": {"enum": ["report", "body", "file"]},
            "ciphertext_size": {"type": "integer"},
            "stored": {"type": "integer", "description": "Bytes the server holds: resume here."},
        },
    },
    "Draft": {
        "type": "object",
        "required": ["draft_id", "expires_on", "tipster", "recipients", "objects", "limits"],
        "properties": {
            "draft_id": _UUID,
            "expires_on": {"type": "string", "format": "date"},
            "tipster": _ref("PublicKey"),
            "recipients": {"type": "array", "items": _ref("PublicKey")},
            "objects": {"type": "array", "items": _ref("DraftObject")},
            "limits": {
                "type": "object",
                "properties": {"max_batch_bytes": {"type": "integer", "const": MAX_BATCH_BYTES}},
            },
        },
    },
    "CreatedDraft": {
        "allOf": [
            _ref("Draft"),
            {
                "type": "object",
                "required": ["token", "code", "code_language"],
                "properties": {
                    "token": {"type": "string", "description": "Bearer token for this draft."},
                    "code": {
                        "type": "string",
                        "description": "The tipster's 8 words; shown once, never stored.",
                    },
                    "code_language": {"type": "string"},
                },
            },
        ]
    },
    "Finalize": {
        "type": "object",
        "required": ["commitments", "sealed_keys"],
        "properties": {
            "commitments": {
                "type": "object",
                "required": ["thread", "internal"],
                "properties": {"thread": _B64, "internal": _B64},
            },
            "sealed_keys": {
                "type": "array",
                "description": "One per recipient and scope, plus the tipster's thread key.",
                "items": {
                    "type": "object",
                    "required": ["key_id", "scope", "sealed"],
                    "properties": {
                        "key_id": {"type": "string"},
                        "scope": {"enum": ["thread", "internal"]},
                        "sealed": _B64,
                    },
                },
            },
        },
    },
}


def openapi_document() -> dict[str, Any]:
    """The API description as a JSON-ready dict."""
    draft = "/api/v1/drafts/{draft_id}"
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Tipline browser intake API",
            "version": "1",
            "description": "The tipster's browser encrypts a report and its files (protocol "
            "v1, docs/PROTOCOL.md) and uploads only ciphertext: create a draft, append each "
            "object's ciphertext in chunk batches sequenced by byte offset, then finalize. "
            "A dropped request resumes from the offset GET /drafts/{draft_id} reports. Drafts "
            "not finalized are deleted a day after their expiry date.",
        },
        "servers": [{"url": "/"}],
        "security": [{"draftToken": []}],
        "paths": {
            "/api/v1/openapi.json": {
                "get": {
                    "summary": "This document.",
                    "security": [],
                    "responses": {
                        "200": _json({"type": "object"}, "OpenAPI 3.1 document."),
                        **_errors(400),
                    },
                }
            },
            "/api/v1/drafts": {
                "post": {
                    "summary": "Open a draft: get the code, the tipster's and the desk's keys.",
                    "security": [],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["desk", "objects"],
                                    "properties": {
                                        "desk": {"type": "string"},
                                        "lang": {"type": "string"},
                                        "objects": {
                                            "type": "array",
                                            "items": _ref("DeclaredObject"),
                                            "description": "The report first, then "
                                            "for each file its detached body object and "
                                            "right after it the file object naming it "
                                            "(docs/PROTOCOL.md §5.6).",
                                        },
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "201": _json(_ref("CreatedDraft"), "The draft."),
                        **_errors(400, 403, 404, 411, 413, 415, 503),
                    },
                }
            },
            draft: {
                "parameters": [_DRAFT_ID],
                "get": {
                    "summary": "The draft's recipients and stored bytes per object.",
                    "responses": {
                        "200": _json(_ref("Draft"), "The draft."),
                        **_errors(400, 401, 403, 404, 409, 410, 503),
                    },
                },
                "delete": {
                    "summary": "Cancel: delete the draft and everything uploaded.",
                    "responses": {
                        "204": {"description": "Deleted."},
                        **_errors(400, 401, 403, 404, 409, 503),
                    },
                },
            },
            draft + "/objects/{object_id}/chunks": {
                "parameters": [
                    _DRAFT_ID,
                    {"name": "object_id", "in": "path", "required": True, "schema": _UUID},
                    {
                        "name": "offset",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 0},
                        "description": "Where this batch starts: exactly the bytes stored.",
                    },
                ],
                "post": {
                    "summary": "Append a batch of the object's ciphertext.",
                    "description": f"At most {MAX_BATCH_BYTES} bytes; must end on a "
                    "secretstream chunk boundary (24 + k * 65553) or at the object's end. "
                    "Answered only once the batch is safely on disk. A batch that breaks off "
                    "keeps the whole secretstream chunks that arrived (so the stored size can "
                    "end inside a batch): after a failure, resume from the stored size GET "
                    "/drafts/{draft_id} reports.",
                    "requestBody": {
                        "required": True,
                        "content": {"application/octet-stream": {"schema": {}}},
                    },
                    "responses": {
                        "200": _json(
                            {"type": "object", "properties": {"stored": {"type": "integer"}}},
                            "Bytes now stored.",
                        ),
                        **_errors(400, 401, 403, 404, 409, 410, 411, 413, 415, 503),
                    },
                },
            },
            draft + "/finalize": {
                "parameters": [_DRAFT_ID],
                "post": {
                    "summary": "Seal the keys and make the tip visible, all at once.",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("Finalize")}},
                    },
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {"state": {"const": "submitted"}, "tip_id": _UUID},
                            },
                            "Submitted.",
                        ),
                        **_errors(400, 401, 403, 404, 409, 410, 411, 413, 415, 503),
                    },
                },
            },
        },
        "components": {
            "securitySchemes": {
                "draftToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The token returned when the draft was created.",
                }
            },
            "schemas": _SCHEMAS,
            "responses": {
                f"Error{status}": _json(_ref("Error"), text) for status, text in _ERROR_TEXT.items()
            },
        },
    }
