"""Benchmark harness: lstmzip side by side with the compressors people actually use.

``benchmarks/run.py`` is the command line; this module is the library behind it. It imports neither
lstmzip nor any peer library itself: every heavy import happens inside the function that needs it, so
that a worker process holds only the library it measures (see *Peak memory*). ``lstmzip bench``
is the installed package's own small comparison (lstmzip's levels beside gzip, bzip2 and xz on
the user's files); this harness is the repository's full one.

What is measured, and why this way:

* **Isolation.** Each (file, compressor) pair is measured in a fresh Python process (``subprocess``
  running ``python -c``, the job handed over as a pickle file). That is the only way to get an honest
  per-compressor peak memory figure (a peak is a high-water mark: in one long-lived process it would
  only ever show the largest run so far), and it keeps one peer's allocations or crashes from
  colouring the next measurement.
* **Peak memory** (``peak_rss_mb``) is that worker process's own peak resident set after all its runs
  (``VmHWM`` on Linux; see :func:`_max_rss_mb` for why not ``ru_maxrss``), 1 MB = 10^6 bytes:
  interpreter + the compressor's library + input and output buffers + the codec's working memory,
  for compression and decompression together. It is what a user's process would need, not the
  codec's allocations alone. ``startup_rss_mb`` is the same high-water mark taken after importing the
  library and reading the input, before the first call, so ``peak - startup`` approximates what
  the coding itself added (memory freed after the imports and reused by the coder is not seen).
  For lstmzip the startup figure is dominated by importing torch.
* **Speed** is wall clock (``time.perf_counter``) around the library call only: no process start,
  import or file reading. 1 KB = 1000 bytes, speeds are input bytes per second for both directions.
  A direction whose first run takes under :data:`SHORT_RUN_S` is run ``repeats`` times and the
  median reported (short runs are noisy); lstmzip runs once per direction (minutes per file), or
  ``--lstmzip-runs`` times with the median reported.
* **Single thread** everywhere, because lstmzip's coding calls run on one thread
  (``numerics.coding_threads``):
  zpaq gets ``threads=1``; the other peers are single-threaded by default. Workers also start with
  :data:`SINGLE_THREAD_ENVIRONMENT`, so a baseline release without that policy (0.20.0's torch ran
  two OpenMP threads, which spin against other work: 20x slower on a loaded host) is measured
  like for like.
* **Round trip** is checked on every decompression run: output must equal the input byte for byte,
  otherwise the row is ``FAILED`` (never silently accepted) and :func:`exit_code` is non-zero.
* **Missing peers** are never skipped: the parent imports each peer's library before measuring; an
  ``ImportError`` gives one ``missing: <reason>`` row per file.

Published figures for compressors that cannot be run here (cmix, paq8px, lstm-compress, ...) are
kept apart from measurements: rows of kind ``reference`` with the status
:data:`REFERENCE_STATUS`, added by :func:`write_results`.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime
import math
import os
import pickle
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lstmzip.presets import Preset

KB = 1000  # bytes; speeds are KB/s of input in both directions
SCRIPT = "benchmarks/run.py"  # the command that runs this harness
REPO_ROOT = Path(__file__).resolve().parent.parent
SHORT_RUN_S = 1.0  # a direction faster than this is repeated and the median reported
QUICK_LIMIT = 20_000  # --quick reads at most this many bytes of each input
LEVELS = ("fast", "default", "best")
GROUP_DIRS = {"canterbury": "Canterbury", "calgary": "Calgary", "large": "large", "enwik": "enwik"}
GROUP_ORDER = ("Canterbury", "Calgary", "large", "enwik")
OTHER_GROUP = "other"
QUICK_FILES = (
    "enwik/enwik4",
    "canterbury/alice29.txt",
    "canterbury/grammar.lsp",
    "canterbury/xargs.1",
    "canterbury/fields.c",
)
ENWIK_FILES = ("enwik4", "enwik5", "enwik6")
README_FILES = ("enwik6", "book1", "alice29.txt", "world192.txt")  # the files of issue 5's targets
REFERENCE_STATUS = "reference (published, not measured by this harness)"
OK = "ok"


# --------------------------------------------------------------------------------------------------
# Compressors


@dataclass(frozen=True)
class Codec:
    """A loaded compressor: two byte-to-byte functions and the version string of what implements them."""

    compress: Callable[[bytes], bytes]
    decompress: Callable[[bytes], bytes]
    version: str


SINGLE_THREAD_ENVIRONMENT = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@dataclass(frozen=True)
class Compressor:
    """A compressor to measure, as something a worker process can rebuild.

    ``loader`` must be a module-level function (it is pickled by reference into the worker) that
    imports the library and returns a :class:`Codec`; an ``ImportError`` from it means "missing".
    """

    name: str
    loader: Callable[..., Codec]
    args: tuple[Any, ...] = ()
    is_lstmzip: bool = False
    interpreter: str | None = None  # another installation's Python (a baseline release); None: this one

    def load(self) -> Codec:
        return self.loader(*self.args)


def _version(distribution: str) -> str:
    try:
        return f"{distribution} {metadata.version(distribution)}"
    except metadata.PackageNotFoundError:
        return distribution


def _load_gzip(level: int) -> Codec:
    import gzip
    import zlib

    # mtime=0: no timestamp, so the output depends on the input only (the gzip CLI also stores a name)
    compress = partial(gzip.compress, compresslevel=level, mtime=0)
    return Codec(compress, gzip.decompress, f"zlib {zlib.ZLIB_RUNTIME_VERSION}")


def _load_bzip2(level: int) -> Codec:
    import bz2

    return Codec(partial(bz2.compress, compresslevel=level), bz2.decompress, f"Python {platform.python_version()} bz2")


def _load_xz(preset: int) -> Codec:
    import lzma

    return Codec(
        partial(lzma.compress, format=lzma.FORMAT_XZ, preset=preset | lzma.PRESET_EXTREME),
        lzma.decompress,
        f"Python {platform.python_version()} lzma",
    )


def _load_zstd(level: int) -> Codec:
    import zstandard

    compressor = zstandard.ZstdCompressor(level=level)  # writes the content size, so one-shot decompress works
    decompressor = zstandard.ZstdDecompressor()
    libzstd = ".".join(str(part) for part in zstandard.ZSTD_VERSION)
    return Codec(compressor.compress, decompressor.decompress, f"zstandard {zstandard.__version__}, libzstd {libzstd}")


def _load_brotli(quality: int, lgwin: int) -> Codec:
    import brotli

    return Codec(partial(brotli.compress, quality=quality, lgwin=lgwin), brotli.decompress, _version("brotli"))


def _load_ppmd(order: int, mem_mb: int) -> Codec:
    """PPMd variant H (the one 7-Zip uses). Its stream has no end mark, so the decoder must be told the
    length: a 4-byte little-endian length prefix, counted in the compressed size like any container."""
    import pyppmd

    mem = mem_mb << 20

    def compress(data: bytes) -> bytes:
        encoder = pyppmd.Ppmd7Encoder(order, mem)
        return len(data).to_bytes(4, "little") + encoder.encode(data) + encoder.flush()

    def decompress(archive: bytes) -> bytes:
        decoder = pyppmd.Ppmd7Decoder(order, mem)
        return bytes(decoder.decode(archive[4:], int.from_bytes(archive[:4], "little")))

    return Codec(compress, decompress, _version("pyppmd"))


def _load_zpaq(level: int) -> Codec:
    """One thread (the default would split the input across all cores, which costs ratio and is not a
    like-for-like with single-threaded lstmzip); ``hints=True`` does what the zpaq CLI does."""
    import zpaq

    return Codec(partial(zpaq.compress, level=level, threads=1, hints=True), zpaq.decompress, _version("zpaq"))


def _load_lstmzip(level: str | Preset) -> Codec:
    from lstmzip import __version__
    from lstmzip.codec import compress, decompress
    from lstmzip.presets import load_preset

    preset = load_preset(level)  # an unknown or malformed level fails here, before any timing
    return Codec(
        partial(compress, level=preset, device="cpu"),
        partial(decompress, device="cpu"),
        f"lstmzip {__version__}",
    )


def peer_compressors() -> list[Compressor]:
    """The peers, strongest settings of each, named after the equivalent command line and library."""
    return [
        Compressor("gzip -9 (zlib)", _load_gzip, (9,)),
        Compressor("bzip2 -9 (bz2)", _load_bzip2, (9,)),
        Compressor("xz -9e (lzma)", _load_xz, (9,)),
        Compressor("zstd -19 (zstandard)", _load_zstd, (19,)),
        Compressor("zstd --ultra -22 (zstandard)", _load_zstd, (22,)),
        Compressor("brotli -q 11 -w 24 (brotli)", _load_brotli, (11, 24)),
        Compressor("PPMd var.H order 16, 256 MB (pyppmd)", _load_ppmd, (16, 256)),
        Compressor("zpaq -m5, 1 thread (zpaq)", _load_zpaq, (5,)),
    ]


def lstmzip_compressor(level: str | Preset, baseline: str | None = None) -> Compressor:
    """lstmzip at a level name or at a ``Preset`` object (tests use a tiny one); with ``baseline`` (the
    Python of another installation, e.g. a venv holding the previous release), that installation's."""
    name = level if isinstance(level, str) else level.name
    label = f"lstmzip {name}" if baseline is None else f"lstmzip {name} (baseline)"
    return Compressor(label, _load_lstmzip, (level,), is_lstmzip=True, interpreter=baseline)


# --------------------------------------------------------------------------------------------------
# Inputs


@dataclass(frozen=True)
class Input:
    """A file to measure, read in place; ``limit`` keeps only its first bytes (``--quick``)."""

    path: Path
    limit: int | None = None

    @property
    def size(self) -> int:
        size = self.path.stat().st_size
        return size if self.limit is None else min(size, self.limit)

    @property
    def truncated(self) -> bool:
        return self.limit is not None and self.path.stat().st_size > self.limit

    @property
    def name(self) -> str:
        return f"{self.path.name} (first {self.limit} bytes)" if self.truncated else self.path.name

    @property
    def group(self) -> str:
        return GROUP_DIRS.get(self.path.parent.name.lower(), OTHER_GROUP)

    def read(self) -> bytes:
        with self.path.open("rb") as handle:
            return handle.read() if self.limit is None else handle.read(self.limit)


def corpus_files(corpus: Path, quick: bool) -> list[Path]:
    """The default inputs: the whole corpus, or the ``--quick`` subset (small files that still cover
    text, source code, markup and a man page)."""
    if quick:
        paths = [corpus / name for name in QUICK_FILES]
    else:
        paths = [
            *sorted(p for p in (corpus / "canterbury").iterdir() if p.is_file()),
            *sorted(p for p in (corpus / "calgary").iterdir() if p.is_file()),
            *sorted(p for p in (corpus / "large").iterdir() if p.is_file()),
            *(corpus / "enwik" / name for name in ENWIK_FILES),
        ]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"corpus files not found: {', '.join(missing)}")
    return paths


# --------------------------------------------------------------------------------------------------
# Results


@dataclass
class Row:
    """One line of the results: a (file, compressor) measurement, or a published reference figure.

    Measured fields are ``None`` when there is nothing to report (missing peer, failure, reference).
    """

    group: str
    file: str
    compressor: str
    kind: str  # "lstmzip", "peer" or "reference"
    status: str  # "ok", "FAILED: ...", "error: ...", "missing: ..." or REFERENCE_STATUS
    original_bytes: int | None = None
    compressed_bytes: int | None = None
    bpb: float | None = None  # bits per byte: 8 * compressed / original
    compress_s: float | None = None
    decompress_s: float | None = None
    compress_kbps: float | None = None
    decompress_kbps: float | None = None
    compress_runs: int | None = None
    decompress_runs: int | None = None
    peak_rss_mb: float | None = None
    startup_rss_mb: float | None = None
    version: str = ""
    path: str = ""
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.status == OK

    @property
    def failed(self) -> bool:
        """A failure of the benchmark (wrong round trip, crash), as opposed to a missing peer."""
        return self.status.startswith(("FAILED", "error"))

    @property
    def ratio(self) -> float | None:
        if self.original_bytes and self.compressed_bytes:
            return self.original_bytes / self.compressed_bytes
        return None


def bits_per_byte(compressed: int, original: int) -> float:
    """8 * compressed / original.

    >>> bits_per_byte(25, 100)
    2.0
    """
    return 8 * compressed / original if original else math.nan


def _kbps(size: int, seconds: float) -> float:
    return size / KB / max(seconds, 1e-9)


def exit_code(rows: Iterable[Row]) -> int:
    """1 if any row failed (a wrong round trip or a crash), else 0. Missing peers do not fail the run."""
    return 1 if any(row.failed for row in rows) else 0


@dataclass(frozen=True)
class Reference:
    """A published figure for a compressor this harness cannot run."""

    compressor: str
    file: str
    bpb: float
    compress_kbps: float | None = None  # "about", as published; None where no speed was given
    note: str = ""


_LSTM_COMPRESS = "lstm-compress v3 + english.dic preprocessing"
_LSTM_COMPRESS_RAW = "lstm-compress v3, no dictionary"
_PAQ8PX = "paq8px v216 -8L"
_CMIX = "cmix v21"
_ZPAQ_REF = "zpaq -m5"
_PPMD_REF = "PPMd (7-Zip)"
_XEON = "measured on a 2-core Xeon"
REFERENCES: tuple[Reference, ...] = (
    Reference(_LSTM_COMPRESS, "enwik6", 1.846, 9.0, "about 9 KB/s"),
    Reference(_LSTM_COMPRESS, "book1", 2.199, 9.0, "speed: about 9 KB/s as given for enwik6"),
    Reference(_LSTM_COMPRESS, "alice29.txt", 2.283, 9.0, "speed: about 9 KB/s as given for enwik6"),
    Reference(_LSTM_COMPRESS, "world192.txt", 1.372, 9.0, "speed: about 9 KB/s as given for enwik6"),
    Reference(_LSTM_COMPRESS_RAW, "enwik6", 2.409),
    Reference(_LSTM_COMPRESS_RAW, "alice29.txt", 2.811),
    Reference(_PAQ8PX, "enwik6", 1.549, 2.3, "about 2.3 KB/s"),
    Reference(_PAQ8PX, "book1", 1.890, 2.3, "about 2.3 KB/s"),
    Reference(_PAQ8PX, "alice29.txt", 1.729, 2.3, "about 2.3 KB/s"),
    Reference(_CMIX, "alice29.txt", 1.634, 1.2, "about 1.2 KB/s or slower, 20 GB of memory"),
    Reference(_CMIX, "enwik6", 1.387, 1.2, "from its author's page; about 1.2 KB/s or slower, 20 GB of memory"),
    Reference(_ZPAQ_REF, "enwik6", 1.840, None, _XEON),
    Reference(_ZPAQ_REF, "book1", 2.093, None, _XEON),
    Reference(_ZPAQ_REF, "alice29.txt", 1.978, None, _XEON),
    Reference(_ZPAQ_REF, "world192.txt", 1.185, None, _XEON),
    Reference(_PPMD_REF, "enwik6", 2.045, None, _XEON),
    Reference(_PPMD_REF, "book1", 2.218, None, _XEON),
    Reference(_PPMD_REF, "alice29.txt", 2.050, None, _XEON),
    Reference(_PPMD_REF, "world192.txt", 1.263, None, _XEON),
)
_REFERENCE_GROUPS = {"enwik6": "enwik", "book1": "Calgary", "alice29.txt": "Canterbury", "world192.txt": "large"}


def reference_rows(files: Iterable[str] | None = None) -> list[Row]:
    """Reference rows, for the given file names only (all of them when ``files`` is None)."""
    wanted = None if files is None else set(files)
    return [
        Row(
            group=_REFERENCE_GROUPS.get(ref.file, OTHER_GROUP),
            file=ref.file,
            compressor=ref.compressor,
            kind="reference",
            status=REFERENCE_STATUS,
            bpb=ref.bpb,
            compress_kbps=ref.compress_kbps,
            note=ref.note,
        )
        for ref in REFERENCES
        if wanted is None or ref.file in wanted
    ]


# --------------------------------------------------------------------------------------------------
# Measuring (the worker side runs in a fresh process)


@dataclass
class Measurement:
    """What a worker sends back."""

    status: str
    compressed_bytes: int | None = None
    compress_times: list[float] = field(default_factory=list)
    decompress_times: list[float] = field(default_factory=list)
    peak_rss_mb: float | None = None
    startup_rss_mb: float | None = None
    version: str = ""


def _max_rss_mb() -> float | None:
    """This process's peak resident set so far, in MB (10^6 bytes).

    Linux: ``VmHWM`` from ``/proc/self/status``, the high-water mark of this process's own address
    space. Not ``ru_maxrss``: Linux carries that across fork+exec, so a worker started by a parent
    that has torch loaded would report the parent's few hundred MB. Elsewhere ``ru_maxrss`` (KiB,
    bytes on macOS), which the parent's size may inflate the same way.
    """
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii", errors="replace")
        kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
        return kib * 1024 / 1e6
    except (OSError, StopIteration, ValueError, IndexError):
        pass
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1e6 if sys.platform == "darwin" else peak * 1024 / 1e6


def _mismatch(expected: bytes, got: bytes) -> str:
    first = next(
        (i for i, (a, b) in enumerate(zip(expected, got, strict=False)) if a != b), min(len(expected), len(got))
    )
    return f"FAILED: round trip mismatch ({len(got)} bytes back for {len(expected)}, first difference at byte {first})"


def _again(times: list[float], runs: int, short_only: bool) -> bool:
    """Run (again)? Always once; up to ``runs`` times, with ``short_only`` only when the first run was short."""
    return not times or (len(times) < runs and (not short_only or times[0] < SHORT_RUN_S))


def measure(compressor: Compressor, source: Input, repeats: int, *, lstmzip_runs: int = 1) -> Measurement:
    """Load, compress, decompress and verify, in this process. Exceptions become the status.

    A peer's direction runs up to ``repeats`` times when its first run was short; lstmzip's runs
    ``lstmzip_runs`` times whatever its length (a speed target is read from a median of runs).
    """
    try:
        codec = compressor.load()
    except ImportError as error:
        return Measurement(f"missing: {error}")
    except Exception as error:
        return Measurement(f"error: loading failed: {type(error).__name__}: {error}")
    data = source.read()
    startup = _max_rss_mb()
    runs, short_only = (max(1, lstmzip_runs), False) if compressor.is_lstmzip else (max(1, repeats), True)
    result = Measurement(OK, startup_rss_mb=startup, version=codec.version)

    archive = b""
    try:
        while _again(result.compress_times, runs, short_only):
            start = time.perf_counter()
            archive = codec.compress(data)
            result.compress_times.append(time.perf_counter() - start)
    except Exception as error:
        result.status = f"error: compress raised {type(error).__name__}: {error}"
    else:
        result.compressed_bytes = len(archive)
        try:
            while _again(result.decompress_times, runs, short_only):
                start = time.perf_counter()
                restored = codec.decompress(archive)
                result.decompress_times.append(time.perf_counter() - start)
                if restored != data:
                    result.status = _mismatch(data, restored)
                    break
        except Exception as error:
            result.status = f"FAILED: decompress raised {type(error).__name__}: {error}"
    result.peak_rss_mb = _max_rss_mb()
    return result


def _worker_main(job_path: str) -> None:
    """Entry point of a worker process (``python -c``): read the job file, measure, write the result.

    The job file holds the parent's ``sys.path`` first, so that a compressor defined in a test module
    unpickles here exactly as it did there; or None in another installation's interpreter (a
    baseline), which must import its own lstmzip.
    """
    job = Path(job_path)
    with job.open("rb") as handle:
        parent_path = pickle.load(handle)
        if parent_path is not None:
            sys.path[:] = parent_path
        try:
            compressor, source, repeats, lstmzip_runs = pickle.load(handle)
            result = measure(compressor, source, repeats, lstmzip_runs=lstmzip_runs)
        except BaseException as error:  # report anything, even KeyboardInterrupt, rather than die silently
            result = Measurement(f"error: worker raised {type(error).__name__}: {error}")
    # Plain fields, not the object: a job that names a test module's loader makes the worker load the
    # harness again, and pickle refuses an object whose class is no longer the one its module holds.
    job.with_suffix(".result").write_bytes(pickle.dumps(dataclasses.asdict(result)))


# A worker loads this file under this module's name: the job's pickles name the harness's classes and
# loaders by module, and the harness is a script's neighbour (``harness`` when benchmarks/run.py
# runs, ``harness_script`` in the tests), not a module the worker could import by name.
_WORKER = """\
import importlib.util, sys
spec = importlib.util.spec_from_file_location({module!r}, {path!r})
harness = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = harness
spec.loader.exec_module(harness)
harness._worker_main({job!r})
"""


def measure_isolated(compressor: Compressor, source: Input, repeats: int, *, lstmzip_runs: int = 1) -> Measurement:
    """:func:`measure` in a fresh Python process, so its ``ru_maxrss`` is this measurement's alone.

    A plain ``subprocess`` rather than ``multiprocessing``: its spawn mode re-runs the parent's main
    script in the worker, which breaks for ``python -`` and would re-run an unguarded script.
    """
    with tempfile.TemporaryDirectory(prefix="lstmzip-bench-") as folder:
        job = Path(folder) / "job"
        try:
            path = None if compressor.interpreter else sys.path
            job.write_bytes(pickle.dumps(path) + pickle.dumps((compressor, source, repeats, lstmzip_runs)))
        except (pickle.PicklingError, AttributeError, TypeError) as error:
            return Measurement(f"error: cannot hand this compressor to a worker: {type(error).__name__}: {error}")
        code = _WORKER.format(module=__name__, path=__file__, job=str(job))
        # another installation's interpreter runs isolated (-I): neither the working directory (this
        # checkout, whose lstmzip it would import) nor PYTHONPATH comes first on its path
        python = [compressor.interpreter, "-I"] if compressor.interpreter else [sys.executable]
        one_thread = {**os.environ, **SINGLE_THREAD_ENVIRONMENT}
        process = subprocess.run([*python, "-c", code], stdin=subprocess.DEVNULL, env=one_thread, check=False)
        result_path = job.with_suffix(".result")
        if not result_path.exists():
            return Measurement(f"error: worker died without a result (exit code {process.returncode})")
        return Measurement(**pickle.loads(result_path.read_bytes()))


def _availability(compressor: Compressor) -> str | None:
    """None if the compressor loads here (or in its interpreter); else the status every row of it gets."""
    if compressor.interpreter is not None:
        check = subprocess.run([compressor.interpreter, "-I", "-c", "import lstmzip"], capture_output=True, check=False)
        return None if check.returncode == 0 else f"missing: {compressor.interpreter} cannot import lstmzip"
    try:
        compressor.load()
    except ImportError as error:
        return f"missing: {type(error).__name__}: {error} (pip install -e '.[bench]')"
    except Exception as error:
        return f"error: loading failed: {type(error).__name__}: {error}"
    return None


def _row(compressor: Compressor, source: Input, result: Measurement) -> Row:
    size = source.size
    row = Row(
        group=source.group,
        file=source.name,
        compressor=compressor.name,
        kind="lstmzip" if compressor.is_lstmzip else "peer",
        status=result.status,
        original_bytes=size,
        peak_rss_mb=result.peak_rss_mb,
        startup_rss_mb=result.startup_rss_mb,
        version=result.version,
        path=str(source.path),
    )
    if result.compressed_bytes is not None:
        row.compressed_bytes = result.compressed_bytes
        row.bpb = bits_per_byte(result.compressed_bytes, size)
    if result.compress_times:
        row.compress_s = statistics.median(result.compress_times)
        row.compress_kbps = _kbps(size, row.compress_s)
        row.compress_runs = len(result.compress_times)
    if result.decompress_times:
        row.decompress_s = statistics.median(result.decompress_times)
        row.decompress_kbps = _kbps(size, row.decompress_s)
        row.decompress_runs = len(result.decompress_times)
    return row


def _describe(index: int, total: int, row: Row) -> str:
    head = f"[{index}/{total}] {row.file} · {row.compressor}: "
    if row.bpb is None or row.compress_kbps is None:
        return head + row.status
    speeds = f"{_fmt_speed(row.compress_kbps)}/{_fmt_speed(row.decompress_kbps)} KB/s"
    return head + f"{row.bpb:.3f} bpb, {speeds}, peak {_fmt(row.peak_rss_mb, 0)} MB, {row.status}"


def run_benchmark(
    files: list[Path],
    levels: Sequence[str | Preset],
    quick: bool,
    repeats: int,
    output_dir: Path,
    progress: Callable[[str], None] | None = None,
    *,
    peers: Sequence[Compressor] | None = None,
    lstmzip_runs: int = 1,
    baseline: str | None = None,
) -> list[Row]:
    """Measure every file with every peer and every lstmzip level; return the rows.

    ``quick`` reads only the first :data:`QUICK_LIMIT` bytes of each file. ``levels`` are names or
    ``Preset`` objects; ``peers`` defaults to :func:`peer_compressors`; ``baseline``, another
    installation's Python, adds its lstmzip at each level after this one's. Peers run first over all
    files (seconds), then lstmzip level by level (hours on the full corpus); ``results.csv`` in
    ``output_dir`` is rewritten after every measurement so an interrupted run keeps what it did.
    Call :func:`write_results` afterwards for the full set of outputs.
    """
    inputs = [Input(Path(p), QUICK_LIMIT if quick else None) for p in files]
    versions = [None] if baseline is None else [None, baseline]
    lstmzips = [lstmzip_compressor(level, python) for level in levels for python in versions]
    compressors = [*(peer_compressors() if peers is None else peers), *lstmzips]
    output_dir.mkdir(parents=True, exist_ok=True)
    say = progress or (lambda message: None)
    total = len(inputs) * len(compressors)
    rows: list[Row] = []
    for compressor in compressors:
        unavailable = _availability(compressor)
        if unavailable:
            say(f"{compressor.name}: {unavailable}")
        for source in inputs:
            result = (
                Measurement(unavailable)
                if unavailable
                else measure_isolated(compressor, source, repeats, lstmzip_runs=lstmzip_runs)
            )
            row = _row(compressor, source, result)
            rows.append(row)
            say(_describe(len(rows), total, row))
            _write_csv(_ordered(rows, compressors, inputs), output_dir / "results.csv")
    return _ordered(rows, compressors, inputs)


def _ordered(rows: list[Row], compressors: list[Compressor], inputs: list[Input]) -> list[Row]:
    """Group by group (canonical order), then file (as given), then compressor (as given)."""
    file_rank = {(source.name, str(source.path)): i for i, source in enumerate(inputs)}
    compressor_rank = {c.name: i for i, c in enumerate(compressors)}
    return sorted(
        rows, key=lambda r: (_group_rank(r.group), file_rank.get((r.file, r.path), 0), compressor_rank[r.compressor])
    )


def _group_rank(group: str) -> tuple[int, str]:
    return (GROUP_ORDER.index(group), "") if group in GROUP_ORDER else (len(GROUP_ORDER), group)


# --------------------------------------------------------------------------------------------------
# Aggregates and output


@dataclass(frozen=True)
class Aggregate:
    """One compressor over one file group: total compressed bits / total bytes, total bytes / total time."""

    group: str
    compressor: str
    kind: str
    files: int  # files measured ok
    of_files: int  # files in the group
    bpb: float
    compress_kbps: float
    decompress_kbps: float


def aggregates(rows: Iterable[Row]) -> list[Aggregate]:
    measured = [r for r in rows if r.kind != "reference"]
    group_files: dict[str, set[str]] = {}
    for row in measured:
        group_files.setdefault(row.group, set()).add(row.file)
    buckets: dict[tuple[str, str], list[Row]] = {}
    for row in measured:
        if row.ok and row.compressed_bytes is not None and row.compress_s and row.decompress_s:
            buckets.setdefault((row.group, row.compressor), []).append(row)
    result = []
    for (group, compressor), members in buckets.items():
        original = sum(r.original_bytes or 0 for r in members)
        result.append(
            Aggregate(
                group,
                compressor,
                members[0].kind,
                len(members),
                len(group_files[group]),
                bits_per_byte(sum(r.compressed_bytes or 0 for r in members), original),
                _kbps(original, sum(r.compress_s or 0.0 for r in members)),
                _kbps(original, sum(r.decompress_s or 0.0 for r in members)),
            )
        )
    return result


def _write_csv(rows: Sequence[Row], path: Path) -> None:
    names = [f.name for f in dataclasses.fields(Row)]
    temporary = path.with_suffix(".csv.tmp")
    with temporary.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*names, "ratio"])
        for row in rows:
            values = [getattr(row, name) for name in names] + [row.ratio]
            writer.writerow(["" if v is None else (f"{v:.6g}" if isinstance(v, float) else v) for v in values])
    temporary.replace(path)


def _fmt(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _fmt_speed(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.2f}" if value < 10 else f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def machine_summary() -> dict[str, str]:
    """CPU model, cores, memory, OS, versions: what a reader needs to compare speeds."""
    from lstmzip import __version__ as lstmzip_version

    cpu = platform.processor() or platform.machine()
    memory = ""
    try:
        info = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        cpu = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), cpu)
        meminfo = Path("/proc/meminfo").read_text(encoding="utf-8", errors="replace")
        total_kib = next(int(line.split()[1]) for line in meminfo.splitlines() if line.startswith("MemTotal"))
        memory = f"{total_kib / (1 << 20):.1f} GiB"
    except (OSError, StopIteration, ValueError, IndexError):
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "CPU": cpu,
        "cores": f"{os.cpu_count()} logical, {usable} usable by this process (all compressors run single-threaded)",
        "memory": memory or "unknown",
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "torch": _version("torch").removeprefix("torch "),
        "lstmzip": lstmzip_version + _git_revision(),  # the imported code's own version, not install metadata
    }


def _git_revision() -> str:
    """`` (git abc1234, uncommitted changes)`` when the imported lstmzip is a checkout's, so results name the code.

    The results folder itself does not count: a run rewrites results.csv as it goes."""
    import lstmzip

    try:
        root = Path(lstmzip.__file__).resolve().parent.parent
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)benchmarks/results"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return f" (git {head}{', uncommitted changes' if dirty else ''})"


def _markdown_table(header: Sequence[str], lines: Iterable[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out.extend("| " + " | ".join(_cell(c) for c in line) + " |" for line in lines)
    return out


_FILE_HEADER = ("file", "compressor", "bytes in", "bytes out", "ratio", "bpb", "comp KB/s", "decomp KB/s", "peak MB")
_FILE_HEADER = (*_FILE_HEADER, "startup MB", "status")


def _file_line(row: Row) -> list[str]:
    if row.kind == "reference":
        speed = f"~{_fmt_speed(row.compress_kbps)}" if row.compress_kbps else "—"
        name = f"*{row.compressor}*"
        status = f"*{REFERENCE_STATUS}*" + (f"; {row.note}" if row.note else "")
        return [row.file, name, "—", "—", "—", f"*{row.bpb:.3f}*", speed, "—", "—", "—", status]
    name = f"**{row.compressor}**" if row.kind == "lstmzip" else row.compressor
    return [
        row.file,
        name,
        _fmt(row.original_bytes, 0) if row.original_bytes is not None else "—",
        _fmt(row.compressed_bytes, 0) if row.compressed_bytes is not None else "—",
        _fmt(row.ratio, 2),
        _fmt(row.bpb, 3),
        _fmt_speed(row.compress_kbps),
        _fmt_speed(row.decompress_kbps),
        _fmt(row.peak_rss_mb, 0),
        _fmt(row.startup_rss_mb, 0),
        row.status,
    ]


def _complete_files(rows: Iterable[Row]) -> set[str]:
    """Names of files measured whole (a truncated quick input is not comparable with a published figure)."""
    return {r.file for r in rows if r.kind != "reference" and "(first " not in r.file}


def _lstmzip_runs(rows: list[Row]) -> str:
    """How often lstmzip's directions ran in these rows: "once", or "N times (median)"."""
    runs = max((r.compress_runs or 1 for r in rows if r.kind == "lstmzip"), default=1)
    return "once" if runs == 1 else f"{runs} times (median)"


def _markdown(rows: list[Row], machine_note: str, command: str) -> str:
    measured = [r for r in rows if r.kind != "reference"]
    whole = _complete_files(measured)
    references = reference_rows()
    lines = ["# lstmzip benchmark results", ""]
    lines += [f"- **{key}**: {value}" for key, value in machine_summary().items()]
    if machine_note:
        lines.append(f"- **note**: {machine_note}")
    lines += [
        f"- **date**: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- **command**: `{command}`",
        "",
        "How to read this: bpb = bits per byte = 8 × compressed / original (lower is better); ratio = original /"
        " compressed. Speeds are wall-clock KB/s of *input* (1 KB = 1000 bytes) around the library call only,"
        f" single-threaded; peers' runs under {SHORT_RUN_S:g} s are repeated and the median taken, lstmzip runs"
        f" {_lstmzip_runs(measured)} per direction. Each measurement runs in a fresh process: *peak MB* is that"
        " process's maximum resident set (1 MB = 10^6 bytes; interpreter + library + buffers + coding, compression and"
        " decompression together),"
        " *startup MB* the same after imports and reading the input, before coding. Every row's decompressed"
        " output was compared with the input byte for byte; a mismatch is reported as FAILED."
        f" Rows in *italics* are {REFERENCE_STATUS}.",
        "",
    ]
    for group in sorted({r.group for r in measured}, key=_group_rank):
        members = [r for r in measured if r.group == group]
        lines += [f"## {group}", ""]
        table: list[list[str]] = []
        for name in dict.fromkeys(r.file for r in members):
            table += [_file_line(r) for r in members if r.file == name]
            if name in whole:
                table += [_file_line(r) for r in references if r.file == name]
        lines += [*_markdown_table(_FILE_HEADER, table), ""]
        totals = sorted((a for a in aggregates(members) if a.group == group), key=lambda a: a.bpb)
        if totals:
            lines += [
                f"### {group}: all files together (total compressed bits / total bytes; total bytes / total time)",
                "",
            ]
            lines += _markdown_table(
                ("compressor", "files", "bpb", "comp KB/s", "decomp KB/s"),
                (
                    [
                        a.compressor,
                        f"{a.files}/{a.of_files}",
                        f"{a.bpb:.3f}",
                        _fmt_speed(a.compress_kbps),
                        _fmt_speed(a.decompress_kbps),
                    ]
                    for a in totals
                ),
            )
            lines.append("")
    others = [r for r in references if r.file not in whole]
    if others:
        lines += ["## Published reference figures for files not measured whole in this run", ""]
        lines += _markdown_table(
            ("file", "compressor", "bpb", "comp KB/s", "status"),
            (
                [
                    r.file,
                    f"*{r.compressor}*",
                    f"*{r.bpb:.3f}*",
                    f"~{_fmt_speed(r.compress_kbps)}" if r.compress_kbps else "—",
                    f"*{REFERENCE_STATUS}*" + (f"; {r.note}" if r.note else ""),
                ]
                for r in others
                if r.bpb is not None
            ),
        )
        lines.append("")
    return "\n".join(lines)


def _readme_snippet(rows: list[Row]) -> str:
    """The rows for ``README_FILES`` only, for embedding in README.md."""
    measured = [r for r in rows if r.kind != "reference" and r.file in README_FILES]
    whole = _complete_files(measured)
    lines = ["| file | compressor | bpb | comp KB/s | decomp KB/s |", "|---|---|---|---|---|"]
    skipped: list[str] = []
    for name in README_FILES:
        for row in (r for r in measured if r.file == name):
            if not row.ok:
                skipped.append(f"{row.compressor} on {row.file}: {row.status}")
                continue
            label = f"**{row.compressor}**" if row.kind == "lstmzip" else row.compressor
            lines.append(
                f"| {name} | {_cell(label)} | {row.bpb:.3f} | {_fmt_speed(row.compress_kbps)}"
                f" | {_fmt_speed(row.decompress_kbps)} |"
            )
        if name in whole:
            for ref in reference_rows([name]):
                speed = f"~{_fmt_speed(ref.compress_kbps)}" if ref.compress_kbps else "—"
                lines.append(f"| {name} | *{ref.compressor} (published reference)* | *{ref.bpb:.3f}* | {speed} | — |")
    if len(lines) == 2:
        lines.append(f"| — | none of {', '.join(README_FILES)} was measured whole in this run | — | — | — |")
    if skipped:
        lines += ["", "Not shown: " + "; ".join(skipped)]
    lines += ["", f"*Published reference* rows are {REFERENCE_STATUS}. 1 KB = 1000 bytes, one thread.", ""]
    return "\n".join(lines)


_REFERENCE_STYLES = {
    _LSTM_COMPRESS: ("tab:blue", "o"),
    _LSTM_COMPRESS_RAW: ("tab:cyan", "o"),
    _PAQ8PX: ("tab:green", "s"),
    _CMIX: ("tab:purple", "D"),
    _ZPAQ_REF: ("tab:olive", "^"),
    _PPMD_REF: ("tab:brown", "v"),
}
_PEER_MARKERS = ("o", "s", "D", "^", "v", "p", "h", "P", "X", "<", ">", "8")
_LSTMZIP_COLOURS = ("#ff6b6b", "#e00000", "#8b0000", "#ff9f9f", "#b30000")


def plot(rows: list[Row], path: Path) -> None:
    """bpb against compress KB/s (log), one panel per file group, one point per compressor (aggregated)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    totals = aggregates(rows)
    groups = sorted({a.group for a in totals}, key=_group_rank) or ["(no successful measurements)"]
    whole = _complete_files(rows)
    columns = min(2, len(groups))
    lines_of_panels = math.ceil(len(groups) / columns)
    size = (7.5 * columns + 3.5, 5.2 * lines_of_panels)
    figure, axes = plt.subplots(lines_of_panels, columns, figsize=size, squeeze=False, layout="constrained")
    peer_names = list(dict.fromkeys(a.compressor for a in totals if a.kind != "lstmzip"))
    lstmzip_names = list(dict.fromkeys(a.compressor for a in totals if a.kind == "lstmzip"))
    handles: dict[str, Line2D] = {}

    for index, group in enumerate(groups):
        ax = axes[index // columns][index % columns]
        members = [a for a in totals if a.group == group]
        for a in members:
            partial_note = "" if a.files == a.of_files else f" ({a.files}/{a.of_files} files)"
            if a.kind == "lstmzip":
                colour = _LSTMZIP_COLOURS[lstmzip_names.index(a.compressor) % len(_LSTMZIP_COLOURS)]
                ax.scatter(
                    a.compress_kbps, a.bpb, marker="*", s=320, c=colour, edgecolors="black", linewidths=0.6, zorder=4
                )
                handles.setdefault(
                    a.compressor,
                    Line2D(
                        [], [], marker="*", linestyle="", markersize=16, markerfacecolor=colour, markeredgecolor="black"
                    ),
                )
                ax.annotate(
                    a.compressor + partial_note,
                    (a.compress_kbps, a.bpb),
                    xytext=(8, 6),
                    textcoords="offset points",
                    fontsize=8,
                    color="darkred",
                    fontweight="bold",
                )
            else:
                marker = _PEER_MARKERS[peer_names.index(a.compressor) % len(_PEER_MARKERS)]
                ax.scatter(a.compress_kbps, a.bpb, marker=marker, s=60, c="0.55", edgecolors="0.2", zorder=3)
                handles.setdefault(
                    a.compressor,
                    Line2D(
                        [], [], marker=marker, linestyle="", markersize=8, markerfacecolor="0.55", markeredgecolor="0.2"
                    ),
                )
                short = a.compressor.split(" (")[0] + partial_note
                below = peer_names.index(a.compressor) % 2 == 0  # alternate, so neighbours (zstd -19/-22) don't collide
                ax.annotate(
                    short,
                    (a.compress_kbps, a.bpb),
                    xytext=(6, -11 if below else 5),
                    textcoords="offset points",
                    fontsize=7,
                    color="0.25",
                )
        for ref in reference_rows():
            if ref.group != group or ref.compress_kbps is None or ref.file not in whole or ref.bpb is None:
                continue
            colour, marker = _REFERENCE_STYLES.get(ref.compressor, ("black", "o"))
            label = f"{ref.compressor} (published, not measured; one file, named at the point)"
            ax.annotate(
                ref.file,
                (ref.compress_kbps, ref.bpb),
                xytext=(7, -3),
                textcoords="offset points",
                fontsize=7,
                color=colour,
                fontstyle="italic",
            )
            ax.scatter(
                ref.compress_kbps,
                ref.bpb,
                marker=marker,
                s=90,
                facecolors="none",
                edgecolors=colour,
                linewidths=1.6,
                zorder=3,
            )
            handles.setdefault(
                label,
                Line2D(
                    [],
                    [],
                    marker=marker,
                    linestyle="",
                    markersize=9,
                    markerfacecolor="none",
                    markeredgecolor=colour,
                    markeredgewidth=1.6,
                ),
            )
        files = members[0].of_files if members else 0
        ax.set_title(f"{group} ({files} file{'s' if files != 1 else ''})")
        ax.set_xscale("log")
        ax.set_xlabel("compress speed (KB/s, 1 KB = 1000 bytes, log scale)")
        ax.set_ylabel("bits per byte (lower is better)")
        ax.grid(True, which="both", alpha=0.3)
        ax.margins(x=0.15, y=0.12)
    for index in range(len(groups), lines_of_panels * columns):
        axes[index // columns][index % columns].set_visible(False)
    figure.suptitle(
        "lstmzip vs. common compressors: bits per byte against compress speed, one thread\n"
        "(per file group: total compressed bits / total bytes; total bytes / total compress time)",
        fontsize=11,
    )
    if handles:
        figure.legend(
            list(handles.values()),
            list(handles.keys()),
            loc="outside right upper",
            fontsize=8,
            title="red stars: lstmzip; grey: peers (measured);\nhollow: published references",
            title_fontsize=8,
        )
    figure.savefig(path, dpi=120)
    plt.close(figure)


def write_results(
    rows: list[Row], output_dir: Path, machine_note: str, *, command: str | None = None
) -> dict[str, Path]:
    """Write results.csv, results.md, bpb_vs_speed.png and readme_table.md; return their paths.

    Reference rows for the files measured whole are added to the CSV (kind ``reference``) and the
    tables; the command defaults to this process's command line.
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    measured = [r for r in rows if r.kind != "reference"]
    command = command or shlex.join([Path(sys.executable).name, *sys.argv])
    everything = measured + reference_rows(sorted(_complete_files(measured)))
    paths = {
        "csv": output_dir / "results.csv",
        "markdown": output_dir / "results.md",
        "plot": output_dir / "bpb_vs_speed.png",
        "readme": output_dir / "readme_table.md",
    }
    _write_csv(everything, paths["csv"])
    paths["markdown"].write_text(_markdown(measured, machine_note, command), encoding="utf-8")
    plot(measured, paths["plot"])
    paths["readme"].write_text(_readme_snippet(measured), encoding="utf-8")
    return paths


# --------------------------------------------------------------------------------------------------
# Command line (benchmarks/run.py calls main)


def parse_levels(text: str) -> list[str]:
    """``fast,default`` -> ``["fast", "default"]``; unknown names are an error.

    >>> parse_levels("fast, best")
    ['fast', 'best']
    """
    levels = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [level for level in levels if level not in LEVELS]
    if unknown or not levels:
        raise argparse.ArgumentTypeError(f"levels must be a comma list of {', '.join(LEVELS)} (got {text!r})")
    return levels


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=SCRIPT,
        description="Measure lstmzip against gzip, bzip2, xz, zstd, brotli, PPMd and zpaq: ratio, speed, peak memory,"
        " verified round trips. Writes results.csv, results.md, bpb_vs_speed.png and readme_table.md.",
    )
    parser.add_argument("files", nargs="*", type=Path, help="files to measure (default: the corpus, see --corpus)")
    parser.add_argument(
        "--quick", action="store_true", help=f"a small subset, each file cut to {QUICK_LIMIT} bytes, level fast only"
    )
    parser.add_argument(
        "--levels",
        type=parse_levels,
        default=None,
        help="lstmzip levels, comma separated (default: all; --quick: fast)",
    )
    parser.add_argument("--repeats", type=int, default=5, help="runs per direction when a run is under 1 s (median)")
    parser.add_argument(
        "--lstmzip-runs", type=int, default=1, help="runs per direction of each lstmzip level, however long (median)"
    )
    parser.add_argument("--out", type=Path, default=None, help="output directory (default: benchmarks/results)")
    parser.add_argument("--corpus", type=Path, default=None, help="corpus directory (default: ../shared/corpus)")
    parser.add_argument("--note", default="", help="a note about the machine for the results header")
    parser.add_argument(
        "--baseline",
        default=None,
        help="the Python of another installation (e.g. the previous release's venv)"
        " whose lstmzip is measured at each level beside this one's",
    )
    parser.add_argument("--no-peers", action="store_true", help="lstmzip only (with --baseline: a release comparison)")
    return parser


def parse_args(argv: Sequence[str] | None, repo_root: Path = REPO_ROOT) -> argparse.Namespace:
    """Parse and fill in defaults that depend on other options or on the repository's location."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.lstmzip_runs < 1:
        parser.error("--repeats and --lstmzip-runs must be at least 1")
    if args.levels is None:
        args.levels = ["fast"] if args.quick else list(LEVELS)
    args.out = args.out if args.out is not None else repo_root / "benchmarks" / "results"
    args.corpus = args.corpus if args.corpus is not None else repo_root.parent / "shared" / "corpus"
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark from the command line; the exit code is non-zero if any row failed."""
    args = parse_args(argv)
    try:
        files = list(args.files) or corpus_files(args.corpus, args.quick)
    except (FileNotFoundError, NotADirectoryError) as error:
        print(f"{SCRIPT}: {error}", file=sys.stderr)
        return 2
    absent = [str(p) for p in files if not p.is_file()]
    if absent:
        print(f"{SCRIPT}: not a file: {', '.join(absent)}", file=sys.stderr)
        return 2
    started = time.perf_counter()

    def say(message: str) -> None:
        print(f"{time.perf_counter() - started:8.1f}s  {message}", file=sys.stderr, flush=True)

    rows = run_benchmark(
        files,
        args.levels,
        args.quick,
        args.repeats,
        args.out,
        say,
        peers=[] if args.no_peers else None,
        lstmzip_runs=args.lstmzip_runs,
        baseline=args.baseline,
    )
    paths = write_results(rows, args.out, args.note)
    failed = [r for r in rows if r.failed]
    missing = sorted({r.compressor for r in rows if r.status.startswith("missing")})
    say(f"done: {len(rows)} rows, {len(failed)} failed, missing peers: {', '.join(missing) or 'none'}")
    for path in paths.values():
        print(path)
    for row in failed:
        print(f"{SCRIPT}: {row.file} · {row.compressor}: {row.status}", file=sys.stderr)
    return exit_code(rows)
