"""Archives are the same bytes on every instruction set (torch's, NumPy's and OpenBLAS's), thread count and device,
and decode across them."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

import lstmzip
from lstmzip.presets import Preset
from tests.helpers import SAMPLE_TEXT, bare_config, load_script, sample_bytes

# Big enough that BLAS blocks and splits its products differently across settings.
# It starts from text-d11 (the 0.18.0 default level's prior, same network shape), so loading a prior is covered too.
PROBE_CONFIG = bare_config(
    layers=2,
    hidden=128,
    streams=8,
    segment=5,
    lr_decay_updates=20,
    input_rate_scale=2.0,
    matrix_rate_scale=0.5,
    match_min_length=4,
    match_long_length=12,
    context_orders="1,2,3,5,6",
    context_columns=128,
    column_input=1,
    word_input=32,
    apm_rate_bits=8,
    prior="text-d11",
)
PROBE_PRESET = Preset("probe", PROBE_CONFIG, 256, 4096)
PROBE_INPUT = SAMPLE_TEXT * 3 + sample_bytes(500)

_SCRIPT = """
import sys, torch
from numpy.lib.introspect import opt_func_info
from threadpoolctl import threadpool_info
from pathlib import Path
from tests.test_portability import PROBE_INPUT, PROBE_PRESET
import lstmzip
torch.set_num_threads(int(sys.argv[2]))
out = Path(sys.argv[3])
if sys.argv[1] == "compress":
    out.write_bytes(lstmzip.compress(PROBE_INPUT, level=PROBE_PRESET))
else:
    assert lstmzip.decompress(Path(sys.argv[4]).read_bytes()) == PROBE_INPUT
    out.write_bytes(b"ok")
blas = [pool["architecture"] for pool in threadpool_info() if pool["internal_api"] == "openblas"]
print(torch.backends.cpu.get_cpu_capability(), opt_func_info("^add$")["add"]["ddd"]["current"], *blas)
"""


# Asking for an instruction set the CPU lacks kills the process (SIGILL): the widest one here runs twice.
WIDEST = "avx512" if load_script("benchmarks/portability.py").cpu_has("avx512f") else "avx2"
SETTINGS = [("default", 1), ("avx2", 1), (WIDEST, 2), ("default", 2)]


def _run(capability: str, threads: int, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT, args[0], str(threads), *args[1:]],
        env=load_script("benchmarks/portability.py").environment(capability),
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parent.parent,
    )
    return result.stdout.strip()


@pytest.fixture(scope="module")
def archives(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], Path]:
    folder = tmp_path_factory.mktemp("portability")
    made, seen = {}, set()
    for capability, threads in SETTINGS:
        path = folder / f"{capability}-{threads}.lstmz"
        seen.add(_run(capability, threads, "compress", str(path)))
        made[capability, threads] = path
    torch_used, numpy_used, blas_used = zip(*map(str.split, seen), strict=True)
    assert len(set(torch_used)) >= 2, f"ATEN_CPU_CAPABILITY changed nothing here: {seen}"
    assert len(set(numpy_used)) >= 2, f"NPY_DISABLE_CPU_FEATURES changed nothing here: {seen}"
    assert len(set(blas_used)) >= 2, f"OPENBLAS_CORETYPE changed nothing here: {seen}"
    return made


def test_same_archive_bytes_everywhere(archives: dict[tuple[str, int], Path]) -> None:
    digests = {key: hashlib.sha256(path.read_bytes()).hexdigest() for key, path in archives.items()}
    assert len(set(digests.values())) == 1, digests
    in_process = lstmzip.compress(PROBE_INPUT, level=PROBE_PRESET)
    assert hashlib.sha256(in_process).hexdigest() in digests.values()


def test_each_decodes_in_the_others(archives: dict[tuple[str, int], Path], tmp_path: Path) -> None:
    # Every archive is the same bytes (above), so decoding one under each setting covers all pairs.
    source = archives[WIDEST, 2]
    for capability, threads in SETTINGS:
        assert _run(capability, 3 - threads, "decompress", str(tmp_path / "ok"), str(source))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")
def test_cuda_gives_the_cpu_bytes() -> None:
    cpu = lstmzip.compress(PROBE_INPUT, level=PROBE_PRESET, device="cpu")
    cuda = lstmzip.compress(PROBE_INPUT, level=PROBE_PRESET, device="cuda")
    assert cuda == cpu
    assert lstmzip.decompress(cpu, device="cuda") == PROBE_INPUT


def test_the_portability_script_records_and_judges(tmp_path: Path) -> None:
    script = load_script("benchmarks/portability.py")
    sample = tmp_path / "sample.txt"
    sample.write_bytes(SAMPLE_TEXT)
    settings = (("default", 1), ("avx2", 2))
    checks = script.check(sample, "fast", 400, tmp_path, settings)
    assert [(c.capability, c.threads, c.size) for c in checks] == [("default", 1, 400), ("avx2", 2, 400)]
    assert [c.decoded_under for c in checks] == [settings[1], settings[0]]  # each decoded under the other
    assert len({c.digest for c in checks}) == 1 and script.consistent(checks)
    report = script.markdown(checks, "cmd", {"CPU": "Test CPU"})
    assert "- **CPU**: Test CPU" in report and "- fast, sample.txt: 2 archives" in report
    assert "identical, and each decodes" in report
    for broken in (replace(checks[1], digest="0" * 64), replace(checks[1], decoded=False)):
        assert not script.consistent([checks[0], broken])
        assert "**DIFFERENT or not decoded**" in script.markdown([checks[0], broken], "cmd", {})
