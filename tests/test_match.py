"""The match model: after a repeated context it predicts the byte that followed it last time."""

from __future__ import annotations

import numpy as np
import pytest

from lstmzip import compiled
from lstmzip.match import BUCKETS, MatchModel


def _run(text: bytes, min_length: int, long_length: int = 0) -> list[tuple[int, int]]:
    """(expected byte, bucket) before each byte of one stream of ``text``."""
    matrix = np.frombuffer(text, dtype=np.uint8).reshape(1, -1).copy()
    model = MatchModel(matrix, min_length, hash_bits=12, long_length=long_length)
    seen = []
    for t in range(len(text)):
        expected, bucket = model.predict()
        seen.append((int(expected[0]), int(bucket[0])))
        model.update(t)
    return seen


@pytest.fixture(params=["compiled", "reference"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.param == "reference":
        monkeypatch.setenv(compiled.REFERENCE_ENVIRONMENT, "1")
    elif compiled.compiled_core() is None:
        pytest.skip("the compiled core is not built")


@pytest.mark.usefixtures("engine")
def test_a_repeat_predicts_what_followed_its_context() -> None:
    text = b"abcdefgh-abcdefgh"
    seen = _run(text, min_length=3)
    assert all(bucket == BUCKETS for _, bucket in seen[:12])  # no context seen twice yet
    # after "-abc" the context "abc" was seen before, followed by "d", then "e", ... with growing lengths
    assert [chr(expected) for expected, _ in seen[12:]] == list("defgh")
    assert [bucket for _, bucket in seen[12:]] == [0, 1, 2, 3, 4]


@pytest.mark.usefixtures("engine")
def test_a_wrong_prediction_ends_the_match() -> None:
    seen = _run(b"xyz1xyz2xyz3", min_length=3)
    assert seen[7] == (ord("1"), 0)  # predicted "1" after the second "xyz", but "2" came
    assert seen[11] == (ord("2"), 0)  # the third "xyz" follows the latest occurrence
