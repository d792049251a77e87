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
import uuid
from pathlib import Path
from typing import Any

import pytest

from app import REPO_ROOT
from app.services.intake import clean_filename
from app.services.report_form import _valid_url
from crypto.ids import new_id
from crypto.layout import ciphertext_length, padded_length
from crypto.metadata import encode_metadata, file_metadata, report_metadata
from crypto.objects import encrypt_detached_body, encrypt_object
from tests.web.api_steps import PLACEHOLDER_ID, Planned

STATIC_JS = REPO_ROOT / "static" / "js"
DRIVER = """
import { Sha256 } from '%(js)s/sha256.mjs';
import { BODY_METADATA } from '%(js)s/tipline_protocol.mjs';
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
  sizes: request.metadata.map((metadata) => ciphertextSizeOf(metadata)),
  bodySizes: (request.bodies ?? []).map((n) => ciphertextSizeOf(BODY_METADATA, { bodySize: n })),
  names: request.names.map(cleanFilename),
  urls: request.urls.map(isValidUrl),
}));
"""


def run_node(request: dict[str, Any], tmp_path: Path, driver: str = DRIVER) -> Any:
    """Run a driver script (``%(js)s``: static/js's URL) with ``request`` as JSON on stdin;
    return the JSON it prints."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is not installed: install node (>= 18), then run `npm ci`.")
    script = tmp_path / "driver.mjs"
    script.write_text(driver % {"js": STATIC_JS.as_uri()})
    result = subprocess.run(
        [node, str(script)],
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


MIB = 1024 * 1024
BODY_OVERHEAD = 4 + len(b'{"kind":"body","v":1}') + 8  # u32le(len(M)), M, then u64le(size)
# Around the 4 KiB and 64 KiB boundaries and the 1 MiB switch of a body object's padding.
BODY_SIZES = sorted(
    {0, 1, 5 * MIB + 123} | {e - BODY_OVERHEAD + d for e in (4096, 65536, MIB) for d in (-1, 0, 1)}
)
NAMED_FILES = [  # (name, type, size) of files naming a detached body
    ("photo 1.jpg", "image/jpeg", 0),
    ("清单 象牙.pdf", "application/pdf", 5 * MIB + 123),
    ("é" * 200, "", 1),  # the longest name, two bytes a character
    ("🐘" * 200, "x/" + "y" * 198, 2**40),  # four bytes a character, the longest type
    ('quote " and \\ backslash.txt', "text/plain; charset=utf-8", 4096 - 33),
    ("象" * 1400, "application/octet-stream", MIB),  # 4200 bytes: metadata past 4 KiB
]


def test_the_browser_sizes_body_objects_and_the_files_naming_them_as_python_writes_them(
    tmp_path: Path,
) -> None:
    key = bytes(32)
    files = [
        file_metadata(
            name, kind, size, hashlib.sha256(name.encode()).hexdigest(), body=str(uuid.uuid4())
        )
        for name, kind, size in NAMED_FILES
    ]
    placeholders = [{**m, "sha256": "0" * 64, "body": PLACEHOLDER_ID} for m in files]
    answer = run_node(
        {
            "lengths": [],
            "steps": [],
            "metadata": files + placeholders,
            "bodies": BODY_SIZES,
            "names": [],
            "urls": [],
        },
        tmp_path,
    )
    # A file object naming its body is metadata only: as long as Python's ciphertext of it,
    # and the same with the placeholders the browser plans with.
    python_files = [len(b"".join(encrypt_object(key, new_id(), m))) for m in files]
    assert answer["sizes"] == python_files + python_files
    assert python_files == [Planned(m).ciphertext_size for m in files]
    assert all(size == ciphertext_length(4096) for size in python_files[:3])
    assert python_files[-1] == ciphertext_length(8192)
    # A body object: exactly the length of Python's encryption of a body that long.
    python_bodies = [
        len(b"".join(encrypt_detached_body(key, new_id(), [bytes(n)]))) for n in BODY_SIZES
    ]
    assert answer["bodySizes"] == python_bodies
    prefix = 4 + len(encode_metadata({"v": 1, "kind": "body"}))
    assert python_bodies == [ciphertext_length(padded_length(prefix + n + 8)) for n in BODY_SIZES]


STALL_DRIVER = """
// A fake XMLHttpRequest and a manual clock: api_client.mjs's timeouts, without waiting.
let now = 0;
let nextTimer = 1;
const timers = new Map();
globalThis.setTimeout = (fn, ms) => {
  timers.set(nextTimer, { at: now + ms, fn });
  return nextTimer++;
};
globalThis.clearTimeout = (id) => timers.delete(id);
const advance = (ms) => {
  now += ms;
  for (const [id, timer] of [...timers]) {
    if (timer.at <= now) {
      timers.delete(id);
      timer.fn();
    }
  }
};
let xhr = null;
globalThis.XMLHttpRequest = class {
  constructor() {
    this.upload = {};
    xhr = this;
  }
  open() {}
  setRequestHeader() {}
  send() {}
  abort() {
    this.onabort?.();
  }
};
const { ApiClient } = await import('%(js)s/api_client.mjs');
const api = new ApiClient('/api/v1/drafts');
const draft = { draft_id: 'd', token: 't' };
const settled = (promise) =>
  promise.then(
    (value) => ({ value }),
    (error) => ({ name: error.name, status: error.status, retryable: error.retryable }),
  );
const flush = () => new Promise((resolve) => setImmediate(resolve));
const out = {};

// Progress every 119 s for six minutes keeps a batch going; then 120 s of silence stops it.
let result = settled(api.appendChunk(draft, 'o', 0, new Uint8Array(8), {}));
out.chunkTimeout = xhr.timeout;
for (let i = 0; i < 3; i += 1) {
  advance(119_000);
  xhr.upload.onprogress({ loaded: i });
}
await flush();
out.aliveAfterProgress = timers.size === 1;
advance(119_999);
out.aliveJustBefore = timers.size === 1;
advance(1);
out.stalled = await result;

// All sent: the answer has the same two minutes to come, and it does.
result = settled(api.appendChunk(draft, 'o', 0, new Uint8Array(8), {}));
xhr.upload.onload();
advance(119_000);
Object.assign(xhr, { status: 200, responseText: '{"stored": 8}' });
xhr.onload();
out.answered = await result;
out.timersLeft = timers.size;

// Cancelling still cancels.
const controller = new AbortController();
result = settled(api.appendChunk(draft, 'o', 0, new Uint8Array(8), { signal: controller.signal }));
controller.abort();
out.cancelled = await result;

// JSON requests keep their fixed limit and no stall timer.
result = settled(api.readDraft(draft));
out.jsonTimeout = xhr.timeout;
out.jsonTimers = timers.size;
process.stdout.write(JSON.stringify(out));
"""


def test_a_chunk_batch_is_abandoned_after_two_minutes_without_progress_not_at_a_fixed_time(
    tmp_path: Path,
) -> None:
    answer = run_node({}, tmp_path, STALL_DRIVER)
    assert answer["chunkTimeout"] == 0  # no fixed limit: 16 MiB on a slow circuit takes long
    assert answer["aliveAfterProgress"] and answer["aliveJustBefore"]
    # A stalled batch fails as a network failure, which the uploader resumes from.
    assert answer["stalled"] == {"name": "ApiError", "status": 0, "retryable": True}
    assert answer["answered"] == {"value": {"stored": 8}} and answer["timersLeft"] == 0
    assert answer["cancelled"]["name"] == "Cancelled"
    assert answer["jsonTimeout"] == 2 * 60 * 1000 and answer["jsonTimers"] == 0
