"""File-object access to archives, like ``gzip.open``.

Both code in frames (``frames.py``) on ``threads`` worker processes, a frame at a time: the model
needs a whole frame to lay out its streams, so a writer codes each frame once it is full (the last
on ``close()``), and a reader decodes each frame, and checks it, as the reading reaches it. Memory
is about the frames in flight, whatever the size of the whole.

A writer that is never closed still writes its archive: when it is collected, or at the latest
when the interpreter exits (before the modules it needs are torn down), with a ``ResourceWarning``
as for any file left open. Everything that can be refused (the mode, the level, an existing file
for ``xb``, an unwritable folder) is refused by ``open`` itself, before any data is taken.
"""

from __future__ import annotations

import atexit
import io
import os
import warnings
import weakref
from pathlib import Path
from typing import BinaryIO

from lstmzip import workers
from lstmzip.errors import LstmzipError
from lstmzip.fileio import AtomicOutput
from lstmzip.frames import archive_frames, checked_frame_size, decode_frame, encode_frame, frame_size_for
from lstmzip.presets import DEFAULT_LEVEL, Preset, load_preset
from lstmzip.settings import SINGLE_FRAME, FrameMark


class _ArchiveWriter(io.BufferedIOBase):
    """Codes what is written frame by frame as frames fill (``frames.py``), the last one on close: memory is
    about the frames the workers hold and the one being filled, whatever the size of the whole. The frames
    are those of ``frames.compress`` for the same bytes, so the archive is the same."""

    def __init__(
        self,
        target: Path | BinaryIO,
        overwrite: bool,
        preset: Preset,
        device: str,
        threads: int,
        frame_size: int | None,
    ) -> None:
        super().__init__()
        self._target, self._preset, self._device, self._threads = target, preset, device, threads
        self._frame_size = checked_frame_size(frame_size or frame_size_for(preset))
        self._pending = bytearray()  # written and not yet in a frame: at most one frame's worth
        self._frames = 0  # frames handed to the pool
        self._pool: workers.Pool | None = None  # started with the first full frame: a small file needs none
        self._in_flight: workers.InOrder | None = None
        self._failed = False  # a frame failed: close() keeps nothing
        self._output: AtomicOutput | None = None
        if isinstance(target, Path):  # refuse an existing file (xb) or an unwritable folder now
            self._output = AtomicOutput(target, force=overwrite).__enter__()
        _open_writers.add(self)

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        if self.closed:
            raise ValueError("write to a closed archive writer")
        if self._failed:
            raise ValueError("write to an archive writer whose coding failed")
        view = memoryview(data).cast("B")
        self._pending += view
        # a frame is cut once a byte follows it: then it is known not to be the last
        while len(self._pending) > self._frame_size:
            frame = bytes(self._pending[: self._frame_size])
            del self._pending[: self._frame_size]
            self._code(frame, FrameMark(self._frames, 1))
        return len(view)

    def _code(self, frame: bytes, mark: FrameMark) -> None:
        """Hand ``frame`` to the pool; write out the frames done first while too many are in flight."""
        try:
            if self._pool is None:  # one frame in all needs no worker, as in frames.compress_stream
                single = mark == SINGLE_FRAME
                self._pool = (workers.InProcess() if single else workers.make_pool(self._threads, None)).__enter__()
                self._in_flight = workers.InOrder(self._pool)
            assert self._in_flight is not None
            self._frames += 1
            for archive in self._in_flight.submit(encode_frame, frame, self._preset, self._device, mark):
                self._emit(archive)
        except BaseException:
            self._failed = True
            raise

    def _emit(self, archive: bytes) -> None:
        if self._output is None:
            self._target.write(archive)  # type: ignore[union-attr]
        else:
            self._output.write(archive)

    def close(self) -> None:
        if self.closed:
            return
        _open_writers.discard(self)
        error: BaseException | None = None
        try:
            if not self._failed:
                self._code(bytes(self._pending), FrameMark(self._frames, 0) if self._frames else SINGLE_FRAME)
                for archive in self._in_flight.rest():  # type: ignore[union-attr]  # set by _code
                    self._emit(archive)
                if self._output is not None:
                    self._output.commit()
        except BaseException as failure:
            error = failure
            raise
        finally:
            self._failed = self._failed or error is not None
            if self._pool is not None:  # a failure stops the workers still coding
                self._pool.__exit__(*((type(error), error, None) if error else _FAILED if self._failed else _DONE))
            if self._output is not None:  # without a commit, the temporary file goes
                self._output.__exit__(None, None, None)
            self._pending.clear()
            super().close()

    def __del__(self) -> None:
        if not self.closed:
            warnings.warn(f"lstmzip writer for {self._target!r} was not closed", ResourceWarning, stacklevel=2)
            self.close()


_DONE: tuple[None, None, None] = (None, None, None)
# how a pool is left when its frames are abandoned (a failure, or a reader closed early): its workers stop
_FAILED = (LstmzipError, LstmzipError("frames abandoned"), None)


class _ArchiveReader(io.RawIOBase):
    """Decodes an archive frame by frame as it is read, each frame checked before its bytes are given
    (``frames.py``): memory is about the frames in flight, whatever the size of the whole. A damaged
    frame, or frames cut off or out of order, raise an ``ArchiveError`` from the read that reaches them."""

    def __init__(self, source: BinaryIO, owned: bool, device: str, threads: int) -> None:
        super().__init__()
        self._source, self._owned = source, owned
        self._pool = workers.make_pool(threads, None).__enter__()
        calls = ((decode_frame, (archive, device), None) for archive, _ in archive_frames(source))
        self._contents = workers.ordered(self._pool, calls)
        self._content, self._offset = b"", 0  # the frame being read, and how far
        self._finished = False  # every frame read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while self._offset == len(self._content):
            content = next(self._contents, None)
            if content is None:
                self._finished = True
                return 0
            self._content, self._offset = content, 0
        size = min(len(buffer), len(self._content) - self._offset)
        buffer[:size] = self._content[self._offset : self._offset + size]
        self._offset += size
        return size

    def close(self) -> None:
        if self.closed:
            return
        try:
            self._contents.close()
            self._pool.__exit__(*(_DONE if self._finished else _FAILED))
            if self._owned:
                self._source.close()
        finally:
            super().close()


_open_writers: weakref.WeakSet[_ArchiveWriter] = weakref.WeakSet()


@atexit.register
def _close_open_writers() -> None:
    """Write the archives of writers still open at exit, while the codec's modules are still whole."""
    for writer in list(_open_writers):
        writer.close()


def open(
    file: str | os.PathLike[str] | BinaryIO,
    mode: str = "rb",
    *,
    level: str | int | Preset = DEFAULT_LEVEL,
    device: str = "cpu",
    threads: int = 1,
    frame_size: int | None = None,
) -> BinaryIO:
    """Open an archive for reading (``rb``) or writing (``wb``, or ``xb`` that refuses an existing file),
    coded in frames of ``frame_size`` bytes (default: the level's) by ``threads`` worker processes.

    >>> import os, tempfile, lstmzip
    >>> path = os.path.join(tempfile.mkdtemp(), "notes.txt.lstmz")
    >>> with lstmzip.open(path, "wb", level="fast") as f:
    ...     _ = f.write(b"some notes, ")
    ...     _ = f.write(b"more notes")
    >>> with lstmzip.open(path) as f:
    ...     f.read()
    b'some notes, more notes'
    """
    if mode not in ("rb", "wb", "xb"):
        raise ValueError(f"mode must be 'rb', 'wb' or 'xb', not {mode!r}")
    is_path = isinstance(file, (str, os.PathLike))
    if not is_path and not hasattr(file, "read" if mode == "rb" else "write"):
        raise TypeError(f"file must be a path or a binary file object, not {type(file).__name__}")
    if mode == "rb":  # the reader owns a file it opens, and closes it
        source = Path(file).open("rb") if is_path else file  # type: ignore[arg-type]  # noqa: SIM115
        return io.BufferedReader(_ArchiveReader(source, is_path, device, threads))  # type: ignore[arg-type, return-value]
    if mode == "xb" and is_path and os.path.lexists(file):  # type: ignore[arg-type]
        raise FileExistsError(f"{os.fspath(file)!r} already exists")  # type: ignore[arg-type]
    target = Path(file) if is_path else file  # type: ignore[arg-type]
    writer = _ArchiveWriter(target, mode == "wb", load_preset(level), device, threads, frame_size)  # type: ignore[arg-type]
    return writer  # type: ignore[return-value]
