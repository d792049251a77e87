"""Search everything the app wrote for a canary (DESIGN §2.1 "Only ciphertext at rest")."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import Engine, inspect, text

READ_SIZE = 4 * 1024 * 1024


def new_canary(label: str = "") -> str:
    return f"tlcanary{label}{secrets.token_hex(8)}"


def canary_file(canary: str, size: int) -> bytes:
    """``size`` bytes of random data with the canary planted at the start, middle and end."""
    marker = canary.encode()
    body = bytearray(os.urandom(size))
    for position in (0, size // 2, size - len(marker)):
        body[position : position + len(marker)] = marker
    return bytes(body)


def files_under(*roots: Path) -> list[Path]:
    found = []
    for root in roots:
        if root.is_file():
            found.append(root)
        elif root.is_dir():
            found.extend(p for p in root.rglob("*") if p.is_file())
    return found


def files_containing(needles: Iterable[bytes], paths: Iterable[Path]) -> list[tuple[Path, bytes]]:
    """(path, needle) for every file that holds a needle, read in overlapping windows."""
    needles = [n for n in needles if n]
    overlap = max(len(n) for n in needles) - 1
    hits = []
    for path in paths:
        tail = b""
        with path.open("rb") as handle:
            while block := handle.read(READ_SIZE):
                window = tail + block
                hits.extend((path, n) for n in needles if n in window)
                tail = window[-overlap:] if overlap else b""
    return sorted(set(hits))


def database_dump(engine: Engine) -> bytes:
    """Every value of every table, as bytes (for PostgreSQL, where files are not ours to read)."""
    dump = bytearray()
    with engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608 - names come from the schema
                for value in row:
                    if isinstance(value, bytes | bytearray | memoryview):
                        dump += bytes(value)
                    else:
                        dump += str(value).encode()
                    dump += b"\x00"
    return bytes(dump)
