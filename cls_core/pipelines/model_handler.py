"""A Beam ``ModelHandler`` that scores texts through the project's model registry.

Beam's own TensorFlow handlers (``TFModelHandlerTensor``/``Numpy``) load with
``tf.keras.models.load_model``, which Keras 3 refuses for SavedModel directories (open
upstream: apache/beam#30616). :class:`RegistryModelHandler` loads with
:func:`cls_core.modelio.registry.load_model` instead: the same model roots, name checks and
own-model adapters as the app and the in-process ``score``, and
:meth:`~cls_core.modelio.registry.LoadedModel.predict` calls the SavedModel's signature
(``tf.saved_model.load(...).signatures[...]``), never ``model.predict`` of Keras.

Elements are pandas DataFrames: chunks of up to ``chunk_rows`` consecutive rows of one shard
(:func:`cls_core.pipelines.io.read_batches`), and each chunk is scored in one call. This
model's scores change in the last bit with the batch a text is scored in (measured: up to
6e-8 when the same texts are cut into other batches), so scoring the same chunks as the
in-process ``score`` (``--chunk-rows``, default 2048) makes the Beam scores bit-identical to
it; ``batch_elements_kwargs`` therefore asks for one chunk per call, and the batch size in
rows is the chunk size (see ``benchmarks/bench_beam_score.py`` for rows/s per size).

One model per worker process: ``RunInference`` keeps the loaded model in
``apache_beam.utils.shared.Shared`` (``share_model_across_processes()`` is False: a model
served from another process would copy every batch between processes).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from apache_beam.metrics import Metrics
from apache_beam.ml.inference.base import ModelHandler

__all__ = ["METRICS_NAMESPACE", "RegistryModelHandler", "ScoringError", "texts_of"]

#: Namespace of the handler's counters (``rows``, ``empty_texts``).
METRICS_NAMESPACE = "cls_core.score"


class ScoringError(RuntimeError):
    """The model returned something other than one row of scores per text."""


def texts_of(values: Sequence[Any]) -> list[str]:
    """Cells of a text column as ``str``, as the in-process ``score`` reads them.

    ``None`` and float NaN (a missing cell) become ``""``; anything else is ``str(value)``.
    """
    return ["" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in values]


class RegistryModelHandler(ModelHandler[pd.DataFrame, pd.DataFrame, Any]):
    """Scores DataFrame chunks with a model the registry resolves by name.

    Parameters
    ----------
    model_name : str
        A model name (a directory under a model root, never a path).
    text_column : str
        The column holding the texts.
    labels : sequence of str
        The model's labels, in class-id order (the output columns), as the registry's
        card lists them; checked against the loaded model on each worker.
    logits : bool
        Write logits instead of scores.
    roots : sequence of str, optional
        Model roots (default: :func:`cls_core.paths.model_roots` on the worker).

    Raises
    ------
    ValueError
        An empty ``model_name`` or ``text_column``, or no labels.
    """

    def __init__(
        self,
        model_name: str,
        *,
        text_column: str,
        labels: Sequence[str],
        logits: bool = False,
        roots: Sequence[str] | None = None,
    ) -> None:
        if not model_name:
            raise ValueError("`model_name` must be a model name; got an empty string")
        if not text_column:
            raise ValueError("`text_column` must name a column; got an empty string")
        if not labels:
            raise ValueError("`labels` must list the model's labels; got none")
        super().__init__()
        self._model_name = model_name
        self._text_column = text_column
        self._labels = tuple(str(x) for x in labels)
        self._logits = logits
        self._roots = tuple(roots) if roots is not None else None
        self._rows = Metrics.counter(METRICS_NAMESPACE, "rows")
        self._empty = Metrics.counter(METRICS_NAMESPACE, "empty_texts")

    def load_model(self) -> Any:
        """Load the model through the registry (once per worker process)."""
        from pathlib import Path

        from cls_core.modelio.registry import load_model

        roots = [Path(r) for r in self._roots] if self._roots is not None else None
        model = load_model(self._model_name, roots=roots)
        labels = tuple(str(x) for x in model.labels)
        if labels != self._labels:
            raise ScoringError(
                f"model {self._model_name!r} on this worker has labels {list(labels)[:10]}, "
                f"not the {list(self._labels)[:10]} the pipeline was built with"
            )
        return model

    def run_inference(
        self,
        batch: Sequence[pd.DataFrame],
        model: Any,
        inference_args: dict[str, Any] | None = None,
    ) -> Iterable[pd.DataFrame]:
        """Each chunk with one float32 column per label appended (one signature call per chunk)."""
        out = []
        for frame in batch:
            texts = texts_of(frame[self._text_column].tolist())
            prediction = model.predict(texts)
            values = np.asarray(
                prediction.logits if self._logits else prediction.scores, dtype=np.float32
            )
            if values.shape != (len(texts), len(self._labels)):
                raise ScoringError(
                    f"model {self._model_name!r} returned shape {values.shape} for "
                    f"{len(texts)} texts; expected {(len(texts), len(self._labels))}"
                )
            result = frame.reset_index(drop=True).copy()
            for j, label in enumerate(self._labels):
                result[label] = values[:, j]
            self._rows.inc(len(texts))
            empty = sum(1 for t in texts if not t.strip())
            if empty:
                self._empty.inc(empty)
            out.append(result)
        return out

    def get_num_bytes(self, batch: Sequence[pd.DataFrame]) -> int:
        """Bytes of the texts in ``batch`` (Beam's default pickles the whole batch)."""
        return sum(
            sum(len(t) for t in texts_of(frame[self._text_column].tolist())) for frame in batch
        )

    def get_metrics_namespace(self) -> str:
        """Namespace of RunInference's own metrics (inference time, batch sizes)."""
        return "cls_core.RunInference"

    def batch_elements_kwargs(self) -> Mapping[str, Any]:
        """One chunk per call: the chunk is the batch (see the module docstring)."""
        return {"min_batch_size": 1, "max_batch_size": 1}

    def share_model_across_processes(self) -> bool:
        """False: one model per worker process, shared by its threads (``shared.Shared``)."""
        return False
