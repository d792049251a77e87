"""A bound on the Argon2id work one process does at once for code logins.

Each code login costs one Argon2id derivation (about 12 ms and 19 MiB), whether the code is
right or not. Rate limits count attempts per client; this counts work in flight, whoever asks:
many clients at once (new Tor circuits, fresh sessions) cannot make a worker spend more than
``slots`` derivations at a time. A caller that cannot get a slot within a short wait is told
to come back in a minute (:class:`ServerBusy`) — nobody is locked out, nothing is counted.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from app.errors import CannotServeNow


class ServerBusy(CannotServeNow):
    """Every key-derivation slot stayed taken for the whole wait; try again in a minute."""

    code = "busy"

    def __init__(self) -> None:
        super().__init__(
            "Many people are opening their tips right now. Please try again in a minute; "
            "your code is not locked."
        )


class KdfSlots:
    """At most ``slots`` derivations at once in this process; a caller waits ``wait_seconds``.

    One instance per process (gunicorn worker), shared by its threads.
    """

    def __init__(self, slots: int, wait_seconds: float) -> None:
        if slots < 1:
            raise ValueError("at least one slot")
        self.slots = slots
        self.wait_seconds = wait_seconds
        self._semaphore = threading.BoundedSemaphore(slots)

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Hold a slot for the block.

        :raises ServerBusy: no slot came free within ``wait_seconds``.
        """
        if not self._semaphore.acquire(timeout=self.wait_seconds):
            raise ServerBusy()
        try:
            yield
        finally:
            self._semaphore.release()
