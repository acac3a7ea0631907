"""The library's file objects and argument checks: no data lost, every refusal at once."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import lstmzip
from lstmzip.container import next_archive
from lstmzip.errors import PresetError, TruncatedArchiveError
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


def _frames_of(archive: bytes) -> list[bytes]:
    """The frames' archives one by one, whether or not the sequence is complete yet."""
    source, frames = io.BytesIO(archive), []
    while archive and (frame := next_archive(source, not frames)) is not None:
        frames.append(frame)
    return frames


@pytest.mark.parametrize("size", [684, 600, 200, 0], ids=["ragged", "whole-frames", "one-frame", "empty"])
def test_a_writer_codes_each_frame_once_full_and_writes_what_compress_writes(size: int) -> None:
    data = SAMPLE_TEXT[:size]
    sink = io.BytesIO()
    writer = lstmzip.open(sink, "wb", level=TINY, frame_size=300)
    for start in range(0, size, 97):
        writer.write(data[start : start + 97])
    # every frame with a byte after it is coded before close: memory holds the frame being filled
    assert len(_frames_of(sink.getvalue())) == max(0, (size - 1) // 300)
    writer.close()
    assert sink.getvalue() == lstmzip.compress(data, level=TINY, frame_size=300)


def test_a_writer_on_worker_processes_writes_the_same_archive(tmp_path: Path) -> None:
    target = tmp_path / "frames.lstmz"
    with lstmzip.open(target, "wb", level=TINY, threads=2, frame_size=200) as writer:
        writer.write(SAMPLE_TEXT)
    assert target.read_bytes() == lstmzip.compress(SAMPLE_TEXT, level=TINY, frame_size=200)
    with lstmzip.open(target, threads=2) as reader:
        assert reader.read() == SAMPLE_TEXT


def test_a_reader_gives_each_frame_as_it_is_read_and_refuses_a_cut_archive(tmp_path: Path) -> None:
    archive = lstmzip.compress(SAMPLE_TEXT, level=TINY, frame_size=200)
    frames = _frames_of(archive)
    with lstmzip.open(io.BytesIO(archive)) as reader:
        assert reader.read(250) == SAMPLE_TEXT[:250]  # across the first frame's end
        assert reader.read() == SAMPLE_TEXT[250:]
    cut = tmp_path / "cut.lstmz"
    cut.write_bytes(b"".join(frames[:-1]))
    with lstmzip.open(cut) as reader:
        assert reader.read(400) == SAMPLE_TEXT[:400]  # the frames that are there, each checked
        with pytest.raises(TruncatedArchiveError, match="frame 3"):
            reader.read()


def test_a_writer_whose_output_fails_keeps_nothing(tmp_path: Path) -> None:
    class Failing(io.BytesIO):
        def write(self, data: bytes) -> int:  # type: ignore[override]
            raise OSError("disk full")

    writer = lstmzip.open(Failing(), "wb", level=TINY, frame_size=100)
    with pytest.raises(OSError, match="disk full"):
        writer.write(SAMPLE_TEXT)
    with pytest.raises(ValueError, match="coding failed"):
        writer.write(b"more")
    writer.close()  # nothing more to write, and no second error
    target = tmp_path / "never.lstmz"
    path_writer = lstmzip.open(target, "wb", level=TINY, frame_size=100)
    path_writer._failed = True  # as after a failed frame: close must not put a partial archive in place
    path_writer.close()
    assert list(tmp_path.iterdir()) == []
