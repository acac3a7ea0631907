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

# The shipped files archives may name, each pinned to the SHA-256 of its contents. A file that no
# level uses any more stays as long as the archive formats this build reads may name it, so that
# the archives made with it still decode (text-d11: the default level's network when it had 128
# cells). Level definitions are pinned by the archives themselves (``presets.level_digest``).
PRIORS: dict[str, str] = {  # in ``lstmzip/data/priors/<name>.prior.xz``
    "text-f11": "29981a4263d746038b9076f16cef09e230e5986c99cd43f724fad87004171575",
    "text-d11": "c7595ef7bb1cbbcc573952783a8203eb3934382d042183dd644086fe266d6aa0",
    "text-d12": "47b1f7507748aa33451d842b137640dd1c911dc1b3def39aa5dd38d742705025",
    "text-b11": "2d644e8c2df5740c63381175bd400cda30edb44fba046e636ce2e03254b220bd",
}
DICTIONARIES: dict[str, str] = {  # in ``lstmzip/data/dictionaries/<name>.words.xz``
    "en-3": "184a24339be9c5a411431649c7d77bcb9af994317842396d21f9d13f7257ebd6",
}


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
