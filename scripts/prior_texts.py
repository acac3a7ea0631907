"""Print the priors' training texts, one path a line, sorted: ``python scripts/prior_texts.py [--set NAME]``.

Every text is English documentation or prose that a Debian 12 machine has, so a prior can be
rebuilt anywhere (``python scripts/train_prior.py LEVEL NAME $(python scripts/prior_texts.py)``).
None of the benchmark corpora's files is among them (fortunes' ``literature`` file, which quotes
books, and its ``ascii-art`` are left out).

Sets:
  ``docs`` (16,385,233 bytes, 678 files): vim's help, the GNU info manuals, git's release notes, the
      common licences and perldiag.pod. The dictionary en-3 and the priors text-f7, text-d7 and
      text-b7 were built from it.
  ``prose`` (29,359,186 bytes, 926 files): ``docs`` and, from the packages jargon-text, fortunes
      and perl-doc (``apt-get install jargon-text fortunes perl-doc``), the Jargon File, the
      fortune cookie files and Perl's manual pages. text-f8, text-d8 and text-b8 were trained on
      it (docs/DESIGN.md, "Priors from more kinds of text").
"""

from __future__ import annotations

import argparse
from pathlib import Path

DOCS = (
    "/usr/share/vim/vim90/doc/*.txt",
    "/usr/share/info/*.gz",
    "/usr/share/doc/git/RelNotes/*.txt",
    "/usr/share/common-licenses/*",
    "/usr/share/perl/5.36.0/pod/perldiag.pod",
)
PROSE = (
    "/usr/share/doc/jargon-text/jargon.txt.gz",
    "/usr/share/games/fortunes/*",
    "/usr/share/perl/5.36.0/pod/*.pod",
)
FORTUNES_LEFT_OUT = {"literature", "ascii-art"}  # quotes of books; pictures (folders, such as off/, are not files)


def texts(patterns: tuple[str, ...]) -> list[Path]:
    """The files the glob ``patterns`` name, without fortune's index files and left-out files, sorted."""
    found = {path for pattern in patterns for path in Path("/").glob(pattern.lstrip("/")) if path.is_file()}
    return sorted(
        path
        for path in found
        if not (path.parent.name == "fortunes" and ("." in path.name or path.name in FORTUNES_LEFT_OUT))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=("docs", "prose"), default="prose")
    args = parser.parse_args()
    print("\n".join(map(str, texts(DOCS if args.set == "docs" else DOCS + PROSE))))


if __name__ == "__main__":
    main()
