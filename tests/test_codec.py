"""Round trips, the golden archive, and damaged input: the codec never returns wrong bytes."""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lstmzip
from lstmzip import codec, container, transforms, words
from lstmzip.errors import (
    ArchiveError,
    CorruptArchiveError,
    NotAnArchiveError,
    PresetError,
    TruncatedArchiveError,
    UnsupportedFormatError,
)
from lstmzip.presets import RETIRED_LEVELS, FromScratch, Preset, load_preset, preset_of_digest
from tests.helpers import SAMPLE_TEXT, TINY, english_words, sample_bytes, sample_words
from tests.test_scripts import script_text
from tests.test_transforms import x86_like

EDGE_CASES = {
    "empty": b"",
    "one byte": b"\x00",
    "one high byte": b"\xff",
    "all byte values": bytes(range(256)),
    "3000 zeros": bytes(3000),
    "text": SAMPLE_TEXT,
}


@pytest.mark.parametrize("data", EDGE_CASES.values(), ids=EDGE_CASES.keys())
def test_round_trip_edge_cases(data: bytes) -> None:
    archive = lstmzip.compress(data, level=TINY)
    assert lstmzip.decompress(archive) == data


def test_round_trip_40kb_random_with_fast_preset() -> None:
    data = sample_bytes(40_000)
    archive = lstmzip.compress(data, level="fast")
    assert lstmzip.decompress(archive) == data
    # Incompressible blocks are stored, so random data grows by framing only.
    assert len(archive) < len(data) + 400


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_round_trip_property(data: bytes) -> None:
    assert lstmzip.decompress(lstmzip.compress(data, level=TINY)) == data


def test_text_compresses() -> None:
    data = SAMPLE_TEXT * 4
    assert len(lstmzip.compress(data, level=TINY)) < len(data) // 3  # the match model finds the repeats


def test_stream_layout_covers_every_byte_once() -> None:
    for size in (1, 2, 5, 63, 64, 65, 1000, 1001):
        for streams in (1, 3, 4, 16):
            layout = codec.Layout.for_size(size, streams)
            lengths = [end for _, end in layout.stream_parts(0, layout.steps)]
            assert sum(lengths) == size and all(n > 0 for n in lengths) and layout.streams <= streams


# A tiny preset on a fixed input gives exactly these bytes. Any change of format, numerics, tables,
# initialisation, training or coder breaks this on purpose: such a change needs a new format or
# profile version, not a silent change of archives.
GOLDEN_INPUT = sample_words(2000)  # 12,279 bytes of made-up text: file codes on (5,577 bytes reach the model)
ENGLISH_INPUT = english_words(2000)  # words of the en-3 dictionary: its codes
# level -> (input, archive size, SHA-256); "default" also pins its prior, dictionary and 2**15-slot hash tables
GOLDEN = {
    # Format 15 (0.21.0): the header only changed from 0.20.0's 3,070 bytes (the blocks are the same:
    # test_archives_of_0_20_0_decode_and_keep_their_blocks)
    TINY: (GOLDEN_INPUT, 3054, "9a4a0e2ea6e19300c5472bd2c80f111b024aaebdf603342fe75758177b6a825b"),
    # Refers to its level. The made-up words of GOLDEN_INPUT were pinned here until the dictionary went
    # only to the words it covers (they take no codes now: GOLDEN_KINDS["uncovered"]). Prior text-d12;
    # 2,042 bytes before the level took its probability map; the same size, other bytes, before its
    # determinism buckets, and before order 8; 2,034 before the map's rate start.
    "default": (ENGLISH_INPUT, 2014, "42852398fb42764dfa06334c7e0a1202f8bbe51b6f3055816d1ddaca60dff2f2"),
}


def _tiny_preset_data(**fields: object) -> dict[str, object]:
    """TINY as a preset file would hold it, with ``fields`` added."""
    model = {key: value for key, value in TINY.model.to_dict().items() if key not in ("streams", "numerics")}
    return {"max_streams": 4, "min_stream_bytes": 64, "block_bytes": 256, "model": model, **fields}


def test_long_inputs_decay_the_step_size_more_slowly() -> None:
    default = load_preset("default")  # 48 streams x 10 steps: 480 coded bytes per update
    assert default.config_for(460_005).lr_decay_updates == 200  # book1: 958 updates, the preset's 200
    assert default.config_for(1_501_521).lr_decay_updates == 469  # world192.txt: 15 % of 3,128 updates
    slow = replace(TINY, lr_decay_min_share=1.0)  # halve the step size only at the end
    archive = lstmzip.compress(SAMPLE_TEXT, level=slow)
    _, coding, config, _ = codec.read_info(archive)
    updates = coding.coded_size // (config.streams * config.segment)
    assert config.lr_decay_updates == updates > TINY.model.lr_decay_updates  # the header says what was used
    assert lstmzip.decompress(archive) == SAMPLE_TEXT
    with pytest.raises(PresetError, match="lr_decay_min_share"):
        Preset.from_dict("broken", _tiny_preset_data(lr_decay_min_share=1.5))


def test_archives_one_after_another_decode_to_their_contents_one_after_another() -> None:
    # As with gzip, bzip2, xz and zstd: `cat a.lstmz b.lstmz` and `lstmzip -c new.log >> logs.lstmz`.
    contents = [SAMPLE_TEXT, b"", bytes(range(256))]
    archives = [lstmzip.compress(content, level=TINY) for content in contents]
    joined = b"".join(archives)
    assert [bytes(part) for part in container.split_archives(joined)] == archives
    seen: list[tuple[int, int]] = []
    assert lstmzip.decompress(joined, progress=lambda done, written: seen.append((done, written))) == b"".join(contents)
    assert seen == sorted(seen) and seen[-1][0] == len(b"".join(contents))  # counted on across archives
    with pytest.raises(CorruptArchiveError, match="unexpected data after the end of the archive"):
        lstmzip.decompress(archives[0] + b"\n")  # anything that is not an archive
    with pytest.raises(TruncatedArchiveError):
        lstmzip.decompress(archives[0] + archives[2][:-1])  # refused before decoding the first
    damaged = bytearray(joined)
    damaged[-1] ^= 1  # the last archive's content checksum
    with pytest.raises(CorruptArchiveError, match="content checksum"):
        lstmzip.decompress(bytes(damaged))


def test_short_inputs_get_hash_tables_sized_for_them() -> None:
    # At most four slots per coded byte, never more than the preset's: a 2 KB text no longer makes
    # the default level's 218 MB count table resident.
    default = load_preset("default")
    bits = {size: default.config_for(size) for size in (0, 2_000, 65_536, 65_537, 1_000_000)}
    assert {size: (c.context_hash_bits, c.match_hash_bits) for size, c in bits.items()} == {
        0: (8, 10),
        2_000: (13, 13),
        65_536: (18, 18),
        65_537: (18, 19),
        1_000_000: (18, 20),
    }
    assert TINY.config_for(5_000).context_hash_bits == TINY.model.context_hash_bits  # 10: the preset's
    archive = lstmzip.compress(SAMPLE_TEXT * 4, level="default")
    _, _, config, _ = codec.read_info(archive)
    assert (config.context_hash_bits, config.match_hash_bits) == (13, 13)  # the header says what was used
    assert lstmzip.decompress(archive) == SAMPLE_TEXT * 4


def test_a_model_without_a_prior_takes_its_own_streams_and_step_size() -> None:
    best = load_preset("best")
    text, binary = best.config_for(300_000, text=True), best.config_for(300_000, text=False)
    assert (text.prior, text.streams, text.learning_rate) == (best.model.prior, 20, best.model.learning_rate)
    assert (binary.prior, binary.streams, binary.learning_rate) == ("", 10, best.from_scratch.learning_rate)
    default = load_preset("default")
    binary = default.config_for(60_000, text=False)  # 16 KiB per stream, the text's step size
    assert (binary.streams, binary.learning_rate) == (3, default.model.learning_rate)
    fast = load_preset("fast")  # text: up to 48 streams of 2 KiB; other input: up to 32 of 4 KiB
    assert (fast.config_for(200_000, text=True).streams, fast.config_for(200_000, text=False).streams) == (48, 32)
    # TINY names no prior: every input starts from scratch
    scratch = replace(TINY, from_scratch=FromScratch(max_streams=3, min_stream_bytes=256, learning_rate=0.5))
    data = sample_bytes(2000)
    archive = lstmzip.compress(data, level=scratch)
    config = codec.read_info(archive)[2]
    assert (config.streams, config.learning_rate) == (3, 0.5)  # the header says what was used
    assert lstmzip.decompress(archive) == data
    for broken, message in [
        ({"min_stream_bytes": -1}, "min_stream_bytes"),
        ({"learning_rate": 2.0}, "learning_rate"),
        ({"streams": 3}, "unknown keys"),
        ([3], "must be an object"),
    ]:
        with pytest.raises(PresetError, match=message):
            Preset.from_dict("broken", _tiny_preset_data(from_scratch=broken))


@pytest.mark.parametrize("level", GOLDEN, ids=["tiny", "default"])
def test_golden_archive(level: Preset | str) -> None:
    data, size, digest = GOLDEN[level]
    archive = lstmzip.compress(data, level=level)
    assert (len(archive), hashlib.sha256(archive).hexdigest()) == (size, digest)
    assert lstmzip.decompress(archive) == data


GOLDEN_KINDS = {  # beyond English: name -> (input, level, archive size, SHA-256)
    # made-up Cyrillic prose: no dictionary codes it, so the word context is on (and the above context, as for any text)
    "cyrillic": (
        script_text("cyrillic", 1500).encode(),
        "default",
        # 2,327 before the level took its probability map, 2,295 before its determinism buckets, 2,291 before
        # order 8 (which pays on long inputs, not on 1.5 KB), 2,303 before the map's rate start
        2243,
        "45c54bf85aa7a03e7ad5746d5847cf89f11082b3164527b6a79cef7826dd4c54",
    ),
    # made-up Latin-script words that the level's dictionary lacks: no word codes, so the word context is on
    # (2,866 bytes with the dictionary's and file codes, 2,855 without them before the probability map,
    # 2,835 before the determinism buckets, 2,819 before order 8, 2,827 before the map's rate start)
    "uncovered": (
        GOLDEN_INPUT,
        "default",
        2803,
        "fae50d2931c6de9e7d456031454833fee43c18cfafe0cfe6ffaaa84ed8ad5e60",
    ),
    # code-like x86-64 bytes: binary (no prior, no word codes) through the x86-64 address transform
    # (776 bytes before the determinism buckets)
    "x86-64": (x86_like(3000), "fast", 764, "6c2291424f8cfeb590a15600be9e23327df4c36b0e1d386fc5f229fdc846491d"),
}


@pytest.mark.parametrize("name", GOLDEN_KINDS)
def test_golden_archives_of_other_kinds(name: str) -> None:
    data, level, size, digest = GOLDEN_KINDS[name]
    archive = lstmzip.compress(data, level=level)
    assert (len(archive), hashlib.sha256(archive).hexdigest()) == (size, digest)
    [part] = lstmzip.info(archive)
    assert part.config.context_words == part.config.context_above == (name != "x86-64")
    assert codec.content_transform(container.read_header(archive)[0]) == (transforms.X86_64 if name == "x86-64" else 0)
    assert lstmzip.decompress(archive) == data


def test_an_archive_of_a_retired_level_definition_decodes() -> None:
    """0.21.0's default level, retired when the levels took the word context: its archives name it by digest."""
    old = (Path(__file__).parent / "data" / "golden-0.21.0-default.lstmz").read_bytes()
    assert lstmzip.decompress(old) == sample_words(400) and lstmzip.info(old)[0].level == "default"
    retired = preset_of_digest(bytes.fromhex("7eed6c7c"))
    since = {"context_orders": "1,2,3,4,6", "apm_rate_bits": 0, "apm_rate_start": 0, "context_determinism": 0}
    since |= {"context_words": 0, "context_above": 0}  # what the level took since, as it was before
    assert retired is not None and retired.model == replace(load_preset("default").model, **since)
    for digest, name in RETIRED_LEVELS.items():  # each file is the definition its digest names
        assert (preset := preset_of_digest(bytes.fromhex(digest))) is not None and preset.name == name
    assert preset_of_digest(bytes(4)) is None


# the default level as 0.20.0 defined it, before the above context (retired, by its definition's digest)
DEFAULT_OF_0_20 = preset_of_digest(bytes.fromhex("7eed6c7c"))
GOLDEN_0_20 = {  # archives 0.20.0 wrote (format 14): name -> (input, level)
    "default": (GOLDEN_INPUT, DEFAULT_OF_0_20),
    "tiny": (GOLDEN_INPUT, TINY),
    "fast-binary": (sample_bytes(3000), "fast"),
}


@pytest.mark.parametrize("name", GOLDEN_0_20)
def test_archives_of_0_20_0_decode_and_keep_their_blocks(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Format 15 changed the header only: at the levels as 0.20.0 defined them, the blocks and trailer
    are 0.20.0's, byte for byte, where the encoder chooses 0.20.0's word codes (it gave the dictionary
    to any input with few bytes >= 0x80)."""
    monkeypatch.setattr(words, "MIN_DICTIONARY_SHARE", 0.0)
    old = (Path(__file__).parent / "data" / f"golden-0.20.0-{name}.lstmz").read_bytes()
    data, level = GOLDEN_0_20[name]
    assert container.read_header(old)[0].major == 14 and lstmzip.decompress(old) == data
    new = lstmzip.compress(data, level=level)
    assert container.read_header(new)[0].major == container.FORMAT_MAJOR
    assert new[container.read_header(new)[1] :] == old[container.read_header(old)[1] :]


def test_a_shipped_level_is_named_by_reference() -> None:
    """A small input's archive holds a reference to its level's settings, not the settings (0.20.0: 138 bytes)."""
    archive = lstmzip.compress(b"hello world\n")
    assert len(archive) <= 41 and lstmzip.decompress(archive) == b"hello world\n"
    [part] = lstmzip.info(archive)
    assert part.level == "default" and part.config == codec.plan(load_preset("default"), 12, True, True)[0]
    custom = replace(load_preset("default"), block_bytes=1 << 15)  # not as shipped: every setting written
    assert len(lstmzip.compress(b"hello world\n", level=custom)) > 100


@pytest.fixture(scope="module")
def archive() -> bytes:
    return lstmzip.compress(SAMPLE_TEXT, level=TINY)


def test_truncation_is_refused(archive: bytes) -> None:
    for end in range(0, len(archive), 3):
        with pytest.raises(ArchiveError):
            lstmzip.decompress(archive[:end])


def test_no_flipped_byte_gives_wrong_output(archive: bytes) -> None:
    """A flipped byte is refused, or (padding bits at the end of a coded block) changes nothing."""
    refused, positions = 0, range(0, len(archive), 3)
    for position in positions:
        damaged = bytearray(archive)
        damaged[position] ^= 0x5A
        try:
            assert lstmzip.decompress(bytes(damaged)) == SAMPLE_TEXT
        except ArchiveError:
            refused += 1
    assert refused > 0.95 * len(positions)


def test_trailing_garbage_is_refused(archive: bytes) -> None:
    with pytest.raises(CorruptArchiveError):
        lstmzip.decompress(archive + b"\x00")


def test_foreign_input_is_refused() -> None:
    for foreign in (b"", b"hello world", zlib.compress(b"hello"), b"\x89PNG\r\n\x1a\n" + bytes(40)):
        with pytest.raises(NotAnArchiveError):
            lstmzip.decompress(foreign)


def test_payload_desync_is_caught_by_block_crc(archive: bytes) -> None:
    _, offset = container.read_header(archive)
    block, end = container.read_block(archive, offset)
    assert block.kind == container.BLOCK_CODED
    damaged = bytearray(archive)
    damaged[end - len(block.payload) + 2] ^= 1
    with pytest.raises(CorruptArchiveError, match=r"block 0|coded payload is used up"):
        lstmzip.decompress(bytes(damaged))


def test_absurd_sizes_are_refused_before_allocating(archive: bytes) -> None:
    header, offset = container.read_header(archive)
    for original_size, block_count in ((1 << 39, header.block_count), (header.original_size, 10**9)):
        forged = container.Header(original_size, block_count, header.settings).pack() + archive[offset:]
        with pytest.raises((CorruptArchiveError, TruncatedArchiveError)):
            lstmzip.decompress(forged)


def test_absurd_model_dimensions_are_refused(archive: bytes) -> None:
    header, offset = container.read_header(archive)
    coding, config, words = codec._settings(header)
    forged_config = type(config)(**{**config.to_dict(), "hidden": 60_000})
    packed = codec.pack_settings(coding, forged_config, words)
    forged = container.Header(header.original_size, header.block_count, packed).pack() + archive[offset:]
    with pytest.raises(CorruptArchiveError, match="hidden"):
        lstmzip.decompress(forged)


def test_adam_with_momentum_round_trips() -> None:
    """beta1 > 0 (no shipped level uses it) keeps a first moment for the dense buffer and the row tables."""
    data = sample_words(400)
    with_momentum = replace(TINY, model=replace(TINY.model, beta1=0.5))
    archive = lstmzip.compress(data, level=with_momentum)
    assert lstmzip.decompress(archive) == data
    assert archive != lstmzip.compress(data, level=TINY)


def test_archive_of_another_numeric_profile_is_refused(archive: bytes) -> None:
    """fx16-v2 (0.9.0) kept Adam's state in float64: its archives would decode to garbage here."""
    header, offset = container.read_header(archive)
    coding, config, words = codec._settings(header)
    older = type(config)(**{**config.to_dict(), "numerics": "fx16-v2"})
    packed = codec.pack_settings(coding, older, words)
    forged = container.Header(header.original_size, header.block_count, packed).pack() + archive[offset:]
    with pytest.raises(UnsupportedFormatError, match="fx16-v2"):
        lstmzip.decompress(forged)


def test_memory_stays_flat() -> None:
    """No per-byte tensor for the whole input: the model's buffers do not grow with the input."""
    from lstmzip.model import ByteLSTM

    def tensor_bytes(size: int) -> int:
        config = TINY.config_for(size)
        model = ByteLSTM(config)
        return sum(t.numel() * t.element_size() for t in vars(model).values() if hasattr(t, "numel"))

    assert tensor_bytes(10_000) == tensor_bytes(10_000_000)
