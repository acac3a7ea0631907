"""The exact-arithmetic building blocks: pinned tables, correct rounding, deterministic initialisation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import lstmzip
from lstmzip import exact_tensors, numerics
from lstmzip.compiled import compiled_core
from tests.helpers import SAMPLE_TEXT, TINY


def test_tables_are_the_pinned_ones() -> None:
    assert numerics.table_digest() == numerics.TABLE_DIGEST


def test_sigmoid_quotients_are_exact_where_the_top_bits_do_not_decide() -> None:
    one, bits = 1 << 96, numerics._QUOTIENT_BITS
    rng = np.random.default_rng(3)
    chain = [int(v) << 33 for v in rng.integers(0, 1 << 63, 200, dtype=np.uint64)]
    # divisors at and next to an exact quotient, where the top bits leave two candidates
    chain += [(1 << bits) // q - one + d for q in range((1 << 16) + 1, 1 << 17, 997) for d in (-1, 0, 1)]
    chain += [one, 0]
    top = np.array([e >> numerics._TOP_SHIFT for e in chain], dtype=np.int64)
    high, low = (np.array(part, dtype=np.uint64) for part in ([e >> 64 for e in chain], [e % 2**64 for e in chain]))
    quotients = numerics._sigmoid_quotients(high, low, top)
    assert quotients.tolist() == [(1 << bits) // (one + e) for e in chain]


def test_the_compiled_decay_chain_is_the_python_integers_one(monkeypatch: pytest.MonkeyPatch) -> None:
    if compiled_core() is None:
        pytest.skip("the compiled core is not built")
    count = numerics.EXP_MAX_INDEX + 1
    compiled = numerics._decay_chain(count)
    monkeypatch.setattr(numerics, "compiled_core", lambda: None)
    python = numerics._decay_chain(count)
    assert all(np.array_equal(a, b) for a, b in zip(compiled, python, strict=True))
    assert (int(python[0][1]) << 64 | int(python[1][1])) == numerics._ONE * numerics._exp_neg_step() >> 96


def test_sigmoid_table_is_accurate() -> None:
    sigmoid, _ = numerics._tables()
    for k in range(0, len(sigmoid), 97):
        x = (k - numerics.SIG_OFFSET) / (1 << numerics.SIG_STEP_BITS)
        assert abs(sigmoid[k] - 65536 / (1 + math.exp(-x))) <= 0.5 + 1e-6


def test_exp_table_is_accurate() -> None:
    _, exp_table = numerics._tables()
    for k in range(0, len(exp_table), 101):
        expected = max(1.0, 2**numerics.EXP_BITS * math.exp(-k / (1 << numerics.EXP_STEP_BITS)))
        assert abs(exp_table[k] - expected) <= 0.5 + 1e-6


def test_sigmoid_lookup_rounds_and_saturates() -> None:
    tables = exact_tensors.Tables(torch.device("cpu"))
    bits = numerics.PRODUCT_BITS
    x = torch.tensor([0.0, 2.0**bits, -(2.0**bits), 1e6 * 2.0**bits, -1e6 * 2.0**bits], dtype=torch.float64)
    out = tables.sigmoid(
        x, bits, exact_tensors.LookupWork((5,), torch.device("cpu")), out=torch.empty(5, dtype=torch.float64)
    )
    assert out.tolist() == [32768.0, 47911.0, 65536.0 - 47911.0, 65536.0, 0.0]


def test_exact_sqrt_is_correctly_rounded() -> None:
    values = torch.from_numpy(np.random.default_rng(1).random(20_000) * 1e3)
    roots = exact_tensors.exact_sqrt_(values.clone())
    assert roots.tolist() == [math.sqrt(v) for v in values.tolist()]
    # float32 (Adam's moments): the double root rounded to float32 is the correctly rounded one
    singles = values.to(torch.float32)
    expected = torch.tensor([math.sqrt(v) for v in singles.tolist()], dtype=torch.float64).to(torch.float32)
    assert torch.equal(exact_tensors.exact_sqrt_(singles.clone()), expected)


def test_rescale_rounds_half_to_even() -> None:
    x = torch.tensor([3.0, 5.0, -3.0, 7.0], dtype=torch.float64)
    assert exact_tensors.rescale_(x, 1).tolist() == [2.0, 2.0, -2.0, 4.0]


def test_uniform_is_pinned_and_in_range() -> None:
    values = numerics.uniform(1, 2, 10_000)
    assert values.min() >= -1.0 and values.max() < 1.0
    assert values[:3].tolist() == numerics.uniform(1, 2, 3).tolist()
    assert float(values[0]) == 0.7525253864298327
    assert abs(values.mean()) < 0.02


def test_matmul_is_exact_on_strided_views() -> None:
    # The model's operands: row slices of wider buffers and transposed views, integers whose products
    # sum below 2**53. NumPy's BLAS must give exactly the integer result, as torch's does.
    rng = np.random.default_rng(3)
    wide = torch.from_numpy(rng.integers(-(2**20), 2**20, (32, 384)).astype(np.float64))
    weights = torch.from_numpy(rng.integers(-(2**18), 2**18, (512, 128)).astype(np.float64))
    a, b = wide[:, 128:256], weights.T  # [32, 128] row stride 384, [128, 512] transposed
    exact = a.to(torch.int64) @ b.to(torch.int64)
    out = exact_tensors.matmul(a, b, out=torch.empty(32, 512, dtype=torch.float64))
    assert torch.equal(out.to(torch.int64), exact)
    acc = torch.ones(32, 512, dtype=torch.float64)
    exact_tensors.matmul_add_(acc, a, b, scratch=torch.empty_like(acc))
    assert torch.equal(acc.to(torch.int64), exact + 1)


def test_blas_runs_one_thread_while_coding_and_is_restored() -> None:
    from threadpoolctl import threadpool_info, threadpool_limits

    def blas_threads() -> set[int]:
        return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}

    seen: list[set[int]] = []
    with threadpool_limits(2, user_api="blas"):
        lstmzip.compress(SAMPLE_TEXT, level=TINY, progress=lambda done, coded: seen.append(blas_threads()))
        assert seen and all(threads == {1} for threads in seen)
        assert blas_threads() == {2}
