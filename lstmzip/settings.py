"""The settings an archive header carries, as keyed fields (format 15), and format 14's records.

Format 15 writes each setting as a key and a value, and leaves out a setting at its default, so a
later minor version can add a setting without changing what older archives say, and small inputs
pay only for the settings they use. A key is ``id << 2 | wire`` (a varint), with wire 0 a varint,
1 a float (see ``container.pack_float``) and 2 a length and bytes. Keys come in ascending order,
each once. An id below ``CRITICAL_IDS`` changes how an archive decodes, so a reader that does not
know it refuses the archive; an unknown id from ``CRITICAL_IDS`` up only informs, and is skipped.
docs/FORMAT.md lists every field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from lstmzip import container
from lstmzip.config import ModelConfig
from lstmzip.container import U64
from lstmzip.errors import CorruptArchiveError, UnsupportedFormatError
from lstmzip.words import WordCodes

CRITICAL_IDS = 64
WIRE_VARINT, WIRE_FLOAT, WIRE_BYTES = 0, 1, 2
_WIRES = {"int": WIRE_VARINT, "U64": WIRE_VARINT, "float": WIRE_FLOAT, "str": WIRE_BYTES, "bytes": WIRE_BYTES}
_ZERO: dict[str, Any] = {"int": 0, "U64": 0, "float": 0.0, "str": "", "bytes": b""}


@dataclass(frozen=True)
class CodingSettings:
    """What the archive header holds besides the model config and the word codes."""

    level: str  # the preset's name, for ``info``; decoding does not need it
    coder: str  # CODER_ID of the coder that wrote the payload
    block_steps: int  # lock-step steps per block, a multiple of the segment length
    coded_size: U64  # bytes the model codes: the input after its word codes


@dataclass(frozen=True)
class LevelReference:
    """Stands for settings that are a shipped level's for this input (``codec.plan``), instead of them.

    The level is the shipped one whose definition has this digest (``presets.level_digest``): a
    reader without it refuses the archive rather than guess.
    """

    level_digest: bytes
    level_flags: int  # REFERENCE_TEXT | REFERENCE_DICTIONARY, as they apply


REFERENCE_TEXT = 1  # the input was text (``codec.looks_like_text``): the model started from the level's prior
REFERENCE_DICTIONARY = 2  # the word codes use the level's dictionary (the header names none)


@dataclass(frozen=True)
class FrameMark:
    """Where an archive stands in a sequence of frames (``frames.py``): both absent in a single archive.

    Critical, so a reader that does not know frames refuses a frame instead of taking it for a whole input.
    """

    frame: U64  # the frame's number in its sequence: 0, 1, 2 ...
    more_frames: int  # 1: another frame of the same sequence follows this one


SINGLE_FRAME = FrameMark(0, 0)


@dataclass(frozen=True)
class ContentTransform:
    """The reversible transform of the content before its word codes (``transforms.py``), absent
    where none. Critical, so a reader that does not know it refuses the archive instead of returning
    transformed content."""

    transform: int  # a key of ``transforms.NAMES``


@dataclass(frozen=True)
class Padding:
    """Bytes that only pay for decoding work: an archive of very redundant content is padded up to
    the size the work limit asks of it (``codec.least_archive_size``). Informational: skipped."""

    padding: bytes


MAX_PADDING = 60_000  # fits the header body (at most 2**16 bytes) beside the other settings


def padding_field_size(padding: int) -> int:
    """Header bytes of a padding field of ``padding`` bytes: its key, its length and the bytes."""
    return len(container.varint(SCHEMA["padding"].id << 2 | WIRE_BYTES, 32) + container.varint(padding, 16)) + padding


@dataclass(frozen=True)
class Field:
    id: int
    name: str
    kind: str  # a record field's type: int, U64, float, str, bytes
    default: Any = None  # absent: the kind's zero

    @property
    def absent(self) -> Any:
        return _ZERO[self.kind] if self.default is None else self.default


def pack_fields(values: Mapping[str, Any], schema: Mapping[str, Field]) -> bytes:
    """``values`` by name as keyed fields, in id order, each left out where it equals its default."""
    out = bytearray()
    for field in sorted((schema[name] for name in values), key=lambda f: f.id):
        value = values[field.name]
        if value == field.absent:
            continue
        wire = _WIRES[field.kind]
        out += container.varint(field.id << 2 | wire, 32)
        if wire == WIRE_VARINT:
            out += container.varint(value, 64 if field.kind == "U64" else 32, field.name)
        elif wire == WIRE_FLOAT:
            out += container.pack_float(value, field.name)
        else:
            raw = value.encode() if field.kind == "str" else value
            out += container.varint(len(raw), 16) + raw
    return bytes(out)


def unpack_fields(data: bytes | memoryview, schema: Mapping[str, Field]) -> tuple[dict[str, Any], set[str]]:
    """Inverse of :func:`pack_fields`: every field of ``schema`` by name (absent ones at their
    defaults), and the names of those present."""
    by_id = {field.id: field for field in schema.values()}
    values = {field.name: field.absent for field in schema.values()}
    present: set[str] = set()
    offset, last = 0, -1
    try:
        while offset < len(data):
            key, offset = container.unpack_varint(data, offset, 32)
            number, wire = key >> 2, key & 3
            if number <= last:
                raise CorruptArchiveError("header settings are malformed (keys out of order)")
            last = number
            field = by_id.get(number)
            if field is None and number < CRITICAL_IDS:
                raise UnsupportedFormatError(f"archive uses setting {number}, which this build does not know")
            if field is not None and wire != _WIRES[field.kind]:
                raise CorruptArchiveError(f"header settings are malformed ({field.name} has the wrong kind)")
            value, offset = _unpack_value(data, offset, wire, field)
            if field is not None:
                values[field.name] = value
                present.add(field.name)
    except (IndexError, UnicodeDecodeError) as error:
        raise CorruptArchiveError("header settings are malformed") from error
    return values, present


def _unpack_value(data: bytes | memoryview, offset: int, wire: int, field: Field | None) -> tuple[Any, int]:
    if wire == WIRE_VARINT:
        return container.unpack_varint(data, offset, 64 if field is None or field.kind == "U64" else 32)
    if wire == WIRE_FLOAT:
        return container.unpack_float(data, offset)
    if wire != WIRE_BYTES:
        raise CorruptArchiveError(f"header settings are malformed (wire type {wire})")
    length, offset = container.unpack_varint(data, offset, 16)
    raw = bytes(data[offset : offset + length])
    if len(raw) != length:
        raise IndexError
    value = raw.decode() if field is not None and field.kind == "str" else raw
    return value, offset + length


def schema(record: type, ids: Mapping[str, int], defaults: Mapping[str, Any] | None = None) -> dict[str, Field]:
    """The keyed fields of a flat dataclass: each field's id from ``ids`` (fixed forever), kind from its type."""
    defaults = defaults or {}
    return {f.name: Field(ids[f.name], f.name, str(f.type), defaults.get(f.name)) for f in fields(record)}  # type: ignore[arg-type]


_FORMAT_15_CODER = "constriction-0.5-range-fast"  # what an absent coder means, whatever the build's
_FORMAT_15_NUMERICS = "fx16-v3"  # likewise the numeric profile
_MODEL_FIELDS = (
    "layers hidden streams segment learning_rate lr_decay_updates beta1 beta2 eps input_rate_scale matrix_rate_scale"
    " seed match_min_length match_long_length match_hash_bits context_orders context_hash_bits context_count_limit"
    " context_columns column_input word_input apm_rate_bits prior numerics"
)
FORMAT_14_MODEL_FIELDS = tuple(_MODEL_FIELDS.split())  # format 14's model record, in its order
MODEL_IDS = {name: 8 + number for number, name in enumerate(FORMAT_14_MODEL_FIELDS)}  # ids fixed forever
# added after the transform's id; critical
MODEL_IDS |= {"context_words": 33, "context_above": 34, "context_determinism": 35, "apm_rate_start": 36}
SCHEMA: dict[str, Field] = {
    **schema(CodingSettings, {"level": 0, "coded_size": 3, "block_steps": 4, "coder": 5}, {"coder": _FORMAT_15_CODER}),
    **schema(LevelReference, {"level_digest": 1, "level_flags": 2}),
    **schema(FrameMark, {"frame": 6, "more_frames": 7}),
    **schema(ContentTransform, {"transform": 32}),
    **schema(ModelConfig, MODEL_IDS, {"numerics": _FORMAT_15_NUMERICS}),
    **schema(WordCodes, {"code_map": 40, "one_byte_codes": 41, "dictionary": 42}),
    **schema(Padding, {"padding": 64}),
}
