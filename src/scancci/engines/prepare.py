"""`scancci prepare SRC DST --engine ray`: detect and align a raw dataset on Ray Data.

The driver plans the run as the local prepare does (`plan_dataset`: the images left to do,
the other files copied), the images go to Ray tasks `photos_per_task` at a time, and each task
runs the local prepare's own chunk step (`process_images`: read, detect in one batch, align,
save under a temporary name and rename). The driver folds the outcomes into the report. With
the same chunks as the local run (16), the aligned files are the same. Every file lands whole
or not at all, so a killed run (driver or worker) resumed skips exactly the finished images;
an image whose worker dies every time is an `error` line of the report.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from scancci.engines.cluster import (
    RayOptions,
    Stage,
    announce,
    connect,
    require_ray,
    row_of,
    run_units,
    unit_of,
)
from scancci.faces.align import DEFAULT_TEMPLATE
from scancci.faces.detect import FaceDetector
from scancci.faces.names import DEFAULT_DETECTOR
from scancci.faces.prepare import (
    Aligner,
    DatasetReport,
    plan_dataset,
    process_images,
    write_report,
)

REPORT_SECONDS = 5.0  # the report is rewritten at most this often while a run goes on


# A detector as the tasks receive it: backend, min_score, min_face_size, rotation (plain
# values that travel to every worker)
DetectorSettings = tuple[str, float | None, float | None, int | str | None]


@functools.lru_cache(maxsize=2)
def _worker_detector(settings: DetectorSettings) -> FaceDetector:
    """The detector of a task worker process, built once per process and settings."""
    backend, min_score, min_face_size, rotation = settings
    return FaceDetector(backend, min_score=min_score, min_face_size=min_face_size,
                        rotation=rotation)


def prepare_unit(row: dict[str, Any], *, src: str, dst: str, detector: DetectorSettings,
                 aligner: Aligner) -> dict[str, Any]:
    """A task: one chunk of images through the local prepare's chunk step."""
    unit = unit_of(row)
    paths = [Path(path) for _, path in unit]
    outcomes = process_images(paths, Path(src), Path(dst), aligner, _worker_detector(detector),
                              template=aligner.template)
    return row_of([(number, outcome) for (number, _), outcome in zip(unit, outcomes,
                                                                      strict=True)])


def prepare_dataset_ray(source: str | Path, destination: str | Path, *,
                        detector: str | FaceDetector = DEFAULT_DETECTOR,
                        output_size: int = 224, template: str = DEFAULT_TEMPLATE,
                        resume: bool = True, ray: RayOptions = RayOptions(),
                        progress: bool = True) -> DatasetReport:
    """`prepare_dataset` on Ray: the largest face of every image under `source` aligned into
    `destination` (same relative paths), resumable and with the same report. The tasks detect
    with `detector`'s backend, thresholds and rotation (a name: that backend's defaults)."""
    require_ray()
    aligner = Aligner(output_size, template)
    # built here first: a wrong name or missing weights fail before Ray starts
    chosen = detector if isinstance(detector, FaceDetector) else FaceDetector(detector)
    settings: DetectorSettings = (chosen.backend, chosen.min_score, chosen.min_face_size,
                                  chosen.rotation)
    plan = plan_dataset(source, destination, kind="prepare", resume=resume)
    report = plan.report
    if not plan.todo:
        write_report(report)
        return report
    cluster = connect(ray.address)
    try:
        started = f", started here in {cluster.startup_seconds:.1f} s" if cluster.started \
            else ""
        announce(f"{cluster.cpus:g} CPUs{started}; images read, detected, aligned and saved "
                 f"in tasks (1 CPU, {ray.photos_per_task} images each)")
        stage = Stage(prepare_unit, {"src": str(plan.src), "dst": str(plan.dst),
                                     "detector": settings, "aligner": aligner},
                      cpus=min(1.0, cluster.cpus))
        numbered = list(enumerate(plan.todo))
        units = [numbered[i:i + ray.photos_per_task]
                 for i in range(0, len(numbered), ray.photos_per_task)]
        last = time.monotonic()
        with tqdm(total=len(plan.todo), unit="img", desc="prepare", disable=not progress) \
                as bar:
            def done(number: int, outcome: Any) -> None:
                nonlocal last
                report.add(plan.relative(plan.todo[number]), outcome)
                bar.update()
                if time.monotonic() - last >= REPORT_SECONDS:
                    write_report(report)
                    last = time.monotonic()

            def failed(number: int, reason: str) -> None:
                done(number, ("error", f"{plan.relative(plan.todo[number])}: {reason}", 0))

            run_units(units, [stage], done, failed, ray.retries)
    finally:
        cluster.stop()
        write_report(report)
    return report
