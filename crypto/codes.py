"""Tipster codes: 8 BIP-39 words, their canonical bytes, lookup digest and key pair.

Canonical form: the 8 word indices as ``u16le`` (16 bytes). Matching ignores case and
extra whitespace; for alphabetic lists (Latin and Cyrillic) it also ignores accents and
treats Turkish dotless i (U+0131) as ``i``; every list accepts an unambiguous prefix of at least
4 characters. Chinese codes may be typed without spaces (each word is one character).

Language detection (``parse_code(text)`` without a language): every list in
:data:`LANGUAGES` order is tried; among lists where all 8 words resolve, the one with the
most exact (non-prefix) matches wins, ties going to the earlier list. :func:`generate_code`
redraws any code that this rule would not map back to itself, so a code as issued always
parses to the same canonical bytes, with or without its language.
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass
from functools import cache

import nacl.pwhash.argon2id
from mnemonic import Mnemonic
from nacl.public import PrivateKey

from crypto._hashing import LOOKUP_LABEL, TIPSTER_BOX_LABEL, keyed_blake2b_256
from crypto.errors import InvalidCode
from crypto.keys import KeyPair

LANGUAGES = (
    "english",
    "chinese_simplified",
    "chinese_traditional",
    "czech",
    "french",
    "italian",
    "japanese",
    "korean",
    "portuguese",
    "russian",
    "spanish",
    "turkish",
)
WORD_COUNT = 8
WORDLIST_SIZE = 2048
CANONICAL_BYTES = 2 * WORD_COUNT
MIN_PREFIX = 4
TIP_SALT_BYTES = 16
PEPPER_BYTES = 32
TIPSTER_OPSLIMIT = 2
TIPSTER_MEMLIMIT = 19 * 1024 * 1024
SEED_BYTES = 32

_ACCENT_FOLDED = frozenset(
    {"english", "czech", "french", "italian", "portuguese", "russian", "spanish", "turkish"}
)
_ONE_CHARACTER_WORDS = frozenset({"chinese_simplified", "chinese_traditional"})
_SEPARATORS = str.maketrans({c: " " for c in ",;.\u00b7\u3001\uff0c\u3002\uff1b-_/"})


def _fold(word: str, language: str) -> str:
    if language in _ACCENT_FOLDED:
        decomposed = unicodedata.normalize("NFKD", word)
        bare = "".join(c for c in decomposed if not unicodedata.combining(c))
        return bare.casefold().replace("\u0131", "i")
    return unicodedata.normalize("NFKC", word).casefold()


@dataclass(frozen=True)
class _Index:
    words: tuple[str, ...]  # as shipped, for display
    exact: dict[str, int]  # folded word -> index
    prefixes: dict[str, int]  # folded prefix (>= 4 chars, unambiguous, not a word) -> index


@cache
def _index(language: str) -> _Index:
    if language not in LANGUAGES:
        raise ValueError("Unknown code language.")
    words = tuple(unicodedata.normalize("NFC", w) for w in Mnemonic(language).wordlist)
    assert len(words) == WORDLIST_SIZE
    exact = {_fold(word, language): i for i, word in enumerate(words)}
    assert len(exact) == WORDLIST_SIZE  # folding keeps words distinct (tested per list)
    owners: dict[str, set[int]] = {}
    for folded, i in exact.items():
        for end in range(MIN_PREFIX, len(folded)):
            owners.setdefault(folded[:end], set()).add(i)
    prefixes = {
        prefix: next(iter(found))
        for prefix, found in owners.items()
        if len(found) == 1 and prefix not in exact
    }
    return _Index(words, exact, prefixes)


def _tokens(text: str, language: str) -> list[str]:
    spaced = unicodedata.normalize("NFKC", text).translate(_SEPARATORS)
    if language in _ONE_CHARACTER_WORDS:
        return [c for c in spaced if not c.isspace()]
    return spaced.split()


def _resolve(text: str, language: str) -> tuple[list[int | None], int]:
    """Return each token's index (None if unknown) and the number of exact matches."""
    index = _index(language)
    found: list[int | None] = []
    exact_count = 0
    for token in _tokens(text, language):
        folded = _fold(token, language)
        if folded in index.exact:
            found.append(index.exact[folded])
            exact_count += 1
        else:
            found.append(index.prefixes.get(folded))
    return found, exact_count


def _canonical(indices: list[int]) -> bytes:
    return b"".join(i.to_bytes(2, "little") for i in indices)


def _check_count(found: list[int | None]) -> None:
    if len(found) != WORD_COUNT:
        raise InvalidCode(f"A code has {WORD_COUNT} words; this one has {len(found)}.")


def code_candidates(text: str) -> list[tuple[str, bytes]]:
    """Return ``(language, canonical)`` for every list that reads all 8 words, best first.

    Order: most exact matches first, then :data:`LANGUAGES` order; duplicates of the same
    canonical bytes are dropped. A caller that may try several lookups can use all of them.
    """
    scored: list[tuple[int, int, str, bytes]] = []
    for position, language in enumerate(LANGUAGES):
        found, exact_count = _resolve(text, language)
        if len(found) == WORD_COUNT and None not in found:
            indices = [i for i in found if i is not None]
            scored.append((-exact_count, position, language, _canonical(indices)))
    seen: set[bytes] = set()
    result: list[tuple[str, bytes]] = []
    for _, _, language, canonical in sorted(scored):
        if canonical not in seen:
            seen.add(canonical)
            result.append((language, canonical))
    return result


def parse_code(text: str, language: str | None = None) -> bytes:
    """Return the 16 canonical bytes of a typed code.

    With ``language`` only that list is used; without, see the module docstring.

    :raises InvalidCode: if the code is not 8 recognised words (the message names the
        position of the first unrecognised word, never the word).
    :raises ValueError: if ``language`` is not in :data:`LANGUAGES`.
    """
    if language is not None:
        found, _ = _resolve(text, language)
        _check_count(found)
        for position, i in enumerate(found, start=1):
            if i is None:
                raise InvalidCode(f"Word {position} of the code is not recognised.")
        return _canonical([i for i in found if i is not None])
    candidates = code_candidates(text)
    if candidates:
        return candidates[0][1]
    best = max(
        (_resolve(text, lang)[0] for lang in LANGUAGES),
        key=lambda found: (len(found) == WORD_COUNT, -found.count(None)),
    )
    _check_count(best)
    position = best.index(None) + 1
    raise InvalidCode(f"Word {position} of the code is not recognised in any word list.")


def _indices(canonical: bytes) -> list[int]:
    if len(canonical) != CANONICAL_BYTES:
        raise InvalidCode("A canonical code is 16 bytes long.")
    indices = [int.from_bytes(canonical[i : i + 2], "little") for i in range(0, 16, 2)]
    if any(i >= WORDLIST_SIZE for i in indices):
        raise InvalidCode("A canonical code holds a word index beyond 2047.")
    return indices


def format_code(canonical: bytes, language: str = "english") -> str:
    """Return the code's words in ``language``, separated by spaces (ideographic for Japanese).

    :raises InvalidCode: if ``canonical`` is not 16 bytes of indices below 2048.
    :raises ValueError: if ``language`` is not in :data:`LANGUAGES`.
    """
    words = _index(language).words
    separator = "\u3000" if language == "japanese" else " "
    return separator.join(words[i] for i in _indices(canonical))


def generate_code(language: str = "english") -> str:
    """Return a fresh 8-word code (88 bits from :mod:`secrets`) in ``language``.

    Codes that language detection would read differently are redrawn (rare).

    :raises ValueError: if ``language`` is not in :data:`LANGUAGES`.
    """
    _index(language)
    while True:
        canonical = _canonical([secrets.randbelow(WORDLIST_SIZE) for _ in range(WORD_COUNT)])
        code = format_code(canonical, language)
        if parse_code(code) == canonical:
            return code


def lookup_digest(pepper: bytes, canonical: bytes) -> bytes:
    """Return ``BLAKE2b-256(key=PEPPER, msg="tipline/v1/lookup" || canonical)``.

    :raises ValueError: if ``pepper`` is not 32 bytes.
    :raises InvalidCode: if ``canonical`` is not a valid canonical code.
    """
    if len(pepper) != PEPPER_BYTES:
        raise ValueError("The pepper must be 32 bytes long.")
    _indices(canonical)
    return keyed_blake2b_256(bytes(pepper), LOOKUP_LABEL + bytes(canonical))


def tipster_seed(canonical: bytes, tip_salt: bytes) -> bytes:
    """Return ``Argon2id(canonical, tip_salt, opslimit=2, memlimit=19 MiB)``, 32 bytes.

    :raises ValueError: if ``tip_salt`` is not 16 bytes.
    :raises InvalidCode: if ``canonical`` is not a valid canonical code.
    """
    if len(tip_salt) != TIP_SALT_BYTES:
        raise ValueError("A tip salt must be 16 bytes long.")
    _indices(canonical)
    return nacl.pwhash.argon2id.kdf(
        SEED_BYTES,
        bytes(canonical),
        bytes(tip_salt),
        opslimit=TIPSTER_OPSLIMIT,
        memlimit=TIPSTER_MEMLIMIT,
    )


def tipster_keypair(canonical: bytes, tip_salt: bytes) -> KeyPair:
    """Return the tipster's X25519 box key pair; the secret is
    ``BLAKE2b-256(key=seed, msg="tipline/v1/tipster-box")``.

    :raises ValueError: if ``tip_salt`` is not 16 bytes.
    :raises InvalidCode: if ``canonical`` is not a valid canonical code.
    """
    secret_key = keyed_blake2b_256(tipster_seed(canonical, tip_salt), TIPSTER_BOX_LABEL)
    private_key = PrivateKey(secret_key)
    return KeyPair(bytes(private_key.public_key), secret_key)
