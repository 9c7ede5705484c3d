"""Every source order -> canonical, entry by entry against the spec's tables (section 3)."""

from __future__ import annotations

import pytest

from scancci.data import CLASS_NAMES, class_names
from scancci.data.label_maps import (
    AFFECTNET_TO_CANONICAL,
    CANONICAL_TO_RAFDB,
    CKPLUS_TO_CANONICAL,
    FER2013_TO_CANONICAL,
    FERPLUS_COLUMNS,
    FERPLUS_TO_CANONICAL,
    RAFDB_TO_CANONICAL,
    name_to_canonical,
)


def _names(mapping) -> dict:
    return {code: None if c is None else CLASS_NAMES[c] for code, c in mapping.items()}


def test_canonical_order_is_affectnet_order() -> None:
    assert CLASS_NAMES == ("neutral", "happy", "sad", "surprise", "fear", "disgust", "anger",
                           "contempt")
    assert class_names(7) == CLASS_NAMES[:7] and class_names(8) == CLASS_NAMES
    with pytest.raises(ValueError):
        class_names(6)


def test_rafdb_map() -> None:
    assert _names(RAFDB_TO_CANONICAL) == {1: "surprise", 2: "fear", 3: "disgust", 4: "happy",
                                          5: "sad", 6: "anger", 7: "neutral"}
    assert all(RAFDB_TO_CANONICAL[CANONICAL_TO_RAFDB[c]] == c for c in range(7))


def test_ckplus_map() -> None:
    assert _names(CKPLUS_TO_CANONICAL) == {0: "neutral", 1: "anger", 2: "contempt",
                                           3: "disgust", 4: "fear", 5: "happy", 6: "sad",
                                           7: "surprise"}


def test_affectnet_map_drops_8_9_10() -> None:
    assert _names(AFFECTNET_TO_CANONICAL) == {**dict(enumerate(CLASS_NAMES)), 8: None, 9: None,
                                              10: None}


def test_ferplus_columns() -> None:
    named = dict(zip(FERPLUS_COLUMNS, _names(dict(enumerate(FERPLUS_TO_CANONICAL))).values(),
                     strict=True))
    assert named == {"neutral": "neutral", "happiness": "happy", "surprise": "surprise",
                     "sadness": "sad", "anger": "anger", "disgust": "disgust", "fear": "fear",
                     "contempt": "contempt", "unknown": None, "NF": None}


def test_fer2013_map_and_words() -> None:
    assert _names(FER2013_TO_CANONICAL) == {0: "anger", 1: "disgust", 2: "fear", 3: "happy",
                                            4: "sad", 5: "surprise", 6: "neutral"}
    words = {"Angry": "anger", "HAPPINESS": "happy", "Sad": "sad", "surprised": "surprise",
             "fearful": "fear", "Disgust": "disgust", "Neutral": "neutral", "SU": "surprise",
             "contempt": "contempt"}
    assert {w: CLASS_NAMES[name_to_canonical(w)] for w in words} == words
    assert name_to_canonical("bored") is None
