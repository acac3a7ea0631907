"""Build a word dictionary: ``python scripts/build_dictionary.py NAME TEXT... [--out DIR]``.

Writes ``models/NAME.words.xz`` (the texts' most frequent words, ranked, see ``lstmzip/words.py``)
and prints the line that pins its digest in ``words.DICTIONARIES``. Use the priors' texts
(``scripts/train_prior.py``): a prior learns what each code means from them.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

from texts import read_texts

from lstmzip import words


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name")
    parser.add_argument("texts", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "models")
    args = parser.parse_args()
    ranked = words.rank_words(read_texts(args.texts))
    blob = words.pack_dictionary(ranked)
    path = args.out / (args.name + words.DICTIONARY_SUFFIX)
    path.write_bytes(blob)
    print(f"{path}: {len(blob)} bytes, {len(ranked)} words", file=sys.stderr)
    print(f'    "{args.name}": "{hashlib.sha256(blob).hexdigest()}",')


if __name__ == "__main__":
    main()
