"""Where a level's time goes: model arithmetic vs Python/dispatch overhead vs coder, and FLOP/s.

    python benchmarks/profile_step.py [--level default] [--bytes 200000] [--out benchmarks/results] FILE

Compresses the first ``--bytes`` of FILE under cProfile (one thread, like the CLI) and sums the
time of each part of the coding loop: as it runs (a step is two calls of the compiled
``_core.Stepper``: the forward step with the side models' predictions and the map, then the side
models' updates), the LSTM's ``learn`` (Adam included), the range coder, the word codes and the
rest of the loop; then again with each model called on its own from Python (the reference's path),
which splits the step into the LSTM's ``predict``, the match model, the context model and the map.
It counts the model's floating-point operations per coded byte from its config (matrix products
only: 2 x rows x columns per product, forward and backward), and times the
matrix products of the model's own shapes and a large float64 product on this machine, so the
achieved rate can be read against what the machine can do. Writes ``profile.md`` into ``--out``.

cProfile adds a few microseconds per call, so shares of many small calls are a little inflated;
the KB/s printed is measured without the profiler, in a second run. On the CPU the model runs in
the compiled core (``core.py``), whose matrix products cProfile cannot see apart: profile the torch
reference with ``LSTMZIP_REFERENCE=1`` for that line.
"""

from __future__ import annotations

import argparse
import cProfile
import platform
import pstats
import time
from pathlib import Path
from unittest import mock

import torch

from lstmzip import codec
from lstmzip.exact_tensors import matmul
from lstmzip.model import ByteLSTM
from lstmzip.numerics import coding_threads
from lstmzip.predictor import Predictor
from lstmzip.presets import Preset, load_preset
from lstmzip.words import WordCodes

# (part, functions whose cumulative time it is); the rest of the loop is the remainder. A compiled method is
# file "~" and its name as cProfile writes it.
LEARN = [("model.py", "learn"), ("core.py", "learn")]
CODER = [("coder.py", "code"), ("coder.py", "finish")]
WORDS = [("words.py", "apply")]
STEP_PARTS = {  # the coding loop as it runs: a step is two calls of the compiled Stepper
    "forward step, side models' predictions, map (`Stepper.predict`)": [
        ("~", "<method 'predict' of 'lstmzip._core.Stepper' objects>")
    ],
    "side models' updates (`Stepper.update`)": [("~", "<method 'update' of 'lstmzip._core.Stepper' objects>")],
    "LSTM learn (BPTT + Adam)": LEARN,
    "range coder": CODER,
    "word codes": WORDS,
}
MODEL_PARTS = {  # each model's own compiled call from Python (the reference's path, and the Stepper's parts)
    "LSTM predict (forward step)": [("model.py", "predict"), ("core.py", "predict")],
    "LSTM learn (BPTT + Adam)": LEARN,
    "match model": [("match.py", "predict"), ("match.py", "update")],
    "context model": [("contexts.py", "predict"), ("contexts.py", "update")],
    "probability map": [("apm.py", "refine"), ("apm.py", "update")],
    "range coder": CODER,
    "word codes": WORDS,
}


MATRIX_OPS = ("bmm", "baddbmm_")  # torch's matrix-product calls (the context weights), as cProfile names them


def matmul_flops_per_byte(model: ByteLSTM) -> tuple[float, list[tuple[int, int, int]]]:
    """Forward + backward FLOPs of the matrix products per coded byte, and the forward shapes."""
    cfg = model.config
    B, H, L = cfg.streams, cfg.hidden, cfg.layers
    forward = [(B, H, 4 * H)] * L + [(B, H, 4 * H)] * (L - 1) + [(B, L * H, 256)]  # rec, below, out
    forward += [(B, cfg.word_input, 4 * H)] * bool(cfg.word_input)  # word vectors to layer 0's gates
    per_byte = sum(2 * k * n for _, k, n in forward)
    # Backward: each product gives a gradient for its input and for its weight, the same size again.
    return 3 * per_byte, forward


def gflops(m: int, k: int, n: int, repeats: int = 200) -> float:
    """The rate of ``exact_tensors.matmul`` (the model's products) on this shape, float64."""
    a, b = torch.randn(m, k, dtype=torch.float64), torch.randn(k, n, dtype=torch.float64)
    out = torch.empty(m, n, dtype=torch.float64)
    matmul(a, b, out=out)
    start = time.perf_counter()
    for _ in range(repeats):
        matmul(a, b, out=out)
    return 2 * m * k * n * repeats / (time.perf_counter() - start) / 1e9


def part_shares(data: bytes, preset: Preset, parts: dict[str, list[tuple[str, str]]]) -> tuple[dict[str, float], float]:
    """Each part's share of one compression under cProfile (the rest of the loop last), and the share of the
    matrix products that cProfile sees apart (the reference's)."""
    profiler = cProfile.Profile()
    profiler.enable()
    codec.compress(data, preset)
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = max(cumulative for (file, _, name), (_, _, _, cumulative, _) in stats.items() if name == "encode")
    shares = {
        part: sum(
            cumulative
            for (file, _, name), (_, _, _, cumulative, _) in stats.items()
            if any(file.endswith(suffix) and name == function for suffix, function in functions)
        )
        / total
        for part, functions in parts.items()
    }
    shares["rest of the loop (Python, tensor conversions)"] = 1.0 - sum(shares.values())
    products = sum(
        own
        for (file, _, name), (_, _, own, _, _) in stats.items()
        if (file.endswith("numerics.py") and name == "matmul")
        or (file == "~" and any(f"{op}'" in name or name.endswith(f".{op}>") for op in MATRIX_OPS))
    )
    return shares, products / total


def blas_name() -> str:
    from threadpoolctl import threadpool_info

    pools = [f"{pool['internal_api']} {pool['version']}" for pool in threadpool_info() if pool["user_api"] == "blas"]
    return ", ".join(pools) or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--level", default="default")
    parser.add_argument("--bytes", type=int, default=200_000)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = args.file.read_bytes()[: args.bytes]
    preset = load_preset(args.level)

    start = time.perf_counter()
    archive = codec.compress(data, preset)
    plain_seconds = time.perf_counter() - start

    shares, products = part_shares(data, preset, STEP_PARTS)
    with mock.patch.object(Predictor, "_compiled_step", lambda _self, _model: None):
        model_shares, _ = part_shares(data, preset, MODEL_PARTS)

    coded = len(WordCodes.apply(data)[1]) if preset.word_codes else len(data)
    model = ByteLSTM(preset.config_for(coded))
    flops, shapes = matmul_flops_per_byte(model)
    achieved = flops * coded / plain_seconds / 1e9
    with coding_threads():  # as in the codec
        shape_rates = [(shape, gflops(*shape)) for shape in dict.fromkeys(shapes)]
        peak = gflops(1024, 1024, 1024, repeats=5)

    cfg = model.config
    lines = [
        f"# Profile of one {args.level}-level compression",
        "",
        f"- input: first {len(data):,} bytes of `{args.file.name}` ({coded:,} bytes after word codes), "
        f"archive {len(archive):,} bytes ({8 * len(archive) / len(data):.3f} bpb)",
        f"- model: {cfg.layers} x {cfg.hidden} LSTM, {cfg.streams} streams, segment {cfg.segment}, "
        f"context orders {cfg.context_orders or 'none'}",
        f"- machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, one thread; matrix "
        f"products in NumPy's BLAS ({blas_name()}); "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- speed without the profiler: {len(data) / plain_seconds / 1000:.1f} KB/s of input "
        f"({coded / plain_seconds / 1000:.1f} KB/s of coded bytes)",
        "",
        "| part | share of the time (under cProfile) |",
        "|---|---:|",
        *(f"| {part} | {100 * share:.1f} % |" for part, share in shares.items()),
        f"| *of predict and learn: the matrix products themselves* | *{100 * products:.1f} %* |",
        "",
        "The same compression with each model called on its own from Python (the path of the reference, whose "
        "compiled parts the Stepper runs; the Python between them, which the Stepper does not run, lands in the "
        "rest):",
        "",
        "| part | share of the time (under cProfile) |",
        "|---|---:|",
        *(f"| {part} | {100 * share:.1f} % |" for part, share in model_shares.items()),
        "",
        f"Matrix-product arithmetic: {flops / 1e6:.2f} MFLOP per coded byte (forward + backward), so the run "
        f"achieved {achieved:.2f} GFLOP/s in float64. This core does {peak:.1f} GFLOP/s on a 1024 x 1024 "
        f"float64 product ({100 * achieved / peak:.0f} % of that) and, on the model's own forward shapes:",
        "",
        "| product (rows x inner x columns) | GFLOP/s |",
        "|---|---:|",
        *(f"| {m} x {k} x {n} | {rate:.1f} |" for (m, k, n), rate in shape_rates),
        "",
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "profile.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
