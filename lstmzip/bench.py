"""``lstmzip bench``: lstmzip's levels beside the standard library's gzip, bzip2 and xz on your own files.

Like ``zstd -b``: each codec compresses each file in memory, the archive is decompressed and compared
with the input (a difference is an error, never a row), and one line per file and codec gives the
sizes, bits per byte and the speed of both directions. Speeds are KB of input per second
(1 KB = 1000 bytes) around the library call only, one thread; a direction is run again for
:data:`MIN_SECONDS` and the fastest run taken, since one run of gzip on a small file is mostly noise
(lstmzip's runs take longer, so they run once).

The full comparison (zstd, brotli, PPMd, zpaq, published figures, memory, plots) is the source
repository's ``benchmarks/run.py``; it is not part of the package.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from lstmzip.errors import LstmzipError

if TYPE_CHECKING:
    from lstmzip.presets import Preset

KB = 1000
MIN_SECONDS = 0.2
# The table's columns and their least widths: the lines are written as they are measured, so the
# numbers' widths cannot wait for the last line (sizes up to 99 MB line up).
COLUMNS = {"file": 0, "codec": 0, "bytes": 10, "compressed": 10, "bpb": 5, "comp KB/s": 9, "decomp KB/s": 11}


class RoundTripError(LstmzipError):
    """A codec's decompressed output differs from its input."""


@dataclass(frozen=True)
class Codec:
    name: str
    compress: Callable[[bytes], bytes]
    decompress: Callable[[bytes], bytes]


@dataclass(frozen=True)
class Result:
    """One file through one codec: sizes in bytes, the fastest run of each direction in seconds."""

    file: str
    codec: str
    original: int
    compressed: int
    compress_s: float
    decompress_s: float


def standard_codecs() -> list[Codec]:
    """gzip, bzip2 and xz at their strongest settings: the tools' formats, from the standard library."""
    return [
        Codec("gzip -9", partial(gzip.compress, compresslevel=9, mtime=0), gzip.decompress),
        Codec("bzip2 -9", partial(bz2.compress, compresslevel=9), bz2.decompress),
        Codec("xz -9e", partial(lzma.compress, preset=9 | lzma.PRESET_EXTREME), lzma.decompress),
    ]


def lstmzip_codec(level: str | int | Preset, device: str = "cpu") -> Codec:
    """lstmzip at ``level``, its preset loaded now so that an unknown level fails before any measurement."""
    from lstmzip import codec  # torch: imported only when something is measured
    from lstmzip.presets import load_preset

    preset = load_preset(level)
    return Codec(
        f"lstmzip {preset.name}",
        partial(codec.compress, level=preset, device=device),
        partial(codec.decompress, device=device),
    )


def codecs_for(levels: Sequence[str | int | Preset] = (), device: str = "cpu") -> list[Codec]:
    """The standard library's codecs, then lstmzip at each level (all three when none is named)."""
    from lstmzip.presets import LEVEL_NAMES

    return standard_codecs() + [lstmzip_codec(level, device) for level in levels or LEVEL_NAMES]


def read_inputs(paths: Iterable[Path]) -> list[tuple[str, bytes]]:
    """Each file's name as given and its contents, all read first: a missing file fails before any work."""
    return [(str(path), path.read_bytes()) for path in paths]


def _fastest(function: Callable[[bytes], bytes], data: bytes) -> tuple[bytes, float]:
    """``function(data)`` and the shortest time of the runs made until :data:`MIN_SECONDS` have passed."""
    fastest, spent = math.inf, 0.0
    while fastest == math.inf or spent < MIN_SECONDS:  # at least one run
        start = time.perf_counter()
        output = function(data)
        elapsed = time.perf_counter() - start
        fastest, spent = min(fastest, elapsed), spent + elapsed
    return output, fastest


def measure(codec: Codec, file: str, data: bytes) -> Result:
    """Compress, decompress and compare; :class:`RoundTripError` if the bytes do not come back."""
    archive, compress_s = _fastest(codec.compress, data)
    restored, decompress_s = _fastest(codec.decompress, archive)
    if restored != data:
        raise RoundTripError(f"{file}: {codec.name} gave back different bytes")
    return Result(file, codec.name, len(data), len(archive), compress_s, decompress_s)


def _cells(result: Result) -> tuple[str, ...]:
    original, compressed = result.original, result.compressed
    return (
        result.file,
        result.codec,
        f"{original:,}",
        f"{compressed:,}",
        f"{8 * compressed / original:.3f}" if original else "-",
        _speed(original, result.compress_s),
        _speed(original, result.decompress_s),
    )


def _speed(size: int, seconds: float) -> str:
    """KB/s with three significant digits or more: 0.62, 21.5, 46,346."""
    kbps = size / KB / max(seconds, 1e-9)
    return f"{kbps:.2f}" if kbps < 10 else f"{kbps:.1f}" if kbps < 100 else f"{kbps:,.0f}"


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    """File and codec name left-aligned, the numbers right-aligned."""
    padded = (cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(cells, widths, strict=True)))
    return "  ".join(padded)


def run(inputs: Sequence[tuple[str, bytes]], codecs: Sequence[Codec], write: Callable[[str], None]) -> list[Result]:
    """Measure every codec on every input; ``write`` gets the table's header, then each line as it is measured."""
    names = {"file": [name for name, _ in inputs], "codec": [codec.name for codec in codecs]}
    widths = [max([len(column), least, *map(len, names.get(column, []))]) for column, least in COLUMNS.items()]
    write(_line(list(COLUMNS), widths))
    results = []
    for file, data in inputs:
        for codec in codecs:
            results.append(measure(codec, file, data))
            write(_line(_cells(results[-1]), widths))
    return results
