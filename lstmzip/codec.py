"""The coding loop: input split into streams, a model step per byte of every stream, a coder per block.

Encoder and decoder share :func:`_code_blocks`; the only difference between them is the coder
object it is handed (``coder.Encoder`` consumes the known bytes, ``coder.Decoder`` produces them).

Transforms. Before the model sees it, binary input may go through a transform of
``transforms.py`` (x86 code: call, jump and data addresses made absolute), and then the input goes
through ``words.WordCodes`` (words become codes of one to three bytes, from the level's shipped
dictionary and made per file); "the input" below is that coded input, and decoding undoes the
codes and then the transform last. The trailer's CRC covers the original bytes, so it checks the
transforms too.

Start. On text (``looks_like_text``) the model starts from the prior its level names
(``priors.py``, pretrained weights); otherwise, and wherever the header names no prior, from the
seeded random weights. The header records which, so the decoder starts from the same weights.

Layout. An input of n bytes is cut into N contiguous streams of S = ceil(n / N) bytes (the last
may be shorter); step t codes byte t of every stream that still has one. The bytes live in one
``uint8`` matrix [N, S] that is the input itself, zero-padded, so memory stays at the input size.
"""

from __future__ import annotations

import math
import operator
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, fields, replace
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np

from lstmzip import container, priors, settings, transforms
from lstmzip.coder import CODER_ID, Decoder, Encoder, Replay
from lstmzip.config import ModelConfig
from lstmzip.core import Network, cpu_model
from lstmzip.errors import (
    ArchiveError,
    CorruptArchiveError,
    LstmzipError,
    PresetError,
    UnsupportedFormatError,
)
from lstmzip.numerics import coding_threads
from lstmzip.predictor import Predictor
from lstmzip.presets import (
    DEFAULT_LEVEL,
    LEVEL_NAMES,
    Preset,
    largest_hash_bits,
    level_digest,
    load_preset,
    preset_of_digest,
)
from lstmzip.settings import SINGLE_FRAME, CodingSettings, FrameMark, LevelReference
from lstmzip.words import NO_WORD_CODES, WordCodes, load_dictionary

if TYPE_CHECKING:
    import torch


Record = TypeVar("Record")
Progress = Callable[[int, int], None]
"""Called after each block with (original bytes done, archive bytes written so far)."""

# A block covers at most this many coded bytes (steps x streams): what the shipped levels write.
MAX_BLOCK_BYTES = 1 << 16
# Decoding work, in multiply-add units, that an archive may ask for: WORK_BASE plus WORK_PER_BYTE for
# each of its bytes (docs/FORMAT.md, "Limits"). A step costs STEP_WORK (dispatch and the side
# models), WEIGHT_WORK per multiply-add of the network (its weights pass through memory three times
# a step, whatever the number of streams) and, for each stream, three times the network's forward
# multiply-adds (prediction and learning) plus ELEMENT_WORK. So a small archive never takes long
# to decode or to refuse, whatever its header says; the encoder keeps to the same rule by padding
# the header of an archive of content so redundant that it would break it.
STEP_WORK = 1 << 22
WEIGHT_WORK = 24
ELEMENT_WORK = 1 << 12
WORK_BASE = 1 << 35
WORK_PER_BYTE = 1 << 26


class Coder(Protocol):
    def code(self, symbols: np.ndarray, probabilities: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class Layout:
    size: int
    streams: int
    steps: int  # bytes per stream (the last stream may have fewer)

    @classmethod
    def for_size(cls, size: int, max_streams: int) -> Layout:
        if size == 0:
            return cls(0, 0, 0)
        steps = math.ceil(size / max(1, min(max_streams, size)))
        return cls(size, math.ceil(size / steps), steps)

    @property
    def last_length(self) -> int:
        return self.size - (self.streams - 1) * self.steps

    def active(self, t: int) -> int:
        """How many streams (a prefix) still have a byte at step t."""
        return self.streams if t < self.last_length else self.streams - 1

    def stream_parts(self, start: int, stop: int) -> Iterator[tuple[int, int]]:
        """(stream, end step) of each stream's part of steps [start, stop), stream by stream."""
        for stream in range(self.streams):
            end = min(stop, self.steps if stream < self.streams - 1 else self.last_length)
            if end > start:
                yield stream, end

    def block_bytes(self, matrix: np.ndarray, start: int, stop: int) -> bytes:
        """The original bytes of steps [start, stop), stream by stream."""
        return b"".join(matrix[stream, start:end].tobytes() for stream, end in self.stream_parts(start, stop))

    def fill_block(self, matrix: np.ndarray, start: int, stop: int, original: bytes) -> None:
        """Inverse of :meth:`block_bytes`."""
        offset = 0
        for stream, end in self.stream_parts(start, stop):
            matrix[stream, start:end] = np.frombuffer(original, dtype=np.uint8, count=end - start, offset=offset)
            offset += end - start


def resolve_device(name: str) -> torch.device | None:
    """None for ``cpu`` (the compiled core or the reference, without torch's import), else the torch
    device of ``cuda`` (or ``cuda:N``) or ``auto`` (CUDA when available)."""
    if name == "cpu":
        return None
    import torch

    if name == "auto":
        return torch.device("cuda") if torch.cuda.is_available() else None
    try:
        device = torch.device(name)
    except RuntimeError as error:
        raise LstmzipError(f"unknown device {name!r}") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise LstmzipError("device 'cuda' was asked for, but no CUDA GPU is available")
    if device.type not in ("cpu", "cuda"):
        raise LstmzipError(f"device {name!r} is not supported (use cpu, cuda or auto)")
    return None if device.type == "cpu" else device


def _code_blocks(
    model: Network,
    layout: Layout,
    block_steps: int,
    matrix: np.ndarray,
    coder_for_block: Callable[[int, int], Coder],
    words: WordCodes,
) -> Iterator[tuple[int, int]]:
    """Run the model over every step; yield (first step, end step) after each block.

    ``matrix`` [N, S] holds the bytes: read by an encoder's coder, filled in by a decoder's;
    ``words`` says which of them are word codes (for the column context).
    """
    predictor = Predictor(model, matrix, layout, words)
    with coding_threads():
        for start in range(0, layout.steps, block_steps):
            stop = min(start + block_steps, layout.steps)
            coder = coder_for_block(start, stop)
            for segment_start in range(start, stop, model.config.segment):
                segment_stop = min(segment_start + model.config.segment, stop)
                for t in range(segment_start, segment_stop):
                    active = layout.active(t)
                    matrix[:active, t] = coder.code(matrix[:active, t], predictor.probabilities(t, active))
                    predictor.update(t, active)
                if segment_stop < layout.steps:  # learning after the last segment would be wasted
                    predictor.learn(segment_start, segment_stop)
            yield start, stop


TEXT_BYTES = np.zeros(256, dtype=bool)
TEXT_BYTES[[9, 10, 13, *range(32, 127), *range(128, 256)]] = True  # ASCII text and UTF-8 sequences
MIN_TEXT_SHARE = 0.9


def looks_like_text(data: bytes) -> bool:
    """Whether at least 90 % of ``data`` are bytes of text (printable ASCII, tab, newlines, non-ASCII)."""
    if not data:
        return True
    counts = np.bincount(np.frombuffer(data, dtype=np.uint8), minlength=256)
    return counts[TEXT_BYTES].sum() >= MIN_TEXT_SHARE * len(data)


def _model(config: ModelConfig, device: str) -> Network:
    """A fresh model for ``config``, started from its prior if it names one."""
    initial = priors.load(config.prior) if config.prior else None
    resolved = resolve_device(device)
    try:
        if resolved is None:
            return cpu_model(config, initial)
        from lstmzip.model import ByteLSTM

        return ByteLSTM(config, resolved, initial)
    except ValueError as error:  # a prior for another network: only a damaged or crafted header names one
        raise CorruptArchiveError(f"prior {config.prior!r} does not fit the model in the header") from error


def train(documents: Iterable[bytes], preset: Preset, streams: int, progress: Progress | None = None) -> Network:
    """The model of ``preset`` after learning ``documents`` (word-coded one by one, as files would be).

    Runs the coding loop itself with a coder that codes nothing, so a prior learns with exactly the
    steps that compression takes (``scripts/train_prior.py``).
    """
    coded = b"".join(_word_codes(document, preset)[1] for document in documents)
    layout = Layout.for_size(len(coded), streams)
    # A prior holds the contexts every text has: the word and above contexts, which depend on the input,
    # start from the starting weight where a level adds them, and the determinism buckets from the
    # prior's own (``parameters.initial_master``)
    config = replace(
        preset.model, streams=layout.streams, prior="", context_words=0, context_above=0, context_determinism=0
    )
    model = cpu_model(config)
    matrix = _input_matrix(layout, coded)
    # Each document has its own file codes; the column context sees them as the dictionary alone would.
    words = WordCodes(b"", 0, preset.word_dictionary) if preset.word_codes else NO_WORD_CODES
    block_steps = preset.block_steps(config)
    for _, stop in _code_blocks(model, layout, block_steps, matrix, lambda _start, _stop: Replay(), words):
        if progress:
            progress(min(stop * layout.streams, layout.size), 0)
    return model


def _word_codes(data: bytes, preset: Preset) -> tuple[WordCodes, bytes]:
    """The text transform of ``preset`` for ``data``, and what the model then codes."""
    return WordCodes.apply(data, preset.word_dictionary) if preset.word_codes else (NO_WORD_CODES, data)


def _input_matrix(layout: Layout, coded: bytes) -> np.ndarray:
    """The [N, S] byte matrix of ``layout`` holding ``coded``, zero-padded."""
    matrix = np.zeros((layout.streams, layout.steps), dtype=np.uint8)
    matrix.reshape(-1)[: layout.size] = np.frombuffer(coded, dtype=np.uint8)
    return matrix


def _original_progress(progress: Progress | None, original_size: int, coded_size: int) -> Progress | None:
    """``progress`` in original bytes, for a loop that counts coded bytes."""
    if progress is None or original_size == coded_size:
        return progress
    return lambda done, written: progress(done * original_size // coded_size, written)


def decoding_work(config: ModelConfig, steps: int) -> int:
    """The work, in multiply-add units, of ``steps`` steps of ``config`` (see ``WORK_BASE``)."""
    macs = config.network_macs()
    return steps * (STEP_WORK + WEIGHT_WORK * macs + config.streams * (3 * macs + ELEMENT_WORK))


def least_archive_size(work: int) -> int:
    """The fewest archive bytes that pay for decoding ``work``."""
    return max(0, -(-(work - WORK_BASE) // WORK_PER_BYTE))


def plan(preset: Preset, coded_size: int, text: bool, dictionary: bool) -> tuple[ModelConfig, Layout, int]:
    """The one decision for an input: its model config, stream layout and steps per block, for
    ``coded_size`` bytes to the model, of text or not, word-coded by a ``dictionary`` or not.

    What a level reference in a header stands for, so it is part of the archive format: a change
    here that changes its result for any input is a new format (docs/FORMAT.md).
    """
    config = preset.config_for(coded_size, text, dictionary)
    layout = Layout.for_size(coded_size, config.streams)
    if layout.streams:
        config = replace(config, streams=layout.streams)
    return config, layout, preset.block_steps(config)


def pack_settings(
    coding: CodingSettings,
    config: ModelConfig,
    words: WordCodes,
    reference: LevelReference | None = None,
    mark: FrameMark = SINGLE_FRAME,
    padding: int = 0,
    transform: int = transforms.NONE,
) -> bytes:
    """The header's settings in format 15: a shipped level's by ``reference``, or every field;
    ``padding`` bytes more where the work limit asks for them."""
    values = {**asdict(coding), **asdict(words), **asdict(mark), "padding": bytes(padding), "transform": transform}
    if reference is None:
        values.update(asdict(config))
    else:
        values.update(asdict(reference))
        del values["level"], values["block_steps"]  # the reference's level has them
        if reference.level_flags & settings.REFERENCE_DICTIONARY:
            del values["dictionary"]
    return settings.pack_fields(values, settings.SCHEMA)


def _level_reference(preset: Preset, text: bool, words: WordCodes) -> LevelReference | None:
    """A reference to ``preset`` where it is a shipped level as shipped."""
    if preset.name not in LEVEL_NAMES or preset != load_preset(preset.name):
        return None
    level_dictionary = bool(words.dictionary) and words.dictionary == preset.word_dictionary
    flags = settings.REFERENCE_TEXT * text | settings.REFERENCE_DICTIONARY * level_dictionary
    return LevelReference(level_digest(preset.name), flags)


def encode(
    data: bytes,
    preset: Preset,
    device: str = "cpu",
    progress: Progress | None = None,
    mark: FrameMark = SINGLE_FRAME,
) -> Iterator[bytes]:
    """Yield the archive of ``data`` piece by piece: header, each block, trailer; ``mark`` places it
    in a sequence of frames (``frames.py``)."""
    text = looks_like_text(data)
    transform = transforms.NONE if text else transforms.choose(data)
    words, coded = _word_codes(transforms.apply(transform, data), preset)
    progress = _original_progress(progress, len(data), len(coded))
    config, layout, block_steps = plan(preset, len(coded), text, bool(words.dictionary))
    block_count = math.ceil(layout.steps / block_steps)
    coding = CodingSettings(preset.name, CODER_ID, block_steps, len(coded))
    reference = _level_reference(preset, text, words)
    header = container.Header(
        len(data), block_count, pack_settings(coding, config, words, reference, mark, transform=transform)
    )
    try:  # the encoder keeps to exactly the decoder's limits, and reads back what it wrote
        read_back = _settings(header)
        read_transform = content_transform(header)
    except ArchiveError as error:
        raise PresetError(f"level {preset.name!r} cannot code this input: {error}") from error
    if read_back[1:] != (config, words) or read_back[0].block_steps != block_steps or read_transform != transform:
        raise LstmzipError(f"internal error: the header of level {preset.name!r} reads back as other settings")
    blocks = list(_coded_blocks(config, layout, block_steps, coded, words, device, progress))
    least_size = least_archive_size(decoding_work(config, layout.steps))
    padding = _pay_for_work(len(header.pack()), blocks, least_size)
    if padding:
        header = replace(header, settings=pack_settings(coding, config, words, reference, mark, padding, transform))
    yield header.pack()
    yield from (block.pack() for block, _ in blocks)
    yield container.pack_trailer(zlib.crc32(data))


def _coded_blocks(
    config: ModelConfig,
    layout: Layout,
    block_steps: int,
    coded: bytes,
    words: WordCodes,
    device: str,
    progress: Progress | None,
) -> Iterator[tuple[container.Block, bytes]]:
    """Each block of ``coded`` as the model codes it (stored where coding would not make it smaller),
    with the coded bytes it covers."""
    if not layout.size:
        return
    matrix = _input_matrix(layout, coded)
    model = _model(config, device)
    encoder = Encoder()
    written = 0
    for start, stop in _code_blocks(model, layout, block_steps, matrix, lambda _start, _stop: encoder, words):
        original, payload = layout.block_bytes(matrix, start, stop), encoder.finish()
        block = container.Block(container.BLOCK_CODED, len(original), zlib.crc32(original), payload)
        if len(payload) >= len(original):
            block = _stored(block, original)
        written += len(block.pack())
        if progress:
            progress(min(stop * layout.streams, layout.size), written)
        yield block, original


def _stored(block: container.Block, original: bytes) -> container.Block:
    return container.Block(container.BLOCK_STORED, block.original_count, block.original_crc, original)


def _pay_for_work(header_size: int, blocks: list[tuple[container.Block, bytes]], least_size: int) -> int:
    """The header padding that makes the archive at least ``least_size`` bytes, what its decoding work
    asks for; 0 for all but very redundant content.

    The archive is padded by what it lacks, at most ``settings.MAX_PADDING`` bytes; where that is not
    enough, coded blocks are first stored (in ``blocks``, in place, from the first): the model reads
    a stored block exactly as a coded one, so the other blocks' payloads stay the same.
    """
    size = header_size + sum(len(block.pack()) for block, _ in blocks) + container.DIGEST_SIZE
    most = settings.padding_field_size(settings.MAX_PADDING)
    for number, (block, original) in enumerate(blocks):
        if size + most >= least_size:
            break
        if block.kind == container.BLOCK_CODED:
            stored = _stored(block, original)
            size += len(stored.pack()) - len(block.pack())
            blocks[number] = stored, original
    shortfall = least_size - size
    if shortfall <= 0:
        return 0
    padding = max(1, shortfall - settings.padding_field_size(0))  # a field's length may take a byte more
    while padding > 1 and settings.padding_field_size(padding - 1) >= shortfall:
        padding -= 1
    return min(padding, settings.MAX_PADDING)


def compress(
    data: bytes | bytearray | memoryview,
    level: str | int | Preset = DEFAULT_LEVEL,
    device: str = "cpu",
    progress: Progress | None = None,
) -> bytes:
    """Compress ``data`` (any bytes-like object) with the preset of ``level`` (a name, 1..9, or a ``Preset``)."""
    content = bytes(memoryview(data))  # TypeError for what is not bytes-like (bytes(5) would be five zeros)
    return b"".join(encode(content, load_preset(level), device, progress))


def _settings_of_format_14(data: bytes) -> tuple[CodingSettings, ModelConfig, WordCodes]:
    """Format 14's settings: three records, field by field."""
    coding, offset = container.unpack_record(CodingSettings, data)
    config, offset = container.unpack_record(ModelConfig, data, offset, settings.FORMAT_14_MODEL_FIELDS)
    words, offset = container.unpack_record(WordCodes, data, offset)
    if offset != len(data):
        raise CorruptArchiveError("header settings have trailing bytes")
    return coding, config, words


def _settings_of_format_15(data: bytes) -> tuple[CodingSettings, ModelConfig, WordCodes]:
    """Format 15's keyed settings, a level reference resolved to the settings it stands for."""
    values, present = settings.unpack_fields(data, settings.SCHEMA)
    if "level_digest" not in present:
        if "level_flags" in present:
            raise CorruptArchiveError("header settings are malformed (level flags without a level)")
        return _record(CodingSettings, values), _record(ModelConfig, values), _record(WordCodes, values)
    flags = values["level_flags"]
    level_dictionary = bool(flags & settings.REFERENCE_DICTIONARY)
    own = {"level", "block_steps", *settings.MODEL_IDS} - {"numerics"} | ({"dictionary"} if level_dictionary else set())
    if present & own or flags > settings.REFERENCE_TEXT | settings.REFERENCE_DICTIONARY:
        raise CorruptArchiveError("header settings are malformed (a level reference with settings of its own)")
    preset = preset_of_digest(values["level_digest"])
    if preset is None:
        raise UnsupportedFormatError(
            f"archive needs a level definition this build does not have (digest {values['level_digest'].hex()})"
        )
    if level_dictionary:
        values["dictionary"] = preset.word_dictionary
    text = bool(flags & settings.REFERENCE_TEXT)
    config, _, block_steps = plan(preset, values["coded_size"], text, bool(values["dictionary"]))
    config = replace(config, numerics=values["numerics"])
    coding = CodingSettings(preset.name, values["coder"], block_steps, values["coded_size"])
    return coding, config, _record(WordCodes, values)


def _record(record: type[Record], values: dict[str, Any]) -> Record:
    return record(**{field.name: values[field.name] for field in fields(record)})  # type: ignore[arg-type]


def _settings(header: container.Header) -> tuple[CodingSettings, ModelConfig, WordCodes]:
    """The header's settings, checked: a build that cannot decode them says so before any work."""
    read = _settings_of_format_14 if header.major == 14 else _settings_of_format_15
    coding, config, words = read(header.settings)
    if coding.coder != CODER_ID:
        raise UnsupportedFormatError(f"archive was coded with {coding.coder!r}, this build has {CODER_ID!r}")
    if config.numerics != ModelConfig.numerics:
        raise UnsupportedFormatError(f"numeric profile {config.numerics!r} is not supported by this build")
    try:
        config.validate()
    except ValueError as error:
        raise CorruptArchiveError(f"invalid model settings in header: {error}") from error
    if not 0 < coding.block_steps * config.streams <= MAX_BLOCK_BYTES or coding.block_steps % config.segment:
        raise CorruptArchiveError(f"invalid block size in header (at most {MAX_BLOCK_BYTES} bytes a block)")
    tables = (config.match_hash_bits, config.context_hash_bits)
    if header.major >= 15 and any(map(operator.gt, tables, largest_hash_bits(coding.coded_size))):
        raise CorruptArchiveError(f"hash tables larger than {coding.coded_size} coded bytes need")
    try:
        words.validate()
    except ValueError as error:
        raise CorruptArchiveError(f"invalid word codes in header: {error}") from error
    if words.dictionary:
        load_dictionary(words.dictionary)  # a build without it says so before any work
    # Word codes never lengthen the input (``apply`` keeps them only if they shorten it); without
    # them the model codes the input itself.
    if coding.coded_size > header.original_size or (not words.active and coding.coded_size != header.original_size):
        raise CorruptArchiveError("header sizes are inconsistent")
    return coding, config, words


def content_transform(header: container.Header) -> int:
    """The header's transform of the content (``transforms.NAMES``; format 14 has none), checked."""
    if header.major == 14:
        return transforms.NONE
    transform = settings.unpack_fields(header.settings, settings.SCHEMA)[0]["transform"]
    if transform not in transforms.NAMES:
        raise UnsupportedFormatError(f"archive uses content transform {transform}, which this build does not know")
    return transform


def read_info(archive: bytes | memoryview) -> tuple[container.Header, CodingSettings, ModelConfig, WordCodes]:
    """Header and settings of an archive, checked, without decoding anything."""
    header, _ = container.read_header(archive)
    return (header, *_settings(header))


def decompress(archive: bytes | memoryview, device: str = "cpu", progress: Progress | None = None) -> bytes:
    """Decode one archive (a frame), raising an ``ArchiveError`` unless every checksum matches; files
    of several archives or frames are ``frames.decompress``'s."""
    parts = container.split_archives(archive)
    if len(parts) != 1:
        raise CorruptArchiveError("unexpected data after the end of the archive")
    return _decompress_one(parts[0], device, progress)


def _decompress_one(buffer: memoryview, device: str, progress: Progress | None) -> bytes:
    """Decode the one archive ``buffer`` holds."""
    header, offset = container.read_header(buffer)
    coding, config, words = _settings(header)
    transform = content_transform(header)
    size, block_steps = coding.coded_size, coding.block_steps
    progress = _original_progress(progress, header.original_size, size)
    if size == 0:
        if header.block_count:
            raise CorruptArchiveError("empty content cannot have blocks")
        data = b""
    else:
        layout = Layout.for_size(size, config.streams)
        if layout.streams != config.streams or header.block_count != math.ceil(layout.steps / block_steps):
            raise CorruptArchiveError("header sizes are inconsistent")
        if len(buffer) < container.minimum_archive_size(offset, header.block_count):
            raise container.TruncatedArchiveError("archive is truncated (fewer bytes than its blocks need)")
        if len(buffer) < least_archive_size(decoding_work(config, layout.steps)):
            raise CorruptArchiveError(f"archive asks for more decoding work than its {len(buffer)} bytes allow")
        matrix = np.zeros((layout.streams, layout.steps), dtype=np.uint8)
        model = _model(config, device)
        blocks: list[container.Block] = []

        decoders: list[Decoder] = []

        def coder_for_block(start: int, stop: int) -> Coder:
            nonlocal offset
            block, offset = container.read_block(buffer, offset)
            blocks.append(block)
            if block.kind == container.BLOCK_CODED:
                decoders[:] = [Decoder(block.payload)]
                return decoders[0]
            decoders.clear()
            if block.original_count != sum(end - start for _, end in layout.stream_parts(start, stop)):
                raise CorruptArchiveError(f"block {len(blocks) - 1} has the wrong size")
            layout.fill_block(matrix, start, stop, block.payload)
            return Replay()

        for start, stop in _code_blocks(model, layout, block_steps, matrix, coder_for_block, words):
            for decoder in decoders:
                decoder.finish()
            original = layout.block_bytes(matrix, start, stop)
            if (len(original), zlib.crc32(original)) != (blocks[-1].original_count, blocks[-1].original_crc):
                raise CorruptArchiveError(f"block {len(blocks) - 1} does not match its checksum (archive is damaged)")
            if progress:
                progress(min(stop * layout.streams, size), offset)
        try:
            data = words.decode(matrix.reshape(-1)[:size].tobytes(), header.original_size)
        except ValueError as error:
            raise CorruptArchiveError(f"word codes do not decode: {error}") from error
        data = transforms.undo(transform, data)
    if len(data) != header.original_size or zlib.crc32(data) != container.read_trailer(buffer, offset):
        raise CorruptArchiveError("content checksum mismatch (archive is damaged)")
    return data
