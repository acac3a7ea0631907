"""Frames, workers and a loopback cluster: bytes by frame size, speed by worker count, memory by input size.

    python benchmarks/scaling.py bytes FILE LEVEL SIZE...   # archive bytes by frame size (0: one frame)
    python benchmarks/scaling.py speed FILE LEVEL FRAME     # KB/s with -T 1 and -T 2, and on 2 Dask workers
    python benchmarks/scaling.py memory FRAME MB...         # peak memory of the frame pipeline by input size

Each prints one line a measurement (``key=value`` pairs) to append to benchmarks/results/scaling.md;
``plot`` draws benchmarks/results/scaling.png from the numbers written there.
"""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import time
import zlib
from pathlib import Path

from lstmzip import frames

RESULTS = Path(__file__).parent / "results"


def _say(**values: object) -> None:
    print(" ".join(f"{key}={value}" for key, value in values.items()), f"load={os.getloadavg()[0]:.1f}", flush=True)


def measure_bytes(path: Path, level: str, sizes: list[int]) -> None:
    data = path.read_bytes()
    for size in sizes:
        start = time.perf_counter()
        archive = frames.compress(data, level, frame_size=size or len(data) or 1, threads=2)
        seconds = time.perf_counter() - start
        _say(file=path.name, level=level, frame=size or len(data), bytes=len(archive), s=f"{seconds:.0f}")


def measure_speed(path: Path, level: str, frame: int) -> None:
    data = path.read_bytes()
    results = {}
    for threads in (1, 2):
        start = time.perf_counter()
        results[threads] = frames.compress(data, level, frame_size=frame, threads=threads)
        seconds = time.perf_counter() - start
        _say(file=path.name, level=level, frame=frame, threads=threads, kb_s=f"{len(data) / seconds / 1000:.2f}")
    with LoopbackCluster(2) as address:
        start = time.perf_counter()
        archive = frames.compress(data, level, frame_size=frame, cluster=address)
        seconds = time.perf_counter() - start
    speed, same = f"{len(data) / seconds / 1000:.2f}", archive == results[1] == results[2]
    _say(file=path.name, level=level, frame=frame, cluster_workers=2, kb_s=speed, same=same)


class LoopbackCluster:
    """``dask scheduler`` and ``workers`` x ``dask worker`` on 127.0.0.1, killed on exit."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.processes: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> str:
        from distributed import Client

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        address, dask = f"tcp://127.0.0.1:{port}", [sys.executable, "-m", "dask"]
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        scheduler = [*dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"]
        self.processes.append(subprocess.Popen(scheduler, **quiet))  # type: ignore[call-overload]
        worker = [*dask, "worker", address, "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"]
        self.processes += [subprocess.Popen(worker, **quiet) for _ in range(self.workers)]  # type: ignore[call-overload]
        time.sleep(2)
        with Client(address, timeout=60, set_as_default=False) as client:
            client.wait_for_workers(self.workers, timeout=120)
        return address

    def __exit__(self, *exc: object) -> None:
        for process in self.processes:
            process.kill()
            process.wait()


def _stub_frame(data: bytes, preset: object, device: str, mark: object, progress: object = None) -> bytes:
    """Stands for a frame's coding in the memory measurement: the pipeline's memory, not the model's."""
    return zlib.compress(data, 1)


def measure_memory(frame: int, megabytes: list[int]) -> None:
    """Each size in a fresh process: reads a stream of that many bytes (a pipe) frame by frame."""
    for size in megabytes:
        command = [sys.executable, __file__, "_memory_child", str(frame), str(size)]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()
        print(output, flush=True)


def _memory_child(frame: int, megabytes: int) -> None:
    frames.encode_frame = _stub_frame  # type: ignore[assignment]
    reader, writer = os.pipe()
    if os.fork() == 0:  # the input: a pipe of unknown length
        os.close(reader)
        chunk = bytes(range(256)) * 4096
        for _ in range(megabytes):
            os.write(writer, chunk)
        os._exit(0)
    os.close(writer)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with os.fdopen(reader, "rb") as source, open(os.devnull, "wb") as sink:
        totals = frames.compress_stream(source, sink.write, "fast", frame_size=frame)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    _say(input_mb=megabytes, frame=frame, frames=-(-totals.original // frame), rss_before_kb=before, peak_rss_kb=peak)


def plot() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    lines = _measurements()
    by_size = [line for line in lines if "bytes" in line]
    for text in sorted({(line["file"], line["level"]) for line in by_size}):
        sizes = {int(line["frame"]): int(line["bytes"]) for line in by_size if (line["file"], line["level"]) == text}
        one = sizes[max(sizes)]
        left.plot([size / 1024 for size in sorted(sizes)], [100 * (sizes[k] / one - 1) for k in sorted(sizes)], "o-")
        left.lines[-1].set_label(f"{text[0]}, {text[1]}")
    left.set(xlabel="frame size (KiB)", ylabel="bytes over one frame (%)", title="What frames cost")
    left.axhline(0.5, color="grey", linestyle=":")
    left.legend()
    memory = sorted((int(line["input_mb"]), int(line["peak_rss_kb"])) for line in lines if "peak_rss_kb" in line)
    right.plot([mb for mb, _ in memory], [kb / 1024 for _, kb in memory], "o-")
    right.set(xscale="log", xlabel="input (MB, a pipe)", ylabel="peak RSS (MiB)", title="Pipeline memory, 1 MiB frames")
    right.set_ylim(bottom=0)
    figure.tight_layout()
    figure.savefig(RESULTS / "scaling.png", dpi=100)


def _measurements() -> list[dict[str, str]]:
    """The measurement lines of scaling.md (``key=value`` pairs), as dicts."""
    text = (RESULTS / "scaling.md").read_text().splitlines()
    return [
        dict(part.split("=", 1) for part in line.split()) for line in text if line.startswith(("file=", "input_mb="))
    ]


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    if mode == "bytes":
        measure_bytes(Path(args[0]), args[1], [frames.parse_size(a) if a != "0" else 0 for a in args[2:]])
    elif mode == "speed":
        measure_speed(Path(args[0]), args[1], frames.parse_size(args[2]))
    elif mode == "memory":
        measure_memory(frames.parse_size(args[0]), [int(a) for a in args[1:]])
    elif mode == "_memory_child":
        _memory_child(int(args[0]), int(args[1]))
    elif mode == "plot":
        plot()
    else:
        raise SystemExit(__doc__)
