"""Pretrained starting weights ("priors"): files in ``lstmzip/data/priors/`` that a level's model starts from.

Why: the model learns online, so without a prior the first hundred kilobytes of every file are
coded by a model that knows nothing yet (they cost about twice the file's final rate). A prior is
the master weights of the same network after it read a few megabytes of English text
(``scripts/train_prior.py``); started from it, the model only has to adapt to the file.

Exactness: a prior holds every master weight as an int16 multiple of 2**-12 (weights are clipped
to +-4, so 16384 at most), so loading it gives the same values on every machine, exact in the
model's float32 master weights (15 significant bits). The
archive header names the prior (``ModelConfig.prior``); this module knows each name's SHA-256,
so a build without that exact file refuses to decode rather than decode garbage.
"""

from __future__ import annotations

import functools
import lzma

import numpy as np
import torch

from lstmzip import assets

MAGIC = b"LZPRIOR1"
SCALE_BITS = 12  # stored value = round(weight * 2**12)
SUFFIX = ".prior.xz"



def pack(master: torch.Tensor) -> bytes:
    """The file contents of a prior for master weights ``master`` [P] (xz-compressed int16)."""
    values = torch.round(master.detach().cpu().double() * float(1 << SCALE_BITS)).to(torch.int64).numpy()
    if np.abs(values).max(initial=0) > np.iinfo(np.int16).max:
        raise ValueError("a prior's weights must lie within +-8")
    return lzma.compress(MAGIC + values.astype("<i2").tobytes(), preset=9)


def unpack(blob: bytes) -> torch.Tensor:
    """Inverse of :meth:`pack`: master weights [P] as float64."""
    raw = lzma.decompress(blob)
    if not raw.startswith(MAGIC) or (len(raw) - len(MAGIC)) % 2:
        raise ValueError("not a prior file")
    values = np.frombuffer(raw, dtype="<i2", offset=len(MAGIC)).astype(np.float64)
    return torch.from_numpy(values * 2.0**-SCALE_BITS)  # exact: int16 / 2**12


def _read(name: str) -> bytes:
    return assets.read("priors", name + SUFFIX)


def load(name: str) -> torch.Tensor:
    """The master weights [P] of the prior ``name``, checked against its pinned digest.

    The digest is checked on every call; the unpacking (about 0.1 s of LZMA for the default level's
    prior) is done once per file contents, so a process that codes many inputs pays it once. The
    caller gets its own copy.
    """
    return _unpack_once(assets.pinned("prior", name, assets.PRIORS, _read)).clone()


@functools.cache
def _unpack_once(blob: bytes) -> torch.Tensor:
    return unpack(blob)
