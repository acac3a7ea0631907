"""The model's configuration: everything that determines its predictions, as the archive header carries it.

Torch-free, like everything the CPU path imports: the compiled core (``core.py``) and the torch
reference (``model.py``) both build their network from a :class:`ModelConfig`, and the header's
limits below are checked before either allocates anything.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields

from lstmzip.assets import OPTIONAL_NAME
from lstmzip.contexts import CONFIDENCE_BUCKETS, ORDERS_RULE, parse_orders
from lstmzip.numerics import MAX_COUNT, PROFILE

ALPHABET = 256
MAX_HIDDEN = 512
MIN_MATCH_HASH_BITS = 10  # the smallest hash tables a header may ask for
MIN_CONTEXT_HASH_BITS = 8
MAX_COLUMNS = 1024  # column context rows: 1024 x 6 classes x 256 counts = 1.5 MB at most
MAX_WORD_WIDTH = 64  # word vectors: their products with the projection stay below 2**42
MAX_SEGMENT_BYTES = 4096  # streams * segment: bounds the weight-gradient sums
MAX_RATE_SCALE = 16.0  # a group's step size at most 16 x learning_rate
MIN_EPS = 1e-30  # Adam's eps, far above float32's smallest normal number (1.2e-38)
# What a header may ask of a decoder (docs/FORMAT.md, "Limits"): a network of at most 4M multiply-adds
# per byte predicted (8 x the best level's), and at most 1.5 GiB for tables and work space.
MAX_NETWORK_MACS = 1 << 22
MAX_MEMORY_BYTES = 3 << 29
# Fields added after the levels were first defined: a level file may leave them out (at their defaults),
# so the levels without them keep their definitions and digests
OPTIONAL_FIELDS = ("context_words", "context_above", "context_determinism", "apm_rate_start")


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
    # 1: one more count context, after the column context: the word being read (all its bytes so far),
    # an order as long as the word, which text in other scripts needs (``contexts.ContextModel``)
    context_words: int = 0
    # 1: one more count context, after the word context: the byte at the same place in the line before
    # and the one after it, with the byte just read; what tables, indented code and markup repeat line
    # under line (``contexts.ContextModel``)
    context_above: int = 0
    # 1: each count context's weight sets are chosen by its total's bit length and also by whether all of
    # its counts are one byte's (a context that has only ever seen one byte: twice the sets, the second
    # half for those); priors learn without it, and both halves start from a prior's weights
    context_determinism: int = 0
    # n > 0: the probability map's entries learn at 1 / (updates so far + n) until that is 2**-apm_rate_bits
    # (``apm.ProbabilityMap``); 0: at 2**-apm_rate_bits from the start
    apm_rate_start: int = 0

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
            (self.context_words in (0, 1), "context_words must be 0 or 1"),
            (self.context_above in (0, 1), "context_above must be 0 or 1"),
            (self.context_determinism in (0, 1), "context_determinism must be 0 or 1"),
            (self.column_input in (0, 1), "column_input must be 0 or 1"),
            (self.column_input == 0 or self.context_columns > 0, "column_input needs context_columns"),
            (0 <= self.word_input <= MAX_WORD_WIDTH, f"word_input must be 0..{MAX_WORD_WIDTH}"),
            (self.word_input == 0 or self.context_columns > 0, "word_input needs context_columns"),
            (self.apm_rate_bits == 0 or 2 <= self.apm_rate_bits <= 16, "apm_rate_bits must be 0 or 2..16"),
            (
                self.apm_rate_start == 0 or (self.apm_rate_bits > 0 and 1 <= self.apm_rate_start <= 1 << 16),
                "apm_rate_start must be 0, or 1..65536 with a probability map",
            ),
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
        """K: the count contexts the output mixes (the orders, then the column, word and above contexts)."""
        orders = len(parse_orders(self.context_orders))
        return orders + (self.context_columns > 0) + self.context_words + self.context_above

    def confidence_buckets(self) -> int:
        """Weight sets per count context and byte class: by the total's bit length, and by determinism if asked."""
        return CONFIDENCE_BUCKETS << self.context_determinism

    def memory_bytes(self) -> int:
        """About what a model of this config holds: side tables, weights with Adam's state, segment buffers."""
        orders = parse_orders(self.context_orders)
        hashed_rows = [min(1 << (8 * k), 1 << self.context_hash_bits) for k in orders]
        hashed_rows += [1 << self.context_hash_bits] * (self.context_words + self.context_above)
        count_rows = sum(hashed_rows) + self.context_columns * 6
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
        """Strict inverse of :meth:`to_dict`: unknown or missing keys (but ``OPTIONAL_FIELDS``, at their
        defaults where left out) and wrong types are errors."""
        names = {f.name: f.type for f in fields(cls)}
        data = {f.name: f.default for f in fields(cls) if f.name in OPTIONAL_FIELDS} | data
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
