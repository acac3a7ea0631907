"""Benchmark lstmzip against gzip, bzip2, xz, zstd, brotli, PPMd and zpaq.

    python benchmarks/run.py [--quick] [--levels fast,default,best] [--repeats N] [--out benchmarks/results] [FILES...]

With no FILES it reads the corpus in ``../shared/corpus/`` (relative to the repository root) in
place. ``--quick`` measures a few small files, each cut to 20 KB, with level ``fast`` only: a few
minutes. The full run (13.7 MB, three levels) takes about 5 hours on a 2-core machine (README,
"Benchmarks"). The harness itself is ``benchmarks/harness.py`` (needs ``pip install -e '.[bench]'``
for the peers and the plot); ``lstmzip bench`` is the package's own, smaller comparison.
"""

from __future__ import annotations

import sys

from harness import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
