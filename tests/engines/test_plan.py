"""The Ray engine's plan without starting Ray: resources that fit the CPUs (no deadlock on 2
cores), GPUs for the classifier actors, units of work, and bad values named by their flag."""

from __future__ import annotations

import pytest

from scancci.engines import RayOptions, RecognizerSpec
from scancci.engines.cluster import Cluster
from scancci.engines.predict import Work, plan, units
from scancci.errors import InvalidInputError
from scancci.inference.sources import CorpusFile
from scancci.inference.stream import StreamOptions

SPEC = RecognizerSpec.of(None, batch_size=64)
WORK = Work(StreamOptions())


def cluster(cpus: float, gpus: float = 0) -> Cluster:
    return Cluster(started=False, startup_seconds=0.0, cpus=cpus, gpus=gpus)


def test_on_the_cpu_tasks_fill_the_cpus_and_actors_reserve_none(capsys) -> None:
    detect, classify = plan(cluster(2), RayOptions(), SPEC, WORK)
    assert (detect.actor, detect.cpus) == (False, 1.0)
    assert (classify.actor, classify.size, classify.cpus, classify.gpus) == (True, 1, 0.0, 0)
    assert detect.kwargs["videos_here"] and classify.kwargs["device"] is None
    line = capsys.readouterr().err
    assert line.startswith("ray: 2 CPUs, 0 GPUs;") and "batches of up to 64 faces" in line
    _, autoscaling = plan(cluster(16), RayOptions(), SPEC, WORK)
    assert (autoscaling.size, autoscaling.max_size, autoscaling.cpus) == (None, 8, 0.0)
    _, fixed = plan(cluster(16), RayOptions(workers=3), SPEC, WORK)
    assert fixed.size == 3
    one_core, _ = plan(cluster(0.5), RayOptions(), SPEC, WORK)
    assert one_core.cpus == 0.5  # a task still fits


def test_gpus_per_worker_puts_the_actors_and_the_videos_on_gpus(capsys) -> None:
    detect, classify = plan(cluster(8, gpus=2), RayOptions(gpus_per_worker=1), SPEC, WORK)
    assert (classify.size, classify.gpus, classify.cpus) == (2, 1, 1.0)
    assert classify.kwargs["device"] == "cuda" and not detect.kwargs["videos_here"]
    assert detect.cpus + classify.size * classify.cpus <= 8
    assert "classified by 2 actor(s) (1 GPU and 1 CPU each" in capsys.readouterr().err
    _, halves = plan(cluster(8, gpus=2), RayOptions(gpus_per_worker=0.5), SPEC, WORK)
    assert (halves.size, halves.gpus) == (4, 0.5)


def test_impossible_requests_name_their_flag() -> None:
    with pytest.raises(InvalidInputError, match="--gpus-per-worker 1: the Ray cluster has 0"):
        plan(cluster(8), RayOptions(gpus_per_worker=1), SPEC, WORK)
    with pytest.raises(InvalidInputError, match="--workers 4: .* use --workers 1"):
        plan(cluster(2, gpus=4), RayOptions(gpus_per_worker=1), SPEC, WORK)
    for bad, flag in (({"workers": 0}, "--workers"), ({"photos_per_task": 0},
                                                      "--photos-per-task"),
                      ({"gpus_per_worker": -1}, "--gpus-per-worker")):
        with pytest.raises(InvalidInputError, match=flag):
            RayOptions(**bad)
    with pytest.raises(InvalidInputError, match="path or a baseline"):
        RecognizerSpec.of(object())


def test_units_put_videos_first_and_photos_together(tmp_path) -> None:
    (tmp_path / "small.mp4").write_bytes(b"x")
    (tmp_path / "large.mp4").write_bytes(b"x" * 100)
    files = [CorpusFile(f"{i}.jpg", str(tmp_path / f"{i}.jpg"), "image") for i in range(5)]
    files.insert(2, CorpusFile("small.mp4", str(tmp_path / "small.mp4"), "video"))
    files.append(CorpusFile("large.mp4", str(tmp_path / "large.mp4"), "video"))
    planned = units(files, photos_per_task=2)
    assert [[item.name for _, item in unit] for unit in planned] == [
        ["large.mp4"], ["small.mp4"], ["0.jpg", "1.jpg"], ["2.jpg", "3.jpg"], ["4.jpg"]]
    assert sorted(number for unit in planned for number, _ in unit) == list(range(7))


def test_a_gpu_device_without_gpu_workers_is_refused_before_ray_starts(tmp_path) -> None:
    from scancci.engines import predict_corpus_ray

    with pytest.raises(InvalidInputError, match="--device cuda with --engine ray: give "
                                                "--gpus-per-worker"):
        predict_corpus_ray(RecognizerSpec.of(None, device="cuda"), tmp_path, tmp_path / "o.csv")
