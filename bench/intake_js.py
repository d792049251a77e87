"""Benchmark: the JavaScript intake, server side and browser side.

1. Server ingest. Starts `tipline serve` (gunicorn, one worker) on a fresh demo instance,
   opens a draft for a --size-mib file through /api/v1 and uploads its ciphertext in 16 MiB
   chunk batches over one keep-alive loopback connection, then finalizes. Prints the ingest
   throughput against a raw write of the same bytes, in the same batches, to a file on the
   same disk in the same run, and the worker's peak RSS growth (target <= 64 MiB). The
   target (>= 0.5) is judged against the raw write with an fsync after every batch: the
   server acknowledges each batch as durable, so that fsync is work any correct server
   does; the ratio against a single fsync at the end is printed for information. The server
   cannot tell ciphertext from random bytes, so random bytes stand in.
2. Browser-side encryption. In Debian's Chromium (with WebAssembly, then without), the
   protocol module the page uses (static/js/tipline_protocol.mjs on libsodium.js) encrypts a
   --browser-mib file body the way the page does (one pass: each piece hashed with the page's
   streaming SHA-256 and encrypted into a detached body object), then encryption and hashing
   alone; printed beside Node running the same module on the same library build. In the page
   those modules sit inside the intake bundle; the bench imports the protocol module from
   /static/js and static/js/sha256.mjs bundled alone by scripts/build_intake.sh (same esbuild,
   same settings), served to the page at a same-origin URL by Playwright.

Run: .venv/bin/python bench/intake_js.py [--size-mib 1024] [--runs 3] [--browser-mib 256]
Never run as a timed test: these machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.services.upload_plan import MAX_BATCH_BYTES
from app.web.vendor import BUILD_SCRIPT
from crypto.datakeys import SCOPES, commitment, generate_data_key, seal_data_key
from crypto.ids import id_from_str
from crypto.keys import key_id
from crypto.layout import HEADER_BYTES, ciphertext_length, padded_length
from crypto.metadata import body_metadata, encode_metadata, file_metadata, report_metadata
from crypto.objects import BODY_TRAILER_BYTES

REPO = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
BATCH = MAX_BATCH_BYTES - HEADER_BYTES  # what static/js/upload.mjs sends after the first batch
SHA_URL = "/bench/sha256.js"  # same origin as the page; answered by Playwright, not the app
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
sys.path.insert(0, str(REPO / "bench"))
from intake_nojs import cpu_seconds, rss_kib, start_server, worker_pid  # noqa: E402


def object_size(metadata: dict[str, Any], body_size: int = 0, trailer: int = 0) -> int:
    return ciphertext_length(
        padded_length(4 + len(encode_metadata(metadata)) + body_size + trailer)
    )


def batches(total: int) -> list[tuple[int, int]]:
    """(offset, length): the header and 256 chunks first, then 256 chunks at a time."""
    cuts, at = [], 0
    while at < total:
        length = min(total - at, BATCH + (24 if at == 0 else 0))
        cuts.append((at, length))
        at += length
    return cuts


class Api:
    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)

    def call(
        self,
        method: str,
        path: str,
        body: bytes | memoryview = b"",
        token: str = "",
        kind: str = "",
    ) -> Any:
        headers = {"Content-Type": kind or "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        payload = response.read()
        if response.status >= 300:
            sys.exit(f"{method} {path}: HTTP {response.status} {payload[:300]!r}")
        return json.loads(payload) if payload else None


def raw_write_seconds(
    directory: Path, data: bytes, sizes: list[tuple[int, int]]
) -> dict[bool, list[float]]:
    """Seconds to write the same batches to a file in ``directory``, three times each way,
    interleaved: with an fsync after every batch (what the server must do: it acknowledges
    each batch as safe on disk, and the client forgets it), and with one fsync at the end.
    Run after the upload, so the page cache is as warm as it was for the server."""
    results: dict[bool, list[float]] = {True: [], False: []}
    for fsync_each in (True, False) * 3:
        path = directory / "raw.bin"
        started = time.perf_counter()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        for _, length in sizes:
            os.write(fd, data[:length])
            if fsync_each:
                os.fsync(fd)
        if not fsync_each:
            os.fsync(fd)
        os.close(fd)
        results[fsync_each].append(time.perf_counter() - started)
        path.unlink()
    return {key: sorted(times) for key, times in results.items()}


def server_ingest(size: int) -> Ingest:
    with tempfile.TemporaryDirectory(dir=REPO) as workdir:
        server, port = start_server(workdir, size + 16 * MIB)
        try:
            api = Api(port)
            worker = worker_pid(server.pid)
            # The browser's plan: the report, then the file's body, then the file object that
            # names it (docs/PROTOCOL.md §5.6). Any UUID string has the body id's length.
            report = report_metadata("en", {"description": "bench"})
            evidence = file_metadata(
                "big.bin", "application/octet-stream", size, "0" * 64, body=str(uuid.uuid4())
            )
            plan = [
                ("report", object_size(report)),
                ("body", object_size(body_metadata(), size, BODY_TRAILER_BYTES)),
                ("file", object_size(evidence)),
            ]
            draft = api.call(
                "POST",
                "/api/v1/drafts",
                json.dumps(
                    {
                        "desk": "kenya",
                        "objects": [
                            {"kind": kind, "ciphertext_size": total} for kind, total in plan
                        ],
                    }
                ).encode(),
            )
            token, base = draft["token"], f"/api/v1/drafts/{draft['draft_id']}"
            data = os.urandom(BATCH + 24)
            # Sent as views of one buffer, as the browser sends subarrays of its batch buffer
            # (copying each batch here would only load the CPU the server shares).
            view = memoryview(data)
            rss_before = rss_kib(worker, "VmRSS")
            cpu_before = cpu_seconds(worker)
            started = time.perf_counter()
            for entry, (_, total) in zip(draft["objects"], plan, strict=True):
                for offset, length in batches(total):
                    api.call(
                        "POST",
                        f"{base}/objects/{entry['object_id']}/chunks?offset={offset}",
                        view[:length],
                        token,
                        "application/octet-stream",
                    )
            ingest_seconds = time.perf_counter() - started
            server_cpu = cpu_seconds(worker) - cpu_before
            peak = rss_kib(worker, "VmHWM")
            tip_id = id_from_str(draft["draft_id"])
            keys = {scope: generate_data_key() for scope in SCOPES}
            b64 = lambda raw: base64.b64encode(raw).decode()  # noqa: E731
            sealed = [
                {
                    "key_id": r["key_id"],
                    "scope": s,
                    "sealed": b64(
                        seal_data_key(keys[s], tip_id, base64.b64decode(r["public_key"]))
                    ),
                }
                for r in draft["recipients"]
                for s in SCOPES
            ]
            tipster = base64.b64decode(draft["tipster"]["public_key"])
            sealed.append(
                {
                    "key_id": key_id(tipster),
                    "scope": "thread",
                    "sealed": b64(seal_data_key(keys["thread"], tip_id, tipster)),
                }
            )
            started = time.perf_counter()
            api.call(
                "POST",
                f"{base}/finalize",
                json.dumps(
                    {
                        "commitments": {s: b64(commitment(keys[s], tip_id, s)) for s in SCOPES},
                        "sealed_keys": sealed,
                    }
                ).encode(),
                token,
            )
            finalize_seconds = time.perf_counter() - started
            ingested = sum(total for _, total in plan)
            sizes = [b for _, total in plan for b in batches(total)]
            raw = raw_write_seconds(Path(workdir), data, sizes)
        finally:
            server.terminate()
            server.wait(timeout=30)
    each = [ingested / seconds / MIB for seconds in raw[True]]
    end = [ingested / seconds / MIB for seconds in raw[False]]
    return Ingest(
        batches=len(sizes),
        rate=ingested / ingest_seconds / MIB,
        raw_fsync_each=each[0],
        raw_fsync_end=end[0],
        finalize_ms=finalize_seconds * 1000,
        rss_growth_mib=(peak - rss_before) / 1024,
        server_cpu=server_cpu,
    )


@dataclass(frozen=True)
class Ingest:
    batches: int
    rate: float  # MiB/s through /api/v1
    raw_fsync_each: float  # MiB/s, best of 3
    raw_fsync_end: float
    finalize_ms: float
    rss_growth_mib: float
    server_cpu: float  # seconds

    @property
    def ratio(self) -> float:
        return self.rate / self.raw_fsync_each


def report_ingest(size_mib: int, runs: list[Ingest]) -> None:
    print(f"upload size: {size_mib} MiB in {runs[0].batches} chunk batches; {len(runs)} runs,")
    print("each to a fresh server and against its own raw write (best of 3) in the same run")
    print(
        "  run   ingest MiB/s   raw fsync each   ratio   raw fsync end   ratio"
        "   finalize    RSS growth   server CPU"
    )
    for number, run in enumerate(runs, 1):
        print(
            f"  {number:3}   {run.rate:12.1f}   {run.raw_fsync_each:14.1f}   {run.ratio:5.3f}"
            f"   {run.raw_fsync_end:13.1f}   {run.rate / run.raw_fsync_end:5.3f}"
            f"   {run.finalize_ms:5.1f} ms   {run.rss_growth_mib:6.1f} MiB"
            f"   {run.server_cpu:7.2f} s"
        )
    ratio = statistics.median(run.ratio for run in runs)
    print(f"median ratio ingest / raw write with an fsync per batch: {ratio:.3f} (target >= 0.5)")
    largest = max(run.rss_growth_mib for run in runs)
    print(f"largest server peak RSS growth: {largest:.1f} MiB (target <= 64)")


# --- browser side ---------------------------------------------------------------------------

ENCRYPT_JS = """
async ({ protocolUrl, shaUrl, mib, sodium }) => {
  const { createProtocol } = await import(protocolUrl);
  const { Sha256 } = await import(shaUrl);
  await sodium.ready;
  const protocol = createProtocol(sodium);
  const piece = new Uint8Array(4 * 1024 * 1024);
  for (let at = 0; at < piece.length; at += 65536) {
    crypto.getRandomValues(piece.subarray(at, at + 65536));
  }
  const size = mib * 1024 * 1024;
  const key = protocol.generateDataKey();
  async function timed(hash) {
    async function* body() {
      for (let done = 0; done < size; done += piece.length) {
        hash?.update(piece);
        yield piece;
      }
    }
    const started = performance.now();
    for await (const out of protocol.encryptDetachedBody(key, new Uint8Array(16), body(), size)) {
      bytes += out.length;
    }
    hash?.hexDigest();
    return (performance.now() - started) / 1000;
  }
  let bytes = 0;
  // What the page does per file: one pass, each piece hashed and encrypted into the body.
  const onePass = await timed(new Sha256());
  const encrypt = await timed(null);
  const hash = new Sha256();
  const started = performance.now();
  for (let done = 0; done < size; done += piece.length) hash.update(piece);
  hash.hexDigest();
  const sha = (performance.now() - started) / 1000;
  return { onePass, encrypt, sha, bytes };
}
"""


def browser_throughput(mib: int, wasm_mib: int) -> None:
    from playwright.sync_api import sync_playwright

    protocol_url = (REPO / "static/js/tipline_protocol.mjs").as_uri()
    sha_url = (REPO / "static/js/sha256.mjs").as_uri()
    node_script = (
        "import { createRequire } from 'node:module';\n"
        f"const require = createRequire({json.dumps((REPO / 'package.json').as_uri())});\n"
        "const sodium = require('libsodium-wrappers');\n"  # the UMD build the page loads
        f"const run = {ENCRYPT_JS.strip()};\n"
        f"const result = await run({{ protocolUrl: {json.dumps(protocol_url)}, "
        f"shaUrl: {json.dumps(sha_url)}, mib: {mib}, sodium }});\n"
        "console.log(JSON.stringify(result));\n"
    )
    with tempfile.TemporaryDirectory() as workdir:
        script = Path(workdir) / "node_bench.mjs"
        script.write_text(node_script)
        node = json.loads(
            subprocess.run(["node", str(script)], capture_output=True, text=True, check=True).stdout
        )
        # The page cannot import sha256.mjs itself (its bare @noble/hashes imports are resolved
        # only when bundling), so it gets the adapter bundled alone, the way the intake is.
        sha_bundle = Path(workdir) / "sha256.js"
        subprocess.run(
            ["sh", str(BUILD_SCRIPT), str(sha_bundle), "static/js/sha256.mjs"], check=True
        )
        sha_source = sha_bundle.read_bytes()

        def serve_sha(route: Any) -> None:
            route.fulfill(body=sha_source, content_type="text/javascript")

        server, port = start_server(workdir, 16 * MIB)
        results = {}
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
                )
                for label, init, size in (
                    ("wasm", "", mib),
                    ("no wasm", "delete globalThis.WebAssembly;", wasm_mib),
                ):
                    context = browser.new_context()
                    if init:
                        context.add_init_script(init)
                    page = context.new_page()
                    page.route(f"http://127.0.0.1:{port}{SHA_URL}", serve_sha)
                    page.goto(f"http://127.0.0.1:{port}/submit/report?country=KE")
                    page.wait_for_selector("#report-form[data-intake=ready]", timeout=60_000)
                    results[label] = (
                        size,
                        page.evaluate(
                            "(args) => ("
                            + ENCRYPT_JS.strip()
                            + ")({ ...args, sodium: globalThis.sodium })",
                            {
                                "protocolUrl": "/static/js/tipline_protocol.mjs",
                                "shaUrl": SHA_URL,
                                "mib": size,
                            },
                        ),
                    )
                    context.close()
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    version = subprocess.run(
        ["/usr/bin/chromium", "--version"], capture_output=True, text=True
    ).stdout.strip()
    node_version = subprocess.run(
        ["node", "--version"], capture_output=True, text=True
    ).stdout.strip()

    def row(label: str, size: int, result: dict[str, float], note: str) -> None:
        one_pass, encrypt, sha = (size / result[key] for key in ("onePass", "encrypt", "sha"))
        print(f"  {label:25}{one_pass:13.1f}{encrypt:10.1f}{sha:10.1f}   {note}")

    print(f"browser-side encryption of a {mib} MiB file (libsodium-wrappers 0.8.4, UMD build)")
    print(f"  {'MiB/s':25}{'hash+encrypt':>13}{'encrypt':>10}{'SHA-256':>10}   (the page: both)")
    row("Chromium, WebAssembly", mib, results["wasm"][1], version)
    row("Node, same module", mib, node, f"node {node_version}")
    size, nowasm = results["no wasm"]
    row("Chromium, no WebAssembly", size, nowasm, f"({size} MiB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--browser-mib", type=int, default=256)
    parser.add_argument("--no-wasm-mib", type=int, default=32)
    parser.add_argument("--skip-browser", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    report_ingest(args.size_mib, [server_ingest(args.size_mib * MIB) for _ in range(args.runs)])
    if not args.skip_browser:
        browser_throughput(args.browser_mib, args.no_wasm_mib)


if __name__ == "__main__":
    main()
