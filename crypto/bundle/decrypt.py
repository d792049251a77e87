"""Offline decryption of a bundle into a directory, all or nothing.

Output: ``report.json`` (if the report could be decrypted), ``messages.json`` (messages
and notes in manifest order), ``files.json`` (one entry per file: original and saved name,
type, size, sha256) and ``files/<sanitised name>`` for each file, whose SHA-256 is checked
against its metadata. A file with a detached ``body`` object is read from it; every
body object must belong to exactly one file of the same scope. Everything is written to a
hidden temporary directory beside the target and renamed into place only when every object
decrypted and checked.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crypto._encoding import id_to_uuid
from crypto.bundle.filenames import NameAllocator
from crypto.bundle.manifest import ObjectEntry
from crypto.bundle.reader import Bundle, read_bundle
from crypto.datakeys import SCOPES, open_data_key
from crypto.errors import BadBundle, DigestMismatch, NoSealedKey
from crypto.ids import id_from_str
from crypto.keys import KeyPair
from crypto.metadata import detached_body_id
from crypto.object_reader import DecryptedObject, decrypt_object

FILES_DIR = "files"
TEMP_PREFIX = ".tipline-decrypt-"


@dataclass
class DecryptionSummary:
    """What :func:`decrypt_bundle` wrote, and which objects it could not open."""

    out_dir: Path
    scopes: tuple[str, ...]
    report: bool = False
    messages: int = 0
    files: int = 0
    skipped_object_ids: list[str] = field(default_factory=list)


_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW


def _write_new(path: Path, data: bytes) -> None:
    descriptor = os.open(path, _NEW_FILE_FLAGS, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(data)


def _write_json(path: Path, value: object) -> None:
    _write_new(path, (json.dumps(value, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))


def check_output_dir(out_dir: str | os.PathLike[str]) -> Path:
    """Return ``out_dir`` as a Path if it is absent or an empty directory.

    :raises FileExistsError: if it exists and is a non-empty directory or not a directory.
    """
    path = Path(out_dir)
    if path.is_symlink() or (path.exists() and (not path.is_dir() or any(path.iterdir()))):
        raise FileExistsError(
            errno.EEXIST, "The output directory exists and is not empty", str(path)
        )
    return path


def _open_data_keys(bundle: Bundle, keypair: KeyPair) -> dict[str, bytes]:
    data_keys: dict[str, bytes] = {}
    for entry in bundle.sealed_keys:
        if entry.key_id == keypair.key_id:
            data_keys[entry.scope] = open_data_key(
                entry.sealed,
                tip_id=bundle.tip_id,
                keypair=keypair,
                scope=entry.scope,
                expected_commitment=bundle.commitments[entry.scope],
            )
    if not data_keys:
        raise NoSealedKey(f"The bundle holds no sealed key for key {keypair.key_id}.")
    return data_keys


def _record(entry: ObjectEntry, metadata: dict[str, Any]) -> dict[str, Any]:
    record: dict[str, Any] = {"object_id": id_to_uuid(entry.object_id), "scope": entry.scope}
    record.update((k, v) for k, v in metadata.items() if k not in record)
    return record


def _save_file(
    decrypted: DecryptedObject, entry: ObjectEntry, names: NameAllocator, workdir: Path
) -> dict[str, Any]:
    metadata = decrypted.metadata
    saved_as = f"{FILES_DIR}/{names.allocate(metadata['name'])}"
    digest = hashlib.sha256()
    descriptor = os.open(workdir / saved_as, _NEW_FILE_FLAGS, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        for piece in decrypted.body:
            digest.update(piece)
            out.write(piece)
    if not hmac.compare_digest(digest.hexdigest(), metadata["sha256"]):
        raise DigestMismatch("A decrypted file does not match the SHA-256 in its metadata.")
    record = _record(entry, {k: metadata[k] for k in ("name", "type", "size", "sha256")})
    record["saved_as"] = saved_as
    return record


class _DetachedBodies:
    """The bundle's ``body`` objects, each to be claimed by exactly one file."""

    def __init__(self, bundle: Bundle) -> None:
        self._bundle = bundle
        self._entries = {entry.object_id: entry for entry in bundle.objects}
        self._seen: set[bytes] = set()
        self._claimed: set[bytes] = set()

    def seen(self, entry: ObjectEntry) -> None:
        self._seen.add(entry.object_id)

    def claim(self, file: DecryptedObject, entry: ObjectEntry, data_key: bytes) -> DecryptedObject:
        """The file with its body read from the body object its metadata names."""
        body_uuid = detached_body_id(file.metadata)
        if body_uuid is None:
            return file
        body_id = id_from_str(body_uuid)
        body_entry = self._entries.get(body_id)
        if body_entry is None or body_entry.scope != entry.scope or body_id in self._claimed:
            raise BadBundle("A file's body object is missing from the bundle or claimed twice.")
        self._claimed.add(body_id)
        body = decrypt_object(
            data_key,
            body_id,
            self._bundle.iter_ciphertext(body_entry),
            body_size=int(file.metadata["size"]),
        )
        return DecryptedObject(file.metadata, body.body)

    def check_all_claimed(self) -> None:
        if not self._seen <= self._claimed:
            raise BadBundle("The bundle holds a file body that no file refers to.")


def _decrypt_into(
    bundle: Bundle, data_keys: dict[str, bytes], workdir: Path, summary: DecryptionSummary
) -> None:
    (workdir / FILES_DIR).mkdir(mode=0o700)
    names = NameAllocator()
    bodies = _DetachedBodies(bundle)
    report: dict[str, Any] | None = None
    messages: list[dict[str, Any]] = []
    files: list[dict[str, Any]] = []
    for entry in bundle.objects:
        data_key = data_keys.get(entry.scope)
        if data_key is None:
            summary.skipped_object_ids.append(id_to_uuid(entry.object_id))
            continue
        decrypted = decrypt_object(data_key, entry.object_id, bundle.iter_ciphertext(entry))
        if decrypted.kind == "body":
            bodies.seen(entry)  # read through the file that names it
            continue
        if decrypted.kind == "file":
            decrypted = bodies.claim(decrypted, entry, data_key)
            files.append(_save_file(decrypted, entry, names, workdir))
            continue
        for _ in decrypted.body:  # empty, but draining authenticates padding and FINAL
            pass
        if decrypted.kind == "report":
            if report is not None:
                raise BadBundle("The bundle holds more than one report.")
            report = _record(entry, decrypted.metadata)
        else:
            messages.append(_record(entry, decrypted.metadata))
    bodies.check_all_claimed()
    if report is not None:
        _write_json(workdir / "report.json", report)
    _write_json(workdir / "messages.json", messages)
    _write_json(workdir / "files.json", files)
    summary.report = report is not None
    summary.messages = len(messages)
    summary.files = len(files)


def decrypt_bundle(
    bundle_path: str | os.PathLike[str], keypair: KeyPair, out_dir: str | os.PathLike[str]
) -> DecryptionSummary:
    """Decrypt every object of a bundle that ``keypair`` holds a key for into ``out_dir``.

    ``out_dir`` must be absent or empty. On any error nothing is left behind.

    :raises FileExistsError: if ``out_dir`` exists and is not an empty directory.
    :raises BadBundle: if the bundle is malformed (or holds two reports).
    :raises NoSealedKey: if no sealed key is addressed to ``keypair``.
    :raises DecryptionError: the specific subclass for a bad sealed key, commitment or object.
    :raises DigestMismatch: if a file's SHA-256 does not match its metadata.
    :raises OSError: if the bundle cannot be read or the output (whose parent directory
        must exist) cannot be written.
    """
    target = check_output_dir(out_dir)
    bundle = read_bundle(bundle_path)
    data_keys = _open_data_keys(bundle, keypair)
    summary = DecryptionSummary(target, tuple(s for s in SCOPES if s in data_keys))
    workdir = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=target.parent))
    try:
        _decrypt_into(bundle, data_keys, workdir, summary)
        check_output_dir(target)
        os.rename(workdir, target)  # replaces an empty directory atomically on POSIX
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return summary
