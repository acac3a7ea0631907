"""Pretrained starting weights ("priors"): files in ``models/`` that a level's model starts from.

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

import lzma

import numpy as np
import torch

from lstmzip import assets

MAGIC = b"LZPRIOR1"
SCALE_BITS = 12  # stored value = round(weight * 2**12)
SUFFIX = ".prior.xz"

KNOWN: dict[str, str] = {
    "text-d7": "e28fe7c75607f771c7b887882a5cd11329401dce31d1d9c9af01fe21857eb58b",
    "text-f7": "d00a43940a1665476eeb6a687d5a6e38aedf4b46a0d74200c45eff60cf93f675",
    "text-b7": "c39f496ec0bcbe77ed72182713dfc54ab0954fd0b2f6b30a0e52b5f99f84fd3e",
    "text-d8": "1bcb21e3d0a7d506c18ccaf7bdfdc89ebed438a663326195d26e278581142e69",
    "text-f8": "39b474a0d21ed2d47311b79db83ca527adb05d5edbadaad3eebb1c6f0c305869",
    "text-b8": "05e9d019589f589dac0f4c66e92bebcdea29fa6cce85f8277d4cf11cac2dde4b",
}
"""Prior name -> SHA-256 of its file in ``models/``: the priors this build can decode with. A prior
that no level starts from any more (the *7 priors since 0.13.0) stays as long as the archive format
does, so that the archives made with it still decode."""


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
    return assets.read(name + SUFFIX)


def load(name: str) -> torch.Tensor:
    """The master weights [P] of the prior ``name``, checked against its pinned digest."""
    return unpack(assets.pinned("prior", name, KNOWN, _read))
