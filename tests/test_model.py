"""The model on its own: config checks, exactness of its fixed-point values, and that it learns."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from lstmzip.config import ModelConfig
from lstmzip.contexts import BYTE_CLASSES, CONFIDENCE_BUCKETS
from lstmzip.model import ByteLSTM
from lstmzip.words import WORD_ROWS
from tests.helpers import bare_config


def test_config_round_trips_and_rejects_bad_fields() -> None:
    config = bare_config(layers=1, hidden=32)
    assert ModelConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="keys"):
        ModelConfig.from_dict({**config.to_dict(), "extra": 1})
    with pytest.raises(ValueError, match="hidden"):
        ModelConfig.from_dict({**config.to_dict(), "hidden": "32"})
    bad_values = [("hidden", 4096), ("layers", 0), ("streams", 0), ("beta2", 1.0), ("numerics", "x")]
    bad_values += [("match_long_length", 12), ("match_long_length", 33)]  # needs match_min_length < it <= 32
    bad_values += [("input_rate_scale", 0.0), ("matrix_rate_scale", 17.0), ("apm_rate_bits", 1), ("apm_rate_bits", 17)]
    bad_values += [("eps", 1e-46)]  # 0 in Adam's float32: found by the slow fuzz test (0 / 0 became NaN)
    bad_values += [("context_orders", "3,2"), ("context_hash_bits", 21), ("context_count_limit", 256)]
    bad_values += [("context_columns", 1), ("context_columns", 1025)]
    bad_values += [("column_input", 1), ("word_input", 1)]  # both come from the column context, which this lacks
    for field, value in bad_values:
        with pytest.raises(ValueError):
            ModelConfig(**{**config.to_dict(), field: value}).validate()
    with pytest.raises(ValueError, match="column_input"):
        ModelConfig(**{**config.to_dict(), "context_columns": 32, "column_input": 2}).validate()
    with pytest.raises(ValueError, match="word_input"):
        ModelConfig(**{**config.to_dict(), "context_columns": 32, "word_input": 65}).validate()
    with pytest.raises(ValueError, match="apm_rate_start"):  # a rate start needs a map, and at most 2**16
        ModelConfig(**{**config.to_dict(), "apm_rate_bits": 0, "apm_rate_start": 48}).validate()
    with pytest.raises(ValueError, match="apm_rate_start"):
        ModelConfig(**{**config.to_dict(), "apm_rate_bits": 9, "apm_rate_start": 65537}).validate()
    ModelConfig(**{**config.to_dict(), "apm_rate_bits": 9, "apm_rate_start": 48}).validate()


def _run(model: ByteLSTM, data: bytes) -> list[float]:
    """Bits per segment of one stream fed ``data``, learning after each segment."""
    segment = model.config.segment
    costs, previous = [], torch.zeros(1, dtype=torch.int64)
    for start in range(0, len(data) - segment + 1, segment):
        targets = torch.tensor(list(data[start : start + segment]), dtype=torch.int64).view(-1, 1)
        bits = 0.0
        for target in targets:
            weights = model.predict(previous)
            bits -= math.log2(float(weights[0, target] / weights[0].sum()))
            previous = target
        model.learn(targets)
        costs.append(bits)
    return costs


def test_it_learns_a_repeated_phrase() -> None:
    model = ByteLSTM(bare_config(layers=1, hidden=32, streams=1, segment=8, learning_rate=0.02))
    costs = _run(model, b"abcabcabd " * 60)
    per_byte_start, per_byte_end = sum(costs[:5]) / 40, sum(costs[-5:]) / 40
    assert per_byte_start > 6.0 and per_byte_end < 1.0


def test_learning_rate_decays_as_configured() -> None:
    constant = ByteLSTM(bare_config(layers=1, hidden=16, streams=1, segment=8, learning_rate=0.02))
    decaying = ByteLSTM(bare_config(layers=1, hidden=16, streams=1, segment=8, learning_rate=0.02, lr_decay_updates=4))
    _run(constant, b"xyz" * 40)
    _run(decaying, b"xyz" * 40)
    assert constant.schedule.step_count == decaying.schedule.step_count == 15
    assert constant.schedule.learning_rate() == 0.02
    assert decaying.schedule.learning_rate() == 0.02 / (1.0 + 15 / 4)  # the step size its 15th update used


def test_step_size_factors_scale_their_groups_only() -> None:
    """Adam's first step moves each weight by about the step size (it divides the gradient by its own
    size), so the factors show as ratios: the byte input tables x2, the matrices x0.5, the bigram table x1."""
    config = bare_config(layers=2, hidden=16, streams=1, segment=8, learning_rate=0.01)
    plain, scaled = ByteLSTM(config), ByteLSTM(replace(config, input_rate_scale=2.0, matrix_rate_scale=0.5))
    start = plain.master.clone()
    for model in (plain, scaled):
        _run(model, b"abcdefgh")  # one segment: one update
        assert model.schedule.step_count == 1
    moved_plain, moved_scaled = plain.master - start, scaled.master - start

    def ratios(name: str) -> torch.Tensor:
        """moved_scaled / moved_plain over the weights of ``name`` that moved."""
        offset = (plain.w[name].data_ptr() - plain.forward_weights.data_ptr()) // plain.forward_weights.itemsize
        part = slice(offset, offset + plain.w[name].numel())
        moved = moved_plain[part] != 0
        assert moved.sum() > 0, name
        return moved_scaled[part][moved] / moved_plain[part][moved]

    for name, factor in [("embed0", 2.0), ("embed1", 2.0), ("rec0", 0.5), ("rec1", 0.5), ("below1", 0.5)]:
        assert torch.allclose(ratios(name), torch.tensor(factor), rtol=1e-3), name
    assert torch.allclose(ratios("out_w"), torch.tensor(0.5), rtol=1e-3)
    assert torch.equal(ratios("out_embed"), torch.ones_like(ratios("out_embed")))  # the same operations exactly


def test_every_value_stays_on_its_fixed_point_grid() -> None:
    model = ByteLSTM(bare_config(layers=2, hidden=16, streams=1, segment=8))
    _run(model, bytes(range(256)) * 2)
    for name in ("forward_weights", "hcat", "cell", "gates", "tanh_cell", "freq"):
        tensor = getattr(model, name)
        assert torch.equal(tensor, tensor.round()), name
    assert model.hcat.abs().max() <= 2**16 and model.cell.abs().max() <= 8 * 2**16
    assert model.forward_weights.abs().max() < 2**53


def test_word_vectors_learn_on_the_weight_grid_and_none_stays_zero() -> None:
    """Word vectors are multiplied by their projection, so their forward copies are at 2**16 like a
    matrix's, not at 2**32 like the byte tables'; the "none" row never moves."""
    config = bare_config(layers=1, hidden=8, streams=2, segment=4, context_columns=8, column_input=1, word_input=4)
    model = ByteLSTM(config)
    start = model.row_views["word_embed"][0].clone()
    for t in range(4 * config.segment):
        word = torch.tensor([t % 3, WORD_ROWS])  # stream 0 reads words 0, 1, 2; stream 1 none
        model.predict(torch.tensor([t % 7, 65]), column=torch.tensor([t % 8, 0]), word=word)
        if model.t == config.segment:
            model.learn(torch.tensor([[(t + k) % 7, 66] for k in range(config.segment)]))
    for name, scale in (("word_embed", 1.0), ("match_embed", 2.0**16)):
        master, _, _, forward = model.row_views[name]
        assert torch.equal(forward, (master.double() * 2**16).round() * scale), name
    vectors = model.row_views["word_embed"][0]
    assert not torch.equal(vectors[:3], start[:3])  # the words read learned
    assert torch.equal(vectors[3:], start[3:]) and vectors[WORD_ROWS].abs().sum() == 0  # the rest as they started
    assert model.w["word_proj"].abs().sum() > 0  # the projection learned from 0


def test_byte_weights_are_positive_integers() -> None:
    model = ByteLSTM(bare_config(layers=1, hidden=16, streams=3, segment=4))
    weights = model.predict(torch.tensor([0, 65, 255]))
    assert weights.dtype == torch.float64 and weights.shape == (3, 256)
    assert torch.all(weights >= 1) and torch.equal(weights, weights.round())
    assert torch.all(weights.sum(dim=1) < 2**53)  # so their sum, and each quotient by it, is exact


def test_context_weights_are_chosen_by_the_kind_of_byte_just_read() -> None:
    model = ByteLSTM(bare_config(layers=1, hidden=8, streams=3, segment=2, context_orders="1,2"))
    features = torch.zeros(3, 2, 256, dtype=torch.float64)
    confidence = torch.tensor([[1, 2]] * 3)
    model.predict(torch.tensor([ord("a"), ord(" "), 0xC4]), context=(features, confidence))
    per_order, per_class = BYTE_CLASSES * CONFIDENCE_BUCKETS, CONFIDENCE_BUCKETS
    letter, space, code = 1, 2, 0  # contexts.BYTE_CLASS of "a", " " and a word code
    assert model.context_index[0].tolist() == [
        [kind * per_class + 1, per_order + kind * per_class + 2] for kind in (letter, space, code)
    ]


def test_match_model_only_reads_coded_bytes() -> None:
    """Every prediction at step t reads bytes of steps < t only, so the decoder can make it too."""
    import numpy as np

    from lstmzip.match import BUCKETS, MatchModel

    rng = np.random.default_rng(3)
    full = rng.integers(0, 4, size=(3, 200), dtype=np.uint8)  # tiny alphabet: many matches
    partial = np.zeros_like(full)
    seen_full, seen_partial = MatchModel(full, 3, 10), MatchModel(partial, 3, 10)
    hits = 0
    for t in range(full.shape[1]):
        expected, bucket = seen_full.predict()
        assert np.array_equal((expected, bucket), seen_partial.predict())
        hits += int(np.sum((bucket < BUCKETS) & (expected == full[:, t])))
        partial[:, t] = full[:, t]  # the decoder learns byte t only now
        seen_full.update(t)
        seen_partial.update(t)
    assert hits > 100


def test_a_match_found_by_a_colliding_hash_is_dropped() -> None:
    """A position found by hash is checked against the stream's own last bytes: another context that
    hashed alike predicts nothing."""
    import numpy as np

    from lstmzip.match import BUCKETS, MatchModel

    def after(data: bytes, hash_bits: int) -> tuple[int, int]:
        matrix = np.frombuffer(data, dtype=np.uint8).reshape(1, -1).copy()
        model = MatchModel(matrix, 4, hash_bits)
        for t in range(len(data)):
            model.update(t)
        expected, bucket = model.predict()
        return int(expected[0]), int(bucket[0])

    # "ABCD..." predicts "1", sees "2"; then "FGH2" is found after "ZZZZEFGH", a true match
    assert after(b"ABCDEFGH1" + b"ZZZZEFGH2" + b"ABCDEFGH2", 20) == (ord("A"), 0)
    # two table slots: "wxyz" finds another context's position, which is no match
    assert after(b"ABCDEFGHwxyz", 1)[1] == BUCKETS


def test_the_longer_context_chooses_the_match() -> None:
    """At the end, " A:12" was last followed by "Z", so the match breaks at "3" and a new one is looked
    up: the 4-byte table knows the last ":123", followed by ":y"; the 6-byte table " A:123", by ":x"."""
    import numpy as np

    from lstmzip.match import MatchModel

    data = b" A:123:x A:12Z B:123:y A:123:"
    expected = {}
    for long_length in (0, 6):
        matrix = np.frombuffer(data, dtype=np.uint8).reshape(1, -1).copy()
        model = MatchModel(matrix, 4, 16, long_length)
        for t in range(len(data)):
            model.update(t)
        expected[long_length] = chr(model.predict()[0][0])
    assert expected == {0: "y", 6: "x"}
