"""The benchmark harness (benchmarks/harness.py), on inputs of a few hundred bytes made here.

These check that the harness measures what it says and never accepts a wrong result: a peer whose
decompressor returns other bytes must give a FAILED row and a non-zero exit code, a peer that cannot
be imported must appear as missing. The benchmark proper is ``benchmarks/run.py`` (hours).
"""

from __future__ import annotations

import csv
import doctest
import os
import subprocess
import sys
from pathlib import Path

import pytest

import lstmzip
from tests.helpers import TINY, load_script

harness = load_script("benchmarks/harness.py")
Codec, Compressor, Input, Row = harness.Codec, harness.Compressor, harness.Input, harness.Row

TEXT = (
    b"Alice was beginning to get very tired of sitting by her sister on the bank, and of having nothing to do: "
    b"once or twice she had peeped into the book her sister was reading, but it had no pictures or conversations "
    b"in it, 'and what is the use of a book,' thought Alice 'without pictures or conversations?'\n"
) * 2
CODE = b'int main(void) {\n    for (int i = 0; i < 10; i++) {\n        printf("%d\\n", i);\n    }\n}\n' * 4
REPEATS = 3
BROKEN = "broken peer (test)"
TINY_NAME = "lstmzip tiny"


# Loaders live at module level: the harness pickles them by reference into its worker processes
# (which import this module, and with it conftest and torch: the peers below need neither).


def _load_broken() -> Codec:
    """A peer whose decompressor hands back different bytes (one bit flipped), like a buggy binding."""
    return Codec(bytes, lambda archive: bytes([archive[0] ^ 1]) + archive[1:], "broken 0")


def _load_raising() -> Codec:
    def fail(data: bytes) -> bytes:
        raise RuntimeError("out of cheese")

    return Codec(fail, bytes, "raising 0")


def _load_crashing() -> Codec:
    os._exit(3)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two tiny files: one where a corpus file would be (so its published references apply), one elsewhere."""
    root = tmp_path_factory.mktemp("corpus")
    (root / "canterbury").mkdir()
    (root / "misc").mkdir()
    alice = root / "canterbury" / "alice29.txt"
    alice.write_bytes(TEXT)
    code = root / "misc" / "loop.c"
    code.write_bytes(CODE)
    return [alice, code]


@pytest.fixture(scope="module")
def measured(corpus: list[Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Row], list[str], Path]:
    """One harness run shared by the tests below: every real peer, a broken one, brotli made
    unimportable, and lstmzip with a tiny preset."""
    output = tmp_path_factory.mktemp("results")
    messages: list[str] = []
    peers = [*harness.peer_compressors(), Compressor(BROKEN, _load_broken)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(sys.modules, "brotli", None)  # `import brotli` now raises ImportError
        rows = harness.run_benchmark(corpus, [TINY], False, REPEATS, output, messages.append, peers=peers)
    return rows, messages, output


def rows_of(rows: list[Row], prefix: str) -> list[Row]:
    found = [r for r in rows if r.compressor.startswith(prefix)]
    assert found, f"no rows for {prefix!r}"
    return found


# --------------------------------------------------------------------------------------------------
# Arguments and inputs


def test_examples_in_docstrings() -> None:
    assert doctest.testmod(harness).failed == 0


def test_arguments_defaults_depend_on_quick_and_repository(tmp_path: Path) -> None:
    args = harness.parse_args([], tmp_path)
    assert args.levels == ["fast", "default", "best"] and not args.quick and args.files == []
    assert args.out == tmp_path / "benchmarks" / "results"
    assert args.corpus == tmp_path.parent / "shared" / "corpus"
    assert harness.parse_args(["--quick"], tmp_path).levels == ["fast"]

    args = harness.parse_args(
        ["--quick", "--levels", "default,best", "--repeats", "2", "--out", "x", "a", "b"], tmp_path
    )
    assert args.levels == ["default", "best"] and args.repeats == 2
    assert args.out == Path("x") and args.files == [Path("a"), Path("b")]


@pytest.mark.parametrize(
    "argv", [["--levels", "fast,turbo"], ["--levels", ""], ["--repeats", "0"], ["--lstmzip-runs", "0"], ["--bogus"]]
)
def test_bad_arguments_are_usage_errors(argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        harness.parse_args(argv, tmp_path)
    assert exit_info.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_corpus_selection_and_quick_truncation(tmp_path: Path) -> None:
    files = {
        "canterbury": ["alice29.txt", "grammar.lsp", "xargs.1", "fields.c", "cp.html"],
        "calgary": ["book1", "bib"],
        "large": ["world192.txt"],
        "enwik": ["enwik4", "enwik5", "enwik6"],
    }
    for folder, names in files.items():
        (tmp_path / folder).mkdir()
        for name in names:
            (tmp_path / folder / name).write_bytes(b"x" * 30_000)
    quick = harness.corpus_files(tmp_path, quick=True)
    assert [p.name for p in quick] == ["enwik4", "alice29.txt", "grammar.lsp", "xargs.1", "fields.c"]
    full = harness.corpus_files(tmp_path, quick=False)
    assert [p.name for p in full][:5] == ["alice29.txt", "cp.html", "fields.c", "grammar.lsp", "xargs.1"]
    assert [p.name for p in full][-3:] == ["enwik4", "enwik5", "enwik6"] and len(full) == 11
    assert [Input(p).group for p in full[4:7]] == ["Canterbury", "Calgary", "Calgary"]

    cut = Input(tmp_path / "canterbury" / "alice29.txt", harness.QUICK_LIMIT)
    assert cut.size == len(cut.read()) == harness.QUICK_LIMIT and "first 20000 bytes" in cut.name
    (tmp_path / "enwik" / "enwik6").unlink()
    with pytest.raises(FileNotFoundError, match="enwik6"):
        harness.corpus_files(tmp_path, quick=False)


# --------------------------------------------------------------------------------------------------
# Measuring


def test_peer_rows_are_measured_and_consistent(measured: tuple[list[Row], list[str], Path]) -> None:
    rows, _, _ = measured
    for row in rows_of(rows, "gzip -9"):
        assert row.ok and row.kind == "peer" and row.version.startswith("zlib")
        assert row.original_bytes in (len(TEXT), len(CODE))
        assert row.compressed_bytes is not None and row.original_bytes is not None
        assert row.bpb == pytest.approx(8 * row.compressed_bytes / row.original_bytes)
        assert row.ratio == pytest.approx(row.original_bytes / row.compressed_bytes)
        assert row.compress_s and row.decompress_s
        assert row.compress_kbps == pytest.approx(row.original_bytes / 1000 / row.compress_s)
        assert row.decompress_kbps == pytest.approx(row.original_bytes / 1000 / row.decompress_s)
        assert row.compress_runs == row.decompress_runs == REPEATS  # short runs: median of `repeats`
        assert row.peak_rss_mb and row.startup_rss_mb and 1 < row.startup_rss_mb <= row.peak_rss_mb
        assert row.peak_rss_mb < 150, "a worker for gzip does not hold torch: the peak must be its own"


def test_every_installed_peer_round_trips(measured: tuple[list[Row], list[str], Path]) -> None:
    rows, _, _ = measured
    peers = [r for r in rows if r.kind == "peer" and r.compressor != BROKEN and not r.compressor.startswith("brotli")]
    assert {r.compressor.split(" ")[0] for r in peers} == {"gzip", "bzip2", "xz", "zstd", "PPMd", "zpaq"}
    for row in peers:
        assert row.ok or row.status.startswith("missing:"), (row.compressor, row.status)
    assert all(r.ok for r in peers if r.compressor.split(" ")[0] in ("gzip", "bzip2", "xz"))  # standard library


def test_lstmzip_preset_runs_once_per_direction(measured: tuple[list[Row], list[str], Path]) -> None:
    rows, _, _ = measured
    for row in rows_of(rows, TINY_NAME):
        assert row.ok and row.kind == "lstmzip" and row.version == f"lstmzip {lstmzip.__version__}"
        assert row.compress_runs == row.decompress_runs == 1
        assert row.bpb is not None and 0 < row.bpb < 12


def test_wrong_round_trip_is_failed_not_accepted(measured: tuple[list[Row], list[str], Path]) -> None:
    rows, messages, _ = measured
    broken = rows_of(rows, BROKEN)
    assert len(broken) == 2
    for row in broken:
        assert row.status.startswith("FAILED: round trip mismatch") and "first difference at byte 0" in row.status
        assert row.failed and not row.ok
    assert harness.exit_code(rows) == 1
    assert harness.exit_code([r for r in rows if r.compressor != BROKEN]) == 0
    assert any(BROKEN in m and "FAILED" in m for m in messages)


def test_missing_peer_is_reported_not_skipped(measured: tuple[list[Row], list[str], Path]) -> None:
    rows, messages, _ = measured
    missing = rows_of(rows, "brotli")
    assert len(missing) == 2  # one per file
    for row in missing:
        assert row.status.startswith("missing: ") and "brotli" in row.status
        assert not row.failed and row.bpb is None and row.compress_kbps is None
    assert any(m.startswith("brotli") and "missing" in m for m in messages)


def test_errors_and_crashes_become_rows(tmp_path: Path) -> None:
    source = Input(tmp_path / "t.txt")
    source.path.write_bytes(TEXT)
    raising = harness.measure(Compressor("raising", _load_raising), source, REPEATS)
    assert raising.status.startswith("error: compress raised RuntimeError: out of cheese")
    crashed = harness.measure_isolated(Compressor("crashing", _load_crashing), source, REPEATS)
    assert crashed.status == "error: worker died without a result (exit code 3)"
    row = harness.Row("other", "t.txt", "crashing", "peer", crashed.status)
    assert row.failed and harness.exit_code([row]) == 1


def test_quick_reads_only_the_start_of_each_file(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_bytes(TEXT * 80)  # about 45 KB
    gzip_only = [c for c in harness.peer_compressors() if c.name.startswith("gzip")]
    (row,) = harness.run_benchmark([big], [], True, 1, tmp_path / "out", peers=gzip_only)
    assert row.ok and row.original_bytes == harness.QUICK_LIMIT and row.file == "big.txt (first 20000 bytes)"
    assert (tmp_path / "out" / "results.csv").exists()  # written as it goes, for interrupted runs


# --------------------------------------------------------------------------------------------------
# Output


def test_writes_csv_markdown_png_and_readme_snippet(measured: tuple[list[Row], list[str], Path]) -> None:
    pytest.importorskip("matplotlib")
    rows, _, output = measured
    paths = harness.write_results(rows, output, "test machine", command="python benchmarks/run.py tiny")

    with paths["csv"].open(encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    references = [r for r in table if r["kind"] == "reference"]
    assert len(table) == len(rows) + len(references)
    assert references and {r["file"] for r in references} == {"alice29.txt"}  # measured whole: its references
    assert all(r["status"] == harness.REFERENCE_STATUS for r in references)
    assert {r["status"].split(":")[0] for r in table if r["compressor"] == BROKEN} == {"FAILED"}
    gzip_row = next(r for r in table if r["compressor"].startswith("gzip") and r["file"] == "loop.c")
    assert int(gzip_row["original_bytes"]) == len(CODE) and float(gzip_row["bpb"]) > 0

    markdown = paths["markdown"].read_text(encoding="utf-8")
    for expected in ("## Canterbury", "## other", "python benchmarks/run.py tiny", "test machine", "CPU", "torch"):
        assert expected in markdown
    assert harness.REFERENCE_STATUS in markdown and "paq8px" in markdown and "FAILED" in markdown
    assert "missing: " in markdown and "| peak MB | startup MB | status |" in markdown

    assert paths["plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and paths["plot"].stat().st_size > 10_000

    snippet = paths["readme"].read_text(encoding="utf-8")
    assert "alice29.txt" in snippet and "published reference" in snippet and "lstmzip tiny" in snippet
    assert "loop.c" not in snippet and "Not shown:" in snippet  # the broken and missing rows are named, not shown


def test_lstmzip_runs_gives_a_median_of_that_many_runs(tmp_path: Path) -> None:
    source = Input(tmp_path / "t.txt")
    source.path.write_bytes(TEXT)
    result = harness.measure(harness.lstmzip_compressor(TINY), source, REPEATS, lstmzip_runs=2)
    assert result.status == "ok" and len(result.compress_times) == len(result.decompress_times) == 2
    row = harness._row(harness.lstmzip_compressor(TINY), source, result)
    assert row.compress_runs == 2 and "lstmzip runs 2 times (median) per direction" in harness._markdown([row], "", "x")
    assert harness.parse_args(["--lstmzip-runs", "3"], tmp_path).lstmzip_runs == 3


FAKE_LSTMZIP = {  # an installation of "lstmzip" that stores its input as is, to tell it from this checkout's
    "__init__.py": '__version__ = "0.0-baseline"\n',
    "presets.py": "def load_preset(level):\n    return level\n",
    "codec.py": "def compress(data, level, device):\n    return bytes(data)\n\n\n"
    "def decompress(data, device):\n    return bytes(data)\n",
}


def test_a_baseline_interpreter_measures_its_own_installation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--baseline: the other venv's lstmzip, not the one this process imports (nor one in the working directory)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)], check=True)
    [site] = venv.glob("lib/python*/site-packages")
    (site / "lstmzip").mkdir()
    for name, text in FAKE_LSTMZIP.items():
        (site / "lstmzip" / name).write_text(text)
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)  # this checkout, whose lstmzip `python -c` would find
    source = Input(tmp_path / "t.txt")
    source.path.write_bytes(b"abc" * 100)
    baseline = harness.measure_isolated(harness.lstmzip_compressor("fast", str(venv / "bin" / "python")), source, 1)
    assert (baseline.status, baseline.version, baseline.compressed_bytes) == ("ok", "lstmzip 0.0-baseline", 300)
