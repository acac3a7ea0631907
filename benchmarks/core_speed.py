"""Speed of the compiled core against the torch reference, on the CPU, in one run.

    python benchmarks/core_speed.py [--levels fast default] [--repeats 3] [--out benchmarks/results] FILE...

For each file and level, ``--repeats`` rounds; each round compresses and decompresses with the
core, then with the reference (``LSTMZIP_REFERENCE=1``), so both see the same load on a shared
machine, and checks that the two archives are equal and decode to the input. Reports the median
KB/s of input (wall clock and process CPU time) of each, and the median of the rounds' speed
ratios, which a busy machine disturbs less than the speeds themselves. One thread, like the CLI.
Writes ``core-speed.md`` into ``--out``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

import lstmzip
from lstmzip.compiled import REFERENCE_ENVIRONMENT

ENGINES = {"core": "0", "reference": "1"}


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float


def timed(action: Callable[[], bytes]) -> tuple[bytes, Timing]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = action()
    return result, Timing(time.perf_counter() - wall, time.process_time() - cpu)


def one_round(data: bytes, level: str) -> dict[tuple[str, str], Timing]:
    """(engine, direction) -> timing of one compression and one decompression with each engine."""
    timings, archives = {}, {}
    for engine, flag in ENGINES.items():
        os.environ[REFERENCE_ENVIRONMENT] = flag
        archive, timings[engine, "compress"] = timed(lambda: lstmzip.compress(data, level))
        restored, timings[engine, "decompress"] = timed(lambda archive=archive: lstmzip.decompress(archive))
        if restored != data:
            raise SystemExit(f"{engine} did not restore the input at level {level}")
        archives[engine] = archive
    del os.environ[REFERENCE_ENVIRONMENT]
    if archives["core"] != archives["reference"]:
        raise SystemExit(f"the core's archive differs from the reference's at level {level}")
    return timings


def rows_for(path: Path, level: str, repeats: int) -> list[str]:
    data = path.read_bytes()
    rounds = [one_round(data, level) for _ in range(repeats)]
    kb = len(data) / 1000
    rows = []
    for direction in ("compress", "decompress"):

        def median(engine: str, clock: str, direction: str = direction) -> float:
            return statistics.median(kb / getattr(r[engine, direction], clock) for r in rounds)

        ratio = statistics.median(r["reference", direction].wall / r["core", direction].wall for r in rounds)
        cpu_ratio = statistics.median(r["reference", direction].cpu / r["core", direction].cpu for r in rounds)
        rows.append(
            f"| {path.name} | {level} | {direction} | {median('core', 'wall'):.1f} | {median('reference', 'wall'):.1f} "
            f"| {ratio:.2f} | {median('core', 'cpu'):.1f} | {median('reference', 'cpu'):.1f} | {cpu_ratio:.2f} |"
        )
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--levels", nargs="+", default=["fast", "default"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    rows = [row for path in args.files for level in args.levels for row in rows_for(path, level, args.repeats)]
    lines = [
        "# Compiled core vs torch reference (CPU)",
        "",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, one thread; {started}",
        f"- median of {args.repeats} rounds; each round runs the core, then the reference, on the same input",
        "  (compress, then decompress), and checks that the archives are equal and decode to the input",
        "- KB/s of input; wall: elapsed time, cpu: process CPU time (less disturbed by other work on the machine);",
        "  ratio: the median of the rounds' reference time / core time",
        "",
        "| file | level | direction | core KB/s (wall) | reference KB/s (wall) | ratio (wall) "
        "| core KB/s (cpu) | reference KB/s (cpu) | ratio (cpu) |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "core-speed.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
