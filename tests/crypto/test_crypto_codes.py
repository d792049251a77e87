"""Tipster codes: generation, tolerant parsing, language detection, lookup and keys."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mnemonic import Mnemonic

from crypto.codes import (
    LANGUAGES,
    WORD_COUNT,
    _fold,
    _index,
    code_candidates,
    format_code,
    generate_code,
    lookup_digest,
    parse_code,
    tipster_keypair,
)
from crypto.errors import InvalidCode

canonical_codes = st.lists(st.integers(0, 2047), min_size=8, max_size=8).map(
    lambda indices: b"".join(i.to_bytes(2, "little") for i in indices)
)


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def test_languages_are_the_lists_mnemonic_ships_english_first() -> None:
    assert LANGUAGES[0] == "english"
    assert set(LANGUAGES) == set(Mnemonic.list_languages())


@pytest.mark.parametrize("language", LANGUAGES)
def test_folding_keeps_every_word_list_distinct(language: str) -> None:
    words = Mnemonic(language).wordlist
    assert len({_fold(w, language) for w in words}) == 2048


@pytest.mark.parametrize("language", LANGUAGES)
def test_generated_codes_parse_back_with_and_without_their_language(language: str) -> None:
    for _ in range(20):
        code = generate_code(language)
        canonical = parse_code(code, language)
        assert len(code.split()) == WORD_COUNT
        assert parse_code(code) == canonical
        assert format_code(canonical, language) == code


@settings(max_examples=40, deadline=None)
@given(
    canonical=canonical_codes,
    language=st.sampled_from(
        ["english", "french", "spanish", "japanese", "chinese_simplified", "turkish"]
    ),
)
def test_formatted_codes_parse_in_their_language(canonical: bytes, language: str) -> None:
    assert parse_code(format_code(canonical, language), language) == canonical


@pytest.mark.parametrize("language", ["french", "spanish", "czech", "portuguese", "turkish"])
def test_case_and_accents_are_ignored(language: str) -> None:
    for _ in range(10):
        code = generate_code(language)
        canonical = parse_code(code, language)
        assert parse_code(strip_accents(code).upper(), language) == canonical
        assert parse_code(strip_accents(code).upper()) == canonical


def test_decomposed_input_matches_composed_words() -> None:
    code = "ábaco abdomen zurdo lince abono caballo vídeo ágil"
    assert parse_code(unicodedata.normalize("NFD", code), "spanish") == parse_code(code, "spanish")


def test_odd_whitespace_and_separators_are_ignored() -> None:
    code = generate_code("english")
    canonical = parse_code(code)
    words = code.split()
    assert parse_code("\n\t " + "  \u00a0".join(words) + " \r\n") == canonical
    assert parse_code("-".join(words)) == canonical
    assert parse_code(", ".join(words)) == canonical


def test_japanese_accepts_ideographic_and_ascii_spaces() -> None:
    code = generate_code("japanese")
    assert "\u3000" in code
    canonical = parse_code(code, "japanese")
    assert parse_code(code.replace("\u3000", " "), "japanese") == canonical
    assert parse_code(code.replace("\u3000", "  ")) == canonical


def test_chinese_codes_may_be_typed_without_spaces() -> None:
    for language in ("chinese_simplified", "chinese_traditional"):
        code = generate_code(language)
        assert parse_code(code.replace(" ", ""), language) == parse_code(code, language)
        assert parse_code(code.replace(" ", "")) == parse_code(code)


def test_unique_prefixes_of_four_or_more_letters_are_accepted() -> None:
    code = "abandon ability zoo length absent cereal wheat aim"
    canonical = parse_code(code)
    assert parse_code("aban abil zoo leng abse cere whea aim") == canonical
    assert parse_code("aband abili zoo lengt absen cerea wheat aim") == canonical


def test_too_short_prefixes_are_rejected() -> None:
    with pytest.raises(InvalidCode):
        parse_code("aba abil zoo leng abse cere whea aim", "english")


def test_ambiguous_prefixes_are_rejected() -> None:
    index = _index("turkish")
    folded = [_fold(w, "turkish") for w in index.words]
    shared = next(
        p
        for p in {w[:4] for w in folded}
        if sum(w.startswith(p) for w in folded) > 1 and p not in index.exact
    )
    assert shared not in index.prefixes
    words = format_code(bytes(16), "turkish").split()
    words[3] = shared
    with pytest.raises(InvalidCode, match="Word 4"):
        parse_code(" ".join(words), "turkish")


def test_unknown_word_is_reported_by_position_never_echoed() -> None:
    words = generate_code("english").split()
    words[5] = "xylophonic"
    with pytest.raises(InvalidCode) as caught:
        parse_code(" ".join(words), "english")
    assert "Word 6" in str(caught.value) and "xylophonic" not in str(caught.value)
    with pytest.raises(InvalidCode) as caught:
        parse_code(" ".join(words))
    assert "Word 6" in str(caught.value) and "xylophonic" not in str(caught.value)


@pytest.mark.parametrize("text", ["", "abandon", "abandon " * 7, "abandon " * 9])
def test_wrong_word_count_is_rejected(text: str) -> None:
    with pytest.raises(InvalidCode, match="8 words"):
        parse_code(text)


def test_language_detection_prefers_exact_matches() -> None:
    canonical = parse_code(generate_code("french"), "french")
    french = format_code(canonical, "french")
    candidates = code_candidates(french)
    assert candidates[0] == ("french", canonical)


def test_canonical_form_is_checked() -> None:
    with pytest.raises(InvalidCode):
        format_code(bytes(15), "english")
    with pytest.raises(InvalidCode):
        format_code(b"\xff\xff" + bytes(14), "english")
    with pytest.raises(ValueError):
        format_code(bytes(16), "klingon")


def test_lookup_digest_depends_on_pepper_and_code() -> None:
    a, b = parse_code(generate_code()), parse_code(generate_code())
    pepper = bytes(range(32))
    assert len(lookup_digest(pepper, a)) == 32
    assert lookup_digest(pepper, a) != lookup_digest(pepper, b)
    assert lookup_digest(pepper, a) != lookup_digest(bytes(32), a)
    with pytest.raises(ValueError):
        lookup_digest(bytes(16), a)


def test_tipster_keypair_is_deterministic_per_code_and_salt() -> None:
    canonical = parse_code(generate_code())
    salt = bytes(range(16))
    assert tipster_keypair(canonical, salt) == tipster_keypair(canonical, salt)
    assert tipster_keypair(canonical, bytes(16)) != tipster_keypair(canonical, salt)
    with pytest.raises(ValueError):
        tipster_keypair(canonical, bytes(8))
