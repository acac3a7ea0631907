"""The ``lstmzip`` command: argument parsing and file policy only.

Behaves like gzip/xz/zstd, called with a subcommand (``lstmzip compress FILE``) or gzip-style
(``lstmzip FILE``, ``lstmzip -d FILE.lstmz``): ``FILE`` becomes ``FILE.lstmz`` (the input is kept unless ``--rm``),
no file or ``-`` means standard input to standard output, exit codes 0 (ok), 1 (error) and
2 (warning), and every problem is one line on stderr: ``lstmzip: FILE: what went wrong``.
torch is imported only when a command needs the codec, so ``--help`` answers at once.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from typer._click.exceptions import NoArgsIsHelpError, UsageError  # typer >= 0.26 carries its own click

from lstmzip.errors import LstmzipError
from lstmzip.fileio import (
    STDIO,
    AtomicOutput,
    FilePolicyError,
    StdoutOutput,
    is_terminal,
    open_source,
    read_source,
    regular_file_size,
)

if TYPE_CHECKING:
    from lstmzip.codec import Progress
    from lstmzip.frames import Totals

EXIT_OK, EXIT_ERROR, EXIT_WARNING, EXIT_INTERRUPTED = 0, 1, 2, 130

DEFAULT_SUFFIX = ".lstmz"

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    help=(
        "Lossless compression with an online-learning LSTM. Levels -1..-9 (fast, default, best).\n\n"
        "gzip-style calls work too: lstmzip FILE, lstmzip -dc FILE.lstmz, lstmzip -t FILE.lstmz, "
        "lstmzip --list FILE.lstmz, tar cf - DIR | lstmzip > DIR.tar.lstmz."
    ),
)

Files = Annotated[
    list[str] | None, typer.Argument(help="Files to process; none or '-' means stdin.", show_default=False)
]
Output = Annotated[str | None, typer.Option("-o", "--output", help="Write to this file (one input only).")]
ToStdout = Annotated[bool, typer.Option("-c", "--stdout", help="Write to standard output, keep the input.")]
Force = Annotated[
    bool, typer.Option("-f", "--force", help="Overwrite existing files; allow a terminal as data stream.")
]
Keep = Annotated[bool, typer.Option("-k", "--keep", help="Keep the input file (the default).")]
Remove = Annotated[bool, typer.Option("--rm", help="Remove the input after the output is written and verified.")]
Suffix = Annotated[str, typer.Option("-S", "--suffix", help="Suffix of compressed files.")]
Quiet = Annotated[bool, typer.Option("-q", "--quiet", help="No progress, summaries or warnings.")]
Verbose = Annotated[bool, typer.Option("-v", "--verbose", help="More detail; tracebacks for internal errors.")]
Device = Annotated[str, typer.Option("--device", help="cpu, cuda or auto. Archives are identical on each.")]
Threads = Annotated[
    int, typer.Option("-T", "--threads", min=0, help="Worker processes, one frame each (0: one per core).")
]
FrameSize = Annotated[
    str | None,
    typer.Option("--frame-size", help="Code independent frames of SIZE bytes (512K, 8M, 1G; default: the level's)."),
]
Cluster = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        envvar="LSTMZIP_CLUSTER",
        help="Send frames to the workers of the Dask scheduler at ADDRESS (tcp://HOST:8786).",
        show_default=False,
    ),
]
Level = Annotated[
    str, typer.Option("-l", "--level", help="fast, default, best, or 1..9 (also -1 .. -9).", show_default=True)
]


@dataclass
class Report:
    """What happened to one file, for the exit code."""

    code: int = EXIT_OK


def _say(message: str) -> None:
    print(f"lstmzip: {printable(message)}", file=sys.stderr)


def _human(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.3g} {unit}"
        size /= 1000
    raise AssertionError


@contextmanager
def _progress(label: str, total: int, enabled: bool) -> Iterator[Progress | None]:
    """A rich progress bar on stderr (bytes, KB/s, ETA, running bits per byte) when stderr is a terminal."""
    if not enabled or not is_terminal(sys.stderr) or total == 0:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    columns += (TimeRemainingColumn(), TextColumn("{task.fields[bpb]}"))
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total, bpb="")

        def update(done: int, coded: int) -> None:
            bar.update(task, completed=done, bpb=f"{8 * coded / max(done, 1):.3f} bpb")

        yield update


@dataclass
class Job:
    """One command's settings; :meth:`run` applies them to each file independently."""

    output: str | None = None
    to_stdout: bool = False
    force: bool = False
    keep: bool = False  # the default anyway; given explicitly it conflicts with --rm
    remove: bool = False
    suffix: str = DEFAULT_SUFFIX
    quiet: bool = False
    verbose: bool = False
    device: str = "cpu"
    threads: int = 1
    cluster: str | None = None
    written: str | None = None  # the output of the current file, once committed

    def run(self, files: list[str] | None, action: Callable[[str], int]) -> NoReturn:
        names = files or [STDIO]
        if self.output is not None and len(names) > 1:
            _say("-o/--output takes one input file only")
            raise typer.Exit(EXIT_ERROR)
        if self.remove and (self.to_stdout or self.keep):
            _say("--rm cannot be combined with -c/--stdout or -k/--keep")
            raise typer.Exit(EXIT_ERROR)
        if not self.suffix:
            _say("the suffix must not be empty")
            raise typer.Exit(EXIT_ERROR)
        worst = EXIT_OK
        for name in names:
            worst = max(worst, self._guarded(name, action))
            if worst == EXIT_INTERRUPTED:
                break
        raise typer.Exit(worst)

    def _guarded(self, name: str, action: Callable[[str], int]) -> int:
        """Run ``action`` on one file; turn every failure into one line on stderr."""
        shown = "<stdin>" if name == STDIO else name
        self.written = None
        try:
            return action(name)
        except KeyboardInterrupt:
            if self.written is None:
                _say(f"{shown}: interrupted; partial output removed")
            else:  # interrupted while verifying before --rm: the archive is whole, the input stays
                _say(f"{shown}: interrupted; {self.written} was written but not verified, the input is kept")
            return EXIT_INTERRUPTED
        except LstmzipError as error:
            _say(f"{shown}: {error}")
        except OSError as error:
            _say(f"{shown}: {error.strerror or error}")
        except MemoryError:
            _say(f"{shown}: out of memory")
        except Exception as error:  # a bug: still one line, the traceback only on request
            _say(f"{shown}: internal error: {type(error).__name__}: {error}")
            if self.verbose:
                traceback.print_exc()
        return EXIT_ERROR

    def target(self, name: str, derived: Callable[[str], str]) -> str | None:
        """Where the output goes: a path, or None for standard output."""
        if self.output is not None:
            return None if self.output == STDIO else self.output
        if self.to_stdout or name == STDIO:
            return None
        return derived(name)

    def sink(self, target: str | None, name: str) -> AtomicOutput | StdoutOutput:
        if target is None:
            return StdoutOutput()
        return AtomicOutput(Path(target), self.force, None if name == STDIO else Path(name))

    def finish(self, name: str, target: str | None) -> None:
        """After the output is committed (and verified): remove the input if asked."""
        if self.remove and name != STDIO and target is not None:
            Path(name).unlink()

    def summary(self, name: str, original: int, archive: int, target: str | None, seconds: float) -> None:
        """zstd-style line: ``file : 23.1% (1.00 MB => 231 KB, file.lstmz) 1.85 bpb 18 KB/s``.

        Like zstd, only with ``-v`` when the data went to stdout (``target`` None): a pipeline stays quiet.
        """
        if self.quiet or (target is None and not self.verbose):
            return
        shown = "<stdin>" if name == STDIO else name
        where = target if target is not None else "<stdout>"
        ratio = f"{100 * archive / original:.1f}%" if original else "-"
        bpb = f"{8 * archive / original:.3f} bpb " if original else ""
        speed = original / max(seconds, 1e-9) / 1000
        print(
            f"{shown} : {ratio} ({_human(original)} => {_human(archive)}, {where}) {bpb}{speed:.1f} KB/s",
            file=sys.stderr,
        )


def _compress_one(job: Job, level: str | int, frame_size: int | None, name: str) -> int:
    from lstmzip import frames

    if name != STDIO and name.endswith(job.suffix) and job.output is None and not job.to_stdout:
        if not job.quiet:
            _say(f"{name}: already has suffix {job.suffix} -- skipped")
        return EXIT_WARNING
    target = job.target(name, lambda n: n + job.suffix)
    if target is None and is_terminal(sys.stdout) and not job.force:
        raise FilePolicyError("refusing to write compressed data to a terminal (use -f to force)")
    start = time.perf_counter()
    with open_source(name, job.force) as source, job.sink(target, name) as out:
        with _progress(Path(name).name, regular_file_size(source), not job.quiet) as progress:
            totals = frames.compress_stream(
                source, out.write, level, job.device, progress,
                threads=job.threads, frame_size=frame_size, cluster=job.cluster,
            )  # fmt: skip
        out.commit()
    job.written = target
    seconds = time.perf_counter() - start
    if job.remove and target is not None:
        _verify_written(job, Path(target), totals)
    job.finish(name, target)
    job.summary(name, totals.original, totals.archive, target, seconds)
    return EXIT_OK


def _verify_written(job: Job, target: Path, expected: Totals) -> None:
    """Decode the archive as written on disk before an input may be removed (costs one decode)."""
    from lstmzip import frames

    with target.open("rb") as archive:
        decoded = frames.decompress_stream(
            archive, lambda _: None, job.device, threads=job.threads, cluster=job.cluster
        )
    if (decoded.original, decoded.crc) != (expected.original, expected.crc):
        target.unlink()
        raise LstmzipError(f"{target} did not verify; removed it and kept the input")


def _decode_source(job: Job, name: str, write: Callable[[bytes], object]) -> tuple[Totals, float]:
    """Decode one archive file or stdin (which may hold several archives) to ``write``: (totals, seconds)."""
    from lstmzip import frames

    if name == STDIO and is_terminal(sys.stdin) and not job.force:
        raise FilePolicyError("refusing to read compressed data from a terminal (use -f to force)")
    start = time.perf_counter()
    with open_source(name, job.force) as source:
        total = _content_size(name, job) if regular_file_size(source) else 0
        with _progress(Path(name).name, total, not job.quiet) as progress:
            totals = frames.decompress_stream(
                source, write, job.device, progress, threads=job.threads, cluster=job.cluster
            )
    return totals, time.perf_counter() - start


def _content_size(name: str, job: Job) -> int:
    """The content's size from the headers of an archive file, for the progress bar (0: no bar)."""
    from lstmzip import frames

    if job.quiet or not is_terminal(sys.stderr):
        return 0
    with open_source(name, job.force) as source:
        return sum(header.original_size for _, header in frames.archive_frames(source))


def _strip_suffix(job: Job, name: str) -> str:
    if not name.endswith(job.suffix) or name == job.suffix:
        raise FilePolicyError(f"unknown suffix (expected {job.suffix}); use -o or -c")
    return name[: -len(job.suffix)]


def _decompress_one(job: Job, name: str) -> int:
    target = job.target(name, lambda n: _strip_suffix(job, n))
    if target is not None and Path(target).exists() and not job.force:  # fail before the long decode
        raise FilePolicyError(f"{target} already exists (use -f to overwrite)")
    with job.sink(target, name) as out:
        totals, seconds = _decode_source(job, name, out.write)
        out.commit()
    job.finish(name, target)
    job.summary(name, totals.original, totals.archive, target, seconds)
    return EXIT_OK


def _test_one(job: Job, name: str) -> int:
    totals, seconds = _decode_source(job, name, lambda _: None)
    if job.verbose:
        job.summary(name, totals.original, totals.archive, "OK", seconds)
    return EXIT_OK


def _info_one(job: Job, name: str) -> int:
    from lstmzip.describe import info

    parts = info(read_source(name, job.force))
    for number, part in enumerate(parts, 1):
        lines = {"file": "<stdin>" if name == STDIO else name}
        if len(parts) > 1:
            lines["part"] = f"{number} of {len(parts)} (archives one after another)"
        lines.update(part.describe())
        width = max(map(len, lines))
        print("\n" * (number > 1) + "\n".join(f"{key:<{width}} : {printable(value)}" for key, value in lines.items()))
    return EXIT_OK


def printable(text: str) -> str:
    """``text`` with every character a terminal would act on (ESC, CR, LF, ...) written as an escape."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def _level(value: str) -> str | int:
    return int(value) if value.isdigit() else value


@app.command()
def compress(
    files: Files = None,
    output: Output = None,
    to_stdout: ToStdout = False,
    force: Force = False,
    keep: Keep = False,
    remove: Remove = False,
    suffix: Suffix = DEFAULT_SUFFIX,
    level: Level = "default",
    quiet: Quiet = False,
    verbose: Verbose = False,
    device: Device = "cpu",
    threads: Threads = 1,
    frame_size: FrameSize = None,
    cluster: Cluster = None,
) -> None:
    """Compress FILEs to FILE.lstmz (or stdin to stdout)."""
    from lstmzip.frames import parse_size

    job = Job(output, to_stdout, force, keep, remove, suffix, quiet, verbose, device, threads, cluster)
    try:
        size = parse_size(frame_size) if frame_size is not None else None
    except LstmzipError as error:
        _usage_error(str(error))
    job.run(files, lambda name: _compress_one(job, _level(level), size, name))


@app.command()
def decompress(
    files: Files = None,
    output: Output = None,
    to_stdout: ToStdout = False,
    force: Force = False,
    keep: Keep = False,
    remove: Remove = False,
    suffix: Suffix = DEFAULT_SUFFIX,
    quiet: Quiet = False,
    verbose: Verbose = False,
    device: Device = "cpu",
    threads: Threads = 1,
    cluster: Cluster = None,
) -> None:
    """Decompress FILE.lstmz to FILE (or stdin to stdout), checking every checksum."""
    job = Job(output, to_stdout, force, keep, remove, suffix, quiet, verbose, device, threads, cluster)
    job.run(files, lambda name: _decompress_one(job, name))


@app.command()
def test(
    files: Files = None,
    force: Force = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
    device: Device = "cpu",
    threads: Threads = 1,
    cluster: Cluster = None,
) -> None:
    """Decode archives and verify their checksums; write nothing."""
    job = Job(force=force, quiet=quiet, verbose=verbose, device=device, threads=threads, cluster=cluster)
    job.run(files, lambda name: _test_one(job, name))


@app.command()
def info(files: Files = None, verbose: Verbose = False) -> None:
    """Show archive headers: sizes, ratio, level, model, format; decodes nothing."""
    job = Job(verbose=verbose)
    job.run(files, lambda name: _info_one(job, name))


BenchFiles = Annotated[
    list[Path] | None, typer.Argument(help="Files to measure, each read into memory.", show_default=False)
]
BenchLevels = Annotated[
    list[str] | None,
    typer.Option(
        "-l",
        "--level",
        help="lstmzip level: fast, default, best, 1..9 (also -1 .. -9); repeat for several (default: all three).",
        show_default=False,
    ),
]


@app.command()
def bench(files: BenchFiles = None, levels: BenchLevels = None, device: Device = "cpu") -> None:
    """Compare lstmzip's levels with gzip, bzip2 and xz on FILEs: sizes, bits per byte, speeds; round trips verified."""
    from lstmzip import bench as measuring

    if not files:
        _say("bench: name the files to measure")
        raise typer.Exit(EXIT_ERROR)
    try:
        inputs = measuring.read_inputs(files)
        codecs = measuring.codecs_for([_level(name) for name in levels or ()], device)
        measuring.run(inputs, codecs, lambda line: print(line, flush=True))  # each line as it is measured
    except OSError as error:
        _say(f"{error.filename}: {error.strerror}")
    except LstmzipError as error:
        _say(str(error))
    else:
        return
    raise typer.Exit(EXIT_ERROR)


def _version(value: bool) -> None:
    if value:
        from importlib import metadata  # 25 ms: only here

        from lstmzip import __version__
        from lstmzip.container import FORMAT_MAJOR, FORMAT_MINOR

        versions = {name: metadata.version(name) for name in ("torch", "constriction")}
        print(
            f"lstmzip {__version__} (archive format {FORMAT_MAJOR}.{FORMAT_MINOR}; "
            f"torch {versions['torch']}, constriction {versions['constriction']})"
        )
        raise typer.Exit(EXIT_OK)


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("-V", "--version", callback=_version, is_eager=True, help="Show versions and exit.")
    ] = False,
) -> None:
    """Lossless compression with an online-learning LSTM."""


_NUMBERED_LEVEL = re.compile(r"^-([1-9])$")
COMMANDS = ("compress", "decompress", "test", "info", "bench")
_ROOT_OPTIONS = ("-h", "--help", "-V", "--version")
_MODES = {
    "-z": "compress",
    "--compress": "compress",
    "-d": "decompress",
    "--decompress": "decompress",
    "--uncompress": "decompress",
    "-t": "test",
    "--test": "test",
    "--list": "info",
}
_MODE_LETTERS = {flag[1]: flag for flag in _MODES if len(flag) == 2}  # z, d, t
_SWITCH_CLUSTER = re.compile(r"^-[cfkqvzdt]{2,}$")  # boolean short options written together (-dc, -kf)
_TAKES_VALUE = ("-o", "--output", "-S", "--suffix", "-l", "--level", "--device", "-T", "--threads")
_TAKES_VALUE += ("--frame-size", "--cluster")


class ModeConflictError(LstmzipError):
    """A gzip-style call names two operations (-d and -t, ...)."""


def _gzip_style(args: list[str], stdin_is_terminal: bool) -> list[str]:
    """``lstmzip [-z|-d|-t|--list] [OPTIONS] [FILE...]`` as the subcommand call it stands for.

    gzip, xz and zstd users type ``lstmzip FILE`` and ``lstmzip -dc FILE.lstmz``: the operation is
    a flag (compress when none), also inside a cluster of switches. With no arguments at all,
    a pipe is compressed (``tar cf - . | lstmzip > a.lstmz``) and a terminal gets the help.
    """
    if not args:
        return [] if stdin_is_terminal else ["compress"]
    modes: list[str] = []
    rest: list[str] = []
    value_next = False
    for index, arg in enumerate(args):
        if arg == "--":
            rest += args[index:]
            break
        if value_next:
            value_next = False
        elif arg in _MODES:
            modes.append(arg)
            continue
        elif _SWITCH_CLUSTER.match(arg):
            modes += [_MODE_LETTERS[letter] for letter in arg[1:] if letter in _MODE_LETTERS]
            switches = "".join(letter for letter in arg[1:] if letter not in _MODE_LETTERS)
            if switches:
                rest.append(f"-{switches}")
            continue
        else:
            value_next = arg in _TAKES_VALUE
        rest.append(arg)
    commands = {_MODES[mode] for mode in modes}
    if len(commands) > 1:
        raise ModeConflictError(f"{' and '.join(sorted(set(modes)))} ask for different operations; give one")
    return [commands.pop() if commands else "compress", *rest]


def normalize_args(args: list[str], stdin_is_terminal: bool = True) -> list[str]:
    """The subcommand call for ``args``: gzip-style calls get their subcommand (:func:`_gzip_style`),
    and ``-1`` .. ``-9`` become ``--level N`` (click has no numeric flags)."""
    if not args or args[0] not in COMMANDS + _ROOT_OPTIONS:
        args = _gzip_style(args, stdin_is_terminal)
    out: list[str] = []
    for index, arg in enumerate(args):
        if arg == "--":
            out += args[index:]
            break
        match = _NUMBERED_LEVEL.match(arg)
        out += ["--level", match.group(1)] if match else [arg]
    return out


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM cleans up like Ctrl-C


def main(args: list[str] | None = None) -> NoReturn:
    """The ``lstmzip`` command. A usage error is one line and gzip's hint, exit 1 (2 means a warning)."""
    signal.signal(signal.SIGTERM, _terminate)
    # The command codes each frame on one thread (more cores get worker processes, which inherit this), so
    # NumPy's OpenBLAS need start no threads: otherwise it starts one per core, and they spin after each
    # product (0.1-0.15 s of a 4 KB file's 1.1 s on 2 cores). Set before NumPy loads; a user's value stands.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        call = normalize_args(sys.argv[1:] if args is None else args, is_terminal(sys.stdin))
        code = app(args=call, prog_name="lstmzip", standalone_mode=False)
    except ModeConflictError as error:
        _usage_error(str(error))
    except NoArgsIsHelpError as error:  # a bare call at a terminal: the help
        error.show()
        code = EXIT_OK
    except UsageError as error:
        _usage_error(error.format_message())
    except typer.Abort:
        code = EXIT_INTERRUPTED
    sys.exit(code or EXIT_OK)


def _usage_error(message: str) -> NoReturn:
    _say(message.replace("\n", " "))
    print("Try 'lstmzip --help' for more information.", file=sys.stderr)
    sys.exit(EXIT_ERROR)
