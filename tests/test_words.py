"""Word codes: exact vectors, round trips of text-like and arbitrary bytes, the dictionary, refusal of bad input."""

from __future__ import annotations

import hashlib
import lzma
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lstmzip
from lstmzip import assets, codec, container
from lstmzip import words as words_module
from lstmzip.errors import CorruptArchiveError, UnsupportedFormatError
from lstmzip.words import (
    FILE_CODE_WIDTH,
    MIN_DICTIONARY_SHARE,
    MIN_INPUT,
    NO_WORD_CODES,
    WORD_FIRST_RANK,
    WORD_ROWS,
    Columns,
    WordCodes,
)
from tests.helpers import SAMPLE_TEXT, TINY, english_words, sample_bytes, sample_words

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
    assert len(coded) < len(text)
    # 2 one-byte codes and 256 behind the prefix: the 258th new word has a code, the 259th not
    assert coded.count(words[257]) == 1 and coded.count(words[258]) == 2


TEXTISH = st.lists(
    st.sampled_from([b"the", b"The", b"a", b"of", b"cat", b"cats", b"x", b" ", b"\n", b", ", b"\xc3\xa9", b"zz", b"-"]),
    max_size=200,
).map(b"".join)


@settings(max_examples=200, deadline=None)
@given(TEXTISH, st.integers(0, 3))
def test_round_trip_textish(text: bytes, one_byte_codes: int) -> None:
    codes = WordCodes.from_code_bytes(b"\x00\x01\x7f", one_byte_codes)
    assert codes.decode(codes.encode(text), len(text)) == text


# The shipped dictionary, and one file code prefix (0x01) for the words it lacks.
WITH_DICTIONARY = WordCodes.from_code_bytes(b"\x01", 0, "en-3")


def test_exact_vector_with_the_dictionary() -> None:
    text = b"The cat sat on the mat; the Zorgblax is a caf\xc3\xa9 Zorgblax rabbit."
    # Dictionary ranks: "the" 0 -> 80, "is" 3 -> 83, "The" 20 -> 94, "on" 29 -> 9d (one byte,
    # 0x80 + rank); "cat" 7646 -> dd 9e, "mat" 7664 -> dd b0 (prefix 0xc0 + (rank - 64) // 256, then
    # the rest: words ending in "at" share a prefix); "rabbit" 23440 -> f8 23 50 (prefix 0xf8 +
    # (rank - 14400) // 65536, two bytes). Words it lacks take file codes on first sight: "sat" 01 00,
    # "Zorgblax" 01 01, "caf" 01 02; "a" stays. Bytes >= 0x80 of the input are escaped with ff.
    expected = b"\x94 \xdd\x9e sat \x9d \x80 \xdd\xb0; \x80 Zorgblax \x83 a caf\xff\xc3\xff\xa9 \x01\x01 \xf8\x23\x50."
    assert WITH_DICTIONARY.encode(text) == expected
    assert WITH_DICTIONARY.decode(expected, len(text)) == text


def _columns(codes: WordCodes, coded: bytes, limit: int = 128) -> list[int]:
    """The column after each coded byte, one stream."""
    columns = Columns(codes, 1, limit)
    return [int(columns.update(np.array([byte], dtype=np.uint8))[0]) for byte in coded]


def test_columns_count_the_characters_that_codes_stand_for() -> None:
    text = b"The cat sat on the mat; the Zorgblax is a caf\xc3\xa9 Zorgblax rabbit.\nThe"
    coded = WITH_DICTIONARY.encode(text)
    columns = _columns(WITH_DICTIONARY, coded)
    assert columns[:4] == [3, 4, 4, 7]  # "The" (one byte), " ", "cat" (two bytes: no width until its last)
    line = text.split(b"\n")[0]
    # Every character counts once, except the file-coded second "Zorgblax", which counts FILE_CODE_WIDTH.
    newline = coded.index(b"\n")
    assert columns[newline - 1] == len(line) - len(b"Zorgblax") + FILE_CODE_WIDTH
    assert columns[newline:] == [0, 3]  # the line starts again
    # Without word codes every byte counts one; the column stops at the limit.
    assert _columns(NO_WORD_CODES, b"ab\nabcdef", limit=4) == [1, 2, 0, 1, 2, 3, 3, 3, 3]


def _words(codes: WordCodes, coded: bytes) -> list[int]:
    """``Columns.word`` after each coded byte, one stream."""
    columns, named = Columns(codes, 1, 128), []
    for byte in coded:
        columns.update(np.array([byte], dtype=np.uint8))
        named.append(int(columns.word[0]))
    return named


def test_columns_name_the_word_of_each_two_byte_code_after_its_last_byte() -> None:
    text = b"The cat sat on the mat; the Zorgblax is a rabbit."
    coded = WITH_DICTIONARY.encode(text)
    named = _words(WITH_DICTIONARY, coded)
    dictionary = words_module.load_dictionary("en-3")
    two_byte = set(dictionary[WORD_FIRST_RANK : WORD_FIRST_RANK + WORD_ROWS])
    expected = [word for word in text.replace(b";", b" ").replace(b".", b" ").split() if word in two_byte]
    assert expected  # some of these words have two-byte codes in en-3 ("The", "the", "on" have one byte)
    assert [dictionary[WORD_FIRST_RANK + rank] for rank in named if rank != WORD_ROWS] == expected
    ends = [i for i, rank in enumerate(named) if rank != WORD_ROWS]
    assert all(0xC0 <= coded[i - 1] <= 0xF7 for i in ends)  # each right after its code's first byte
    assert set(_words(NO_WORD_CODES, text)) == {WORD_ROWS}  # without a dictionary, no word is named


def test_a_newline_that_is_a_file_code_starts_no_line() -> None:
    codes = WordCodes.from_code_bytes(b"\n\x0b", 1)  # 0x0a a one-byte code, 0x0b a prefix
    assert _columns(codes, b"a\nb\x0b\nc") == [
        1,
        1 + FILE_CODE_WIDTH,
        2 + FILE_CODE_WIDTH,
        2 + FILE_CODE_WIDTH,
        2 + 2 * FILE_CODE_WIDTH,
        3 + 2 * FILE_CODE_WIDTH,
    ]


# Two file code prefixes (0x01, 0x02) with the dictionary: one for each case.
GROUPED = WordCodes.from_code_bytes(b"\x01\x02", 0, "en-3")


def test_file_codes_are_grouped_by_case() -> None:
    codes = GROUPED
    # Lowercase words take prefix 01 (the even prefixes), capitalized words 02 (the odd ones); the
    # second byte counts within the prefix, in order of first appearance.
    text = b"sat Zorgblax caf zzyzx Quix blorp; sat Quix zzyzx blorp caf Zorgblax"
    expected = b"sat Zorgblax caf zzyzx Quix blorp; \x01\x00 \x02\x01 \x01\x02 \x01\x03 \x01\x01 \x02\x00"
    assert codes.encode(text) == expected
    assert codes.decode(expected, len(text)) == text
    # A full prefix passes its words on to the next one with room (cyclically): the 257th
    # capitalized word takes prefix 01.
    names = [b"Q" + bytes((97 + i // 26 % 26, 97 + i % 26)) + b"zq" for i in range(257)]
    text = b" ".join(names * 2)
    coded = codes.encode(text)
    assert coded.endswith(b" \x02\xff \x01\x00") and codes.decode(coded, len(text)) == text


@settings(max_examples=200, deadline=None)
@given(TEXTISH, st.binary(max_size=8))
def test_round_trip_with_the_dictionary(text: bytes, noise: bytes) -> None:
    noise = noise.translate(None, b"\x01\x02")  # the input lacks its file code bytes (apply picks absent ones)
    data = noise + text + noise
    for codes in (WITH_DICTIONARY, GROUPED):
        assert codes.decode(codes.encode(data), len(data)) == data


def test_apply_with_a_dictionary() -> None:
    text = english_words(2000) + sample_words(300)  # the dictionary's words and a few it lacks (file codes)
    codes, coded = WordCodes.apply(text, "en-3")
    assert codes.dictionary == "en-3" and codes.code_map and max(codes.code_bytes) < 0x80
    assert codes.decode(coded, len(text)) == text
    short = b"the cat sat on the mat, " * 20  # below MIN_INPUT: the dictionary alone, no code map to store
    assert WordCodes.apply(short, "en-3")[0] == WordCodes(b"", 0, "en-3")
    assert WordCodes.apply(b"", "en-3") == (WordCodes(b"", 0), b"")


def test_input_that_does_not_fit_the_dictionary_takes_no_codes() -> None:
    """Neither the dictionary nor file codes alone: the level's prior learned the dictionary's codes."""
    accented = "le café où la fenêtre s'ouvre était là, déjà ".encode() * 400  # every byte >= 0x80 would be escaped
    uncovered = sample_words(2000)  # words the dictionary lacks
    for text in (accented, uncovered):
        assert WordCodes.apply(text, "en-3") == (NO_WORD_CODES, text)
    assert WordCodes.apply(uncovered)[0].code_map  # without a dictionary, file codes as before
    share = MIN_DICTIONARY_SHARE
    assert words_module._dictionary_share(english_words(200) + uncovered[:300], "en-3") > share
    assert words_module._dictionary_share(uncovered, "en-3") < share
    assert words_module._dictionary_share(b"1, 2; 3\n", "en-3") == 0.0  # no words


def test_dictionary_files_are_checked() -> None:
    assert len(words_module.load_dictionary("en-3")) == 34365
    assert words_module.unpack_dictionary(words_module.pack_dictionary([b"of", b"the", b"cat"])) == (
        b"of",
        b"the",
        b"cat",
    )
    two_letters = [bytes((97 + i // 26, 97 + i % 26)) for i in range(65)]  # rank 64 needs 3+ letters
    for bad in ([b"the", b"the"], [b"x"], [b"a1b"], two_letters):
        with pytest.raises(ValueError):
            words_module.pack_dictionary(bad)
    with pytest.raises(ValueError, match="not a word dictionary"):
        words_module.unpack_dictionary(b"words")


def test_rank_words() -> None:
    text = b"to be or not to be: that is the question. The the THE is is"
    # most frequent first, ties in byte order; one-byte ranks take 2-letter words, later ranks 3+
    assert words_module.rank_words(text)[:6] == [b"is", b"be", b"the", b"to", b"THE", b"The"]
    # past the one-byte codes, each tier holds capitalized words last, each group in the order of the
    # reversed spelling
    frequent = b" ".join(bytes((97 + i // 26, 97 + i % 26)) for i in range(64)) + b" "
    assert words_module.rank_words(frequent * 3 + b"abc Cab bca Acb")[64:] == [b"bca", b"abc", b"Cab", b"Acb"]
    for rank in (0, 63, 64, 14399, 14400, words_module.DICTIONARY_CAPACITY - 1):
        code = words_module._dictionary_code(rank)
        assert words_module._dictionary_rank(code) == rank and len(code) == 1 + (rank >= 64) + (rank >= 14400)


def test_dictionary_codes_are_made_when_asked_for() -> None:
    dictionary = words_module.load_dictionary("en-3")
    codes = words_module._DictionaryCodes("en-3")
    assert codes[b"Zorgblax"] is None and codes[dictionary[0]] == b"\x80"
    assert len(codes) == 2  # only the words asked for
    assert [codes[word] for word in dictionary] == [words_module._dictionary_code(r) for r in range(len(dictionary))]
    assert words_module._DictionaryCodes("")[dictionary[0]] is None


def test_build_dictionary_script_writes_a_loadable_dictionary(tmp_path: Path) -> None:
    text = tmp_path / "text.txt"
    text.write_bytes(sample_words(3000, seed=4))
    script = Path(__file__).resolve().parent.parent / "scripts" / "build_dictionary.py"
    result = subprocess.run(
        [sys.executable, str(script), "test-words", str(text), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    blob = (tmp_path / ("test-words" + words_module.DICTIONARY_SUFFIX)).read_bytes()
    assert result.stdout.strip() == f'"test-words": "{hashlib.sha256(blob).hexdigest()}",'
    assert list(words_module.unpack_dictionary(blob)) == words_module.rank_words(text.read_bytes())


def test_archive_naming_an_unknown_or_changed_dictionary_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UnsupportedFormatError, match="no-such-words"):
        codec.compress(sample_words(2000), replace(TINY, word_dictionary="no-such-words"))
    archive = codec.compress(english_words(2000), replace(TINY, word_dictionary="en-3"))
    assert codec.read_info(archive)[3].dictionary == "en-3"
    assert codec.decompress(archive) == english_words(2000)
    monkeypatch.setattr(assets, "DICTIONARIES", {"en-3": "0" * 64})
    words_module.load_dictionary.cache_clear()
    try:
        with pytest.raises(UnsupportedFormatError, match="not the one"):
            codec.decompress(archive)
    finally:
        words_module.load_dictionary.cache_clear()


LONG_INPUTS = (
    st.builds(sample_words, st.integers(1400, 3000), st.integers(0, 2**32))  # word codes on
    | st.binary(min_size=1, max_size=300).map(lambda b: b * (MIN_INPUT // len(b) + 1))
    | st.builds(lambda a, b: (a + b) * 60, TEXTISH, st.binary(max_size=20))
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.large_base_example])
@given(LONG_INPUTS, st.sampled_from(["", "en-3"]))
def test_apply_round_trips_or_leaves_the_input_alone(data: bytes, dictionary: str) -> None:
    words, coded = WordCodes.apply(data, dictionary)
    words.validate()
    assert words.decode(coded, len(data)) == data
    assert (coded is data) == (not words.active)


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


def test_the_xz_check_measures_what_preset_6_would() -> None:
    """The fitted dictionary is for speed: on these inputs xz's size is preset 6's own."""
    for data in (b"the cat", SAMPLE_TEXT, sample_words(400, seed=5) * 6, sample_words(30_000), sample_bytes(5000)):
        assert words_module._lz_size(data) == len(lzma.compress(data, preset=6))


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
    with pytest.raises(ValueError, match="ends inside a code"):
        WITH_DICTIONARY.decode(b"caf\xffe", 100)  # an escape before a byte that needs none


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
        (coding, config, WordCodes(words.code_map, words.one_byte_codes, "No Such")),  # not a dictionary name
        (coding, config, WordCodes.from_code_bytes(b"\x01\x90", 1, "en-3")),  # file code among the dictionary's
    ]
    for records in bad_records:
        settings_bytes = codec.pack_settings(*records)
        forged = container.Header(header.original_size, header.block_count, settings_bytes).pack() + archive[offset:]
        with pytest.raises(CorruptArchiveError):
            lstmzip.decompress(forged)


def test_preset_without_word_codes_codes_the_bytes_themselves() -> None:
    text = sample_words(2000)
    archive = lstmzip.compress(text, level=replace(TINY, word_codes=False))
    header, coding, _, words = codec.read_info(archive)
    assert not words.code_map and coding.coded_size == header.original_size
    assert lstmzip.decompress(archive) == text
