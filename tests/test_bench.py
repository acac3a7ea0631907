"""``lstmzip bench`` (lstmzip/bench.py): lstmzip's levels beside gzip, bzip2 and xz on the user's files.

lstmzip runs at the tiny test preset here: the shipped levels take seconds even on a few hundred
bytes. The repository's full benchmark, benchmarks/harness.py, is tested in test_harness.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lstmzip import bench
from lstmzip.cli import app, normalize_args
from lstmzip.presets import Preset
from tests.helpers import SAMPLE_TEXT, TINY

PACKAGE = Path(bench.__file__).parent
STANDARD = ["gzip -9", "bzip2 -9", "xz -9e"]
runner = CliRunner()


@pytest.fixture(autouse=True)
def one_run_each(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each direction runs once: the repeats for steady timings would only slow these tests down."""
    monkeypatch.setattr(bench, "MIN_SECONDS", 0.0)


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    path = tmp_path / "sample.txt"
    path.write_bytes(SAMPLE_TEXT)
    return path


def test_every_codec_round_trips_into_one_aligned_line(sample: Path) -> None:
    lines: list[str] = []
    results = bench.run(bench.read_inputs([sample]), bench.codecs_for([TINY]), lines.append)
    assert [r.codec for r in results] == [*STANDARD, "lstmzip tiny"]
    for result in results:
        assert result.file == str(sample) and result.original == len(SAMPLE_TEXT)
        assert 0 < result.compressed < len(SAMPLE_TEXT) and result.compress_s > 0 and result.decompress_s > 0
    header, *rows = lines
    assert header.split() == ["file", "codec", "bytes", "compressed", "bpb", "comp", "KB/s", "decomp", "KB/s"]
    assert len(rows) == 4 and {len(line) for line in lines} == {len(header)}
    size, tiny = len(SAMPLE_TEXT), results[-1]
    expected = [
        str(sample),
        "lstmzip",
        "tiny",
        f"{size:,}",
        f"{tiny.compressed:,}",
        f"{8 * tiny.compressed / size:.3f}",
    ]
    assert rows[-1].split()[:6] == expected


def test_short_runs_are_repeated_and_the_fastest_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench, "MIN_SECONDS", 0.05)
    calls: list[bytes] = []
    output, seconds = bench._fastest(lambda data: calls.append(data) or data[::-1], b"abc")
    assert output == b"cba" and len(calls) > 1 and 0 < seconds < 0.05


def test_a_wrong_round_trip_is_an_error_not_a_line(sample: Path) -> None:
    broken = bench.Codec("broken", bytes, lambda archive: archive[1:])
    with pytest.raises(bench.RoundTripError, match=r"sample\.txt: broken gave back different bytes"):
        bench.run(bench.read_inputs([sample]), [broken], print)


def test_levels_by_name_or_number_all_three_by_default() -> None:
    assert [c.name for c in bench.codecs_for()] == [*STANDARD, "lstmzip fast", "lstmzip default", "lstmzip best"]
    assert [c.name for c in bench.codecs_for([1, "best"])] == [*STANDARD, "lstmzip fast", "lstmzip best"]


def test_command_measures_the_levels_asked_for(sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str | int | Preset] = []

    def stand_in(level: str | int | Preset, device: str = "cpu") -> bench.Codec:
        """lstmzip's own round trip is the test above's: here only which levels the command asks for."""
        asked.append(level)
        return bench.Codec(f"lstmzip {level}", bytes, bytes)

    monkeypatch.setattr(bench, "lstmzip_codec", stand_in)
    result = runner.invoke(app, normalize_args(["bench", "-1", "--level", "best", str(sample)]))
    assert result.exit_code == 0, result.output
    assert asked == [1, "best"]
    header, *rows = result.stdout.splitlines()
    assert header.startswith("file") and len(rows) == 5
    assert [row.split()[1:3] for row in rows[-2:]] == [["lstmzip", "1"], ["lstmzip", "best"]]
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["absent.txt"], "lstmzip: absent.txt: No such file or directory"),
        (["."], "lstmzip: .: Is a directory"),
        (["-l", "turbo", "sample.txt"], "lstmzip: unknown level 'turbo'"),
        ([], "lstmzip: bench: name the files to measure"),
    ],
)
def test_errors_are_one_line_and_exit_1(
    args: list[str], message: str, sample: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(sample.parent)
    result = runner.invoke(app, ["bench", *args])
    assert result.exit_code == 1 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith(message)


def test_the_package_imports_none_of_the_harness_libraries() -> None:
    # The peers, the plot and their libraries are benchmarks/harness.py's (the `bench` extra), not the package's.
    harness_only = re.compile(r"^\s*(from|import) (matplotlib|pyppmd|zstandard|brotli|zpaq)\b", re.MULTILINE)
    assert not [p.name for p in PACKAGE.rglob("*.py") if harness_only.search(p.read_text(encoding="utf-8"))]
