"""Every file of the shared benchmark corpus round-trips with the default preset (slow: about 30 core-minutes).

Run with ``python -m pytest -m slow tests/test_corpus.py``; the results of runs are recorded in
``docs/notebook/`` and ``benchmarks/results/``. The corpus is read in place from ``../shared/corpus``
(or ``$LSTMZIP_CORPUS``), never copied.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

import lstmzip

CORPUS = Path(os.environ.get("LSTMZIP_CORPUS", Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"))
FILES = sorted(p for p in CORPUS.glob("*/*") if p.is_file()) if CORPUS.is_dir() else []


@pytest.mark.slow
@pytest.mark.skipif(not FILES, reason=f"no corpus at {CORPUS}")
@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.name}" for p in FILES])
def test_corpus_file_round_trips(path: Path) -> None:
    data = path.read_bytes()
    start = time.perf_counter()
    archive = lstmzip.compress(data)
    middle = time.perf_counter()
    assert lstmzip.decompress(archive) == data
    end = time.perf_counter()
    speeds = f"compress {len(data) / (middle - start) / 1e3:.1f}, decompress {len(data) / (end - middle) / 1e3:.1f}"
    bpb = 8 * len(archive) / len(data)
    print(f"{path.parent.name}/{path.name}: {len(data)} -> {len(archive)} bytes, {bpb:.3f} bpb, {speeds} KB/s")
