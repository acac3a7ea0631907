"""The library's file objects and argument checks: no data lost, every refusal at once."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import lstmzip
from lstmzip.errors import PresetError
from lstmzip.numerics import coding_threads
from tests.helpers import REPO_ROOT, SAMPLE_TEXT, TINY


def test_a_writer_left_open_at_exit_still_writes_its_archive(tmp_path: Path) -> None:
    # 0.20.0 lost the data with exit 0, or aborted the interpreter once torch was loaded.
    target = tmp_path / "left-open.lstmz"
    script = f"import lstmzip\nw = lstmzip.open({str(target)!r}, 'wb', level='fast')\nw.write(b'abc')\n"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr
    assert lstmzip.decompress(target.read_bytes()) == b"abc"


def test_a_writer_collected_unclosed_writes_and_warns(tmp_path: Path) -> None:
    target = tmp_path / "collected.lstmz"
    writer = lstmzip.open(target, "wb", level=TINY)
    writer.write(b"abc")
    with pytest.warns(ResourceWarning, match="not closed"):
        writer.__del__()
    assert lstmzip.decompress(target.read_bytes()) == b"abc"


def test_writing_to_a_file_object_and_reading_back() -> None:
    sink = io.BytesIO()
    with lstmzip.open(sink, "wb", level=TINY) as writer:
        writer.write(SAMPLE_TEXT[:100])
        writer.write(memoryview(SAMPLE_TEXT[100:]))
    reader = lstmzip.open(io.BytesIO(sink.getvalue()))
    assert reader.read() == SAMPLE_TEXT
    with pytest.raises(io.UnsupportedOperation):  # 0.20.0's reader was a writable BytesIO
        reader.write(b"x")


def test_refusals_come_at_open_not_at_close(tmp_path: Path) -> None:
    existing = tmp_path / "there.lstmz"
    existing.write_bytes(b"precious")
    with pytest.raises(FileExistsError):
        lstmzip.open(existing, "xb")
    with pytest.raises(PresetError, match="unknown level"):
        lstmzip.open(tmp_path / "new.lstmz", "wb", level="fastest")
    with pytest.raises(TypeError, match="path or a binary file object"):
        lstmzip.open(123, "wb")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mode"):
        lstmzip.open(existing, "ab")
    assert existing.read_bytes() == b"precious" and sorted(p.name for p in tmp_path.iterdir()) == ["there.lstmz"]


def test_only_bytes_like_data_and_real_levels_are_taken() -> None:
    with pytest.raises(TypeError):
        lstmzip.compress(5)  # type: ignore[arg-type]  # 0.20.0: five zero bytes; 10**11: MemoryError
    with pytest.raises(TypeError):
        lstmzip.compress("text")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="level"):
        lstmzip.compress(b"x", level=True)  # 0.20.0: level 1
    assert lstmzip.decompress(lstmzip.compress(bytearray(b"bytes-like"), level=TINY)) == b"bytes-like"


def test_coding_runs_on_one_thread_and_leaves_the_callers_setting() -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with coding_threads():
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        lstmzip.compress(b"text", level=TINY)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_info_gives_each_archive_as_data() -> None:
    archive = lstmzip.compress(SAMPLE_TEXT, level=TINY)
    [part] = lstmzip.info(archive)
    assert (part.original_size, part.compressed_size, part.level) == (len(SAMPLE_TEXT), len(archive), "tiny")
    assert part.config.hidden == TINY.model.hidden and part.describe()["level"] == "tiny"
    assert [p.original_size for p in lstmzip.info(archive + archive)] == [len(SAMPLE_TEXT)] * 2
