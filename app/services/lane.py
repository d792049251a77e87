"""A helper thread for work that releases the GIL, beside the request thread.

Uploads overlap hashing, encryption and blob writes this way: the request thread parses the
next piece of the body while a lane hashes or writes the previous one. A lane holds at most
``depth`` unfinished jobs (plaintext, in memory only), re-raises a job's exception in the
caller and is always shut down, so its thread ends with the upload, whether it succeeds or
not.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class Lane:
    """One helper thread that runs jobs in the order given, with at most ``depth`` unfinished.

    :meth:`submit` waits for the oldest job once ``depth`` are pending, so memory stays
    bounded; :meth:`drain` waits for all of them; either re-raises the first failure. The
    thread starts with the first job and ends on :meth:`close` (or leaving a ``with`` block),
    which cancels jobs not yet started and waits for the one running.
    """

    def __init__(self, name: str, depth: int = 2) -> None:
        self._name = name
        self._depth = depth
        self._executor: ThreadPoolExecutor | None = None
        self._pending: deque[Future[Any]] = deque()

    @property
    def started(self) -> bool:
        """Whether a job was ever submitted (the thread exists)."""
        return self._executor is not None

    def submit(self, job: Callable[..., T], *args: Any) -> Future[T]:
        while len(self._pending) >= self._depth:
            self._pending.popleft().result()
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self._name)
        future = self._executor.submit(job, *args)
        self._pending.append(future)
        return future

    def drain(self) -> None:
        while self._pending:
            self._pending.popleft().result()

    def close(self) -> None:
        self._pending.clear()
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Lane:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
