"""Evidence bundles: a zip of ``manifest.json`` and object ciphertexts (protocol v1 §Bundle)."""

from crypto.bundle.decrypt import DecryptionSummary, check_output_dir, decrypt_bundle
from crypto.bundle.filenames import NameAllocator, sanitise_filename
from crypto.bundle.manifest import (
    MANIFEST_NAME,
    Manifest,
    ObjectEntry,
    SealedKeyEntry,
    object_path,
    parse_manifest,
)
from crypto.bundle.reader import Bundle, read_bundle
from crypto.bundle.writer import BundleObject, write_bundle

__all__ = [
    "MANIFEST_NAME",
    "Bundle",
    "BundleObject",
    "DecryptionSummary",
    "Manifest",
    "NameAllocator",
    "ObjectEntry",
    "SealedKeyEntry",
    "check_output_dir",
    "decrypt_bundle",
    "object_path",
    "parse_manifest",
    "read_bundle",
    "sanitise_filename",
    "write_bundle",
]
