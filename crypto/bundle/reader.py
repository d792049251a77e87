"""Reading bundles: strict validation of the zip and manifest, streamed object access."""

from __future__ import annotations

import os
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from crypto.bundle.manifest import (
    MANIFEST_NAME,
    MAX_MANIFEST_BYTES,
    ObjectEntry,
    SealedKeyEntry,
    is_safe_member_name,
    parse_manifest,
)
from crypto.errors import BadBundle
from crypto.layout import is_valid_ciphertext_length

READ_PIECE = 1024 * 1024
MAX_EXTRA_FILE_BYTES = 64 * 1024 * 1024
# What zipfile raises on damaged, encrypted or unsupported members.
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError)


@dataclass(frozen=True)
class Bundle:
    """A validated bundle on disk. Object ciphertexts are read lazily from the zip."""

    path: Path
    tip_id: bytes
    commitments: dict[str, bytes]
    sealed_keys: tuple[SealedKeyEntry, ...]
    objects: tuple[ObjectEntry, ...]
    extra_names: tuple[str, ...]

    def iter_ciphertext(self, entry: ObjectEntry) -> Iterator[bytes]:
        """Yield an object's ciphertext in 1 MiB pieces.

        :raises BadBundle: if the zip member is damaged (e.g. CRC mismatch).
        """
        try:
            with zipfile.ZipFile(self.path) as archive, archive.open(entry.path) as member:
                while piece := member.read(READ_PIECE):
                    yield piece
        except (*_ZIP_ERRORS, KeyError):
            raise BadBundle("An object in the bundle zip is damaged.") from None

    def read_extra(self, name: str) -> bytes:
        """Return a cleartext extra member (e.g. ``audit.json``), at most 64 MiB.

        :raises BadBundle: if it is not an extra member, too large, or damaged.
        """
        if name not in self.extra_names:
            raise BadBundle("The bundle has no such extra file.")
        try:
            with zipfile.ZipFile(self.path) as archive, archive.open(name) as member:
                data = member.read(MAX_EXTRA_FILE_BYTES + 1)
        except _ZIP_ERRORS:
            raise BadBundle("An extra file in the bundle zip is damaged.") from None
        if len(data) > MAX_EXTRA_FILE_BYTES:
            raise BadBundle("An extra file in the bundle is too large.")
        return data


def _check_members(archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    members: dict[str, zipfile.ZipInfo] = {}
    for info in archive.infolist():
        if not is_safe_member_name(info.filename) or info.is_dir():
            raise BadBundle("The bundle zip has an unsafe member name.")
        if info.filename in members:
            raise BadBundle("The bundle zip has two members with the same name.")
        if info.flag_bits & 0x1:
            raise BadBundle("The bundle zip has an encrypted member.")
        members[info.filename] = info
    return members


def read_bundle(path: str | os.PathLike[str]) -> Bundle:
    """Open and strictly validate a bundle (zip, member names, manifest, object lengths).

    :raises BadBundle: on anything off, including unsafe or duplicate member names.
    :raises OSError: if the file cannot be read.
    """
    bundle_path = Path(path)
    try:
        with zipfile.ZipFile(bundle_path) as archive:
            members = _check_members(archive)
            info = members.get(MANIFEST_NAME)
            if info is None or info.file_size > MAX_MANIFEST_BYTES:
                raise BadBundle("The bundle has no manifest of acceptable size.")
            with archive.open(info) as member:
                raw = member.read(MAX_MANIFEST_BYTES + 1)
    except _ZIP_ERRORS:
        raise BadBundle("The file is not a readable zip archive.") from None
    if len(raw) > MAX_MANIFEST_BYTES:
        raise BadBundle("The bundle manifest is too large.")
    manifest = parse_manifest(raw)
    for entry in manifest.objects:
        member_info = members.get(entry.path)
        if member_info is None:
            raise BadBundle("An object listed in the manifest is missing from the zip.")
        if not is_valid_ciphertext_length(member_info.file_size):
            raise BadBundle("An object in the bundle has an impossible ciphertext length.")
    used = {MANIFEST_NAME} | {entry.path for entry in manifest.objects}
    extras = tuple(name for name in members if name not in used)
    return Bundle(
        bundle_path,
        manifest.tip_id,
        manifest.commitments,
        manifest.sealed_keys,
        manifest.objects,
        extras,
    )
