"""Work beside the loop in one helper: a worker thread joined to the caller by a bounded queue.
`ahead(items)` produces items before they are asked for (decoding the next frames while the
current ones are classified); `Behind(consume)` consumes items after they are handed over
(drawing and encoding an annotated video). FFmpeg, OpenCV, Pillow and the classifiers release
the GIL, so the thread overlaps real work. Errors in the worker are re-raised in the caller;
closing stops the worker. No process-wide state.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterable
from typing import Any, Generic, TypeVar

T = TypeVar("T")
_END = object()  # marks the end of the items in a queue


class Worker:
    """A daemon thread running `work(worker)`, the bounded queue it shares with the caller, and
    the error it hands back. `put` waits while the queue is full and gives up once stopped."""

    def __init__(self, work: Callable[[Worker], None], depth: int, name: str) -> None:
        if depth < 1:
            raise ValueError(f"depth must be at least 1, got {depth}")
        self.items: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self.stopped = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=work, args=(self,), name=name, daemon=True)
        self.thread.start()

    def put(self, item: Any) -> bool:
        """Queue `item` (waiting while the queue is full); False once the worker is stopped."""
        while not self.stopped.is_set():
            try:
                self.items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def stop(self) -> None:
        """Ask the worker to stop, drain what it queued, and wait for it."""
        self.stopped.set()
        while self.thread.is_alive():
            try:
                self.items.get(timeout=0.1)
            except queue.Empty:
                continue
        self.thread.join()


def ahead(items: Iterable[T], depth: int = 16, *, name: str = "scancci-ahead"
          ) -> Generator[T, None, None]:
    """The items of `items`, produced by a worker thread at most `depth` ahead of the caller.
    The worker's errors are re-raised here; closing the iterator stops the worker, which
    closes `items`' iterator in its own thread (a decoder is closed where it runs)."""

    def produce(worker: Worker) -> None:
        iterator = iter(items)
        try:
            for item in iterator:
                if not worker.put(item):
                    return
        except BaseException as err:  # handed to the caller's thread, which re-raises it
            worker.error = err
        finally:
            getattr(iterator, "close", lambda: None)()
            worker.put(_END)

    worker = Worker(produce, depth, name)
    try:
        while (item := worker.items.get()) is not _END:
            yield item
        if worker.error is not None:
            raise worker.error
    finally:
        worker.stop()


class Behind(Generic[T]):
    """Calls `consume(item)` in a worker thread for every item `put`, at most `depth` items
    behind the caller. `close()` finishes the queued items and re-raises a worker error (so
    does the next `put`); after an error the remaining items are dropped."""

    def __init__(self, consume: Callable[[T], None], depth: int = 16, *,
                 name: str = "scancci-behind") -> None:
        def drain(worker: Worker) -> None:
            while (item := worker.items.get()) is not _END:
                if worker.error is None:
                    try:
                        consume(item)
                    except BaseException as err:  # re-raised by put/close in the caller
                        worker.error = err

        self._worker = Worker(drain, depth, name)
        self._closed = False

    def put(self, item: T) -> None:
        """Queue one item (blocks while the worker is `depth` items behind)."""
        self._raise()
        self._worker.put(item)

    def close(self) -> None:
        """Wait for the queued items, then re-raise a worker error."""
        if not self._closed:
            self._closed = True
            self._worker.items.put(_END)
            self._worker.thread.join()
        self._raise()

    def _raise(self) -> None:
        if self._worker.error is not None:
            raise self._worker.error
