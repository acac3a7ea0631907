"""The probability map: a correction that starts as none, learns what the model gets wrong, and never
lets a byte become uncodable; encoder and decoder move it alike whatever the order of the streams."""

from __future__ import annotations

import numpy as np

from lstmzip.apm import RATE_BITS, ProbabilityMap, update_rates


def _weights(rows: int, seed: int, spread: int = 2**20) -> np.ndarray:
    """Byte weights as the model gives them: integers >= 1 in float64."""
    return np.random.default_rng(seed).integers(1, spread, size=(rows, 256)).astype(np.float64)


def test_it_starts_as_no_correction() -> None:
    weights = _weights(3, seed=1, spread=100)  # every decision well inside the map's range
    refined = ProbabilityMap(8).refine(weights)
    model = weights / weights.sum(axis=1, keepdims=True)
    assert refined.dtype == np.float32 and refined.shape == (3, 256)
    error = np.abs(refined / model - 1.0)  # linear interpolation between points 0.5 of stretch apart
    assert error.max() < 0.05 and np.median(error) < 0.01


def test_it_learns_what_the_model_gets_wrong() -> None:
    """The model keeps saying 'uniform' while the byte is always 'A': the map learns to expect 'A'."""
    refiner, uniform = ProbabilityMap(4), np.ones((2, 256))
    for _ in range(200):
        refiner.refine(uniform)
        refiner.update(np.array([65, 65]))
    refined = refiner.refine(uniform)
    assert refined[:, 65].min() > 0.5
    assert np.array_equal(refined[0], refined[1])


def test_every_byte_stays_codable() -> None:
    refiner = ProbabilityMap(2)
    certain = np.ones((1, 256))
    certain[0, 7] = 2.0**30  # the model is all but sure of byte 7
    for _ in range(500):
        refiner.refine(certain)
        refiner.update(np.array([7]))
    refined = refiner.refine(certain)
    assert refined.min() > 0 and abs(float(refined.sum(dtype=np.float64)) - 1.0) < 1e-5


def test_streams_move_it_alike_in_any_order() -> None:
    """Entries that several streams use in one step move by the sum of their steps, whatever the order."""
    forward, backward = ProbabilityMap(5), ProbabilityMap(5)
    rng = np.random.default_rng(2)
    for step in range(50):
        weights, symbols = _weights(6, seed=step), rng.integers(0, 256, size=6)
        symbols[:3] = symbols[0]  # three streams on one path
        a, b = forward.refine(weights), backward.refine(weights[::-1])
        assert np.array_equal(a, b[::-1])
        forward.update(symbols)
        backward.update(symbols[::-1])
    assert np.array_equal(forward.table, backward.table)


def test_new_entries_learn_faster_with_a_rate_start() -> None:
    """With a rate start n an entry's k-th counted update moves it by 1 / (k + n), down to the fixed rate."""
    assert np.array_equal(update_rates(4, 0), [1 << (RATE_BITS - 4)])
    rates = update_rates(4, 3)  # 1/3, 1/4, ..., 1/16
    assert np.array_equal(rates, [(1 << RATE_BITS) // k for k in range(3, 17)])
    assert len(update_rates(4, 16)) == len(update_rates(4, 100)) == 1  # never faster than the fixed rate
    fixed, fast, uniform = ProbabilityMap(6), ProbabilityMap(6, 2), np.ones((1, 256))
    for _ in range(5):
        for refiner in (fixed, fast):
            refiner.refine(uniform)
            refiner.update(np.array([65]))
    assert fast.refine(uniform)[0, 65] > 2 * fixed.refine(uniform)[0, 65]
    assert fast.updates.max() == 5 and fixed.updates.max() == 0  # a fixed rate has nothing to count
