"""Engines that run scancci's per-file work on a cluster: today Ray Data (`--engine ray`).

The local engine is `scancci.inference.predict.predict_corpus` (one process, file after file);
`predict_corpus_ray` runs the same work, from the same sources, stream loop and Recognizer, as
Ray Data tasks and actors and writes the same rows (CSV, JSONL or a Parquet dataset), with the
same resume; `prepare_dataset_ray` does `scancci prepare` so. Ray and pyarrow are the
`scancci[ray]` extra: nothing here imports them until a run starts.
"""

from scancci.engines.cluster import RayOptions
from scancci.engines.predict import RecognizerSpec, predict_corpus_ray
from scancci.engines.prepare import prepare_dataset_ray

__all__ = ["RayOptions", "RecognizerSpec", "predict_corpus_ray", "prepare_dataset_ray"]
