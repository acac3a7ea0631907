"""Where frames are coded: in this process, in local worker processes, or on a Dask cluster.

Each pool takes a function of bytes to bytes (``frames.py``'s frame coders) and hands back a future;
``ordered`` keeps a bounded number of them in flight and yields their results in submission order,
so the output never depends on which worker finished first. Worker processes, not threads: the
coding loop holds the GIL between its small matrix products.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from types import TracebackType
from typing import Any, Protocol

from lstmzip.errors import LstmzipError

FRAMES_PER_CLUSTER_WORKER = 2  # one coding, one on its way, so a worker never waits for the network
CLUSTER_RETRIES = 1  # a frame whose task raised runs once more (a dead worker's frames run again anyway)
CLUSTER_CONNECT_SECONDS = 10


class WorkerError(LstmzipError):
    """A worker process or the cluster failed (not the data)."""


class ResultLike(Protocol):
    def result(self) -> Any: ...


class Pool(Protocol):
    slots: int  # frames in flight at most
    reports_progress: bool  # whether the frame's coder calls the progress it is given

    def submit(self, function: Callable[..., bytes], *args: Any, progress: Any = None) -> ResultLike: ...

    def __enter__(self) -> Pool: ...

    def __exit__(self, *exc: object) -> None: ...


class _Done:
    """The result of a call already made, as a future would hold it."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def result(self) -> Any:
        return self.value


class InProcess:
    """Codes each frame at once in this process; the only pool that reports progress within a frame."""

    slots = 1
    reports_progress = True

    def submit(self, function: Callable[..., bytes], *args: Any, progress: Any = None) -> ResultLike:
        return _Done(function(*args, progress=progress))

    def __enter__(self) -> InProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def _ignore_interrupts() -> None:
    """In a worker: Ctrl-C at a terminal reaches the whole process group; the parent stops the workers."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def cpu_count() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class LocalProcesses:
    """``workers`` processes on this machine, forked from a server process that imported the codec
    once (a process that has run torch must not fork; spawning each worker imports torch again)."""

    reports_progress = False

    def __init__(self, workers: int) -> None:
        self.slots = workers + 1  # one waiting, so a worker that finishes starts the next frame at once
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["lstmzip.codec"])
        self._executor = ProcessPoolExecutor(workers, mp_context=context, initializer=_ignore_interrupts)

    def submit(self, function: Callable[..., bytes], *args: Any, progress: Any = None) -> ResultLike:
        return _Checked(self._executor.submit(function, *args), "a worker process died (out of memory?)")

    def __enter__(self) -> LocalProcesses:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if kind is None:
            self._executor.shutdown(wait=True)
            return
        # Before 3.14 (terminate_workers) the executor has no public way to stop a running worker:
        # its process table, taken before shutdown clears it.
        processes = list((getattr(self._executor, "_processes", None) or {}).values())
        self._executor.shutdown(wait=False, cancel_futures=True)
        stop = getattr(self._executor, "terminate_workers", None)
        if stop is not None:
            stop()
        for process in processes:
            with contextlib.suppress(OSError):
                process.terminate()
                process.join(5)


class _Checked:
    """A future whose failures other than lstmzip's own errors (a broken pool, a worker the
    cluster gave up on) become one line for the user."""

    def __init__(self, future: Future[bytes] | Any, failure: str) -> None:
        self._future, self._failure = future, failure

    def result(self) -> bytes:
        try:
            return self._future.result()
        except LstmzipError:
            raise
        except Exception as error:  # BrokenProcessPool, distributed's KilledWorker, a lost connection
            raise WorkerError(f"{self._failure}: {type(error).__name__}: {error}") from error


class ClusterPool:
    """The workers of a Dask distributed scheduler: frames go as bytes, at most
    ``FRAMES_PER_CLUSTER_WORKER`` a worker; Dask runs a dead worker's frames again elsewhere.

    The workers need the same lstmzip version as this process (the frames' bytes depend on it).
    """

    reports_progress = False

    def __init__(self, address: str) -> None:
        try:
            from distributed import Client
        except ImportError as error:
            raise LstmzipError("--cluster needs Dask: pip install 'lstmzip[cluster]'") from error
        try:
            self._client = Client(address, timeout=CLUSTER_CONNECT_SECONDS, set_as_default=False)
            self._client.wait_for_workers(1, timeout=CLUSTER_CONNECT_SECONDS)
        except (OSError, TimeoutError) as error:
            raise WorkerError(f"cannot reach a Dask scheduler with workers at {address}: {error}") from error
        workers = len(self._client.scheduler_info().get("workers", {}))
        self.slots = FRAMES_PER_CLUSTER_WORKER * max(1, workers)

    def submit(self, function: Callable[..., bytes], *args: Any, progress: Any = None) -> ResultLike:
        future = self._client.submit(function, *args, pure=False, retries=CLUSTER_RETRIES)
        return _Checked(future, "the cluster could not code a frame")

    def __enter__(self) -> ClusterPool:
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):  # a scheduler gone away must not hide the real error
            self._client.close()  # releases every frame of this client still queued or running


def make_pool(threads: int, cluster: str | None) -> Pool:
    """The pool for ``threads`` workers (0: one a core) or, with an address, the cluster's."""
    if cluster:
        return ClusterPool(cluster)
    workers = threads or cpu_count()
    return InProcess() if workers == 1 else LocalProcesses(workers)


class InOrder:
    """Calls submitted to ``pool`` whose results come back in submission order, at most ``pool.slots`` in
    flight: what is submitted may wait for results to be taken first."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.pending: deque[ResultLike] = deque()

    def submit(self, function: Callable[..., bytes], *args: Any, progress: Any = None) -> Iterator[bytes]:
        """Submit one call; yield the results to take before more can go in flight."""
        self.pending.append(self.pool.submit(function, *args, progress=progress))
        while len(self.pending) >= self.pool.slots:
            yield self.pending.popleft().result()

    def rest(self) -> Iterator[bytes]:
        """The results still in flight, in order."""
        while self.pending:
            yield self.pending.popleft().result()


def ordered(pool: Pool, calls: Iterable[tuple[Callable[..., bytes], tuple[Any, ...], Any]]) -> Iterator[bytes]:
    """The results of ``calls`` (function, arguments, progress) in their order, at most ``pool.slots``
    in flight: the next call is taken from ``calls`` (and its frame read) only when one is done."""
    queue = InOrder(pool)
    for function, args, progress in calls:
        yield from queue.submit(function, *args, progress=progress)
    yield from queue.rest()
