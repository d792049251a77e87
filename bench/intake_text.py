"""Benchmark: text-only tips per second through the no-JavaScript intake, on PostgreSQL,
against an endpoint that does nothing but the tipster code's Argon2id derivation.

Starts `tipline serve` (gunicorn, 2 workers, file blob store) on a fresh demo instance whose
database is a scratch PostgreSQL database of its own, and beside it the Argon2id-only
endpoint: a tiny WSGI app whose every request makes exactly the call an intake makes to
derive the tipster's key pair (crypto.codes.tipster_keypair: Argon2id opslimit 2, 19 MiB,
with a fresh salt), served by app.server.run_gunicorn with the same options (worker class,
threads, worker count). Every tip costs one such derivation, so the endpoint is the floor
nothing can beat: the ratio says how close the intake comes to it.

Each client is a browser without JavaScript on its own keep-alive loopback connection: it
GETs the report form once (its session cookie and CSRF token, as a browser gets them), then
submits text-only reports (every field filled, as tests/web/tipster_steps.py does, and the
empty file input a browser sends) as multipart POSTs to the form's action, each answered by
the code page. Rates are measured over a fixed window with 1 and with 4 concurrent clients,
the two servers interleaved (their order alternating) over several rounds; printed are each
round's rates, the server CPU per request (both gunicorn workers; in brackets, that of the
PostgreSQL backends serving them), the ratio, the load average (os.getloadavg, 1 minute) the
round ran under, and the medians over rounds.

On a machine busy with other work, each side gets a share of the CPUs rather than what it
needs, and ratios drift towards the ratio of those shares (the Argon2id endpoint's memory-bound
work slows most). ``--nice -10`` (as root) runs the bench, both servers and the database
backends at a higher priority, so that other work on the machine disturbs less.

Run: .venv/bin/python bench/intake_text.py [--rounds 5] [--seconds 10] [--nice -10]
     [--server postgresql://postgres@127.0.0.1:5432/postgres]
Never run as a timed test: these machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from flask import Flask
from intake_nojs import cpu_seconds, free_port, open_form, start_server, worker_pids
from sqlalchemy import NullPool, create_engine, text
from staff_pages import DEFAULT_SERVER, created_database

from app.server import run_gunicorn
from app.services.demo import DEMO_DESK
from app.services.report_form import REPORT_FIELDS
from crypto.codes import TIP_SALT_BYTES, tipster_keypair

WORKERS = 2  # `tipline serve`'s default
CLIENT_COUNTS = (1, 4)
DATABASE = "tipline_bench_intake_text"
CODE_WORD = re.compile(r'<span class="code-word">')
KDF_CODE = bytes(16)  # a valid canonical code (eight times the first word)

Environ = dict[str, Any]
StartResponse = Callable[[str, list[tuple[str, str]]], object]


# --- the Argon2id-only endpoint ---------------------------------------------------------------


def kdf_app(_environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    """Derive one tipster key pair, exactly as an intake does for its new code."""
    tipster_keypair(KDF_CODE, os.urandom(TIP_SALT_BYTES))
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def serve_kdf(port: int, workers: int) -> None:
    # run_gunicorn serves any WSGI callable; its hint names the app it usually gets.
    run_gunicorn(cast(Flask, kdf_app), host="127.0.0.1", port=port, workers=workers)


def start_kdf_server(workers: int) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve-kdf", str(port), "--workers", str(workers)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/")
            connection.getresponse().read()
            connection.close()
            break
        except OSError:
            time.sleep(0.2)
    return server, port


# --- clients ------------------------------------------------------------------------------------


def report_fields() -> dict[str, str]:
    """A value for every report field (as tests/web/tipster_steps.py's ``every_field``)."""
    values = {}
    for field in REPORT_FIELDS:
        if field.kind == "select":
            values[field.name] = field.choices[0].value
        elif field.kind == "date":
            values[field.name] = "2026-01-15"
        elif field.kind in ("url", "urls"):
            values[field.name] = f"https://market.example/listing/{field.name}"
        else:
            values[field.name] = f"Seen on a marketplace: {field.name}, ivory carvings for sale."
    return values


def multipart_body(token: str, boundary: str) -> bytes:
    """The report form as a browser without JavaScript posts it: the CSRF token first, every
    field, then the file input left empty (an empty part with an empty filename)."""
    parts = [("csrf_token", token), *report_fields().items()]
    out = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in parts
    ]
    out.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="evidence"; filename=""\r\n'
        "Content-Type: application/octet-stream\r\n\r\n\r\n"
    )
    out.append(f"--{boundary}--\r\n")
    return "".join(out).encode()


def exchange(
    connection: http.client.HTTPConnection,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[http.client.HTTPResponse, bytes]:
    """One request and its whole answer; once more on a new connection if the server had let
    the kept-alive one go (gunicorn closes it after 2 idle seconds), as a browser does."""
    for attempt in range(2):
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response, response.read()
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            connection.close()  # the next request connects again
            if attempt:
                raise
    raise AssertionError("unreachable")


class TipClient:
    """One browser session: the report form once, then text tips, one at a time."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        # The form's page sets the session cookie that holds the CSRF token's secret.
        token, self.cookie = open_form(self.connection, "/submit/report?country=KE")
        if not token:
            sys.exit("the report form did not load")
        self.action = f"/submit/{DEMO_DESK}"  # the desk of Kenya (KE), as the form says
        self.boundary = "----tiplinebench" + secrets.token_hex(8)
        self.body = multipart_body(token, self.boundary)

    def request(self) -> None:
        headers = {
            "Content-Type": f"multipart/form-data; boundary={self.boundary}",
            "Cookie": self.cookie,
        }
        response, page = exchange(self.connection, "POST", self.action, self.body, headers)
        if response.status != 200 or CODE_WORD.search(page.decode()) is None:
            raise RuntimeError(f"a tip was refused: HTTP {response.status}")
        cookie = response.getheader("Set-Cookie")
        if cookie:  # the code page may add to the session, as a browser would keep it
            self.cookie = cookie.split(";")[0]

    def close(self) -> None:
        self.connection.close()


class KdfClient:
    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(self) -> None:
        response, page = exchange(self.connection, "GET", "/")
        if page != b"ok":
            raise RuntimeError(f"the Argon2id endpoint failed: HTTP {response.status}")

    def close(self) -> None:
        self.connection.close()


# --- measuring ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    name: str
    port: int
    workers: list[int]
    client: Callable[[int], TipClient | KdfClient]
    database_backends: Callable[[], list[int]] = list  # PostgreSQL processes serving it


@dataclass(frozen=True)
class Rate:
    per_second: float
    cpu_ms: float  # server CPU (all workers) per request
    database_cpu_ms: float  # PostgreSQL CPU (its backends for the server) per request
    load: float  # 1-minute load average at the end


def backends_of(database_url: str) -> Callable[[], list[int]]:
    """A call listing the pids of the PostgreSQL backends connected to ``database_url``."""
    engine = create_engine(database_url, poolclass=NullPool)

    def pids() -> list[int]:
        with engine.connect() as connection:
            return list(
                connection.scalars(
                    text(
                        "SELECT pid FROM pg_stat_activity"
                        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
            )

    return pids


def cpu_of(pids: Iterable[int]) -> dict[int, float]:
    """CPU seconds of each process still running."""
    seconds = {}
    for pid in pids:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            seconds[pid] = cpu_seconds(pid)
    return seconds


def raise_priority(pids: Iterable[int], niceness: int) -> None:
    """Give every thread of these processes ``niceness`` (threads they start inherit it)."""
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(ProcessLookupError):
                os.setpriority(os.PRIO_PROCESS, int(task.name), niceness)


@contextlib.contextmanager
def session_priority(niceness: int) -> Iterator[None]:
    """The niceness of this process's scheduling autogroup (its session: the bench and the
    servers it started) for the block. Where autogroups are on, a thread's niceness only
    counts within its group, and the group competes with other sessions by this one."""
    autogroup = Path(f"/proc/{os.getpid()}/autogroup")
    if not niceness or not autogroup.exists():
        yield
        return
    before = autogroup.read_text().split("nice")[-1].strip()
    autogroup.write_text(str(niceness))
    try:
        yield
    finally:
        autogroup.write_text(before)


def measure(server: Server, clients: int, seconds: float) -> Rate:
    """Requests per second from ``clients`` concurrent clients over ``seconds``."""
    sessions = [server.client(server.port) for _ in range(clients)]  # untimed, like a page load
    counts = [0] * clients
    failures: list[BaseException] = []
    start = threading.Barrier(clients + 1)
    deadline = 0.0

    def run(index: int) -> None:
        start.wait()
        try:
            while time.perf_counter() < deadline:
                sessions[index].request()
                counts[index] += 1
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(clients)]
    for thread in threads:
        thread.start()
    cpu_before = sum(cpu_seconds(pid) for pid in server.workers)
    database_before = cpu_of(server.database_backends())
    began = time.perf_counter()
    deadline = began + seconds
    start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    cpu = sum(cpu_seconds(pid) for pid in server.workers) - cpu_before
    database_after = cpu_of([*database_before, *server.database_backends()])
    database_cpu = sum(t - database_before.get(pid, 0.0) for pid, t in database_after.items())
    for session in sessions:
        session.close()
    if failures:
        sys.exit(f"{server.name}: {failures[0]!r}")
    done = sum(counts)
    return Rate(done / elapsed, cpu / done * 1000, database_cpu / done * 1000, os.getloadavg()[0])


def run_rounds(tipline: Server, kdf: Server, rounds: int, seconds: float, niceness: int) -> None:
    for server in (tipline, kdf):  # threads, pools, caches and the database warm up
        measure(server, max(CLIENT_COUNTS), seconds)
    if niceness:
        ours = [os.getpid(), *tipline.workers, *kdf.workers, *tipline.database_backends()]
        raise_priority(ours, niceness)
        print(f"bench, servers (and their session) and database backends at niceness {niceness}")
    print("round  clients   tips/s  CPU ms/tip (+DB)   Argon2id-only/s  CPU ms/req   ratio   load")
    ratios: dict[int, list[float]] = {n: [] for n in CLIENT_COUNTS}
    rates: dict[int, list[tuple[float, float]]] = {n: [] for n in CLIENT_COUNTS}
    loads: list[float] = []
    for number in range(1, rounds + 1):
        for clients in CLIENT_COUNTS:
            order = (tipline, kdf) if (number + clients) % 2 else (kdf, tipline)
            measured = {server.name: measure(server, clients, seconds) for server in order}
            tip, floor = measured[tipline.name], measured[kdf.name]
            ratio = tip.per_second / floor.per_second
            load = (tip.load + floor.load) / 2
            ratios[clients].append(ratio)
            rates[clients].append((tip.per_second, floor.per_second))
            loads.append(load)
            print(
                f"{number:5d}  {clients:7d}  {tip.per_second:7.1f}  {tip.cpu_ms:10.1f}"
                f" ({tip.database_cpu_ms:4.1f})   {floor.per_second:15.1f}  {floor.cpu_ms:10.1f}"
                f"   {ratio:5.3f}  {load:5.2f}",
                flush=True,
            )
    print(f"medians over {rounds} rounds of {seconds:g} s each:")
    for clients in CLIENT_COUNTS:
        tip_rate = statistics.median(tip for tip, _ in rates[clients])
        floor_rate = statistics.median(floor for _, floor in rates[clients])
        print(
            f"  {clients} client{'s' if clients > 1 else ' '}: {tip_rate:6.1f} tips/s,"
            f" Argon2id-only {floor_rate:6.1f}/s, ratio {statistics.median(ratios[clients]):.3f}"
            "   (target >= 0.5)"
        )
    print(
        f"load average (1 min) during the rounds: median {statistics.median(loads):.2f},"
        f" {min(loads):.2f}-{max(loads):.2f}, on {os.cpu_count()} CPUs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10.0, help="each measurement's window")
    parser.add_argument("--server", default=DEFAULT_SERVER, help="PostgreSQL server URL")
    parser.add_argument("--keep", action="store_true", help="keep the database to inspect")
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="run the measured processes at this niceness (e.g. -10, as root): on a machine"
        " busy with other work, ratios otherwise drift towards each side's share of the CPU",
    )
    parser.add_argument("--workers", type=int, default=WORKERS, help=argparse.SUPPRESS)
    parser.add_argument("--serve-kdf", type=int, metavar="PORT", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve_kdf:
        serve_kdf(arguments.serve_kdf, arguments.workers)
        return
    print(
        f"text-only tips through /submit, `tipline serve` with {WORKERS} gunicorn workers on"
        f" PostgreSQL, against an Argon2id-only endpoint served alike; pid {os.getpid()}"
    )
    with (
        created_database(arguments.server, DATABASE, keep=arguments.keep) as url,
        tempfile.TemporaryDirectory() as workdir,
    ):
        tipline_process, tipline_port = start_server(
            workdir, 1024 * 1024, workers=WORKERS, database_url=url
        )
        kdf_process, kdf_port = start_kdf_server(WORKERS)
        try:
            tipline = Server(
                "tipline",
                tipline_port,
                worker_pids(tipline_process.pid, WORKERS),
                TipClient,
                backends_of(url),
            )
            kdf = Server("kdf", kdf_port, worker_pids(kdf_process.pid, WORKERS), KdfClient)
            with session_priority(arguments.nice):
                run_rounds(tipline, kdf, arguments.rounds, arguments.seconds, arguments.nice)
        finally:
            for process in (tipline_process, kdf_process):
                process.terminate()
                process.wait(timeout=30)


if __name__ == "__main__":
    main()
