"""The byte predictor: a stacked LSTM that learns online, in exact fixed-point arithmetic.

Pure: tensors in, tensors out. No I/O, no coder, no file format. ``ModelConfig`` is the single
source of truth for the network and its training; it travels in every archive header.

Network (NNCP/lstm-compress style), for streams b = 1..B in lock-step and layers l = 0..L-1::

    a_l   = E_l[x_t] + h_{l-1,t} @ V_l + h_{l,t-1} @ R_l      # every layer sees the input byte x_t
    a_0  += M[match byte] + C[column] + U[word] @ P          # layer 0 also: the match model's byte, the column,
                                                             # the word a two-byte code just ended (else 0)
    i, f, o = sigmoid(a_l blocks);  g = 2*sigmoid(a_l block) - 1
    c_l,t = f * c_l,t-1 + i * g;    h_l,t = o * tanh(c_l,t)
    logits = Y[x_t] + [h_0,t .. h_L-1,t] @ W                 # the output reads every layer
    P(x_t+1) = softmax(logits)

``E_l`` (256 x 4H) is the byte input of each layer as a table (a one-hot input times a weight
matrix), which also plays the role of the gate biases; ``Y`` (256 x 256) is a learned bigram term.
The g gate is ``2*sigmoid(a) - 1 = tanh(a/2)`` so one sigmoid table serves all four gates.

Learning separates from prediction: :meth:`ByteLSTM.predict` runs one step and keeps the segment's
activations; after ``segment`` steps, :meth:`ByteLSTM.learn` back-propagates through the segment by
hand (truncated BPTT, weight gradients as one matrix product per weight over the whole segment)
and takes one Adam step. Encoder and decoder call the same two methods with the same bytes.

Exactness (see ``numerics``): every tensor below holds integers at a power-of-two scale, and every
matrix product's partial sums stay below 2**53, which the clips and the limits in
``ModelConfig.validate`` guarantee. The bound of each product is noted beside it.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, fields

import numpy as np
import torch

from lstmzip.assets import OPTIONAL_NAME
from lstmzip.contexts import BYTE_CLASS, BYTE_CLASSES, CONFIDENCE_BUCKETS, ORDERS_RULE, parse_orders
from lstmzip.match import BUCKETS
from lstmzip.numerics import (
    ACT_BITS,
    GRAD_BITS,
    LOG_COUNT_BITS,
    MAX_COUNT,
    PRODUCT_BITS,
    PROFILE,
    WEIGHT_BITS,
    LookupWork,
    Tables,
    exact_sqrt_,
    matmul,
    matmul_add_,
    rescale_,
    uniform,
)
from lstmzip.words import WORD_ROWS

ALPHABET = 256
ONE = float(1 << ACT_BITS)  # 1.0 as an activation
GRAD_ONE = float(1 << GRAD_BITS)  # 1.0 as a gradient
WEIGHT_CLIP = 4.0  # |w| <= 4  ->  forward weights below 2**18
CELL_CLIP = 8.0 * ONE  # tanh is flat beyond 8; keeps forget-gate gradients below 2**21
MAX_HIDDEN = 512
MIN_MATCH_HASH_BITS = 10  # the smallest hash tables a header may ask for
MIN_CONTEXT_HASH_BITS = 8
MAX_COLUMNS = 1024  # column context rows: 1024 x 6 classes x 256 counts = 1.5 MB at most
MAX_WORD_WIDTH = 64  # word vectors: their products with the projection stay below 2**42
WORD_INIT = 0.25  # word vectors start random (the projection at 0 gives them no say yet, but a gradient)
MAX_SEGMENT_BYTES = 4096  # streams * segment: bounds the weight-gradient sums
MATCH_SCALE = 4.0  # match boosts are 4 x their parameter, so the weight clip allows +-16 nats
CONTEXT_INIT = 0.5  # every order starts with some say (0.25 and 1.0 measured: within 0.004 bpb); learning sets the rest
MAX_RATE_SCALE = 16.0  # a group's step size at most 16 x learning_rate
MIN_EPS = 1e-30  # Adam's eps, far above float32's smallest normal number (1.2e-38)
ADAM_CHUNK = 32768  # values per chunk of the Adam update (six arrays of 256 KiB fit this core's 2 MiB L2)
CONTEXT_TO_LOGIT = 2.0 ** (PRODUCT_BITS - WEIGHT_BITS - LOG_COUNT_BITS)  # weight x log count -> logit scale
# What a header may ask of a decoder (docs/FORMAT.md, "Limits"): a network of at most 4M multiply-adds
# per byte predicted (8 x the best level's), and at most 1.5 GiB for tables and work space.
MAX_NETWORK_MACS = 1 << 22
MAX_MEMORY_BYTES = 3 << 29


@dataclass(frozen=True)
class ModelConfig:
    """Everything that determines the model's predictions. Serialized into the archive header.

    Every field is required: a level's file (``lstmzip/data/levels``) gives them all, so no value
    here can silently differ from a shipped level's. ``numerics`` is this build's profile.
    """

    layers: int
    hidden: int
    streams: int
    segment: int
    learning_rate: float  # Adam's step size at the first update
    lr_decay_updates: int  # update k uses learning_rate / (1 + k / this); 0 keeps it constant
    beta1: float
    beta2: float
    eps: float
    # Step sizes of two groups relative to ``learning_rate`` (the other weights: 1). The byte input
    # tables learn only in the segments that touch their rows and want 2-3 times larger steps; the
    # weight matrices learn from every byte, and want smaller steps where an update averages many
    # streams (measured: docs/notebook, "Step sizes by weight group").
    input_rate_scale: float  # the layers' byte input tables E_l
    matrix_rate_scale: float  # R_l, V_l and W
    seed: int
    match_min_length: int  # 0: no match model; else the context length it hashes
    match_long_length: int  # 0: one table; else a second, looked up first, for contexts this long
    match_hash_bits: int
    context_orders: str  # orders of the count-based side inputs, e.g. "1,2,3,4"; "" for none
    context_hash_bits: int  # rows of each hashed order's count table: 2**this
    context_count_limit: int  # a context's counts are halved when one would pass this
    context_columns: int  # 0: no column context; else columns 0..this-1 (``words.Columns``), after the orders
    # 1: layer 0 also reads the column in the original text (``words.Columns``) through a table of
    # context_columns rows, so the network can weigh a line break against the word it expects next
    column_input: int
    # 0: none; else where a two-byte dictionary code ends (``words.Columns.word``), layer 0 also reads its
    # word as a learned vector of this width, projected to the gates: the network need not compose the
    # word from the code's two bytes
    word_input: int
    apm_rate_bits: int  # 0: code the model's distribution as it is; else refine it (``apm.py``) at rate 2**-this
    prior: str  # name of the pretrained weights the model starts from (``priors.py``); "" for seeded random
    numerics: str = PROFILE

    def validate(self) -> None:
        """Raise ValueError unless every field is in the range the exactness bounds assume."""
        checks = [
            (1 <= self.layers <= 4, "layers must be 1..4"),
            (8 <= self.hidden <= MAX_HIDDEN, f"hidden must be 8..{MAX_HIDDEN}"),
            (1 <= self.streams <= 1024, "streams must be 1..1024"),
            (1 <= self.segment <= 1024, "segment must be 1..1024"),
            (self.streams * self.segment <= MAX_SEGMENT_BYTES, f"streams * segment must be <= {MAX_SEGMENT_BYTES}"),
            (0.0 < self.learning_rate <= 1.0, "learning_rate must be in (0, 1]"),
            (0 <= self.lr_decay_updates < 2**32, "lr_decay_updates must be a 32-bit unsigned integer"),
            (0.0 <= self.beta1 < 1.0, "beta1 must be in [0, 1)"),
            (0.0 < self.beta2 < 1.0, "beta2 must be in (0, 1)"),
            # Adam runs in float32: a smaller eps would round to 0 there, and 0 / 0 to NaN
            (MIN_EPS <= self.eps <= 1.0, f"eps must be in [{MIN_EPS:g}, 1]"),
            (0.0 < self.input_rate_scale <= MAX_RATE_SCALE, f"input_rate_scale must be in (0, {MAX_RATE_SCALE:g}]"),
            (0.0 < self.matrix_rate_scale <= MAX_RATE_SCALE, f"matrix_rate_scale must be in (0, {MAX_RATE_SCALE:g}]"),
            (0 <= self.seed < 2**32, "seed must be a 32-bit unsigned integer"),
            (self.match_min_length == 0 or 2 <= self.match_min_length <= 32, "match_min_length must be 0 or 2..32"),
            (
                self.match_long_length == 0 or 0 < self.match_min_length < self.match_long_length <= 32,
                "match_long_length must be 0 or longer than match_min_length, at most 32",
            ),
            (MIN_MATCH_HASH_BITS <= self.match_hash_bits <= 24, f"match_hash_bits must be {MIN_MATCH_HASH_BITS}..24"),
            (_orders_valid(self.context_orders), ORDERS_RULE),
            # 2**20 rows of 256 counts: 256 MB per hashed order at most, whatever a header asks for
            (
                MIN_CONTEXT_HASH_BITS <= self.context_hash_bits <= 20,
                f"context_hash_bits must be {MIN_CONTEXT_HASH_BITS}..20",
            ),
            (2 <= self.context_count_limit <= MAX_COUNT, f"context_count_limit must be 2..{MAX_COUNT}"),
            (
                self.context_columns == 0 or 2 <= self.context_columns <= MAX_COLUMNS,
                f"context_columns must be 0 or 2..{MAX_COLUMNS}",
            ),
            (self.column_input in (0, 1), "column_input must be 0 or 1"),
            (self.column_input == 0 or self.context_columns > 0, "column_input needs context_columns"),
            (0 <= self.word_input <= MAX_WORD_WIDTH, f"word_input must be 0..{MAX_WORD_WIDTH}"),
            (self.word_input == 0 or self.context_columns > 0, "word_input needs context_columns"),
            (self.apm_rate_bits == 0 or 2 <= self.apm_rate_bits <= 16, "apm_rate_bits must be 0 or 2..16"),
            (
                re.fullmatch(OPTIONAL_NAME, self.prior) is not None,
                "prior must be empty or a name of 1-40 of [a-z0-9.-]",
            ),
            (self.numerics == PROFILE, f"numeric profile {self.numerics!r} is not supported (this build: {PROFILE})"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        macs, memory = self.network_macs(), self.memory_bytes()
        if macs > MAX_NETWORK_MACS:
            raise ValueError(f"the network takes {macs} multiply-adds a byte (at most {MAX_NETWORK_MACS})")
        if memory > MAX_MEMORY_BYTES:
            raise ValueError(f"the model needs about {memory >> 20} MiB (at most {MAX_MEMORY_BYTES >> 20})")

    def network_macs(self) -> int:
        """Multiply-adds of one stream's forward step (learning takes about twice as many more)."""
        H, gates, K = self.hidden, 4 * self.hidden, self.context_count()
        recurrent = (2 * self.layers - 1) * H * gates  # R_l of every layer, V_l of every layer but the first
        return recurrent + self.layers * H * ALPHABET + self.word_input * gates + K * ALPHABET

    def context_count(self) -> int:
        """K: the count contexts the output mixes (the orders, and the column context last)."""
        return len(parse_orders(self.context_orders)) + (self.context_columns > 0)

    def memory_bytes(self) -> int:
        """About what a model of this config holds: side tables, weights with Adam's state, segment buffers."""
        orders = parse_orders(self.context_orders)
        count_rows = sum(min(1 << (8 * k), 1 << self.context_hash_bits) for k in orders) + self.context_columns * 6
        match_slots = (1 << self.match_hash_bits) * (1 + bool(self.match_long_length)) if self.match_min_length else 0
        H, L = self.hidden, self.layers
        weights = (L + 1) * ALPHABET * 4 * H + ALPHABET * ALPHABET + self.network_macs()
        per_byte = self.context_count() * (ALPHABET * 8 + 16) + ALPHABET * 24 + L * H * 8 * 24
        segment = self.streams * self.segment * per_byte
        return count_rows * (ALPHABET + 8) + match_slots * 8 + weights * 32 + segment

    def to_dict(self) -> dict[str, int | float | str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> ModelConfig:
        """Strict inverse of :meth:`to_dict`: unknown or missing keys and wrong types are errors."""
        names = {f.name: f.type for f in fields(cls)}
        if set(data) != set(names):
            raise ValueError(f"model config keys differ: {sorted(set(data) ^ set(names))}")
        kinds = {"int": int, "float": float, "str": str}
        for name, kind in names.items():
            value = data[name]
            expected = kinds[str(kind)]
            if isinstance(value, bool) or not isinstance(value, expected if expected is not float else (int, float)):
                raise ValueError(f"model config field {name!r} must be {expected.__name__}")
        config = cls(**{k: (float(v) if kinds[str(names[k])] is float else v) for k, v in data.items()})  # type: ignore[arg-type]
        config.validate()
        return config


def _orders_valid(text: str) -> bool:
    try:
        parse_orders(text)
    except ValueError:
        return False
    return True


def _to_weight_grid(master: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """``out`` (float64) = master weights (float32) rounded to integers at 2**16: the forward weights
    of the matrices; the byte tables' are these times 2**16 more. Exact: |w| <= 4, so w * 2**16 is a
    float32 with no rounding."""
    return torch.mul(master, float(1 << WEIGHT_BITS), out=out).round_()


def _sums_by_row(
    index: torch.Tensor, values: torch.Tensor, fixed_row: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The rows of a table that ``index`` [n] names (ascending, [R]) and the sum of ``values`` [n, width]
    that falls on each ([R, width]): a row table's gradient. ``fixed_row`` (a "none" row that stays at
    0) gets no gradient."""
    rows, inverse = torch.unique(index, return_inverse=True)
    sums = values.new_zeros(len(rows), values.shape[1]).index_add_(0, inverse, values)
    if fixed_row is not None:
        sums.masked_fill_((rows == fixed_row).unsqueeze(1), 0.0)
    return rows, sums


_Spec = tuple[str, tuple[int, ...], float]  # a weight's name, shape and initial scale


def _views(buffer: torch.Tensor, layout: list[_Spec]) -> dict[str, torch.Tensor]:
    """Named views of the consecutive runs of ``buffer`` that ``layout`` lays out."""
    out, offset = {}, 0
    for name, shape, _ in layout:
        n = math.prod(shape)
        out[name] = buffer[offset : offset + n].view(shape)
        offset += n
    return out


@dataclass(frozen=True)
class _LayerStep:
    """Views of one layer's weights and buffers at one step, made once: building a view costs about
    as much dispatch as an operation on it, and a step would otherwise build some forty."""

    embed: torch.Tensor  # [256, 4H] byte input table (forward weights, updated in place)
    rec: torch.Tensor  # [H, 4H]
    below: torch.Tensor | None  # [H, 4H]; None in layer 0, which sees the match model's byte instead
    h_prev: torch.Tensor  # [B, H] this layer's state after step t - 1
    h_below: torch.Tensor | None  # [B, H] the layer below after step t
    h_new: torch.Tensor  # [B, H]
    gates: torch.Tensor  # [B, 4H] sigmoid outputs
    i: torch.Tensor  # [B, H] views of ``gates``: input, forget, cell input (as a sigmoid), output
    f: torch.Tensor
    g: torch.Tensor
    o: torch.Tensor
    c_prev: torch.Tensor  # [B, H]
    c_new: torch.Tensor  # [B, H]
    tanh_c: torch.Tensor  # [B, H]


@dataclass(frozen=True)
class _BackStep:
    """Views of one layer's back-propagation buffers at one step (see ``_LayerStep``)."""

    dh: torch.Tensor  # [B, H] gradient reaching this layer's output from above
    delta: torch.Tensor  # [B, 4H] gate pre-activation gradients
    delta_ifg: torch.Tensor  # [B, 3, H] of those, the input, forget and cell-input gates'
    delta_o: torch.Tensor  # [B, H] the output gate's
    mult_ifg: torch.Tensor  # [B, 3, H] cell-state gradient -> gate gradient multipliers
    mult_o: torch.Tensor  # [B, H] output gradient -> output gate gradient multiplier
    out_to_cell: torch.Tensor  # [B, H] output gradient -> cell-state gradient
    forget: torch.Tensor  # [B, H] cell-state gradient -> the previous step's


@dataclass(frozen=True)
class _Step:
    """Views of the segment buffers at step t (see ``_LayerStep``)."""

    x: torch.Tensor  # [B]
    match_expected: torch.Tensor  # [B]
    match_bucket: torch.Tensor  # [B]
    match_input: torch.Tensor  # [B]
    column: torch.Tensor  # [B]
    word: torch.Tensor  # [B]
    h_new: torch.Tensor  # [B, L*H]
    context_features: torch.Tensor  # [B, K, 256]
    context_index: torch.Tensor  # [B, K]
    freq: torch.Tensor  # [B, 256]
    freq_sum: torch.Tensor  # [B, 1]
    layers: tuple[_LayerStep, ...]


class ByteLSTM:
    """The online-learning predictor for ``config.streams`` parallel byte streams."""

    def __init__(
        self, config: ModelConfig, device: torch.device | str = "cpu", initial: np.ndarray | None = None
    ) -> None:
        """``initial``: master weights [P] to start from (a prior, ``config.prior``) instead of the seeded ones."""
        config.validate()
        self.config = config
        self.device = torch.device(device)
        self.tables = Tables(self.device)
        specs, row_count = self._parameter_layout()
        self._initial_weights(specs, initial)
        self._weight_views(specs, row_count)
        self._segment_buffers()
        self._learning_workspace()
        self.t = 0

    def _parameter_layout(self) -> tuple[list[_Spec], int]:
        """The weights' specs (name, shape, initial scale) in buffer order, and how many lead as row tables."""
        config = self.config
        H, L = config.hidden, config.layers
        # Parameter layout in one flat buffer. Byte tables come first: their forward copies and
        # gradients have other scales than the matrices'. The tables indexed by a byte (``row_tables``)
        # lead: a segment touches few of their rows, so Adam updates just those rows (lazy Adam); the
        # rest of the buffer (after ``row_table_size``) is updated whole.
        row_tables = [(f"embed{l}", (ALPHABET, 4 * H), 0.25) for l in range(L)]
        row_tables += [("out_embed", (ALPHABET, ALPHABET), 0.0)]
        row_tables += [("match_embed", (ALPHABET + 1, 4 * H), 0.0)]  # layer 0 sees the predicted byte; row 256: none
        if config.column_input:  # layer 0 sees the column in the original text; starts at 0 (no say)
            row_tables += [("column_embed", (config.context_columns, 4 * H), 0.0)]
        if config.word_input:  # a vector per word of a two-byte code; row WORD_ROWS: none, fixed at 0
            row_tables += [("word_embed", (WORD_ROWS + 1, config.word_input), WORD_INIT)]
        tables = [*row_tables, ("match", (BUCKETS + 1,), 0.0)]  # logit boost per match-length bucket; last: "none"
        matrices = [(f"rec{l}", (H, 4 * H), 1 / math.sqrt(H)) for l in range(L)]
        matrices += [(f"below{l}", (H, 4 * H), 1 / math.sqrt(H)) for l in range(1, L)]
        matrices += [("out_w", (L * H, ALPHABET), 1 / math.sqrt(L * H))]
        if config.word_input:  # word vectors to layer 0's gates; starts at 0, so a model starts as without them
            matrices += [("word_proj", (config.word_input, 4 * H), 0.0)]
        # step-size factor by weight name ("embed": the layers' byte input tables, updated as one); others 1
        self.rate_scales = {name: config.matrix_rate_scale for name, _, _ in matrices}
        self.rate_scales["embed"] = config.input_rate_scale
        K = config.context_count()
        weight_sets = BYTE_CLASSES * CONFIDENCE_BUCKETS
        matrices += [("context", (K, weight_sets), 0.0)]  # weight of each order's log counts
        specs = tables + matrices
        self.row_table_size = sum(math.prod(shape) for _, shape, _ in row_tables)
        self.table_size = sum(math.prod(shape) for _, shape, _ in tables)
        dense_specs = specs[len(row_tables) :]
        # (start, stop, step-size factor) of the dense part's runs of weights that share a factor
        self.dense_rate_groups: list[tuple[int, int, float]] = []
        stop = 0
        for name, shape, _ in dense_specs:
            start, stop, factor = stop, stop + math.prod(shape), self.rate_scales.get(name, 1.0)
            if self.dense_rate_groups and self.dense_rate_groups[-1][2] == factor:
                start = self.dense_rate_groups.pop()[0]
            self.dense_rate_groups.append((start, stop, factor))

        return specs, len(row_tables)

    def _initial_weights(self, specs: list[_Spec], initial: np.ndarray | None) -> None:
        """Master weights (seeded, or ``initial``), their forward copies, gradients and Adam's state."""
        config = self.config
        H, L = config.hidden, config.layers
        f64 = {"dtype": torch.float64, "device": self.device}
        size = sum(math.prod(shape) for _, shape, _ in specs)
        init = []
        for salt, (_, shape, scale) in enumerate(specs):
            init.append(torch.from_numpy(uniform(config.seed, salt, math.prod(shape))) * scale)
        # Master weights and Adam's moments are float32: Adam's passes over them are bound by memory
        # traffic, and float32's separate IEEE operations are as exact and portable as float64's.
        f32 = {"dtype": torch.float32, "device": self.device}
        self.master = torch.cat(init).to(**f32)  # [P] real-valued weights
        self.forward_weights = torch.empty(size, **f64)  # [P] integers: tables 2**32, matrices 2**16
        self.grad = torch.empty(size - self.row_table_size, **f64)  # [P - row tables] gradients of ``dense``
        self.adam_v = torch.zeros(size, **f32)  # [P]
        self.adam_m = torch.zeros(size, **f32) if config.beta1 > 0 else None
        self.step_count = 0
        self.beta1_power = 1.0
        self.beta2_power = 1.0

        masters = _views(self.master, specs)
        for l in range(L):  # forget gates start open (bias +1), the usual LSTM initialisation
            masters[f"embed{l}"][:, H : 2 * H] += 1.0
        # Longer matches start surer; Python floats (IEEE) rather than torch.linspace, whose kernel may differ.
        masters["match"][:BUCKETS] = torch.tensor([0.25 + 0.75 * k / (BUCKETS - 1) for k in range(BUCKETS)])
        masters["context"].fill_(CONTEXT_INIT)
        if config.word_input:
            masters["word_embed"][WORD_ROWS] = 0.0
        if initial is not None:
            if initial.shape != self.master.shape:
                raise ValueError(f"the starting weights have {initial.size} values, this network {size}")
            self.master.copy_(torch.from_numpy(initial))

    def _weight_views(self, specs: list[_Spec], row_count: int) -> None:
        """Named views of the flat buffers: forward weights, gradients, and each row table's for Adam."""
        L, H = self.config.layers, self.config.hidden
        dense_specs = specs[row_count:]
        self.w = _views(self.forward_weights, specs)
        self.g = _views(self.grad, dense_specs)
        # name -> (master, v, m, forward) views [rows, width] of a row table; m is None without
        # momentum. The layers' byte input tables lie one after the other and a segment touches the
        # same rows of each, so Adam updates them as one table "embed" [L, 256, 4H].
        embed_size = L * ALPHABET * 4 * H

        def row_table(buffer: torch.Tensor, name: str) -> torch.Tensor:
            return buffer[:embed_size].view(L, ALPHABET, 4 * H) if name == "embed" else _views(buffer, specs)[name]

        self.row_views: dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor]] = {
            name: (
                row_table(self.master, name),
                row_table(self.adam_v, name),
                None if self.adam_m is None else row_table(self.adam_m, name),
                row_table(self.forward_weights, name),
            )
            for name in ["embed", *(name for name, _, _ in specs[L:row_count])]
        }
        _to_weight_grid(self.master, self.forward_weights)
        # Byte tables add to products at 2**32; the word vectors, which the projection multiplies, stay
        # at 2**16 like a matrix.
        self.row_forward_scale = {name: 1.0 if name == "word_embed" else ONE for name in self.row_views}
        for name, scale in self.row_forward_scale.items():
            self.row_views[name][3].mul_(scale)
        self.w["match"].mul_(ONE)


    def _segment_buffers(self) -> None:
        """What a segment's steps keep for learning, and each step's work space (allocated once)."""
        config = self.config
        B, T, H, L = config.streams, config.segment, config.hidden, config.layers
        K, weight_sets = config.context_count(), BYTE_CLASSES * CONFIDENCE_BUCKETS
        f64 = {"dtype": torch.float64, "device": self.device}
        # Segment buffers: row 0 of hcat/cell holds the state carried in from the previous segment.
        self.x = torch.zeros(T, B, dtype=torch.int64, device=self.device)  # [T, B] input bytes
        self.hcat = torch.zeros(T + 1, B, L * H, **f64)  # [T+1, B, L*H] hidden states, 2**16
        self.cell = torch.zeros(L, T + 1, B, H, **f64)  # [L, T+1, B, H] cell states, 2**16
        self.gates = torch.empty(L, T, B, 4 * H, **f64)  # [L, T, B, 4H] sigmoid outputs i f g o, 2**16
        self.tanh_cell = torch.empty(L, T, B, H, **f64)  # [L, T, B, H], 2**16
        self.freq = torch.empty(T, B, ALPHABET, **f64)  # [T, B, 256] exp table values
        self.freq_sum = torch.empty(T, B, 1, **f64)  # [T, B, 1]
        self.match_expected = torch.zeros(T, B, dtype=torch.int64, device=self.device)  # [T, B] predicted byte
        self.match_bucket = torch.full((T, B), BUCKETS, dtype=torch.int64, device=self.device)  # [T, B]
        self.match_input = torch.full((T, B), ALPHABET, dtype=torch.int64, device=self.device)  # [T, B]
        self.column = torch.zeros(T, B, dtype=torch.int64, device=self.device)  # [T, B] column after byte x
        self.word = torch.full((T, B), WORD_ROWS, dtype=torch.int64, device=self.device)  # [T, B] word ending at x
        self.rows = torch.arange(B, device=self.device)
        self.context_features = torch.zeros(T, B, K, ALPHABET, **f64)  # [T, B, K, 256] log counts, 2**12
        self.context_index = torch.zeros(T, B, K, dtype=torch.int64, device=self.device)  # [T, B, K] weight used
        # Where order k's weights for the class of the byte just read begin; a step adds its confidence bucket.
        orders = torch.arange(K, device=self.device) * weight_sets  # [K]
        classes = torch.tensor(BYTE_CLASS, device=self.device) * CONFIDENCE_BUCKETS  # [256]
        self.weight_offsets = classes.unsqueeze(1) + orders  # [256, K]
        self.pre_activation = torch.empty(B, 4 * H, **f64)  # [B, 4H]
        self.logits = torch.empty(B, ALPHABET, **f64)  # [B, 256]
        self.gate_product = torch.empty(B, 4 * H, **f64)  # [B, 4H] a product before it joins the pre-activation
        self.logit_product = torch.empty(B, ALPHABET, **f64)  # [B, 256]
        self.gate_work = LookupWork((B, 4 * H), self.device)
        self.cell_work = LookupWork((B, H), self.device)
        self.freq_work = LookupWork((B, ALPHABET), self.device)
        self.steps = [self._step_views(t) for t in range(T)]

    def _learning_workspace(self) -> None:
        """Back-propagation's buffers (fresh large tensors would cost page faults every segment)."""
        config = self.config
        B, T, H, L = config.streams, config.segment, config.hidden, config.layers
        f64 = {"dtype": torch.float64, "device": self.device}
        self.delta = torch.empty(T, B, 4 * H, **f64)  # [T, B, 4H] gate pre-activation gradients
        self.slope = torch.empty(T, B, 4 * H, **f64)
        self.multiplier = torch.empty(T, B, 4, H, **f64)
        self.out_to_cell = torch.empty(T, B, H, **f64)
        self.forget = torch.empty(T, B, H, **f64)
        self.dh = torch.empty(T, B, L * H, **f64)  # [T, B, L*H] gradients of the hidden states
        self.dh_below = torch.empty(T * B, H, **f64)  # [T*B, H] gradient reaching the layer below, before rescaling
        self.word_grad = torch.empty(T * B, config.word_input, **f64)  # [T*B, E] gradients of the word vectors used
        self.dc = torch.empty(B, H, **f64)  # [B, H] cell-state gradient carried back through a segment
        self.dh_step = torch.empty(B, H, **f64)  # [B, H] hidden-state gradient at one step
        self.dh_scratch = torch.empty(B, H, **f64)
        # The recurrent matrices transposed into contiguous copies (refreshed with the weights): the
        # back-propagation's product by each at every step runs faster than through a transposed view
        # (measured with NumPy's BLAS: 128 -> 99 us at H128 B32, 117 -> 97 us at H192 B10).
        self.rec_transposed = [torch.empty(4 * H, H, **f64) for _ in range(L)]  # [4H, H] each
        self._refresh_transposed()
        self.back_steps = [[self._back_step_views(l, t) for t in range(T)] for l in range(L)]
        self.adam_scratch = torch.empty(3, ADAM_CHUNK, dtype=torch.float32, device=self.device)

    def _refresh_transposed(self) -> None:
        for l, transposed in enumerate(self.rec_transposed):
            transposed.copy_(self.w[f"rec{l}"].T)

    def _back_step_views(self, l: int, t: int) -> _BackStep:
        H = self.config.hidden
        delta = self.delta[t].view(-1, 4, H)  # [B, 4, H]
        return _BackStep(
            dh=self.dh[t, :, l * H : (l + 1) * H],
            delta=self.delta[t],
            delta_ifg=delta[:, :3],
            delta_o=delta[:, 3],
            mult_ifg=self.multiplier[t, :, :3],
            mult_o=self.multiplier[t, :, 3],
            out_to_cell=self.out_to_cell[t],
            forget=self.forget[t],
        )

    def _step_views(self, t: int) -> _Step:
        H, w = self.config.hidden, self.w
        layers = []
        for l in range(self.config.layers):
            layer, below = slice(l * H, (l + 1) * H), slice((l - 1) * H, l * H)
            i, f, g, o = self.gates[l, t].split(H, dim=1)
            layers.append(
                _LayerStep(
                    embed=w[f"embed{l}"],
                    rec=w[f"rec{l}"],
                    below=w[f"below{l}"] if l else None,
                    h_prev=self.hcat[t, :, layer],
                    h_below=self.hcat[t + 1, :, below] if l else None,
                    h_new=self.hcat[t + 1, :, layer],
                    gates=self.gates[l, t],
                    i=i,
                    f=f,
                    g=g,
                    o=o,
                    c_prev=self.cell[l, t],
                    c_new=self.cell[l, t + 1],
                    tanh_c=self.tanh_cell[l, t],
                )
            )
        return _Step(
            x=self.x[t],
            match_expected=self.match_expected[t],
            match_bucket=self.match_bucket[t],
            match_input=self.match_input[t],
            column=self.column[t],
            word=self.word[t],
            h_new=self.hcat[t + 1],
            context_features=self.context_features[t],
            context_index=self.context_index[t],
            freq=self.freq[t],
            freq_sum=self.freq_sum[t],
            layers=tuple(layers),
        )

    @torch.no_grad()
    def predict(
        self,
        x: torch.Tensor,
        expected: torch.Tensor | None = None,
        bucket: torch.Tensor | None = None,
        context: tuple[torch.Tensor, torch.Tensor] | None = None,
        column: torch.Tensor | None = None,
        word: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Consume byte ``x`` [B] (int64) of every stream; return the next byte's weights [B, 256].

        The weights are integers >= 1 (``exp`` table values at 2**``numerics.EXP_BITS``) in float64;
        P(next byte) is proportional to them, and the caller turns them into coding probabilities
        (``codec``). The returned tensor is the model's buffer, which learning reads.

        ``expected`` and ``bucket`` [B] come from the match model: the byte a repeat predicts and its
        length bucket (``BUCKETS`` where there is no match). ``context`` comes from the context
        model: log-count features [B, K, 256] at 2**LOG_COUNT_BITS and confidence buckets [B, K].
        ``column`` [B] (int64, < ``context_columns``): each stream's column after ``x``, read where
        ``column_input`` asks for it. ``word`` [B] (int64, <= ``WORD_ROWS``): the word whose two-byte code
        ends at ``x`` (``words.Columns.word``; ``WORD_ROWS`` for none), read where ``word_input`` asks for it.
        """
        step, w, tables = self.steps[self.t], self.w, self.tables
        step.x.copy_(x)
        if expected is not None and bucket is not None:
            step.match_expected.copy_(expected)
            step.match_bucket.copy_(bucket)
            step.match_input.copy_(expected).masked_fill_(bucket == BUCKETS, ALPHABET)
        if column is not None:
            step.column.copy_(column)
        if word is not None:
            step.word.copy_(word)
        a = self.pre_activation  # [B, 4H]
        for layer in step.layers:
            torch.index_select(layer.embed, 0, x, out=a)  # [B, 4H]
            matmul_add_(a, layer.h_prev, layer.rec, self.gate_product)  # < 2**46
            if layer.below is None:
                a.add_(w["match_embed"].index_select(0, step.match_input))
                if self.config.column_input:
                    a.add_(w["column_embed"].index_select(0, step.column))
                if self.config.word_input:  # [B, E] x [E, 4H] < 2**42
                    matmul_add_(a, w["word_embed"].index_select(0, step.word), w["word_proj"], self.gate_product)
            else:
                matmul_add_(a, layer.h_below, layer.below, self.gate_product)  # < 2**47
            tables.sigmoid(a, PRODUCT_BITS, self.gate_work, out=layer.gates)  # [B, 4H]
            # c = f * c_prev + i * g with g = 2 * g_sigmoid - 1, all at 2**32 and exact (< 2**36)
            c = torch.mul(layer.f, layer.c_prev, out=layer.c_new).addcmul_(layer.i, layer.g, value=2.0)
            rescale_(c.sub_(layer.i, alpha=ONE), ACT_BITS).clamp_(-CELL_CLIP, CELL_CLIP)
            tables.tanh(c, ACT_BITS, self.cell_work, out=layer.tanh_c)  # [B, H]
            rescale_(torch.mul(layer.o, layer.tanh_c, out=layer.h_new), ACT_BITS)
        logits = torch.index_select(w["out_embed"], 0, x, out=self.logits)  # [B, 256]
        matmul_add_(logits, step.h_new, w["out_w"], self.logit_product)  # < 2**48
        if context is not None:
            features = step.context_features.copy_(context[0])  # [B, K, 256] < 2**15
            offsets = self.weight_offsets.index_select(0, x)  # [B, K] the weight sets of the byte just read
            index = torch.add(context[1], offsets, out=step.context_index)  # [B, K]
            weights = w["context"].view(-1).index_select(0, index.view(-1)).mul_(CONTEXT_TO_LOGIT)  # [B*K] < 2**22
            weights = weights.view_as(index).unsqueeze(1)  # [B, 1, K]
            logits.unsqueeze(1).baddbmm_(weights, features)  # < 2**40 before the sum with the logits
        boost = w["match"].index_select(0, step.match_bucket).mul_(MATCH_SCALE)  # [B] < 2**36
        logits.index_put_((self.rows, step.match_expected), boost, accumulate=True)
        distance = torch.sub(logits.amax(dim=1, keepdim=True), logits, out=logits)  # [B, 256] >= 0
        freq = tables.exp_neg(distance, PRODUCT_BITS, self.freq_work, out=step.freq)
        torch.sum(freq, dim=1, keepdim=True, out=step.freq_sum)
        self.t += 1
        return freq

    @torch.no_grad()
    def learn(self, targets: torch.Tensor, weight: torch.Tensor | None = None) -> None:
        """Back-propagate the bytes ``targets`` [T, B] that followed the last T predictions; one Adam step.

        ``weight`` [T, B] (0 or 1) masks out steps of streams that had already ended.
        """
        cfg, w, grads = self.config, self.w, self.g
        T, B, H, L = self.t, cfg.streams, cfg.hidden, cfg.layers
        TB = T * B
        x = self.x[:T].reshape(TB)

        # Output layer. dlogits = p - onehot(target), at 2**20.
        dlogits = torch.div(self.freq[:T], self.freq_sum[:T]).mul_(GRAD_ONE).round_()  # [T, B, 256]
        dlogits.scatter_add_(2, targets.unsqueeze(2), torch.full((T, B, 1), -GRAD_ONE, **self._f64()))
        if weight is not None:
            dlogits.mul_(weight.unsqueeze(2))
        d = dlogits.view(TB, ALPHABET)
        hidden_out = self.hcat[1 : T + 1].reshape(TB, L * H)
        matmul(hidden_out.T, d, out=grads["out_w"])  # 2**36, < 2**48
        x_rows, x_inverse = torch.unique(x, return_inverse=True)  # [R] bytes of this segment, [TB] their row
        row_grads = [("out_embed", x_rows, d.new_zeros(len(x_rows), ALPHABET).index_add_(0, x_inverse, d))]  # 2**20
        embed_grad = d.new_zeros(L, len(x_rows), 4 * H)  # [L, R, 4H] every layer's byte input rows
        row_grads.append(("embed", x_rows, embed_grad))
        dh = self.dh[:T]  # [T, B, L*H]
        rescale_(matmul(d, w["out_w"].T, out=dh.view(TB, L * H)), WEIGHT_BITS)  # 2**20, < 2**46 before
        d_expected = d.gather(1, self.match_expected[:T].reshape(TB, 1)).view(TB).mul_(MATCH_SCALE)  # [TB]
        grads["match"].zero_().index_add_(0, self.match_bucket[:T].reshape(TB), d_expected)
        grads["match"][BUCKETS] = 0.0  # "no match" has no boost to learn
        K = self.weight_offsets.shape[1]
        if K:  # d weight = sum over bytes of dlogit * log count: 2**32, < 2**36 per step, < 2**48 in all, 2**52 x 16
            per_step = torch.bmm(self.context_features[:T].view(TB, K, ALPHABET), d.view(TB, ALPHABET, 1))
            grads["context"].zero_().view(-1).index_add_(0, self.context_index[:T].view(-1), per_step.view(-1))
            grads["context"].mul_(CONTEXT_TO_LOGIT)  # to the matrices' 2**36

        for l in reversed(range(L)):
            layer = slice(l * H, (l + 1) * H)
            self._gate_multipliers(l, T)
            self._through_time(l, T)
            delta_flat = self.delta[:T].view(TB, 4 * H)
            matmul(self.hcat[:T, :, layer].reshape(TB, H).T, delta_flat, out=grads[f"rec{l}"])  # < 2**49
            embed_grad[l].index_add_(0, x_inverse, delta_flat)
            if l == 0:
                # row 256, "no match", stays at 0
                row_grads.append(("match_embed", *_sums_by_row(self.match_input[:T].reshape(TB), delta_flat, ALPHABET)))
                if cfg.column_input:
                    row_grads.append(("column_embed", *_sums_by_row(self.column[:T].reshape(TB), delta_flat)))
                if cfg.word_input:
                    words = self.word[:T].reshape(TB)
                    vectors = w["word_embed"].index_select(0, words)  # [TB, E] at 2**16
                    matmul(vectors.T, delta_flat, out=grads["word_proj"])  # 2**36, < 2**51
                    d_vectors = matmul(delta_flat, w["word_proj"].T, out=self.word_grad[:TB])  # [TB, E] < 2**50
                    rescale_(d_vectors, WEIGHT_BITS)  # 2**20
                    row_grads.append(("word_embed", *_sums_by_row(words, d_vectors, WORD_ROWS)))  # "none" stays at 0
            if l > 0:
                below = slice((l - 1) * H, l * H)
                matmul(self.hcat[1 : T + 1, :, below].reshape(TB, H).T, delta_flat, out=grads[f"below{l}"])
                dh_below = matmul(delta_flat, w[f"below{l}"].T, out=self.dh_below[:TB])  # [TB, H] < 2**47
                dh[:, :, below] += rescale_(dh_below, WEIGHT_BITS).view(T, B, H)

        self._adam_step(row_grads)
        # The last state of this segment is where the next one starts.
        self.hcat[0].copy_(self.hcat[T])
        self.cell[:, 0].copy_(self.cell[:, T])
        self.t = 0

    def as_input(self, values: np.ndarray) -> torch.Tensor:
        """An array of the coding loop as an input of :meth:`predict` or :meth:`learn`: a tensor on this device."""
        return torch.from_numpy(values).to(self.device)

    def _gate_multipliers(self, l: int, T: int) -> None:
        """Layer ``l``'s factors from a state's gradient to its gates' over the segment's ``T`` steps."""
        H = self.config.hidden
        s = self.gates[l, :T]  # [T, B, 4H]
        i, f, g_sigmoid, o = s.split(H, dim=2)
        tc, c_prev = self.tanh_cell[l, :T], self.cell[l, :T]
        slope = torch.sub(ONE, s, out=self.slope[:T]).mul_(s)  # sigmoid'(a) at 2**32, [T, B, 4H]
        s_i, s_f, s_g, s_o = rescale_(slope, ACT_BITS).split(H, dim=2)
        # d a_gate = d(state) * multiplier; multipliers at 2**16, pre-scaled by 2**-16 so that one
        # multiply and one round give the rescaled product exactly.
        mult = self.multiplier[:T]  # [T, B, 4, H]
        torch.mul(g_sigmoid, 2.0, out=mult[:, :, 0]).sub_(ONE).mul_(s_i)
        torch.mul(c_prev, s_f, out=mult[:, :, 1])
        torch.mul(i, s_g, out=mult[:, :, 2]).mul_(2.0)
        torch.mul(tc, s_o, out=mult[:, :, 3])
        rescale_(mult, ACT_BITS).mul_(2.0**-ACT_BITS)
        out_to_cell = torch.mul(tc, tc, out=self.out_to_cell[:T])  # [T, B, H]
        rescale_(out_to_cell, ACT_BITS).sub_(ONE).mul_(o).mul_(-1.0)  # o * (1 - tanh^2), 2**32
        rescale_(out_to_cell, ACT_BITS).mul_(2.0**-ACT_BITS)
        torch.mul(f, 2.0**-ACT_BITS, out=self.forget[:T])

    def _through_time(self, l: int, T: int) -> None:
        """Layer ``l``'s gate gradients ``delta``, from the last of the segment's ``T`` steps back to the first."""
        rec_t = self.rec_transposed[l]  # [4H, H]
        dc, dh_t = self.dc.zero_(), self.dh_step.zero_()  # [B, H] each
        for t in reversed(range(T)):
            back = self.back_steps[l][t]
            dh_t.add_(back.dh).clamp_(-GRAD_ONE, GRAD_ONE)
            torch.mul(dh_t, back.mult_o, out=back.delta_o)
            dc.add_(torch.mul(dh_t, back.out_to_cell, out=self.dh_scratch).round_()).clamp_(-GRAD_ONE, GRAD_ONE)
            torch.mul(dc.unsqueeze(1), back.mult_ifg, out=back.delta_ifg)
            back.delta.round_()  # [B, 4H] < 2**21
            if t:  # what flows on to step t - 1
                dc.mul_(back.forget).round_()
                rescale_(matmul(back.delta, rec_t, out=dh_t), WEIGHT_BITS)  # < 2**53 for H <= 512

    def _f64(self) -> dict[str, object]:
        return {"dtype": torch.float64, "device": self.device}

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

    def _adam_step(self, row_grads: list[tuple[str, torch.Tensor, torch.Tensor]]) -> None:
        """One Adam update: the dense part of the buffer whole, and the touched rows of the row tables.

        ``row_grads`` holds (table name, rows [R] ascending, gradients [(L,) R, width] at 2**20). Rows that
        no byte of the segment touched keep their weights and moments as they are (lazy Adam: with
        beta1 = 0 their step would be zero anyway, and beta2 ~ 1 makes skipping their decay
        negligible); measured: see docs/DESIGN.md. Each group's step size is the schedule's times its
        factor (``input_rate_scale``, ``matrix_rate_scale``), one more IEEE multiplication. Separate IEEE
        operations only.
        """
        dense, tables = self.row_table_size, self.table_size
        # The small tables' gradients (at 2**20) join the matrices' scale, so one factor serves the buffer.
        self.grad[: tables - dense].mul_(2.0**ACT_BITS)
        rate = self._next_update()
        momentum = None if self.adam_m is None else self.adam_m[dense:]
        for start, stop, factor in self.dense_rate_groups:
            part = slice(dense + start, dense + stop)
            self._adam_update(
                self.master[part],
                self.adam_v[part],
                None if momentum is None else momentum[start:stop],
                self.grad[start:stop],
                GRAD_BITS + ACT_BITS,
                rate * factor,
                self.forward_weights[part],
            )
        self.forward_weights[dense:tables].mul_(2.0**ACT_BITS)  # the small byte tables, as in __init__
        self._refresh_transposed()
        for name, rows, grad in row_grads:
            master_view, v_view, m_view, forward_view = self.row_views[name]
            master, v = master_view.index_select(-2, rows), v_view.index_select(-2, rows)  # [(L,) R, width]
            m = None if m_view is None else m_view.index_select(-2, rows)
            factor = self.rate_scales.get(name, 1.0)
            self._adam_update(master, v, m, grad, GRAD_BITS, rate * factor, forward=grad)  # grad's values are spent
            master_view.index_copy_(-2, rows, master)
            v_view.index_copy_(-2, rows, v)
            if m_view is not None and m is not None:
                m_view.index_copy_(-2, rows, m)
            forward_view.index_copy_(-2, rows, grad.mul_(self.row_forward_scale[name]))

    def _next_update(self) -> float:
        """Count one more update (step count, powers of the betas); its step size, bias-corrected with momentum."""
        cfg = self.config
        self.step_count += 1
        self.beta2_power *= cfg.beta2
        rate = self.learning_rate()
        if self.adam_m is not None:
            self.beta1_power *= cfg.beta1
            rate = rate / (1.0 - self.beta1_power)
        return rate

    def _adam_update(
        self,
        master: torch.Tensor,
        v: torch.Tensor,
        m: torch.Tensor | None,
        grad: torch.Tensor,
        grad_bits: int,
        rate: float,
        forward: torch.Tensor,
    ) -> None:
        """Adam with bias correction on these contiguous tensors, in place; ``grad`` (float64) is at
        2**grad_bits, ``master``, ``v`` and ``m`` are float32.

        ``forward`` (which may be ``grad``: each chunk's gradients are spent before it is written)
        receives the updated weights rounded to 2**16. The work goes in chunks of ``ADAM_CHUNK``
        values, each through every operation while its arrays sit in the L2 cache, into
        preallocated scratch: the same operations on the same values as one pass over the whole
        buffer, so the same bits.
        """
        cfg = self.config
        bias_correction = 1.0 - self.beta2_power
        flat = [t.view(-1) for t in (master, v, grad, forward)]
        m_flat = None if m is None else m.view(-1)
        for start in range(0, flat[0].numel(), ADAM_CHUNK):
            master_c, v_c, grad_c, forward_c = (t[start : start + ADAM_CHUNK] for t in flat)
            n = master_c.numel()
            gradient, scratch, denominator = self.adam_scratch[:, :n]
            # the exact float64 gradient times a power of two, rounded once to float32
            numerator = torch.mul(grad_c, 2.0**-grad_bits, out=gradient)
            if m_flat is not None:
                numerator = (
                    m_flat[start : start + n].mul_(cfg.beta1).add_(torch.mul(gradient, 1.0 - cfg.beta1, out=scratch))
                )
            v_c.mul_(cfg.beta2).add_(torch.mul(gradient, gradient, out=scratch).mul_(1.0 - cfg.beta2))
            exact_sqrt_(torch.div(v_c, bias_correction, out=denominator)).add_(cfg.eps)
            step = torch.div(numerator, denominator, out=scratch).mul_(rate)
            master_c.sub_(step).clamp_(-WEIGHT_CLIP, WEIGHT_CLIP)
            _to_weight_grid(master_c, forward_c)
