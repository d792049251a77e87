"""Benchmark of the object format (not a test): throughput against raw secretstream, and memory.

    .venv/bin/python bench/crypto_throughput.py [--size-mib 256] [--rss-mib 1024] [--repeat 5]

1. Throughput: encrypts and decrypts ``--size-mib`` of random data with
   ``crypto.objects.encrypt_object``/``decrypt_object`` and with hand-written PyNaCl
   ``crypto_secretstream_xchacha20poly1305_push``/``pull`` over the same data (64 KiB chunks
   sliced from the buffer, as a caller would write it). Prints MiB/s and the ratio
   object API / raw (target >= 0.90). Best of ``--repeat`` runs each, interleaved. Two
   extra rows show awkward splits: 64 KiB body pieces (misaligned by the metadata prefix,
   so every chunk is joined from two pieces) and ciphertext re-split into 1 MiB pieces.
2. Memory: in a fresh subprocess, peak RSS growth (VmHWM) while encrypting a ``--rss-mib``
   stream fed as 1 MiB pieces and discarded (target <= 16 MiB), and while piping that
   encryption straight into decryption.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from nacl.bindings import (  # noqa: E402
    crypto_secretstream_xchacha20poly1305_init_pull,
    crypto_secretstream_xchacha20poly1305_init_push,
    crypto_secretstream_xchacha20poly1305_pull,
    crypto_secretstream_xchacha20poly1305_push,
    crypto_secretstream_xchacha20poly1305_state,
    crypto_secretstream_xchacha20poly1305_TAG_FINAL,
    crypto_secretstream_xchacha20poly1305_TAG_MESSAGE,
)

from crypto.metadata import file_metadata  # noqa: E402
from crypto.object_reader import decrypt_object  # noqa: E402
from crypto.objects import encrypt_object, object_key  # noqa: E402

MIB = 1024 * 1024
CHUNK = 65536
CT_CHUNK = CHUNK + 17
DATA_KEY = bytes(range(32))
OBJECT_ID = bytes(range(16))
THROUGHPUT_TARGET = 0.90
RSS_TARGET_MIB = 16


def raw_encrypt(key: bytes, data: bytes) -> list[bytes]:
    state = crypto_secretstream_xchacha20poly1305_state()
    out = [crypto_secretstream_xchacha20poly1305_init_push(state, key)]
    last = len(data) - CHUNK
    for start in range(0, len(data), CHUNK):
        tag = (
            crypto_secretstream_xchacha20poly1305_TAG_FINAL
            if start >= last
            else crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
        )
        out.append(
            crypto_secretstream_xchacha20poly1305_push(
                state, data[start : start + CHUNK], None, tag
            )
        )
    return out


def raw_decrypt(key: bytes, chunks: list[bytes]) -> int:
    state = crypto_secretstream_xchacha20poly1305_state()
    crypto_secretstream_xchacha20poly1305_init_pull(state, chunks[0], key)
    total = 0
    for chunk in chunks[1:]:
        message, _ = crypto_secretstream_xchacha20poly1305_pull(state, chunk)
        total += len(message)
    return total


def body_pieces(data: bytes, piece: int) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(data), piece):
        yield view[start : start + piece].tobytes()


def best_of(repeat: int, action: Callable[[], object]) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = action()
        best = min(best, time.perf_counter() - started)
    return best, result


def throughput(size_mib: int, repeat: int) -> bool:
    data = os.urandom(size_mib * MIB)
    metadata = file_metadata("bench.bin", "", len(data), hashlib.sha256(b"").hexdigest())
    key = object_key(DATA_KEY, OBJECT_ID)
    pieces = list(body_pieces(data, MIB))  # the body as a reader would deliver it

    def ours_encrypt(body: list[bytes]) -> list[bytes]:
        return list(encrypt_object(DATA_KEY, OBJECT_ID, metadata, body))

    def ours_decrypt(ciphertext: list[bytes]) -> int:
        return sum(len(p) for p in decrypt_object(DATA_KEY, OBJECT_ID, ciphertext).body)

    def timed(name: str, action: Callable[[], object]) -> object:
        elapsed, result = best_of(1, action)
        timings[name] = min(timings.get(name, elapsed), elapsed)
        return result

    timings: dict[str, float] = {}
    small_pieces = list(body_pieces(data, CHUNK))
    for _ in range(repeat):  # interleaved, so drift in machine load hits both alike
        raw_ct = timed("raw_encrypt", partial(raw_encrypt, key, data))
        ours_ct = timed("ours_encrypt", partial(ours_encrypt, pieces))
        timed("ours_encrypt_64k", partial(ours_encrypt, small_pieces))
        raw_n = timed("raw_decrypt", partial(raw_decrypt, key, raw_ct))
        ours_n = timed("ours_decrypt", partial(ours_decrypt, ours_ct))
        resplit = list(body_pieces(b"".join(ours_ct), MIB))  # type: ignore[arg-type]
        split_n = timed("ours_decrypt_1m", partial(ours_decrypt, resplit))
        del resplit
        assert raw_n == ours_n == split_n == len(data)

    print(f"Throughput over {size_mib} MiB (best of {repeat}; 64 KiB secretstream chunks)")
    print(f"  {'':36} {'object API':>12} {'raw PyNaCl':>12} {'ratio':>7}")
    passed = True
    rows = [
        ("encrypt, body in 1 MiB pieces", "ours_encrypt", "raw_encrypt", True),
        ("decrypt, ciphertext as yielded", "ours_decrypt", "raw_decrypt", True),
        ("encrypt, body in 64 KiB pieces", "ours_encrypt_64k", "raw_encrypt", False),
        ("decrypt, ciphertext in 1 MiB pieces", "ours_decrypt_1m", "raw_decrypt", False),
    ]
    for label, ours, raw, counted in rows:
        ratio = timings[raw] / timings[ours]
        if counted:
            passed &= ratio >= THROUGHPUT_TARGET
        ours_rate, raw_rate = size_mib / timings[ours], size_mib / timings[raw]
        print(f"  {label:36} {ours_rate:>6.0f} MiB/s {raw_rate:>6.0f} MiB/s {ratio:>6.2f}x")
    total_ours = timings["ours_encrypt"] + timings["ours_decrypt"]
    total_raw = timings["raw_encrypt"] + timings["raw_decrypt"]
    ratio = total_raw / total_ours
    print(f"  {'encrypt + decrypt (first two rows)':36} {'':>24} {ratio:>6.2f}x")
    print(f"  target: every row >= {THROUGHPUT_TARGET:.2f}x")
    return passed and ratio >= THROUGHPUT_TARGET


# --- memory (runs in a child process so the parent's buffers do not count) ----------------


def _high_water_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _child(mode: str, size_mib: int) -> None:
    block = os.urandom(MIB)
    metadata = file_metadata("big.bin", "", size_mib * MIB, "0" * 64)

    def body() -> Iterator[bytes]:
        for _ in range(size_mib):
            yield block

    # Warm up every code path once (1 MiB), so lazy imports and allocator pools are in the
    # baseline; the growth then shows whether memory scales with the stream length.
    warm = file_metadata("w.bin", "", MIB, "0" * 64)
    for _ in decrypt_object(
        DATA_KEY, OBJECT_ID, encrypt_object(DATA_KEY, OBJECT_ID, warm, [block])
    ).body:
        pass
    before = _high_water_kib()
    seen = 0
    if mode == "encrypt":
        for piece in encrypt_object(DATA_KEY, OBJECT_ID, metadata, body()):
            seen += len(piece)
    else:
        stream = encrypt_object(DATA_KEY, OBJECT_ID, metadata, body())
        for piece in decrypt_object(DATA_KEY, OBJECT_ID, stream).body:
            seen += len(piece)
    after = _high_water_kib()
    print(f"{before / 1024:.2f} {after / 1024:.2f} {seen}")


def memory(size_mib: int) -> bool:
    print(f"Peak RSS growth (VmHWM) while streaming {size_mib} MiB in a fresh process")
    passed = True
    for mode, label in (("encrypt", "encrypt"), ("pipeline", "encrypt -> decrypt")):
        result = subprocess.run(
            [sys.executable, __file__, "--child", mode, "--rss-mib", str(size_mib)],
            capture_output=True,
            text=True,
            check=True,
        )
        before, after, seen = result.stdout.split()
        assert int(seen) >= size_mib * MIB
        growth_mib = float(after) - float(before)
        passed &= growth_mib <= RSS_TARGET_MIB
        print(
            f"  {label:18} VmHWM {float(before):6.1f} -> {float(after):6.1f} MiB:"
            f" +{growth_mib:.2f} MiB   (target <= {RSS_TARGET_MIB} MiB)"
        )
    return passed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=256, help="throughput data size")
    parser.add_argument("--rss-mib", type=int, default=1024, help="memory test stream size")
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement")
    parser.add_argument("--child", choices=["encrypt", "pipeline"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.rss_mib)
        return
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n")
    fast = throughput(args.size_mib, args.repeat)
    print()
    lean = memory(args.rss_mib)
    print()
    print(f"Result: throughput {'PASS' if fast else 'FAIL'}, memory {'PASS' if lean else 'FAIL'}")


if __name__ == "__main__":
    main()
