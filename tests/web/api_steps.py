"""A tipster's browser played in Python: the JavaScript intake's steps, with the crypto package.

Encrypts what static/js/upload.mjs encrypts (the report, then per file its detached body and
the file object naming it, all in the thread scope: the storage format of the no-JavaScript
intake) and speaks /api/v1 through Flask's test client, so the API's rules can be tested one
request at a time.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
from dataclasses import dataclass, field, replace
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.services.upload_plan import MAX_BATCH_BYTES
from crypto.datakeys import SCOPES, commitment, generate_data_key, seal_data_key
from crypto.ids import id_from_str
from crypto.keys import key_id
from crypto.layout import HEADER_BYTES, LENGTH_PREFIX_BYTES, ciphertext_length, padded_length
from crypto.metadata import (
    body_metadata,
    declared_size,
    encode_metadata,
    file_metadata,
    report_metadata,
)
from crypto.objects import BODY_TRAILER_BYTES, encrypt_detached_body, encrypt_object

DRAFTS = "/api/v1/drafts"
# What the browser writes in a file object before the server has assigned the body's id:
# any lowercase UUID4 serialises to the same length.
PLACEHOLDER_ID = "00000000-0000-4000-8000-000000000000"


@dataclass(frozen=True)
class Planned:
    """One object of the plan: its metadata and the body it carries (a ``body`` object: the
    file's bytes)."""

    metadata: dict[str, Any]
    body: bytes = b""

    @property
    def kind(self) -> str:
        return str(self.metadata["kind"])

    @property
    def ciphertext_size(self) -> int:
        encoded = encode_metadata(self.metadata)
        if self.kind == "body":
            inside = len(self.body) + BODY_TRAILER_BYTES
        else:
            inside = declared_size(self.metadata)
            assert inside == len(self.body)
        return ciphertext_length(padded_length(LENGTH_PREFIX_BYTES + len(encoded) + inside))

    def naming(self, body_id: str) -> Planned:
        """This file object, naming the body object the server gave ``body_id``."""
        assert self.kind == "file" and "body" in self.metadata
        return replace(self, metadata={**self.metadata, "body": body_id})


def plan(
    fields: dict[str, Any], files: list[tuple[str, bytes]] = (), lang: str = "en"
) -> list[Planned]:  # type: ignore[assignment]
    """The report first, then per file its body object and its file object, as the browser
    plans them (the file object naming a placeholder id until the draft exists)."""
    planned = [Planned(report_metadata(lang, fields))]
    for name, body in files:
        metadata = file_metadata(
            name,
            "application/octet-stream",
            len(body),
            hashlib.sha256(body).hexdigest(),
            body=PLACEHOLDER_ID,
        )
        planned += [Planned(body_metadata(), body), Planned(metadata)]
    return planned


def batches(ciphertext: bytes, limit: int = MAX_BATCH_BYTES) -> list[tuple[int, bytes]]:
    """(offset, bytes): the header and as many whole chunks as fit in ``limit``, then as
    many whole chunks at a time (a limit of 24 + k * 65553 bytes cuts on chunk boundaries)."""
    cuts = [0]
    while cuts[-1] < len(ciphertext):
        first = cuts[-1] == 0
        cuts.append(min(len(ciphertext), cuts[-1] + (limit if first else limit - HEADER_BYTES)))
    return [(start, ciphertext[start:end]) for start, end in itertools.pairwise(cuts)]


@dataclass
class PythonBrowser:
    """One draft, opened through the API; ``ciphertexts`` are ready once it is created."""

    client: FlaskClient
    planned: list[Planned]
    draft: dict[str, Any] = field(default_factory=dict)
    data_keys: dict[str, bytes] = field(default_factory=dict)
    ciphertexts: list[bytes] = field(default_factory=list)

    @property
    def token(self) -> str:
        return str(self.draft["token"])

    @property
    def draft_id(self) -> str:
        return str(self.draft["draft_id"])

    def object_id(self, index: int) -> str:
        return str(self.draft["objects"][index]["object_id"])

    def create(self, desk: str, lang: str = "en") -> TestResponse:
        body = {
            "desk": desk,
            "lang": lang,
            "objects": [
                {"kind": p.kind, "ciphertext_size": p.ciphertext_size} for p in self.planned
            ],
        }
        response = self.client.post(DRAFTS, json=body)
        if response.status_code == 201:
            self.draft = response.get_json()
            self.data_keys = {scope: generate_data_key() for scope in SCOPES}
            self.ciphertexts = [self._encrypt(i, p) for i, p in enumerate(self.planned)]
        return response

    def _encrypt(self, index: int, planned: Planned) -> bytes:
        key, object_id = self.data_keys["thread"], id_from_str(self.object_id(index))
        if planned.kind == "body":
            ciphertext = b"".join(encrypt_detached_body(key, object_id, [planned.body]))
        else:
            if "body" in planned.metadata:  # the body object is planned right before it
                planned = planned.naming(self.object_id(index - 1))
            ciphertext = b"".join(encrypt_object(key, object_id, planned.metadata, [planned.body]))
        assert len(ciphertext) == self.planned[index].ciphertext_size
        return ciphertext

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token if token is None else token}"}

    def send(self, index: int, offset: int, data: bytes, token: str | None = None) -> TestResponse:
        return self.client.post(
            f"{DRAFTS}/{self.draft_id}/objects/{self.object_id(index)}/chunks?offset={offset}",
            data=data,
            content_type="application/octet-stream",
            headers=self.headers(token),
        )

    def upload(self, index: int) -> None:
        for offset, data in batches(self.ciphertexts[index]):
            response = self.send(index, offset, data)
            assert response.status_code == 200, response.get_json()

    def upload_all(self) -> None:
        for index in range(len(self.planned)):
            self.upload(index)

    def status(self) -> TestResponse:
        return self.client.get(f"{DRAFTS}/{self.draft_id}", headers=self.headers())

    def finalize_body(self, recipients: list[dict[str, str]] | None = None) -> dict[str, Any]:
        raw_tip_id = id_from_str(self.draft_id)
        b64 = lambda raw: base64.b64encode(raw).decode()  # noqa: E731
        entries = []
        for recipient in self.draft["recipients"] if recipients is None else recipients:
            public_key = base64.b64decode(recipient["public_key"])
            for scope in SCOPES:
                sealed = seal_data_key(self.data_keys[scope], raw_tip_id, public_key)
                entries.append(
                    {"key_id": key_id(public_key), "scope": scope, "sealed": b64(sealed)}
                )
        tipster_key = base64.b64decode(self.draft["tipster"]["public_key"])
        sealed = seal_data_key(self.data_keys["thread"], raw_tip_id, tipster_key)
        entries.append({"key_id": key_id(tipster_key), "scope": "thread", "sealed": b64(sealed)})
        commitments = {s: b64(commitment(self.data_keys[s], raw_tip_id, s)) for s in SCOPES}
        return {"commitments": commitments, "sealed_keys": entries}

    def finalize(self, body: dict[str, Any] | None = None) -> TestResponse:
        return self.client.post(
            f"{DRAFTS}/{self.draft_id}/finalize",
            json=self.finalize_body() if body is None else body,
            headers=self.headers(),
        )
