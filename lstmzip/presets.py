"""Compression levels as data: ``lstmzip/data/levels/<name>.json``, shipped inside the package.

A preset holds the model settings except the stream count, which depends on the input size:
more streams make each step one larger matrix product (faster), fewer streams give the model more
updates per byte (it learns sooner), which small files need. The resolved ``ModelConfig`` goes into
the archive header, so decoding never reads a preset.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields, replace
from typing import Any

from lstmzip import assets
from lstmzip.config import MIN_CONTEXT_HASH_BITS, MIN_MATCH_HASH_BITS, ModelConfig
from lstmzip.errors import PresetError

LEVEL_NAMES = ("fast", "default", "best")
DEFAULT_LEVEL = "default"
NUMBERED_LEVELS = {number: LEVEL_NAMES[(number - 1) // 3] for number in range(1, 10)}  # -1..-3 fast, ...


def hash_bits_for(size: int) -> int:
    """Bits of a hash table with at least four slots for each of ``size`` keys.

    An input of ``size`` bytes puts at most ``size`` positions into the match model's tables and
    ``size`` contexts into each hashed order's counts, so at a quarter full or less collisions are
    rare, and a larger table only costs memory and the time to zero it: each page the scattered
    counts first write is zeroed then (when NumPy backed the tables with 2 MB pages, a 2 KB text made
    the default level's 218 MB count table resident; docs/notebook, "Hash tables by input size").
    """
    return max(size - 1, 1).bit_length() + 2


def largest_hash_bits(size: int) -> tuple[int, int]:
    """The largest (match, count) hash tables, in bits, that an input of ``size`` coded bytes gets;
    a format-15 header may ask for no more (the decoder's memory is then bounded by the input)."""
    bits = hash_bits_for(size)
    return max(MIN_MATCH_HASH_BITS, bits), max(MIN_CONTEXT_HASH_BITS, bits)


@dataclass(frozen=True)
class FromScratch:
    """What a model without a prior uses instead of the preset's text settings (0: the same).

    Only text starts from a prior. Seeded weights need more updates per byte than a prior's (fewer,
    longer streams) and a larger step size: at the best level the prior's text took 20 streams at a
    step size of 0.010, while sum and obj2 lost 4-6 % with those and kept 10 streams and 0.014
    (docs/notebook, "The best level: 20 streams").
    """

    max_streams: int = 0
    min_stream_bytes: int = 0
    learning_rate: float = 0.0

    @classmethod
    def from_dict(cls, data: object) -> FromScratch:
        if not isinstance(data, dict):
            raise TypeError("from_scratch must be an object")
        known = fields(cls)
        unknown = set(data) - {field.name for field in known}
        if unknown:
            raise ValueError(f"from_scratch has unknown keys {sorted(unknown)}")
        # each value takes its field's type, which its default (0 or 0.0) shows
        settings = cls(**{field.name: type(field.default)(data.get(field.name, field.default)) for field in known})
        if settings.max_streams < 0 or settings.min_stream_bytes < 0 or not 0.0 <= settings.learning_rate <= 1.0:
            raise ValueError("from_scratch needs max_streams and min_stream_bytes >= 0 and learning_rate in [0, 1]")
        return settings


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
    from_scratch: FromScratch = FromScratch()  # for input that does not start from the prior (binary data)

    def __post_init__(self) -> None:
        # The rest is checked where it is used: each archive's settings pass the decoder's checks first.
        if self.min_stream_bytes < 1 or self.block_bytes < 1:
            raise PresetError(f"preset {self.name!r} needs min_stream_bytes and block_bytes of at least 1")

    def config_for(self, size: int, text: bool = True, dictionary: bool = False) -> ModelConfig:
        """The model config for ``size`` bytes to the model, of text or not, word-coded by a
        ``dictionary`` or not.

        The word context (``context_words``) serves only text that no dictionary codes, which is
        text in other scripts: there it is a context as long as a word (Russian and Greek prose
        3-4 % smaller at the default level), while on dictionary-coded English, code, markup and
        tables, whose words the codes and the orders already cover, it changed the coded bytes by
        less than 0.1 % and would only cost time (docs/notebook/2026-12-07-word-context.md). The
        above context (``context_above``) serves text only: on an x86-64 executable it changed
        nothing (+0.03 %).

        Only text starts from the prior: the priors learned text, and binary data gained nothing from
        one or lost (geo). A model without a prior learns from seeded weights and needs more updates
        per byte, so it may take fewer streams and another step size (``from_scratch``): at the
        default level geo, obj1, sum and obj2 gained 0.07-0.20 bpb from 16 KiB per stream instead of
        the text's 2 KiB (docs/notebook).

        A long input keeps a higher step size for longer: with ``lr_decay_min_share`` the step size
        halves no sooner than after that share of the input's updates. Measured at the best level
        (docs/notebook): world192.txt's 15,000 updates gained 0.011 bpb from halving after 800
        updates instead of 400, while book1 (4,600) and alice29.txt (960) lost 0.004-0.007.

        A short input gets hash tables sized for it (:func:`hash_bits_for`), no larger than the preset's.
        """
        prior = self.model.prior if text else ""
        words = self.model.context_words if text and not dictionary else 0
        above = self.model.context_above if text else 0
        model, min_bytes = self.model, self.min_stream_bytes
        if not prior:
            scratch = self.from_scratch
            min_bytes = scratch.min_stream_bytes or min_bytes
            model = replace(
                model,
                streams=scratch.max_streams or model.streams,
                learning_rate=scratch.learning_rate or model.learning_rate,
            )
        streams = max(1, min(model.streams, size // min_bytes))
        updates = size // (streams * model.segment)
        decay = max(model.lr_decay_updates, round(updates * self.lr_decay_min_share))
        match_bits, count_bits = largest_hash_bits(size)
        return replace(
            model,
            streams=streams,
            lr_decay_updates=decay,
            prior=prior,
            context_words=words,
            context_above=above,
            match_hash_bits=min(model.match_hash_bits, match_bits),
            context_hash_bits=min(model.context_hash_bits, count_bits),
        )

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
            from_scratch = FromScratch.from_dict(data.get("from_scratch", {}))
            return cls(
                name,
                model,
                int(data["min_stream_bytes"]),
                int(data["block_bytes"]),
                str(data.get("description", "")),
                word_codes,
                word_dictionary,
                lr_decay_min_share,
                from_scratch,
            )
        except (KeyError, TypeError, ValueError) as error:
            raise PresetError(f"preset {name!r} is malformed: {error}") from error


def level_digest(name: str) -> bytes:
    """The first 4 bytes of the SHA-256 of level ``name``'s definition: what an archive's level reference pins."""
    return hashlib.sha256(_definition(name)).digest()[:4]


# Former definitions of the levels, kept byte for byte as ``retired-<digest>.json`` so that archives which
# reference them keep decoding: digest (hex) -> the level's name.
RETIRED_LEVELS = {
    **{"30dc6873": "fast", "7eed6c7c": "default", "03f84cc5": "best"},  # before the word context
    **{"5839d63f": "fast", "9898ca95": "default", "c4d8e4a0": "best"},  # before the above context
    "4f17825a": "default",  # before its probability map
    **{"bf9b5785": "fast", "6dd125f3": "default", "b81c9185": "best"},  # before the determinism buckets
    **{"1d5161e2": "default", "76f99c3c": "best"},  # before order 8
    **{"223a4e22": "default", "38b72c58": "best"},  # before the probability map's rate start
}


def preset_of_digest(digest: bytes) -> Preset | None:
    """The level, as shipped or as a retired definition, whose definition has ``digest``, if any."""
    shipped = next((name for name in LEVEL_NAMES if level_digest(name) == digest), None)
    if shipped is not None:
        return load_preset(shipped)
    name = RETIRED_LEVELS.get(digest.hex())
    if name is None:
        return None
    definition = assets.read("levels", f"retired-{digest.hex()}.json")
    if hashlib.sha256(definition).digest()[:4] != digest:
        raise PresetError(f"the retired definition of level {name!r} ({digest.hex()}) is damaged")
    return Preset.from_dict(name, json.loads(definition))


def _definition(name: str) -> bytes:
    return assets.data_file("levels", f"{name}.json").read_bytes()


def load_preset(level: str | int | Preset) -> Preset:
    """The preset for a level name (``fast``, ``default``, ``best``) or number 1..9; a Preset as is."""
    if isinstance(level, Preset):
        return level
    if isinstance(level, bool) or not isinstance(level, (str, int)):
        raise TypeError(f"level must be a name, a number 1..9 or a Preset, not {type(level).__name__}")
    name = NUMBERED_LEVELS.get(level) if isinstance(level, int) else level
    if name not in LEVEL_NAMES:
        raise PresetError(f"unknown level {level!r} (use 1..9 or one of {', '.join(LEVEL_NAMES)})")
    return Preset.from_dict(name, json.loads(_definition(name)))
