"""What an archive's headers say, as data: ``lstmzip.info`` and the ``lstmzip info`` command.

Reads headers only and decodes nothing, so it answers at once for any archive size. Every field is
checked as the decoder checks it, so an archive that ``info`` describes is one this build can decode
(or its blocks are damaged).
"""

from __future__ import annotations

from dataclasses import dataclass

from lstmzip import codec, container, transforms
from lstmzip.config import ModelConfig
from lstmzip.words import WordCodes


@dataclass(frozen=True)
class ArchiveInfo:
    """One archive's header: sizes, level, model, format. ``describe()`` gives it as ``lstmzip info`` prints it."""

    format: str  # "major.minor"
    original_size: int
    compressed_size: int
    level: str  # the name of the level that wrote it (any string: print it escaped)
    coder: str
    coded_size: int  # bytes the model coded: the input after its word codes
    block_count: int
    block_steps: int
    checksum: str
    config: ModelConfig
    words: WordCodes
    transform: int  # the content's transform before its word codes: a key of ``transforms.NAMES``

    @property
    def bits_per_byte(self) -> float | None:
        return 8 * self.compressed_size / self.original_size if self.original_size else None

    def describe(self) -> dict[str, str]:
        """The fields of ``lstmzip info``, in its order, as text."""
        config, ratio = self.config, "-"
        if self.bits_per_byte is not None:
            ratio = f"{100 * self.compressed_size / self.original_size:.2f}% ({self.bits_per_byte:.3f} bpb)"
        return {
            "format": f"lstmzip {self.format}",
            "original": f"{self.original_size} bytes",
            "compressed": f"{self.compressed_size} bytes",
            "ratio": ratio,
            "level": self.level,
            "transform": transforms.NAMES[self.transform],
            "word codes": _word_codes(self.words, self.coded_size),
            "model": _network(config),
            "side model": ", ".join(_side_models(config)) or "none",
            "refinement": _refinement(config),
            "training": _training(config),
            "start": f"prior {config.prior}" if config.prior else f"random weights, seed {config.seed}",
            "numerics": config.numerics,
            "coder": self.coder,
            "blocks": f"{self.block_count} ({self.block_steps} steps each)",
            "checksum": f"{self.checksum} per block and of the content",
        }


def info(archive: bytes | memoryview) -> list[ArchiveInfo]:
    """The headers of the archives ``archive`` holds one after another (usually one), checked.

    >>> import lstmzip
    >>> [part] = lstmzip.info(lstmzip.compress(b"hello hello hello", level="fast"))
    >>> part.original_size, part.level
    (17, 'fast')
    """
    return [_one(part) for part in container.split_archives(archive)]


def _one(archive: memoryview) -> ArchiveInfo:
    header, coding, config, words = codec.read_info(archive)
    return ArchiveInfo(
        format=f"{header.major}.{header.minor}",
        original_size=header.original_size,
        compressed_size=len(archive),
        level=coding.level,
        coder=coding.coder,
        coded_size=coding.coded_size,
        block_count=header.block_count,
        block_steps=coding.block_steps,
        checksum=container.CHECKSUM_NAME,
        config=config,
        words=words,
        transform=codec.content_transform(header),
    )


def _network(config: ModelConfig) -> str:
    streams = f"{config.streams} stream" + "s" * (config.streams != 1)
    text = f"{config.layers} x {config.hidden} LSTM, {streams}, segment {config.segment}"
    first_layer_reads = ["the column"] * bool(config.column_input)
    first_layer_reads += [f"each two-byte code's word ({config.word_input} values)"] * bool(config.word_input)
    if first_layer_reads:
        text += ", the first layer also reads " + " and ".join(first_layer_reads)
    return text


def _training(config: ModelConfig) -> str:
    rate = f"{config.learning_rate:g}"
    if config.lr_decay_updates:
        rate += f" / (1 + k/{config.lr_decay_updates}) at update k"
    if (config.input_rate_scale, config.matrix_rate_scale) != (1.0, 1.0):
        rate += f" (x{config.input_rate_scale:g} byte input tables, x{config.matrix_rate_scale:g} matrices)"
    return f"Adam lr {rate}, beta1 {config.beta1:g}, beta2 {config.beta2:g}"


def _refinement(config: ModelConfig) -> str:
    if not config.apm_rate_bits:
        return "none"
    start = f"1/(k + {config.apm_rate_start}) at an entry's update k, down to " if config.apm_rate_start else ""
    return f"probability map, rate {start}2^-{config.apm_rate_bits}"


def _side_models(config: ModelConfig) -> list[str]:
    models = []
    if config.match_min_length:
        shorter = f"{config.match_min_length}"
        lengths = f"{config.match_long_length}- or {shorter}" if config.match_long_length else shorter
        models.append(f"match ({lengths}-byte contexts, 2^{config.match_hash_bits} slots)")
    if config.context_orders:
        models.append(
            f"counts of orders {config.context_orders} (2^{config.context_hash_bits} rows per hashed order, "
            f"counts up to {config.context_count_limit})"
        )
    if config.context_columns:
        models.append(f"counts by column (up to {config.context_columns - 1}) and the last byte's kind")
    if config.context_words:
        models.append("counts by the word so far")
    if config.context_above:
        models.append("counts by the bytes above in the line before and the last byte")
    if config.context_determinism:
        models.append("count contexts weighed also by whether they have seen one byte only")
    return models


def _word_codes(words: WordCodes, coded_size: int) -> str:
    if not words.active:
        return "none"
    kinds = [f"dictionary {words.dictionary}"] if words.dictionary else []
    if words.code_map:
        kinds.append(f"{len(words.code_bytes)} file code bytes ({words.one_byte_codes} one-byte)")
    return f"{' + '.join(kinds)}, {coded_size} bytes to the model"
