"""The context model: exact counts, halving, confidence buckets, hashing, and its pinned log table."""

from __future__ import annotations

import decimal

import numpy as np
import pytest

from lstmzip import numerics
from lstmzip.contexts import BYTE_CLASS, BYTE_CLASSES, CONFIDENCE_BUCKETS, ContextModel, parse_orders
from lstmzip.words import NO_WORD_CODES, Columns


def test_log_count_table_is_correctly_rounded_with_a_wide_margin() -> None:
    # log_count_table rounds float64 logs; that is exact because no value comes near a half
    table = numerics.log_count_table()
    context = decimal.Context(prec=40)
    scale = decimal.Decimal(1 << numerics.LOG_COUNT_BITS)
    exact = [context.ln(decimal.Decimal(1 + 2 * c)) * scale for c in range(numerics.MAX_COUNT + 1)]
    assert table.tolist() == [float(value.to_integral_value(decimal.ROUND_HALF_EVEN)) for value in exact]
    assert min(abs(value % 1 - decimal.Decimal("0.5")) for value in exact) > decimal.Decimal("0.009")


def test_parse_orders() -> None:
    assert parse_orders("") == ()
    assert parse_orders("1,2,4") == (1, 2, 4)
    for bad in ("0", "9", "2,1", "1,1", "a", "1,,2"):
        with pytest.raises(ValueError):
            parse_orders(bad)


def test_byte_classes() -> None:
    # word codes and other bytes >= 0x80, letters, space, newline, digits, the rest
    assert [BYTE_CLASS[byte] for byte in b"\x80\xffaZ \n07.\x00\t"] == [0, 0, 1, 1, 2, 3, 4, 4, 5, 5, 5]


def _feed(model: ContextModel, rows: list[bytes]) -> None:
    for step in rows:
        model.update(np.frombuffer(step, dtype=np.uint8), len(step))


def test_counts_what_followed_each_context() -> None:
    """Two streams, orders 1 and 2: after "ab" / "ab" both streams' contexts are "b" and "ab"."""
    model = ContextModel(2, (1, 2), hash_bits=16, count_limit=255)
    _feed(model, [b"aa", b"bb", b"ab", b"bb"])  # stream 0 reads "abab", stream 1 "abbb"
    features, confidence = model.predict()  # contexts: stream 0 "ab" ("b"), stream 1 "bb" ("b")
    log = numerics.log_count_table()
    # Order 1, context "b": followed by "a" once (stream 0) and "b" twice (stream 1, twice; one step counted both).
    assert features[0, 0, ord("a")] == log[1] and features[0, 0, ord("b")] == log[2]
    assert np.array_equal(features[0, 0], features[1, 0])
    # Order 2: "ab" was followed by "a" once (stream 0) and by "b" once (stream 1); "bb" by "b" once.
    assert features[0, 1, ord("a")] == log[1] and features[0, 1, ord("b")] == log[1]
    assert features[1, 1, ord("b")] == log[1] and features[1, 1, ord("a")] == 0
    # Confidence is the bit length of the context's total count: 3 -> 2, 2 -> 2, 1 -> 1.
    assert confidence.tolist() == [[2, 2], [2, 1]]
    assert features.sum() == sum(features[:, :, c].sum() for c in b"ab")  # nothing else counted


def test_determinism_moves_contexts_that_saw_one_byte_only_to_the_second_half() -> None:
    """The scene above: order 1's "b" saw "a" and "b" (mixed); order 2's "bb" saw only "b" (stream 1)."""
    model = ContextModel(2, (1, 2), hash_bits=16, count_limit=255, determinism=True)
    _feed(model, [b"aa", b"bb", b"ab", b"bb"])
    _, confidence = model.predict()
    assert confidence.tolist() == [[2, 2], [2, 1 + CONFIDENCE_BUCKETS]]
    fresh = ContextModel(1, (1,), hash_bits=16, count_limit=255, determinism=True)
    assert fresh.predict()[1].tolist() == [[0]]  # a context never seen is no determinism


def test_a_full_count_halves_its_row() -> None:
    model = ContextModel(1, (1,), hash_bits=16, count_limit=4)
    _feed(model, [b"x", b"y"] * 2 + [b"x", b"x"] * 3)  # "x" then: y, y, x, x, x, then the limit
    features, _ = model.predict()  # context "x"
    log = numerics.log_count_table()
    # After "x": y twice, then x three times; the fourth x makes 5 > 4, so the row halves: x 2 + 1, y 1.
    counts = {v: int(np.searchsorted(log, features[0, 0, v])) for v in b"xy"}
    assert counts == {ord("x"): 3, ord("y"): 1}


def test_two_streams_filling_the_same_count_in_one_step_stay_in_range() -> None:
    model = ContextModel(8, (1,), hash_bits=16, count_limit=5)
    for _ in range(6):
        _feed(model, [b"q" * 8])
    assert model.counts.max() <= 5


def test_hashed_orders_stay_in_their_rows_and_confidence_is_bounded() -> None:
    rng = np.random.default_rng(5)
    model = ContextModel(16, (1, 2, 3, 6), hash_bits=10, count_limit=255)
    for _ in range(300):
        _feed(model, [rng.integers(0, 256, 16, dtype=np.uint8).tobytes()])
        starts = model.first_row[:, 0]
        sizes = np.array([256, 1024, 1024, 1024])
        assert np.all((model.rows >= starts[:, None]) & (model.rows < (starts + sizes)[:, None]))
    _, confidence = model.predict()
    assert confidence.min() >= 0 and confidence.max() < CONFIDENCE_BUCKETS


def test_kept_totals_and_paired_lookups_equal_the_counts() -> None:
    """The row totals kept with the counts (halvings and rows that several streams share included)
    and the log counts looked up two at a time are what the counts themselves give."""
    rng = np.random.default_rng(11)
    model = ContextModel(12, (1, 2, 3), hash_bits=8, count_limit=6)
    log = numerics.log_count_table()
    for _ in range(400):
        _feed(model, [rng.choice(np.frombuffer(b"abcab ", dtype=np.uint8), 12).tobytes()])
        assert np.array_equal(model.totals, model.counts.sum(axis=1))
    features, confidence = model.predict()
    counts = model.counts[model.rows.T]  # [N, K, 256]
    assert np.array_equal(features, log[counts])
    assert np.array_equal(confidence, [[int(total).bit_length() for total in row] for row in counts.sum(axis=2)])


def test_inactive_streams_are_not_counted() -> None:
    model = ContextModel(3, (1,), hash_bits=16, count_limit=255)
    model.update(np.frombuffer(b"abc", dtype=np.uint8), 2)
    assert int(model.counts.sum()) == 2


def test_the_column_context_follows_the_orders() -> None:
    """One stream of lines "ab": at column 2 after a letter a newline followed, twice."""
    model = ContextModel(1, (1,), hash_bits=16, count_limit=255, columns=Columns(NO_WORD_CODES, 1, 16))
    _feed(model, [bytes([byte]) for byte in b"ab\nab\nab"])
    features, confidence = model.predict()
    log = numerics.log_count_table()
    assert features.shape == (1, 2, 256)
    assert features[0, 1, ord("\n")] == log[2] and features[0, 1].sum() == log[2]
    assert confidence[0, 1] == 2
    assert model.rows[1, 0] == model.column_row + 2 * BYTE_CLASSES + BYTE_CLASS[ord("b")]


def test_the_column_context_works_without_orders() -> None:
    """A header may ask for the column context alone: one feature from the first step on."""
    model = ContextModel(2, (), hash_bits=16, count_limit=255, columns=Columns(NO_WORD_CODES, 2, 16))
    assert model.predict()[0].shape == (2, 1, 256)
    _feed(model, [b"ab", b"\n\n", b"cd"])
    features, _ = model.predict()
    assert features.shape == (2, 1, 256) and model.rows.tolist() == [
        [6 + BYTE_CLASS[ord("c")], 6 + BYTE_CLASS[ord("d")]]
    ]


def test_the_word_context_is_the_word_so_far_in_any_script() -> None:
    """Two streams end in the same word after different words before it: the same row, counted twice;
    between words the row is the byte just read, and a word starts afresh after it."""
    model = ContextModel(2, (1,), hash_bits=16, count_limit=255, words=True)
    assert model.predict()[0].shape == (2, 2, 256)
    left, right = "x мир.".encode(), "ab мир.".encode()[1:]  # both end in " мир." (Cyrillic: 2 bytes a letter)
    _feed(model, [bytes(pair) for pair in zip(left, right, strict=True)])
    assert model.rows[1, 0] - model.word_row == model.rows[1, 1] - model.word_row == _word_row_after(b".")
    mid_word = ContextModel(1, (), hash_bits=16, count_limit=255, words=True)
    _feed(mid_word, [bytes([byte]) for byte in "мир".encode()])
    again = ContextModel(1, (), hash_bits=16, count_limit=255, words=True)
    _feed(again, [bytes([byte]) for byte in "слово, мир".encode()])
    assert mid_word.rows[0, 0] == again.rows[0, 0] != _word_row_after(b" ")
    features, _ = again.predict()
    assert features.sum() == 0  # "мир" has not been followed yet


def _word_row_after(separator: bytes) -> int:
    """The word context's row (from its first) after ``separator``, a byte outside words."""
    fresh = ContextModel(1, (), hash_bits=16, count_limit=255, words=True)
    _feed(fresh, [separator])
    return int(fresh.rows[0, 0]) - fresh.word_row


def test_the_word_context_counts_what_followed_a_word() -> None:
    model = ContextModel(1, (), hash_bits=16, count_limit=255, words=True)
    _feed(model, [bytes([byte]) for byte in "да да д".encode()])
    features, confidence = model.predict()
    log = numerics.log_count_table()
    # the word "д" (its two bytes) was followed twice by the first byte of "а"
    assert features[0, 0, "а".encode()[0]] == log[2] and confidence[0, 0] == 2


def test_the_above_context_is_the_line_before_at_the_same_place() -> None:
    """The row depends on the bytes above the place in the stream's own line before and on the byte just
    read, not on what came earlier; past the end of the line before, it sees "none" there."""
    model = ContextModel(2, (), hash_bits=16, count_limit=255, above=True)
    _feed(model, [b"ax", b"by", b"\n\n", b"cc"])
    assert model.predict()[0].shape == (2, 1, 256)
    # stream 0 read "ab", a newline, "c"; stream 1 "xy", a newline, "c": under "b" and under "y"
    twin = ContextModel(1, (), hash_bits=16, count_limit=255, above=True)
    _feed(twin, [b"q", b"b", b"\n", b"c"])  # another first byte, the same byte above
    assert model.rows[0, 0] == twin.rows[0, 0] != model.rows[0, 1]
    _feed(model, [b"dz", b"ee"])  # three bytes into a line whose line before had two
    _feed(twin, [b"d", b"e"])
    assert model.rows[0, 0] == model.rows[0, 1] == twin.rows[0, 0]  # "none" above, "e" just read


def test_the_above_context_counts_what_stood_under_the_same_place() -> None:
    model = ContextModel(1, (), hash_bits=16, count_limit=255, above=True)
    _feed(model, [bytes([byte]) for byte in b"a1\nb1\nc"])
    features, _ = model.predict()
    log = numerics.log_count_table()
    # after the first byte of a line, under "a1" then "b1": "1" followed once, from the second line on
    assert features[0, 0, ord("1")] == 0  # the contexts differ: the byte just read ("b", "c") is in the key
    same = ContextModel(1, (), hash_bits=16, count_limit=255, above=True)
    _feed(same, [bytes([byte]) for byte in b"a1\na1\na"])
    assert same.predict()[0][0, 0, ord("1")] == log[1]
