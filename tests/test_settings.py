"""The header's settings as numbers and keyed fields: shortest forms, exact floats, refusals."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lstmzip import container
from lstmzip import settings as lstmzip_settings
from lstmzip.container import U64
from lstmzip.errors import CorruptArchiveError, UnsupportedFormatError


@dataclass(frozen=True)
class _Numbers:
    small: int
    large: U64
    rate: float


_NUMBER_FIELDS = lstmzip_settings.schema(_Numbers, {"small": 0, "large": 1, "rate": 2})


def _keyed(numbers: _Numbers) -> bytes:
    return lstmzip_settings.pack_fields(asdict(numbers), _NUMBER_FIELDS)


def _from_keyed(packed: bytes) -> _Numbers:
    return _Numbers(**lstmzip_settings.unpack_fields(packed, _NUMBER_FIELDS)[0])


@pytest.mark.parametrize(
    ("numbers", "size"),
    [
        (_Numbers(0, 0, 0.0), 0),  # every field at its default: left out
        (_Numbers(127, 128, 0.5), 2 + 3 + 3),  # a key byte each; 0.5: digits 5, exponent -1
        (_Numbers(2**32 - 1, 2**64 - 1, 1e300), 6 + 11 + 4),  # exponent 300: zigzag 600, two bytes
        (_Numbers(1, 1, 0.9999), 2 + 2 + 4),  # digits 9999 in two bytes
        (_Numbers(1, 1, 0.1 + 0.2), 2 + 2 + 10),  # 0.30000000000000004: 17 digits
    ],
)
def test_settings_numbers_take_as_few_bytes_as_they_need(numbers: _Numbers, size: int) -> None:
    packed = _keyed(numbers)
    assert len(packed) == size and _from_keyed(packed) == numbers


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=0.0, allow_nan=False, allow_infinity=False))
def test_settings_floats_read_back_exactly(rate: float) -> None:
    numbers = _Numbers(1, 2, abs(rate))  # abs: -0.0 is not a setting
    assert _from_keyed(_keyed(numbers)) == numbers


def test_keyed_settings_refuse_what_they_cannot_read_and_skip_what_only_informs() -> None:
    informational = bytes([0x82, 0x02, 2]) + b"hi"  # key 64 << 2 | 2 as a varint: id 64, two bytes
    assert _from_keyed(_keyed(_Numbers(5, 0, 0.0)) + informational) == _Numbers(5, 0, 0.0)
    with pytest.raises(UnsupportedFormatError, match="setting 9"):
        _from_keyed(bytes([9 << 2, 1]))  # an id below 64 this reader does not know
    with pytest.raises(CorruptArchiveError, match="out of order"):
        _from_keyed(bytes([1 << 2, 1, 0 << 2, 1]))
    with pytest.raises(CorruptArchiveError, match="wrong kind"):
        _from_keyed(bytes([0 << 2 | 2, 1, 0]))  # an int field written as bytes


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
            _keyed(numbers)
    for rate in (-1.0, math.inf, math.nan):  # -0.0 equals the default 0.0: left out
        with pytest.raises(ValueError, match="does not fit"):
            _keyed(_Numbers(0, 0, rate))
