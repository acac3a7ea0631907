"""What the scripts that build shipped files (priors, dictionaries) share: reading their training
texts, and writing a file into ``lstmzip/data/`` with the line that pins its digest."""

from __future__ import annotations

import gzip
import hashlib
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "lstmzip" / "data"  # this checkout's, not the installed package's
PRIORS = DATA / "priors"
DICTIONARIES = DATA / "dictionaries"


def read_texts(paths: list[Path]) -> bytes:
    """The files concatenated in the order given; ``.gz`` files decompressed."""
    return b"".join(gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes() for p in paths)


def write_pinned(out: Path, name: str, suffix: str, blob: bytes, detail: str) -> None:
    """Write ``out/name+suffix``; say what it holds on stderr and print its pin line (name: SHA-256)."""
    path = out / (name + suffix)
    path.write_bytes(blob)
    print(f"{path}: {len(blob)} bytes, {detail}", file=sys.stderr)
    print(f'    "{name}": "{hashlib.sha256(blob).hexdigest()}",')
