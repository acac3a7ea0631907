"""The network's weights before any step: their layout in one flat buffer, their initial values, and
Adam's step-size schedule. NumPy only, shared by the compiled core (``core.py``) and the torch
reference (``model.py``), so both start from the same bits and take the same step sizes.

Layout: byte tables come first, since their forward copies and gradients have other scales than
the matrices'. The tables indexed by a byte (the row tables) lead: a segment touches few of their
rows, so Adam updates just those rows (lazy Adam); the rest of the buffer (after
``row_table_size``) is updated whole, in runs that share a step-size factor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lstmzip import priors
from lstmzip.config import ALPHABET, ModelConfig
from lstmzip.contexts import BYTE_CLASS, BYTE_CLASSES, CONFIDENCE_BUCKETS, parse_orders
from lstmzip.match import BUCKETS
from lstmzip.numerics import ACT_BITS, WEIGHT_BITS, uniform
from lstmzip.words import WORD_ROWS

ONE = float(1 << ACT_BITS)  # 1.0 as an activation
WORD_INIT = 0.25  # word vectors start random (the projection at 0 gives them no say yet, but a gradient)
CONTEXT_INIT = 0.5  # every order starts with some say (0.25 and 1.0 measured: within 0.004 bpb); learning sets the rest

WeightSpec = tuple[str, tuple[int, ...], float]  # a weight's name, shape and initial scale


@dataclass(frozen=True)
class ParameterLayout:
    """Where each weight of a config's network lies in the flat buffers, and its step-size factor."""

    specs: tuple[WeightSpec, ...]  # in buffer order
    row_count: int  # how many of ``specs`` lead as row tables
    rate_scales: dict[str, float]  # step-size factor by weight name ("embed": the layers' byte tables); others 1
    dense_rate_groups: tuple[tuple[int, int, float], ...]  # (start, stop, factor) runs of the dense part

    @classmethod
    def of(cls, config: ModelConfig) -> ParameterLayout:
        H, L = config.hidden, config.layers
        row_tables: list[WeightSpec] = [(f"embed{l}", (ALPHABET, 4 * H), 0.25) for l in range(L)]
        row_tables += [("out_embed", (ALPHABET, ALPHABET), 0.0)]
        row_tables += [("match_embed", (ALPHABET + 1, 4 * H), 0.0)]  # layer 0 sees the predicted byte; row 256: none
        if config.column_input:  # layer 0 sees the column in the original text; starts at 0 (no say)
            row_tables += [("column_embed", (config.context_columns, 4 * H), 0.0)]
        if config.word_input:  # a vector per word of a two-byte code; row WORD_ROWS: none, fixed at 0
            row_tables += [("word_embed", (WORD_ROWS + 1, config.word_input), WORD_INIT)]
        tables = [*row_tables, ("match", (BUCKETS + 1,), 0.0)]  # logit boost per match-length bucket; last: "none"
        matrices: list[WeightSpec] = [(f"rec{l}", (H, 4 * H), 1 / math.sqrt(H)) for l in range(L)]
        matrices += [(f"below{l}", (H, 4 * H), 1 / math.sqrt(H)) for l in range(1, L)]
        matrices += [("out_w", (L * H, ALPHABET), 1 / math.sqrt(L * H))]
        if config.word_input:  # word vectors to layer 0's gates; starts at 0, so a model starts as without them
            matrices += [("word_proj", (config.word_input, 4 * H), 0.0)]
        rate_scales = {name: config.matrix_rate_scale for name, _, _ in matrices}
        rate_scales["embed"] = config.input_rate_scale
        matrices += [("context", (config.context_count(), BYTE_CLASSES * config.confidence_buckets()), 0.0)]
        groups: list[tuple[int, int, float]] = []
        stop = 0
        for name, shape, _ in [*tables[len(row_tables) :], *matrices]:
            start, stop, factor = stop, stop + math.prod(shape), rate_scales.get(name, 1.0)
            if groups and groups[-1][2] == factor:
                start = groups.pop()[0]
            groups.append((start, stop, factor))
        return cls((*tables, *matrices), len(row_tables), rate_scales, tuple(groups))

    @property
    def size(self) -> int:
        """P: weights in all."""
        return sum(math.prod(shape) for _, shape, _ in self.specs)

    @property
    def row_table_size(self) -> int:
        return sum(math.prod(shape) for _, shape, _ in self.specs[: self.row_count])

    @property
    def table_size(self) -> int:
        """The row tables and the match boosts: the weights whose forward copies sit at 2**32."""
        return self.row_table_size + (BUCKETS + 1)

    def offsets(self) -> dict[str, tuple[int, tuple[int, ...]]]:
        """name -> (offset in the flat buffers, shape)."""
        out, offset = {}, 0
        for name, shape, _ in self.specs:
            out[name] = (offset, shape)
            offset += math.prod(shape)
        return out

    def views(self, buffer: np.ndarray) -> dict[str, np.ndarray]:
        """Named views of ``buffer`` [P] (or of any array laid out the same)."""
        return {name: buffer[at : at + math.prod(shape)].reshape(shape) for name, (at, shape) in self.offsets().items()}


def initial_master(config: ModelConfig, layout: ParameterLayout, initial: np.ndarray | None = None) -> np.ndarray:
    """float32 [P]: the master weights a model starts from, seeded (``config.seed``) or ``initial`` (a prior).

    Master weights are float32: Adam's passes over them are bound by memory traffic, and float32's
    separate IEEE operations are as exact and portable as float64's.
    """
    if initial is not None:
        if initial.shape != (layout.size,):
            initial = _widened_prior(config, initial)
        if initial.shape != (layout.size,):
            raise ValueError(f"the starting weights have {initial.size} values, this network {layout.size}")
        return initial.astype(np.float32)
    H = config.hidden
    specs = enumerate(layout.specs)
    values = [uniform(config.seed, salt, math.prod(shape)) * scale for salt, (_, shape, scale) in specs]
    master = np.concatenate(values).astype(np.float32)
    masters = layout.views(master)
    for l in range(config.layers):  # forget gates start open (bias +1), the usual LSTM initialisation
        masters[f"embed{l}"][:, H : 2 * H] += np.float32(1.0)
    # longer matches start surer
    masters["match"][:BUCKETS] = [0.25 + 0.75 * k / (BUCKETS - 1) for k in range(BUCKETS)]
    masters["context"][...] = CONTEXT_INIT
    if config.word_input:
        masters["word_embed"][WORD_ROWS] = 0.0
    return master


def weight_grid(master: np.ndarray) -> np.ndarray:
    """float64: master weights (float32) rounded to integers at 2**16, the matrices' forward weights.
    Exact: |w| <= 4, so w * 2**16 is a float32 with no rounding."""
    grid = master.astype(np.float64)  # one new array: each fresh one's pages fault in (about 8 MB here)
    grid *= float(1 << WEIGHT_BITS)
    return np.rint(grid, out=grid)  # half to even, as round


def forward_weights(master: np.ndarray, layout: ParameterLayout) -> np.ndarray:
    """float64 [P]: the integers the forward pass uses. Byte tables add to products at 2**32, so they and
    the match boosts are 2**16 more; the word vectors, which the projection multiplies, stay at 2**16."""
    forward = weight_grid(master)
    scaled = [name for name, _, _ in layout.specs[: layout.row_count] if name != "word_embed"]
    views = layout.views(forward)
    for name in [*scaled, "match"]:
        views[name] *= ONE
    return forward


def _widened_prior(config: ModelConfig, initial: np.ndarray) -> np.ndarray:
    """A prior's weights for ``config``'s network. The context weights come last, the word and above
    contexts' last of them. A prior learns without those two contexts and without the determinism
    buckets (``codec.train``): its contexts' weight sets start both halves of theirs, and the word and
    above contexts start at the weight a seeded model gives every context. An order the prior did not
    learn starts from the weights of the nearest order below it that the prior did (order 8 from
    order 6's, which a long context's counts resemble most; on 200 KB prefixes of seven files, −0.06 to
    +0.02 % against starting it at the seeded weight)."""
    learned = priors.CONTEXT_ORDERS.get(config.prior, parse_orders(config.context_orders))
    column = int(config.context_columns > 0)
    head, weights = np.split(initial, [initial.size - (len(learned) + column) * BYTE_CLASSES * CONFIDENCE_BUCKETS])
    sets = weights.reshape(len(learned) + column, BYTE_CLASSES, CONFIDENCE_BUCKETS)
    picks = [_nearest_order(order, learned) for order in parse_orders(config.context_orders)]
    sets = sets[picks + [len(learned)] * column]  # the column context's weights follow the orders'
    halves = 1 + config.context_determinism
    widened = np.tile(sets, (1, 1, halves)).reshape(-1)
    added = (config.context_words + config.context_above) * BYTE_CLASSES * config.confidence_buckets()
    return np.concatenate([head, widened, np.full(added, CONTEXT_INIT, dtype=initial.dtype)])


def _nearest_order(order: int, learned: tuple[int, ...]) -> int:
    """The index in ``learned`` of ``order``, or of the highest order below it (the lowest if none is)."""
    return max([i for i, known in enumerate(learned) if known <= order], default=0)


def weight_offsets(config: ModelConfig) -> np.ndarray:
    """int64 [256, K]: where order k's weight set for the class of each byte begins (a step adds its
    confidence bucket)."""
    buckets = config.confidence_buckets()
    orders = np.arange(config.context_count(), dtype=np.int64) * (BYTE_CLASSES * buckets)
    classes = np.asarray(BYTE_CLASS, dtype=np.int64) * buckets
    return classes[:, None] + orders


class AdamSchedule:
    """The update count, the powers of Adam's betas, and each update's step size."""

    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        self.step_count = 0
        self.beta1_power = 1.0
        self.beta2_power = 1.0

    def learning_rate(self) -> float:
        """The step size of the current update: ``learning_rate / (1 + k / lr_decay_updates)``.

        A high rate lets the model pick up a file's statistics in the first few hundred updates; the
        decay then lets it settle (measured: enwik6 2.166 -> 2.058 bpb, book1 2.437 -> 2.336 at the
        default level, docs/DESIGN.md). Computed in Python floats: two IEEE divisions and an
        addition, identical on every machine.
        """
        decay = self.config.lr_decay_updates
        if decay == 0:
            return self.config.learning_rate
        return self.config.learning_rate / (1.0 + self.step_count / decay)

    def next_update(self) -> float:
        """Count one more update; its step size, bias-corrected where there is momentum."""
        cfg = self.config
        self.step_count += 1
        self.beta2_power *= cfg.beta2
        rate = self.learning_rate()
        if cfg.beta1 > 0:
            self.beta1_power *= cfg.beta1
            rate = rate / (1.0 - self.beta1_power)
        return rate
