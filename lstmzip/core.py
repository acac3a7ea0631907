"""The compiled core: :class:`ByteLSTM`'s predict, learn and Adam in C (``_core.c``), for the CPU.

The torch implementation in ``model.py`` stays the reference and the test oracle, and the engine
of CUDA and of prior training; this class keeps its parameter layout, initialisation and buffers
(the C code reads and writes the reference's own storage through NumPy views) and replaces only
the per-step work, with the same arithmetic, so archives are bit-identical. Per step it saves the
dispatch of some fifty torch operations: see ``benchmarks/results/core-speed.md``.

``LSTMZIP_REFERENCE=1`` in the environment makes :func:`cpu_model` return the torch reference
(``compiled.py``).
"""

from __future__ import annotations

import numpy as np
import torch

from lstmzip.compiled import _core, compiled_core
from lstmzip.contexts import CONFIDENCE_BUCKETS
from lstmzip.match import BUCKETS
from lstmzip.model import ALPHABET, ByteLSTM, ModelConfig
from lstmzip.numerics import blas_dgemm_address
from lstmzip.words import WORD_ROWS


def cpu_model(config: ModelConfig, initial: torch.Tensor | None = None) -> ByteLSTM:
    """The model for the CPU: the compiled core where it is built, unless ``LSTMZIP_REFERENCE=1``."""
    if compiled_core() is None:
        return ByteLSTM(config, "cpu", initial)
    return CoreLSTM(config, initial)


def _array(values: np.ndarray | torch.Tensor | None) -> np.ndarray | None:
    """NumPy (the core reads buffers) from a CPU tensor or an array."""
    return values.numpy() if isinstance(values, torch.Tensor) else values


class CoreLSTM(ByteLSTM):
    """:class:`ByteLSTM` on the CPU with the compiled core: same interface, same bits; arrays in and out."""

    def __init__(self, config: ModelConfig, initial: torch.Tensor | None = None, blas: bool = True) -> None:
        """``blas``: matrix products by NumPy's OpenBLAS where it is found, else by the core's own kernel."""
        super().__init__(config, "cpu", initial)
        if _core is None:
            raise RuntimeError("the compiled core lstmzip._core is not built (pip install -e .)")
        self.core = _core.Core(self._dimensions(), self._buffers())
        self.core.use_blas(blas_dgemm_address() if blas else 0)
        self.freq_array = self.freq.numpy().reshape(config.segment, config.streams, ALPHABET)

    def _dimensions(self) -> tuple[int, ...]:
        """The integers ``_core.c`` expects, in its order (DIM_* and OFF_*)."""
        cfg, w = self.config, self.w

        def offset(name: str) -> int:  # of a weight in the flat buffers; 0 for one this network lacks
            return w[name].storage_offset() if name in w else 0

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
            CONFIDENCE_BUCKETS,
            w["context"].shape[1],
            self.row_table_size,
            self.table_size,
            self.master.numel(),
            offset("embed0"),
            offset("out_embed"),
            offset("match_embed"),
            offset("column_embed"),
            offset("word_embed"),
            offset("match"),
            offset("rec0"),
            offset("below1"),
            offset("out_w"),
            offset("word_proj"),
            offset("context"),
        )

    def _buffers(self) -> tuple[np.ndarray, ...]:
        """NumPy views of the reference's storage that ``_core.c`` works on, in its order (BUF_*)."""
        momentum = self.adam_m.numpy() if self.adam_m is not None else np.empty(0, dtype=np.float32)
        tensors = (self.master, self.adam_v)
        rest = (
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
            self.tables.sigmoid_values,
            self.tables.tanh_values,
            self.tables.exp_values,
        )
        return (*(t.numpy() for t in tensors), momentum, *(t.numpy() for t in rest))

    def as_input(self, values: np.ndarray) -> np.ndarray:  # type: ignore[override]
        """The coding loop's arrays go to the core as they are."""
        return values

    def predict(  # type: ignore[override]
        self,
        x: np.ndarray | torch.Tensor,
        expected: np.ndarray | torch.Tensor | None = None,
        bucket: np.ndarray | torch.Tensor | None = None,
        context: tuple[np.ndarray | torch.Tensor, np.ndarray | torch.Tensor] | None = None,
        column: np.ndarray | torch.Tensor | None = None,
        word: np.ndarray | torch.Tensor | None = None,
    ) -> np.ndarray:
        """As :meth:`ByteLSTM.predict` (int64 indices, float64 features), returning a NumPy view [B, 256]."""
        features, confidence = (None, None) if context is None else (_array(context[0]), _array(context[1]))
        t = self.t
        self.core.predict(
            t, _array(x), _array(expected), _array(bucket), features, confidence, _array(column), _array(word)
        )
        self.t += 1
        return self.freq_array[t]

    def learn(self, targets: np.ndarray | torch.Tensor, weight: np.ndarray | torch.Tensor | None = None) -> None:
        """As :meth:`ByteLSTM.learn`: back-propagate the segment's ``targets`` [T, B]; one Adam step."""
        cfg = self.config
        rate = self._next_update()
        adam = (cfg.beta1, 1.0 - cfg.beta1, cfg.beta2, 1.0 - cfg.beta2, 1.0 - self.beta2_power, cfg.eps)
        groups = tuple((start, stop, rate * factor) for start, stop, factor in self.dense_rate_groups)
        targets_array = np.ascontiguousarray(_array(targets), dtype=np.int64)
        weight_array = None if weight is None else np.ascontiguousarray(_array(weight), dtype=np.float64)
        self.core.learn(self.t, targets_array, weight_array, adam, groups, rate * self.rate_scales["embed"], rate)
        self.t = 0
