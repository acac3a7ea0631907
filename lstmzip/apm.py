"""Adaptive probability map (SSE): a learned correction of the model's distribution before coding.

Why: a network that learns online with a high step size is not calibrated. Where it says 0.9 the
byte comes, on average, more or less often than that, and the bias depends on where in the byte's
range the decision lies. PAQ-style compressors end with such maps (secondary symbol estimation):
they count what actually happened at each level of the model's confidence and code with that.
Measured (docs/notebook, "The probability map again"): at the best level (rate 2**-9) -0.003 bpb on
enwik6 and book1 and -0.006 on alice29.txt, for about 5 % of its speed. At the default level, with
more streams, it cost more (up to 9 % on a log) for no gain, so only the best level uses it.

How: a byte is eight binary decisions, most significant bit first, so the 256 values are the
leaves of a binary tree of 255 nodes (heap order: node 1 is the root, node n has the children 2n
and 2n + 1, leaf 256 + b is byte b). The model's probability that node n goes right is the weight
of its right subtree over the weight of both. The map holds, for each node, 33 probabilities at
the points -8, -7.5, ..., 8 of ``stretch(p) = ln(p / (1 - p))``; a node's refined probability
interpolates between the two points around the model's stretch. Each point starts at the
probability it stands for (no correction) and moves toward every decision it helped predict, by
``2**-rate_bits`` of the distance times its interpolation weight. With a ``rate_start`` n, an entry
learns faster while it is new: its k-th update (counted where it was the nearer of the two points)
moves it by ``1 / (k + n)`` of that instead, until that is ``2**-rate_bits``; every stream updates
the one map at each step, so n stays well above 1 (at 1.5, as in PAQ, 48 streams overshoot and the
archives grew 3-7 %; at 48, 200 KB prefixes of JSON, tables, code, Japanese and English were 0.07-0.58 %
smaller, whole files up to 0.26 %; docs/notebook/2026-12-08-order-8.md). A byte's refined probability
is the product of the refined decisions on its path.

Exactness: the weights in, the table (integers at 2**22), the update counts, the rates (integers at
2**16 from a table made once) and the updates are integers; stretch is
a search in the pinned sigmoid table of ``numerics``; the path products are IEEE multiplications
in a fixed order. Encoder and decoder update the map with the same bytes in the same order.
"""

from __future__ import annotations

import numpy as np

from lstmzip.compiled import compiled_core
from lstmzip.numerics import ACT_BITS, SIG_OFFSET, SIG_STEP_BITS, checked_tables

NODES = 255
DEPTH = 8
STRETCH_RANGE = 8  # points from stretch -8 to 8; 12 measured: the same archives within 4 bytes
POINTS = 4 * STRETCH_RANGE + 1  # stretch -8, -7.5, ..., 8
TABLE_BITS = 22  # the map's probabilities; 16 bits would stall small updates
OUT_BITS = 16  # refined decision probabilities
_POINT_SHIFT = SIG_STEP_BITS - 1  # sigmoid table entries between two points (0.5 apart): 2**10
_FIRST_POINT = SIG_OFFSET - (STRETCH_RANGE << SIG_STEP_BITS)  # table index of stretch -8
_LAST_POSITION = ((POINTS - 1) << _POINT_SHIFT) - 1
_MIN_OUT = 1 << (OUT_BITS - 11)  # no decision surer than 1 - 2**-11 (2**-16 measured: the same within 4 bytes)
_PATH = np.stack([((256 + np.arange(256)) >> (DEPTH - d)) - 1 for d in range(DEPTH)], axis=1)  # [256, 8] node - 1
_BITS = (np.arange(256)[:, None] >> (DEPTH - 1 - np.arange(DEPTH))) & 1  # [256, 8] the decisions of byte b
_NODE_START = np.arange(NODES) * POINTS  # [255] where each node's points begin in the table
RATE_BITS = 16  # an update's rate, as an integer at 2**16


class ProbabilityMap:
    """One map shared by every stream: all streams' decisions train it."""

    def __init__(self, rate_bits: int, rate_start: int = 0) -> None:
        self.rates = update_rates(rate_bits, rate_start)  # [k] the rate of an entry's k-th update, at 2**16
        self.updates = np.zeros(NODES * POINTS, dtype=np.int64)  # each entry's updates, up to len(rates) - 1
        sigmoid = checked_tables()[0]  # [65537] int64 at 2**16, non-decreasing
        points = sigmoid[_FIRST_POINT + (np.arange(POINTS) << _POINT_SHIFT)] << (TABLE_BITS - ACT_BITS)
        self.table = np.tile(points, NODES)  # [255 * 33] int64 at 2**22
        # stretch(p) for p = 0, 2**-16, ..., 1, as a position among the points (at 2**10 per point); int16
        # (positions < 2**15) so that the compiled step's 255 scattered lookups per stream stay in L2 cache
        chances = np.arange((1 << ACT_BITS) + 1)
        positions = np.clip(np.searchsorted(sigmoid, chances) - _FIRST_POINT, 0, _LAST_POSITION)
        self.position = positions.astype(np.int16)  # [65537]
        self.low = np.zeros((0, NODES), dtype=np.int64)  # [n, 255] entry below each node's stretch
        self.share = np.zeros((0, NODES), dtype=np.int64)  # [n, 255] the weight of the entry above, of 2**10
        # The compiled step (``_core.c``, the same arithmetic) writes into arrays kept while n stays; this code is
        # its oracle.
        self.compiled = compiled_core()
        self.probabilities = np.zeros((0, 256), dtype=np.float32)

    def refine(self, weights: np.ndarray) -> np.ndarray:
        """Coding probabilities [n, 256] float32 from the model's byte weights [n, 256] (integers >= 1, float64)."""
        n = len(weights)
        if self.compiled is not None:
            if len(self.probabilities) != n:
                self.low, self.share = np.empty((n, NODES), dtype=np.int64), np.empty((n, NODES), dtype=np.int64)
                self.probabilities = np.empty((n, 256), dtype=np.float32)
            weights = np.ascontiguousarray(weights, dtype=np.float64)
            self.compiled.apm_refine(weights, self.table, self.position, self.low, self.share, self.probabilities)
            return self.probabilities
        # Subtree weights in heap order (node k at column k, byte b at 256 + b), level by level from
        # the leaves: sums of integers below 2**53, exact in float64.
        mass = np.empty((n, 512))
        mass[:, 256:] = weights
        for depth in reversed(range(DEPTH)):
            children = mass[:, 2 << depth : 4 << depth]
            np.add(children[:, 0::2], children[:, 1::2], out=mass[:, 1 << depth : 2 << depth])
        chance = np.floor(mass[:, 3::2] * float(1 << ACT_BITS) / mass[:, 1:256])  # [n, 255] P(right) at 2**16
        position = self.position[chance.astype(np.int64)].astype(np.int64)
        self.low = (position >> _POINT_SHIFT) + _NODE_START  # [n, 255]
        self.share = position & ((1 << _POINT_SHIFT) - 1)
        low, high = self.table[self.low], self.table[self.low + 1]
        refined = low * ((1 << _POINT_SHIFT) - self.share) + high * self.share  # [n, 255] < 2**33
        refined >>= _POINT_SHIFT + TABLE_BITS - OUT_BITS
        np.clip(refined, _MIN_OUT, (1 << OUT_BITS) - _MIN_OUT, out=refined)
        # A byte's probability, root first: each level's values are their parent's times the decision
        # that leads to them (one IEEE multiplication per value and level, the same order everywhere).
        right = refined.astype(np.float64)  # [n, 255] at 2**16
        left = float(1 << OUT_BITS) - right
        probabilities = np.stack([left[:, 0], right[:, 0]], axis=1)  # [n, 2] the root's subtrees
        for depth in range(1, DEPTH):
            nodes = slice((1 << depth) - 1, (2 << depth) - 1)  # the nodes at this depth, in byte order
            children = np.empty((n, 1 << depth, 2))
            np.multiply(probabilities, left[:, nodes], out=children[:, :, 0])
            np.multiply(probabilities, right[:, nodes], out=children[:, :, 1])
            probabilities = children.reshape(n, 2 << depth)
        return (probabilities * 2.0 ** (-OUT_BITS * DEPTH)).astype(np.float32)

    def step_arrays(self, streams: int) -> tuple:
        """What the compiled step (``_core.Stepper``) works on, for ``streams`` rows: the arrays of ``refine``
        and ``update``."""
        self.low, self.share = np.empty((streams, NODES), dtype=np.int64), np.empty((streams, NODES), dtype=np.int64)
        return self.table, self.position, self.low, self.share, self.updates, self.rates

    def update(self, symbols: np.ndarray) -> None:
        """The bytes ``symbols`` [n] were coded with the last :meth:`refine`: move the entries they used."""
        if self.compiled is not None:
            symbols = np.ascontiguousarray(symbols, dtype=np.uint8)
            self.compiled.apm_update(symbols, self.table, self.low, self.share, self.updates, self.rates)
            return
        rows = np.arange(len(symbols))[:, None]
        nodes = _PATH[symbols]  # [n, 8]
        low, share = self.low[rows, nodes].reshape(-1), self.share[rows, nodes].reshape(-1)  # [8n]
        target = _BITS[symbols].reshape(-1) << TABLE_BITS
        entries = np.concatenate([low, low + 1])
        shares = np.concatenate([(1 << _POINT_SHIFT) - share, share])
        rates = self.rates[self.updates[entries]]
        steps = (((np.concatenate([target, target]) - self.table[entries]) * shares) >> _POINT_SHIFT) * rates
        np.add.at(self.table, entries, steps >> RATE_BITS)  # entries two streams share move twice, in any order alike
        np.add.at(self.updates, entries, shares >= 1 << (_POINT_SHIFT - 1))  # the nearer point's update counts
        np.minimum(self.updates, len(self.rates) - 1, out=self.updates)


def update_rates(rate_bits: int, rate_start: int) -> np.ndarray:
    """int64 [k]: the rate at 2**16 of an entry's update after k counted ones, ``2**16 // (k + rate_start)``
    while that is above ``2**-rate_bits``, then that (the last value; without ``rate_start``, the only one)."""
    floor = 1 << (RATE_BITS - rate_bits)
    if not rate_start:
        return np.array([floor], dtype=np.int64)
    counted = np.arange(max(1, (1 << rate_bits) - rate_start + 1), dtype=np.int64)
    return np.maximum((1 << RATE_BITS) // (counted + rate_start), floor)
