"""What the tests share: a tiny preset so the default suite runs in seconds, sample inputs, and scripts as modules."""

from __future__ import annotations

import importlib.util
import random
import sys
from dataclasses import replace
from functools import cache
from pathlib import Path
from types import ModuleType

from lstmzip.config import ModelConfig
from lstmzip.presets import Preset
from lstmzip.words import load_dictionary

REPO_ROOT = Path(__file__).resolve().parent.parent


@cache
def load_script(relative_path: str) -> ModuleType:
    """A script of the repository (``benchmarks/...``, ``scripts/...``) imported as a module, to test its parts.

    Its folder goes on ``sys.path`` as when Python runs the script, so it imports its neighbours
    (``benchmarks/portability.py`` imports ``harness``)."""
    path = REPO_ROOT / relative_path
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(path.stem + "_script", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # a dataclass looks its module up while being defined
    spec.loader.exec_module(module)
    return module


BARE = ModelConfig(  # a network with no side model, for tests to change what they need
    layers=2,
    hidden=128,
    streams=16,
    segment=20,
    learning_rate=4e-3,
    lr_decay_updates=0,
    beta1=0.0,
    beta2=0.9999,
    eps=1e-6,
    input_rate_scale=1.0,
    matrix_rate_scale=1.0,
    seed=0,
    match_min_length=0,
    match_long_length=0,
    match_hash_bits=20,
    context_orders="",
    context_hash_bits=16,
    context_count_limit=255,
    context_columns=0,
    column_input=0,
    word_input=0,
    apm_rate_bits=0,
    prior="",
)


def bare_config(**fields: int | float | str) -> ModelConfig:
    """``BARE`` with ``fields`` changed."""
    return replace(BARE, **fields)  # type: ignore[arg-type]


TINY = Preset(
    "tiny",
    bare_config(
        layers=2,
        hidden=16,
        streams=4,
        segment=4,
        learning_rate=0.02,
        lr_decay_updates=32,
        input_rate_scale=2.0,
        matrix_rate_scale=0.5,
        match_min_length=4,
        match_long_length=8,
        match_hash_bits=12,
        context_orders="1,2,3",
        context_hash_bits=10,
        context_columns=32,
        column_input=1,
        word_input=4,
        apm_rate_bits=6,
    ),
    min_stream_bytes=64,
    block_bytes=256,
    description="test preset: several streams, segments and blocks on a few hundred bytes",
)

SAMPLE_TEXT = (
    b"It was the best of times, it was the worst of times, it was the age of wisdom, "
    b"it was the age of foolishness, it was the epoch of belief, it was the epoch of incredulity.\n"
) * 4


def sample_words(count: int, seed: int = 3) -> bytes:
    """Text of ``count`` words drawn Zipf-like from 300 made-up words, without long repeats: it gets file
    codes, and no dictionary's (it lacks them)."""
    rng = random.Random(seed)
    vocabulary = [bytes(rng.choice(b"etaoinshrdlucmfwyp") for _ in range(rng.randint(2, 9))) for _ in range(300)]
    return _zipf_text(rng, vocabulary, count)


def english_words(count: int, seed: int = 3) -> bytes:
    """Text of ``count`` words drawn Zipf-like from the 300 most frequent of the en-3 dictionary: it gets its codes."""
    vocabulary = [word for word in load_dictionary("en-3") if word.islower()][:300]
    return _zipf_text(random.Random(seed), vocabulary, count)


def _zipf_text(rng: random.Random, vocabulary: list[bytes], count: int) -> bytes:
    words = rng.choices(vocabulary, weights=[1 / (rank + 1) for rank in range(len(vocabulary))], k=count)
    return b" ".join(word.capitalize() if i % 12 == 0 else word for i, word in enumerate(words)) + b".\n"


def sample_bytes(size: int, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    return bytes(rng.getrandbits(8) for _ in range(size))
