"""Word codes: a reversible text transform that writes words as codes of one to three bytes.

Pure: bytes in, bytes out (and a word list read once from the package). The codec applies it
before the model and inverts it after decoding.

Why: the model then sees fewer and more informative symbols, so it learns from more text per
update and each step covers more of the input. Measured at the default level (docs/notebook):
alice29.txt 2.298 -> 2.123 bits per byte and book1 2.336 -> 2.171 with file-made codes (no
prior), and with the shipped dictionary and priors that learned its codes 2.011 -> 1.939 and
2.106 -> 2.062.

A *word* is a maximal run of ASCII letters. Two kinds of codes, which an input may use together:

Dictionary codes (``dictionary`` names a shipped word list, ``lstmzip/data/dictionaries/NAME.words``):
the list's words, ranked, are always the same codes, from their first occurrence on: ranks 0..63 are one
byte (0x80 + rank), the next 56 * 256 a prefix byte 0xc0..0xf7 and one more byte, the rest a
prefix 0xf8..0xfe and two more bytes; a code is always shorter than its word. Within the two- and
three-byte tiers the capitalized words follow the others, each in the order of their reversed
spelling, so a prefix byte stands for the case and a family of word endings (``rank_words``).
Every byte >= 0x80 of the input is escaped as 0xff and itself. Because a word has the same code in
every file, a prior (``priors.py``) learns what the codes mean: the model knows "the" before it
reads a file.

File codes (``code_map``): byte values that never occur in the input and are not letters (below
0x80 with a dictionary). Both sides give each eligible word that has no code a free code the
first time they see it, so nothing but the code byte values is stored: the word is written out
that once and as its code afterwards. The first ``one_byte_codes`` codes are single bytes, first
come, first served (eligible: words of 2 or more letters); after them each remaining code byte is
a *prefix* followed by any byte, 256 words per prefix (eligible: 3 or more letters, so a code is
never longer than its word). With a dictionary, a word's prefix is chosen by its case
(``_FileCodeBook``). When the codes run out, new words stay as they are.

Decoding inverts this token by token: a code (one byte, or a prefix and the byte after it), an
escape and its byte, a run of literal letters (which is exactly a word the encoder wrote out,
because a code always stands for a maximal run of letters, so it never touches a literal letter
in the original), or other bytes.
"""

from __future__ import annotations

import lzma
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache, cached_property

import numpy as np

from lstmzip import assets
from lstmzip.compiled import compiled_core

_LETTERS = b"A-Za-z"
_WORDS = re.compile(b"[" + _LETTERS + b"]+")
_TOKENS = re.compile(_WORDS.pattern + b"|[^" + _LETTERS + b"]+")  # words and the bytes between them
_ASCII_LETTERS = bytes(range(65, 91)) + bytes(range(97, 123))
_HIGH = re.compile(rb"([\x80-\xff])")
MIN_INPUT = 8192  # below this the 33 header bytes of a code map outweighed the gain (docs/notebook)
MIN_SAVING = 1 / 16  # the transform is kept only if it removes at least this share of the input
MAX_LZ_GROWTH = 1.04  # ... and xz finds the coded input at most this much harder to compress
LZ_MIN_DICTIONARY, LZ_PRESET_DICTIONARY = 1 << 12, 1 << 23  # xz's smallest dictionary, and preset 6's
MAX_HIGH_SHARE = 1 / 32  # a dictionary only for inputs with at most this share of bytes >= 0x80 (each is escaped)
# ... and whose words are mostly the dictionary's: at least this share of their letters (English text
# and code 0.55-0.89; German, French, Spanish prose and a CSV table 0.09-0.26)
MIN_DICTIONARY_SHARE = 0.4

# Dictionary code tiers: (first byte of the tier, how many first bytes, bytes after the first).
DICTIONARY_TIERS = ((0x80, 64, 0), (0xC0, 56, 1), (0xF8, 7, 2))
ESCAPE = 0xFF  # followed by a byte >= 0x80 of the input
DICTIONARY_CAPACITY = sum(firsts << 8 * tail for _, firsts, tail in DICTIONARY_TIERS)
# The words of two-byte codes, which ``Columns.word`` names (row WORD_ROWS: none)
WORD_FIRST_RANK, WORD_ROWS = DICTIONARY_TIERS[0][1], DICTIONARY_TIERS[1][1] << 8
DICTIONARY_MAGIC = b"LZWORDS1\n"
DICTIONARY_SUFFIX = ".words"


def rank_words(text: bytes) -> list[bytes]:
    """A dictionary for text like ``text``: its words by falling frequency (ties: byte order), each
    word that is longer than the code of the next free rank; then, within each tier of codes longer
    than one byte, sorted by case and ending (:func:`_code_order`)."""
    counts = Counter(token for token in _TOKENS.findall(text) if len(token) >= 2 and _is_word(token))
    ranked: list[bytes] = []
    for word in sorted(counts, key=lambda word: (-counts[word], word)):
        if len(word) > len(_dictionary_code(len(ranked))):
            ranked.append(word)
    ranked = ranked[:DICTIONARY_CAPACITY]
    start = 0
    for _, firsts, tail in DICTIONARY_TIERS:
        end = start + (firsts << 8 * tail)
        if tail:
            ranked[start:end] = sorted(ranked[start:end], key=_code_order)
        start = end
    return ranked


def _code_order(word: bytes) -> tuple[bool, bytes, bytes]:
    """Sort key: capitalized words after the others, each group in the order of the reversed
    spelling (case aside), so that words with the same ending are neighbours.

    A code's first byte then says whether the word is capitalized and which family of endings it
    has (-ing, -tion, -ly, plurals): what the context predicts well. The next byte picks the word.
    Measured at the default level with its prior retrained (docs/notebook), book1 / enwik6 /
    alice29.txt: frequency order 2.0499 / 1.8071 / 1.9353, reversed spelling 2.0444 / 1.8038 /
    1.9337, and capitalized words apart 2.0423 / 1.7948 / 1.9180; alphabetical order was worse
    (2.0502 / 1.8116 / -).
    """
    return word[0] < ord("a"), word.lower()[::-1], word


def pack_dictionary(words: list[bytes]) -> bytes:
    """The file contents of a dictionary of ``words``: ``DICTIONARY_MAGIC``, then the ranked words, one a
    line, uncompressed (xz took 5 ms of every small text's time; the wheel deflates the file anyway)."""
    if len(words) > DICTIONARY_CAPACITY or len(set(words)) != len(words):
        raise ValueError(f"a dictionary holds at most {DICTIONARY_CAPACITY} distinct words")
    for rank, word in enumerate(words):
        if len(word) <= len(_dictionary_code(rank)) or word.strip(_ASCII_LETTERS):
            raise ValueError(f"{word!r} cannot have dictionary rank {rank}")
    return DICTIONARY_MAGIC + b"\n".join(words)


def _dictionary_code(rank: int) -> bytes:
    """The code of dictionary rank ``rank`` (< ``DICTIONARY_CAPACITY``): within its tier, the tier's
    first byte followed by ``tail`` zero bytes, plus the rank in the tier, big-endian."""
    for first, firsts, tail in DICTIONARY_TIERS:
        if rank < firsts << 8 * tail:
            return ((first << 8 * tail) + rank).to_bytes(1 + tail, "big")
        rank -= firsts << 8 * tail
    raise ValueError("rank beyond the dictionary codes")


def _dictionary_rank(code: bytes) -> int:
    """Inverse of :func:`_dictionary_code`."""
    rank = 0
    for first, firsts, tail in DICTIONARY_TIERS:
        if code[0] < first + firsts:
            return rank + ((code[0] - first) << 8 * tail) + int.from_bytes(code[1:], "big")
        rank += firsts << 8 * tail
    raise ValueError("not a dictionary code")


def unpack_dictionary(blob: bytes) -> tuple[bytes, ...]:
    if not blob.startswith(DICTIONARY_MAGIC):
        raise ValueError("not a word dictionary")
    return tuple(blob[len(DICTIONARY_MAGIC) :].split(b"\n"))


@cache
def load_dictionary(name: str) -> tuple[bytes, ...]:
    """The ranked words of the shipped dictionary ``name``, checked against its pinned digest."""
    return unpack_dictionary(assets.pinned("word dictionary", name, assets.DICTIONARIES, _read_dictionary))


def _read_dictionary(name: str) -> bytes:
    return assets.read("dictionaries", name + DICTIONARY_SUFFIX)


@cache
def _dictionary_ranks(name: str) -> dict[bytes, int]:
    """Word -> its rank in the dictionary ``name``."""
    dictionary = load_dictionary(name)
    return dict(zip(dictionary, range(len(dictionary)), strict=True))


class _DictionaryCodes(dict[bytes, bytes | None]):
    """Word -> its code in the shipped dictionary ``name``, or None for a word it lacks (every word
    when ``name`` is ""). Each code is made the first time an input asks for it: a small input asks
    for a few of en-3's 34,365, and making all of them cost every text input about 40 ms."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self._ranks = _dictionary_ranks(name) if name else {}

    def __missing__(self, word: bytes) -> bytes | None:
        rank = self._ranks.get(word)
        self[word] = code = None if rank is None else _dictionary_code(rank)
        return code


def _is_word(token: bytes) -> bool:
    return token[0] in _ASCII_LETTERS


def _dictionary_share(data: bytes, name: str) -> float:
    """The share of the letters of ``data``'s words that stand in words of the dictionary ``name``."""
    ranks = _dictionary_ranks(name)
    counts = Counter(match[0] for match in _WORDS.finditer(data))  # no list of every token of a large input
    letters = sum(len(word) * count for word, count in counts.items())
    return sum(len(word) * count for word, count in counts.items() if word in ranks) / max(letters, 1)


def _lz_size(data: bytes) -> int:
    """The size of ``data`` after xz at preset 6 with a dictionary no larger than ``data`` needs.

    Preset 6's own 8 MiB dictionary made a fresh process zero its match finder's tables on each call:
    90 ms of a 4 KB text's two calls on a busy host, 2 ms with the fitted one. Of 618 pieces of the
    corpus (100 B to 300 KB) none chose other word codes with it (docs/notebook/2026-12-07-start-up-costs.md).
    """
    dictionary_size = min(max(LZ_MIN_DICTIONARY, 1 << (len(data) - 1).bit_length()), LZ_PRESET_DICTIONARY)
    return len(lzma.compress(data, filters=[{"id": lzma.FILTER_LZMA2, "preset": 6, "dict_size": dictionary_size}]))


@dataclass(frozen=True)
class WordCodes:
    """Which byte values are file codes (a 256-bit map; empty: none), how many of them are one-byte
    codes, and the shipped dictionary whose words are codes too ("": none)."""

    code_map: bytes
    one_byte_codes: int
    dictionary: str = ""

    @classmethod
    def from_code_bytes(cls, code_bytes: bytes, one_byte_codes: int, dictionary: str = "") -> WordCodes:
        code_map = sum(1 << byte for byte in code_bytes).to_bytes(32, "little") if code_bytes else b""
        return cls(code_map, one_byte_codes, dictionary)

    @cached_property
    def code_bytes(self) -> bytes:
        """The file code byte values, ascending: first the one-byte codes, then the prefixes."""
        bits = int.from_bytes(self.code_map, "little")
        return bytes(byte for byte in range(256) if bits >> byte & 1)

    @property
    def active(self) -> bool:
        """Whether the transform changes anything (else the model codes the input as it is)."""
        return bool(self.code_map or self.dictionary)

    def validate(self) -> None:
        """Raise ValueError unless the fields describe a transform this module can invert.

        (Whether this build has the named dictionary is :func:`load_dictionary`'s question.)
        """
        if len(self.code_map) not in (0, 32):
            raise ValueError("the word code map must be 0 or 32 bytes")
        if set(self.code_bytes) & set(_ASCII_LETTERS):
            raise ValueError("letters cannot be word codes")
        if not 0 <= self.one_byte_codes <= len(self.code_bytes):
            raise ValueError("more one-byte word codes than code bytes")
        if not re.fullmatch(assets.OPTIONAL_NAME, self.dictionary):
            raise ValueError("a dictionary name is 1-40 of [a-z0-9.-]")
        if self.dictionary and self.code_bytes and self.code_bytes[-1] >= 0x80:
            raise ValueError("with a dictionary, file codes must be below 0x80")

    @classmethod
    def apply(cls, data: bytes, dictionary: str = "") -> tuple[WordCodes, bytes]:
        """Choose the codes for ``data`` and return them with the transformed bytes.

        With ``dictionary``, inputs that fit it take its codes, plus file codes for the other words
        where the input has at least ``MIN_INPUT`` bytes (smaller ones: the dictionary alone, which
        costs no code map in the header). An input fits it with few bytes >= 0x80 (at most
        ``MAX_HIGH_SHARE``) and words that are mostly the dictionary's (``MIN_DICTIONARY_SHARE``);
        one that does not fit takes no codes: the level's prior learned the dictionary's codes, and
        file codes alone or a dictionary that codes a few short words of another language cost
        French, Spanish and German prose 4.5-5.4 %, mixed-script JSON 6.3 %, a CSV table 4.0 % and
        Korean 2.2 % at the default level (docs/notebook/2026-12-07-word-codes-by-input.md).
        Without ``dictionary``, file codes alone. The first choice that passes both checks is kept,
        else the empty transform (and ``data`` itself): the transform must remove at least ``MIN_SAVING``
        of the input (binary data does not pass), and it must not break long repeats. File codes
        can: a passage's first copy carries its new words spelled out and later copies carry
        codes, so the copies no longer match byte for byte, which costs the match model. xz, an
        LZ77 coder, sees exactly that; where it compressed the coded input more than
        ``MAX_LZ_GROWTH`` times worse (licence texts, a terminal transcript, HTML), the model lost
        0.06-0.13 bits per byte with the codes.
        """
        if not data:
            return NO_WORD_CODES, data
        free = bytes(sorted(set(range(256)) - set(data) - set(_ASCII_LETTERS)))
        high = len(data) - len(data.translate(None, bytes(range(0x80, 0x100))))
        choices = []
        if dictionary:
            if high <= len(data) * MAX_HIGH_SHARE and _dictionary_share(data, dictionary) >= MIN_DICTIONARY_SHARE:
                below = bytes(byte for byte in free if byte < 0x80)
                if len(data) >= MIN_INPUT and below:
                    choices.append(cls.from_code_bytes(below, 0, dictionary))  # the dictionary covers frequent words
                choices.append(cls(b"", 0, dictionary))
        elif len(data) >= MIN_INPUT and len(free) >= 2:
            # Enough prefixes for every distinct word if possible, but at least half the codes
            # one-byte: the most frequent words arrive early and take the one-byte codes.
            distinct = len({t for t in _TOKENS.findall(data) if len(t) >= 3 and _is_word(t)})
            prefixes = min(-(-distinct // 256), len(free) // 2)
            choices.append(cls.from_code_bytes(free, len(free) - prefixes))
        lz_size = None
        for codes in choices:
            coded = codes.encode(data)
            if len(coded) > len(data) * (1 - MIN_SAVING):
                continue
            lz_size = lz_size or _lz_size(data)
            if _lz_size(coded) <= lz_size * MAX_LZ_GROWTH:
                return codes, coded
        return NO_WORD_CODES, data

    def encode(self, data: bytes) -> bytes:
        if not self.active:
            return data
        fixed = _DictionaryCodes(self.dictionary)
        book = _FileCodeBook(self)
        out = []
        for token in _TOKENS.findall(data):
            if not _is_word(token):
                out.append(_HIGH.sub(b"\xff\\1", token) if self.dictionary else token)
                continue
            code = fixed[token] or book.codes.get(token)
            if code is not None:
                out.append(code)
                continue
            out.append(token)
            book.assign(token)
        return b"".join(out)

    def decode(self, coded: bytes, max_size: int) -> bytes:
        """Inverse of :meth:`encode`; raise ValueError on bytes that no encoding produces.

        ``max_size`` bounds the output, so damaged or hostile input cannot expand without limit.
        """
        if not self.active:
            return coded
        code_bytes = self.code_bytes
        ones, prefixes = code_bytes[: self.one_byte_codes], code_bytes[self.one_byte_codes :]
        dictionary = load_dictionary(self.dictionary) if self.dictionary else ()
        reserved = re.escape(code_bytes) + (b"\x80-\xff" if dictionary else b"")
        alternatives = [b"[" + _LETTERS + b"]+", b"[^" + _LETTERS + reserved + b"]+"]
        if dictionary:
            for first, firsts, tail in DICTIONARY_TIERS:
                tier = bytes((first,)) + b"-" + bytes((first + firsts - 1,))  # bytes >= 0x80: nothing to escape
                alternatives.append(b"[" + tier + b"]" + b"." * tail)
            alternatives.append(b"\xff[\x80-\xff]")
        if ones:
            alternatives.append(b"[" + re.escape(ones) + b"]")
        if prefixes:
            alternatives.append(b"[" + re.escape(prefixes) + b"].")
        tokens = re.compile(b"|".join(alternatives), re.DOTALL)
        book = _FileCodeBook(self)
        out = []
        end = size = 0
        for match in tokens.finditer(coded):
            if match.start() != end:
                raise ValueError("word-coded data ends inside a code")
            token, end = match.group(), match.end()
            first = token[0]
            if dictionary and first >= 0x80:
                if first == ESCAPE:
                    token = token[1:]
                else:
                    rank = _dictionary_rank(token)
                    if rank >= len(dictionary):
                        raise ValueError("dictionary code beyond the dictionary")
                    token = dictionary[rank]
            elif first in code_bytes:
                if token not in book.words:
                    raise ValueError("word code used before its word appeared")
                token = book.words[token]
            elif _is_word(token):
                book.assign(token)
            out.append(token)
            size += len(token)
            if size > max_size:
                raise ValueError("word-coded data expands beyond its stated size")
        if end != len(coded):
            raise ValueError("word-coded data ends inside a code")
        return b"".join(out)


class _FileCodeBook:
    """The file codes given so far. Encoder and decoder assign them by the same rule, each time a
    word without a code appears (spelled out, so the decoder knows it too).

    One-byte codes go first come, first served (words of 2 or more letters). After them a word of 3
    or more letters takes the next free second byte of a prefix. With a dictionary, a prefix's
    case says which: lowercase words fill the even prefixes (the 1st, 3rd ... code byte) and
    capitalized words the odd ones, so a prefix byte says what kind of word follows, as a
    dictionary code's first byte does; when a case's prefixes are full, its words take any prefix
    with room, the next ones after its first. Without a dictionary (one-byte codes first) the
    prefixes fill in order of first appearance.

    Measured at the default level, each with its prior retrained (docs/notebook), book1 / enwik6
    / alice29.txt: first appearance 2.0423 / 1.7948 / 1.9233, by case 2.0385 / 1.7895 / 1.9207;
    by case and ending (as many groups as prefixes, split at the dictionary's quantiles) 2.0378 /
    1.7894 / 1.9309, which spreads a small file's few words over too many prefixes.
    """

    def __init__(self, codes: WordCodes) -> None:
        self.codes: dict[bytes, bytes] = {}  # word -> code
        self.words: dict[bytes, bytes] = {}  # code -> word
        self._ones = codes.code_bytes[: codes.one_byte_codes]
        self._prefixes = codes.code_bytes[codes.one_byte_codes :]
        count = len(self._prefixes)
        self._filled = [0] * count  # second bytes given, per prefix
        self._by_case = bool(codes.dictionary) and count >= 2
        groups = 2 if self._by_case else 1
        # each group's prefixes in the order it fills them: its own (g, g + 2, ...), then the others
        # from g on, cyclically
        self._fill_order = [
            sorted(range(count), key=lambda p, g=g: (p % groups != g, (p - g) % count)) for g in range(groups)
        ]

    def assign(self, word: bytes) -> None:
        """Give ``word`` (seen for the first time, without a code) the next code, if one is free."""
        if len(self.codes) < len(self._ones):
            if len(word) < 2:
                return
            code = self._ones[len(self.codes) : len(self.codes) + 1]
        else:
            if len(word) < 3:
                return
            group = int(self._by_case and word[0] < ord("a"))  # 1: capitalized
            prefix = next((p for p in self._fill_order[group] if self._filled[p] < 256), None)
            if prefix is None:
                return
            code = bytes((self._prefixes[prefix], self._filled[prefix]))
            self._filled[prefix] += 1
        self.codes[word] = code
        self.words[code] = word


NO_WORD_CODES = WordCodes(b"", 0)
"""The empty transform: the model codes the input as it is."""

# Characters a file code counts for in ``Columns`` (file-coded words average 6.1 letters in book1, 7.1 in enwik6).
FILE_CODE_WIDTH = 7
_NEWLINE = 10
_ESCAPED, _FILE_CODE = -1, -2  # ``Columns``' rank of a multi-byte token that is no dictionary code


class Columns:
    """Each stream's column in the original text (characters since its last newline, at most
    ``limit - 1``), followed byte by byte through the coded bytes.

    Why: wrapped text breaks a line where the next word no longer fits, so the column predicts the
    line breaks (alice29.txt spent 3 % of its bits on them), but the model reads word codes of one
    to three bytes for words of any length and cannot count characters. Encoder and decoder feed
    the same coded bytes in the same order, so they hold the same columns.

    A dictionary code counts its word's letters. A file code counts ``FILE_CODE_WIDTH``: its word
    may have been given its code where another stream spelled it out at a later step, which the
    decoder has not read yet. Every other byte counts one (an escaped byte too), and a newline
    starts the column again. A stream starts at column 0 and reads its first bytes as the start of
    a token, wherever its part of the input begins.

    ``word`` names, for each stream, the word whose two-byte dictionary code the byte just read
    ended (its rank less ``WORD_FIRST_RANK``; ``WORD_ROWS`` after any other byte), which the network
    reads as a learned vector (``ModelConfig.word_input``): the code's second byte alone does not
    say which word it is.
    """

    def __init__(self, words: WordCodes, streams: int, limit: int) -> None:
        self.limit = limit
        dictionary = load_dictionary(words.dictionary) if words.dictionary else ()
        # A multi-byte token's rank: a dictionary rank (its word's width), or one of the kinds above.
        self.word_widths = np.array([len(word) for word in dictionary] + [1], dtype=np.int64)  # last: beyond the list
        self.width = np.ones(256, dtype=np.int64)  # [256] width of a byte that is a whole token; 0 if one begins
        self.tail = np.zeros(256, dtype=np.int64)  # [256] bytes that follow it in its token
        self.rank_base = np.zeros(256, dtype=np.int64)  # [256] of a token it begins
        if dictionary:
            rank = 0
            for first, firsts, tail in DICTIONARY_TIERS:
                for lead in range(firsts):
                    if tail == 0:
                        self.width[first + lead] = self.word_widths[min(rank + lead, len(dictionary))]
                    else:
                        self.tail[first + lead], self.rank_base[first + lead] = tail, rank + (lead << 8 * tail)
                rank += firsts << 8 * tail
            self.tail[ESCAPE], self.rank_base[ESCAPE] = 1, _ESCAPED
        code_bytes = list(words.code_bytes)
        self.width[code_bytes[: words.one_byte_codes]] = FILE_CODE_WIDTH
        prefixes = code_bytes[words.one_byte_codes :]
        self.tail[prefixes], self.rank_base[prefixes] = 1, _FILE_CODE
        self.width[self.tail > 0] = 0
        self.restarts = np.zeros(256, dtype=bool)  # [256] starts a line: a newline that is no file code
        self.restarts[_NEWLINE] = _NEWLINE not in code_bytes
        self.column = np.zeros(streams, dtype=np.int64)  # [N]
        self.pending = np.zeros(streams, dtype=np.int64)  # [N] bytes still to come of the current token
        self.rank = np.zeros(streams, dtype=np.int64)  # [N] the current multi-byte token's rank so far
        self.word = np.full(streams, WORD_ROWS, dtype=np.int64)  # [N] the two-byte dictionary word just read
        # The compiled step (``_core.c``, the same integers) updates the arrays above in place; this code is its oracle.
        self.compiled = compiled_core()
        self.constants = (limit, _ESCAPED, FILE_CODE_WIDTH, WORD_FIRST_RANK, WORD_ROWS)

    def step_arrays(self) -> tuple:
        """What the compiled step (``_core.Stepper``) works on: the arrays of ``update`` after its bytes."""
        state = (self.pending, self.rank, self.column, self.word, self.tail, self.rank_base, self.width)
        return (*state, self.restarts, self.word_widths, self.constants)

    def update(self, actual: np.ndarray) -> np.ndarray:
        """Read each stream's next coded byte ``actual`` [N]; return the columns [N] after it."""
        if self.compiled is not None:
            self.compiled.columns_update(
                np.ascontiguousarray(actual),
                self.pending,
                self.rank,
                self.column,
                self.word,
                self.tail,
                self.rank_base,
                self.width,
                self.restarts,
                self.word_widths,
                self.constants,
            )
            return self.column
        byte = actual.astype(np.int64)
        inside = self.pending > 0  # [N] the byte continues a multi-byte token
        self.pending = np.where(inside, self.pending - 1, self.tail[byte])
        continued = self.rank + np.where(self.rank >= 0, byte << 8 * self.pending, 0)
        self.rank = np.where(inside, continued, self.rank_base[byte])
        token_width = np.where(
            self.rank >= 0,
            self.word_widths[np.clip(self.rank, 0, len(self.word_widths) - 1)],
            np.where(self.rank == _ESCAPED, 1, FILE_CODE_WIDTH),
        )
        width = np.where(inside, np.where(self.pending == 0, token_width, 0), self.width[byte])
        self.column = np.where(~inside & self.restarts[byte], 0, np.minimum(self.column + width, self.limit - 1))
        word = self.rank - WORD_FIRST_RANK
        self.word = np.where(inside & (self.pending == 0) & (word >= 0) & (word < WORD_ROWS), word, WORD_ROWS)
        return self.column
