"""Apache Beam pipelines: score and tune files of any size on direct, Dataflow, Flink or Spark.

Only the command line imports this part (lazily, when ``--runner`` is given): importing it
imports Apache Beam. Modules:

- :mod:`cls_core.pipelines.io`: inputs (a path or a glob of CSV/TSV/JSON lines/Parquet
  shards), checked at construction time, read as rows or DataFrames.
- :mod:`cls_core.pipelines.options`: ``--runner`` + ``--beam-option`` → ``PipelineOptions``.
- :mod:`cls_core.pipelines.model_handler`: a ``ModelHandler`` that scores through the
  project's model registry (the SavedModel's signature, never Keras).
- :mod:`cls_core.pipelines.score`: the scoring pipeline (Parquet shards out).
"""

from __future__ import annotations
