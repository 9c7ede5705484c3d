"""The canonical label space: AffectNet order, as the original SCAN-CCI code maps every dataset.

Maps from each dataset's own label order live next to its reader and are tested one by one;
label-order mix-ups are the most common silent bug in FER code.
"""

from __future__ import annotations

# 0..7 in AffectNet order (spec section 3). The 7-class view drops contempt (index 7).
CLASS_NAMES: tuple[str, ...] = (
    "neutral",
    "happy",
    "sad",
    "surprise",
    "fear",
    "disgust",
    "anger",
    "contempt",
)
CLASS_NAMES_7: tuple[str, ...] = CLASS_NAMES[:7]
CLASS_NAMES_8: tuple[str, ...] = CLASS_NAMES


def class_names(num_classes: int) -> tuple[str, ...]:
    """Canonical class names for a 7- or 8-class model."""
    if num_classes == 7:
        return CLASS_NAMES_7
    if num_classes == 8:
        return CLASS_NAMES_8
    raise ValueError(f"the canonical label space has 7 or 8 classes, got {num_classes}")
