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
      it (docs/notebook, "Priors from more kinds of text"), and so were text-f9, text-d9 and
      text-b9 (format 12, with the column context), text-f10, text-d10 and text-b10 (format 13,
      the column also an input of the network) and text-f11, text-d11 and text-b11 (format 14,
      the words of two-byte codes also an input).
  ``wide`` (48,433,898 bytes, 2,071 files): ``prose`` and, from the packages python3.11-doc,
      linux-doc, debian-handbook and debian-reference-en, Python's manual as reStructuredText, three
      parts of the kernel's documentation (admin-guide, process, filesystems), the Debian
      Administrator's Handbook in HTML and the Debian Reference as text. Priors trained on it gained
      at most 0.4 % and were not shipped (docs/notebook, "Priors from technical manuals too").
      Installing python3.11-doc also adds its manual to ``/usr/share/info``, which ``docs`` leaves
      out so that it stays the same.
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
WIDE = (
    "/usr/share/doc/python3.11/html/_sources/**/*.rst.txt",
    "/usr/share/doc/linux-doc-6.1/Documentation/admin-guide/**/*.rst.gz",
    "/usr/share/doc/linux-doc-6.1/Documentation/process/**/*.rst.gz",
    "/usr/share/doc/linux-doc-6.1/Documentation/filesystems/**/*.rst.gz",
    "/usr/share/doc/debian-handbook/html/en-US/*.html",
    "/usr/share/debian-reference/debian-reference.en.txt.gz",
)
LEFT_OUT = {
    "fortunes/literature",  # quotes of books
    "fortunes/ascii-art",  # pictures (folders, such as fortunes/off/, are not files)
    "info/python3.11.info.gz",  # python3.11-doc's manual again; ``wide`` reads its rst sources
}
"""Files no set reads, as folder/name."""


def _left_out(path: Path) -> bool:
    folder = path.parent.name
    return f"{folder}/{path.name}" in LEFT_OUT or (folder == "fortunes" and "." in path.name)  # fortune's indexes


def texts(patterns: tuple[str, ...]) -> list[Path]:
    """The files the glob ``patterns`` name, without fortune's index files and left-out files, sorted."""
    found = {path for pattern in patterns for path in Path("/").glob(pattern.lstrip("/")) if path.is_file()}
    return sorted(path for path in found if not _left_out(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sets = {"docs": DOCS, "prose": DOCS + PROSE, "wide": DOCS + PROSE + WIDE}
    parser.add_argument("--set", choices=sets, default="prose")
    args = parser.parse_args()
    print("\n".join(map(str, texts(sets[args.set]))))


if __name__ == "__main__":
    main()
