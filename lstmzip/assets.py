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
PRIORS: dict[str, str] = {  # in ``lstmzip/data/priors/<name>.prior``
    "text-f11": "0c42410e9e4a1d7923eb0e0140abdac8f60c5dfc7f2d52aae31432ebdffe4532",
    "text-d11": "1cf734f11309e7a3448fc176d1b9436b37777e0c6c83bbe114a111eb6c5a74e1",
    "text-d12": "394a0d265e61f7bb0d7c89645afc9d453278ef2502a37b1e0bfb49bbc6705391",
    "text-b11": "3e61f73a341f1e008493f6dd3748789d8383e3381c9c80c09a6242d44daa1736",
}
DICTIONARIES: dict[str, str] = {  # in ``lstmzip/data/dictionaries/<name>.words``
    "en-3": "164509e2d103cc3bc7f205e5dd3801fe28fb247936303fe8593cbeee68817bad",
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
