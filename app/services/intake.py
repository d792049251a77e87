"""Receiving a new tip: keys, code, objects and rows, all or nothing (DESIGN §5 "Intake").

The server-side (no-JavaScript) path calls this with plaintext that exists only in memory, in
bounded pieces; what reaches the blob store and the database is ciphertext and cleartext
workflow metadata only.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import nacl.utils
from sqlalchemy.orm import Session

from app.errors import CannotServeNow
from app.models import Desk, ObjectKind, Scope
from app.services import tips
from app.services.desks import desk_recipients
from app.services.lane import Lane
from app.services.objects import ObjectBatch
from app.storage import BlobStore
from crypto.codes import TIP_SALT_BYTES, generate_code, lookup_digest, parse_code, tipster_keypair
from crypto.datakeys import commitment, generate_data_key
from crypto.filenames import base_name
from crypto.ids import id_from_str
from crypto.keys import KeyPair
from crypto.metadata import report_metadata

MAX_FILENAME_CHARS = 200
MAX_CONTENT_TYPE_CHARS = 200
CODE_LANGUAGES = {
    "en": "english",
    "zh_Hans": "chinese_simplified",
    "fr": "french",
    "es": "spanish",
    "pt": "portuguese",
}


class DeskCannotReceive(CannotServeNow):
    code = "desk_unavailable"

    def __init__(self) -> None:
        super().__init__(
            "This desk cannot receive tips yet, because nobody there could read them. Nothing "
            "was kept. Please choose “I don't know” (it goes to the triage desk) or try later."
        )


@dataclass(frozen=True)
class IssuedCode:
    """The tipster's code, shown once and never stored."""

    tip_id: str
    code: str
    language: str


@dataclass(frozen=True)
class TipsterCredentials:
    """A fresh code and what the tip stores about it: salt, lookup digest, public key.

    ``code`` is shown to the tipster once and never stored; ``keypair.secret_key`` is not
    needed after the thread key is sealed to ``keypair.public_key``.
    """

    code: str
    language: str
    tip_salt: bytes
    lookup_digest: bytes
    keypair: KeyPair

    @property
    def tipster_key(self) -> tips.TipsterKey:
        """What the tip stores about this code."""
        return tips.TipsterKey(self.lookup_digest, self.tip_salt, self.keypair.public_key)


def issue_code(lang: str, pepper: bytes) -> TipsterCredentials:
    """Draw a code in the tipster's language and derive its lookup digest and key pair."""
    language = code_language_for(lang)
    code = generate_code(language)
    canonical = parse_code(code, language)
    tip_salt = nacl.utils.random(TIP_SALT_BYTES)
    return TipsterCredentials(
        code=code,
        language=language,
        tip_salt=tip_salt,
        lookup_digest=lookup_digest(pepper, canonical),
        keypair=tipster_keypair(canonical, tip_salt),
    )


def code_language_for(locale: str) -> str:
    """The BIP-39 list for a page language: the tipster's own where one exists, else English."""
    return CODE_LANGUAGES.get(locale, "english")


def clean_filename(name: str) -> str:
    """A file's name as the tipster's device gave it: :func:`crypto.filenames.base_name` (no
    directory, no hidden characters), cut to 200 characters, ``unnamed`` if nothing is left.

    ``cleanFilename`` in static/js/upload.mjs must agree (tests/web/test_api_js_client.py).
    """
    return base_name(name)[:MAX_FILENAME_CHARS] or "unnamed"


def add_uploaded_file(
    batch: ObjectBatch, *, filename: str, content_type: str, chunks: Iterable[bytes]
) -> None:
    """Encrypt one uploaded file into ``batch`` as it streams in, size and SHA-256 included.

    Both are known only after the last byte, so the bytes go into a detached body object
    as they arrive and the file object naming it follows (DESIGN §4, docs/PROTOCOL.md).
    """
    batch.add_file(
        Scope.THREAD,
        name=clean_filename(filename),
        content_type=content_type[:MAX_CONTENT_TYPE_CHARS],
        body=chunks,
    )


class TipIntake:
    """One new tip being received: its data keys, its encrypted objects, finally its rows.

    :raises DeskCannotReceive: the desk has no recipient key (never store a tip nobody can read).
    """

    def __init__(self, session: Session, blob_store: BlobStore, desk: Desk) -> None:
        self.desk = desk
        self.recipients = desk_recipients(session, desk.id)
        if not self.recipients:
            raise DeskCannotReceive()
        self.tip_id = str(uuid.uuid4())
        self.data_keys = {Scope.THREAD: generate_data_key(), Scope.INTERNAL: generate_data_key()}
        self.objects = ObjectBatch(blob_store, self.tip_id, self.data_keys)

    def add_file(self, filename: str, content_type: str, chunks: Iterable[bytes]) -> None:
        """Encrypt an uploaded evidence file as it streams in (see :func:`add_uploaded_file`)."""
        add_uploaded_file(self.objects, filename=filename, content_type=content_type, chunks=chunks)

    def complete(
        self,
        session: Session,
        *,
        fields: dict[str, str | list[str]],
        lang: str,
        pepper: bytes,
        today: date,
    ) -> IssuedCode:
        """Encrypt the report, issue the code, seal the keys and add the tip's rows.

        The code's key derivation (Argon2id, most of an intake's CPU) runs on a helper
        thread, as it releases the GIL: meanwhile this one encrypts the report, makes the
        blobs durable and seals the desk's keys. Nothing is visible until the caller's
        transaction commits; on any exception the caller must call :meth:`abort`.
        """
        with Lane("tipster-code", depth=1) as deriving:
            issuing = deriving.submit(issue_code, lang, pepper)
            self.objects.add(Scope.THREAD, ObjectKind.REPORT, report_metadata(lang, fields))
            objects = self.objects.durable()
            # The report leads the thread, although files were encrypted first as they came.
            objects.insert(0, objects.pop())
            sealed = tips.sealed_entries(self.tip_id, self.data_keys, self.recipients)
            issued = issuing.result()
        sealed += tips.sealed_entries(
            self.tip_id, {Scope.THREAD: self.data_keys[Scope.THREAD]}, [issued.keypair]
        )
        raw_tip_id = id_from_str(self.tip_id)
        tips.add_submitted_tip(
            session,
            tip_id=self.tip_id,
            desk=self.desk,
            tipster=issued.tipster_key,
            commitments={
                scope: commitment(key, raw_tip_id, scope.value)
                for scope, key in self.data_keys.items()
            },
            sealed_keys=sealed,
            objects=objects,
            today=today,
        )
        return IssuedCode(tip_id=self.tip_id, code=issued.code, language=issued.language)

    def abort(self) -> None:
        """Remove every blob this intake wrote; the caller rolls the transaction back."""
        self.objects.discard()
