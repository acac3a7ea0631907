"""Train a level's prior: ``python scripts/train_prior.py LEVEL NAME TEXT... [--streams N] [--max-bytes N]``.

Writes ``lstmzip/data/priors/NAME.prior`` (the master weights after the level's model read the texts, see
``lstmzip/priors.py``) and prints the line that pins its digest in ``assets.PRIORS``. The texts (``.gz``
files are read decompressed) are concatenated in the order given and cut into documents of
256 KiB, each word-coded on its own as a file of that size would be, and
read in lock-step by ``--streams`` streams (more streams: more text per second, fewer updates),
in an order shuffled with ``--seed`` (so the learning rate's decay does not favour the last text).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

from shipped import PRIORS, read_texts, write_pinned

from lstmzip import codec, priors
from lstmzip.presets import load_preset

DOCUMENT_BYTES = 1 << 18


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("level")
    parser.add_argument("name")
    parser.add_argument("texts", nargs="+", type=Path)
    parser.add_argument("--streams", type=int, default=64)
    parser.add_argument("--max-bytes", type=int, default=1 << 40, help="stop after this many bytes of shuffled text")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=PRIORS)
    args = parser.parse_args()
    text = read_texts(args.texts)
    documents = [text[i : i + DOCUMENT_BYTES] for i in range(0, len(text), DOCUMENT_BYTES)]
    random.Random(args.seed).shuffle(documents)
    kept, total = [], 0
    for document in documents:
        if total >= args.max_bytes:
            break
        kept.append(document)
        total += len(document)
    started = time.perf_counter()

    def report(done: int, _written: int) -> None:
        print(f"\r{done / 1e6:.2f} MB coded bytes, {time.perf_counter() - started:.0f} s", end="", file=sys.stderr)

    model = codec.train(kept, load_preset(args.level), args.streams, report)
    print(file=sys.stderr)  # ends the progress line
    detail = f"{total} bytes of text, {model.step_count} updates"
    write_pinned(args.out, args.name, priors.SUFFIX, priors.pack(model.master.numpy()), detail)


if __name__ == "__main__":
    main()
