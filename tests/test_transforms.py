"""The content transforms (``transforms.py``): exactly invertible for every byte string, chosen for x86
code and never for text, recorded in the header (absent where none) and checked by the decoder."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lstmzip
from lstmzip import codec, container, frames, transforms
from lstmzip.compiled import compiled_core
from lstmzip.errors import CorruptArchiveError, UnsupportedFormatError
from lstmzip.transforms import NONE, X86, X86_64
from tests.helpers import SAMPLE_TEXT, TINY, sample_bytes
from tests.test_cli import lstmzip_cli, one_line_error
from tests.test_corpus import CORPUS

TRANSFORMS = (X86, X86_64)
CORPUS_BINARY = CORPUS / "beyond" / "x86-64.bin"
# Bytes that start or fill the instructions the scan takes, and operands' top bytes in range and not
OPCODE_BYTES = (0xE8, 0xE9, 0x89, 0x8B, 0x8D, 0xFF, 0x05, 0x15, 0x00, 0x01, 0xFE)
FILLER = (b"\x55", b"\x48\x89\xe5", b"\x48\x83\xec\x18", b"\x31\xc0", b"\x5d", b"\xc3", b"\x0f\x1f\x40\x00")


def x86_like(size: int, seed: int = 11, rip_relative: bool = True) -> bytes:
    """Code-like bytes: filler instructions, calls to 24 functions and loads of 16 globals, each at a
    fixed place, so that operands repeat once they are absolute. Loads are RIP-relative (x86-64) or
    absolute (32-bit code, where ``8B 05`` is followed by the address itself)."""
    rng = random.Random(seed)
    functions, variables = [rng.randrange(size) for _ in range(24)], [rng.randrange(size) for _ in range(16)]
    out = bytearray()
    while len(out) < size:
        kind = rng.random()
        if kind < 0.2:
            out += b"\xe8" + (rng.choice(functions) - len(out) - 5).to_bytes(4, "little", signed=True)
        elif kind < 0.35:
            target = rng.choice(variables)
            address = target - len(out) - 7 if rip_relative else target
            out += b"\x48\x8b\x05" + address.to_bytes(4, "little", signed=True)
        else:
            out += rng.choice(FILLER)
    return bytes(out[:size])


def opcode_soup(size: int, rng: random.Random) -> bytes:
    """Bytes dense in opcodes, ModRM bytes and operands near the range's edges: overlapping
    candidates, instructions cut by the end, operands that convert and that do not."""
    return bytes(rng.choice(OPCODE_BYTES) if rng.random() < 0.7 else rng.randrange(256) for _ in range(size))


@pytest.mark.parametrize("transform", TRANSFORMS)
@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=300) | st.lists(st.sampled_from(OPCODE_BYTES), max_size=300).map(bytes))
def test_every_byte_string_round_trips(transform: int, data: bytes) -> None:
    """A bijection: undo inverts apply, and apply inverts undo."""
    assert transforms.undo(transform, transforms.apply(transform, data)) == data
    assert transforms.apply(transform, transforms.undo(transform, data)) == data
    assert len(transforms.apply(transform, data)) == len(data)


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_seeded_random_and_crafted_inputs_round_trip(transform: int) -> None:
    rng = random.Random(2026)
    cases = [opcode_soup(rng.randrange(2000), rng) for _ in range(200)] + [sample_bytes(5000), x86_like(20_000)]
    cases += [b"", b"\xe8", b"\xe8\x00\x00\x00", b"\xe8" * 1001, b"\x8b\x05" * 501, b"\xff\x15\xff\xff\xff"]
    for data in cases:
        assert transforms.undo(transform, transforms.apply(transform, data)) == data


CALL = b"\x90" * 10 + b"\xe8\x10\x00\x00\x00"  # call +0x10 at 10: the instruction ends at 15


@pytest.mark.parametrize(
    ("transform", "data", "expected"),
    [
        (X86, CALL, b"\x90" * 10 + b"\xe8\x1f\x00\x00\x00"),  # 0x10 + 15
        (X86, b"\xe9\xfb\xff\xff\xff", b"\xe9\x00\x00\x00\x00"),  # a jump to 0: -5 + 5
        (X86, b"\xe8\xff\xff\xff\x00\x00", b"\xe8\x04\x00\x00\xff\x00"),  # 2^24 - 1 + 5 wraps to -2^24 + 4
        (X86, b"\xe8\x00\x00\x00\x01", b"\xe8\x00\x00\x00\x01"),  # 2^24: out of range, unchanged
        (X86, b"\xe8\xff\xff\xff\xfe", b"\xe8\xff\xff\xff\xfe"),  # -2^24 - 1: likewise
        (X86, b"\x00\xe8\x00\x00\x00", b"\x00\xe8\x00\x00\x00"),  # cut by the end: unchanged
        (X86, b"\xe8\xe8\x00\x00\x00\xe8\x00\x00\x00\x00", b"\xe8\xed\x00\x00\x00\xe8\x0a\x00\x00\x00"),  # no overlap
        (X86, b"\x8b\x05\x01\x00\x00\x00", b"\x8b\x05\x01\x00\x00\x00"),  # RIP-relative: x86-64 only
        (X86_64, b"\x48\x8b\x05\x01\x00\x00\x00", b"\x48\x8b\x05\x08\x00\x00\x00"),  # mov rax, [rip + 1]: 1 + 7
        (X86_64, b"\xff\x15\xfa\xff\xff\xff", b"\xff\x15\x00\x00\x00\x00"),  # call [rip - 6]
        (X86_64, b"\x8d\x04\x01\x00\x00\x00", b"\x8d\x04\x01\x00\x00\x00"),  # ModRM 04: not RIP-relative
    ],
)
def test_the_conversion_is_as_documented(transform: int, data: bytes, expected: bytes) -> None:
    """FORMAT.md's description, byte for byte."""
    assert transforms.apply(transform, data) == expected
    assert transforms.undo(transform, expected) == data


@pytest.mark.skipif(compiled_core() is None, reason="the compiled extension is not built")
@pytest.mark.parametrize("transform", TRANSFORMS)
def test_the_compiled_loop_matches_the_reference(transform: int) -> None:
    rng = random.Random(7)
    for data in [x86_like(30_000), sample_bytes(3000), *(opcode_soup(rng.randrange(500), rng) for _ in range(100))]:
        for direction in (1, -1):
            content = np.frombuffer(bytearray(data), np.uint8)
            reference = transforms._convert_reference(content, transform == X86_64, direction)
            assert transforms._convert(transform, data, direction) == reference


def test_the_reference_path_round_trips(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LSTMZIP_REFERENCE", "1")
    data = x86_like(5000) + opcode_soup(500, random.Random(1))
    assert transforms.undo(X86_64, transforms.apply(X86_64, data)) == data


def test_x86_code_is_detected_and_text_and_other_binaries_are_not() -> None:
    assert transforms.choose(x86_like(20_000)) == X86_64
    assert transforms.choose(x86_like(20_000, rip_relative=False)) == X86  # absolute loads: calls only
    cjk = "機器翻訳の質は近年大きく改善した。長い文書でも読み易い訳が得られる。\n".encode() * 200  # E8/E9 lead bytes
    for other in (SAMPLE_TEXT * 20, cjk, sample_bytes(20_000), bytes(20_000), b"", b"\xe8"):
        assert transforms.choose(other) == NONE


@pytest.mark.skipif(not CORPUS_BINARY.exists(), reason=f"no corpus at {CORPUS_BINARY}")
def test_an_executable_is_detected() -> None:
    assert transforms.choose(CORPUS_BINARY.read_bytes()) == X86_64


@pytest.fixture(scope="module")
def x86_archive() -> tuple[bytes, bytes]:
    data = x86_like(3000)
    return data, lstmzip.compress(data, level=TINY)


def test_an_archive_records_and_undoes_the_transform(x86_archive: tuple[bytes, bytes]) -> None:
    data, archive = x86_archive
    assert codec.content_transform(container.read_header(archive)[0]) == X86_64
    [part] = lstmzip.info(archive)
    assert part.transform == X86_64 and part.describe()["transform"] == transforms.NAMES[X86_64]
    assert lstmzip.decompress(archive) == data
    header = container.read_header(archive)[0]
    without = codec.pack_settings(*codec._settings(header))
    assert len(header.settings) - len(without) == transforms.SETTING_BYTES


def test_other_archives_carry_no_transform_setting() -> None:
    """Absent, not 0: such archives are byte for byte what they were before the setting existed."""
    for data in (SAMPLE_TEXT, sample_bytes(600)):
        header = container.read_header(lstmzip.compress(data, level=TINY))[0]
        assert "transform" not in lstmzip.settings.unpack_fields(header.settings, lstmzip.settings.SCHEMA)[1]
        assert codec.content_transform(header) == NONE


def forged(archive: bytes, transform: int) -> bytes:
    """``archive`` with its header's transform replaced."""
    header, offset = container.read_header(archive)
    packed = codec.pack_settings(*codec._settings(header), transform=transform)
    return container.Header(header.original_size, header.block_count, packed).pack() + archive[offset:]


def test_an_unknown_transform_is_refused_in_one_line(x86_archive: tuple[bytes, bytes], tmp_path: Path) -> None:
    archive = forged(x86_archive[1], 99)
    with pytest.raises(UnsupportedFormatError, match="content transform 99"):
        lstmzip.decompress(archive)
    with pytest.raises(UnsupportedFormatError, match="content transform 99"):
        lstmzip.info(archive)
    path = tmp_path / "forged.lstmz"
    path.write_bytes(archive)
    for command in ("decompress", "info"):
        result = lstmzip_cli(command, path)
        assert result.exit_code == 1 and "content transform 99" in one_line_error(result)


@pytest.mark.parametrize("transform", [NONE, X86])
def test_another_known_transform_fails_the_checksum(x86_archive: tuple[bytes, bytes], transform: int) -> None:
    with pytest.raises(CorruptArchiveError, match="checksum"):
        lstmzip.decompress(forged(x86_archive[1], transform))


def test_each_frame_chooses_its_own_transform() -> None:
    data = x86_like(1500) + (SAMPLE_TEXT * 3)[:1500] + x86_like(1500, seed=3)
    archive = frames.compress(data, level=TINY, frame_size=1500)
    parts = [codec.content_transform(container.read_header(part)[0]) for part in container.split_archives(archive)]
    assert parts == [X86_64, NONE, X86_64]
    assert frames.decompress(archive) == data


def test_a_stream_round_trips(tmp_path: Path) -> None:
    path, data = os.fspath(tmp_path / "code.lstmz"), x86_like(2000)
    with lstmzip.open(path, "wb", level=TINY) as out:
        out.write(data)
    with lstmzip.open(path) as archive:
        assert archive.read() == data
