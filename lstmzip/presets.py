"""Compression levels as data: ``models/<name>.json``, shipped inside the package as ``lstmzip.models``.

A preset holds the model settings except the stream count, which depends on the input size:
more streams make each step one larger matrix product (faster), fewer streams give the model more
updates per byte (it learns sooner), which small files need. The resolved ``ModelConfig`` goes into
the archive header, so decoding never reads a preset.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any

from lstmzip.errors import PresetError
from lstmzip.model import ModelConfig

LEVEL_NAMES = ("fast", "default", "best")
DEFAULT_LEVEL = "default"
NUMBERED_LEVELS = {
    1: "fast",
    2: "fast",
    3: "fast",
    4: "default",
    5: "default",
    6: "default",
    7: "best",
    8: "best",
    9: "best",
}


@dataclass(frozen=True)
class Preset:
    name: str
    model: ModelConfig  # streams = the most this preset uses
    min_stream_bytes: int  # each stream gets at least this many bytes of input
    block_bytes: int  # aim for blocks of about this many original bytes
    description: str = ""
    word_codes: bool = True  # write words as codes before the model (``words.py``)
    word_dictionary: str = ""  # the shipped dictionary whose words are codes ("": codes made per file)
    lr_decay_min_share: float = 0.0  # lr_decay_updates is at least this share of the input's updates
    min_stream_bytes_from_scratch: int = 0  # min_stream_bytes for a model without a prior (0: the same)

    def config_for(self, size: int, text: bool = True) -> ModelConfig:
        """The model config for ``size`` bytes to the model, of text or not.

        Only text starts from the prior: the priors learned text, and binary data gained nothing from
        one or lost (geo). A model without a prior learns from seeded weights and needs more updates
        per byte, so it may take fewer streams (``min_stream_bytes_from_scratch``): at the default
        level geo, obj1, sum and obj2 gained 0.07-0.20 bpb from 16 KiB per stream instead of the
        text's 2 KiB (docs/DESIGN.md).

        A long input keeps a higher step size for longer: with ``lr_decay_min_share`` the step size
        halves no sooner than after that share of the input's updates. Measured at the best level
        (docs/DESIGN.md): world192.txt's 15,000 updates gained 0.011 bpb from halving after 800
        updates instead of 400, while book1 (4,600) and alice29.txt (960) lost 0.004-0.007.
        """
        prior = self.model.prior if text else ""
        min_bytes = self.min_stream_bytes if prior else self.min_stream_bytes_from_scratch or self.min_stream_bytes
        streams = max(1, min(self.model.streams, size // min_bytes))
        updates = size // (streams * self.model.segment)
        decay = max(self.model.lr_decay_updates, round(updates * self.lr_decay_min_share))
        return replace(self.model, streams=streams, lr_decay_updates=decay, prior=prior)

    def block_steps(self, config: ModelConfig) -> int:
        """Steps per block: a whole number of segments, about ``block_bytes`` of input."""
        segments = max(1, self.block_bytes // (config.streams * config.segment))
        return segments * config.segment

    @classmethod
    def from_dict(cls, name: str, data: dict[str, Any]) -> Preset:
        try:
            model = ModelConfig.from_dict(
                {**data["model"], "streams": data["max_streams"], "numerics": ModelConfig.numerics}
            )
            word_codes = data.get("word_codes", True)
            word_dictionary = data.get("word_dictionary", "")
            if not isinstance(word_codes, bool) or not isinstance(word_dictionary, str):
                raise TypeError("word_codes must be true or false, word_dictionary a name")
            lr_decay_min_share = float(data.get("lr_decay_min_share", 0.0))
            if not 0.0 <= lr_decay_min_share <= 1.0:
                raise ValueError("lr_decay_min_share must be in [0, 1]")
            min_stream_bytes_from_scratch = int(data.get("min_stream_bytes_from_scratch", 0))
            if min_stream_bytes_from_scratch < 0:
                raise ValueError("min_stream_bytes_from_scratch must be at least 0")
            return cls(
                name,
                model,
                int(data["min_stream_bytes"]),
                int(data["block_bytes"]),
                str(data.get("description", "")),
                word_codes,
                word_dictionary,
                lr_decay_min_share,
                min_stream_bytes_from_scratch,
            )
        except (KeyError, TypeError, ValueError) as error:
            raise PresetError(f"preset {name!r} is malformed: {error}") from error


def load_preset(level: str | int | Preset) -> Preset:
    """The preset for a level name (``fast``, ``default``, ``best``) or number 1..9; a Preset as is."""
    if isinstance(level, Preset):
        return level
    name = NUMBERED_LEVELS.get(level) if isinstance(level, int) else level
    if name not in LEVEL_NAMES:
        raise PresetError(f"unknown level {level!r} (use 1..9 or one of {', '.join(LEVEL_NAMES)})")
    text = resources.files("lstmzip.models").joinpath(f"{name}.json").read_text(encoding="utf-8")
    return Preset.from_dict(name, json.loads(text))
