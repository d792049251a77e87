"""The shape of a browser upload, checked without keys (docs/PROTOCOL.md §5.6).

The server never holds a draft's data keys, so what it can check it checks from lengths
alone: a draft's plan (the report, then a detached body and the file object naming it per
attached file) and each object's declared ciphertext length (:mod:`crypto.layout`); and each
chunk batch, which must fit the declared object and end on a secretstream chunk boundary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.errors import InvalidInput
from app.models import ObjectKind
from app.services.draft_errors import BadChunk, ChunkTooLarge, DraftTooLarge
from app.services.report_form import MAX_FILES_PER_REQUEST
from crypto.layout import (
    CIPHERTEXT_CHUNK_SIZE,
    HEADER_BYTES,
    LENGTH_PREFIX_BYTES,
    MAX_METADATA_BYTES,
    ciphertext_length,
    is_valid_ciphertext_length,
    padded_length,
)

# A batch carries at most 256 secretstream chunks (16 MiB of plaintext) and the header. Fewer,
# larger batches spend less per byte on requests (and, over Tor, on round trips); a batch
# that breaks off still keeps its whole chunks (append_chunk), so a drop costs little.
MAX_BATCH_BYTES = 256 * CIPHERTEXT_CHUNK_SIZE + HEADER_BYTES
# A report is metadata only: at most 1 MiB of JSON, so at most 2 MiB once padded.
MAX_REPORT_CIPHERTEXT = ciphertext_length(padded_length(LENGTH_PREFIX_BYTES + MAX_METADATA_BYTES))


@dataclass(frozen=True)
class DeclaredObject:
    kind: ObjectKind
    ciphertext_size: int


# Any object without a body is metadata only: a report, or a file naming its detached body.
MAX_METADATA_ONLY_CIPHERTEXT = MAX_REPORT_CIPHERTEXT
_BODY_BEFORE_FILE = "Each body object must be followed by the file object that names it."


def check_declared(objects: Sequence[DeclaredObject], max_upload_bytes: int) -> None:
    """:raises InvalidInput: / :raises DraftTooLarge: the plan cannot be a v1 tip upload.

    A plan is the report, then one pair per attached file: the file's detached body object,
    then the file object naming it (docs/PROTOCOL.md §5.6), the storage format of both intake
    paths. A file object carrying its own body is refused.
    """
    if not objects or objects[0].kind is not ObjectKind.REPORT:
        raise InvalidInput("A draft starts with its report object.")
    attached = objects[1:]
    for index, declared in enumerate(attached):
        expected = ObjectKind.BODY if index % 2 == 0 else ObjectKind.FILE
        if declared.kind is expected:
            continue
        if declared.kind is ObjectKind.FILE:
            raise InvalidInput(
                "Each file object must come right after its detached body object; a file "
                "carrying its own body is not accepted."
            )
        if declared.kind is ObjectKind.BODY:
            raise InvalidInput(_BODY_BEFORE_FILE)
        raise InvalidInput("After the report, a draft holds only body and file objects.")
    if len(attached) % 2:
        raise InvalidInput(_BODY_BEFORE_FILE)
    if len(attached) // 2 > MAX_FILES_PER_REQUEST:
        raise InvalidInput(f"Please attach at most {MAX_FILES_PER_REQUEST} files at a time.")
    for declared in objects:
        if not is_valid_ciphertext_length(declared.ciphertext_size):
            raise InvalidInput(
                f"{declared.ciphertext_size} bytes is not the length of any v1 encrypted object."
            )
    if objects[0].ciphertext_size > MAX_REPORT_CIPHERTEXT:
        raise InvalidInput("The encrypted report is larger than a report can be.")
    if any(o.ciphertext_size > MAX_METADATA_ONLY_CIPHERTEXT for o in attached[1::2]):
        raise InvalidInput(
            "An encrypted file object is larger than one without a body of its own can be."
        )
    total = sum(o.ciphertext_size for o in objects)
    if total > max_upload_bytes:
        raise DraftTooLarge(
            f"Together the encrypted files are {total} bytes; this tip line accepts at most "
            f"{max_upload_bytes} bytes in one report."
        )


def _ends_on_chunk_boundary(end: int, ciphertext_size: int) -> bool:
    if end == ciphertext_size:
        return True
    return end >= HEADER_BYTES and (end - HEADER_BYTES) % CIPHERTEXT_CHUNK_SIZE == 0


def last_chunk_boundary(end: int) -> int:
    """Where the whole secretstream chunks among the first ``end`` bytes end (0: none)."""
    if end < HEADER_BYTES:
        return 0
    return end - (end - HEADER_BYTES) % CIPHERTEXT_CHUNK_SIZE


def check_batch(offset: int, length: int, ciphertext_size: int) -> None:
    """:raises ChunkTooLarge: / :raises BadChunk: see :func:`append_chunk`."""
    if length > MAX_BATCH_BYTES:
        raise ChunkTooLarge(MAX_BATCH_BYTES)
    if length <= 0:
        raise BadChunk("A chunk batch must carry at least one byte.")
    end = offset + length
    if offset < 0 or end > ciphertext_size:
        raise BadChunk(
            f"Bytes {offset}–{end} run past the object's declared {ciphertext_size} bytes."
        )
    if not _ends_on_chunk_boundary(end, ciphertext_size):
        raise BadChunk("A chunk batch must end on a secretstream chunk boundary.")
