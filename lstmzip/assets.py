"""Data shipped in ``lstmzip/data/`` (level presets, priors, word dictionaries), and the check for
the files that archives depend on (priors, word dictionaries).

An archive names such a file rather than carrying it, so each name is pinned to the SHA-256 of its
contents: a build whose file differs, or that lacks it, refuses the archive with a clear error
instead of decoding garbage.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from importlib import resources
from typing import TYPE_CHECKING

from lstmzip.errors import UnsupportedFormatError

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

OPTIONAL_NAME = r"|[a-z0-9.-]{1,40}"  # what a header may name ("" for none)


def data_file(folder: str, filename: str) -> Traversable:
    """``lstmzip/data/<folder>/<filename>`` (``folder``: ``levels``, ``priors`` or ``dictionaries``)."""
    return resources.files("lstmzip") / "data" / folder / filename


def read(folder: str, filename: str) -> bytes:
    """The bytes of ``lstmzip/data/<folder>/<filename>``."""
    return data_file(folder, filename).read_bytes()


def pinned(kind: str, name: str, known: Mapping[str, str], read_named: Callable[[str], bytes]) -> bytes:
    """The contents of the ``kind`` (e.g. "prior") called ``name``, checked against ``known[name]``."""
    if name not in known:
        raise UnsupportedFormatError(f"archive needs {kind} {name!r}, which this build does not have")
    try:
        blob = read_named(name)
    except OSError as error:
        raise UnsupportedFormatError(f"{kind} {name!r} is missing from this installation") from error
    if hashlib.sha256(blob).hexdigest() != known[name]:
        raise UnsupportedFormatError(f"{kind} {name!r} of this installation is not the one archives were made with")
    return blob
