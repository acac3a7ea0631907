"""Reversible transforms of the content, chosen per input by the encoder and named in the header.

Pure: bytes in, bytes out. The codec applies the header's transform to the content before its
word codes and the model, and undoes it after decoding them, before the content's CRC (which is of
the original) is checked. Each transform keeps the length and is exactly invertible for every
byte string.

x86 addresses. Machine code names the target of a call or jump, and in 64-bit code the address
of most data it reads, relative to the end of the instruction: calls to one function from
different places carry different bytes. The transform adds the instruction's end to each such
operand, so that they carry the target's own position and repeat wherever the target does, which
the match and count models see. (The idea of the BCJ filters of xz and of paq8's and zpaq's exe
transforms; the details below were chosen by measurement, docs/notebook/2026-12-07-x86-transform.md.)

A scan walks the content from its start. At position i it takes an instruction

* ``E8`` or ``E9`` (call or jump, rel32): the operand is bytes i+1..i+4, the end is i+5;
* with ``X86_64`` also ``89``, ``8B``, ``8D`` or ``FF`` (mov, lea; call, jump, push through
  memory) followed by a ModRM byte m with ``m & 0xC7 == 0x05`` (RIP-relative in 64-bit code): the
  operand is bytes i+2..i+5, the end i+6;

where the whole instruction lies within the content, and goes on at its end; otherwise it goes on
at i+1. The operand, a 32-bit little-endian two's complement value v, is converted only if
-2^24 <= v < 2^24 (real targets lie within 16 MiB of their caller; other values are mostly not
code): into ((v + end + 2^24) mod 2^25) - 2^24, which again lies in that range, and back with
``- end``. A scan never reads a byte an earlier operand changed, and a conversion keeps the range
test's answer, so the inverse scan takes the same instructions and converts the same operands.
"""

from __future__ import annotations

import zlib

import numpy as np

from lstmzip.compiled import compiled_core

NONE, X86, X86_64 = 0, 1, 2
NAMES = {
    NONE: "none",
    X86: "x86 addresses (call and jump targets)",
    X86_64: "x86-64 addresses (call and jump targets, RIP-relative operands)",
}

CALL_JUMP = (0xE8, 0xE9)  # call rel32, jmp rel32
RIP_RELATIVE = (0x89, 0x8B, 0x8D, 0xFF)  # mov r/m, r; mov r, r/m; lea; call, jmp, push, inc, dec r/m
RIP_MODRM_MASK, RIP_MODRM = 0xC7, 0x05  # mod 00, r/m 101: RIP + disp32 in 64-bit code
OPERAND_BYTES = 4
OPERAND_RANGE = 1 << 24  # operands in [-2^24, 2^24) are converted: a set the conversion maps onto itself
# The encoder keeps a transform only if zlib (at its fastest level, which ranked the transforms as
# level 6 did) finds the transformed content smaller by at least this share and by more than the
# setting's bytes in the header: x86 code saved 4-8 %, other binaries (object files of other
# machines, images, a spreadsheet, ARM code) and text nothing or lost.
MIN_SAVING = 1 / 128
SETTING_BYTES = 3  # the setting's key (id 32: two bytes) and value


def apply(transform: int, data: bytes) -> bytes:
    """``data`` transformed by ``transform`` (one of ``NAMES``)."""
    return _convert(transform, data, +1)


def undo(transform: int, data: bytes) -> bytes:
    """Inverse of :func:`apply`: ``undo(t, apply(t, data)) == data`` for every byte string."""
    return _convert(transform, data, -1)


def choose(data: bytes) -> int:
    """The transform for ``data``: the one with which zlib finds it smallest, where that saves
    enough (``MIN_SAVING``); else ``NONE``. Decides on the encoder's side only (the header says)."""
    base = _zlib_size(data)
    sizes = {transform: _zlib_size(apply(transform, data)) for transform in (X86, X86_64)}
    best = min(sizes, key=lambda transform: sizes[transform])
    saving = base - sizes[best]
    return best if saving >= base * MIN_SAVING and saving > SETTING_BYTES else NONE


def _zlib_size(data: bytes) -> int:
    return len(zlib.compress(data, 1))


def _convert(transform: int, data: bytes, direction: int) -> bytes:
    if transform == NONE:
        return data
    content = bytearray(data)
    compiled = compiled_core()
    if compiled is not None:  # the same scan as a byte loop in C: the NumPy code below is its oracle
        compiled.x86_addresses(content, transform == X86_64, direction)
        return bytes(content)
    return _convert_reference(np.frombuffer(content, dtype=np.uint8), transform == X86_64, direction)


def _convert_reference(content: np.ndarray, rip_relative: bool, direction: int) -> bytes:
    """``_convert`` in NumPy, in place on the writable ``content``."""
    starts, ends = _operands(content, rip_relative)
    places = starts[:, None] + np.arange(OPERAND_BYTES)
    values = np.ascontiguousarray(content[places]).view("<u4").ravel().astype(np.int64)
    values -= (values >= 1 << 31) << 32  # two's complement
    convert = (values >= -OPERAND_RANGE) & (values < OPERAND_RANGE)
    moved = (values + direction * ends + OPERAND_RANGE) % (2 * OPERAND_RANGE) - OPERAND_RANGE
    values = np.where(convert, moved, values) & 0xFFFFFFFF
    content[places] = values.astype("<u4").view(np.uint8).reshape(-1, OPERAND_BYTES)
    return content.tobytes()


def _operands(content: np.ndarray, rip_relative: bool) -> tuple[np.ndarray, np.ndarray]:
    """The first operand byte and the end of each instruction the scan takes (module docstring).

    The scan decides on opcode and ModRM bytes only, which no earlier operand covers, so it reads
    the same on the original and the transformed content."""
    size = len(content)
    length = np.zeros(size, dtype=np.uint8)  # instruction length by opcode position; 0: none
    call_jump = size - 1 - OPERAND_BYTES
    if call_jump >= 0:
        length[: call_jump + 1][np.isin(content[: call_jump + 1], CALL_JUMP)] = 1 + OPERAND_BYTES
    rip = size - 2 - OPERAND_BYTES
    if rip_relative and rip >= 0:
        opcode = np.isin(content[: rip + 1], RIP_RELATIVE)
        modrm = content[1 : rip + 2] & RIP_MODRM_MASK == RIP_MODRM
        length[: rip + 1][opcode & modrm] = 2 + OPERAND_BYTES
    positions = np.flatnonzero(length)
    lengths = length[positions].astype(np.int64)
    taken, free = [], 0
    for index, (position, span) in enumerate(zip(positions.tolist(), lengths.tolist(), strict=True)):
        if position >= free:  # not inside the instruction taken before
            taken.append(index)
            free = position + span
    ends = positions[taken] + lengths[taken]
    return ends - OPERAND_BYTES, ends
