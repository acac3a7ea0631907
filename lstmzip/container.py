"""The archive format, version 14 (the layout of version 9 with more model settings). Bytes in, bytes out;
no model and no coder here.

Integers written "varint" are unsigned LEB128 (7 bits a byte, least significant first) in their
shortest form; a reader refuses longer forms and values beyond the field's range. Fixed-size
integers are little-endian::

    archive  = header, block * block_count, trailer

    header   offset  size  field
             0       4     magic b"\\x89LZM" (non-ASCII first byte, as in PNG: never valid text)
             4       1     format major version (14); a reader refuses other majors
             5       1     format minor version (0); a newer minor only appends header fields
             6       2     N: length of the header body
             8       N     header body:
                             varint  original size in bytes
                             varint  block count
                             u8      content checksum kind (1 = CRC32)
                             varint  M: length of the settings
                             M       settings: records packed by ``pack_record``, field by field in
                                     declaration order (int and U64: varint; float: a decimal,
                                     varint digits and zigzag varint exponent, the shortest that
                                     gives the value back; str: u8 length + UTF-8; bytes: u8 length
                                     + bytes): the codec's ``CodingSettings``, the model's
                                     ``ModelConfig``, then the text transform's ``WordCodes``
                             ...     fields of later minor versions, skipped by this reader
             8+N     4     CRC32 of bytes [0, 8+N)

    block    u8      kind: 0 = range coded, 1 = stored (the coder would have expanded it)
             varint  bytes of the coded input in this block (the input after its word codes)
             varint  C: length of the payload
             u32     CRC32 of this block's coded input (each stream's part, stream by stream)
             C       payload: range coder words (little-endian u32), or the coded input as it is

A stored block is still fed through the model on both sides, so the model stays in step.

    trailer  u32  CRC32 of the whole original content (after the word codes are undone)

A file may hold several archives one after another (``cat a.lstmz b.lstmz > ab.lstmz``, or
``lstmzip -c new.log >> logs.lstmz``): it stands for their contents one after another, as
concatenated gzip, bzip2, xz and zstd files do. Anything else after an archive is an error.

A block covers ``block_steps`` lock-step steps of every stream; the model runs on across blocks.
Block boundaries are where a desynchronised decode is caught early and where a later version can
start independent model runs. Every field is checked before anything large is allocated.
"""

from __future__ import annotations

import decimal
import math
import struct
import zlib
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from lstmzip.errors import CorruptArchiveError, NotAnArchiveError, TruncatedArchiveError, UnsupportedFormatError

MAGIC = b"\x89LZM"
# 2: word codes and the coded size in the settings; 3: context model fields; 4: prior; 5: dictionary;
# 6: context weights by byte class; 7: file code prefixes by case and ending; 8: variable-length
# integers in the settings (37 bytes less header: 0.002 bpb on alice29.txt, 3 % of grammar.lsp's archive);
# 9: floats as short decimals, varints in the header body and block headers (48-51 bytes less);
# 10: step-size factors of the byte input tables and the weight matrices in the model config
# 11: the probability map's rate and the match model's long context length in the model config
# 12: the column context (``context_columns``) in the model config
# 13: the column as an input of the network's first layer (``column_input``) in the model config
# 14: the words of two-byte codes as an input of the first layer (``word_input``) in the model config
FORMAT_MAJOR = 14
FORMAT_MINOR = 0
CHECKSUM_CRC32 = 1
CHECKSUM_NAMES = {CHECKSUM_CRC32: "crc32"}
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
    checksum_kind: int = CHECKSUM_CRC32
    minor: int = FORMAT_MINOR

    def pack(self) -> bytes:
        body = (
            _varint(self.original_size, 64)
            + _varint(self.block_count, 64)
            + bytes([self.checksum_kind])
            + _varint(len(self.settings), 32)
            + self.settings
        )
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
    if major != FORMAT_MAJOR:
        raise UnsupportedFormatError(
            f"archive format {major}.{minor} is not supported (this build reads {FORMAT_MAJOR}.x)"
        )
    end = _PREAMBLE.size + body_size
    _need(buffer, end + _CRC.size, "header")
    (stored_crc,) = _CRC.unpack_from(buffer, end)
    if zlib.crc32(buffer[:end]) != stored_crc:
        raise CorruptArchiveError("header checksum mismatch (archive is damaged)")
    head = buffer[:end]  # the body's fields must end inside it
    try:
        original_size, offset = _unpack_varint(head, _PREAMBLE.size, 64)
        block_count, offset = _unpack_varint(head, offset, 64)
        checksum_kind = head[offset]
        settings_size, settings_start = _unpack_varint(head, offset + 1, 32)
    except (IndexError, CorruptArchiveError) as error:
        raise CorruptArchiveError("header body is malformed") from error
    if settings_start + settings_size > end:
        raise CorruptArchiveError("header settings overrun the header")
    if checksum_kind not in CHECKSUM_NAMES:
        raise UnsupportedFormatError(f"unknown checksum kind {checksum_kind}")
    if original_size > MAX_ORIGINAL_SIZE:
        raise CorruptArchiveError(f"header claims an original size of {original_size} bytes")
    settings = bytes(buffer[settings_start : settings_start + settings_size])
    header = Header(original_size, block_count, settings, checksum_kind, minor)
    return header, end + _CRC.size


@dataclass(frozen=True)
class Block:
    kind: int
    original_count: int
    original_crc: int
    payload: bytes

    def pack(self) -> bytes:
        counts = _varint(self.original_count, 32) + _varint(len(self.payload), 32)
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
        original_count, position = _unpack_varint(buffer, offset + 1, 32)
        payload_size, position = _unpack_varint(buffer, position, 32)
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


def minimum_archive_size(header_end: int, block_count: int) -> int:
    """The smallest archive that can hold ``block_count`` blocks: checked before allocating output."""
    return header_end + block_count * MIN_BLOCK_HEADER + DIGEST_SIZE


Record = TypeVar("Record")
_INT_BITS = {"int": 32, "U64": 64}
_MAX_DIGITS = 10**17  # repr() never needs more than 17 significant digits


U64 = int
"""Annotation for an int field of 64 bits (plain ``int`` fields are 32 bits)."""


def pack_record(record: Any) -> bytes:
    """A flat dataclass of int/U64/float/str/bytes fields as bytes, in field order (see the format above)."""
    out = bytearray()
    for field in fields(record):
        value = getattr(record, field.name)
        if field.type in ("str", "bytes"):
            encoded = value.encode() if field.type == "str" else value
            out += bytes([len(encoded)]) + encoded
        elif field.type == "float":
            if not (math.isfinite(value) and value >= 0.0) or math.copysign(1.0, value) < 0:
                raise ValueError(f"{field.name} = {value} does not fit its field (a finite float >= 0)")
            digits, exponent = _decimal(value)
            out += _varint(digits, 64) + _varint(2 * exponent if exponent >= 0 else -2 * exponent - 1, 32)
        else:
            out += _varint(value, _INT_BITS[str(field.type)], field.name)
    return bytes(out)


def unpack_record(cls: type[Record], data: bytes, offset: int = 0) -> tuple[Record, int]:
    """Inverse of :func:`pack_record` for the dataclass ``cls``; return the record and the end offset."""
    values: dict[str, Any] = {}
    try:
        for field in fields(cls):  # type: ignore[arg-type]
            if field.type in ("str", "bytes"):
                length = data[offset]
                raw = data[offset + 1 : offset + 1 + length]
                if len(raw) != length:
                    raise IndexError
                values[field.name] = raw.decode() if field.type == "str" else bytes(raw)
                offset += 1 + length
            elif field.type == "float":
                digits, offset = _unpack_varint(data, offset, 64)
                zigzag, offset = _unpack_varint(data, offset, 32)
                exponent = zigzag >> 1 if not zigzag & 1 else -(zigzag >> 1) - 1
                value = float(f"{digits}e{exponent}") if digits < _MAX_DIGITS and abs(exponent) < 400 else math.inf
                if not math.isfinite(value) or _decimal(value) != (digits, exponent):
                    raise CorruptArchiveError("header settings are malformed (a number not in its shortest form)")
                values[field.name] = value
            else:
                values[field.name], offset = _unpack_varint(data, offset, _INT_BITS[str(field.type)])
    except (IndexError, UnicodeDecodeError) as error:
        raise CorruptArchiveError("header settings are malformed") from error
    return cls(**values), offset


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


def _varint(value: int, bits: int, name: str = "value") -> bytes:
    """``value`` (0 <= value < 2**bits) as LEB128 in its shortest form; ValueError names ``name`` if not."""
    if not 0 <= value < 1 << bits:
        raise ValueError(f"{name} = {value} does not fit its field ({bits} bits)")
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _unpack_varint(data: bytes | memoryview, offset: int, bits: int) -> tuple[int, int]:
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
