"""The command line: file policy, exit codes, one-line errors, pipes, signals. Nothing is ever lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

import lstmzip
from lstmzip.cli import ModeConflictError, app, normalize_args
from tests.helpers import SAMPLE_TEXT, TINY, sample_bytes

ROOT = Path(__file__).parent.parent
runner = CliRunner()


def lstmzip_cli(*args: str | Path, stdin: bytes | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, [str(a) for a in args], input=stdin)


def one_line_error(result) -> str:  # type: ignore[no-untyped-def]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("lstmzip: ") and "Traceback" not in result.output
    return lines[0]


@pytest.fixture
def text_file(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_bytes(SAMPLE_TEXT)
    os.chmod(path, 0o640)
    os.utime(path, (1_600_000_000, 1_600_000_000))
    return path


@pytest.fixture
def archive_file(tmp_path: Path) -> Path:
    path = tmp_path / "made.txt.lstmz"
    path.write_bytes(lstmzip.compress(SAMPLE_TEXT, level=TINY))
    return path


def files_in(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_compress_then_decompress_keeps_input_and_metadata(text_file: Path) -> None:
    result = lstmzip_cli("compress", "--level", "fast", text_file)
    assert result.exit_code == 0, result.output
    packed = text_file.with_name("notes.txt.lstmz")
    assert text_file.read_bytes() == SAMPLE_TEXT
    assert packed.stat().st_mode & 0o777 == 0o640 and packed.stat().st_mtime == 1_600_000_000
    assert "notes.txt : " in result.stderr and "bpb" in result.stderr and result.stdout == ""
    text_file.unlink()
    result = lstmzip_cli("decompress", packed)
    assert result.exit_code == 0, result.output
    assert text_file.read_bytes() == SAMPLE_TEXT and packed.exists()


def test_quiet_prints_nothing(text_file: Path) -> None:
    result = lstmzip_cli("compress", "-q", "--level", "fast", text_file)
    assert result.exit_code == 0 and result.output == ""


def test_existing_output_is_not_overwritten_without_force(text_file: Path, archive_file: Path) -> None:
    target = text_file.with_name("notes.txt.lstmz")
    target.write_bytes(b"precious")
    result = lstmzip_cli("compress", "--level", "fast", text_file)
    assert result.exit_code == 1 and "already exists" in one_line_error(result)
    assert target.read_bytes() == b"precious"
    assert lstmzip_cli("compress", "-f", "--level", "fast", text_file).exit_code == 0
    assert lstmzip.decompress(target.read_bytes()) == SAMPLE_TEXT
    # decompress refuses before decoding, too
    archive_file.with_name("made.txt").write_bytes(b"precious")
    result = lstmzip_cli("decompress", archive_file)
    assert result.exit_code == 1 and archive_file.with_name("made.txt").read_bytes() == b"precious"


def test_input_equal_to_output_is_refused(text_file: Path) -> None:
    result = lstmzip_cli("compress", "-f", "--level", "fast", "-o", text_file, text_file)
    assert result.exit_code == 1 and "same file" in one_line_error(result)
    assert text_file.read_bytes() == SAMPLE_TEXT


@pytest.mark.parametrize("damage", ["foreign", "truncated", "flipped", "empty"])
def test_bad_archives_exit_1_with_one_line_and_no_output(archive_file: Path, damage: str) -> None:
    good = archive_file.read_bytes()
    bad = {
        "foreign": b"PK\x03\x04 definitely a zip file",
        "truncated": good[: len(good) - 9],
        "flipped": good[:150] + bytes([good[150] ^ 0x10]) + good[151:],
        "empty": b"",
    }[damage]
    archive_file.write_bytes(bad)
    before = files_in(archive_file.parent)
    for command in ("decompress", "test"):
        result = (
            lstmzip_cli(command, "--rm", archive_file)
            if command == "decompress"
            else lstmzip_cli(command, archive_file)
        )
        assert result.exit_code == 1
        one_line_error(result)
        assert files_in(archive_file.parent) == before and archive_file.read_bytes() == bad


def test_missing_input(tmp_path: Path) -> None:
    result = lstmzip_cli("compress", tmp_path / "nope.txt")
    assert result.exit_code == 1 and "No such file" in one_line_error(result)


def test_rm_removes_input_only_after_success(text_file: Path) -> None:
    assert lstmzip_cli("compress", "--rm", "-q", "--level", "fast", text_file).exit_code == 0
    packed = text_file.with_name("notes.txt.lstmz")
    assert not text_file.exists() and lstmzip.decompress(packed.read_bytes()) == SAMPLE_TEXT
    assert lstmzip_cli("decompress", "--rm", "-q", packed).exit_code == 0
    assert text_file.read_bytes() == SAMPLE_TEXT and not packed.exists()


def test_stdout_mode_writes_only_data(archive_file: Path, text_file: Path) -> None:
    result = lstmzip_cli("decompress", "-c", archive_file)
    assert result.exit_code == 0 and result.stdout_bytes == SAMPLE_TEXT and archive_file.exists()
    assert result.stderr == ""  # like zstd: no summary when the data goes to stdout
    result = lstmzip_cli("compress", "-c", "--level", "fast", text_file)
    assert result.exit_code == 0 and lstmzip.decompress(result.stdout_bytes) == SAMPLE_TEXT
    assert result.stderr == ""
    assert files_in(text_file.parent) == {"notes.txt", "made.txt.lstmz"}
    result = lstmzip_cli("decompress", "-c", "-v", archive_file)
    assert result.stdout_bytes == SAMPLE_TEXT and "<stdout>" in result.stderr and "bpb" in result.stderr


def test_stdin_to_stdout_in_process() -> None:
    packed = lstmzip_cli("compress", "--level", "fast", stdin=SAMPLE_TEXT)
    assert packed.exit_code == 0 and lstmzip.decompress(packed.stdout_bytes) == SAMPLE_TEXT
    unpacked = lstmzip_cli("decompress", stdin=packed.stdout_bytes)
    assert unpacked.exit_code == 0 and unpacked.stdout_bytes == SAMPLE_TEXT


def test_terminal_is_refused_as_data_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("lstmzip.cli.is_terminal", lambda stream: True)
    result = lstmzip_cli("compress", stdin=b"abc")
    assert result.exit_code == 1 and "terminal" in one_line_error(result)
    result = lstmzip_cli("decompress", stdin=b"abc")
    assert result.exit_code == 1 and "terminal" in one_line_error(result)


def test_several_files_one_bad(tmp_path: Path) -> None:
    names = ["a.txt", "b.txt", "c.txt"]
    for name in names:
        (tmp_path / name).write_bytes(name.encode() * 50)
    result = lstmzip_cli("compress", "-q", "--level", "fast", *(tmp_path / n for n in ["a.txt", "missing", "c.txt"]))
    assert result.exit_code == 1 and "missing" in one_line_error(result)
    assert (tmp_path / "a.txt.lstmz").exists() and (tmp_path / "c.txt.lstmz").exists()


def test_suffix_rules(tmp_path: Path, archive_file: Path) -> None:
    result = lstmzip_cli("compress", archive_file)
    assert result.exit_code == 2 and "already has suffix" in one_line_error(result)
    plain = tmp_path / "plain.bin"
    plain.write_bytes(archive_file.read_bytes())
    result = lstmzip_cli("decompress", plain)
    assert result.exit_code == 1 and "suffix" in one_line_error(result)
    assert lstmzip_cli("decompress", "-q", "-o", tmp_path / "out.txt", plain).exit_code == 0
    assert (tmp_path / "out.txt").read_bytes() == SAMPLE_TEXT
    result = lstmzip_cli("compress", "-q", "--level", "fast", "-S", ".lz9", tmp_path / "out.txt")
    assert result.exit_code == 0 and (tmp_path / "out.txt.lz9").exists()


def test_output_option_takes_one_file(text_file: Path) -> None:
    result = lstmzip_cli("compress", "-o", "x", text_file, text_file)
    assert result.exit_code == 1 and "one input" in one_line_error(result)


def test_info_reads_the_header(archive_file: Path) -> None:
    result = lstmzip_cli("info", archive_file)
    assert result.exit_code == 0
    assert "original   : 684 bytes" in result.stdout and "level      : tiny" in result.stdout
    assert "fx16-v3" in result.stdout and "crc32" in result.stdout
    assert "at update k (x2 byte input tables, x0.5 matrices)" in result.stdout  # TINY's step-size factors
    assert "side model : match (8- or 4-byte contexts, 2^12 slots), counts of orders 1,2,3 (2^10" in result.stdout
    assert "counts by column (up to 31) and the last byte's kind" in result.stdout  # TINY's column context
    assert "the first layer also reads the column and each two-byte code's word (4 values)" in result.stdout
    assert "refinement : probability map, rate 2^-6" in result.stdout
    assert "word codes : none" in result.stdout  # 684 bytes: too short for word codes


def test_archives_one_after_another(archive_file: Path, tmp_path: Path) -> None:
    joined = tmp_path / "joined.lstmz"
    joined.write_bytes(archive_file.read_bytes() * 2)  # cat made.txt.lstmz made.txt.lstmz > joined.lstmz
    result = lstmzip_cli("decompress", "-c", joined)
    assert result.exit_code == 0 and result.stdout_bytes == SAMPLE_TEXT * 2
    info = lstmzip_cli("info", joined)
    assert info.exit_code == 0 and info.stdout.count("original   : 684 bytes") == 2
    assert "part       : 1 of 2 (archives one after another)" in info.stdout
    assert "part       : 2 of 2" in info.stdout and "part" not in lstmzip_cli("info", archive_file).stdout
    joined.write_bytes(archive_file.read_bytes() + b"trailing junk")
    result = lstmzip_cli("test", joined)
    assert result.exit_code == 1 and "unexpected data after the end of the archive" in one_line_error(result)


def test_unknown_level_is_one_line(text_file: Path) -> None:
    result = lstmzip_cli("compress", "--level", "ultra", text_file)
    assert result.exit_code == 1 and "unknown level" in one_line_error(result)


def test_numbered_levels_and_version() -> None:
    assert normalize_args(["compress", "-9", "f", "--", "-3"]) == ["compress", "--level", "9", "f", "--", "-3"]
    result = lstmzip_cli("--version")
    assert result.exit_code == 0 and "format 15.0" in result.stdout and "torch" in result.stdout


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        (["notes.txt"], ["compress", "notes.txt"]),
        (["-9k", "a", "b"], ["compress", "-9k", "a", "b"]),  # not a switch cluster: click refuses it
        (["-9", "-k", "a"], ["compress", "--level", "9", "-k", "a"]),
        (["-d", "a.lstmz"], ["decompress", "a.lstmz"]),
        (["--uncompress", "-f", "a.lstmz"], ["decompress", "-f", "a.lstmz"]),
        (["-dc", "a.lstmz"], ["decompress", "-c", "a.lstmz"]),
        (["-kfd", "a.lstmz"], ["decompress", "-kf", "a.lstmz"]),
        (["-tq", "a.lstmz"], ["test", "-q", "a.lstmz"]),
        (["--list", "a.lstmz"], ["info", "a.lstmz"]),
        (["-z", "-c", "a"], ["compress", "-c", "a"]),
        (["-o", "-d", "a"], ["compress", "-o", "-d", "a"]),  # an option's value is not a mode
        (["-S", ".x", "-d", "a.x"], ["decompress", "-S", ".x", "a.x"]),
        (["-c", "--", "-d"], ["compress", "-c", "--", "-d"]),  # a file named -d
        (["decompress", "-d"], ["decompress", "-d"]),  # a subcommand's arguments are its own
        (["-h"], ["-h"]),
        (["-V"], ["-V"]),
    ],
)
def test_gzip_style_calls_name_their_subcommand(typed: list[str], meant: list[str]) -> None:
    assert normalize_args(typed) == meant


def test_gzip_style_without_arguments_compresses_a_pipe_or_helps_a_terminal() -> None:
    assert normalize_args([], stdin_is_terminal=False) == ["compress"]
    assert normalize_args([], stdin_is_terminal=True) == []  # the app then prints its help
    with pytest.raises(ModeConflictError, match="-d and -t"):
        normalize_args(["-d", "-t", "a.lstmz"])
    with pytest.raises(ModeConflictError, match="--list and -d"):
        normalize_args(["-dc", "--list", "a.lstmz"])


# Real processes: the entry points, pipes, start-up time, and signals.


def run(*args: str, stdin: bytes | None = None, timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "lstmzip", *args], input=stdin, capture_output=True, timeout=timeout)


def test_help_is_fast() -> None:
    for command in ([sys.executable, "-m", "lstmzip", "--help"], ["lstmzip", "--help"]):
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, timeout=30)
        assert result.returncode == 0 and b"compress" in result.stdout
        assert time.perf_counter() - start < 1.0


def test_pipes_both_ways() -> None:
    packed = run("compress", "-1", "-q", stdin=SAMPLE_TEXT)
    assert packed.returncode == 0 and packed.stderr == b""
    unpacked = run("decompress", stdin=packed.stdout)
    assert unpacked.returncode == 0 and unpacked.stdout == SAMPLE_TEXT


def test_gzip_habits_from_a_shell(tmp_path: Path) -> None:
    # `cat f | lstmzip | lstmzip -d`, `lstmzip FILE`, `lstmzip -dc FILE.lstmz`: no subcommand needed.
    packed = run("-1", stdin=SAMPLE_TEXT)
    assert packed.returncode == 0 and packed.stderr == b""
    assert run("-d", stdin=packed.stdout).stdout == SAMPLE_TEXT
    source = tmp_path / "notes.txt"
    source.write_bytes(SAMPLE_TEXT)
    assert run("-1", "-q", str(source)).returncode == 0
    assert source.with_suffix(".txt.lstmz").read_bytes() == packed.stdout
    unpacked = run("-dc", str(source.with_suffix(".txt.lstmz")))
    assert unpacked.returncode == 0 and unpacked.stdout == SAMPLE_TEXT
    conflict = run("-d", "-t", str(source))
    assert conflict.returncode == 1 and conflict.stderr.decode().splitlines() == [
        "lstmzip: -d and -t ask for different operations; give one",
        "Try 'lstmzip --help' for more information.",
    ]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL])
def test_killed_mid_compress_leaves_no_target(tmp_path: Path, signum: int) -> None:
    source = tmp_path / "big.txt"
    content = (SAMPLE_TEXT * 400)[:200_000]
    source.write_bytes(content)
    process = subprocess.Popen(
        [sys.executable, "-m", "lstmzip", "compress", "-q", str(source)], stderr=subprocess.PIPE, cwd=tmp_path
    )
    deadline = time.time() + 60
    while time.time() < deadline and not any(p.name.endswith(".tmp") for p in tmp_path.iterdir()):
        time.sleep(0.05)
    time.sleep(0.5)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert not (tmp_path / "big.txt.lstmz").exists()
    assert source.read_bytes() == content
    if signum == signal.SIGINT:
        assert process.returncode == 130 and stderr.count(b"\n") == 1 and b"interrupted" in stderr
        assert files_in(tmp_path) == {"big.txt"}


def _run_cli(*args: str | Path, cwd: Path, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    command = [sys.executable, "-m", "lstmzip", *map(str, args)]
    return subprocess.run(command, cwd=cwd, capture_output=True, timeout=120, **kwargs)  # type: ignore[call-overload]


def test_a_failed_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    # 0.20.0 left `.big.txt.lstmz.*.tmp` behind: the failing flush failed again in close().
    import resource

    source = tmp_path / "big.txt"
    source.write_bytes(sample_bytes(6000))

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))

    result = _run_cli("-1", source, cwd=tmp_path, preexec_fn=small_files)
    assert result.returncode == 1 and result.stderr.count(b"\n") == 1 and b"too large" in result.stderr
    assert files_in(tmp_path) == {"big.txt"}


def test_a_dangling_link_is_not_replaced_without_force(text_file: Path) -> None:
    link = text_file.with_name("notes.txt.lstmz")
    link.symlink_to(text_file.with_name("nowhere"))
    result = lstmzip_cli("compress", "--level", "1", text_file)
    assert result.exit_code == 1 and "already exists" in one_line_error(result)
    assert link.is_symlink() and not link.exists()


def test_a_fifo_or_device_is_refused_by_name(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for name in (fifo, Path("/dev/zero")):  # a read would block (fifo) or never end (/dev/zero)
        result = lstmzip_cli("compress", "--level", "1", "-c", name)
        assert result.exit_code == 1 and "not a regular file" in one_line_error(result)


def test_usage_errors_are_one_line_and_a_hint(tmp_path: Path) -> None:
    for args in (["--bogus", "a.txt"], ["a.txt", "-o"], ["-d", "-t", "a.txt"], ["compress", "--level"]):
        result = _run_cli(*args, cwd=tmp_path)
        lines = result.stderr.decode().splitlines()
        assert result.returncode == 1 and len(lines) == 2, (args, result.stderr)
        assert lines[0].startswith("lstmzip: ") and lines[1] == "Try 'lstmzip --help' for more information."
    assert _run_cli("--help", cwd=tmp_path).returncode == 0


def test_verbose_errors_stay_one_line(tmp_path: Path) -> None:
    result = lstmzip_cli("decompress", "-v", tmp_path / "absent.lstmz")
    assert result.exit_code == 1 and "No such file" in one_line_error(result)  # not "NoneType: None"


def test_output_without_an_input_file_gets_the_umask_mode(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        target = tmp_path / "out.lstmz"
        assert lstmzip_cli("compress", "--level", "1", "-o", target, stdin=b"from a pipe").exit_code == 0
    finally:
        os.umask(old)
    assert target.stat().st_mode & 0o777 == 0o644  # 0.20.0: 0o600, the temporary file's


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file away")
def test_owner_and_group_are_kept(text_file: Path) -> None:
    os.chown(text_file, 1234, 5678)
    assert lstmzip_cli("compress", "--level", "1", text_file).exit_code == 0
    packed = text_file.with_name("notes.txt.lstmz").stat()
    assert (packed.st_uid, packed.st_gid) == (1234, 5678)


def test_an_interrupt_while_verifying_says_what_is_kept(text_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("lstmzip.cli._verify_written", interrupted)
    result = lstmzip_cli("compress", "--level", "1", "--rm", text_file)
    assert result.exit_code == 130 and "written but not verified, the input is kept" in one_line_error(result)
    assert text_file.exists() and text_file.with_name("notes.txt.lstmz").exists()


def test_strings_from_an_archive_are_printed_escaped(tmp_path: Path) -> None:
    hostile = replace(TINY, name="\x1b[2J\x1b[31mred\r\nformat     : forged")
    archive = tmp_path / "a.lstmz"
    archive.write_bytes(lstmzip.compress(b"some text", level=hostile))
    result = lstmzip_cli("info", archive)
    assert result.exit_code == 0 and "\x1b" not in result.stdout and "\r" not in result.stdout
    assert "level      : \\x1b[2J\\x1b[31mred\\r\\nformat     : forged" in result.stdout.splitlines()
