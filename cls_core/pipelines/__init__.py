"""Apache Beam pipelines: score and tune files of any size on direct, Dataflow, Flink or Spark.

Only the command line imports this part (lazily, when ``--runner`` is given); its modules
import Apache Beam (this ``__init__`` does not: call :func:`quiet_beam_logging` first).
Modules:

- :mod:`cls_core.pipelines.io`: inputs (a path or a glob of CSV/TSV/JSON lines/Parquet
  shards), checked at construction time, read as rows or DataFrames.
- :mod:`cls_core.pipelines.options`: ``--runner`` + ``--beam-option`` → ``PipelineOptions``.
- :mod:`cls_core.pipelines.model_handler`: a ``ModelHandler`` that scores through the
  project's model registry (the SavedModel's signature, never Keras).
- :mod:`cls_core.pipelines.score`: the scoring pipeline (Parquet shards out).
- :mod:`cls_core.pipelines.histogram`: the ``CombineFn`` of per-class counts at each
  distinct float32 score (exact; bucketed by high bits past ``--max-distinct``).
- :mod:`cls_core.pipelines.bootstrap`: Poisson bootstrap weights (independent of sharding).
- :mod:`cls_core.pipelines.tune`: the tuning pipeline (histograms → the in-process sweep,
  optimisers and metrics → thresholds.json).
"""

from __future__ import annotations

import logging

__all__ = ["quiet_beam_logging"]


def quiet_beam_logging() -> None:
    """Keep Beam's import-time and INFO log lines off a command's stderr; call before importing Beam.

    Importing Beam logs a warning through the root logger when optional Google Cloud
    clients are absent; with no handler configured, that call installs one on the root
    logger and every later Beam INFO/WARNING line reaches the terminal. A ``NullHandler`` on
    the root (only when it has no handler yet) and Beam's loggers at ERROR keep the
    command's stderr to its own progress and ``error:`` lines.
    """
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.NullHandler())
    logging.getLogger("apache_beam").setLevel(logging.ERROR)
