"""Benchmark lstmzip against gzip, bzip2, xz, zstd, brotli, PPMd and zpaq.

    python benchmarks/run.py [--quick] [--levels fast,default,best] [--repeats N] [--out benchmarks/results] [FILES...]

With no FILES it reads the corpus in ``../shared/corpus/`` (relative to the repository root) in
place. ``--quick`` measures a few small files, each cut to 20 KB, with level ``fast`` only: a few
minutes. The full run (13.7 MB, three levels) takes about 5 hours on a 2-core machine (README,
"Benchmarks"). The harness itself lives in ``lstmzip/bench.py``; this script only supplies the
repository root for the default paths.
"""

from __future__ import annotations

import sys
from pathlib import Path

from lstmzip.bench import main

REPO_ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__":  # the guard matters: measurement workers are spawned and re-import this file
    sys.exit(main(sys.argv[1:], REPO_ROOT))
