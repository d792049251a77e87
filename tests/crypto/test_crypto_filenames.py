"""Tipsters' file names made harmless: the base rule, and the on-disk names bundles build on it."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.bundle.filenames import MAX_NAME_BYTES, sanitise_filename
from crypto.filenames import base_name

OTHER = ("Cc", "Cf", "Cs", "Co", "Cn")  # Unicode category C
TRICKY = [*'/\\. \t\n\x00<>:"|?*\u202e\u200b\u00a0\u3000\ue000\u0301e', "CON", "nul", ".txt"]
LONG = ["é" * 50, " " * 120, "x" * 150]  # past the length limit in a few pieces

# Names a hostile client might send: anything, with the awkward pieces made likely.
pieces = st.one_of(st.characters(), st.sampled_from(TRICKY), st.sampled_from(LONG))
untrusted_names = st.lists(pieces, max_size=80).map("".join) | st.text(max_size=300)
# Names that need no cleaning: one component, nothing of category C, no whitespace around.
clean_names = st.text(
    st.characters(exclude_categories=OTHER, exclude_characters="/\\"), min_size=1
).filter(lambda name: name == name.strip())


def has_other_characters(name: str) -> bool:
    return any(unicodedata.category(ch) in OTHER for ch in name)


@pytest.mark.parametrize(
    ("untrusted", "expected"),
    [
        ("photo.jpg", "photo.jpg"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\chat.txt", "chat.txt"),
        ("evil\u202egnp.exe", "evilgnp.exe"),  # a bidi override would show "evilexe.png"
        ("tab\there\u200b.txt", "tabhere.txt"),
        ("a\x00b\nc\ue000.txt", "abc.txt"),
        ("  listing photo.jpg \u3000", "listing photo.jpg"),
        ("ivory <offer>.html", "ivory <offer>.html"),  # harmless here; disks and headers differ
        (".bashrc", ".bashrc"),
        ("photos/", ""),
        ("\x07", ""),
        ("é" * 300, "é" * 300),  # each use caps the length its own way
    ],
)
def test_the_base_name_is_the_last_component_without_hidden_characters(
    untrusted: str, expected: str
) -> None:
    assert base_name(untrusted) == expected


@settings(max_examples=300, deadline=None)
@given(untrusted_names)
def test_a_base_name_has_no_directory_no_hidden_character_and_no_space_around(
    untrusted: str,
) -> None:
    name = base_name(untrusted)
    assert "/" not in name and "\\" not in name
    assert not has_other_characters(name)
    assert name == name.strip()
    assert base_name(name) == name


@settings(max_examples=200, deadline=None)
@given(untrusted_names, st.sampled_from(["/", "\\"]), untrusted_names)
def test_directories_in_front_of_a_name_change_nothing(
    directories: str, separator: str, untrusted: str
) -> None:
    assert base_name(directories + separator + untrusted) == base_name(untrusted)


@settings(max_examples=200, deadline=None)
@given(clean_names)
def test_a_name_that_needs_no_cleaning_is_kept_as_it_is(name: str) -> None:
    assert base_name(name) == name


@settings(max_examples=500, deadline=None)
@given(untrusted_names)
def test_a_saved_name_is_one_harmless_component_on_every_file_system(untrusted: str) -> None:
    name = sanitise_filename(untrusted)
    assert name and name not in {".", ".."}
    assert len(name.encode("utf-8")) <= MAX_NAME_BYTES
    assert not set(name) & set('/\\<>:"|?*')
    assert not has_other_characters(name)
    assert name == name.strip().strip(".")
    assert name.split(".", 1)[0].casefold() not in {"con", "prn", "aux", "nul"}
    assert unicodedata.is_normalized("NFC", name)
    assert sanitise_filename(name) == name


@settings(max_examples=200, deadline=None)
@given(untrusted_names)
def test_a_saved_name_builds_on_the_base_name(untrusted: str) -> None:
    assert sanitise_filename(untrusted) == sanitise_filename(base_name(untrusted))


@pytest.mark.parametrize(
    ("untrusted", "expected"),
    [
        ("e\u200b\u0301.txt", "\u00e9.txt"),  # composed once the hidden character is gone
        ("CON" + " " * 250 + "x", "_CON"),  # a device name only once cut to length
        (". \u3000notes.txt", "notes.txt"),
        ("notes\u3000. .", "notes"),
    ],
)
def test_a_saved_name_is_checked_after_every_step_that_changes_it(
    untrusted: str, expected: str
) -> None:
    assert sanitise_filename(untrusted) == expected
