"""Word codes: exact vectors, round trips of text-like and arbitrary bytes, and refusal of bad input."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lstmzip
from lstmzip import codec, container
from lstmzip.errors import CorruptArchiveError
from lstmzip.words import MIN_INPUT, WordCodes
from tests.conftest import SAMPLE_TEXT, TINY, sample_bytes, sample_words

# Two one-byte codes (0x01, 0x02), then one prefix (0x03) for 256 words of three or more letters.
SMALL = WordCodes.from_code_bytes(b"\x01\x02\x03", 2)


def test_exact_vector() -> None:
    text = b"it was the best, it was the worst of it; the rest"
    # "it" -> 01 and "was" -> 02 (one-byte codes, first come); then "the" -> 03 00, "best" -> 03 01,
    # "worst" -> 03 02, "rest" -> 03 03; "of" stays as it is (two letters, one-byte codes used up).
    expected = b"it was the best, \x01 \x02 \x03\x00 worst of \x01; \x03\x00 rest"
    assert SMALL.encode(text) == expected
    assert SMALL.decode(expected, len(text)) == text


def test_codes_run_out_and_words_stay_as_they_are() -> None:
    words = [bytes([97 + i % 26, 97 + i // 26 % 26, 97 + i // 676]) for i in range(400)]
    text = b" ".join(words * 2)
    coded = SMALL.encode(text)
    assert SMALL.decode(coded, len(text)) == text
    assert SMALL.capacity == 258 and len(coded) < len(text)


TEXTISH = st.lists(
    st.sampled_from([b"the", b"The", b"a", b"of", b"cat", b"cats", b"x", b" ", b"\n", b", ", b"\xc3\xa9", b"zz", b"-"]),
    max_size=200,
).map(b"".join)


@settings(max_examples=200, deadline=None)
@given(TEXTISH, st.integers(0, 3))
def test_round_trip_textish(text: bytes, one_byte_codes: int) -> None:
    codes = WordCodes.from_code_bytes(b"\x00\x01\x7f", one_byte_codes)
    assert codes.decode(codes.encode(text), len(text)) == text


LONG_INPUTS = (
    st.builds(sample_words, st.integers(1400, 3000), st.integers(0, 2**32))  # word codes on
    | st.binary(min_size=1, max_size=300).map(lambda b: b * (MIN_INPUT // len(b) + 1))
    | st.builds(lambda a, b: (a + b) * 60, TEXTISH, st.binary(max_size=20))
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.large_base_example])
@given(LONG_INPUTS)
def test_apply_round_trips_or_leaves_the_input_alone(data: bytes) -> None:
    words, coded = WordCodes.apply(data)
    words.validate()
    assert words.decode(coded, len(data)) == data
    assert (coded is data) == (not words.code_map)


def test_apply_skips_binary_short_and_code_free_inputs() -> None:
    assert WordCodes.apply(bytes(range(256)) * 40) == (WordCodes(b"", 0), bytes(range(256)) * 40)  # no free byte
    assert WordCodes.apply(sample_bytes(20_000))[0] == WordCodes(b"", 0)  # random bytes: no free byte
    assert WordCodes.apply(SAMPLE_TEXT * 4)[0] == WordCodes(b"", 0)  # shorter than MIN_INPUT
    words, coded = WordCodes.apply(sample_words(2000))
    assert words.code_map and len(coded) < len(sample_words(2000)) // 2
    assert not set(words.code_bytes) & set(b"abcxyzABCXYZ")  # letters are never codes


def test_apply_keeps_long_repeats_intact() -> None:
    """A passage repeated: codes would make its first copy differ from the others, so xz (and the model) lose."""
    text = sample_words(400, seed=5) * 6
    assert len(text) > MIN_INPUT and WordCodes.apply(text) == (WordCodes(b"", 0), text)


@pytest.mark.parametrize(
    ("coded", "message"),
    [
        (b"\x01 cat", "before its word"),  # a code whose word has not appeared yet
        (b"cat \x03", "ends inside a code"),  # a prefix without its second byte
        (b"cat " + b"\x01" * 50, "beyond its stated size"),  # "cat" is code 01
    ],
)
def test_decode_refuses_what_no_encoding_produces(coded: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SMALL.decode(coded, 100)


def test_header_with_bad_word_codes_is_refused() -> None:
    archive = lstmzip.compress(sample_words(2000), level=TINY)
    header, offset = container.read_header(archive)
    coding, config, words = codec._settings(header)
    bad_records = [
        (coding, config, WordCodes(words.code_map[:5], words.one_byte_codes)),  # map of the wrong size
        (coding, config, WordCodes.from_code_bytes(b"\x01A", 1)),  # a letter as a code
        (coding, config, WordCodes(words.code_map, 300)),  # more one-byte codes than code bytes
        (type(coding)(coding.level, coding.coder, coding.block_steps, header.original_size + 1), config, words),
        (coding, config, WordCodes(b"", 0)),  # no codes, yet fewer bytes coded than the original
    ]
    for records in bad_records:
        settings_bytes = b"".join(container.pack_record(record) for record in records)
        forged = container.Header(header.original_size, header.block_count, settings_bytes).pack() + archive[offset:]
        with pytest.raises(CorruptArchiveError):
            lstmzip.decompress(forged)


def test_preset_without_word_codes_codes_the_bytes_themselves() -> None:
    from dataclasses import replace

    text = sample_words(2000)
    archive = lstmzip.compress(text, level=replace(TINY, word_codes=False))
    header, coding, _, words = codec.read_info(archive)
    assert not words.code_map and coding.coded_size == header.original_size
    assert lstmzip.decompress(archive) == text
