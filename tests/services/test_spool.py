"""The upload spool keeps only ciphertext on disk and gives back exactly what went in."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest

from app.services.spool import PIECE_SIZE, EncryptedSpool, Lane, SpoolDamaged


@pytest.mark.parametrize("size", [0, 1, PIECE_SIZE - 1, PIECE_SIZE, 3 * PIECE_SIZE + 17])
def test_replay_returns_exactly_the_bytes_written_in_any_pieces(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    with EncryptedSpool(tmp_path) as spool:
        for start in range(0, size, 70_001):
            spool.write(data[start : start + 70_001])
        assert spool.finish() == hashlib.sha256(data).hexdigest()
        assert spool.size == size
        assert b"".join(spool.replay()) == data
        assert max((len(p) for p in spool.replay()), default=0) <= PIECE_SIZE
    assert list(tmp_path.iterdir()) == []


def test_the_spool_file_holds_no_plaintext(tmp_path: Path) -> None:
    marker = b"tlcanary-spool-" + os.urandom(8).hex().encode()
    with EncryptedSpool(tmp_path) as spool:
        spool.write(marker * 50_000)
        spool.finish()
        stored = spool.path.read_bytes()
        assert marker not in stored
        assert spool.path.stat().st_mode & 0o777 == 0o600


def test_a_tampered_spool_is_refused(tmp_path: Path) -> None:
    with EncryptedSpool(tmp_path) as spool:
        spool.write(os.urandom(2 * PIECE_SIZE))
        spool.finish()
        raw = bytearray(spool.path.read_bytes())
        raw[PIECE_SIZE + 100] ^= 1
        spool.path.write_bytes(bytes(raw))
        with pytest.raises(SpoolDamaged):
            b"".join(spool.replay())


def test_replay_before_finish_is_a_programming_error(tmp_path: Path) -> None:
    with EncryptedSpool(tmp_path) as spool:
        spool.write(b"x")
        with pytest.raises(RuntimeError):
            next(spool.replay())


def test_a_failing_piece_surfaces_and_the_helper_threads_end(tmp_path: Path) -> None:
    before = {thread.name for thread in threading.enumerate()}
    with EncryptedSpool(tmp_path) as spool:
        spool.write(os.urandom(3 * PIECE_SIZE))
        spool.finish()
        raw = bytearray(spool.path.read_bytes())
        raw[-1] ^= 1  # the last piece is damaged; the first two replay
        spool.path.write_bytes(bytes(raw))
        replayed = spool.replay()
        assert len(next(replayed)) == PIECE_SIZE
        with pytest.raises(SpoolDamaged):
            list(replayed)
    after = {thread.name for thread in threading.enumerate()}
    assert not {name for name in after - before if name.startswith("spool")}


def test_a_replay_abandoned_midway_stops_its_thread(tmp_path: Path) -> None:
    with EncryptedSpool(tmp_path) as spool:
        spool.write(os.urandom(4 * PIECE_SIZE))
        spool.finish()
        replayed = spool.replay()
        next(replayed)
        replayed.close()  # a consumer that failed: the read-ahead stops with it
    assert not [t for t in threading.enumerate() if t.name.startswith("spool-replay")]


def test_lane_runs_jobs_in_order_and_reraises_the_first_failure() -> None:
    done: list[int] = []

    def job(number: int) -> None:
        if number == 3:
            raise ValueError("job 3 failed")
        done.append(number)

    with Lane("test-lane", depth=2) as lane, pytest.raises(ValueError, match="job 3"):
        for number in range(10):
            lane.submit(job, number)
        lane.drain()
    assert done[:3] == [0, 1, 2]
    assert len(done) <= 6  # bounded: at most `depth` jobs ran ahead of the failure
    assert not [t for t in threading.enumerate() if t.name.startswith("test-lane")]
