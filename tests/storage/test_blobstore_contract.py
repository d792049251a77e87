"""The BlobStore contract, run against every backend (the database one on whichever database
the run uses: SQLite, or PostgreSQL with TIPLINE_TEST_DATABASE_URL)."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.db import make_engine
from app.storage import (
    READ_CHUNK_BYTES,
    BlobExists,
    BlobNotFound,
    BlobStore,
    DatabaseBlobStore,
    FileBlobStore,
    InvalidBlobName,
    StagedOffsetMismatch,
)

MiB = 1024 * 1024
BACKENDS = ["file", "database"]

Reopen = Callable[[], BlobStore]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, data_dir: Path) -> tuple[BlobStore, Reopen]:
    """A store, and a way to open a second, independent handle on the same storage."""
    if request.param == "file":
        root = data_dir / "blobs"
        return FileBlobStore(root), lambda: FileBlobStore(root)
    database_url: str = request.getfixturevalue("database_url")
    engine = request.getfixturevalue("engine")
    engines = []

    def reopen() -> BlobStore:
        engines.append(make_engine(database_url))
        return DatabaseBlobStore(engines[-1])

    def dispose_all() -> None:
        for other in engines:
            other.dispose()

    request.addfinalizer(dispose_all)
    return DatabaseBlobStore(engine), reopen


@pytest.fixture
def store(backend: tuple[BlobStore, Reopen]) -> BlobStore:
    return backend[0]


@pytest.fixture
def reopen(backend: tuple[BlobStore, Reopen]) -> Reopen:
    return backend[1]


def new_name() -> str:
    return str(uuid.uuid4())


def write_blob(store: BlobStore, name: str, data: bytes, piece: int = 65_553) -> None:
    with store.writer(name) as blob:
        for start in range(0, len(data), piece):
            blob.write(data[start : start + piece])


def read_blob(store: BlobStore, name: str) -> bytes:
    chunks = list(store.open(name))
    assert all(0 < len(chunk) <= READ_CHUNK_BYTES for chunk in chunks)
    return b"".join(chunks)


# --- writing in one go -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "piece"),
    [(0, 1), (1, 1), (5 * MiB + 3, 65_553), (3 * MiB + 11, 1_000_003), (2 * MiB + 1, 7 * MiB)],
)
def test_round_trip(store: BlobStore, size: int, piece: int) -> None:
    name = new_name()
    data = os.urandom(size)
    write_blob(store, name, data, piece)
    assert store.exists(name)
    assert store.size(name) == size
    assert read_blob(store, name) == data


def test_blob_is_invisible_while_being_written(store: BlobStore, reopen: Reopen) -> None:
    name = new_name()
    other = reopen()
    with store.writer(name) as blob:
        blob.write(os.urandom(MiB + 5))
        blob.write(os.urandom(MiB))
        assert not other.exists(name)
        with pytest.raises(BlobNotFound):
            other.open(name)
        with pytest.raises(BlobNotFound):
            other.size(name)
    assert other.size(name) == 2 * MiB + 5


def test_an_exception_inside_the_writer_leaves_nothing(store: BlobStore, reopen: Reopen) -> None:
    name = new_name()
    with pytest.raises(RuntimeError, match="client went away"), store.writer(name) as blob:
        blob.write(os.urandom(2 * MiB + 1))
        raise RuntimeError("client went away")
    for handle in (store, reopen()):
        assert not handle.exists(name)
        assert handle.staged_size(name) == 0
        assert list(handle.list_staged()) == []


def test_a_blob_written_for_later_durability_is_published_at_once_and_made_durable_on_request(
    store: BlobStore, reopen: Reopen
) -> None:
    names, data = [new_name(), new_name()], os.urandom(70_000)
    for name in names:
        with store.writer(name, durable=False) as blob:
            blob.write(data)
    assert all(reopen().exists(name) for name in names)
    store.make_durable(names)
    store.make_durable(names)  # idempotent
    store.make_durable([])
    assert [read_blob(reopen(), name) for name in names] == [data, data]


def test_making_an_unpublished_blob_durable_raises(store: BlobStore) -> None:
    staged = new_name()
    store.append_staged(staged, b"not yet", 0)
    for missing in (new_name(), staged):
        with pytest.raises(BlobNotFound):
            store.make_durable([missing])


def test_writing_an_existing_name_raises(store: BlobStore) -> None:
    name = new_name()
    write_blob(store, name, b"first")
    with pytest.raises(BlobExists), store.writer(name) as blob:
        blob.write(b"second")
    assert read_blob(store, name) == b"first"


def test_two_writers_cannot_write_the_same_name(store: BlobStore) -> None:
    name = new_name()
    with store.writer(name) as blob:
        blob.write(b"first")
        with pytest.raises(BlobExists), store.writer(name) as rival:
            rival.write(b"second")
    assert read_blob(store, name) == b"first"


def test_writer_is_only_usable_as_a_context_manager(store: BlobStore) -> None:
    with pytest.raises(RuntimeError, match="context manager"):
        store.writer(new_name()).write(b"x")


def test_an_abandoned_writer_is_listed_as_staged_for_cleanup(
    store: BlobStore, reopen: Reopen
) -> None:
    name = new_name()
    crashed = store.writer(name).__enter__()  # never exited: the process "died"
    crashed.write(os.urandom(MiB + 1))
    cleaner = reopen()
    assert [staged.name for staged in cleaner.list_staged()] == [name]
    assert not cleaner.exists(name)
    cleaner.discard_staged(name)
    assert list(cleaner.list_staged()) == []


# --- names -------------------------------------------------------------------------------------

BAD_NAMES = [
    "",
    "../../etc/passwd",
    "blobs/../../x",
    ".staged",
    "0e0f7c4e-3b6a-4c1e-9d7a-7f0c2b7a1e5",  # one short
    "0e0f7c4e-3b6a-4c1e-9d7a-7f0c2b7a1e5cc",  # one long
    "0E0F7C4E-3B6A-4C1E-9D7A-7F0C2B7A1E5C",  # not canonical (upper case)
    "0e0f7c4e3b6a4c1e9d7a7f0c2b7a1e5c",  # no dashes
    "0e0f7c4e-3b6a-4c1e-9d7a-7f0c2b7a1e5c\n",
    "0e0f7c4e-3b6a-4c1e-9d7a-7f0c2b7a1e5g",
]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_invalid_names_are_refused_everywhere(store: BlobStore, name: str) -> None:
    calls: list[Callable[[], object]] = [
        lambda: store.writer(name),
        lambda: store.open(name),
        lambda: store.size(name),
        lambda: store.exists(name),
        lambda: store.delete(name),
        lambda: store.append_staged(name, b"x", 0),
        lambda: store.staged_size(name),
        lambda: store.publish(name),
        lambda: store.discard_staged(name),
    ]
    for call in calls:
        with pytest.raises(InvalidBlobName):
            call()


# --- resumable staging ---------------------------------------------------------------------


def test_staged_appends_continue_exactly_where_the_data_ends(
    store: BlobStore, reopen: Reopen
) -> None:
    name = new_name()
    first, second = os.urandom(MiB + 3), os.urandom(2 * MiB + 7)
    assert store.staged_size(name) == 0
    assert store.append_staged(name, first, 0) == len(first)
    with pytest.raises(StagedOffsetMismatch) as mismatch:
        store.append_staged(name, second, 0)  # a retried first request
    assert mismatch.value.expected == len(first)
    with pytest.raises(StagedOffsetMismatch):
        store.append_staged(name, second, len(first) + 1)
    with pytest.raises(StagedOffsetMismatch):
        store.append_staged(name, second, -1)
    assert store.append_staged(name, second, len(first)) == len(first) + len(second)
    assert reopen().staged_size(name) == len(first) + len(second)
    assert not store.exists(name)
    with pytest.raises(BlobNotFound):
        store.open(name)

    store.publish(name)
    assert read_blob(reopen(), name) == first + second
    assert store.staged_size(name) == 0
    assert list(store.list_staged()) == []


def test_an_append_of_pieces_lands_as_one_append(store: BlobStore, reopen: Reopen) -> None:
    name = new_name()
    first, second = os.urandom(2 * MiB + 5), os.urandom(3 * MiB)
    pieces = [first[:MiB], first[MiB : 2 * MiB], b"", first[2 * MiB :]]
    assert store.append_staged_pieces(name, iter(pieces), 0) == len(first)
    with pytest.raises(StagedOffsetMismatch) as mismatch:
        store.append_staged_pieces(name, iter([second]), 0)
    assert mismatch.value.expected == len(first)
    end = store.append_staged_pieces(name, iter([second[:7], second[7:]]), len(first))
    assert end == reopen().staged_size(name) == len(first) + len(second)
    store.publish(name)
    assert read_blob(reopen(), name) == first + second


def test_an_append_whose_pieces_fail_midway_leaves_nothing_of_them(
    store: BlobStore, reopen: Reopen
) -> None:
    name = new_name()
    store.append_staged(name, b"acknowledged", 0)

    def cut_short() -> Iterator[bytes]:
        yield os.urandom(MiB)
        yield os.urandom(MiB)
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        store.append_staged_pieces(name, cut_short(), 12)
    assert reopen().staged_size(name) == 12
    assert store.append_staged_pieces(name, iter([b" and more"]), 12) == 21
    store.publish(name)
    assert read_blob(store, name) == b"acknowledged and more"


def test_pieces_may_be_views_of_one_reused_buffer(store: BlobStore, reopen: Reopen) -> None:
    # The request body reader hands out views of one buffer that the next piece overwrites.
    name, body = new_name(), os.urandom(3 * MiB + 17)

    def reused_buffer() -> Iterator[memoryview]:
        buffer = memoryview(bytearray(MiB))
        for start in range(0, len(body), MiB):
            piece = body[start : start + MiB]
            buffer[: len(piece)] = piece
            yield buffer[: len(piece)]

    assert store.append_staged_pieces(name, reused_buffer(), 0) == len(body)
    store.publish(name)
    assert read_blob(reopen(), name) == body


def test_a_failed_append_keeps_at_most_its_resume_point_and_resumes_from_there(
    store: BlobStore, reopen: Reopen
) -> None:
    name, sent = new_name(), os.urandom(2 * MiB + 100)
    store.append_staged(name, b"acknowledged", 0)
    asked: list[int] = []

    def resume_point(end: int) -> int:
        asked.append(end)
        return 12 + MiB  # whole "chunks": the first MiB of this append

    def cut_short() -> Iterator[bytes]:
        yield sent[:MiB]
        yield sent[MiB : 2 * MiB]
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        store.append_staged_pieces(name, cut_short(), 12, resume_point=resume_point)
    # Writing as the pieces arrive, the file store keeps the resume point; gathering them
    # first, the database store never wrote any (and never needs to ask).
    stored = reopen().staged_size(name)
    assert stored == (12 + MiB if asked else 12)
    assert asked in ([], [12 + 2 * MiB])
    assert store.append_staged_pieces(name, iter([sent[stored - 12 :]]), stored) == 12 + len(sent)
    store.publish(name)
    assert read_blob(store, name) == b"acknowledged" + sent


def test_the_first_append_must_start_at_zero(store: BlobStore) -> None:
    name = new_name()
    with pytest.raises(StagedOffsetMismatch) as mismatch:
        store.append_staged(name, b"late", 10)
    assert mismatch.value.expected == 0
    assert store.staged_size(name) == 0


def test_publish_of_nothing_staged_raises(store: BlobStore) -> None:
    with pytest.raises(BlobNotFound):
        store.publish(new_name())


def test_publish_and_appends_after_publication_raise_blob_exists(store: BlobStore) -> None:
    name = new_name()
    store.append_staged(name, b"ciphertext", 0)
    store.publish(name)
    with pytest.raises(BlobExists):
        store.publish(name)
    with pytest.raises(BlobExists):
        store.append_staged(name, b"more", 10)
    with pytest.raises(BlobExists):
        store.append_staged(name, b"again", 0)
    assert read_blob(store, name) == b"ciphertext"


def test_an_empty_staged_blob_can_be_published(store: BlobStore) -> None:
    name = new_name()
    assert store.append_staged(name, b"", 0) == 0
    store.publish(name)
    assert store.size(name) == 0 and read_blob(store, name) == b""


def test_discard_staged_removes_only_staged_data_and_is_idempotent(store: BlobStore) -> None:
    staged, published = new_name(), new_name()
    store.append_staged(staged, b"draft", 0)
    write_blob(store, published, b"done")
    store.discard_staged(staged)
    store.discard_staged(staged)
    store.discard_staged(published)
    store.discard_staged(new_name())
    assert store.staged_size(staged) == 0
    assert read_blob(store, published) == b"done"
    # A discarded draft starts again from zero.
    assert store.append_staged(staged, b"again", 0) == 5


def test_list_staged_names_each_staged_blob_with_the_day_it_changed(store: BlobStore) -> None:
    names = {new_name() for _ in range(3)}
    for name in names:
        store.append_staged(name, b"x", 0)
    write_blob(store, new_name(), b"published blobs are not listed")
    listed = list(store.list_staged())
    assert {staged.name for staged in listed} == names
    assert {staged.modified_on for staged in listed} == {datetime.now(UTC).date()}


def test_concurrent_appends_at_one_offset_land_once(store: BlobStore, reopen: Reopen) -> None:
    name = new_name()
    handles = [reopen() for _ in range(6)]
    outcomes: list[str] = []
    barrier = threading.Barrier(len(handles))

    def append(handle: BlobStore, marker: int) -> None:
        barrier.wait()
        try:
            handle.append_staged(name, bytes([marker]) * 1000, 0)
            outcomes.append("appended")
        except StagedOffsetMismatch:
            outcomes.append("mismatch")

    threads = [
        threading.Thread(target=append, args=(handle, marker))
        for marker, handle in enumerate(handles)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["appended"] + ["mismatch"] * (len(handles) - 1)
    assert store.staged_size(name) == 1000
    store.publish(name)
    assert len(set(read_blob(store, name))) == 1


# --- reading and deleting ------------------------------------------------------------------


def test_reading_an_unknown_blob_raises(store: BlobStore) -> None:
    name = new_name()
    assert not store.exists(name)
    with pytest.raises(BlobNotFound):
        store.open(name)
    with pytest.raises(BlobNotFound):
        store.size(name)


def test_a_reader_can_stop_early_and_close(store: BlobStore) -> None:
    name = new_name()
    data = os.urandom(3 * MiB)
    write_blob(store, name, data)
    with store.open(name) as reader:
        first = next(reader)
    assert data.startswith(first)
    assert list(reader) == []  # closed: nothing more
    store.delete(name)


def test_delete_is_idempotent_and_removes_staged_data_too(store: BlobStore) -> None:
    published, staged = new_name(), new_name()
    write_blob(store, published, b"ciphertext")
    store.append_staged(staged, b"partial", 0)
    for name in (published, staged):
        store.delete(name)
        store.delete(name)
    store.delete(new_name())
    assert not store.exists(published)
    assert store.staged_size(staged) == 0
    with pytest.raises(BlobNotFound):
        store.open(published)


def test_check_passes_on_a_working_store(store: BlobStore) -> None:
    store.check()
