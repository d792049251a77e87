"""The API's browser client (static/js) computes what the server and crypto package expect.

Runs the modules in Node (no DOM needed): the streaming SHA-256 (our adapter over
@noble/hashes) against hashlib, ciphertext sizes against crypto.layout, file names and links
against the no-JavaScript rules. Fails, never skips, without node or node_modules.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from app import REPO_ROOT
from app.services.intake import clean_filename
from app.services.report_form import _valid_url
from crypto.metadata import file_metadata, report_metadata
from tests.web.api_steps import Planned

STATIC_JS = REPO_ROOT / "static" / "js"
DRIVER = """
import { Sha256 } from '%(js)s/sha256.mjs';
import { ciphertextSizeOf, cleanFilename } from '%(js)s/upload.mjs';
import { isValidUrl } from '%(js)s/report_fields.mjs';
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const request = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const pattern = (n) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 255);
// Fed in pieces of `step` bytes, or of ever-changing sizes from 1 to 1000 for step 0.
const digest = (data, step) => {
  const hash = new Sha256();
  let size = step || 1;
  for (let at = 0; at < data.length; at += size, size = step || (size * 7 + 3) %% 1000 + 1) {
    if (hash.update(data.subarray(at, at + size)) !== hash) throw new Error('update chains');
  }
  return hash.hexDigest();
};
const digests = request.lengths.map((n) => {
  const data = pattern(n);
  return request.steps.map((step) => digest(data, step));
});
const spent = new Sha256().update(pattern(3));
spent.digest();
let updatesAfterDigest = true;
try {
  spent.update(pattern(1));
} catch {
  updatesAfterDigest = false;
}
process.stdout.write(JSON.stringify({
  digests,
  updatesAfterDigest,
  sizes: request.metadata.map(ciphertextSizeOf),
  names: request.names.map(cleanFilename),
  urls: request.urls.map(isValidUrl),
}));
"""


def run_node(request: dict[str, Any], tmp_path: Path) -> Any:
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is not installed: install node (>= 18), then run `npm ci`.")
    driver = tmp_path / "driver.mjs"
    driver.write_text(DRIVER % {"js": STATIC_JS.as_uri()})
    result = subprocess.run(
        [node, str(driver)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def pattern(n: int) -> bytes:
    return bytes((i * 31 + 7) & 255 for i in range(n))


METADATA = [
    report_metadata("en", {}),
    report_metadata(
        "zh_Hans",
        {"description": '象牙 🐘 ivory \u0000 "quoted"', "listing_urls": ["https://x.example/ü"]},
    ),
    report_metadata("ar", {"description": "ب" * 300_000}),  # crosses the 1 MiB padding switch
    file_metadata("photo 1.jpg", "image/jpeg", 0, "0" * 64),
    file_metadata("清单.pdf", "application/pdf", 5 * 1024 * 1024 + 123, "a" * 64),
    file_metadata("x", "application/octet-stream", 1024 * 1024 - 200, "b" * 64),
]
NAMES = [
    "photo.jpg",
    "../../etc/photo 1.jpg",
    "C:\\Users\\me\\chat.txt",
    "tab\there\u200b.txt",
    "  ",
    "é" * 300,
    "a\u0007b",
]
URLS = [
    "https://market.example/item/1",
    "http://x.y",
    "market.example/listing?id=3",
    "ftp://files.example",
    "not a link",
    "https:///nohost",
    "bücher.example/x",
    "example.com:8080/x",
    "javascript:alert(1)",
    "mailto:a@b.example",
]


def test_the_sha256_adapter_streams_like_hashlib_whatever_the_pieces(tmp_path: Path) -> None:
    lengths = [0, 1, 63, 64, 65, 1024 * 1024 + 1]
    steps = [1, 3, 7, 63, 65, 127, 4099, 65537, 1024 * 1024 + 3, 0]  # 0: changing sizes
    answer = run_node(
        {"lengths": lengths, "steps": steps, "metadata": [], "names": [], "urls": []}, tmp_path
    )
    expected = [hashlib.sha256(pattern(n)).hexdigest() for n in lengths]
    assert answer["digests"] == [[digest] * len(steps) for digest in expected]
    assert answer["updatesAfterDigest"] is False


def test_the_browser_computes_sha256_sizes_names_and_link_checks_as_the_server_does(
    tmp_path: Path,
) -> None:
    lengths = [*range(0, 200), 1000, 4095, 4096, 65535, 65536, 65537, 3 * 1024 * 1024 + 5]
    answer = run_node(
        {"lengths": lengths, "steps": [0], "metadata": METADATA, "names": NAMES, "urls": URLS},
        tmp_path,
    )
    assert answer["digests"] == [[hashlib.sha256(pattern(n)).hexdigest()] for n in lengths]
    expected_sizes = [Planned(m, b"\0" * int(m.get("size", 0))).ciphertext_size for m in METADATA]
    assert answer["sizes"] == expected_sizes
    assert answer["names"] == [clean_filename(name) for name in NAMES]
    assert answer["urls"] == [_valid_url(url) for url in URLS]


def test_the_browser_protocol_modules_are_the_ones_the_node_interop_tests_check() -> None:
    """One copy only: the Node interop driver imports the page's own modules."""
    node_dir = REPO_ROOT / "tests" / "crypto" / "node"
    for name in ("tipline_protocol.mjs", "tipline_metadata.mjs"):
        assert (STATIC_JS / name).is_file(), name
        assert not (node_dir / name).exists(), f"a second copy of {name} in {node_dir}"
    driver = (node_dir / "interop_cli.mjs").read_text(encoding="utf-8")
    assert "from '../../../static/js/tipline_protocol.mjs'" in driver
