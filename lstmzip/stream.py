"""File-object access to archives, like ``gzip.open``.

The model needs the whole input to lay out its streams, so a writer collects what is written and
compresses it on ``close()``, and a reader decodes (and verifies) the whole archive on open.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import BinaryIO

from lstmzip.codec import compress, decompress
from lstmzip.fileio import AtomicOutput
from lstmzip.presets import DEFAULT_LEVEL, Preset


class _ArchiveWriter(io.BytesIO):
    """Collects bytes; on close, compresses them into the target file or file object."""

    def __init__(self, target: Path | BinaryIO, overwrite: bool, level: str | int | Preset, device: str) -> None:
        super().__init__()
        self._target, self._overwrite, self._level, self._device = target, overwrite, level, device

    def close(self) -> None:
        if self.closed:
            return
        archive = compress(self.getvalue(), self._level, self._device)
        super().close()
        if isinstance(self._target, Path):
            with AtomicOutput(self._target, force=self._overwrite) as out:
                out.write(archive)
                out.commit()
        else:
            self._target.write(archive)


def open(
    file: str | os.PathLike[str] | BinaryIO,
    mode: str = "rb",
    *,
    level: str | int | Preset = DEFAULT_LEVEL,
    device: str = "cpu",
) -> BinaryIO:
    """Open an archive for reading (``rb``) or writing (``wb``, or ``xb`` that refuses an existing file).

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
    if mode == "rb":
        data = Path(file).read_bytes() if is_path else file.read()  # type: ignore[union-attr, arg-type]
        return io.BytesIO(decompress(data, device))
    target = Path(file) if is_path else file  # type: ignore[arg-type]
    return _ArchiveWriter(target, mode == "wb", level, device)  # type: ignore[arg-type]
