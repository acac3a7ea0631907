"""Files, standard streams and the rules that keep user data safe. No compression here.

* Output goes to a hidden temporary file beside the target and is renamed over it only when
  complete (flushed and fsynced), so a crash, an error, Ctrl-C or even SIGKILL never leaves a
  half-written target. The temporary file is removed on every error and on Ctrl-C.
* An existing target is never replaced without ``force``; a symbolic link counts as existing even
  when it points nowhere (gzip and xz refuse it too). The input's mode, times, owner and group go
  to the output; without an input file (a pipe, the library) the output gets the umask's mode.
* Only regular files are read by name unless ``force``: a FIFO would block forever and a device
  such as ``/dev/zero`` would never end. Standard input is read whatever it is.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from lstmzip.errors import LstmzipError

STDIO = "-"


class FilePolicyError(LstmzipError):
    """A file rule refused the operation (existing output, same file, terminal, ...)."""


def read_source(name: str, force: bool = False) -> bytes:
    """The whole content of a file, or of standard input for ``-`` (see :func:`open_source`)."""
    with open_source(name, force) as source:
        return source.read()


@contextlib.contextmanager
def open_source(name: str, force: bool = False) -> Iterator[BinaryIO]:
    """A file, or standard input for ``-``, to read piece by piece; other than regular files only with ``force``."""
    if name == STDIO:
        yield sys.stdin.buffer
        return
    path = Path(name)
    if path.is_dir():
        raise FilePolicyError("is a directory")
    if not force and path.exists() and not path.is_file():
        raise FilePolicyError("is not a regular file (use -f to read it anyway, or give it on stdin)")
    with path.open("rb") as source:
        yield source


def regular_file_size(source: BinaryIO) -> int:
    """The size of ``source`` if it is a regular file, else 0 (a pipe's length is unknown)."""
    try:
        info = os.fstat(source.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        return 0
    return info.st_size if stat.S_ISREG(info.st_mode) else 0


def is_terminal(stream: BinaryIO | object) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _umask_mode() -> int:
    """The mode a new file gets from the umask (0o666 less it), as ``open()`` would create it."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def _keep_attributes(source: Path, target: int) -> None:
    """The source's mode, times, owner and group on the open file ``target`` (owner only where allowed)."""
    info = source.stat()
    with contextlib.suppress(PermissionError):  # only root may give a file away
        os.fchown(target, info.st_uid, info.st_gid)
    os.fchmod(target, stat.S_IMODE(info.st_mode))
    os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns))


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
        self._refuse_existing()
        if self.target.is_dir():
            raise FilePolicyError(f"{self.target} is a directory")
        handle, name = tempfile.mkstemp(dir=self.target.parent, prefix=f".{self.target.name}.", suffix=".tmp")
        self._temp = Path(name)
        self._file = os.fdopen(handle, "wb")
        return self

    def _refuse_existing(self) -> None:
        if os.path.lexists(self.target) and not self.force:
            raise FilePolicyError(f"{self.target} already exists (use -f to overwrite)")

    def write(self, data: bytes) -> None:
        assert self._file is not None
        self._file.write(data)

    def commit(self) -> None:
        """Make the written bytes the target: flush, fsync, copy the source's mode and times, rename."""
        assert self._file is not None and self._temp is not None
        self._file.flush()
        if self.source is not None:
            _keep_attributes(self.source, self._file.fileno())
        else:
            os.fchmod(self._file.fileno(), _umask_mode())
        os.fsync(self._file.fileno())
        self._file.close()
        self._refuse_existing()  # it may have appeared while we worked
        os.replace(self._temp, self.target)
        self._temp = None

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        # A failed write (full disk, file-size limit) fails again in close()'s flush: the temporary
        # file goes all the same.
        if self._file is not None and not self._file.closed:
            with contextlib.suppress(OSError):
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
