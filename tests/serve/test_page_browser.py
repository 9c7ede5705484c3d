"""The web page in a real headless Chromium: upload a real photo, see a box and a label."""

from __future__ import annotations

from pathlib import Path

import pytest

from scancci.serve import create_app

pytestmark = pytest.mark.browser
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def upload_and_read(base_url: str, chromium: Path, photo: Path) -> dict[str, object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(base_url + "/")
            page.wait_for_function("document.getElementById('model-info').textContent"
                                   ".includes('scancci')")
            page.set_input_files("#file", str(photo))
            page.wait_for_selector("#boxes .box .box-label", timeout=60_000)
            return {
                "boxes": page.locator("#boxes .box").count(),
                "box_label": page.locator("#boxes .box-label").first.inner_text(),
                "label": page.locator("#faces .face .label").first.inner_text(),
                "bars": page.locator("#faces .face .bar").count(),
                "status": page.locator("#status").inner_text(),
                "box_width": page.locator("#boxes .box").first.bounding_box()["width"],
            }
        finally:
            browser.close()


def test_page_shows_box_label_and_bars_for_a_fake_face(fake_predictor, serve_on_loopback,
                                                       chromium_path, photos_dir) -> None:
    app = create_app(fake_predictor())
    with serve_on_loopback(app) as url:
        seen = upload_and_read(url, chromium_path, photos_dir / "0-f15-hao-ph.jpg")
    assert seen["boxes"] == 1 and seen["box_width"] > 10
    assert "happy" in seen["box_label"] and seen["label"] == "happy"
    assert seen["bars"] == 3
    assert "1 face" in seen["status"]


def test_page_with_a_real_model_draws_the_face(serve_on_loopback, chromium_path,
                                               photos_dir) -> None:
    import torch

    from scancci.inference import Recognizer
    from scancci.models import create_model

    torch.manual_seed(0)
    model = create_model("scancci_mobilenetv2", num_classes=7, input_size=112).eval()
    with serve_on_loopback(create_app(Recognizer(model))) as url:
        seen = upload_and_read(url, chromium_path, photos_dir / "0-f15-hao-ph.jpg")
    assert seen["boxes"] == 1 and seen["box_width"] > 20
    assert seen["label"] in model.config.class_names
    assert seen["label"] in seen["box_label"]
    assert seen["bars"] == 7
