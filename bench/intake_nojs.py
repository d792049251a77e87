"""Benchmark: a large upload through the no-JavaScript intake, against raw secretstream.

Starts `tipline serve` (gunicorn, one worker) on a fresh instance, uploads a file of
--size-mib through /submit on loopback, and prints:
  - upload throughput / raw secretstream push throughput over the same size (target >= 0.25)
  - the server worker's peak RSS growth during the upload (target <= 64 MiB)

Each run starts a fresh server, sends it a small warm-up upload (a long-running server has
made its threads, arenas and caches long before a large upload arrives; the first upload
after start pays for them, and its rate is printed too), times the large upload and measures
its own baseline right after. The median ratio over --runs is the figure to quote (one run
on a shared 2-core machine is noise). RSS growth is measured from the idle server, so it
covers the warm-up as well.

Run: .venv/bin/python bench/intake_nojs.py [--size-mib 1024] [--runs 3]
Never run as a timed test: these machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nacl.bindings as sodium

MIB = 1024 * 1024
BOUNDARY = "benchboundary"


def raw_secretstream_seconds(total: int) -> float:
    key = os.urandom(32)
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    sodium.crypto_secretstream_xchacha20poly1305_init_push(state, key)
    chunk = os.urandom(65536)
    started = time.perf_counter()
    for _ in range(total // len(chunk)):
        sodium.crypto_secretstream_xchacha20poly1305_push(state, chunk)
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def minor_faults(pid: int) -> int:
    """Minor page faults of a process so far (all its threads)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[7])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def worker_pid(master: int) -> int:
    """The gunicorn worker's pid; the master accepts connections before it forks one."""
    return worker_pids(master, 1)[0]


def worker_pids(master: int, count: int) -> list[int]:
    """The pids of the gunicorn master's ``count`` workers, once it has forked them all."""
    for _ in range(100):
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if len(children) >= count:
            return [int(child) for child in children]
        time.sleep(0.1)
    sys.exit("the server did not start its workers")


def body(token: str, size: int) -> tuple[int, Iterator[bytes]]:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="description"\r\n\r\nbench\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="evidence"; '
        'filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    piece = os.urandom(MIB)

    def pieces() -> Iterator[bytes]:
        yield head
        for _ in range(size // MIB):
            yield piece
        yield tail

    return len(head) + size + len(tail), pieces()


def open_form(connection: http.client.HTTPConnection, path: str = "/status") -> tuple[str, str]:
    """A tipster session cookie and its CSRF token, as a browser gets them from a page."""
    connection.request("GET", path)
    response = connection.getresponse()
    page = response.read().decode()
    cookie = response.getheader("Set-Cookie", "").split(";")[0]
    match = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', page)
    return (match.group(1) if match else ""), cookie


def post_tip(connection: http.client.HTTPConnection, size: int) -> str:
    """Submit a tip with one file of ``size`` bytes; return the page (it shows the code)."""
    token, cookie = open_form(connection)
    length, pieces = body(token, size)
    connection.putrequest("POST", "/submit/kenya")
    connection.putheader("Content-Type", f"multipart/form-data; boundary={BOUNDARY}")
    connection.putheader("Content-Length", str(length))
    connection.putheader("Cookie", cookie)
    connection.endheaders()
    for piece in pieces:
        connection.send(piece)
    response = connection.getresponse()
    page = response.read().decode()
    if response.status != 200 or "code-word" not in page:
        sys.exit(f"upload failed: HTTP {response.status}")
    return page


@dataclass
class Run:
    first_rate: float | None  # MiB/s of the warm-up upload, the server's first
    upload_rate: float  # MiB/s
    raw_rate: float  # MiB/s, best of three raw runs right after the upload
    rss_growth_mib: float  # peak over both uploads, against the idle server
    server_cpu: float
    upload_seconds: float
    faults: int
    client_cpu: float

    @property
    def ratio(self) -> float:
        return self.upload_rate / self.raw_rate


def start_server(
    workdir: str, max_upload: int, *, workers: int = 1, database_url: str | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    """`tipline serve` (``workers`` gunicorn workers) on a fresh demo instance in ``workdir``
    (its database: ``database_url``, an empty one, or SQLite in ``workdir``), once it accepts
    connections; returns the process and its port."""
    tipline = str(Path(sys.executable).with_name("tipline"))
    env = dict(os.environ, TIPLINE_DATA_DIR=workdir, TIPLINE_ENV="development")
    env["TIPLINE_MAX_UPLOAD_BYTES"] = str(max_upload)
    if database_url is not None:
        env["TIPLINE_DATABASE_URL"] = database_url
    subprocess.run([tipline, "demo"], env=env, check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen(
        [tipline, "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    return server, port


def measure(size: int, warmup: int) -> Run:
    """Upload ``warmup`` bytes, then ``size`` bytes (timed) to a fresh server; then the
    raw baseline."""
    with tempfile.TemporaryDirectory() as workdir:
        server, port = start_server(workdir, max(size, warmup) + MIB)
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            open_form(connection)  # the app is loaded
            worker = worker_pid(server.pid)
            rss_before = rss_kib(worker, "VmRSS")
            first_rate = None
            if warmup:
                started = time.perf_counter()
                post_tip(connection, warmup)
                first_rate = warmup / (time.perf_counter() - started) / MIB
            cpu_before = cpu_seconds(worker)
            faults_before = minor_faults(worker)
            client_before = time.process_time()
            started = time.perf_counter()
            post_tip(connection, size)
            upload_seconds = time.perf_counter() - started
            client_cpu = time.process_time() - client_before
            server_cpu = cpu_seconds(worker) - cpu_before
            faults = minor_faults(worker) - faults_before
            peak = rss_kib(worker, "VmHWM")
        finally:
            server.terminate()
            server.wait(timeout=30)
    # Best of three: the fastest raw run is the hardest baseline to beat on a noisy machine.
    raw_seconds = min(raw_secretstream_seconds(size) for _ in range(3))
    return Run(
        first_rate=first_rate,
        upload_rate=size / upload_seconds / MIB,
        raw_rate=size / raw_seconds / MIB,
        rss_growth_mib=(peak - rss_before) / 1024,
        server_cpu=server_cpu,
        upload_seconds=upload_seconds,
        faults=faults,
        client_cpu=client_cpu,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3, help="uploads, each to a fresh server")
    parser.add_argument(
        "--warmup-mib",
        type=int,
        default=64,
        help="a first upload to each fresh server, not timed against the baseline (0: none)",
    )
    arguments = parser.parse_args()
    size = arguments.size_mib * MIB
    warmup = arguments.warmup_mib * MIB
    print(
        f"upload size: {size // MIB} MiB after a {warmup // MIB} MiB warm-up upload;"
        f" {arguments.runs} runs, each to a fresh server and against its own baseline"
    )
    print(
        "run  warm-up MiB/s  upload MiB/s  raw MiB/s  ratio  RSS growth"
        "  server CPU (cores)  faults  client CPU"
    )
    runs = []
    for number in range(1, arguments.runs + 1):
        run = measure(size, warmup)
        runs.append(run)
        cores = run.server_cpu / run.upload_seconds
        first = f"{run.first_rate:13.1f}" if run.first_rate else f"{'-':>13}"
        print(
            f"{number:3d}  {first}  {run.upload_rate:12.1f}  {run.raw_rate:9.1f}  {run.ratio:5.3f}"
            f"  {run.rss_growth_mib:6.1f} MiB  {run.server_cpu:5.2f} s ({cores:.2f})"
            f"       {run.faults:6d}  {run.client_cpu:5.2f} s",
            flush=True,
        )
    ratio = statistics.median(run.ratio for run in runs)
    growth = max(run.rss_growth_mib for run in runs)
    print(f"median ratio upload / raw : {ratio:.3f}   (target >= 0.25)")
    print(f"largest peak RSS growth   : {growth:.1f} MiB (target <= 64)")


if __name__ == "__main__":
    main()
