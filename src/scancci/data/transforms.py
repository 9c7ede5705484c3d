"""Image transforms: the original SCAN-CCI recipe plus the modern augmentations users expect.

Original recipe (spec section 2): horizontal flip p=0.5, ColorJitter(brightness 0.4, contrast
0.3, saturation 0.25, hue 0.05), resize to SxS (aspect not kept), ToTensor, normalise with
mean = std = 0.5. By default scancci resizes first and augments the small image
(`resize_last=True` keeps the original's order). Added options, all off by default: RandAugment
and random erasing (the usual remedy for occlusion), a small random rotation and
random-resized-crop. Built with
torchvision.transforms.v2; the geometric and colour steps run on the PIL image, as the original.
Evaluation (train=False) is `scancci.imaging.model_input`, the very function prediction feeds
its face crops through, so a face gives the same tensor in both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torchvision.transforms import v2

from scancci.errors import InvalidInputError, unknown_name
from scancci.imaging import as_rgb_array, model_input

ORIGINAL_MEAN = (0.5, 0.5, 0.5)
ORIGINAL_STD = (0.5, 0.5, 0.5)
ORIGINAL_JITTER = (0.4, 0.3, 0.25, 0.05)  # brightness, contrast, saturation, hue

# option -> default. `color_jitter`: True (the original values), False, or a 4-tuple.
AUGMENT_DEFAULTS: dict[str, Any] = {
    "flip": True,
    "color_jitter": True,
    "randaugment": False,  # True, or {"num_ops": 2, "magnitude": 9}
    "random_erasing": 0.0,  # probability
    "rotation": 0.0,  # degrees, uniform in [-rotation, rotation]
    "crop_scale": None,  # (min, max) area fraction of RandomResizedCrop; None = plain resize
}


def build_transforms(
    *,
    train: bool,
    input_size: int = 224,
    mean: Sequence[float] = ORIGINAL_MEAN,
    std: Sequence[float] = ORIGINAL_STD,
    resize_last: bool = False,
    **augment_options: Any,
) -> v2.Compose | ModelInput:
    """PIL RGB image -> normalised 3 x S x S float tensor; augmentations only when `train`.

    The augmentations run after the resize (cheaper on large images); `resize_last` runs them
    on the image at its native size and resizes afterwards, the original's order
    (main_rafdb.py:114-120: flip, ColorJitter, then Resize). Without `train`: `ModelInput`.
    """
    for key in augment_options:
        if key not in AUGMENT_DEFAULTS:
            raise unknown_name("augmentation option", key, AUGMENT_DEFAULTS)
    options = {**AUGMENT_DEFAULTS, **augment_options}
    if not isinstance(input_size, int) or input_size < 8:
        raise InvalidInputError(f"input_size must be an integer >= 8, got {input_size!r}")
    if not train:
        return ModelInput(input_size, mean, std)
    steps: list[Any] = []
    size = (input_size, input_size)
    if options["crop_scale"] is not None:
        steps.append(v2.RandomResizedCrop(size, scale=tuple(options["crop_scale"]),
                                          antialias=True))
    elif not resize_last:
        steps.append(v2.Resize(size, antialias=True))
    steps.extend(_train_steps(options))
    if resize_last and options["crop_scale"] is None:
        steps.append(v2.Resize(size, antialias=True))
    steps += [v2.ToImage(), v2.ToDtype(torch.float32, scale=True),
              v2.Normalize(mean=list(mean), std=list(std))]
    if options["random_erasing"]:
        steps.append(v2.RandomErasing(p=float(options["random_erasing"])))
    return v2.Compose(steps)


class ModelInput:
    """The evaluation transform: an image (PIL or array, any mode) -> the 3 x S x S float
    tensor that `scancci.imaging.model_input` gives prediction for the same pixels."""

    def __init__(self, input_size: int, mean: Sequence[float], std: Sequence[float]) -> None:
        self.size, self.mean, self.std = int(input_size), tuple(mean), tuple(std)

    def __call__(self, image: Any) -> torch.Tensor:
        return torch.from_numpy(model_input([as_rgb_array(image)], self.size, self.mean,
                                            self.std)[0])

    def __repr__(self) -> str:
        return f"ModelInput(size={self.size}, mean={self.mean}, std={self.std})"


def _train_steps(options: dict[str, Any]) -> list[Any]:
    steps: list[Any] = []
    if options["flip"]:
        steps.append(v2.RandomHorizontalFlip(p=0.5))
    if options["rotation"]:
        steps.append(v2.RandomRotation(float(options["rotation"])))
    jitter = options["color_jitter"]
    if jitter:
        values = ORIGINAL_JITTER if jitter is True else tuple(jitter)
        if len(values) != 4:
            raise InvalidInputError(
                f"color_jitter takes (brightness, contrast, saturation, hue), got {jitter!r}"
            )
        steps.append(v2.ColorJitter(*values))
    randaugment = options["randaugment"]
    if randaugment:
        kwargs = randaugment if isinstance(randaugment, dict) else {}
        steps.append(v2.RandAugment(**kwargs))
    return steps
