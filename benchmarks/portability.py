"""Archive bytes across CPU instruction sets and thread counts, recorded with the benchmark results.

    python benchmarks/portability.py [--bytes 65536] [--levels fast,default,best] [--out benchmarks/results] FILE...

For each FILE and level, compresses the first ``--bytes`` in a fresh process per setting
(``ATEN_CPU_CAPABILITY`` default, avx2 and avx512, one and two threads; NumPy's SIMD dispatch
limited to the same level with ``NPY_DISABLE_CPU_FEATURES``, since the match model, the context
counts and the probability map run in NumPy, and OpenBLAS's kernels with ``OPENBLAS_CORETYPE``,
since the matrix products run there), decodes each archive in a process of the next setting, and
writes ``portability.md``: each archive's size and SHA-256, the instruction sets torch, NumPy and
OpenBLAS reported, and whether the archives are all the same bytes.
``tests/test_portability.py`` checks the same property on a small probe in every test run (and this
script on a few hundred bytes); this script records it for the shipped levels on real files.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness import machine_summary

REPO_ROOT = Path(__file__).resolve().parent.parent


def cpu_has(flag: str) -> bool:
    """Whether /proc/cpuinfo lists ``flag`` (e.g. ``avx512f``)."""
    try:
        return flag in Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False


# Asking for an instruction set the CPU lacks kills the process (SIGILL): only those this CPU has.
_FLAG = {"default": "", "avx2": "avx2", "avx512": "avx512f"}
SETTINGS = tuple(
    (capability, threads)
    for capability, threads in (("default", 1), ("avx2", 1), ("avx2", 2), ("avx512", 1), ("avx512", 2))
    if not _FLAG[capability] or cpu_has(_FLAG[capability])
)
# NumPy's dispatch targets (x86-64 builds) above each torch capability: a process that runs torch
# without AVX2 runs NumPy's kernels at its SSE4.2 baseline too. Names a build lacks are ignored.
NUMPY_DISABLED = {
    "default": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR",
    "avx2": "X86_V4 AVX512_ICL AVX512_SPR",
    "avx512": "",
}
# The model's matrix products run in NumPy's OpenBLAS (``exact_tensors.matmul``): its kernels for the same levels.
OPENBLAS_CORETYPE = {"default": "Nehalem", "avx2": "Haswell", "avx512": "SkylakeX"}

# argv: compress|decompress, threads, level, input file, byte count, archive path
_WORKER = """
import sys
from pathlib import Path
import torch
from numpy.lib.introspect import opt_func_info
from threadpoolctl import threadpool_info
import lstmzip
torch.set_num_threads(int(sys.argv[2]))
data = Path(sys.argv[4]).read_bytes()[: int(sys.argv[5])]
archive = Path(sys.argv[6])
if sys.argv[1] == "compress":
    archive.write_bytes(lstmzip.compress(data, level=sys.argv[3]))
elif lstmzip.decompress(archive.read_bytes()) != data:
    sys.exit("decoded bytes differ")
blas = [pool["architecture"] for pool in threadpool_info() if pool["internal_api"] == "openblas"]
numpy_add = opt_func_info("^add$")["add"]["ddd"]["current"]
print(torch.backends.cpu.get_cpu_capability(), "/ numpy", numpy_add, "/ openblas", *blas)
"""


@dataclass(frozen=True)
class Check:
    level: str
    file: str
    size: int  # bytes of the file that were compressed
    capability: str  # ATEN_CPU_CAPABILITY asked for
    reported: str  # what torch used, NumPy's kernel for float64 addition and OpenBLAS's kernels
    threads: int
    archive_size: int
    digest: str  # SHA-256 of the archive
    decoded_under: tuple[str, int]  # (capability, threads) of the process that decoded it
    decoded: bool


def environment(capability: str) -> dict[str, str]:
    """This process's environment with torch's, NumPy's and OpenBLAS's instruction sets limited to ``capability``."""
    return {
        **os.environ,
        "ATEN_CPU_CAPABILITY": capability,
        "NPY_DISABLE_CPU_FEATURES": NUMPY_DISABLED[capability],
        "OPENBLAS_CORETYPE": OPENBLAS_CORETYPE[capability],
    }


def _run(capability: str, threads: int, *args: str) -> subprocess.CompletedProcess[str]:
    env = environment(capability)
    command = [sys.executable, "-c", _WORKER, args[0], str(threads), *args[1:]]
    return subprocess.run(command, env=env, capture_output=True, text=True, cwd=REPO_ROOT, check=False)


def check(
    path: Path, level: str, size: int, folder: Path, settings: tuple[tuple[str, int], ...] = SETTINGS
) -> list[Check]:
    """Compress the first ``size`` bytes of ``path`` under each setting; decode each under the next."""
    made: list[tuple[str, int, str, Path]] = []
    for capability, threads in settings:
        archive = folder / f"{path.name}.{level}.{capability}-{threads}.lstmz"
        result = _run(capability, threads, "compress", level, str(path), str(size), str(archive))
        if result.returncode:
            raise RuntimeError(f"compressing under {capability}/{threads} failed: {result.stderr.strip()}")
        made.append((capability, threads, result.stdout.strip(), archive))
    checks = []
    for index, (capability, threads, reported, archive) in enumerate(made):
        decoder = settings[(index + 1) % len(settings)]
        result = _run(*decoder, "decompress", level, str(path), str(size), str(archive))
        blob = archive.read_bytes()
        checks.append(
            Check(
                level,
                path.name,
                min(size, path.stat().st_size),
                capability,
                reported,
                threads,
                len(blob),
                hashlib.sha256(blob).hexdigest(),
                decoder,
                result.returncode == 0,
            )
        )
    return checks


def markdown(checks: list[Check], command: str, machine: dict[str, str]) -> str:
    """``portability.md``: the machine, one row per archive, and per level and file whether all are the same bytes."""
    lines = [
        "# Archive bytes across instruction sets and thread counts",
        "",
        *(f"- **{key}**: {value}" for key, value in machine.items()),
        "",
        f"Command: `{command}`. Each archive was made in a fresh process with `ATEN_CPU_CAPABILITY`",
        "set as shown, NumPy's SIMD targets above it disabled (`NPY_DISABLE_CPU_FEATURES`) and OpenBLAS's",
        "kernels chosen for it (`OPENBLAS_CORETYPE`: Nehalem, Haswell, SkylakeX); the processes report what",
        "torch used, NumPy's kernel for float64 addition and OpenBLAS's kernels. Each archive was",
        "decoded in a process with the next setting.",
        "",
        "| level | input | ATEN_CPU_CAPABILITY (torch / NumPy / OpenBLAS used) | threads | archive bytes | SHA-256 "
        "| decoded under | decoded |",
        "|---|---|---|---|---:|---|---|---|",
    ]
    for c in checks:
        lines.append(
            f"| {c.level} | {c.file}, first {c.size:,} bytes | {c.capability} ({c.reported}) | {c.threads} "
            f"| {c.archive_size:,} | `{c.digest[:16]}…` | {c.decoded_under[0]} / {c.decoded_under[1]} "
            f"| {'yes' if c.decoded else 'NO'} |"
        )
    lines.append("")
    for (level, file), group in _groups(checks).items():
        used = sorted({c.reported for c in group})
        verdict = "identical, and each decodes in another setting" if _agree(group) else "**DIFFERENT or not decoded**"
        lines.append(f"- {level}, {file}: {len(group)} archives ({', '.join(used)} used): {verdict}")
    return "\n".join(lines) + "\n"


def _groups(checks: list[Check]) -> dict[tuple[str, str], list[Check]]:
    """The checks by (level, file)."""
    groups: dict[tuple[str, str], list[Check]] = {}
    for c in checks:
        groups.setdefault((c.level, c.file), []).append(c)
    return groups


def _agree(group: list[Check]) -> bool:
    """One archive for every setting, and every setting decoded it."""
    return len({c.digest for c in group}) == 1 and all(c.decoded for c in group)


def consistent(checks: list[Check]) -> bool:
    """Whether every level and file gave one archive that every setting decoded."""
    return all(_agree(group) for group in _groups(checks).values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", type=Path, nargs="+")
    parser.add_argument("--bytes", type=int, default=65536)
    parser.add_argument("--levels", default="fast,default,best")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    checks: list[Check] = []
    with tempfile.TemporaryDirectory() as folder:
        for path in args.files:
            for level in args.levels.split(","):
                checks += check(path, level, args.bytes, Path(folder))
                print(f"{path.name} {level}: {len({c.digest for c in checks[-len(SETTINGS) :]})} distinct archive(s)")
    command = "python benchmarks/portability.py " + " ".join(sys.argv[1:])
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "portability.md").write_text(markdown(checks, command, machine_summary()), encoding="utf-8")
    return 0 if consistent(checks) else 1


if __name__ == "__main__":
    sys.exit(main())
