"""The archive's bytes: header, blocks, trailer, checksums; archives one after another. Bytes in,
bytes out: no model and no coder here. The byte-level specification is docs/FORMAT.md.

Writes format 15; reads formats 14 and 15, which differ in the header body only (format 14: a
checksum kind and a length before the settings, which are records in field order; format 15: the
settings fill the rest of the body as keyed fields, ``settings.py``). Integers written "varint"
are unsigned LEB128 in their shortest form; a reader refuses longer forms and values beyond the
field's range. Every field is checked before anything large is allocated.
"""

from __future__ import annotations

import decimal
import math
import struct
import zlib
from collections.abc import Collection
from dataclasses import dataclass, fields
from typing import Any, BinaryIO, TypeVar

from lstmzip.errors import CorruptArchiveError, NotAnArchiveError, TruncatedArchiveError, UnsupportedFormatError

MAGIC = b"\x89LZM"
FORMAT_MAJOR = 15
FORMAT_MINOR = 0
READABLE_MAJORS = (14, 15)
CHECKSUM_NAME = "crc32"  # of each block's coded content and of the whole content
_CHECKSUM_CRC32 = 1  # format 14's checksum kind byte, the only one it had
DIGEST_SIZE = 4
BLOCK_CODED = 0
BLOCK_STORED = 1
_PREAMBLE = struct.Struct("<4sBBH")
_CRC = struct.Struct("<I")
MAX_ORIGINAL_SIZE = 1 << 40
MIN_BLOCK_HEADER = 1 + 1 + 1 + 4  # kind, two one-byte varints, CRC


@dataclass(frozen=True)
class Header:
    original_size: int
    block_count: int
    settings: bytes
    major: int = FORMAT_MAJOR
    minor: int = FORMAT_MINOR

    def pack(self) -> bytes:
        """The header in format 15 (this build writes no other)."""
        body = varint(self.original_size, 64) + varint(self.block_count, 64) + self.settings
        head = _PREAMBLE.pack(MAGIC, FORMAT_MAJOR, FORMAT_MINOR, len(body)) + body
        return head + _CRC.pack(zlib.crc32(head))


def _need(buffer: bytes | memoryview, end: int, what: str) -> None:
    if len(buffer) < end:
        raise TruncatedArchiveError(f"archive is truncated (in the {what})")


def read_header(buffer: bytes | memoryview) -> tuple[Header, int]:
    """Parse and check the header at the start of ``buffer``; return it and the offset after it."""
    if len(buffer) < len(MAGIC) or bytes(buffer[: len(MAGIC)]) != MAGIC:
        raise NotAnArchiveError("not an lstmzip archive")
    _need(buffer, _PREAMBLE.size, "header")
    _, major, minor, body_size = _PREAMBLE.unpack_from(buffer, 0)
    if major not in READABLE_MAJORS:
        readable = " and ".join(f"{m}.x" for m in READABLE_MAJORS)
        raise UnsupportedFormatError(f"archive format {major}.{minor} is not supported (this build reads {readable})")
    end = _PREAMBLE.size + body_size
    _need(buffer, end + _CRC.size, "header")
    (stored_crc,) = _CRC.unpack_from(buffer, end)
    if zlib.crc32(buffer[:end]) != stored_crc:
        raise CorruptArchiveError("header checksum mismatch (archive is damaged)")
    head = buffer[:end]  # the body's fields must end inside it
    try:
        original_size, offset = unpack_varint(head, _PREAMBLE.size, 64)
        block_count, offset = unpack_varint(head, offset, 64)
        if major == 14:
            if head[offset] != _CHECKSUM_CRC32:
                raise UnsupportedFormatError(f"unknown checksum kind {head[offset]}")
            settings_size, offset = unpack_varint(head, offset + 1, 32)
            end = offset + settings_size  # format 14 minors may append fields after the settings
    except (IndexError, CorruptArchiveError) as error:
        raise CorruptArchiveError("header body is malformed") from error
    if end > len(head):
        raise CorruptArchiveError("header settings overrun the header")
    if original_size > MAX_ORIGINAL_SIZE:
        raise CorruptArchiveError(f"header claims an original size of {original_size} bytes")
    header = Header(original_size, block_count, bytes(buffer[offset:end]), major, minor)
    return header, _PREAMBLE.size + body_size + _CRC.size


@dataclass(frozen=True)
class Block:
    kind: int
    original_count: int
    original_crc: int
    payload: bytes

    def pack(self) -> bytes:
        counts = varint(self.original_count, 32) + varint(len(self.payload), 32)
        return bytes([self.kind]) + counts + _CRC.pack(self.original_crc) + self.payload


def read_block(buffer: bytes | memoryview, offset: int) -> tuple[Block, int]:
    """Return the block at ``offset`` and the offset after it."""
    kind, original_count, original_crc, start, end = _block_fields(buffer, offset)
    return Block(kind, original_count, original_crc, bytes(buffer[start:end])), end


def _block_fields(buffer: bytes | memoryview, offset: int) -> tuple[int, int, int, int, int]:
    """The block at ``offset``, checked, without copying its payload: (kind, original count, CRC,
    payload start, payload end)."""
    _need(buffer, offset + MIN_BLOCK_HEADER, "block header")
    kind = buffer[offset]
    if kind not in (BLOCK_CODED, BLOCK_STORED):
        raise CorruptArchiveError(f"unknown block kind {kind}")
    try:
        original_count, position = unpack_varint(buffer, offset + 1, 32)
        payload_size, position = unpack_varint(buffer, position, 32)
    except IndexError as error:
        raise TruncatedArchiveError("archive is truncated (in the block header)") from error
    except CorruptArchiveError as error:
        raise CorruptArchiveError("block header is malformed") from error
    _need(buffer, position + _CRC.size, "block header")
    (original_crc,) = _CRC.unpack_from(buffer, position)
    if kind == BLOCK_STORED and payload_size != original_count:
        raise CorruptArchiveError("stored block length does not match its size")
    start = position + _CRC.size
    _need(buffer, start + payload_size, "block payload")
    return kind, original_count, original_crc, start, start + payload_size


def pack_trailer(content_crc: int) -> bytes:
    return _CRC.pack(content_crc)


def read_trailer(buffer: bytes | memoryview, offset: int) -> int:
    """Return the content CRC32 at ``offset``."""
    _need(buffer, offset + DIGEST_SIZE, "trailer")
    return int(_CRC.unpack_from(buffer, offset)[0])


def split_archives(buffer: bytes | memoryview) -> list[memoryview]:
    """The archives that ``buffer`` holds one after another, each checked for its length only.

    Walks each archive's header and block headers without copying a payload, so a file that ends
    too early or goes on with something that is not an archive is refused before any decoding.
    """
    buffer = memoryview(buffer)
    archives: list[memoryview] = []
    while True:
        header, offset = read_header(buffer)
        for _ in range(header.block_count):
            offset = _block_fields(buffer, offset)[4]
        _need(buffer, offset + DIGEST_SIZE, "trailer")
        archives.append(buffer[: offset + DIGEST_SIZE])
        buffer = buffer[offset + DIGEST_SIZE :]
        if not buffer:
            return archives
        if bytes(buffer[: len(MAGIC)]) != MAGIC:
            raise CorruptArchiveError("unexpected data after the end of the archive")


_READ_CHUNK = 1 << 20  # a truncated stream fails before a claimed size is allocated


def next_archive(stream: BinaryIO, first: bool) -> bytes | None:
    """The next archive of ``stream``, read header, block by block and trailer, and checked for its
    length only (as :func:`split_archives`); None where the stream ends between archives.

    Reads one archive's bytes and no more, so a stream of many archives is never held whole.
    """
    magic = _read_upto(stream, len(MAGIC))
    if not magic and not first:
        return None
    if magic != MAGIC:
        if first:
            raise NotAnArchiveError("not an lstmzip archive")
        raise CorruptArchiveError("unexpected data after the end of the archive")
    preamble = magic + _read_exactly(stream, _PREAMBLE.size - len(MAGIC), "header")
    body_size = _PREAMBLE.unpack(preamble)[3]
    head = preamble + _read_exactly(stream, body_size + _CRC.size, "header")
    header, _ = read_header(head)
    parts = [head]
    for _ in range(header.block_count):
        parts.append(_next_block(stream))
    parts.append(_read_exactly(stream, DIGEST_SIZE, "trailer"))
    return b"".join(parts)


def _next_block(stream: BinaryIO) -> bytes:
    """One block's bytes from ``stream``, checked by :func:`_block_fields`."""
    head = bytearray(_read_exactly(stream, 1, "block header"))
    for _ in range(2):  # the original count and payload size, varints of at most 5 bytes
        for _ in range(5):
            head += _read_exactly(stream, 1, "block header")
            if not head[-1] & 0x80:
                break
    head += _read_exactly(stream, _CRC.size, "block header")
    try:
        _, position = unpack_varint(head, 1, 32)
        payload_size = unpack_varint(head, position, 32)[0]
    except (IndexError, CorruptArchiveError) as error:
        raise CorruptArchiveError("block header is malformed") from error
    block = bytes(head) + _read_exactly(stream, payload_size, "block payload")
    if _block_fields(block, 0)[4] != len(block):
        raise CorruptArchiveError("block header is malformed")
    return block


def _read_exactly(stream: BinaryIO, size: int, what: str) -> bytes:
    data = _read_upto(stream, size)
    if len(data) < size:
        raise TruncatedArchiveError(f"archive is truncated (in the {what})")
    return data


def _read_upto(stream: BinaryIO, size: int) -> bytes:
    """``size`` bytes of ``stream``, fewer only where it ends; read in chunks."""
    pieces: list[bytes] = []
    left = size
    while left:
        piece = stream.read(min(left, _READ_CHUNK))
        if not piece:
            break
        pieces.append(piece)
        left -= len(piece)
    return b"".join(pieces)


def minimum_archive_size(header_end: int, block_count: int) -> int:
    """The smallest archive that can hold ``block_count`` blocks: checked before allocating output."""
    return header_end + block_count * MIN_BLOCK_HEADER + DIGEST_SIZE


Record = TypeVar("Record")
_INT_BITS = {"int": 32, "U64": 64}
_MAX_DIGITS = 10**17  # repr() never needs more than 17 significant digits


U64 = int
"""Annotation for an int field of 64 bits (plain ``int`` fields are 32 bits)."""


def unpack_record(
    cls: type[Record], data: bytes, offset: int = 0, written: Collection[str] | None = None
) -> tuple[Record, int]:
    """The record ``cls`` (a flat dataclass) written field by field in declaration order, as format 14's
    settings are (int and U64: varint; float: ``pack_float``; str and bytes: u8 length and bytes);
    return it and the offset after it. Fields not ``written`` (fields added since) take their defaults."""
    values: dict[str, Any] = {}
    try:
        for field in fields(cls):  # type: ignore[arg-type]
            if written is not None and field.name not in written:
                continue
            if field.type in ("str", "bytes"):
                length = data[offset]
                raw = data[offset + 1 : offset + 1 + length]
                if len(raw) != length:
                    raise IndexError
                values[field.name] = raw.decode() if field.type == "str" else bytes(raw)
                offset += 1 + length
            elif field.type == "float":
                values[field.name], offset = unpack_float(data, offset)
            else:
                values[field.name], offset = unpack_varint(data, offset, _INT_BITS[str(field.type)])
    except (IndexError, UnicodeDecodeError) as error:
        raise CorruptArchiveError("header settings are malformed") from error
    return cls(**values), offset


def pack_float(value: float, name: str = "value") -> bytes:
    """A finite float >= 0 as the shortest decimal that reads back as it: varint digits, zigzag varint exponent."""
    if not (math.isfinite(value) and value >= 0.0) or math.copysign(1.0, value) < 0:
        raise ValueError(f"{name} = {value} does not fit its field (a finite float >= 0)")
    digits, exponent = _decimal(value)
    return varint(digits, 64) + varint(2 * exponent if exponent >= 0 else -2 * exponent - 1, 32)


def unpack_float(data: bytes | memoryview, offset: int) -> tuple[float, int]:
    """Inverse of :func:`pack_float`; refuses any form but the shortest."""
    digits, offset = unpack_varint(data, offset, 64)
    zigzag, offset = unpack_varint(data, offset, 32)
    exponent = zigzag >> 1 if not zigzag & 1 else -(zigzag >> 1) - 1
    value = float(f"{digits}e{exponent}") if digits < _MAX_DIGITS and abs(exponent) < 400 else math.inf
    if not math.isfinite(value) or _decimal(value) != (digits, exponent):
        raise CorruptArchiveError("header settings are malformed (a number not in its shortest form)")
    return value, offset


def _decimal(value: float) -> tuple[int, int]:
    """(digits, exponent) of the shortest decimal that reads back as ``value`` >= 0, without trailing zeros."""
    _, digit_tuple, exponent = decimal.Decimal(repr(value)).as_tuple()
    digits = int("".join(map(str, digit_tuple)))
    if digits == 0:
        return 0, 0
    while digits % 10 == 0:
        digits //= 10
        exponent += 1  # type: ignore[operator]
    return digits, int(exponent)


def varint(value: int, bits: int, name: str = "value") -> bytes:
    """``value`` (0 <= value < 2**bits) as LEB128 in its shortest form; ValueError names ``name`` if not."""
    if not 0 <= value < 1 << bits:
        raise ValueError(f"{name} = {value} does not fit its field ({bits} bits)")
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def unpack_varint(data: bytes | memoryview, offset: int, bits: int) -> tuple[int, int]:
    """The LEB128 integer of at most ``bits`` bits at ``offset``, and the offset after it (IndexError if cut)."""
    value = shift = 0
    while True:
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
        if shift >= bits:
            raise CorruptArchiveError("header settings are malformed (an integer is too long)")
    if value >> bits or (byte == 0 and shift > 7):
        raise CorruptArchiveError("header settings are malformed (an integer out of range or not in its shortest form)")
    return value, offset
