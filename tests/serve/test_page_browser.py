"""The web page in a real headless Chromium: upload a real photo; every drawn box must sit within
2 px of the /predict box scaled to the displayed photo, and every label inside the photo and off
every other label, at two window sizes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from scancci.serve import create_app

pytestmark = pytest.mark.browser
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# A wide desktop window (photo at its 700 px cap or natural size) and a narrow phone-like one
# (photo scaled down to the window).
WINDOWS = ({"width": 1280, "height": 900}, {"width": 420, "height": 860})
TOLERANCE_PX = 2.0
# Off-centre boxes of different sizes: a shifted or stretched stage moves each one differently.
FAKE_BOXES = ((0.05, 0.10, 0.30, 0.45), (0.55, 0.50, 0.95, 0.95), (0.40, 0.02, 0.60, 0.20))


def expected_boxes(result: dict[str, Any], photo: dict[str, float]) -> list[list[float]]:
    """The /predict boxes (image pixels) as page pixels of the displayed photo."""
    sx, sy = photo["width"] / result["width"], photo["height"] / result["height"]
    return [[photo["x"] + f["x1"] * sx, photo["y"] + f["y1"] * sy, photo["x"] + f["x2"] * sx,
             photo["y"] + f["y2"] * sy] for f in result["faces"]]


def drawn_boxes(page: Any) -> list[list[float]]:
    """Every drawn box's corners in page pixels."""
    rects = [page.locator("#boxes .box").nth(i).bounding_box()
             for i in range(page.locator("#boxes .box").count())]
    return [[r["x"], r["y"], r["x"] + r["width"], r["y"] + r["height"]] for r in rects]


def drawn_labels(page: Any) -> list[list[float]]:
    """Every box label's corners in page pixels."""
    rects = [page.locator("#boxes .box-label").nth(i).bounding_box()
             for i in range(page.locator("#boxes .box-label").count())]
    return [[r["x"], r["y"], r["x"] + r["width"], r["y"] + r["height"]] for r in rects]


def upload_and_measure(base_url: str, chromium: Path, photo: Path,
                       screenshot: Path | None = None) -> dict[str, Any]:
    """Upload `photo`, then per window size: the /predict result, drawn and expected boxes."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=WINDOWS[0])
            page.goto(base_url + "/")
            page.wait_for_function("document.getElementById('model-info').textContent"
                                   ".includes('scancci')")
            with page.expect_response(lambda r: "/predict" in r.url) as response:
                page.set_input_files("#file", str(photo))
            result = response.value.json()
            page.wait_for_selector("#boxes .box .box-label", timeout=60_000)
            page.wait_for_function("document.getElementById('photo').complete"
                                   " && document.getElementById('photo').naturalWidth > 0")
            seen: dict[str, Any] = {
                "result": result,
                "box_label": page.locator("#boxes .box-label").first.inner_text(),
                "label": page.locator("#faces .face .label").first.inner_text(),
                "bars": page.locator("#faces .face .bar").count(),
                "status": page.locator("#status").inner_text(),
                "attention_disabled": page.locator("#attention").is_disabled(),
                "windows": [],
            }
            for window in WINDOWS:
                page.set_viewport_size(window)
                page.wait_for_timeout(100)  # one layout pass
                shown = page.locator("#photo").bounding_box()
                seen["windows"].append({"photo": shown, "drawn": drawn_boxes(page),
                                        "labels": drawn_labels(page),
                                        "expected": expected_boxes(result, shown)})
                if screenshot is not None and window is WINDOWS[0]:
                    page.screenshot(path=str(screenshot), full_page=True)
            return seen
        finally:
            browser.close()


def assert_geometry(seen: dict[str, Any], faces: int) -> None:
    """Each drawn box within TOLERANCE_PX of the /predict box at every window size."""
    assert len(seen["result"]["faces"]) == faces
    widths = set()
    for window in seen["windows"]:
        widths.add(round(window["photo"]["width"]))
        assert len(window["drawn"]) == faces
        for drawn, expected in zip(window["drawn"], window["expected"], strict=True):
            assert max(abs(d - e) for d, e in zip(drawn, expected, strict=True)) <= TOLERANCE_PX, \
                (window["photo"], drawn, expected)
    assert len(widths) == len(WINDOWS)  # the photo really was shown at different sizes
    for window in seen["windows"]:
        shown, labels = window["photo"], window["labels"]
        assert len(labels) == faces
        for x1, y1, x2, y2 in labels:  # inside the photo
            assert shown["x"] - 0.5 <= x1 and x2 <= shown["x"] + shown["width"] + 0.5, shown
            assert shown["y"] - 0.5 <= y1 and y2 <= shown["y"] + shown["height"] + 0.5, shown
        for i, a in enumerate(labels):  # never over another label
            for b in labels[i + 1:]:
                w = min(a[2], b[2]) - max(a[0], b[0])
                h = min(a[3], b[3]) - max(a[1], b[1])
                assert w <= 0.5 or h <= 0.5, (window["photo"]["width"], a, b)


def test_fake_boxes_are_drawn_where_predict_put_them(fake_predictor, serve_on_loopback,
                                                     chromium_path, photos_dir) -> None:
    app = create_app(fake_predictor(boxes=FAKE_BOXES))
    with serve_on_loopback(app) as url:
        seen = upload_and_measure(url, chromium_path, photos_dir / "0-f15-hao-ph.jpg")
    assert_geometry(seen, faces=len(FAKE_BOXES))
    assert "happy" in seen["box_label"] and seen["label"] == "happy"
    assert seen["bars"] == 3 * len(FAKE_BOXES)
    assert "3 faces" in seen["status"]
    assert seen["attention_disabled"]  # the fake model has no attention maps


def test_group_photo_with_a_real_model_and_detector(serve_on_loopback, chromium_path,
                                                    photos_dir) -> None:
    import torch

    from scancci.inference import Recognizer
    from scancci.models import create_model

    torch.manual_seed(0)
    model = create_model("scancci_mobilenetv2", num_classes=7, input_size=112).eval()
    screenshot = os.environ.get("SCANCCI_PAGE_SCREENSHOT")  # docs/images/web_page.png
    with serve_on_loopback(create_app(Recognizer(model))) as url:
        seen = upload_and_measure(url, chromium_path, photos_dir / "multi_face.jpg",
                                  Path(screenshot) if screenshot else None)
    assert_geometry(seen, faces=5)
    assert seen["label"] in model.config.class_names
    assert seen["label"] in seen["box_label"]
    assert seen["bars"] == 5 * 7
    assert not seen["attention_disabled"]  # SCAN-CCI computes attention maps
