"""Build a word dictionary: ``python scripts/build_dictionary.py NAME TEXT... [--out DIR]``.

Writes ``lstmzip/data/dictionaries/NAME.words`` (the texts' most frequent words, ranked, see ``lstmzip/words.py``)
and prints the line that pins its digest in ``assets.DICTIONARIES``. Use the priors' texts
(``scripts/train_prior.py``): a prior learns what each code means from them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from shipped import DICTIONARIES, read_texts, write_pinned

from lstmzip import words


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name")
    parser.add_argument("texts", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=DICTIONARIES)
    args = parser.parse_args()
    ranked = words.rank_words(read_texts(args.texts))
    write_pinned(args.out, args.name, words.DICTIONARY_SUFFIX, words.pack_dictionary(ranked), f"{len(ranked)} words")


if __name__ == "__main__":
    main()
