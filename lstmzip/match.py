"""Match model: predicts that a long repeat goes on, the way LZ77 compressors find their gains.

An LSTM of a few hundred cells cannot memorise a file, so a repeated licence text, log line or
function costs it as much the second time as the first. This side predictor remembers, for a hash
of the last ``min_length`` bytes, where that context last occurred, and predicts the byte that
followed it there. The model turns (predicted byte, length of the current match) into a learned
boost of that byte's logit (``ByteLSTM.predict``).

With ``long_length``, a second table does the same for longer contexts and is asked first: where a
short context occurred many times (a date in a log, a phrase of a licence), the last occurrence of
the longer context is more likely the one that goes on. A position found by hash counts only if its
context really is the stream's own (hash collisions are dropped).

Everything is integer NumPy arithmetic on the byte matrix [N, S] that both encoder and decoder hold,
so both sides see the same predictions. Positions are flat indices into that matrix, which equal
offsets in the original file (streams are contiguous chunks), so a match can run from one stream's
history into another's. Only bytes of steps already coded are ever read: lookups happen before the
current step's positions are inserted, and a position points at most one step behind.
"""

from __future__ import annotations

import numpy as np

from lstmzip.compiled import compiled_core

NO_MATCH = -1
BUCKETS = 16  # match lengths 0..15+; bucket 16 means "no match" and carries no boost
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)


class MatchModel:
    def __init__(self, matrix: np.ndarray, min_length: int, hash_bits: int, long_length: int = 0) -> None:
        self.matrix = matrix  # [N, S] uint8, filled in step by step on the decoding side
        self.flat = matrix.reshape(-1)  # [N*S] the file, zero-padded
        self.hash_bits = hash_bits
        streams, steps = matrix.shape
        # (context length, table: context hash -> position after it), the longer context asked first
        self.tables = tuple(
            (length, np.full(1 << hash_bits, NO_MATCH, dtype=np.int64))
            for length in sorted({min_length, long_length} - {0}, reverse=True)
        )
        self.pointer = np.full(streams, NO_MATCH, dtype=np.int64)  # [N] position of the predicted byte
        self.length = np.zeros(streams, dtype=np.int64)  # [N] bytes predicted right in a row
        self.next_positions = np.arange(streams, dtype=np.int64) * steps  # [N] flat index of (stream, 0)
        # [L, N] row j: the hash of each stream's last j + 1 bytes, moved on by one byte per step
        self.chains = np.zeros((max(min_length, long_length), streams), dtype=np.uint64)
        # The compiled step (``_core.c``, the same integers) writes into arrays made once; this code is its oracle.
        self.compiled = compiled_core()
        self.expected = np.zeros(streams, dtype=np.int64)
        self.bucket = np.zeros(streams, dtype=np.int64)

    def predict(self) -> tuple[np.ndarray, np.ndarray]:
        """(expected byte [N], length bucket [N]); streams without a match get (0, BUCKETS).

        The compiled step returns the same two arrays each time, rewritten.
        """
        if self.compiled is not None:
            self.compiled.match_predict(self.matrix, self.pointer, self.length, self.expected, self.bucket)
            return self.expected, self.bucket
        matched = self.pointer != NO_MATCH
        expected = np.where(matched, self.flat[np.where(matched, self.pointer, 0)], 0).astype(np.int64)
        bucket = np.where(matched, np.minimum(self.length, BUCKETS - 1), BUCKETS)
        return expected, bucket

    def step_arrays(self) -> tuple:
        """What the compiled step (``_core.Stepper``) works on: the arrays of ``update`` and ``predict``."""
        return self.pointer, self.length, self.chains, self.tables, self.hash_bits

    def update(self, t: int) -> None:
        """Byte t of every stream is now known: extend or drop matches, look up new ones, insert."""
        if self.compiled is not None:
            self.compiled.match_update(
                self.matrix, t, self.pointer, self.length, self.chains, self.tables, self.hash_bits
            )
            return
        actual = self.matrix[:, t]
        matched = self.pointer != NO_MATCH
        hit = matched & (self.flat[np.where(matched, self.pointer, 0)] == actual)
        self.length = np.where(hit, self.length + 1, 0)
        self.pointer = np.where(hit, self.pointer + 1, NO_MATCH)
        self.pointer[self.pointer >= self.flat.size] = NO_MATCH
        # A byte at a time, xor then multiply, every context length at once: chain j + 1 is chain j of
        # the step before, then this byte. (A sum of bytes times powers of the multiplier, one NumPy
        # call, was measured 261 bytes worse on book1 at the default level.)
        with np.errstate(over="ignore"):
            self.chains[1:] = self.chains[:-1] ^ actual
            self.chains[0] = actual
            self.chains *= _MULTIPLIER
        for length, table in self.tables:
            if t + 1 < length:
                continue
            key = (self.chains[length - 1] >> np.uint64(64 - self.hash_bits)).astype(np.int64)  # [N]
            fresh = np.flatnonzero(self.pointer == NO_MATCH)
            self.pointer[fresh] = table[key[fresh]]
            self._drop_collisions(fresh[self.pointer[fresh] != NO_MATCH], t, length)
            # Insert (stream, t + 1) for each context; where streams share a key, the last stream wins.
            keys, index = np.unique(key[::-1], return_index=True)
            table[keys] = (self.next_positions + t + 1)[::-1][index]

    def _drop_collisions(self, streams: np.ndarray, t: int, length: int) -> None:
        """Drop the new matches of ``streams`` whose context is not the stream's own last ``length``
        bytes (up to byte t) but another that hashed alike. Both contexts lie within their streams'
        rows (a table holds a position only once its row has ``length`` bytes before it), in bytes
        already coded.

        Measured (design notebook): enwik6 -196 bytes at the default
        level. Starting a verified match at the length its context agrees on beyond ``min_length``
        (as if it had predicted those bytes) lost on logs and licence texts: a long shared context
        is not as sure as a run of right predictions.
        """
        if not len(streams):
            return
        row, column = np.divmod(self.pointer[streams] - 1, self.matrix.shape[1])  # [n] the byte before each match
        back = np.arange(length)  # [m]
        theirs = self.matrix[row[:, None], column[:, None] - back]  # [n, m]
        ours = self.matrix[streams[:, None], t - back]  # [n, m]
        self.pointer[streams[(theirs != ours).any(axis=1)]] = NO_MATCH
