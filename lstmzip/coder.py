"""A thin wrapper over constriction's range coder: one place for dtypes, contiguity and ``perfect=False``.

Traps this module exists to avoid: omitting ``perfect=`` makes constriction print a warning to
stdout (which may carry archive data) and use a slow exact quantizer; a Fortran-ordered or float64
probability array changes or breaks the stream; a decoder fed other probabilities than the encoder
returns garbage without error (the block CRCs in ``container`` catch that).
"""

from __future__ import annotations

import constriction
import numpy as np

from lstmzip.errors import CorruptArchiveError

CODER_ID = "constriction-0.5-range-fast"
"""Recorded in the archive header: the quantization of probabilities is part of the format."""

_FAMILY = constriction.stream.model.Categorical(perfect=False)
SMALLEST_PROBABILITY = np.float32(2.0**-24)  # what the leaky quantization gives every symbol at least
PAYLOAD_MARGIN_BITS = 64.0  # the coder's state, flushed at the end of a payload
ROUNDING_SHARE = 1 / 16  # of a payload's bits: the coder's rounding of probabilities (see ``Decoder``)


def _rows(probabilities: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(probabilities, dtype=np.float32)


class Encoder:
    """Appends symbols; :meth:`finish` returns the coded bytes and starts afresh."""

    def __init__(self) -> None:
        self._coder = constriction.stream.queue.RangeEncoder()

    def code(self, symbols: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
        """Encode ``symbols`` [k] under ``probabilities`` [k, 256]; return the symbols."""
        self._coder.encode(np.ascontiguousarray(symbols, dtype=np.int32), _FAMILY, _rows(probabilities))
        return symbols

    def finish(self) -> bytes:
        words = self._coder.get_compressed()
        self._coder = constriction.stream.queue.RangeEncoder()
        return words.astype("<u4").tobytes()


class Decoder:
    """Decodes symbols from one block's coded bytes, and notices a payload that is used up.

    constriction's decoder goes on returning symbols after its data ends, so a header could make it
    decode a long block from a few bytes. An encoder's payload holds the information of what it
    coded (the sum of -log2 p over its symbols) and at most one 64-bit state more, so a decoder
    that has decoded more information than its payload's bits and a margin is reading past the
    data. Symbols with p below the coder's smallest probability (2**-24) count as 2**-24. The coder's
    rounding of p to multiples of 2**-24 can make its cost of a symbol less than -log2 p: by at most
    1 bit for p near 2**-24 (a symbol of 20 bits or more), far less above, so a sixteenth of the
    payload's bits covers it. (A payload that a model finds near certain, such as zeros after
    zeros, costs almost nothing; such blocks are bounded by the archive's work limit instead.)
    """

    def __init__(self, payload: bytes) -> None:
        if len(payload) % 4:
            raise CorruptArchiveError("coded payload is not a whole number of 32-bit words")
        self._coder = constriction.stream.queue.RangeDecoder(np.frombuffer(payload, dtype="<u4").astype(np.uint32))
        self._bits_left = 8.0 * len(payload) * (1 + ROUNDING_SHARE) + PAYLOAD_MARGIN_BITS

    def code(self, symbols: np.ndarray | None, probabilities: np.ndarray) -> np.ndarray:
        """Decode as many symbols as ``probabilities`` [k, 256] has rows."""
        del symbols  # unknown on this side
        rows = _rows(probabilities)
        try:
            decoded = np.asarray(self._coder.decode(_FAMILY, rows), dtype=np.int32)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as error:  # constriction: AssertionError, or a Rust panic (a BaseException)
            raise CorruptArchiveError(f"coded payload is damaged ({error})") from error
        chosen = np.maximum(rows[np.arange(len(rows)), decoded], SMALLEST_PROBABILITY)
        self._bits_left += float(np.log2(chosen).sum())
        if self._bits_left < 0:
            raise CorruptArchiveError("coded payload is used up before the end of its block (archive is damaged)")
        return decoded

    def finish(self) -> None:
        """At the end of a block: refuse a payload with data left over."""
        if not self._coder.maybe_exhausted():
            raise CorruptArchiveError("coded payload goes on after the end of its block (archive is damaged)")


class Replay:
    """Codes nothing: returns the symbols it is given (stored blocks, whose bytes are known)."""

    def code(self, symbols: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
        del probabilities
        return symbols
