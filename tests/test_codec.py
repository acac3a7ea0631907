"""Round trips, the golden archive, and damaged input: the codec never returns wrong bytes."""

from __future__ import annotations

import hashlib
import math
import zlib
from dataclasses import dataclass, replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lstmzip
from lstmzip import codec, container
from lstmzip.container import U64
from lstmzip.errors import (
    ArchiveError,
    CorruptArchiveError,
    NotAnArchiveError,
    PresetError,
    TruncatedArchiveError,
    UnsupportedFormatError,
)
from lstmzip.presets import FromScratch, Preset, load_preset
from tests.conftest import SAMPLE_TEXT, TINY, sample_bytes, sample_words

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
GOLDEN_INPUT = sample_words(2000)  # 12,279 bytes of made-up text: word codes on (5,577 bytes reach the model)
GOLDEN = {  # level -> (archive size, SHA-256); "default" also pins its prior, dictionary and 2**15-slot hash tables
    TINY: (3070, "747823887310b496e913823498813f9ba9a5da19c767b18424eb978b6bd033f9"),
    "default": (2937, "901682bbbe261f0bf8859ee86fadd2044434696dcb439e290acabdfbf2d70d3a"),  # prior text-d12
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
    archive = lstmzip.compress(GOLDEN_INPUT, level=level)
    assert (len(archive), hashlib.sha256(archive).hexdigest()) == GOLDEN[level]


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


def test_header_fields_must_end_inside_the_header_body() -> None:
    for body in (b"", b"\x05", b"\x05\x01\x01", b"\x05\x01\x01\x80"):  # each cut inside a field
        head = container.MAGIC + bytes([container.FORMAT_MAJOR, 0]) + len(body).to_bytes(2, "little") + body
        forged = head + zlib.crc32(head).to_bytes(4, "little") + bytes(64)
        with pytest.raises(CorruptArchiveError, match="header body is malformed"):
            container.read_header(forged)


def test_absurd_model_dimensions_are_refused(archive: bytes) -> None:
    header, offset = container.read_header(archive)
    coding, config, words = codec._settings(header)
    forged_config = type(config)(**{**config.to_dict(), "hidden": 60_000})
    settings = b"".join(container.pack_record(record) for record in (coding, forged_config, words))
    forged = container.Header(header.original_size, header.block_count, settings).pack() + archive[offset:]
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
    settings = b"".join(container.pack_record(record) for record in (coding, older, words))
    forged = container.Header(header.original_size, header.block_count, settings).pack() + archive[offset:]
    with pytest.raises(UnsupportedFormatError, match="fx16-v2"):
        lstmzip.decompress(forged)


@dataclass(frozen=True)
class _Numbers:
    small: int
    large: U64
    rate: float


@pytest.mark.parametrize(
    ("numbers", "size"),
    [
        (_Numbers(0, 0, 0.0), 1 + 1 + 2),
        (_Numbers(127, 128, 0.5), 1 + 2 + 2),  # 0.5: digits 5, exponent -1
        (_Numbers(2**32 - 1, 2**64 - 1, 1e300), 5 + 10 + 3),  # exponent 300: zigzag 600, two bytes
        (_Numbers(1, 1, 0.9999), 1 + 1 + 3),  # digits 9999 in two bytes
        (_Numbers(1, 1, 0.1 + 0.2), 1 + 1 + 9),  # 0.30000000000000004: 17 digits
    ],
)
def test_settings_numbers_take_as_few_bytes_as_they_need(numbers: _Numbers, size: int) -> None:
    packed = container.pack_record(numbers)
    assert len(packed) == size
    assert container.unpack_record(_Numbers, packed) == (numbers, len(packed))


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=0.0, allow_nan=False, allow_infinity=False))
def test_settings_floats_read_back_exactly(rate: float) -> None:
    numbers = _Numbers(1, 2, abs(rate))  # abs: -0.0 is not a setting
    packed = container.pack_record(numbers)
    assert container.unpack_record(_Numbers, packed) == (numbers, len(packed))


@pytest.mark.parametrize(
    "packed",
    [
        b"\x80\x00\x00\x00\x00",  # zero in two bytes: not the shortest form
        b"\xff\xff\xff\xff\x10\x00\x00\x00",  # 2^32 in a u32 field
        b"\xff\xff\xff\xff\xff\x01\x00\x00\x00",  # six bytes for a u32 field
        b"\x01\x80",  # cut inside an integer
        b"\x00\x00\x0a\x00",  # the float 10 as digits 10, exponent 0: not the shortest form
        b"\x00\x00\x00\x02",  # zero with an exponent
        b"\x00\x00\x01\xe0\x0f",  # 1e1000: no float
        b"\x00\x00\xce\xe6\xc3\xb1\xba\xe9\xa6\xdb\x01\x00",  # 18 digits: more than a float needs
    ],
)
def test_malformed_settings_numbers_are_refused(packed: bytes) -> None:
    with pytest.raises(CorruptArchiveError, match="settings are malformed"):
        container.unpack_record(_Numbers, packed)


def test_settings_numbers_out_of_range_are_not_written() -> None:
    for numbers in (_Numbers(2**32, 0, 0.0), _Numbers(-1, 0, 0.0), _Numbers(0, 2**64, 0.0)):
        with pytest.raises(ValueError, match="does not fit"):
            container.pack_record(numbers)
    for rate in (-1.0, -0.0, math.inf, math.nan):
        with pytest.raises(ValueError, match="does not fit"):
            container.pack_record(_Numbers(0, 0, rate))


def test_memory_stays_flat() -> None:
    """No per-byte tensor for the whole input: the model's buffers do not grow with the input."""
    from lstmzip.model import ByteLSTM

    def tensor_bytes(size: int) -> int:
        config = TINY.config_for(size)
        model = ByteLSTM(config)
        return sum(t.numel() * t.element_size() for t in vars(model).values() if hasattr(t, "numel"))

    assert tensor_bytes(10_000) == tensor_bytes(10_000_000)
