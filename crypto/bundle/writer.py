"""Writing bundles: ``manifest.json`` first, then each object's ciphertext, streamed."""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from crypto.bundle.manifest import (
    MANIFEST_NAME,
    ObjectEntry,
    SealedKeyEntry,
    check_manifest_inputs,
    encode_manifest,
    is_safe_member_name,
    object_path,
)
from crypto.ids import check_id

# Every member gets the zip epoch as its time: a bundle carries no precise dates.
_EPOCH = (1980, 1, 1, 0, 0, 0)
_FILE_MODE = 0o600 << 16


@dataclass(frozen=True)
class BundleObject:
    """An object to put in a bundle; ``chunks`` is its ciphertext, in any pieces."""

    object_id: bytes
    scope: str
    chunks: Iterable[bytes]


def _member(name: str, compress_type: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.compress_type = compress_type
    info.external_attr = _FILE_MODE
    return info


def _write_zip(
    fileobj: IO[bytes],
    manifest: bytes,
    objects: list[tuple[str, BundleObject]],
    extra_files: Mapping[str, bytes],
) -> None:
    with zipfile.ZipFile(fileobj, "w") as archive:
        archive.writestr(_member(MANIFEST_NAME, zipfile.ZIP_DEFLATED), manifest)
        for path, obj in objects:
            # Ciphertext does not compress; force_zip64 because its size is not known yet.
            with archive.open(_member(path, zipfile.ZIP_STORED), "w", force_zip64=True) as out:
                for chunk in obj.chunks:
                    out.write(chunk)
        for name, data in extra_files.items():
            archive.writestr(_member(name, zipfile.ZIP_DEFLATED), data)


def write_bundle(
    target: str | os.PathLike[str] | IO[bytes],
    *,
    tip_id: bytes,
    commitments: Mapping[str, bytes],
    sealed_keys: Iterable[SealedKeyEntry],
    objects: Iterable[BundleObject],
    extra_files: Mapping[str, bytes] | None = None,
) -> None:
    """Write a v1 bundle to a path (atomically, replacing it) or a binary file object.

    Object ciphertexts are streamed from ``chunks`` and never held whole. ``extra_files``
    adds cleartext members such as ``audit.json``.

    :raises ValueError: on a malformed id, commitment, sealed key, scope, duplicate, or an
        unsafe or clashing extra file name.
    """
    tip_id = check_id(tip_id, "tip id")
    sealed_list = list(sealed_keys)
    placed = [(object_path(check_id(o.object_id, "object id")), o) for o in objects]
    entries = [ObjectEntry(o.object_id, o.scope, path) for path, o in placed]
    check_manifest_inputs(commitments, sealed_list, entries)
    extras = dict(extra_files or {})
    taken = {MANIFEST_NAME} | {path for path, _ in placed}
    for name in extras:
        if not is_safe_member_name(name) or name in taken:
            raise ValueError("An extra file name is unsafe or clashes with a bundle member.")
    manifest = encode_manifest(tip_id, commitments, sealed_list, entries)
    if not isinstance(target, str | os.PathLike):
        _write_zip(target, manifest, placed, extras)
        return
    destination = Path(target)
    handle, temporary = tempfile.mkstemp(prefix=".tipline-bundle-", dir=destination.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            _write_zip(out, manifest, placed, extras)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
