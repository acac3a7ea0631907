"""Long inputs as independent frames, coded by any number of workers, streamed in flat memory.

An input is cut into frames of a fixed size (the level's, or ``frame_size``); each frame is a
complete archive whose model starts afresh, so frames code in any order on any worker and the
output depends only on the input, the level and the frame size. A multi-frame archive marks each
frame's header with its number and whether more follow (``settings.FrameMark``; docs/FORMAT.md,
"Frames"); an input of one frame carries no mark, so its archive is the single archive it always was.

Both directions read and write one frame at a time: memory is about (workers + 2) frames, whatever
the input's size, and an input of unknown length (a pipe) needs no size up front.
"""

from __future__ import annotations

import io
import itertools
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from lstmzip import container, settings, workers
from lstmzip.errors import CorruptArchiveError, LstmzipError, OutOfMemoryError, TruncatedArchiveError
from lstmzip.presets import DEFAULT_LEVEL, Preset, load_preset
from lstmzip.settings import SINGLE_FRAME, FrameMark

Progress = Callable[[int, int], None]
"""Called with (original bytes done, archive bytes so far), as ``codec.Progress``."""

# Frame size by level. Not in the level files: the decoder never needs it (each frame's header
# has its own size), and a level file's digest is what old archives' level references pin, so a
# change here changes no level reference. A frame's model starts afresh, so a frame much smaller
# than the input loses what the model would have learnt: at the default level enwik6 in frames of
# 256 KiB took 7.4 % more bytes and in 512 KiB frames 3.7 %, bible.txt at the fast level in 2 MiB
# frames 1.8 % (benchmarks/results/scaling.md). 16 MiB keeps every large test text (up to 4 MB) in
# one frame; measurements on larger texts may lower it.
FRAME_SIZES = {"fast": 16 << 20, "default": 16 << 20, "best": 16 << 20}
OTHER_FRAME_SIZE = 16 << 20  # a preset that is not a shipped level
MAX_FRAME_SIZE = 1 << 32
_SIZE = re.compile(r"^(\d+)([KMG]?)i?B?$", re.IGNORECASE)
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


class FrameSizeError(LstmzipError):
    """A frame size that cannot be used."""


def parse_size(text: str) -> int:
    """``123``, ``64K``, ``8M``, ``1G`` (binary units, as xz's --block-size) in bytes."""
    match = _SIZE.match(text.strip())
    if not match:
        raise FrameSizeError(f"frame size {text!r} is not a size (use e.g. 512K, 8M or 1G)")
    return checked_frame_size(int(match.group(1)) * _UNITS[match.group(2).upper()])


def checked_frame_size(size: int) -> int:
    if not 1 <= size <= MAX_FRAME_SIZE:
        raise FrameSizeError(f"frame size must be from 1 byte to {MAX_FRAME_SIZE >> 30} GiB, not {size}")
    return size


def frame_size_for(preset: Preset) -> int:
    return FRAME_SIZES.get(preset.name, OTHER_FRAME_SIZE)


@dataclass(frozen=True)
class Totals:
    original: int  # bytes of content
    archive: int  # bytes of archive
    crc: int  # CRC32 of the content


def encode_frame(data: bytes, preset: Preset, device: str, mark: FrameMark, progress: Progress | None = None) -> bytes:
    """One frame's archive (runs in a worker)."""
    from lstmzip import codec

    return b"".join(codec.encode(data, preset, device, progress, mark))


def decode_frame(archive: bytes, device: str, progress: Progress | None = None) -> bytes:
    """One frame's content, every check made (runs in a worker)."""
    from lstmzip import codec

    return codec.decompress(archive, device, progress)


def _input_frames(source: BinaryIO, frame_size: int) -> Iterator[tuple[bytes, FrameMark]]:
    """The frames of ``source`` with their marks; one frame is read ahead to know which is last."""
    current, number = _read_frame(source, frame_size), 0
    while True:
        following = _read_frame(source, frame_size) if len(current) == frame_size else b""
        if number == 0 and not following:
            yield current, SINGLE_FRAME
            return
        yield current, FrameMark(number, int(bool(following)))
        if not following:
            return
        current, number = following, number + 1


def _read_frame(source: BinaryIO, size: int) -> bytes:
    pieces, left = [], size
    while left:
        piece = source.read(left)
        if not piece:
            break
        pieces.append(piece)
        left -= len(piece)
    return b"".join(pieces)


class _Counter:
    """Bytes done so far; progress within the frame being coded in this process adds to them."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress, self.original, self.archive, self.crc = progress, 0, 0, 0

    def within(self) -> Progress | None:
        if self.progress is None:
            return None
        original, archive, progress = self.original, self.archive, self.progress
        return lambda done, written: progress(original + done, archive + written)

    def add(self, content: bytes, archive_size: int, report: bool) -> None:
        """Count a frame that is done; ``report`` it where its coder did not (a worker elsewhere)."""
        self.original += len(content)
        self.archive += archive_size
        self.crc = zlib.crc32(content, self.crc)
        if report and self.progress:
            self.progress(self.original, self.archive)

    def totals(self) -> Totals:
        return Totals(self.original, self.archive, self.crc)


def compress_stream(
    source: BinaryIO,
    write: Callable[[bytes], object],
    level: str | int | Preset = DEFAULT_LEVEL,
    device: str = "cpu",
    progress: Progress | None = None,
    *,
    threads: int = 1,
    frame_size: int | None = None,
    cluster: str | None = None,
) -> Totals:
    """Compress ``source`` to ``write`` frame by frame (see the module's docstring)."""
    preset = load_preset(level)
    size = checked_frame_size(frame_size or frame_size_for(preset))
    counter = _Counter(progress)
    frames = _input_frames(source, size)
    first = next(frames)
    # One frame needs no worker: a small input does not wait for processes to start.
    pool = workers.InProcess() if first[1] == SINGLE_FRAME else workers.make_pool(threads, cluster)
    pending: list[bytes] = []  # the content of each frame in flight, for the totals

    def calls() -> Iterator[tuple[Callable[..., bytes], tuple[object, ...], Progress | None]]:
        for data, mark in itertools.chain([first], frames):
            pending.append(data)
            yield encode_frame, (data, preset, device, mark), counter.within()

    with pool:
        for archive in workers.ordered(pool, calls()):
            write(archive)
            counter.add(pending.pop(0), len(archive), not pool.reports_progress)
    return counter.totals()


def frame_mark(header: container.Header) -> FrameMark:
    """Where the archive of ``header`` stands among frames (format 14 had none)."""
    if header.major == 14:
        return SINGLE_FRAME
    values, _ = settings.unpack_fields(header.settings, settings.SCHEMA)
    if values["more_frames"] not in (0, 1):
        raise CorruptArchiveError("header settings are malformed (more_frames is neither 0 nor 1)")
    return FrameMark(values["frame"], values["more_frames"])


def archive_frames(source: BinaryIO) -> Iterator[tuple[bytes, container.Header]]:
    """The archives of ``source`` one at a time, each frame sequence checked: numbers run 0, 1, 2 ...
    and end with a frame that says no more follow (else the archive was cut, reordered or spliced)."""
    expected, first = 0, True
    while (archive := container.next_archive(source, first)) is not None:
        first = False
        header, _ = container.read_header(archive)
        mark = frame_mark(header)
        if mark.frame != expected:
            raise CorruptArchiveError(f"frame {mark.frame} where frame {expected} belongs (archive is damaged)")
        expected = expected + 1 if mark.more_frames else 0
        yield archive, header
    if expected:
        raise TruncatedArchiveError(f"archive is truncated (frame {expected} and after are missing)")


def decompress_stream(
    source: BinaryIO,
    write: Callable[[bytes], object],
    device: str = "cpu",
    progress: Progress | None = None,
    *,
    threads: int = 1,
    cluster: str | None = None,
) -> Totals:
    """Decode the archives of ``source`` to ``write`` frame by frame, every check made."""
    counter = _Counter(progress)
    sizes: list[int] = []  # the archive bytes of each frame in flight

    def calls() -> Iterator[tuple[Callable[..., bytes], tuple[object, ...], Progress | None]]:
        for archive, _ in archive_frames(source):
            sizes.append(len(archive))
            yield decode_frame, (archive, device), counter.within()

    try:
        with workers.make_pool(threads, cluster) as pool:
            for content in workers.ordered(pool, calls()):
                write(content)
                counter.add(content, sizes.pop(0), not pool.reports_progress)
    except MemoryError as error:
        raise OutOfMemoryError("not enough memory to decode this archive") from error
    return counter.totals()


def compress(
    data: bytes | bytearray | memoryview,
    level: str | int | Preset = DEFAULT_LEVEL,
    device: str = "cpu",
    progress: Progress | None = None,
    *,
    threads: int = 1,
    frame_size: int | None = None,
    cluster: str | None = None,
) -> bytes:
    """Compress ``data`` (any bytes-like object) with the preset of ``level`` (a name, 1..9, or a
    ``Preset``), in frames of ``frame_size`` bytes (default: the level's) on ``threads`` worker
    processes (0: one a core) or the Dask scheduler at ``cluster``; the bytes depend on neither."""
    out = io.BytesIO()
    source = io.BytesIO(memoryview(data))  # TypeError for what is not bytes-like
    compress_stream(source, out.write, level, device, progress, threads=threads, frame_size=frame_size, cluster=cluster)
    return out.getvalue()


def decompress(
    archive: bytes | memoryview,
    device: str = "cpu",
    progress: Progress | None = None,
    *,
    threads: int = 1,
    cluster: str | None = None,
) -> bytes:
    """Decode an archive, or several one after another (their contents one after another); raise an
    ``ArchiveError`` unless every checksum and every frame's place matches."""
    out = io.BytesIO()
    decompress_stream(io.BytesIO(archive), out.write, device, progress, threads=threads, cluster=cluster)
    return out.getvalue()
