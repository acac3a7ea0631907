"""Text beyond ASCII round-trips: UTF-8 in many scripts, mixed, cut mid-character, and with stray bytes.

The word codes look at ASCII letters only and the text check counts bytes, so every other script
goes through paths that English never takes: multi-byte characters in the count contexts and the
columns, bytes >= 0x80 beside file codes, the x86 trial (CJK text is full of 0xE8 and 0xE9 bytes).
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lstmzip
from lstmzip.codec import looks_like_text
from tests.helpers import TINY

# Code point ranges of a few scripts' letters (and, for some, their combining marks).
SCRIPTS = {
    "latin": [(0x61, 0x7A), (0xE0, 0xFF), (0x100, 0x17F)],
    "greek": [(0x3B1, 0x3C9), (0x391, 0x3A9)],
    "cyrillic": [(0x430, 0x44F), (0x410, 0x42F)],
    "arabic": [(0x627, 0x64A), (0x64B, 0x652)],
    "devanagari": [(0x915, 0x939), (0x93E, 0x94D)],
    "cjk": [(0x4E00, 0x4FFF), (0x3041, 0x3096)],
    "hangul": [(0xAC00, 0xAD00)],
    "emoji": [(0x1F600, 0x1F64F), (0x1F300, 0x1F3FF)],
}
SPACED = {"cjk": False}  # scripts written without spaces between words


def script_text(script: str, words: int, seed: int = 5) -> str:
    """Made-up words of ``script``'s letters, Zipf-like, with punctuation and line ends."""
    rng = random.Random(seed)
    letters = [chr(c) for low, high in SCRIPTS[script] for c in range(low, high + 1)]
    vocabulary = ["".join(rng.choices(letters, k=rng.randint(1, 7))) for _ in range(200)]
    chosen = rng.choices(vocabulary, weights=[1 / (rank + 1) for rank in range(200)], k=words)
    separator = " " if SPACED.get(script, True) else ""
    lines = [separator.join(chosen[i : i + 9]) + rng.choice([".", ",", "!", "?", "。", ""]) for i in range(0, words, 9)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("script", SCRIPTS)
def test_each_script_round_trips_at_a_shipped_level(script: str) -> None:
    data = script_text(script, 200).encode()
    assert looks_like_text(data)  # so the level's prior, word codes and x86 trial rules for text apply
    archive = lstmzip.compress(data, level="fast")
    assert lstmzip.decompress(archive) == data
    assert len(archive) < len(data)


def test_mixed_scripts_with_english_words_and_stray_bytes_round_trip() -> None:
    mixed = "\n".join(f"the {script}: {script_text(script, 40, seed=len(script))}" for script in SCRIPTS).encode()
    damaged = mixed[:500] + b"\xff\xfe\xc3" + mixed[500:1000] + b"\x80\x80" + mixed[1000:]  # not UTF-8 any more
    for data in (mixed, damaged):
        assert lstmzip.decompress(lstmzip.compress(data, level="fast")) == data


@pytest.mark.parametrize("script", ["cyrillic", "cjk", "emoji"])
def test_text_cut_inside_a_character_round_trips(script: str) -> None:
    data = script_text(script, 60).encode()
    for end in range(len(data) - 3, len(data)):  # 1, 2 and 3 bytes short of the whole text
        assert lstmzip.decompress(lstmzip.compress(data[:end], level=TINY)) == data[:end]


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_any_utf8_text_round_trips(text: str) -> None:
    data = text.encode()
    assert lstmzip.decompress(lstmzip.compress(data, level=TINY)) == data
