"""docs/PROTOCOL.md's worked example quotes real values from the checked-in vectors."""

from __future__ import annotations

import base64
import re

from crypto_testdata import REPO_ROOT, VECTORS, load_vectors

from crypto.codes import format_code
from crypto.layout import ciphertext_length, padded_length


def worked_example() -> str:
    text = (REPO_ROOT / "docs" / "PROTOCOL.md").read_text(encoding="utf-8")
    return text.split("## 12. Worked example", 1)[1].split("## 13.", 1)[0]


def vector_hex_corpus() -> str:
    parts = []
    for path in VECTORS.glob("*.json"):
        parts.append(path.read_text(encoding="utf-8"))
        for match in re.finditer(r'"ciphertext_b64": "([^"]+)"', parts[-1]):
            parts.append(base64.b64decode(match.group(1)).hex())
    return "\n".join(parts)


def test_every_hex_value_in_the_worked_example_is_in_the_vectors() -> None:
    corpus = vector_hex_corpus()
    quoted = re.findall(r"\b[0-9a-f]{32,}\b", worked_example())
    assert len(quoted) >= 20
    missing = [value for value in quoted if value not in corpus]
    assert not missing


def test_worked_example_key_file_and_codes_match_the_vectors() -> None:
    example = worked_example()
    wrapped_key_file = load_vectors("wrapping.json")["key_file_wrapped"]
    assert wrapped_key_file.strip() in example
    codes = load_vectors("codes.json")
    canonical = bytes.fromhex(codes["canonical"])
    for language in ("english", "french"):
        assert format_code(canonical, language) in example


def test_worked_example_lengths_are_right() -> None:
    objects = {o["name"]: o for o in load_vectors("objects.json")["objects"]}
    message = objects["message"]
    assert message["metadata_json"] in worked_example()
    assert len(message["metadata_json"].encode()) == 77
    file_entry = objects["file"]
    unpadded = 4 + len(file_entry["metadata_json"].encode()) + 70000
    assert f"= {unpadded}" in worked_example()
    assert padded_length(unpadded) == 73728 and ciphertext_length(73728) == 73786
