"""Context statistics: what followed the last 1, 2, 3 ... bytes before, counted, as side inputs.

An LSTM trained online learns a file's statistics over thousands of updates; a count table learns
them from the first occurrence. For each configured order k this model keeps, for each context (the
last k bytes; hashed for k >= 3), how often each byte value followed it. The LSTM's output layer
adds ``weight[k, class, confidence] * log(1 + 2 * count[byte])`` to each byte's logit (geometric
mixing, as in PAQ-style compressors), with weights learned like every other parameter. The
confidence bucket is the bit length of the context's total count, so a context seen once can be
trusted less than one seen a thousand times (and, where a level asks for it, ``context_determinism``,
whether all its counts are one byte's: a context that has only ever been followed by one byte is
surer than its total says; 200 KB prefixes of tables, JSON, code and prose in other languages
0.05-0.37 % smaller, English unchanged); the class is the kind of byte just read (a word code,
a letter, a space ...), as PAQ's mixers choose their weight set by a small context: inside a
spelled-out word the short orders say more than after a space.

Counts are small integers (at most ``count_limit``; a context's row is halved when one of its counts
would pass it, so old statistics fade). Everything is integer NumPy arithmetic on bytes both sides
already know, in the same order, so encoder and decoder hold identical tables. The log table is
``numerics.log_count_table`` (pinned by its SHA-256).

One more context, after the orders, where a level asks for it: the column in the original text
(``words.Columns``) with the class of the byte just read, which is what says where wrapped text
breaks its lines (after a word at column 70, rarely at column 20).

And one after that where a level asks for it (``ModelConfig.context_words``): the word being read,
all its bytes so far. A word is a run of ASCII letters and bytes from 0x80 (UTF-8 characters of
other scripts); between words the context is the byte just read. The orders see 1-8 bytes, which
is four Cyrillic or Greek letters at most; the word context sees a whole word of any length, which
is what predicts its ending. (With the word before it too, it gained nothing: measured in
docs/notebook/2026-12-07-word-context.md.)

And last where a level asks for it (``ModelConfig.context_above``): the byte at the same place in
the line before and the byte after that one, with the byte just read. Tables, indented code and
markup repeat what stands above (a field's first digit, an indent, a closing tag), which no order
of the last bytes sees once the line differs (docs/notebook/2026-12-07-word-context.md).
"""

from __future__ import annotations

import mmap
from typing import TYPE_CHECKING

import numpy as np

from lstmzip.compiled import compiled_core
from lstmzip.numerics import log_count_table

if TYPE_CHECKING:
    from lstmzip.words import Columns

CONFIDENCE_BUCKETS = 12  # bit length of a context's total count: 0 (never seen), 1, 2..3, ..., 1024+
_THRESHOLDS = np.array([1 << k for k in range(CONFIDENCE_BUCKETS - 1)], dtype=np.int64)
BYTE_CLASSES = 6  # kinds of the byte just read, each with its own mixing weights


def _byte_class(byte: int) -> int:
    """0: bytes >= 0x80 (dictionary word codes), 1: ASCII letters, 2: space, 3: newline, 4: digits, 5: the rest."""
    if byte >= 0x80:
        return 0
    character = chr(byte)
    if character.isalpha():
        return 1
    return {" ": 2, "\n": 3}.get(character, 4 if character.isdigit() else 5)


BYTE_CLASS = tuple(_byte_class(byte) for byte in range(256))
_BYTE_CLASS = np.array(BYTE_CLASS, dtype=np.int64)
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
_WORD_BYTE = np.array([byte >= 0x80 or chr(byte).isalpha() for byte in range(256)], dtype=bool)
_WORD_SALT = np.uint64(9)  # apart from the orders' salts (1..8)
_ABOVE_SALT = np.uint64(10)
ABOVE_WIDTH = 1024  # places of a line the above context remembers; further right it sees "none"
_NO_BYTE = 256  # above a place the line before did not reach
_NEWLINE = 10
ORDERS_RULE = "context_orders must be increasing orders 1..8, comma-separated"


def parse_orders(text: str) -> tuple[int, ...]:
    """``"1,2,3"`` -> (1, 2, 3); ``""`` -> (). Raises ValueError unless increasing orders 1..8."""
    if not text:
        return ()
    orders = tuple(int(part) for part in text.split(","))
    if any(not 1 <= k <= 8 for k in orders) or list(orders) != sorted(set(orders)):
        raise ValueError(ORDERS_RULE)
    return orders


class ContextModel:
    """Count tables of every order in one array, so a step costs the same few NumPy calls for any K.

    With ``columns``, the column context follows the orders as one more (K + 1 features); with
    ``words``, the word context follows them, and with ``above`` the above context last.
    """

    def __init__(
        self,
        streams: int,
        orders: tuple[int, ...],
        hash_bits: int,
        count_limit: int,
        columns: Columns | None = None,
        words: bool = False,
        above: bool = False,
        determinism: bool = False,
    ) -> None:
        self.count_limit, self.hash_bits, self.columns = count_limit, hash_bits, columns
        self.determinism = determinism
        log_counts = log_count_table()  # [256] checked against its pinned digest
        # Counts are looked up two at a time: a pair of uint8 counts read as one uint16 (in this
        # machine's byte order, which the table is built in) indexes both log counts, as one 16-byte
        # value (half the lookups of one count at a time, the same float64 values).
        pairs = np.arange(1 << 16, dtype=np.uint16).view(np.uint8).reshape(-1, 2)  # [65536, 2]
        self.log_pairs = np.ascontiguousarray(log_counts[pairs]).view(np.complex128).reshape(-1)  # [65536]
        # Orders whose contexts fit a table of 2**hash_bits rows are indexed directly (no collisions);
        # longer ones are hashed. Each order owns a range of rows of the one table.
        rows = [min(1 << (8 * k), 1 << hash_bits) for k in orders]
        self.direct = np.array([r == 1 << (8 * k) for r, k in zip(rows, orders, strict=True)], dtype=bool)  # [K]
        self.first_row = np.cumsum([0, *rows], dtype=np.int64)[:-1, None]  # [K, 1] (K may be 0)
        self.masks = np.array([(1 << (8 * k)) - 1 for k in orders], dtype=np.uint64)[:, None]  # [K, 1]
        self.salts = np.array(orders, dtype=np.uint64)[:, None]  # [K, 1]: equal contexts of two orders differ
        self.column_row = sum(rows)  # first row of the column context: (column, class of the byte just read)
        column_rows = columns.limit * BYTE_CLASSES if columns else 0
        # first rows of the word and above contexts (2**hash_bits rows each), where asked for
        self.word_row = self.column_row + column_rows if words else None
        self.above_row = self.column_row + column_rows + (words << hash_bits) if above else None
        hashed_rows = (words + above) << hash_bits
        self.counts = zeroed_table((sum(rows) + column_rows + hashed_rows, 256), np.uint8)  # [rows, 256]
        self.totals = zeroed_table((len(self.counts),), np.int64)  # [rows] each row's sum, kept with it
        self.history = np.zeros(streams, dtype=np.uint64)  # [N] the last 8 bytes of each stream
        # [K', N] each stream's row of each order (and of the column, word and above contexts), rewritten each step
        self.rows = np.empty((len(orders) + bool(columns) + words + above, streams), dtype=np.int64)
        self.rows[: len(orders)] = self.first_row
        self.rows[len(orders) : len(orders) + bool(columns)] = self.column_row
        self.word = np.zeros(streams, dtype=np.uint64)  # [N] hash of the word being read; 0 between words
        # [N, ABOVE_WIDTH + 1] each stream's line so far and the line before (the last place stays "none")
        self.line = np.full((streams, ABOVE_WIDTH + 1), _NO_BYTE, dtype=np.int16) if above else None
        self.line_before = np.full_like(self.line, _NO_BYTE) if above else None
        self.place = np.zeros(streams, dtype=np.int64)  # [N] bytes read since the stream's last newline
        self.word_slot = len(orders) + bool(columns)  # the word context's place in ``rows``; the above context's next
        start = np.zeros(streams, dtype=np.uint8)  # the byte before a stream's first, as the network sees it
        if words:
            self.rows[self.word_slot] = self.word_row + self._hashed(start, _WORD_SALT)
        if above:
            self.rows[-1] = self.above_row + self._above_key_rows(start)
        # The compiled step (``_core.c``, the same integers) writes into arrays made once; this code is its oracle.
        self.compiled = compiled_core()
        self.log_counts = log_counts
        # [N, K, 256] float32: the log counts are integers below 2**15, and half the bytes of float64 to write
        self.features = np.empty((streams, len(self.rows), 256), dtype=np.float32)
        self.confidence = np.empty((streams, len(self.rows)), dtype=np.int64)  # [N, K]
        self.keys = np.empty(self.rows.size, dtype=np.int64)  # [K * N] the compiled counting's scratch
        # what the compiled counting reads and writes, made once (a step then builds no arguments)
        self.counting = (
            self.counts, self.totals, self.history, self.rows, self.first_row.reshape(-1), self.direct,
            self.masks.reshape(-1), self.salts.reshape(-1),
        )  # fmt: skip
        self.column_rows = self.rows[len(orders)] if columns else None  # [N] a view: the column context's rows
        self.class_rows = self.column_row + _BYTE_CLASS  # [256] the column context's row at column 0, by byte

    def predict(self) -> tuple[np.ndarray, np.ndarray]:
        """(log-count features [N, K, 256] at 2**LOG_COUNT_BITS, confidence bucket [N, K]).

        The compiled step returns the same two arrays each time, rewritten, its features as float32; NumPy's
        are float64. The same integers (below 2**15) either way.
        """
        if self.compiled is not None:
            self.compiled.context_features(
                self.counts, self.totals, self.rows, self.log_counts, self.features, self.confidence, self.determinism
            )
            return self.features, self.confidence
        counts = self.counts[self.rows.T]  # [N, K, 256] uint8
        features = np.take(self.log_pairs, counts.view(np.uint16)).view(np.float64)  # [N, K, 256]
        totals = self.totals[self.rows.T]  # [N, K]
        confidence = np.searchsorted(_THRESHOLDS, totals, side="right")
        if self.determinism:  # the second half of the buckets: every count is one byte's
            confidence += CONFIDENCE_BUCKETS * ((counts.max(axis=2) == totals) & (totals > 0))
        return features, confidence

    def step_arrays(self) -> tuple:
        """What the compiled step (``_core.Stepper``) works on: the arrays of ``predict`` and ``update``, and
        where the column, word and above contexts' rows are (-1 where there is none)."""
        settings = (self.count_limit, self.hash_bits, self.log_counts, self.determinism)
        column = (len(self.first_row), self.class_rows) if self.columns else (-1, None)
        word = (self.word_slot, self.word_row, self.word) if self.word_row is not None else (-1, 0, None)
        lines = None
        if self.above_row is not None:
            lines = (self.line, self.line_before, self.place, ABOVE_WIDTH + 1, self.above_row)
        return (*self.counting, self.keys, *settings, *column, *word, lines)

    def update(self, actual: np.ndarray, active: int) -> None:
        """The bytes ``actual`` [N] (uint8) of this step are known: count them, then move the contexts."""
        if self.compiled is None:
            self._count_and_move(actual, active)
        else:
            actual = np.ascontiguousarray(actual)
            self.compiled.context_update(*self.counting, actual, active, self.count_limit, self.hash_bits, self.keys)
        if self.columns:
            np.add(self.class_rows[actual], self.columns.update(actual) * BYTE_CLASSES, out=self.column_rows)
        self._move_hashed_contexts(actual)

    def _move_hashed_contexts(self, actual: np.ndarray) -> None:
        """The word and above contexts' next rows, after the bytes ``actual`` [N]."""
        if self.compiled is not None:
            actual = np.ascontiguousarray(actual)
            if self.word_row is not None:
                self.compiled.word_rows(self.word, actual, self.rows, self.word_slot, self.word_row, self.hash_bits)
            if self.above_row is not None:
                self.compiled.above_rows(
                    self.line,
                    self.line_before,
                    self.place,
                    actual,
                    self.rows,
                    ABOVE_WIDTH + 1,
                    self.above_row,
                    self.hash_bits,
                )
            return
        if self.word_row is not None:
            self.rows[self.word_slot] = self.word_row + self._word_rows(actual)
        if self.above_row is not None:
            self._read_lines(actual)
            self.rows[-1] = self.above_row + self._above_key_rows(actual)

    def _hashed(self, key: np.ndarray, salt: np.uint64 | np.ndarray) -> np.ndarray:
        """Rows (from a hashed context's first) for the keys (uint64), each with its context's salt."""
        with np.errstate(over="ignore"):
            return (((key + salt) * _MULTIPLIER) >> np.uint64(64 - self.hash_bits)).astype(np.int64)

    def _word_rows(self, actual: np.ndarray) -> np.ndarray:
        """Read ``actual`` [N] into the words; return the word context's rows [N] (from ``word_row``)."""
        in_word = _WORD_BYTE[actual]
        byte = actual.astype(np.uint64)
        with np.errstate(over="ignore"):
            self.word = np.where(in_word, (self.word + byte + np.uint64(1)) * _MULTIPLIER, np.uint64(0))
        # between words, the byte just read (below 2**8, which no word's hash is, but by chance)
        return self._hashed(np.where(in_word, self.word, byte), _WORD_SALT)

    def _read_lines(self, actual: np.ndarray) -> None:
        """Each stream's byte ``actual`` [N] joins its line; a newline makes the line the line before."""
        assert self.line is not None and self.line_before is not None
        inside = self.place < ABOVE_WIDTH
        self.line[np.flatnonzero(inside), self.place[inside]] = actual[inside]
        ended = actual == _NEWLINE
        self.line_before[ended] = self.line[ended]
        self.line[ended] = _NO_BYTE
        self.place = np.where(ended, 0, self.place + 1)

    def _above_key_rows(self, last: np.ndarray) -> np.ndarray:
        """The above context's rows [N] (from ``above_row``) with ``last`` [N] the byte just read."""
        assert self.line_before is not None
        streams = np.arange(len(last))
        above = self.line_before[streams, np.minimum(self.place, ABOVE_WIDTH)].astype(np.uint64)
        after = self.line_before[streams, np.minimum(self.place + 1, ABOVE_WIDTH)].astype(np.uint64)
        # each part below 257: the key is the three of them exactly
        return self._hashed((above * np.uint64(257) + after) * np.uint64(256) + last, _ABOVE_SALT)

    def _count_and_move(self, actual: np.ndarray, active: int) -> None:
        """:meth:`update`'s counting and the orders' next rows in NumPy."""
        flat = self.counts.reshape(-1)
        keys, repeats = np.unique(self.rows[:, :active] * 256 + actual[:active], return_counts=True)
        over = flat[keys] + repeats > self.count_limit
        if over.any():
            halved = keys[over] >> 8
            self.counts[halved] >>= 1  # a row that two keys name is halved once
            self.totals[halved] = self.counts[halved].sum(axis=1, dtype=np.int64)
        before = flat[keys]
        after = np.minimum(before + repeats, self.count_limit)
        flat[keys] = after
        np.add.at(self.totals, keys >> 8, after - before)  # two keys may share a row
        self.history = (self.history << np.uint64(8)) | actual.astype(np.uint64)
        context = self.history & self.masks  # [K, N]
        # a direct order's context is below 2**hash_bits; a hashed one's may not fit int64, but is not chosen
        offsets = np.where(self.direct[:, None], context.astype(np.int64), self._hashed(context, self.salts))
        self.rows[: len(self.first_row)] = self.first_row + offsets


def zeroed_table(shape: tuple[int, ...], dtype: type[np.generic]) -> np.ndarray:
    """A zeroed array for a hash table, its pages mapped and zeroed in one call where the system allows.

    A hash table is first written at scattered rows. Left to fault in one page at a time, each first
    read and first write is a fault; NumPy's huge-page advice is worse, as each first write zeroes 2 MB.
    Tables are sized for the input (``presets.hash_bits_for``), so nearly every page gets written anyway.
    A 20 KB text's counts (180 MB) took 0.59 s of faults behind NumPy's huge pages, 0.20 s in 4 KB
    pages and 0.10 s mapped at once (Linux's MAP_POPULATE).
    """
    size = max(int(np.prod(shape)) * np.dtype(dtype).itemsize, 1)
    populate = getattr(mmap, "MAP_POPULATE", 0)
    if populate:
        memory = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | populate)
    else:
        memory = mmap.mmap(-1, size)
    return np.frombuffer(memory, dtype=dtype, count=int(np.prod(shape))).reshape(shape)
