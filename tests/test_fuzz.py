"""Mutated and truncated archives: each ends in a clean ArchiveError (or the exact original), fast.

The default suite runs a few hundred cases; ``pytest -m slow`` runs thousands.
"""

from __future__ import annotations

import contextlib
import tempfile
import zlib
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import lstmzip
from lstmzip import codec, container
from lstmzip.cli import app
from lstmzip.errors import ArchiveError
from tests.helpers import SAMPLE_TEXT, TINY

ORIGINAL = SAMPLE_TEXT[:300]
ARCHIVE = lstmzip.compress(ORIGINAL, level=replace(TINY, word_dictionary="en-3"))  # damage reaches the word codes too
HEADER_END = container.read_header(ARCHIVE)[1]
assert codec.read_info(ARCHIVE)[3].dictionary == "en-3"


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    data = bytearray(ARCHIVE)
    kind = draw(st.sampled_from(["flip", "overwrite", "truncate", "insert", "delete", "header-recrc"]))
    if kind == "truncate":
        return bytes(data[: draw(st.integers(0, len(data) - 1))])
    position = draw(st.integers(0, len(data) - 1))
    if kind == "flip":
        data[position] ^= 1 << draw(st.integers(0, 7))
    elif kind == "overwrite":
        chunk = draw(st.binary(min_size=1, max_size=16))
        data[position : position + len(chunk)] = chunk
    elif kind == "insert":
        data[position:position] = draw(st.binary(min_size=1, max_size=8))
    elif kind == "delete":
        del data[position : position + draw(st.integers(1, 8))]
    else:  # forge header fields and fix the header CRC, so the parser's own checks are reached
        body_position = draw(st.integers(8, HEADER_END - 5))
        data[body_position] = draw(st.integers(0, 255))
        data[HEADER_END - 4 : HEADER_END] = zlib.crc32(bytes(data[: HEADER_END - 4])).to_bytes(4, "little")
    return bytes(data)


def _check(archive: bytes) -> None:
    with contextlib.suppress(ArchiveError):
        assert lstmzip.decompress(archive) == ORIGINAL


@settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(damaged())
def test_damaged_archives_fail_cleanly(archive: bytes) -> None:
    _check(archive)


@pytest.mark.slow
@settings(max_examples=3000, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(damaged())
def test_damaged_archives_fail_cleanly_long(archive: bytes) -> None:
    _check(archive)


@settings(
    max_examples=25, deadline=5000, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(damaged())
def test_cli_writes_nothing_for_damaged_archives(tmp_path: Path, archive: bytes) -> None:
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    source = folder / "x.lstmz"
    source.write_bytes(archive)
    result = CliRunner().invoke(app, ["decompress", "-q", str(source)])
    if result.exit_code == 0:
        assert (folder / "x").read_bytes() == ORIGINAL
    else:
        assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1
        assert sorted(p.name for p in folder.iterdir()) == ["x.lstmz"]
