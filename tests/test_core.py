"""The compiled core against its oracle, the torch reference: the same archives and the same state, bit for bit."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

import lstmzip
from lstmzip.apm import ProbabilityMap
from lstmzip.compiled import REFERENCE_ENVIRONMENT, _core
from lstmzip.config import ALPHABET, ModelConfig
from lstmzip.contexts import ContextModel
from lstmzip.core import CoreLSTM
from lstmzip.match import MatchModel
from lstmzip.model import ByteLSTM
from lstmzip.presets import Preset
from lstmzip.words import WORD_ROWS, Columns, WordCodes
from tests.helpers import REPO_ROOT, TINY, bare_config, english_words, sample_bytes, sample_words
from tests.test_scripts import script_text

pytestmark = pytest.mark.skipif(_core is None, reason="the compiled core is not built")

MOMENTUM = replace(TINY, model=replace(TINY.model, beta1=0.9))
NO_SIDE_MODELS = replace(TINY, model=bare_config(hidden=16, streams=4, segment=4))  # the network alone


def _both_archives(data: bytes, level: str | Preset, monkeypatch: pytest.MonkeyPatch) -> tuple[bytes, bytes]:
    """(archive by the compiled core, archive by the torch reference)."""
    monkeypatch.delenv(REFERENCE_ENVIRONMENT, raising=False)
    core = lstmzip.compress(data, level)
    monkeypatch.setenv(REFERENCE_ENVIRONMENT, "1")
    reference = lstmzip.compress(data, level)
    monkeypatch.delenv(REFERENCE_ENVIRONMENT)
    return core, reference


@pytest.mark.parametrize(
    "level",
    ["fast", "default", "best", TINY, MOMENTUM, NO_SIDE_MODELS],
    ids=["fast", "default", "best", "tiny", "momentum", "no-side-models"],
)
@pytest.mark.parametrize("kind", ["text", "cyrillic", "binary"])
def test_core_writes_the_reference_archive(level: str | Preset, kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # text starts from the level's prior with word codes; Cyrillic text adds the word context (no
    # dictionary codes it); binary starts from seeded weights, in fewer streams
    inputs = {"text": sample_words(150), "cyrillic": script_text("cyrillic", 150).encode(), "binary": sample_bytes(800)}
    data = inputs[kind]
    core, reference = _both_archives(data, level, monkeypatch)
    assert core == reference
    assert lstmzip.decompress(core) == data


_CLONE_LEVELS = ("fast", "default")  # the best level runs the same kernels, only longer
_BASELINE_ARCHIVES = f"""
import hashlib, importlib.util, sys
LEVELS = {_CLONE_LEVELS!r}
spec = importlib.util.spec_from_file_location("lstmzip._core", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
sys.modules["lstmzip._core"] = module
import lstmzip
inputs = [open(name, "rb").read() for name in sys.argv[2:]]
print(" ".join(hashlib.sha256(lstmzip.compress(data, level)).hexdigest() for data in inputs for level in LEVELS))
"""


def test_the_core_without_clones_writes_the_same_archives(tmp_path: Path) -> None:
    # This machine runs the AVX2 and FMA clones; a CPU without them runs the baseline code, which a
    # build without clones makes (the product kernels then do not fuse multiply-adds).
    build = subprocess.run(
        [
            sys.executable,
            "setup.py",
            "-q",
            "build_ext",
            "--build-lib",
            str(tmp_path / "lib"),
            "--build-temp",
            str(tmp_path / "temp"),
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "CFLAGS": "-DLSTMZIP_NO_CLONES"},
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    (library,) = (tmp_path / "lib" / "lstmzip").glob("_core*")
    inputs = {tmp_path / "text": sample_words(2500), tmp_path / "binary": sample_bytes(6000)}
    for path, data in inputs.items():
        path.write_bytes(data)
    run = [sys.executable, "-c", _BASELINE_ARCHIVES, str(library), *map(str, inputs)]
    baseline = subprocess.run(run, cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.split()
    here = [
        hashlib.sha256(lstmzip.compress(data, level)).hexdigest() for data in inputs.values() for level in _CLONE_LEVELS
    ]
    assert baseline == here


def _random_inputs(model: CoreLSTM, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """One step's inputs of every kind, each over its whole range (x, expected, bucket, features, confidence,
    column, word)."""
    cfg, B = model.config, model.config.streams
    K = model.weight_offsets.shape[1]
    return (
        rng.integers(0, ALPHABET, B),
        rng.integers(0, ALPHABET, B),
        rng.integers(0, 17, B),  # BUCKETS + 1: 16 is "no match"
        rng.integers(0, 1 << 15, (B, K, ALPHABET)).astype(np.float32),
        rng.integers(0, 12, (B, K)),
        rng.integers(0, max(cfg.context_columns, 1), B),
        rng.integers(0, WORD_ROWS + 1, B),
    )


def _as_tensors(values: tuple[np.ndarray, ...]) -> list[torch.Tensor]:
    return [torch.from_numpy(v) for v in values]


STATE = ("master", "adam_v", "forward_weights", "grad", "hcat", "cell", "gates", "tanh_cell")


@pytest.mark.parametrize(
    ("config", "blas"),
    [
        (TINY.model, True),
        (TINY.model, False),  # the core's own matrix kernel
        (MOMENTUM.model, True),
        (replace(TINY.model, layers=1, column_input=0, word_input=0), True),
        (replace(TINY.model, layers=3, hidden=24, segment=3, streams=5), False),
    ],
    ids=["tiny", "tiny-own-kernel", "momentum", "one-layer", "three-layers-own-kernel"],
)
def test_core_state_equals_the_reference_state(config: ModelConfig, blas: bool) -> None:
    reference, core = ByteLSTM(config), CoreLSTM(config, blas=blas)
    rng = np.random.default_rng(5)
    T, B = config.segment, config.streams
    for segment in range(12):
        for _ in range(T):
            x, expected, bucket, features, confidence, column, word = _random_inputs(core, rng)
            tensors = _as_tensors((x, expected, bucket, features, confidence, column, word))
            predicted = reference.predict(*tensors[:3], (tensors[3], tensors[4]), *tensors[5:])
            assert np.array_equal(core.predict(x, expected, bucket, (features, confidence), column, word), predicted)
        targets = rng.integers(0, ALPHABET, (T, B))
        weight = rng.integers(0, 2, (T, B)).astype(np.float64) if segment % 3 == 2 else None
        reference.learn(torch.from_numpy(targets), None if weight is None else torch.from_numpy(weight))
        core.learn(targets, weight)
        for name in STATE:
            assert np.array_equal(getattr(core, name), getattr(reference, name).numpy()), (segment, name)
        if reference.adam_m is not None:
            assert core.adam_m is not None and np.array_equal(core.adam_m, reference.adam_m.numpy())


def test_core_learns_a_short_last_segment_as_the_reference() -> None:
    reference, core = ByteLSTM(TINY.model), CoreLSTM(TINY.model)
    rng = np.random.default_rng(9)
    inputs = _random_inputs(core, rng)
    for model in (reference, core):
        model.predict(*(_as_tensors(inputs) if model is reference else inputs)[:3])
    targets = rng.integers(0, ALPHABET, (1, TINY.model.streams))
    reference.learn(torch.from_numpy(targets))
    core.learn(targets)
    assert np.array_equal(core.master, reference.master.numpy())


def test_core_refuses_inputs_that_would_read_outside_its_tables() -> None:
    core = CoreLSTM(TINY.model)
    x = np.zeros(TINY.model.streams, dtype=np.int64)
    with pytest.raises(ValueError):
        core.predict(x + ALPHABET)
    with pytest.raises(ValueError):
        core.predict(x.astype(np.int32))  # the wrong item size
    with pytest.raises(ValueError):
        core.predict(x, x, x + 17)  # bucket beyond "no match"


@pytest.mark.parametrize(
    ("orders", "words"),
    [((1, 2, 3, 4, 6), True), ((), False)],
    ids=["orders-words-above-determinism", "columns-only"],
)
def test_compiled_context_counts_equal_numpys(
    orders: tuple[int, ...], words: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a low count limit halves rows often, 8 hash bits collide often, a short last stream leaves some inactive;
    # lines of many lengths, one longer than the above context's width, and words of other scripts
    lines = sample_words(900).replace(b"e ", b"e\n").replace(b"ta", "\u0436\u03b8".encode())
    streams, data = 6, lines + b"x" * 3000 + b"\n" + lines[:2000]
    codes = WordCodes.apply(data, "")[0]
    models = []
    for flag in ("0", "1"):
        monkeypatch.setenv(REFERENCE_ENVIRONMENT, flag)
        columns = Columns(codes, streams, 40)
        models.append(ContextModel(streams, orders, 8, 5, columns, words, above=words, determinism=words))
    compiled, reference = models
    assert compiled.compiled is not None and reference.compiled is None
    matrix = np.frombuffer(data[: len(data) // streams * streams], dtype=np.uint8).reshape(streams, -1)
    for t in range(matrix.shape[1]):
        for feature, expected in zip(compiled.predict(), reference.predict(), strict=True):
            assert np.array_equal(feature, expected), t
        active = streams - (t % 7 == 3)
        for model in models:
            model.update(matrix[:, t], active)
        for name in ("counts", "totals", "rows", "history", "word", "line", "line_before", "place"):
            assert np.array_equal(getattr(compiled, name), getattr(reference, name)), (t, name)


@pytest.mark.parametrize(("min_length", "long_length"), [(4, 12), (3, 0)])
def test_compiled_match_model_equals_numpys(min_length: int, long_length: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # repeats within and across streams; 10 hash bits collide often
    streams, text = 5, (sample_words(150) * 3)[:2000]
    matrix = np.frombuffer(text, dtype=np.uint8).reshape(streams, -1).copy()
    models = []
    for flag in ("0", "1"):
        monkeypatch.setenv(REFERENCE_ENVIRONMENT, flag)
        models.append(MatchModel(matrix, min_length, 10, long_length))
    compiled, reference = models
    assert compiled.compiled is not None and reference.compiled is None
    for t in range(matrix.shape[1]):
        for prediction, expected in zip(compiled.predict(), reference.predict(), strict=True):
            assert np.array_equal(prediction, expected), t
        for model in models:
            model.update(t)
        for name in ("pointer", "length", "chains"):
            assert np.array_equal(getattr(compiled, name), getattr(reference, name)), (t, name)
        assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(compiled.tables, reference.tables, strict=True))


@pytest.mark.parametrize("dictionary", ["en-3", ""])
def test_compiled_columns_equal_numpys(dictionary: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # dictionary codes of one to three bytes (English words), file codes (made-up words), an escape, a UTF-8
    # character, newlines, and a column limit that is reached
    english = english_words(1500) if dictionary else b""
    text = english + sample_words(1500) + b"caf\xc3\xa9 \xff\x80 end\n" + b"x" * 90 + b"\n"
    words, coded = WordCodes.apply(text, dictionary)
    assert words.active
    streams = 3
    matrix = np.frombuffer(coded[: len(coded) // streams * streams], dtype=np.uint8).reshape(streams, -1)
    models = []
    for flag in ("0", "1"):
        monkeypatch.setenv(REFERENCE_ENVIRONMENT, flag)
        models.append(Columns(words, streams, 64))
    compiled, reference = models
    assert compiled.compiled is not None and reference.compiled is None
    for t in range(matrix.shape[1]):
        assert np.array_equal(compiled.update(matrix[:, t]), reference.update(matrix[:, t])), t
        for name in ("pending", "rank", "word"):
            assert np.array_equal(getattr(compiled, name), getattr(reference, name)), (t, name)


@pytest.mark.parametrize("rate_start", [0, 3])
def test_compiled_probability_map_equals_numpys(monkeypatch: pytest.MonkeyPatch, rate_start: int) -> None:
    # sharp and flat distributions, streams that end (fewer rows), bytes that share the map's entries; a
    # fixed rate, and rates by update count that reach the fixed one
    rng = np.random.default_rng(11)
    maps = []
    for flag in ("0", "1"):
        monkeypatch.setenv(REFERENCE_ENVIRONMENT, flag)
        maps.append(ProbabilityMap(4, rate_start))
    compiled, reference = maps
    assert compiled.compiled is not None and reference.compiled is None
    for step in range(300):
        n = 6 if step < 200 else 4
        weights = np.floor(2.0 ** rng.uniform(0, 30, (n, 256)))
        symbols = rng.integers(0, 256, n).astype(np.uint8) if step % 2 else np.full(n, 97, dtype=np.uint8)
        assert np.array_equal(compiled.refine(weights), reference.refine(weights)), step
        for model in maps:
            model.update(symbols)
        assert np.array_equal(compiled.table, reference.table), step
        assert np.array_equal(compiled.updates, reference.updates), step
    assert compiled.updates.max() == len(compiled.rates) - 1  # counted up to the last rate, no further


def test_the_cpu_path_does_not_import_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    # torch's import is most of a small file's wall time; only the reference, CUDA and training need it
    monkeypatch.delenv(REFERENCE_ENVIRONMENT, raising=False)
    script = (
        "import sys, lstmzip\n"
        "data = b'Small files stay quick. ' * 20\n"
        "for level in ('fast', 'default', 'best'):\n"
        "    assert lstmzip.decompress(lstmzip.compress(data, level=level)) == data\n"
        "print('torch' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
