"""File-object access to archives, like ``gzip.open``.

The model needs a whole frame to lay out its streams, so a writer collects what is written and
compresses it on ``close()``, and a reader decodes (and verifies) the whole archive on open, both
in frames on ``threads`` worker processes (``frames.py``).

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

from lstmzip.fileio import AtomicOutput
from lstmzip.frames import compress, decompress
from lstmzip.presets import DEFAULT_LEVEL, Preset, load_preset


class _ArchiveWriter(io.BufferedIOBase):
    """Collects bytes; on close, compresses them into the target file or file object."""

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
        self._target, self._overwrite, self._preset, self._device = target, overwrite, preset, device
        self._threads, self._frame_size = threads, frame_size
        self._buffer = io.BytesIO()
        self._output: AtomicOutput | None = None
        if isinstance(target, Path):  # refuse an existing file (xb) or an unwritable folder now
            self._output = AtomicOutput(target, force=overwrite).__enter__()
        _open_writers.add(self)

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        if self.closed:
            raise ValueError("write to a closed archive writer")
        return self._buffer.write(data)

    def close(self) -> None:
        if self.closed:
            return
        _open_writers.discard(self)
        try:
            archive = compress(
                self._buffer.getvalue(), self._preset, self._device, threads=self._threads, frame_size=self._frame_size
            )
            if self._output is None:
                self._target.write(archive)  # type: ignore[union-attr]
            else:
                self._output.write(archive)
                self._output.commit()
        finally:
            if self._output is not None:
                self._output.__exit__(None, None, None)
            self._buffer.close()
            super().close()

    def __del__(self) -> None:
        if not self.closed:
            warnings.warn(f"lstmzip writer for {self._target!r} was not closed", ResourceWarning, stacklevel=2)
            self.close()


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
    if mode == "rb":
        data = Path(file).read_bytes() if is_path else file.read()  # type: ignore[union-attr, arg-type]
        return io.BufferedReader(io.BytesIO(decompress(data, device, threads=threads)))  # type: ignore[arg-type]
    if mode == "xb" and is_path and os.path.lexists(file):  # type: ignore[arg-type]
        raise FileExistsError(f"{os.fspath(file)!r} already exists")  # type: ignore[arg-type]
    target = Path(file) if is_path else file  # type: ignore[arg-type]
    writer = _ArchiveWriter(target, mode == "wb", load_preset(level), device, threads, frame_size)  # type: ignore[arg-type]
    return writer  # type: ignore[return-value]
