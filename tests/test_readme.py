"""README.md's examples run: every ```python block, and every ```console block's commands.

A console block is a transcript: lines that start with ``$ `` are commands, the lines after each are
what it printed (stdout and stderr together). The commands of a block run in order in one bash
shell, in a fresh directory, with ``lstmzip`` and ``python`` meaning this tree's ``python -m
lstmzip`` and this interpreter. Speeds (``... KB/s``) differ from run to run and are not compared;
every other line must be exactly what the commands print now. So a change that moves the archive
bytes of the example (a preset, the model, the archive format: the ``format`` line of ``info``)
changes the README: ``python tests/test_readme.py`` prints the transcripts as they are now.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.DOTALL | re.MULTILINE)
SPEED = re.compile(r"\d[\d.,]* KB/s")
PROMPT = "$ "
SEPARATOR = "@@ README command @@"


def blocks(language: str) -> list[str]:
    """The bodies of README.md's fenced blocks in ``language``, in order."""
    text = README.read_text(encoding="utf-8")
    return [body for lang, body in FENCE.findall(text) if lang == language]


def transcript(block: str) -> list[tuple[str, list[str]]]:
    """(command, the lines it printed) for each ``$`` line of a console block."""
    steps: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith(PROMPT):
            steps.append((line[len(PROMPT) :], []))
        elif steps:
            steps[-1][1].append(line)
        else:
            raise ValueError(f"console block output before any command: {line!r}")
    return steps


def run_commands(commands: list[str], directory: Path) -> list[list[str]]:
    """Run ``commands`` in one bash shell in ``directory``; the lines each printed."""
    script = [
        'lstmzip() { "$LSTMZIP_PYTHON" -m lstmzip "$@"; }',
        'python() { "$LSTMZIP_PYTHON" "$@"; }',
        "exec 2>&1",
    ]
    for command in commands:
        script += [f"echo '{SEPARATOR}'", command]
    env = {
        **os.environ,
        "LSTMZIP_PYTHON": sys.executable,
        "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    result = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=directory,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    parts = result.stdout.split(SEPARATOR + "\n")
    assert parts[0] == "", f"output before the first command: {parts[0]!r}"
    return [part.splitlines() for part in parts[1:]]


def comparable(lines: list[str]) -> list[str]:
    """``lines`` without what changes from run to run (speeds) and trailing blanks."""
    return [SPEED.sub("<speed> KB/s", line.rstrip()) for line in lines]


def test_readme_has_examples() -> None:
    assert blocks("python") and blocks("console")


@pytest.mark.parametrize("number", range(len(blocks("python"))))
def test_python_block_runs(number: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code = compile(blocks("python")[number], f"README.md python block {number + 1}", "exec")
    exec(code, {"__name__": "readme_example"})


@pytest.mark.parametrize("number", range(len(blocks("console"))))
def test_console_block_prints_what_the_readme_shows(number: int, tmp_path: Path) -> None:
    steps = transcript(blocks("console")[number])
    printed = run_commands([command for command, _ in steps], tmp_path)
    assert len(printed) == len(steps)
    for (command, shown), actual in zip(steps, printed, strict=True):
        assert comparable(actual) == comparable(shown), (
            f"README.md's `$ {command}` prints otherwise now (python tests/test_readme.py shows the transcript)"
        )


def main() -> None:
    """Print each console block as the commands print it now, to paste into README.md."""
    import tempfile

    for block in blocks("console"):
        steps = transcript(block)
        with tempfile.TemporaryDirectory() as directory:
            printed = run_commands([command for command, _ in steps], Path(directory))
        print("```console")
        for (command, _), lines in zip(steps, printed, strict=True):
            print(PROMPT + command, *lines, sep="\n")
        print("```")


if __name__ == "__main__":
    main()
