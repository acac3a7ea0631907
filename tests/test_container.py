"""The archive's bytes: headers of both formats read, blocks, trailers, archives one after another."""

from __future__ import annotations

import zlib

import pytest

from lstmzip import container
from lstmzip.errors import CorruptArchiveError, NotAnArchiveError, TruncatedArchiveError, UnsupportedFormatError


def _archive(settings: bytes = b"\x00\x01", blocks: tuple[container.Block, ...] = ()) -> bytes:
    header = container.Header(sum(b.original_count for b in blocks), len(blocks), settings).pack()
    return header + b"".join(b.pack() for b in blocks) + container.pack_trailer(0)


def test_a_header_reads_back_as_written() -> None:
    packed = container.Header(12345, 3, b"settings").pack()
    header, end = container.read_header(packed + b"rest")
    assert (header.original_size, header.block_count, header.settings, end) == (12345, 3, b"settings", len(packed))
    assert (header.major, header.minor) == (container.FORMAT_MAJOR, container.FORMAT_MINOR)


@pytest.mark.parametrize(
    ("major", "bodies"),
    [(14, (b"", b"\x05", b"\x05\x01\x01", b"\x05\x01\x01\x80")), (15, (b"", b"\x05", b"\x05\x80"))],
)
def test_header_fields_must_end_inside_the_header_body(major: int, bodies: tuple[bytes, ...]) -> None:
    for body in bodies:  # each cut inside a field
        head = container.MAGIC + bytes([major, 0]) + len(body).to_bytes(2, "little") + body
        forged = head + zlib.crc32(head).to_bytes(4, "little") + bytes(64)
        with pytest.raises(CorruptArchiveError, match="header body is malformed"):
            container.read_header(forged)


def test_unknown_majors_and_foreign_bytes_are_refused() -> None:
    with pytest.raises(NotAnArchiveError):
        container.read_header(b"PK\x03\x04 a zip file")
    head = container.MAGIC + bytes([16, 0, 0, 0])
    with pytest.raises(UnsupportedFormatError, match=r"16\.0"):
        container.read_header(head + zlib.crc32(head).to_bytes(4, "little"))


def test_blocks_are_checked_before_their_payloads_are_read() -> None:
    stored = container.Block(container.BLOCK_STORED, 3, zlib.crc32(b"abc"), b"abc")
    assert container.read_block(stored.pack(), 0) == (stored, len(stored.pack()))
    with pytest.raises(CorruptArchiveError, match="stored block length"):
        container.read_block(container.Block(container.BLOCK_STORED, 4, 0, b"abc").pack(), 0)
    with pytest.raises(CorruptArchiveError, match="unknown block kind"):
        container.read_block(b"\x07" + stored.pack()[1:], 0)
    with pytest.raises(TruncatedArchiveError):
        container.read_block(stored.pack()[:-1], 0)


def test_archives_one_after_another_are_split_without_decoding() -> None:
    block = container.Block(container.BLOCK_STORED, 2, 0, b"hi")
    one, two = _archive(blocks=(block,)), _archive()
    assert [bytes(part) for part in container.split_archives(one + two)] == [one, two]
    with pytest.raises(CorruptArchiveError, match="unexpected data"):
        container.split_archives(one + b"junk")
    with pytest.raises(TruncatedArchiveError):
        container.split_archives(one + two[:-1])
