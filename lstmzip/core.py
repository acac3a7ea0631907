"""The compiled core: the network's predict, learn and Adam in C (``_core.c``), for the CPU, without torch.

The torch implementation in ``model.py`` stays the reference and the test oracle, and the engine
of CUDA and of prior training. This class starts from the same weights (``parameters.py``), holds
the same buffers as NumPy arrays (the C code reads and writes them in place), and does each step
with the same arithmetic, so archives are bit-identical; per step it saves the dispatch of some
fifty torch operations (``benchmarks/results/core-speed.md``), and a process that codes on the CPU
never imports torch (about 2 s of start-up).

``LSTMZIP_REFERENCE=1`` in the environment makes :func:`cpu_model` return the torch reference
(``compiled.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Union

import numpy as np

from lstmzip.compiled import _core, compiled_core
from lstmzip.config import ALPHABET, ModelConfig
from lstmzip.match import BUCKETS
from lstmzip.numerics import blas_dgemm_address, core_tables
from lstmzip.parameters import AdamSchedule, ParameterLayout, forward_weights, initial_master, weight_offsets
from lstmzip.words import WORD_ROWS

if TYPE_CHECKING:
    from lstmzip.model import ByteLSTM

Network = Union["CoreLSTM", "ByteLSTM"]  # what the coding loop drives: predict, learn, as_input, config


def cpu_model(config: ModelConfig, initial: np.ndarray | None = None) -> Network:
    """The model for the CPU: the compiled core where it is built, unless ``LSTMZIP_REFERENCE=1``."""
    if compiled_core() is None:
        from lstmzip.model import ByteLSTM

        return ByteLSTM(config, "cpu", initial)
    return CoreLSTM(config, initial)


class CoreLSTM:
    """The network of ``model.ByteLSTM`` on the CPU with the compiled core: same interface, same bits; arrays."""

    def __init__(self, config: ModelConfig, initial: np.ndarray | None = None, blas: bool = True) -> None:
        """``initial``: master weights [P] to start from (a prior); ``blas``: matrix products by NumPy's
        OpenBLAS where it is found, else by the core's own kernel."""
        if _core is None:
            raise RuntimeError("the compiled core lstmzip._core is not built (pip install -e .)")
        config.validate()
        self.config, self.layout, self.schedule = config, ParameterLayout.of(config), AdamSchedule(config)
        self.t = 0
        self._weights(initial)
        self._segment_buffers()
        self.core = _core.Core(self._dimensions(), self._buffers())
        self.core.use_blas(blas_dgemm_address() if blas else 0)

    def _weights(self, initial: np.ndarray | None) -> None:
        layout = self.layout
        self.master = initial_master(self.config, layout, initial)  # [P] float32
        self.forward_weights = forward_weights(self.master, layout)  # [P] float64 integers
        self.grad = np.empty(layout.size - layout.row_table_size)  # [P - row tables] the dense part's
        self.adam_v = np.zeros(layout.size, dtype=np.float32)
        self.adam_m = np.zeros(layout.size, dtype=np.float32) if self.config.beta1 > 0 else None
        self.weight_offsets = weight_offsets(self.config)  # [256, K]

    def _segment_buffers(self) -> None:
        """A segment's activations and inputs (row 0 of ``hcat``/``cell``: the state carried in)."""
        cfg = self.config
        B, T, H, L, K = cfg.streams, cfg.segment, cfg.hidden, cfg.layers, cfg.context_count()
        self.hcat = np.zeros((T + 1, B, L * H))
        self.cell = np.zeros((L, T + 1, B, H))
        self.gates = np.empty((L, T, B, 4 * H))
        self.tanh_cell = np.empty((L, T, B, H))
        self.freq = np.empty((T, B, ALPHABET))
        self.freq_sum = np.empty((T, B, 1))
        self.x = np.zeros((T, B), dtype=np.int64)
        self.match_expected = np.zeros((T, B), dtype=np.int64)
        self.match_bucket = np.full((T, B), BUCKETS, dtype=np.int64)
        self.match_input = np.full((T, B), ALPHABET, dtype=np.int64)
        self.column = np.zeros((T, B), dtype=np.int64)
        self.word = np.full((T, B), WORD_ROWS, dtype=np.int64)
        self.context_features = np.zeros((T, B, K, ALPHABET), dtype=np.float32)  # integers below 2**15
        self.context_index = np.zeros((T, B, K), dtype=np.int64)

    def _dimensions(self) -> tuple[int, ...]:
        """The integers ``_core.c`` expects, in its order (DIM_* and OFF_*)."""
        cfg, layout = self.config, self.layout
        offsets = layout.offsets()

        def offset(name: str) -> int:  # of a weight in the flat buffers; 0 for one this network lacks
            return offsets[name][0] if name in offsets else 0

        names = ("embed0", "out_embed", "match_embed", "column_embed", "word_embed", "match", "rec0", "below1")
        return (
            cfg.streams,
            cfg.segment,
            cfg.hidden,
            cfg.layers,
            self.weight_offsets.shape[1],
            cfg.word_input,
            cfg.context_columns if cfg.column_input else 0,
            WORD_ROWS,
            BUCKETS,
            cfg.confidence_buckets(),
            offsets["context"][1][1],
            layout.row_table_size,
            layout.table_size,
            layout.size,
            *(offset(name) for name in (*names, "out_w", "word_proj", "context")),
        )

    def _buffers(self) -> tuple[np.ndarray, ...]:
        """The arrays ``_core.c`` works on, in its order (BUF_*)."""
        momentum = self.adam_m if self.adam_m is not None else np.empty(0, dtype=np.float32)
        return (
            self.master,
            self.adam_v,
            momentum,
            self.forward_weights,
            self.grad,
            self.hcat,
            self.cell,
            self.gates,
            self.tanh_cell,
            self.freq,
            self.freq_sum,
            self.x,
            self.match_expected,
            self.match_bucket,
            self.match_input,
            self.column,
            self.word,
            self.context_features,
            self.context_index,
            self.weight_offsets,
            *core_tables(),
        )

    def as_input(self, values: np.ndarray) -> np.ndarray:
        """The coding loop's arrays go to the core as they are."""
        return values

    def predict(
        self,
        x: np.ndarray,
        expected: np.ndarray | None = None,
        bucket: np.ndarray | None = None,
        context: tuple[np.ndarray, np.ndarray] | None = None,
        column: np.ndarray | None = None,
        word: np.ndarray | None = None,
    ) -> np.ndarray:
        """As ``ByteLSTM.predict`` on arrays (int64 indices, float32 features), returning a view [B, 256] of its
        buffer. Arrays only, as the coding loop has them (``as_input``): the step costs no conversions."""
        features, confidence = (None, None) if context is None else context
        t = self.advance()
        self.core.predict(t, x, expected, bucket, features, confidence, column, word)
        return self.freq[t]

    def advance(self) -> int:
        """The segment position of the step about to be taken (by ``predict`` or ``_core.Stepper``), then one on."""
        t = self.t
        self.t = t + 1
        return t

    def learn(self, targets: np.ndarray, weight: np.ndarray | None = None) -> None:
        """As ``ByteLSTM.learn``: back-propagate the segment's ``targets`` [T, B]; one Adam step."""
        cfg, schedule = self.config, self.schedule
        rate = schedule.next_update()
        adam = (cfg.beta1, 1.0 - cfg.beta1, cfg.beta2, 1.0 - cfg.beta2, 1.0 - schedule.beta2_power, cfg.eps)
        groups = tuple((start, stop, rate * factor) for start, stop, factor in self.layout.dense_rate_groups)
        targets_array = np.ascontiguousarray(targets, dtype=np.int64)
        weight_array = None if weight is None else np.ascontiguousarray(weight, dtype=np.float64)
        embed_rate = rate * self.layout.rate_scales["embed"]
        self.core.learn(self.t, targets_array, weight_array, adam, groups, embed_rate, rate)
        self.t = 0
