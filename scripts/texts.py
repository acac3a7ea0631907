"""Reading the training texts of the scripts that build shipped files (priors, dictionaries)."""

from __future__ import annotations

import gzip
from pathlib import Path


def read_texts(paths: list[Path]) -> bytes:
    """The files concatenated in the order given; ``.gz`` files decompressed."""
    return b"".join(gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes() for p in paths)
