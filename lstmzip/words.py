"""Word codes: a reversible text transform that writes repeated words as one- or two-byte codes.

Pure: bytes in, bytes out. The codec applies it before the model and inverts it after decoding.

Why: the model then sees fewer and more informative symbols, so it learns from more text per
update and each step covers more of the input. Measured at the default level (docs/DESIGN.md):
alice29.txt 2.298 -> 2.123 bits per byte and book1 2.336 -> 2.171, with more original bytes per
second.

Scheme. The codes are byte values that never occur in the input and are not letters, so a code
can never be mistaken for text. A *word* is a maximal run of ASCII letters. Both sides build the
same dictionary as they go, so nothing but the code byte values is stored: the first time an
eligible word appears it is written as it is and takes the next free code; every later occurrence
is written as that code. The first ``one_byte_codes`` codes are single bytes (eligible: words of
2 or more letters); after them each remaining code byte is a *prefix* followed by any byte, 256
words per prefix (eligible: 3 or more letters, so a code is never longer than its word). When the
codes run out, new words stay as they are.

Decoding inverts this token by token: a one-byte code, a prefix and the byte after it, a run of
literal letters (which is exactly a word the encoder wrote out, because a code always stands for
a maximal run of letters, so it never touches a literal letter in the original), or other bytes.
"""

from __future__ import annotations

import lzma
import re
from dataclasses import dataclass
from functools import cached_property

_LETTERS = b"A-Za-z"
_TOKENS = re.compile(b"[" + _LETTERS + b"]+|[^" + _LETTERS + b"]+")  # words and the bytes between them
_ASCII_LETTERS = bytes(range(65, 91)) + bytes(range(97, 123))
MIN_INPUT = 8192  # below this the 33 header bytes of the code map outweighed the gain (docs/DESIGN.md)
MIN_SAVING = 1 / 16  # the transform is kept only if it removes at least this share of the input
MAX_LZ_GROWTH = 1.04  # ... and xz finds the coded input at most this much harder to compress


def _is_word(token: bytes) -> bool:
    return token[0] in _ASCII_LETTERS


def _lz_size(data: bytes) -> int:
    return len(lzma.compress(data, preset=6))


@dataclass(frozen=True)
class WordCodes:
    """Which byte values are codes (a 256-bit map; empty: no transform) and how many are one-byte codes."""

    code_map: bytes
    one_byte_codes: int

    @classmethod
    def from_code_bytes(cls, code_bytes: bytes, one_byte_codes: int) -> WordCodes:
        code_map = sum(1 << byte for byte in code_bytes).to_bytes(32, "little") if code_bytes else b""
        return cls(code_map, one_byte_codes)

    @cached_property
    def code_bytes(self) -> bytes:
        """The code byte values, ascending: first the one-byte codes, then the prefixes."""
        bits = int.from_bytes(self.code_map, "little")
        return bytes(byte for byte in range(256) if bits >> byte & 1)

    @cached_property
    def capacity(self) -> int:
        return self.one_byte_codes + (len(self.code_bytes) - self.one_byte_codes) * 256

    def validate(self) -> None:
        """Raise ValueError unless the fields describe a transform this module can invert."""
        if len(self.code_map) not in (0, 32):
            raise ValueError("the word code map must be 0 or 32 bytes")
        if set(self.code_bytes) & set(_ASCII_LETTERS):
            raise ValueError("letters cannot be word codes")
        if not 0 <= self.one_byte_codes <= len(self.code_bytes):
            raise ValueError("more one-byte word codes than code bytes")

    @classmethod
    def apply(cls, data: bytes) -> tuple[WordCodes, bytes]:
        """Choose the codes for ``data`` and return them with the transformed bytes.

        Returns the empty transform and ``data`` itself when the input is shorter than
        ``MIN_INPUT``, has fewer than two unused byte values, the transform would remove less
        than ``MIN_SAVING`` of it (binary data), or it would break long repeats: a passage's first
        copy carries its new words spelled out and later copies carry codes, so the copies no
        longer match byte for byte, which costs the match model. xz, an LZ77 coder, sees exactly
        that; where it compressed the coded input more than ``MAX_LZ_GROWTH`` times worse (licence
        texts, a terminal transcript, HTML), the model lost 0.06-0.13 bits per byte with the codes.
        """
        free = bytes(sorted(set(range(256)) - set(data) - set(_ASCII_LETTERS)))
        if len(data) < MIN_INPUT or len(free) < 2:
            return NO_WORD_CODES, data
        # Enough prefixes for every distinct word if possible, but at least half the codes one-byte:
        # the most frequent words arrive early and take the one-byte codes.
        distinct = len({t for t in _TOKENS.findall(data) if len(t) >= 3 and _is_word(t)})
        prefixes = min(-(-distinct // 256), len(free) // 2)
        codes = cls.from_code_bytes(free, len(free) - prefixes)
        coded = codes.encode(data)
        if len(coded) > len(data) * (1 - MIN_SAVING) or _lz_size(coded) > _lz_size(data) * MAX_LZ_GROWTH:
            return NO_WORD_CODES, data
        return codes, coded

    def _code(self, index: int) -> bytes:
        if index < self.one_byte_codes:
            return self.code_bytes[index : index + 1]
        prefix, low = divmod(index - self.one_byte_codes, 256)
        return bytes((self.code_bytes[self.one_byte_codes + prefix], low))

    def _eligible(self, word: bytes, assigned: int) -> bool:
        """Whether a word seen for the first time takes code number ``assigned``: the rule both sides share."""
        return assigned < self.capacity and len(word) >= (2 if assigned < self.one_byte_codes else 3)

    def encode(self, data: bytes) -> bytes:
        if not self.code_map:
            return data
        codes: dict[bytes, bytes] = {}
        out = []
        for token in _TOKENS.findall(data):
            code = codes.get(token)
            if code is not None:
                out.append(code)
                continue
            out.append(token)
            if _is_word(token) and self._eligible(token, len(codes)):
                codes[token] = self._code(len(codes))
        return b"".join(out)

    def decode(self, coded: bytes, max_size: int) -> bytes:
        """Inverse of :meth:`encode`; raise ValueError on bytes that no encoding produces.

        ``max_size`` bounds the output, so damaged or hostile input cannot expand without limit.
        """
        if not self.code_map:
            return coded
        code_bytes = self.code_bytes
        ones, prefixes = code_bytes[: self.one_byte_codes], code_bytes[self.one_byte_codes :]
        alternatives = [b"[" + _LETTERS + b"]+", b"[^" + _LETTERS + re.escape(code_bytes) + b"]+"]
        if ones:
            alternatives.append(b"[" + re.escape(ones) + b"]")
        if prefixes:
            alternatives.append(b"[" + re.escape(prefixes) + b"].")
        tokens = re.compile(b"|".join(alternatives), re.DOTALL)
        one_index = {byte: index for index, byte in enumerate(ones)}
        prefix_index = {byte: index for index, byte in enumerate(prefixes)}
        words: list[bytes] = []
        out = []
        end = size = 0
        for match in tokens.finditer(coded):
            if match.start() != end:
                raise ValueError("word-coded data ends inside a code")
            token, end = match.group(), match.end()
            first = token[0]
            if first in one_index or first in prefix_index:
                if first in one_index:
                    index = one_index[first]
                else:
                    index = self.one_byte_codes + 256 * prefix_index[first] + token[1]
                if index >= len(words):
                    raise ValueError("word code used before its word appeared")
                token = words[index]
            elif _is_word(token) and self._eligible(token, len(words)):
                words.append(token)
            out.append(token)
            size += len(token)
            if size > max_size:
                raise ValueError("word-coded data expands beyond its stated size")
        if end != len(coded):
            raise ValueError("word-coded data ends inside a code")
        return b"".join(out)


NO_WORD_CODES = WordCodes(b"", 0)
"""The empty transform: the model codes the input as it is."""
