"""`tipline serve` (gunicorn, as in production) in a subprocess, for tests that need the real
server: its socket handling, its worker, its log."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Served:
    port: int
    output: str = ""  # what the server printed, once it has stopped (capture_output only)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def tipline_serve(
    env: dict[str, str], *, capture_output: bool = False, workers: int = 1
) -> Iterator[Served]:
    """Run `tipline serve` with ``workers`` worker processes and ``env`` until the block ends
    (then SIGTERM); entered once its port accepts connections."""
    served = Served(free_port())
    tipline = str(Path(sys.executable).with_name("tipline"))
    sink = subprocess.PIPE if capture_output else subprocess.DEVNULL
    server = subprocess.Popen(
        [tipline, "serve", "--port", str(served.port), "--workers", str(workers)],
        env=env,
        stdout=sink,
        stderr=subprocess.STDOUT if capture_output else subprocess.DEVNULL,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", served.port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, "the server exited early"
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        yield served
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=30)
        served.output = output or ""
