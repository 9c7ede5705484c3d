"""Ray for scancci: the extra's check, the connection (a local instance sized to the machine,
or an existing cluster), the resources of a run, and the one way units of work run on Ray Data
with retries and failure isolation.

A run is a list of units (one video, or a few photos), each a list of numbered items. Units
flow through the stages (Ray Data tasks, then optionally an actor pool) and come back to the
driver as (item number, result) pairs, which the driver writes as they arrive. A worker that
dies mid-unit is retried by Ray (`retries` times); a unit that still fails is skipped by Ray
Data (`max_errored_blocks`) and its items are run again one per unit, so one poisonous file
cannot take its neighbours down; an item that fails alone too is reported as failed.
"""

from __future__ import annotations

import logging
import os
import pickle
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from scancci.errors import InvalidInputError, MissingDependencyError, error_detail

# What the driver says of a file whose worker died on every attempt.
DIED = "the worker processing this file died on every attempt ({attempts}); see the Ray logs"


@dataclass(frozen=True)
class RayOptions:
    """How a run uses Ray.

    address: an existing cluster ("auto", "ray://host:10001", "host:6379"); None: the
    RAY_ADDRESS environment variable, else a local instance sized to this machine.
    workers: classifier actors (default: as many as the GPUs allow with gpus_per_worker,
    else an autoscaling pool of 1 to CPUs - 1).
    gpus_per_worker: GPUs per classifier actor (0: the CPU); videos then run on the actors.
    photos_per_task: photos decoded and detected per task (and classified per actor call).
    retries: how often Ray retries a unit whose worker died, before isolating its files.
    """

    address: str | None = None
    workers: int | None = None
    gpus_per_worker: float = 0.0
    photos_per_task: int = 16
    retries: int = 2

    def __post_init__(self) -> None:
        """Bad values are refused before Ray starts."""
        if self.workers is not None and int(self.workers) < 1:
            raise InvalidInputError(f"--workers must be at least 1, got {self.workers}")
        if float(self.gpus_per_worker) < 0:
            raise InvalidInputError(f"--gpus-per-worker must be 0 or more, got "
                                    f"{self.gpus_per_worker}")
        if int(self.photos_per_task) < 1:
            raise InvalidInputError(f"--photos-per-task must be at least 1, got "
                                    f"{self.photos_per_task}")
        if int(self.retries) < 0:
            raise InvalidInputError(f"retries must be 0 or more, got {self.retries}")


def require_ray() -> Any:
    """The `ray` module with Ray Data and pyarrow, or one line naming the extra."""
    try:
        import pyarrow  # noqa: F401 - Ray Data's blocks and the Parquet output need it
        import ray
        import ray.data  # noqa: F401
    except ImportError as err:
        raise MissingDependencyError(
            f"--engine ray needs ray[data] and pyarrow ({err.name} is not installed): "
            "pip install 'scancci[ray]'") from err
    return ray


@dataclass
class Cluster:
    """The Ray a run uses: whether this run started it (and so stops it), how long that took,
    and the CPUs and GPUs it has."""

    started: bool
    startup_seconds: float
    cpus: float
    gpus: float

    def stop(self) -> None:
        """Stop Ray if this run started it."""
        if self.started:
            require_ray().shutdown()


def connect(address: str | None = None) -> Cluster:
    """Ray as already initialised in this process, else the cluster at `address` (or
    RAY_ADDRESS), else a new local instance sized to the machine."""
    ray = require_ray()
    start = time.perf_counter()
    started = not ray.is_initialized()
    if started:
        local = address is None and not os.environ.get("RAY_ADDRESS")
        try:
            ray.init(address=address, include_dashboard=False if local else None,
                     logging_level=logging.WARNING, configure_logging=True,
                     log_to_driver=True)
        except (ConnectionError, ValueError, RuntimeError) as err:
            raise InvalidInputError(f"--address {address or os.environ.get('RAY_ADDRESS')}: "
                                    f"cannot connect to a Ray cluster ({error_detail(err)}); "
                                    "start one with `ray start --head`") from err
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    resources = ray.cluster_resources()
    return Cluster(started, time.perf_counter() - start, float(resources.get("CPU", 0)),
                   float(resources.get("GPU", 0)))


@dataclass(frozen=True)
class Stage:
    """One step of the pipeline: a function run as Ray tasks (`actor` False: 1 CPU each) or a
    class run as a pool of actors (`size` fixed, or `max_size` for an autoscaling pool)."""

    fn: Any
    kwargs: dict[str, Any] = field(default_factory=dict)
    actor: bool = False
    size: int | None = None
    max_size: int = 1
    cpus: float = 1.0
    gpus: float = 0.0

    def apply(self, dataset: Any, retries: int) -> Any:
        """The dataset with this step mapped over its units."""
        ray = require_ray()
        # Ray 2.60 names no parameter for retries: they go as Ray remote arguments, which it
        # deprecates for 2.64 (hence the pin below 2.64); its warning is not the user's.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="`ray_remote_args` is deprecated")
            if not self.actor:
                return dataset.map(self.fn, fn_kwargs=self.kwargs, num_cpus=self.cpus,
                                   max_retries=retries)
            pool = ray.data.ActorPoolStrategy(size=self.size) if self.size else \
                ray.data.ActorPoolStrategy(min_size=1, max_size=self.max_size)
            return dataset.map(self.fn, fn_constructor_kwargs=self.kwargs, compute=pool,
                               num_cpus=self.cpus, num_gpus=self.gpus or None,
                               max_restarts=-1, max_task_retries=retries)


Unit = list[tuple[int, Any]]  # numbered items
Done = Callable[[int, Any], None]  # item number, its result


def run_units(units: Sequence[Unit], stages: Sequence[Stage], done: Done,
              failed: Callable[[int, str], None], retries: int) -> None:
    """Every item of `units` through the stages; `done(number, result)` as results arrive,
    `failed(number, reason)` for items whose worker died on every attempt (an item of a
    larger unit is first run again alone, so it fails by itself)."""
    todo = {number for unit in units for number, _ in unit}
    _run_pass(list(units), stages, done, todo, retries)
    alone = [[item] for unit in units if len(unit) > 1 for item in unit if item[0] in todo]
    if alone:
        _run_pass(alone, stages, done, todo, retries)
    for number in sorted(todo):
        failed(number, DIED.format(attempts=retries + 1))


def _run_pass(units: list[Unit], stages: Sequence[Stage], done: Done, todo: set[int],
              retries: int) -> None:
    for number, result in _results(units, stages, retries):
        if number in todo:  # never twice, whatever Ray sends
            todo.discard(number)
            done(number, result)


def _results(units: list[Unit], stages: Sequence[Stage], retries: int
             ) -> Iterator[tuple[int, Any]]:
    """(item number, result) pairs of one pass, as the units finish."""
    ray = require_ray()
    context = ray.data.DataContext.get_current()
    saved = (context.max_errored_blocks, context.enable_progress_bars)
    context.max_errored_blocks = -1  # a unit that fails every retry is skipped, not fatal
    context.enable_progress_bars = False  # the driver shows its own, per file
    try:
        dataset = ray.data.from_items([row_of(unit) for unit in units],
                                      override_num_blocks=len(units))
        for stage in stages:
            dataset = stage.apply(dataset, retries)
        for row in dataset.iter_rows():
            yield from unit_of(row)
    finally:
        context.max_errored_blocks, context.enable_progress_bars = saved


def unit_of(row: dict[str, Any]) -> Unit:
    """The numbered items a stage receives."""
    return pickle.loads(row["unit"])


def row_of(unit: Unit) -> dict[str, Any]:
    """What a stage hands on."""
    return {"unit": pickle.dumps(unit, protocol=5)}


def announce(text: str) -> None:
    """One line on stderr about the run (resources, start-up)."""
    print(f"ray: {text}", file=sys.stderr)
