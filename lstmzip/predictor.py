"""The predictor: the network and its side models behind the three calls the coding loop makes.

    probabilities(t, active)  the distributions [active, 256] the coder codes step t with
    update(t, active)         after step t's bytes are in the matrix (coded or decoded)
    learn(start, stop)        after the segment of steps [start, stop)

The side models are the match model (``match.py``), the counts of short contexts and the column
context (``contexts.py``, ``words.Columns``) and the probability map (``apm.py``); a config asks
for each or not, and this module is the one place that knows which are there. Encoder, decoder and
prior training drive the same object with the same bytes, so every model's state follows the same
path on both sides.

With the compiled network (``core.CoreLSTM``) a step is two calls of ``_core.Stepper``, which runs
each model's compiled step on that model's own arrays: the side models' predictions go straight into
the network's inputs, and no Python runs between the parts (a 4 KB text: about a tenth less CPU;
docs/notebook/2026-12-07-one-stream-kernels.md). Each model's Python methods stay its oracle, and
the reference network's path (``LSTMZIP_REFERENCE=1``) runs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from lstmzip.apm import ProbabilityMap
from lstmzip.compiled import _core
from lstmzip.contexts import ContextModel, parse_orders
from lstmzip.core import CoreLSTM
from lstmzip.match import MatchModel
from lstmzip.words import Columns, WordCodes

if TYPE_CHECKING:
    import torch

    from lstmzip.codec import Layout
    from lstmzip.core import Network


class Predictor:
    """The model of ``model.config`` for the streams of ``layout`` over the byte matrix ``matrix`` [N, S]."""

    def __init__(self, model: Network, matrix: np.ndarray, layout: Layout, words: WordCodes) -> None:
        config = self.config = model.config
        self.model, self.matrix, self.layout = model, matrix, layout
        self.inputs = model.as_input  # arrays as the model takes them (tensors on its device, or as they are)
        self.previous = self.inputs(np.zeros(layout.streams, dtype=np.int64))  # [N] the byte before step 0
        self.matcher = (
            MatchModel(matrix, config.match_min_length, config.match_hash_bits, config.match_long_length)
            if config.match_min_length
            else None
        )
        orders = parse_orders(config.context_orders)
        self.columns = Columns(words, layout.streams, config.context_columns) if config.context_columns else None
        self.counter = (
            ContextModel(
                layout.streams,
                orders,
                config.context_hash_bits,
                config.context_count_limit,
                self.columns,
                bool(config.context_words),
                bool(config.context_above),
                bool(config.context_determinism),
            )
            if config.context_count()
            else None
        )
        self.refiner = ProbabilityMap(config.apm_rate_bits, config.apm_rate_start) if config.apm_rate_bits else None
        self.column_input = self.columns is not None and bool(config.column_input)
        self.word_input = self.columns is not None and bool(config.word_input)
        self.stepper = self._compiled_step(model) if isinstance(model, CoreLSTM) else None

    def _compiled_step(self, model: CoreLSTM) -> Any:
        """``_core.Stepper`` on the arrays of ``model`` and of each side model (None for one not there)."""
        assert _core is not None  # a CoreLSTM is only made where it is built
        self.advance = model.advance
        self.coded = np.empty((self.layout.streams, 256), dtype=np.float32)  # what the compiled step writes
        columns = None if self.columns is None else (*self.columns.step_arrays(), self.column_input, self.word_input)
        parts = (
            None if self.matcher is None else self.matcher.step_arrays(),
            None if self.counter is None else self.counter.step_arrays(),
            columns,
            None if self.refiner is None else self.refiner.step_arrays(self.layout.streams),
        )
        return _core.Stepper(model.core, self.matrix, *parts, self.coded)

    def probabilities(self, t: int, active: int) -> np.ndarray:
        """float32 [active, 256]: each active stream's distribution of its byte at step ``t``."""
        if self.stepper is not None:
            self.stepper.predict(t, self.advance(), active)
            return self.coded[:active]
        inputs = self.inputs
        expected = bucket = context = column = word = None
        if self.matcher is not None:
            expected, bucket = self.matcher.predict()
            expected, bucket = inputs(expected), inputs(bucket)
        if self.counter is not None:
            features, confidence = self.counter.predict()
            context = inputs(features), inputs(confidence)
        if self.column_input:
            column = inputs(self.columns.column)
        if self.word_input:
            word = inputs(self.columns.word)
        weights = _numpy(self.model.predict(self.previous, expected, bucket, context, column, word))[:active]
        if self.refiner is not None:
            return self.refiner.refine(weights)
        # float64 quotients of exact sums of integers, rounded once to float32
        return (weights / weights.sum(axis=1, keepdims=True)).astype(np.float32)

    def update(self, t: int, active: int) -> None:
        """Every model learns the bytes of step ``t`` (the matrix's column ``t``)."""
        if self.stepper is not None:
            self.stepper.update(t, active)
            return
        step = self.matrix[:, t].copy()  # contiguous, as each model's compiled step reads it
        if self.refiner is not None:
            self.refiner.update(step[:active])
        self.previous = self.inputs(step.astype(np.int64))
        if self.matcher is not None:
            self.matcher.update(t)
        if self.counter is not None:
            self.counter.update(step, active)

    def learn(self, start: int, stop: int) -> None:
        """The network learns the segment [start, stop): truncated BPTT and one Adam step."""
        targets = np.ascontiguousarray(self.matrix[:, start:stop].T, dtype=np.int64)
        weight = _stream_weights(self.layout, start, stop)
        self.model.learn(self.inputs(targets), None if weight is None else self.inputs(weight))


def _numpy(weights: np.ndarray | torch.Tensor) -> np.ndarray:
    """The model's next-byte weights as an array (the compiled core's already are)."""
    return weights if isinstance(weights, np.ndarray) else weights.cpu().numpy()


def _stream_weights(layout: Layout, start: int, stop: int) -> np.ndarray | None:
    """[T, N] mask of the steps where a stream had a byte, or None when all had."""
    if stop <= layout.last_length:
        return None
    weights = np.ones((stop - start, layout.streams), dtype=np.float64)
    weights[max(0, layout.last_length - start) :, layout.streams - 1] = 0.0
    return weights
