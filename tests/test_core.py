"""The compiled core against its oracle, the torch reference: the same archives and the same state, bit for bit."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

import lstmzip
from lstmzip.core import REFERENCE_ENVIRONMENT, CoreLSTM, core_available
from lstmzip.model import ALPHABET, ByteLSTM, ModelConfig
from lstmzip.presets import Preset
from lstmzip.words import WORD_ROWS
from tests.conftest import TINY, sample_bytes, sample_words

pytestmark = pytest.mark.skipif(not core_available(), reason="the compiled core is not built")

MOMENTUM = replace(TINY, model=replace(TINY.model, beta1=0.9))


def _both_archives(data: bytes, level: str | Preset, monkeypatch: pytest.MonkeyPatch) -> tuple[bytes, bytes]:
    """(archive by the compiled core, archive by the torch reference)."""
    monkeypatch.delenv(REFERENCE_ENVIRONMENT, raising=False)
    core = lstmzip.compress(data, level)
    monkeypatch.setenv(REFERENCE_ENVIRONMENT, "1")
    reference = lstmzip.compress(data, level)
    monkeypatch.delenv(REFERENCE_ENVIRONMENT)
    return core, reference


@pytest.mark.parametrize(
    "level", ["fast", "default", "best", TINY, MOMENTUM], ids=["fast", "default", "best", "tiny", "momentum"]
)
@pytest.mark.parametrize("kind", ["text", "binary"])
def test_core_writes_the_reference_archive(level: str | Preset, kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # text starts from the level's prior with word codes; binary from seeded weights, fewer streams
    data = sample_words(500) if kind == "text" else sample_bytes(2500)
    core, reference = _both_archives(data, level, monkeypatch)
    assert core == reference
    assert lstmzip.decompress(core) == data


def _random_inputs(model: ByteLSTM, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """One step's inputs of every kind, each over its whole range (x, expected, bucket, features, confidence,
    column, word)."""
    cfg, B = model.config, model.config.streams
    K = model.weight_offsets.shape[1]
    return (
        rng.integers(0, ALPHABET, B),
        rng.integers(0, ALPHABET, B),
        rng.integers(0, 17, B),  # BUCKETS + 1: 16 is "no match"
        rng.integers(0, 1 << 15, (B, K, ALPHABET)).astype(np.float64),
        rng.integers(0, 12, (B, K)),
        rng.integers(0, max(cfg.context_columns, 1), B),
        rng.integers(0, WORD_ROWS + 1, B),
    )


def _as_tensors(values: tuple[np.ndarray, ...]) -> list[torch.Tensor]:
    return [torch.from_numpy(v) for v in values]


STATE = ("master", "adam_v", "forward_weights", "grad", "hcat", "cell", "gates", "tanh_cell")


@pytest.mark.parametrize(
    "config",
    [
        TINY.model,
        MOMENTUM.model,
        replace(TINY.model, layers=1, column_input=0, word_input=0),
        replace(TINY.model, layers=3, hidden=24, segment=3, streams=5),
    ],
    ids=["tiny", "momentum", "one-layer", "three-layers"],
)
def test_core_state_equals_the_reference_state(config: ModelConfig) -> None:
    reference, core = ByteLSTM(config), CoreLSTM(config)
    rng = np.random.default_rng(5)
    T, B = config.segment, config.streams
    for segment in range(12):
        for _ in range(T):
            x, expected, bucket, features, confidence, column, word = _random_inputs(core, rng)
            tensors = _as_tensors((x, expected, bucket, features, confidence, column, word))
            predicted = reference.predict(*tensors[:3], (tensors[3], tensors[4]), *tensors[5:])
            assert np.array_equal(core.predict(x, expected, bucket, (features, confidence), column, word), predicted)
        targets = rng.integers(0, ALPHABET, (T, B))
        weight = rng.integers(0, 2, (T, B)).astype(np.float64) if segment % 3 == 2 else None
        reference.learn(torch.from_numpy(targets), None if weight is None else torch.from_numpy(weight))
        core.learn(targets, weight)
        for name in STATE:
            assert np.array_equal(getattr(core, name).numpy(), getattr(reference, name).numpy()), (segment, name)
        if reference.adam_m is not None:
            assert core.adam_m is not None and np.array_equal(core.adam_m.numpy(), reference.adam_m.numpy())


def test_core_learns_a_short_last_segment_as_the_reference() -> None:
    reference, core = ByteLSTM(TINY.model), CoreLSTM(TINY.model)
    rng = np.random.default_rng(9)
    inputs = _random_inputs(core, rng)
    for model in (reference, core):
        model.predict(*(_as_tensors(inputs) if model is reference else inputs)[:3])
    targets = rng.integers(0, ALPHABET, (1, TINY.model.streams))
    reference.learn(torch.from_numpy(targets))
    core.learn(targets)
    assert np.array_equal(core.master.numpy(), reference.master.numpy())


def test_core_refuses_inputs_that_would_read_outside_its_tables() -> None:
    core = CoreLSTM(TINY.model)
    x = np.zeros(TINY.model.streams, dtype=np.int64)
    with pytest.raises(ValueError):
        core.predict(x + ALPHABET)
    with pytest.raises(ValueError):
        core.predict(x.astype(np.int32))  # the wrong item size
    with pytest.raises(ValueError):
        core.predict(x, x, x + 17)  # bucket beyond "no match"
