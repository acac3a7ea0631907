"""Files, standard streams and the rules that keep user data safe. No compression here.

* Output goes to a hidden temporary file beside the target and is renamed over it only when
  complete (flushed and fsynced), so a crash, an error, Ctrl-C or even SIGKILL never leaves a
  half-written target. The temporary file is removed on every error and on Ctrl-C.
* An existing target is never replaced without ``force``; the input's mode and times go to the output.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from lstmzip.errors import LstmzipError

STDIO = "-"


class FilePolicyError(LstmzipError):
    """A file rule refused the operation (existing output, same file, terminal, ...)."""


def read_source(name: str) -> bytes:
    """The whole content of a file, or of standard input for ``-``."""
    if name == STDIO:
        return sys.stdin.buffer.read()
    path = Path(name)
    if path.is_dir():
        raise FilePolicyError("is a directory")
    return path.read_bytes()


def is_terminal(stream: BinaryIO | object) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


class AtomicOutput:
    """Write ``target`` through a temporary file that is renamed into place by :meth:`commit`.

    Used as a context manager: leaving it without a commit (an exception, KeyboardInterrupt)
    deletes the temporary file and leaves ``target`` as it was.
    """

    def __init__(self, target: Path, force: bool, source: Path | None = None) -> None:
        self.target, self.force, self.source = target, force, source
        self._file: BinaryIO | None = None
        self._temp: Path | None = None

    def __enter__(self) -> AtomicOutput:
        if self.source is not None and same_file(self.source, self.target):
            raise FilePolicyError(f"input and output are the same file ({self.target})")
        if self.target.exists() and not self.force:
            raise FilePolicyError(f"{self.target} already exists (use -f to overwrite)")
        if self.target.is_dir():
            raise FilePolicyError(f"{self.target} is a directory")
        handle, name = tempfile.mkstemp(dir=self.target.parent, prefix=f".{self.target.name}.", suffix=".tmp")
        self._temp = Path(name)
        self._file = os.fdopen(handle, "wb")
        return self

    def write(self, data: bytes) -> None:
        assert self._file is not None
        self._file.write(data)

    def commit(self) -> None:
        """Make the written bytes the target: flush, fsync, copy the source's mode and times, rename."""
        assert self._file is not None and self._temp is not None
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        if self.source is not None:
            stat = self.source.stat()
            os.chmod(self._temp, stat.st_mode & 0o7777)
            os.utime(self._temp, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        if self.target.exists() and not self.force:  # appeared while we worked
            raise FilePolicyError(f"{self.target} already exists (use -f to overwrite)")
        os.replace(self._temp, self.target)
        self._temp = None

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._file is not None and not self._file.closed:
            self._file.close()
        if self._temp is not None:
            with contextlib.suppress(OSError):
                self._temp.unlink()


class StdoutOutput:
    """Standard output with the interface of :class:`AtomicOutput` (a pipe cannot be taken back)."""

    def __enter__(self) -> StdoutOutput:
        return self

    def write(self, data: bytes) -> None:
        sys.stdout.buffer.write(data)

    def commit(self) -> None:
        sys.stdout.buffer.flush()

    def __exit__(self, *exc: object) -> None:
        return None
