"""Safe local names for decrypted evidence files (names come from tipsters: untrusted)."""

from __future__ import annotations

import unicodedata

MAX_NAME_BYTES = 200  # below the usual 255-byte limit, leaving room for " (n)"
FALLBACK_NAME = "file"
_DROPPED_CATEGORIES = ("Cc", "Cf", "Cs", "Cn")  # controls, bidi/format marks, surrogates
_WINDOWS_UNSAFE = str.maketrans({c: "_" for c in '<>:"|?*'})
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

    Keeps only the last path component (``/`` or ``\\``), drops control and bidi-format
    characters, replaces characters Windows forbids, strips leading dots and surrounding
    spaces and dots, avoids Windows device names, and caps the length at 200 UTF-8 bytes.
    """
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c) not in _DROPPED_CATEGORIES)
    name = name.translate(_WINDOWS_UNSAFE).strip(" .")
    if name.split(".", 1)[0].casefold() in _WINDOWS_DEVICES:
        name = "_" + name
    name = _truncate(name).strip(" .")
    return name or FALLBACK_NAME


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
