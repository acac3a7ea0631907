"""Frames, workers and the cluster: the same bytes for any worker count, every damage refused, nothing left behind.

Archives of 0.20.0 decode through frames in test_codec (``lstmzip.decompress`` is ``frames.decompress``).
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from lstmzip import codec, container, frames, workers
from lstmzip.errors import ArchiveError, CorruptArchiveError, NotAnArchiveError, TruncatedArchiveError
from lstmzip.frames import FrameSizeError, parse_size
from lstmzip.workers import WorkerError
from tests.helpers import TINY, sample_words

DATA = sample_words(420)  # about 2.6 KB: three frames of 1 KiB
FRAME = 1024
WAIT_SECONDS = 60


@pytest.fixture(scope="module")
def framed() -> bytes:
    return frames.compress(DATA, TINY, frame_size=FRAME)


def members(archive: bytes) -> list[bytes]:
    return [bytes(part) for part in container.split_archives(archive)]


def test_frames_are_complete_archives_marked_in_order(framed: bytes) -> None:
    parts = members(framed)
    marks = [frames.frame_mark(container.read_header(part)[0]) for part in parts]
    assert [(m.frame, m.more_frames) for m in marks] == [(0, 1), (1, 1), (2, 0)]
    assert b"".join(codec.decompress(part) for part in parts) == DATA


def test_one_frame_is_todays_archive() -> None:
    assert frames.compress(DATA[:FRAME], TINY, frame_size=FRAME) == codec.compress(DATA[:FRAME], TINY)
    assert frames.compress(b"", TINY, frame_size=FRAME) == codec.compress(b"", TINY)


def test_two_worker_processes_write_the_same_bytes(framed: bytes) -> None:
    assert frames.compress(DATA, TINY, frame_size=FRAME, threads=2) == framed
    assert frames.decompress(framed + framed, threads=2) == DATA + DATA  # two sequences, one after another


def damaged(framed: bytes) -> dict[str, tuple[bytes, type[ArchiveError], str | None]]:
    """Damaged archives: what each is, and the error and message it must give."""
    parts = members(framed)
    truncated, corrupt = TruncatedArchiveError, CorruptArchiveError
    return {
        "cut at a frame boundary": (b"".join(parts[:2]), truncated, "frame 2 and after are missing"),
        "cut inside a frame": (framed[:-10], truncated, "truncated"),
        "middle frame dropped": (parts[0] + parts[2], corrupt, "frame 2 where frame 1 belongs"),
        "frames swapped": (b"".join([parts[1], parts[0], parts[2]]), corrupt, "frame 1 where frame 0 belongs"),
        "trailing junk": (framed + b"junk", corrupt, "unexpected data after the end"),
        "a flipped byte": (framed[:-20] + bytes([framed[-20] ^ 1]) + framed[-19:], ArchiveError, None),
        "empty": (b"", NotAnArchiveError, "not an lstmzip archive"),
    }


def test_every_damage_is_refused(framed: bytes) -> None:
    for name, (archive, error, message) in damaged(framed).items():
        with pytest.raises(error, match=message):
            frames.decompress(archive)
            pytest.fail(name)


def test_frame_sizes_parse() -> None:
    sizes = [parse_size(text) for text in ("4096", "64K", "8M", "1G", "8MiB")]
    assert sizes == [4096, 65536, 8 << 20, 1 << 30, 8 << 20]
    for text in ("0", "-1", "8T", "eight", "5G"):
        with pytest.raises(FrameSizeError):
            parse_size(text)


# The command line, in processes of its own as users run it.


def cli(*args: str | Path, stdin: bytes = b"", timeout: float = WAIT_SECONDS) -> subprocess.CompletedProcess[bytes]:
    command = [sys.executable, "-m", "lstmzip", *map(str, args)]
    return subprocess.run(command, input=stdin, capture_output=True, timeout=timeout, check=False)


def test_cli_pipes_frames_in_and_out() -> None:
    data = DATA[:1500]
    packed = cli("-1", "-q", "--frame-size", "1K", "-T", "2", stdin=data)
    assert packed.returncode == 0, packed.stderr
    assert len(members(packed.stdout)) == 2
    unpacked = cli("-dc", stdin=packed.stdout)
    assert (unpacked.returncode, unpacked.stdout) == (0, data)


def test_cli_refuses_damaged_frames_with_one_line(framed: bytes, tmp_path: Path) -> None:
    archive = tmp_path / "damaged.lstmz"
    archive.write_bytes(damaged(framed)["frames swapped"][0])
    result = cli("-d", archive)
    assert result.returncode == 1
    assert result.stderr.decode().strip().splitlines() == [
        f"lstmzip: {archive}: frame 1 where frame 0 belongs (archive is damaged)"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["damaged.lstmz"]


def test_cli_interrupted_with_workers_running_leaves_nothing(tmp_path: Path) -> None:
    source = tmp_path / "big.txt"
    source.write_bytes(sample_words(4000))
    command = [sys.executable, "-m", "lstmzip", "-1", "--frame-size", "2K", "-T", "2", str(source)]
    process = subprocess.Popen(command, stderr=subprocess.PIPE)
    workers = _wait_for_workers(psutil.Process(process.pid), 2)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=WAIT_SECONDS)
    assert process.returncode == 130, stderr
    assert "partial output removed" in stderr.decode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.txt"]
    _, alive = psutil.wait_procs(workers, timeout=WAIT_SECONDS)
    assert not alive


def _wait_for_workers(parent: psutil.Process, count: int) -> list[psutil.Process]:
    """The processes under ``parent`` once ``count`` workers are coding (the forkserver is one more)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        children = parent.children(recursive=True)
        busy = [child for child in children if _cpu_seconds(child) > 0.5]
        if len(children) > count and len(busy) >= count:
            return children
        time.sleep(0.2)
    parent.kill()
    pytest.fail("the workers did not start")


def _cpu_seconds(process: psutil.Process) -> float:
    with contextlib.suppress(psutil.Error):
        return sum(process.cpu_times()[:2])
    return 0.0


# A real Dask scheduler and two workers on the loopback interface.


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    pytest.importorskip("distributed")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = [sys.executable, "-m", "dask"]
    started: list[subprocess.Popen[bytes]] = []
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    try:
        scheduler = [*dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"]
        started.append(subprocess.Popen(scheduler, **quiet))  # type: ignore[call-overload]
        worker = [*dask, "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard"]
        worker += ["--host", "127.0.0.1"]
        started += [subprocess.Popen(worker, **quiet) for _ in range(2)]  # type: ignore[call-overload]
        _wait_for_dask_workers(address, 2)
        yield address, started[1:]
    finally:
        for process in started:
            process.kill()
            process.wait(WAIT_SECONDS)


def _wait_for_dask_workers(address: str, count: int) -> None:
    from distributed import Client

    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            with Client(address, timeout=5, set_as_default=False) as client:
                client.wait_for_workers(count, timeout=max(1.0, deadline - time.monotonic()))
                return
        except (OSError, TimeoutError):
            if time.monotonic() > deadline:
                raise


def test_cluster_writes_the_same_bytes_even_when_a_worker_dies(
    dask_cluster: tuple[str, list[subprocess.Popen[bytes]]], framed: bytes
) -> None:
    address, dask_workers = dask_cluster
    assert frames.compress(DATA, TINY, frame_size=FRAME, cluster=address) == framed
    assert frames.decompress(framed, cluster=address) == DATA

    def kill_a_worker(done: int, written: int) -> None:
        if dask_workers[0].poll() is None:  # after the first frame: the others are on both workers
            dask_workers[0].kill()

    assert frames.compress(DATA, TINY, frame_size=FRAME, cluster=address, progress=kill_a_worker) == framed
    assert dask_workers[0].poll() is not None


def test_cluster_without_a_scheduler_is_one_error(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("distributed")
    monkeypatch.setattr(workers, "CLUSTER_CONNECT_SECONDS", 1)
    with pytest.raises(WorkerError, match="cannot reach a Dask scheduler"):
        frames.compress(DATA, TINY, frame_size=FRAME, cluster=f"tcp://127.0.0.1:{_free_port()}")
