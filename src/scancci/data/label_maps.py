"""Every source label order mapped to the canonical AffectNet order, written out one by one.

Label-order mix-ups are the most common silent bug in FER code, so each map is an explicit
table (spec section 3), tested entry by entry in tests/data/test_label_maps.py. A source code
mapped to `None` is excluded by the dataset protocol (counted in the summary, never silent).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from scancci.data.labels import CLASS_NAMES

NEUTRAL, HAPPY, SAD, SURPRISE, FEAR, DISGUST, ANGER, CONTEMPT = range(8)

# RAF-DB basic, EmoLabel/list_patition_label.txt: 1 Surprise, 2 Fear, 3 Disgust, 4 Happiness,
# 5 Sadness, 6 Anger, 7 Neutral.
RAFDB_TO_CANONICAL: Mapping[int, int] = MappingProxyType(
    {1: SURPRISE, 2: FEAR, 3: DISGUST, 4: HAPPY, 5: SAD, 6: ANGER, 7: NEUTRAL}
)
CANONICAL_TO_RAFDB: Mapping[int, int] = MappingProxyType(
    {canonical: code for code, canonical in RAFDB_TO_CANONICAL.items()}
)

# AffectNet: 0 Neutral .. 7 Contempt is already canonical; 8 None, 9 Uncertain, 10 No-Face
# are not expressions and are excluded.
AFFECTNET_TO_CANONICAL: Mapping[int, int | None] = MappingProxyType(
    {0: NEUTRAL, 1: HAPPY, 2: SAD, 3: SURPRISE, 4: FEAR, 5: DISGUST, 6: ANGER, 7: CONTEMPT,
     8: None, 9: None, 10: None}
)
AFFECTNET_EXCLUDED_NAMES: Mapping[int, str] = MappingProxyType(
    {8: "none", 9: "uncertain", 10: "no-face"}
)

# CK+ Emotion/*_emotion.txt: 0 neutral, 1 anger, 2 contempt, 3 disgust, 4 fear, 5 happy,
# 6 sadness, 7 surprise.
CKPLUS_TO_CANONICAL: Mapping[int, int] = MappingProxyType(
    {0: NEUTRAL, 1: ANGER, 2: CONTEMPT, 3: DISGUST, 4: FEAR, 5: HAPPY, 6: SAD, 7: SURPRISE}
)

# FER2013 (fer2013.csv "emotion" column, and many CSVs derived from it): 0 Angry, 1 Disgust,
# 2 Fear, 3 Happy, 4 Sad, 5 Surprise, 6 Neutral.
FER2013_TO_CANONICAL: Mapping[int, int] = MappingProxyType(
    {0: ANGER, 1: DISGUST, 2: FEAR, 3: HAPPY, 4: SAD, 5: SURPRISE, 6: NEUTRAL}
)

# FERPlus vote columns, in file order: neutral, happiness, surprise, sadness, anger, disgust,
# fear, contempt, unknown, NF (not a face). The last two have no canonical class.
FERPLUS_COLUMNS: tuple[str, ...] = (
    "neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt",
    "unknown", "NF",
)
FERPLUS_TO_CANONICAL: tuple[int | None, ...] = (
    NEUTRAL, HAPPY, SURPRISE, SAD, ANGER, DISGUST, FEAR, CONTEMPT, None, None,
)

# Emotion words as they appear in folder and file names (SFEW, FED-RO, Oulu-CASIA, JAFFE
# codes, people's own folders). Lower-case keys; `name_to_canonical` lower-cases its input.
NAME_TO_CANONICAL: Mapping[str, int] = MappingProxyType(
    {
        **{name: index for index, name in enumerate(CLASS_NAMES)},
        "neutrality": NEUTRAL, "ne": NEUTRAL, "calm": NEUTRAL,
        "happiness": HAPPY, "happy": HAPPY, "joy": HAPPY, "ha": HAPPY, "smile": HAPPY,
        "sadness": SAD, "sad": SAD, "sa": SAD,
        "surprised": SURPRISE, "surprise": SURPRISE, "su": SURPRISE,
        "fearful": FEAR, "afraid": FEAR, "scared": FEAR, "fe": FEAR,
        "disgusted": DISGUST, "di": DISGUST,
        "angry": ANGER, "anger": ANGER, "an": ANGER,
        "contemptuous": CONTEMPT, "co": CONTEMPT,
    }
)


def name_to_canonical(name: str) -> int | None:
    """Canonical index of an emotion word or two-letter code (any case); None when unknown."""
    return NAME_TO_CANONICAL.get(name.strip().lower())


# Integer label orders a CSV of one's own may use (`open_dataset("csv", ..., label_codes=...)`).
CODE_ORDERS: Mapping[str, Mapping[int, int | None]] = MappingProxyType(
    {
        "canonical": MappingProxyType(dict(enumerate(range(8)))),
        "rafdb": RAFDB_TO_CANONICAL,
        "affectnet": AFFECTNET_TO_CANONICAL,
        "ckplus": CKPLUS_TO_CANONICAL,
        "fer2013": FER2013_TO_CANONICAL,
    }
)
