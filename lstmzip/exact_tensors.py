"""``numerics``' exact arithmetic on torch tensors, for the torch reference model (``model.py``) and CUDA.

The same rules as there: integers in float64 at power-of-two scales, products whose partial sums
stay below 2**53, rescaling by a power of two with one rounding, nonlinearities by table lookup.
The compiled core (``_core.c``) does the same operations on the same tables without torch.
"""

from __future__ import annotations

import numpy as np
import torch

from lstmzip.numerics import EXP_MAX_INDEX, EXP_STEP_BITS, SIG_MAX_INDEX, SIG_OFFSET, SIG_STEP_BITS, lookup_tables


class LookupWork:
    """Scratch for table lookups on tensors of one shape, allocated once: the fractional table
    position (float64) and its integer index (int32, which converts and gathers faster than int64)."""

    def __init__(self, shape: tuple[int, ...], device: torch.device) -> None:
        self.position = torch.empty(shape, dtype=torch.float64, device=device)
        self.index = torch.empty(shape, dtype=torch.int32, device=device)


class Tables:
    """The lookup tables as float64 tensors on one device."""

    def __init__(self, device: torch.device) -> None:
        sigmoid, tanh, exp_table = (torch.from_numpy(table).to(device) for table in lookup_tables())
        self.sigmoid_values, self.tanh_values, self.exp_values = sigmoid, tanh, exp_table  # [65537] [65537] [40961]
        # Table position of x = 0, plus the half that makes truncation round to nearest (halves up).
        self.sigmoid_origin = torch.tensor(SIG_OFFSET + 0.5, dtype=torch.float64, device=device)
        self.exp_origin = torch.tensor(0.5, dtype=torch.float64, device=device)

    def sigmoid(self, x: torch.Tensor, frac_bits: int, work: LookupWork, out: torch.Tensor) -> torch.Tensor:
        """out = sigmoid(x * 2**-frac_bits) at scale 2**ACT_BITS.

        Nearest table entry (halves up); inputs beyond +-16 saturate. |x| < 2**(frac_bits + 36)
        keeps the index arithmetic exact.
        """
        scale = 2.0 ** (SIG_STEP_BITS - frac_bits)
        return self._lookup(self.sigmoid_values, self.sigmoid_origin, SIG_MAX_INDEX, x, scale, work, out)

    def tanh(self, x: torch.Tensor, frac_bits: int, work: LookupWork, out: torch.Tensor) -> torch.Tensor:
        """out = tanh(x * 2**-frac_bits) = 2 * sigmoid(2x) - 1 at scale 2**ACT_BITS.

        The same table entries as ``2 * sigmoid(x, frac_bits - 1) - 1``, in fewer operations.
        """
        scale = 2.0 ** (SIG_STEP_BITS - frac_bits + 1)
        return self._lookup(self.tanh_values, self.sigmoid_origin, SIG_MAX_INDEX, x, scale, work, out)

    def exp_neg(self, d: torch.Tensor, frac_bits: int, work: LookupWork, out: torch.Tensor) -> torch.Tensor:
        """out = exp(-d * 2**-frac_bits) at scale 2**EXP_BITS for d >= 0."""
        scale = 2.0 ** (EXP_STEP_BITS - frac_bits)
        return self._lookup(self.exp_values, self.exp_origin, EXP_MAX_INDEX, d, scale, work, out)

    @staticmethod
    def _lookup(
        table: torch.Tensor,
        origin: torch.Tensor,
        max_index: int,
        x: torch.Tensor,
        scale: float,
        work: LookupWork,
        out: torch.Tensor,
    ) -> torch.Tensor:
        """out = table[floor(origin + x * scale)], the position clamped to the table."""
        # ``scale`` is a power of two, so the product is exact and the one rounding of the sum is
        # the same with or without a fused multiply-add.
        position = torch.add(origin, x, alpha=scale, out=work.position)
        position.clamp_(0, max_index)
        index = work.index.copy_(position)  # truncation == floor, the values are >= 0
        return torch.index_select(table, 0, index.view(-1), out=out.view(-1)).view_as(out)


def matmul(a: torch.Tensor, b: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """out = a @ b (float64 integers, every partial sum below 2**53, so exact under any BLAS).

    On the CPU the product goes through NumPy's BLAS (OpenBLAS) on the tensors' memory: for the
    model's float64 shapes on one thread it was measured 15-35 % faster than torch's (MKL), e.g.
    [32, 128] x [128, 512] 93 vs 108 us and [10, 192] x [192, 768] 82 vs 118 us. Exactness makes
    the two interchangeable: the same bits either way, and on CUDA torch's.
    """
    if out.device.type == "cpu":
        np.matmul(a.numpy(), b.numpy(), out=out.numpy())
        return out
    return torch.mm(a, b, out=out)


def matmul_add_(acc: torch.Tensor, a: torch.Tensor, b: torch.Tensor, scratch: torch.Tensor) -> torch.Tensor:
    """acc += a @ b, exact as :func:`matmul`; ``scratch`` (``acc``'s shape) holds the product on the CPU."""
    if acc.device.type == "cpu":
        return acc.add_(matmul(a, b, out=scratch))
    return acc.addmm_(a, b)


def rescale_(x: torch.Tensor, shift: int) -> torch.Tensor:
    """x = round(x * 2**-shift), in place: exact for integers below 2**53."""
    return x.mul_(2.0**-shift).round_()


def exact_sqrt_(x: torch.Tensor) -> torch.Tensor:
    """Correctly rounded square root, in place (CUDA's float64 sqrt is IEEE-exact; CPU torch's is not)."""
    if x.device.type == "cpu":
        array = x.numpy()
        np.sqrt(array, out=array)
        return x
    return x.sqrt_()
