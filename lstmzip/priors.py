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

File: ``MAGIC``, then the weights as little-endian int16, uncompressed. Every small file pays for
reading its level's prior, and the raw values read in about 2 ms where xz took 0.1-0.2 s
(docs/notebook/2026-12-07-start-up-costs.md); the wheel deflates them anyway.
"""

from __future__ import annotations

import numpy as np

from lstmzip import assets

MAGIC = b"LZPRIOR1"
SCALE_BITS = 12  # stored value = round(weight * 2**12)
SUFFIX = ".prior"
# The count-context orders each shipped prior learned mixing weights for (the level's orders when it was
# trained); a level with other orders starts each order from the nearest the prior knows
# (``parameters.initial_master``). Fixed with the prior's bytes, which ``assets.PRIORS`` pins.
CONTEXT_ORDERS: dict[str, tuple[int, ...]] = {
    "text-f11": (1, 2, 3, 4),
    "text-d11": (1, 2, 3, 4, 6),
    "text-d12": (1, 2, 3, 4, 6),
    "text-b11": (1, 2, 3, 4, 6),
}


def pack(master: np.ndarray) -> bytes:
    """The file contents of a prior for master weights ``master`` [P] (rounded half to even to the grid)."""
    values = np.round(np.asarray(master, dtype=np.float64) * float(1 << SCALE_BITS))
    if np.abs(values).max(initial=0) > np.iinfo(np.int16).max:
        raise ValueError("a prior's weights must lie within +-8")
    return MAGIC + values.astype("<i2").tobytes()


def unpack(blob: bytes) -> np.ndarray:
    """Inverse of :meth:`pack`: master weights [P] as float64 (exact: int16 / 2**12)."""
    if not blob.startswith(MAGIC) or (len(blob) - len(MAGIC)) % 2:
        raise ValueError("not a prior file")
    return np.multiply(np.frombuffer(blob, dtype="<i2", offset=len(MAGIC)), 2.0**-SCALE_BITS, dtype=np.float64)


def _read(name: str) -> bytes:
    return assets.read("priors", name + SUFFIX)


def load(name: str) -> np.ndarray:
    """The master weights [P] of the prior ``name``, checked against its pinned digest (a new array
    on every call, so each caller has its own)."""
    return unpack(assets.pinned("prior", name, assets.PRIORS, _read))
