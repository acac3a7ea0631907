"""Small files through the whole command: wall time of ``lstmzip compress`` and ``lstmzip decompress``,
interpreter start-up included, as a user who compresses one config or note at a time sees it.

    python benchmarks/small_files.py [--baseline /path/to/other/venv/bin/lstmzip] [--repeats 5] [--out FILE]

Inputs are prefixes of a corpus text (read in place, written to a temporary folder): 100 bytes, 4 KB
and 20 KB by default. Each command runs ``--repeats`` times per input, alternating between this
checkout's ``lstmzip`` and the baseline's so that both see the same moments of a noisy machine; the
table gives medians, and checks that each archive decodes to its input.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CORPUS_TEXT = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "canterbury" / "alice29.txt"
SIZES = (100, 4000, 20000)
LIMITS = {100: 0.5, 4000: 0.8, 20000: 1.5}  # the speed issue's targets, seconds, each direction


# Python as users run it: it keeps the bytecode it compiles (an environment that forbids this, such
# as this project's sandbox, makes every command compile lstmzip anew, 0.1 s more)
_ENVIRONMENT = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def _timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=_ENVIRONMENT)
    return time.perf_counter() - started


def _round_trip(lstmzip: str, source: Path, folder: Path) -> tuple[float, float, int]:
    """(compress seconds, decompress seconds, archive bytes) of one run, checked."""
    archive, restored = folder / (source.name + ".lstmz"), folder / (source.name + ".out")
    packing = _timed([lstmzip, "compress", "-q", "-f", str(source), "-o", str(archive)])
    unpacking = _timed([lstmzip, "decompress", "-q", "-f", str(archive), "-o", str(restored)])
    if restored.read_bytes() != source.read_bytes():
        raise SystemExit(f"{lstmzip}: {source.name} did not round-trip")
    return packing, unpacking, archive.stat().st_size


def _row(name: str, size: int, runs: list[tuple[float, float, int]]) -> str:
    packing = statistics.median(run[0] for run in runs)
    unpacking = statistics.median(run[1] for run in runs)
    limit = LIMITS.get(size)
    met = "" if limit is None else ("yes" if max(packing, unpacking) < limit else "no")
    return f"| {name} | {size:,} | {runs[0][2]:,} | {packing:.2f} | {unpacking:.2f} | {limit or ''} | {met} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", help="another installation's lstmzip command, measured alternately")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--text", type=Path, default=CORPUS_TEXT)
    parser.add_argument("--out", type=Path, help="also write the table here")
    args = parser.parse_args()
    # the interpreter's own entry point, not a version manager's shim (pyenv's adds ~0.1 s a call)
    commands = {"this checkout": str(Path(sys.executable).parent / "lstmzip")}
    if args.baseline:
        commands["baseline"] = args.baseline
    text = args.text.read_bytes()
    lines = [
        "| lstmzip | input bytes | archive bytes | compress s (median) | decompress s (median) | target s | met |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        for size in SIZES:
            source = folder / f"text-{size}.txt"
            source.write_bytes(text[:size])
            if size == SIZES[0]:  # one untimed run each: the bytecode of a user's second command
                for command in commands.values():
                    _round_trip(command, source, folder)
            runs: dict[str, list[tuple[float, float, int]]] = {name: [] for name in commands}
            for _ in range(args.repeats):
                for name, command in commands.items():
                    runs[name].append(_round_trip(command, source, folder))
            lines += [_row(name, size, measured) for name, measured in runs.items()]
    table = "\n".join(lines)
    print(table)
    if args.out:
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()
