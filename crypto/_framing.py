"""Re-framing of byte streams split at arbitrary boundaries, without quadratic copying.

Pieces that are immutable ``bytes`` are referenced through memoryviews until joined; pieces
of mutable buffers are copied before the caller's iterator runs again, since a producer may
refill the same ``bytearray`` for its next piece.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

_EMPTY = memoryview(b"")


def byte_view(piece: object) -> memoryview:
    """Return a flat unsigned-byte memoryview of a bytes-like ``piece``.

    :raises TypeError: if ``piece`` is not bytes-like (e.g. ``str`` or ``int``).
    """
    view = memoryview(piece)  # type: ignore[arg-type]  # TypeError for non-buffers is the check
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    return view


def as_piece_iterable(data: Iterable[bytes] | bytes) -> Iterable[bytes]:
    """Treat a single bytes-like object as one piece (iterating it would yield ints)."""
    if isinstance(data, bytes | bytearray | memoryview):
        single: tuple[bytes] = (data,)  # type: ignore[assignment]  # bytes-like is fine here
        return single
    return data


class ExactReader:
    """Reads exact-length records from an iterable of byte pieces split anywhere."""

    def __init__(self, pieces: Iterable[bytes]) -> None:
        self._pieces = iter(pieces)
        self._view = _EMPTY
        self._whole: bytes | None = None  # the current piece, while none of it is consumed
        self._immutable = True

    def _load(self, piece: object) -> bool:
        view = byte_view(piece)
        if not len(view):
            return False
        self._view = view
        self._immutable = isinstance(piece, bytes)
        self._whole = piece if type(piece) is bytes else None
        return True

    def _fetch(self) -> bool:
        return any(self._load(piece) for piece in self._pieces)

    def read(self, length: int) -> bytes:
        """Return the next ``length`` bytes, fewer only if the input ends first."""
        if not self._view:
            for piece in self._pieces:
                if type(piece) is bytes and len(piece) == length:
                    return piece  # the producer's framing matches ours: no copy at all
                if self._load(piece):
                    break
            else:
                return b""
        if self._whole is not None and len(self._whole) == length:
            whole, self._whole, self._view = self._whole, None, _EMPTY
            return whole  # the producer's framing matches ours: no copy at all
        parts: list[bytes | memoryview] = []
        need = length
        while need:
            if not self._view and not self._fetch():
                break
            view = self._view
            taken = view[:need]
            parts.append(taken if self._immutable else bytes(taken))
            need -= len(taken)
            self._view = view[len(taken) :]
            self._whole = None
        return b"".join(parts)

    def unread(self, data: bytes) -> None:
        """Put ``data`` back in front of what is left to read."""
        if data:
            self._view = memoryview(data + bytes(self._view))
            self._whole = None
            self._immutable = True

    def at_end(self) -> bool:
        """True if no byte is left (reads ahead one piece if needed)."""
        return not self._view and not self._fetch()


class Rechunker:
    """Cuts a sequence of byte views into ``chunk_size`` pieces (the remainder kept)."""

    def __init__(self, chunk_size: int) -> None:
        self._chunk_size = chunk_size
        self._parts: list[bytes | memoryview] = []
        self._have = 0

    def feed(self, view: memoryview, *, immutable: bool) -> Iterator[bytes]:
        """Yield every chunk completed by ``view``; keep the rest for later."""
        size = self._chunk_size
        while view:
            need = size - self._have
            if len(view) < need:
                self._parts.append(view if immutable else bytes(view))
                self._have += len(view)
                return
            if self._have == 0:
                chunk = bytes(view[:size])
            else:
                self._parts.append(view[:need])
                chunk = b"".join(self._parts)
                self._parts = []
                self._have = 0
            yield chunk
            view = view[need:]

    def rest(self) -> bytes:
        """Return what has not made up a full chunk yet, and forget it."""
        rest = b"".join(self._parts)
        self._parts = []
        self._have = 0
        return rest
