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
    """Decodes symbols from one block's coded bytes."""

    def __init__(self, payload: bytes) -> None:
        if len(payload) % 4:
            raise CorruptArchiveError("coded payload is not a whole number of 32-bit words")
        self._coder = constriction.stream.queue.RangeDecoder(np.frombuffer(payload, dtype="<u4").astype(np.uint32))

    def code(self, symbols: np.ndarray | None, probabilities: np.ndarray) -> np.ndarray:
        """Decode as many symbols as ``probabilities`` [k, 256] has rows."""
        del symbols  # unknown on this side
        try:
            return np.asarray(self._coder.decode(_FAMILY, _rows(probabilities)), dtype=np.int32)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as error:  # constriction: AssertionError, or a Rust panic (a BaseException)
            raise CorruptArchiveError(f"coded payload is damaged ({error})") from error


class Replay:
    """Codes nothing: returns the symbols it is given (stored blocks, whose bytes are known)."""

    def code(self, symbols: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
        del probabilities
        return symbols
