"""lstmzip: lossless compression with an online-learning LSTM.

The codec (and torch) load on first use, so importing lstmzip and ``lstmzip --help`` are instant.

>>> import lstmzip
>>> archive = lstmzip.compress(b"hello hello hello", level="fast")
>>> lstmzip.decompress(archive)
b'hello hello hello'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lstmzip.errors import ArchiveError, LstmzipError

if TYPE_CHECKING:
    from lstmzip.describe import ArchiveInfo, info
    from lstmzip.frames import compress, decompress
    from lstmzip.stream import open

__version__ = "0.21.0"
__all__ = ["ArchiveError", "ArchiveInfo", "LstmzipError", "__version__", "compress", "decompress", "info", "open"]

_LAZY = {
    "compress": "lstmzip.frames",
    "decompress": "lstmzip.frames",
    "open": "lstmzip.stream",
    "info": "lstmzip.describe",
    "ArchiveInfo": "lstmzip.describe",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'lstmzip' has no attribute {name!r}")
