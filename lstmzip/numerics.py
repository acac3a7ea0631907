"""Exact, portable arithmetic: the only place where numbers that reach the coder are made.

The decoder must replay the encoder bit for bit on any CPU, BLAS, thread count or device. Plain
float32 does not: summation order inside a matrix product, fused multiply-adds and the platform's
``exp``/``tanh``/``sqrt`` all change the last bits. This module removes every such source:

* **Fixed point in float64.** Activations, weights used in the forward pass and gradients are
  integers stored in float64 tensors, each kind with its own power-of-two scale (``*_BITS``
  below). A matrix product of integers whose every partial sum stays below 2**53 is exact, so any
  blocking, thread split or FMA in BLAS gives the same bits. ``model.py`` bounds every operand
  (clipping) so that bound always holds; the bounds are written next to each product there.
* **Rescaling** multiplies by a power of two (exact) and rounds half to even (exact).
* **Nonlinearities are tables** built here with integer arithmetic only (no libm): ``sigmoid`` on
  [-16, 16] in steps of 2**-11, ``tanh(x) = 2*sigmoid(2x) - 1``, and ``exp(-d)`` on [0, 20] for
  the softmax. Their SHA-256 is pinned (``TABLE_DIGEST``), and the archive header records the
  profile name, so a change of tables is a new profile, never a silent change. The context
  model's ``ln(1 + 2c)`` table comes from float64 ``log``, whose error is far below the distance
  of any of its values from a rounding half, and is pinned the same way.
* **Real-valued optimizer arithmetic** (Adam, on float32 master weights and moments) uses only
  separate IEEE-754 ``+ - * /`` and ``sqrt``, which are correctly rounded everywhere.
  ``torch.sqrt`` on float64 CPU tensors is *not* correctly rounded (measured here: 1.4 % of
  results differ from ``math.sqrt``), so :func:`exact_sqrt_` goes through NumPy on the CPU.
* **Random initialisation** is a counter-based splitmix64 hash in NumPy uint64 arithmetic, not a
  library RNG whose normal sampler calls ``log``/``cos``.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from lstmzip.compiled import compiled_core

if TYPE_CHECKING:
    from threadpoolctl import ThreadpoolController

PROFILE = "fx16-v3"
"""Name of this arithmetic (scales, tables, optimizer precision). Recorded in every archive header and checked:
any change of what these compute is a new name, and archives of another profile are refused (the
profiles so far: CHANGELOG.md)."""

ACT_BITS = 16
"""Activations (gates, cell state, hidden state) are integers at scale 2**16."""
WEIGHT_BITS = 16
"""Forward-pass weights are integers at scale 2**16 (master weights stay real-valued)."""
GRAD_BITS = 20
"""Back-propagated gradients are integers at scale 2**20."""
PRODUCT_BITS = ACT_BITS + WEIGHT_BITS
"""Scale of a matrix product of activations by weights, and of the byte tables added to it."""

SIG_STEP_BITS = 11
SIG_HALF_RANGE = 16
SIG_OFFSET = SIG_HALF_RANGE << SIG_STEP_BITS  # table index of x = 0
SIG_MAX_INDEX = 2 * SIG_OFFSET
EXP_STEP_BITS = 11
EXP_RANGE = 20
EXP_MAX_INDEX = EXP_RANGE << EXP_STEP_BITS
EXP_BITS = 30
"""``exp(-d)`` table values are integers at scale 2**30 (and at least 1)."""

TABLE_DIGEST = "b78acdd42796d36f418fc3a126c75fcb2aae382c9abf39ce55710e8332fb0ad7"
LOG_COUNT_BITS = 12
"""The context model's features ``ln(1 + 2c)`` are integers at scale 2**12."""
MAX_COUNT = 255
"""Counts of the context model are bytes."""
LOG_COUNT_DIGEST = "b69e7db94ed5f9e828338ec600933d94887ccfe175d0e4c259aea6cc13f27582"

_PRECISION = 96  # bits of the big-integer fixed point the tables are derived from
_ONE = 1 << _PRECISION
_LOW_BITS = (1 << 64) - 1
_TOP_SHIFT = 56  # the tables depend on the top 41 bits of each decay value only (``_tables``)
_QUOTIENT_BITS = _PRECISION + ACT_BITS + 1  # 2 * sigmoid at scale 2**ACT_BITS is 2**_QUOTIENT_BITS / (ONE + e)


def _exp_neg_step() -> int:
    """exp(-2**-11) at scale 2**96, from the Taylor series of exp(+2**-11) in integers."""
    term, total, n = _ONE, _ONE, 1
    while term:
        term = term // ((1 << SIG_STEP_BITS) * n)
        total += term
        n += 1
    return _ONE * _ONE // total


def _decay_chain(count: int) -> tuple[np.ndarray, np.ndarray]:
    """exp(-k * 2**-11) at scale 2**96 for k < count: each value the previous one times
    exp(-2**-11), truncated. The truncations belong to the definition of the pinned tables, so this
    is a serial loop, in the compiled core where it is built (1 ms) or else of Python integers (11 ms);
    everything derived from it is vectorised. Each value as uint64 arrays of its bits from 64 and below.
    """
    step = _exp_neg_step()
    high, low = np.empty(count, dtype=np.uint64), np.empty(count, dtype=np.uint64)
    core = compiled_core()
    if core is not None:
        core.decay_chain(step >> 64, step & _LOW_BITS, high, low)
        return high, low
    value, chain = _ONE, [_ONE]
    for _ in range(count - 1):
        value = value * step >> _PRECISION
        chain.append(value)
    high[:] = [value >> 64 for value in chain]
    low[:] = [value & _LOW_BITS for value in chain]
    return high, low


def _sigmoid_quotients(high: np.ndarray, low: np.ndarray, top: np.ndarray) -> np.ndarray:
    """floor(2**_QUOTIENT_BITS / (ONE + e)) for each decay value e (``high``, ``low``), exactly, as int64.

    ``top`` holds e >> _TOP_SHIFT, so the divisor's top bits are D = 2**40 + top and the quotient
    lies between 2**57 // (D + 1) and 2**57 // D (int64 arithmetic). Where those two differ (e = ONE,
    whose quotient is exact, and about one divisor in 2**24) Python integers decide.
    """
    shift = _QUOTIENT_BITS - _TOP_SHIFT
    divisor_top = (_ONE >> _TOP_SHIFT) + top
    quotients = (1 << shift) // divisor_top
    for k in np.flatnonzero(quotients != (1 << shift) // (divisor_top + 1)).tolist():
        quotients[k] = (1 << _QUOTIENT_BITS) // (_ONE + (int(high[k]) << 64 | int(low[k])))
    return quotients


@functools.cache
def _tables() -> tuple[np.ndarray, np.ndarray]:
    """(sigmoid table at scale 2**ACT_BITS, exp(-d) table at scale 2**EXP_BITS) as int64.

    Entry k of the exp table is max(1, round(decay_k * 2**(EXP_BITS - 96))) and of the sigmoid
    table round(2**ACT_BITS * n / (ONE + decay_|k - SIG_OFFSET|)), n = ONE for k >= SIG_OFFSET and
    the decay value below it, every rounding half up.
    """
    high, low = _decay_chain(max(SIG_OFFSET, EXP_MAX_INDEX) + 1)
    top = ((high << np.uint64(64 - _TOP_SHIFT)) | (low >> np.uint64(_TOP_SHIFT))).astype(np.int64)  # value >> 56
    # (e + 2**65) >> 66 equals (top + 2**9) >> 10: the bits below the top cannot carry into bit 66.
    exp_shift = _PRECISION - EXP_BITS - _TOP_SHIFT
    exp_table = np.maximum(1, (top + (1 << (exp_shift - 1))) >> exp_shift)
    # round(x / 2), halves up, is floor((floor(x) + 1) / 2) for the quotient x = 2 * sigmoid.
    below = slice(SIG_OFFSET + 1)
    upper = (_sigmoid_quotients(high[below], low[below], top[below]) + 1) >> 1  # x >= 0
    # sigmoid(-x) = 1 - sigmoid(x), and rounding commutes with that because 2**ACT_BITS * sigmoid(x)
    # is never a half-integer (that would need ONE + e to be a power of two above 2**97).
    sigmoid = np.concatenate([(1 << ACT_BITS) - upper[:0:-1], upper])
    return sigmoid, exp_table


@functools.cache
def log_count_table() -> np.ndarray:
    """round(ln(1 + 2c) * 2**LOG_COUNT_BITS) for c = 0..MAX_COUNT as float64.

    From float64 ``log``: no value lies within 0.009 of a rounding half (tests/test_contexts.py
    checks this with 40-digit decimal logs), and a libm's error at this scale is below 1e-10, so
    every machine rounds to the same integers. Checked against the pinned digest all the same.
    """
    odd = np.arange(1, 2 * MAX_COUNT + 2, 2, dtype=np.float64)  # 1 + 2c
    table = np.rint(np.log(odd) * float(1 << LOG_COUNT_BITS))
    digest = hashlib.sha256(table.astype("<i8").tobytes()).hexdigest()
    if digest != LOG_COUNT_DIGEST:
        raise NumericsError(f"log-count table of profile {PROFILE} does not match (digest {digest[:12]})")
    return table


def table_digest() -> str:
    sigmoid, exp_table = _tables()
    return hashlib.sha256(sigmoid.astype("<i8").tobytes() + exp_table.astype("<i8").tobytes()).hexdigest()


@functools.cache
def lookup_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sigmoid, tanh, exp) float64 tables as the network looks them up, checked against their digest.

    tanh(x) = 2 * sigmoid(2x) - 1 is taken from the sigmoid table entry by entry (exact integers):
    entry k is tanh((k - 2**15) * 2**-12). Callers must not write to them.
    """
    sigmoid, exp_table = checked_tables()
    sigmoid_values = sigmoid.astype(np.float64)  # [65537]
    return sigmoid_values, sigmoid_values * 2.0 - float(1 << ACT_BITS), exp_table.astype(np.float64)


@functools.cache
def core_tables() -> tuple[np.ndarray, np.ndarray]:
    """(sigmoid, exp) as the compiled core looks them up: int32 (every entry is below 2**31), checked against
    their digest; the core takes tanh from the sigmoid entries as :func:`lookup_tables` does."""
    return tuple(table.astype(np.int32) for table in checked_tables())  # type: ignore[return-value]


class NumericsError(RuntimeError):
    """The exact-arithmetic tables on this machine are not the pinned ones."""


def checked_tables() -> tuple[np.ndarray, np.ndarray]:
    """(sigmoid table, exp table) as int64, after checking them against their pinned digest."""
    digest = table_digest()
    if digest != TABLE_DIGEST:
        raise NumericsError(f"numeric tables of profile {PROFILE} do not match (digest {digest[:12]})")
    return _tables()


@functools.cache
def _blas_pools() -> ThreadpoolController:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()  # finds the loaded BLAS libraries once (a few milliseconds)


_DGEMM_NAMES = ("scipy_cblas_dgemm64_", "cblas_dgemm64_")  # NumPy's wheels' OpenBLAS, a plain ILP64 OpenBLAS


@functools.cache
def blas_dgemm_address() -> int:
    """The address of NumPy's OpenBLAS's ``cblas_dgemm`` with 64-bit integer arguments, or 0 if it has none.

    The compiled core (``core.py``) multiplies through it: the model's products are exact under any
    BLAS (see :func:`matmul`), and on the model's shapes OpenBLAS's kernels were measured about 1.5 x
    faster than the core's own (``benchmarks/results/core-speed.md``).
    """
    import ctypes

    for pool in _blas_pools().info():
        if pool.get("internal_api") != "openblas" or not pool.get("filepath"):
            continue
        library = ctypes.CDLL(pool["filepath"])
        for name in _DGEMM_NAMES:
            if hasattr(library, name):
                return ctypes.cast(getattr(library, name), ctypes.c_void_p).value or 0
    return 0


@contextlib.contextmanager
def coding_threads() -> Iterator[None]:
    """The one thread policy of a coding call: torch and NumPy's BLAS on one thread each, restored after.

    A step's products are small, so threads only add synchronisation, and OpenBLAS's threads spin
    against torch's OpenMP threads: on a 2-core machine 30 KB of text took 29 s to compress with two
    of each instead of 4.2 s (torch on 2 threads and OpenBLAS on 1: 7.1 KB/s; both on 1: 6.6 KB/s;
    both on 2: 1.0 KB/s), and a 432-byte archive on a busy machine took 46 s instead of 5 s. The
    archive bytes do not depend on it (exact arithmetic); only the speed does.
    """
    torch = sys.modules.get("torch")  # only the reference and CUDA paths import it
    torch_threads = torch.get_num_threads() if torch else 0
    if torch:
        torch.set_num_threads(1)
    try:
        with _blas_pools().limit(limits=1, user_api="blas"):
            yield
    finally:
        if torch:
            torch.set_num_threads(torch_threads)


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def uniform(seed: int, salt: int, count: int) -> np.ndarray:
    """``count`` numbers uniform in [-1, 1) (multiples of 2**-52) from a splitmix64 counter hash."""
    with np.errstate(over="ignore"):
        base = np.uint64((seed * 0x100000001B3 + salt * 0x2545F4914F6CDD1D) % (1 << 64))
        z = base + (np.arange(1, count + 1, dtype=np.uint64) * _GOLDEN)
        z = (z ^ (z >> np.uint64(30))) * _MIX1
        z = (z ^ (z >> np.uint64(27))) * _MIX2
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-52 - 1.0
