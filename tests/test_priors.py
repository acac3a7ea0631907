"""Priors: exact storage, pinned digests, clean refusals, and the start they give the model."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from lstmzip import assets, codec, container, priors
from lstmzip.contexts import BYTE_CLASSES, CONFIDENCE_BUCKETS
from lstmzip.errors import UnsupportedFormatError
from lstmzip.model import ByteLSTM
from lstmzip.parameters import CONTEXT_INIT, ParameterLayout, initial_master
from lstmzip.presets import load_preset
from tests.helpers import TINY, load_script, sample_words


def test_pack_is_exact_on_the_grid() -> None:
    master = np.array([0.0, 1.5, -3.999755859375, 2.0**-12, -(2.0**-12), 0.3], dtype=np.float32)
    restored = priors.unpack(priors.pack(master))
    assert restored.dtype == np.float64
    assert np.array_equal(restored[:5], master[:5])  # values on the 2**-12 grid come back exactly
    assert restored[5] == round(float(master[5]) * 4096) / 4096
    assert priors.pack(restored) == priors.pack(master)


def test_garbage_is_not_a_prior() -> None:
    for blob in (b"something else", priors.MAGIC + b"odd"):
        with pytest.raises(ValueError, match="not a prior"):
            priors.unpack(blob)


def test_training_is_deterministic_and_moves_the_weights() -> None:
    documents = [sample_words(300, seed=1), sample_words(300, seed=2)]
    first = codec.train(documents, TINY, streams=4)
    second = codec.train(documents, TINY, streams=4)
    seeded = ByteLSTM(replace(TINY.model, streams=4))
    assert np.array_equal(first.master, second.master)
    assert not np.array_equal(first.master, seeded.master.numpy())
    assert first.schedule.step_count > 0


def test_a_trained_prior_round_trips_and_helps(monkeypatch: pytest.MonkeyPatch) -> None:
    trained = codec.train([sample_words(2000, seed=1)], TINY, streams=4)
    blob = priors.pack(trained.master)
    monkeypatch.setattr(assets, "PRIORS", {"test-prior": hashlib.sha256(blob).hexdigest()})
    monkeypatch.setattr(priors, "_read", lambda name: blob)
    with_prior = replace(TINY, model=replace(TINY.model, prior="test-prior"))
    text = sample_words(400, seed=9)
    archive = codec.compress(text, with_prior)
    assert codec.read_info(archive)[2].prior == "test-prior"
    assert codec.decompress(archive) == text
    assert len(archive) < len(codec.compress(text, TINY))  # the prior has seen this kind of text


def test_unknown_prior_is_refused() -> None:
    preset = replace(TINY, model=replace(TINY.model, prior="no-such-prior"))
    with pytest.raises(UnsupportedFormatError, match="no-such-prior"):
        codec.compress(b"some text " * 20, preset)


def test_changed_prior_file_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    archive = codec.compress(b"some text " * 200, "default")
    name = codec.read_info(archive)[2].prior
    assert name in assets.PRIORS  # the default level ships with its prior
    monkeypatch.setattr(assets, "PRIORS", {name: "0" * 64})
    with pytest.raises(UnsupportedFormatError, match="not the one"):
        codec.decompress(archive)


def test_prior_for_another_network_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    blob = priors.pack(np.zeros(10))
    monkeypatch.setattr(assets, "PRIORS", {"small": hashlib.sha256(blob).hexdigest()})
    monkeypatch.setattr(priors, "_read", lambda name: blob)
    preset = replace(TINY, model=replace(TINY.model, prior="small"))
    with pytest.raises(Exception, match="does not fit"):
        codec.compress(b"some text " * 20, preset)


def test_shipped_priors_fit_their_levels() -> None:
    for level in ("fast", "default", "best"):
        config = load_preset(level).model
        if config.prior:
            ByteLSTM(replace(config, streams=1), initial=priors.load(config.prior))


def test_a_prior_starts_the_contexts_it_did_not_learn() -> None:
    """A prior learns without the word and above contexts and the determinism buckets: each context's
    weight sets start both halves of its buckets, and the word and above contexts start as seeded."""
    learned = replace(TINY.model, context_orders="1,2", context_columns=8)
    widened = replace(learned, context_words=1, context_above=1, context_determinism=1)
    prior = initial_master(learned, ParameterLayout.of(learned)) + np.float32(0.25)  # not the seeded weights
    start = initial_master(widened, ParameterLayout.of(widened), prior)
    width = BYTE_CLASSES * CONFIDENCE_BUCKETS  # a context's weight sets in the prior
    trained = prior[-learned.context_count() * width :].reshape(-1, BYTE_CLASSES, CONFIDENCE_BUCKETS)
    contexts = start[-widened.context_count() * 2 * width :].reshape(-1, BYTE_CLASSES, 2, CONFIDENCE_BUCKETS)
    assert np.array_equal(contexts[: len(trained), :, 0], trained)
    assert np.array_equal(contexts[: len(trained), :, 1], trained)
    assert np.all(contexts[len(trained) :] == CONTEXT_INIT)  # the word and above contexts
    assert np.array_equal(start[: -len(contexts.reshape(-1))], prior[: -len(trained.reshape(-1))])


def test_a_prior_starts_an_order_it_did_not_learn_from_the_nearest_order_below(monkeypatch: pytest.MonkeyPatch) -> None:
    """A level may mix orders its prior did not learn (order 8 from order 6's weights): the prior's own
    orders, recorded with it, say which of its weight sets is which."""
    assert set(priors.CONTEXT_ORDERS) == set(assets.PRIORS)  # every shipped prior says which orders it learned
    monkeypatch.setitem(priors.CONTEXT_ORDERS, "orders-1-2", (1, 2))
    learned = replace(TINY.model, context_orders="1,2", context_columns=8, prior="orders-1-2")
    wider = replace(learned, context_orders="1,2,4")
    width = BYTE_CLASSES * CONFIDENCE_BUCKETS
    prior = initial_master(learned, ParameterLayout.of(learned))
    prior[-3 * width :] = np.repeat(np.float32([1.0, 2.0, 3.0]), width)  # orders 1 and 2, then the column
    start = initial_master(wider, ParameterLayout.of(wider), prior)
    assert np.array_equal(start[-4 * width :], np.repeat(np.float32([1.0, 2.0, 2.0, 3.0]), width))
    assert np.array_equal(start[: -4 * width], prior[: -3 * width])


@pytest.mark.parametrize("name", assets.PRIORS)
def test_every_known_prior_still_decodes_its_archives(name: str) -> None:
    """Priors a level no longer starts from (text-d11) still decode the archives that name them, and
    every prior holds the weights it held as an xz file: its archive, made then, decodes, and
    compressing again gives the same blocks."""
    level_of = {"f": "fast", "d": "default", "b": "best"}  # text-<level letter><generation>
    # the level's network and probability map when its prior was this one
    earlier_network = {"text-d11": {"hidden": 128, "apm_rate_bits": 0}, "text-d12": {"apm_rate_bits": 0}}
    text = sample_words(80, seed=5)
    preset = load_preset(level_of[name.split("-")[1][0]])
    # as the levels were then: without the word and above contexts and the determinism buckets
    earlier = {"context_words": 0, "context_above": 0, "context_determinism": 0, **earlier_network.get(name, {})}
    earlier |= {"context_orders": ",".join(map(str, priors.CONTEXT_ORDERS[name])), "apm_rate_start": 0}
    preset = replace(preset, model=replace(preset.model, prior=name, **earlier))
    old = (Path(__file__).parent / "data" / f"prior-xz-{name}.lstmz").read_bytes()
    assert codec.read_info(old)[2].prior == name
    assert codec.decompress(old) == text
    new = codec.compress(text, preset)  # its header may name a retired level definition, or not
    assert new[container.read_header(new)[1] :] == old[container.read_header(old)[1] :]


def test_train_prior_script_writes_a_loadable_prior(tmp_path: Path) -> None:
    text = tmp_path / "text.txt"
    text.write_bytes(sample_words(600, seed=4))
    script = Path(__file__).resolve().parent.parent / "scripts" / "train_prior.py"
    result = subprocess.run(
        [sys.executable, str(script), "fast", "test-fast", str(text), "--streams", "8", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    blob = (tmp_path / ("test-fast" + priors.SUFFIX)).read_bytes()
    assert result.stdout.strip() == f'"test-fast": "{hashlib.sha256(blob).hexdigest()}",'
    config = load_preset("fast").model
    ByteLSTM(replace(config, streams=1), initial=priors.unpack(blob))  # fits the fast level's network
    for dictionary in (True, False):  # with and without the word context, whichever text it starts
        ByteLSTM(load_preset("fast").config_for(10_000, True, dictionary), initial=priors.unpack(blob))


def test_text_starts_from_the_prior_and_binary_does_not() -> None:
    assert codec.looks_like_text(b"") and codec.looks_like_text("naïve café\r\n\t".encode())
    assert not codec.looks_like_text(bytes(range(256)))
    text_archive = codec.compress(b"plain words, " * 100, "default")
    binary_archive = codec.compress(bytes(range(256)) * 8, "default")
    assert codec.read_info(text_archive)[2].prior == load_preset("default").model.prior != ""
    assert codec.read_info(binary_archive)[2].prior == ""
    assert codec.decompress(binary_archive) == bytes(range(256)) * 8


def test_prior_texts_leave_out_fortune_indexes_book_quotes_and_pythons_info_manual(tmp_path: Path) -> None:
    fortunes, info = tmp_path / "fortunes", tmp_path / "info"
    (fortunes / "off").mkdir(parents=True)
    info.mkdir()
    for name in ("wisdom", "wisdom.dat", "wisdom.u8", "literature", "ascii-art"):
        (fortunes / name).write_text("A fortune.\n%\n")
    for name in ("grep.info.gz", "python3.11.info.gz"):
        (info / name).write_text("A manual.\n")
    (tmp_path / "guide.txt").write_text("A guide.\n")
    patterns = (f"{tmp_path}/guide.txt", f"{tmp_path}/fortunes/*", f"{tmp_path}/info/*.gz")
    found = load_script("scripts/prior_texts.py").texts(patterns)
    assert found == [fortunes / "wisdom", tmp_path / "guide.txt", info / "grep.info.gz"]


def test_a_loaded_prior_is_the_callers_own_copy() -> None:
    """Each load is a new array: what one caller changes, the next does not see."""
    name = load_preset("default").model.prior
    first = priors.load(name)
    first[:] = 0.0
    second = priors.load(name)
    assert np.array_equal(second, priors.unpack(priors._read(name)))
    assert np.abs(second).sum() > 0
