"""Safe local names for decrypted evidence files (names come from tipsters: untrusted)."""

from __future__ import annotations

import re
import unicodedata

from crypto.filenames import base_name

MAX_NAME_BYTES = 200  # below the usual 255-byte limit, leaving room for " (n)"
FALLBACK_NAME = "file"
_WINDOWS_UNSAFE = str.maketrans({c: "_" for c in '<>:"|?*'})
# Leading dots hide a file; Windows drops trailing dots and spaces without a word.
_DOTS_AND_SPACES_AROUND = re.compile(r"^[\s.]+|[\s.]+$")
_WINDOWS_DEVICES = frozenset(
    {"con", "prn", "aux", "nul"}
    | {f"com{i}" for i in range(1, 10)}
    | {f"lpt{i}" for i in range(1, 10)}
)


def _split_extension(name: str) -> tuple[str, str]:
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension) > 16:
        return name, ""
    return stem, "." + extension


def _truncate(name: str) -> str:
    stem, extension = _split_extension(name)
    while stem and len((stem + extension).encode("utf-8")) > MAX_NAME_BYTES:
        stem = stem[:-1]
    return (
        (stem + extension)
        if stem
        else name.encode("utf-8")[:MAX_NAME_BYTES].decode("utf-8", "ignore")
    )


def sanitise_filename(name: str) -> str:
    """Return a single, harmless path component for an untrusted file name.

    On top of :func:`crypto.filenames.base_name` (the last ``/`` or ``\\`` component, without
    control, format, surrogate, private-use or unassigned characters or surrounding
    whitespace) of the NFC-normalised name: replaces characters Windows forbids, strips leading
    dots and surrounding spaces and dots, avoids Windows device names, and caps the length at
    200 UTF-8 bytes, extension kept. ``file`` when nothing is left.
    """
    # Each step runs on what the step before left: composing, cutting to length or trimming
    # can each make what an earlier check passed (a cut can leave "CON").
    name = unicodedata.normalize("NFC", base_name(name)).translate(_WINDOWS_UNSAFE)
    name = _trim(_truncate(_trim(name)))
    if name.split(".", 1)[0].casefold() in _WINDOWS_DEVICES:
        name = _trim(_truncate("_" + name))
    return name or FALLBACK_NAME


def _trim(name: str) -> str:
    return _DOTS_AND_SPACES_AROUND.sub("", name)


class NameAllocator:
    """Hands out distinct sanitised names, case-insensitively (``name (2).ext`` on clashes)."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def allocate(self, untrusted_name: str) -> str:
        """Return a sanitised name not yet handed out."""
        name = sanitise_filename(untrusted_name)
        stem, extension = _split_extension(name)
        candidate, counter = name, 1
        while candidate.casefold() in self._taken:
            counter += 1
            candidate = f"{stem} ({counter}){extension}"
        self._taken.add(candidate.casefold())
        return candidate
