"""Ship the decision: a SavedModel with the tuned thresholds and temperature baked in.

:func:`export_decision_model` wraps a registry model's own graph (``tf.saved_model.load``
of the source directory, its ``serving_default`` signature called inside new
``tf.function``\\ s: no retraining, no Keras) in a new SavedModel whose signatures apply
the decision of a thresholds.json:

- ``serving_default`` (predict): ``text`` → ``logits`` (the source logits divided by the
  temperature, so ``scores = activation(logits)`` holds as for every registry model),
  ``scores`` (after the temperature), ``fired`` (bool ``[N, C]``), ``labels`` (string
  ``[N, C]``: the fired labels first, in descending score order, ties by class id,
  padded with ``""``) and ``n_fired`` (int32 ``[N]``).
- ``classification`` (``tensorflow/serving/classify``, serialized ``tf.Example`` with a
  bytes feature ``text``): every class, ``classes`` and ``scores`` ``[N, C]`` in class-id
  order, scores after the temperature.
- ``decision`` (``tensorflow/serving/classify``): only the decision, ``classes`` and
  ``scores`` ``[N, K]`` with the fired labels first and ``""`` / ``0.0`` padding
  (``K = C`` multi-label; ``K = 1`` multi-class, where ``""`` means the model abstains;
  ``K = 1`` binary, never ``""``).
  TF Serving turns every column into a ``{label, score}`` pair: clients must drop the
  entries whose label is ``""``.

The thresholds live in the graph as constants; the saved function ``decision_config()``
(not a signature) returns them, so :func:`baked_decision` reads the decision from the
model itself, not from its card.

Exactness. cls_core decides with ``score >= threshold`` where the score is float32 and the
threshold the float64 number of thresholds.json (:mod:`cls_core.scoring.decisions`). The
graph compares float32 with float32, so each threshold ``t`` is stored as the smallest
float32 ``>= t`` (:meth:`DecisionRule.cutoffs`): for every float32 score ``s``,
``s >= t`` (real numbers) iff ``s >= cutoff``. Multi-class: the arg-max wins, ties to the
lower class id (computed without relying on ``tf.argmax``'s unspecified tie order), and
fires when its score reaches ``max(thresholds[w], reject_threshold)``, as
:func:`~cls_core.scoring.decisions.multiclass_decide` does. Binary (a thresholds.json with
``task: "binary"`` on a two-label multi-class model, scores ``[1 - p, p]``): the positive
label fires when ``p >= t`` (``p`` the float32 score of ``labels[1]``, ``t`` stored as its
float32 cutoff), else the negative label, as
:func:`~cls_core.scoring.decisions.binary_decide` does.

TensorFlow is imported lazily, inside the functions that build or read models.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import math
import os
import re
import shutil
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from cls_core import paths
from cls_core.evaluation.thresholds import (
    THRESHOLDS_TASKS,
    FileTask,
    ThresholdsFile,
    read_thresholds_json,
    sha256_of,
)
from cls_core.modelio.registry import (
    CARD_FILENAME,
    LoadedModel,
    ModelCard,
    load_model,
)
from cls_core.scoring.activations import validate_temperature
from cls_core.scoring.decisions import (
    binary_fired,
    multiclass_decide,
    multilabel_decide,
    validate_labels,
)

__all__ = [
    "CONFIG_FUNCTION",
    "DECISION_SIGNATURE",
    "EXPORT_CARD_KEY",
    "MAX_ZIP_BYTES",
    "BakedDecision",
    "DecisionRule",
    "ExportResult",
    "app_export_root",
    "baked_decision",
    "baked_labels",
    "check_temperature",
    "export_decision_model",
    "float32_at_least",
    "reference_fired",
    "run_classify_signature",
    "validate_export_name",
    "zip_model_dir",
]

#: Key of the classify signature that carries only the decision.
DECISION_SIGNATURE: Final = "decision"
#: Name of the saved function (not a signature) returning the baked constants.
CONFIG_FUNCTION: Final = "decision_config"
#: Key of the provenance record in the exported model_card.json.
EXPORT_CARD_KEY: Final = "decision_export"
_TEXT_FEATURE: Final = "text"
_ACTIVATIONS: Final = {"multi-class": "softmax", "multi-label": "sigmoid", "binary": "softmax"}
#: Largest zip the app offers for download (bytes, before and after compression).
MAX_ZIP_BYTES: Final = 100 * 1024 * 1024
_NAME_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
#: Texts the export runs through both graphs before it is moved into place.
_PROBE_TEXTS: Final = ("", "   ", "zzzqx vvvkw", "Hello! How are you?", "a " * 300)


# --------------------------------------------------------------------------- the rule


def float32_at_least(values: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """The smallest float32 ``>= v`` for each float64 ``v``.

    For every float32 ``s``: ``s >= v`` (compared exactly, as numpy compares a float32
    with a float64) iff ``s >= float32_at_least(v)`` (compared in float32).

    Examples
    --------
    >>> float(float32_at_least([0.1])[0]) >= 0.1
    True
    """
    v = np.asarray(values, dtype=np.float64)
    out = v.astype(np.float32)
    below = out.astype(np.float64) < v
    out[below] = np.nextafter(out[below], np.float32(np.inf))
    return out


@dataclass(frozen=True, kw_only=True)
class DecisionRule:
    """The decision baked into an export: thresholds.json's rule plus a temperature.

    Attributes
    ----------
    task : "multi-class", "multi-label" or "binary"
    labels : tuple of str
        Class names in class-id order (unique, non-empty strings); binary: two,
        ``(negative, positive)``.
    thresholds : tuple of float
        One per class, each in [0, 1], or ``+inf`` for a switched-off class (it never
        fires; thresholds.json writes it as null). Multi-label: class ``c`` fires when
        ``score[c] >= thresholds[c]``. Multi-class: the arg-max ``w`` is output when
        ``score[w] >= max(thresholds[w], reject_threshold)``. Binary: exactly one
        number ``t`` in [0, 1]: ``labels[1]`` when ``score[1] >= t``, else ``labels[0]``.
    reject_threshold : float or None
        Multi-class only (None: no global reject threshold).
    temperature : float
        Finite and > 0; the logits are divided by it before the activation.

    Raises
    ------
    ValueError
        At construction: an unknown task, bad labels, a threshold count or value out of
        range, a reject threshold for multi-label, a temperature that is not finite and > 0.
    """

    task: FileTask
    labels: tuple[str, ...]
    thresholds: tuple[float, ...]
    reject_threshold: float | None = None
    temperature: float = 1.0

    def __post_init__(self) -> None:
        if self.task not in THRESHOLDS_TASKS:
            raise ValueError(
                f"`task` must be one of {', '.join(THRESHOLDS_TASKS)}; got {self.task!r}"
            )
        names = validate_labels(self.labels)
        if not names or any(not name for name in names):
            raise ValueError("`labels` must be non-empty strings, at least one")
        if self.task == "binary":
            if len(names) != 2 or len(self.thresholds) != 1:
                raise ValueError(
                    "a binary rule needs two labels (negative, positive) and one threshold; "
                    f"got {len(names)} labels and {len(self.thresholds)} thresholds"
                )
            t = self.thresholds[0]
            if not (isinstance(t, float | int) and math.isfinite(t) and 0.0 <= t <= 1.0):
                raise ValueError(f"`thresholds[0]` must be in [0, 1]; got {t!r}")
            if self.reject_threshold is not None:
                raise ValueError("`reject_threshold` must be None for a binary rule")
            check_temperature(self.temperature)
            return
        if len(self.thresholds) != len(names):
            raise ValueError(
                f"`thresholds` must hold one number per label ({len(names)}); "
                f"got {len(self.thresholds)}"
            )
        for i, t in enumerate(self.thresholds):
            ok = isinstance(t, float | int) and (t == math.inf or 0.0 <= t <= 1.0)
            if not ok:
                raise ValueError(
                    f"`thresholds[{i}]` must be in [0, 1] (or +inf: switched off); got {t!r}"
                )
        r = self.reject_threshold
        if r is not None:
            if self.task == "multi-label":
                raise ValueError("`reject_threshold` must be None for a multi-label rule")
            if not (math.isfinite(r) and 0.0 <= r <= 1.0):
                raise ValueError(f"`reject_threshold` must be in [0, 1]; got {r!r}")
        check_temperature(self.temperature)

    @classmethod
    def from_thresholds_file(cls, doc: ThresholdsFile, *, temperature: float = 1.0) -> DecisionRule:
        """The rule a thresholds.json describes, at ``temperature``."""
        return cls(
            task=doc.task,
            labels=tuple(doc.labels),
            thresholds=tuple(float(t) for t in doc.thresholds),
            reject_threshold=doc.reject_threshold if doc.task == "multi-class" else None,
            temperature=float(temperature),
        )

    @property
    def activation(self) -> str:
        """``"softmax"`` (multi-class and binary: ``[1 - p, p]``) or ``"sigmoid"`` (multi-label)."""
        return _ACTIVATIONS[self.task]

    def effective_thresholds(self) -> npt.NDArray[np.float64]:
        """The float64 score each class must reach (multi-class: the reject threshold folded
        in; binary: one number, for the positive class)."""
        t = np.asarray(self.thresholds, dtype=np.float64)
        if self.reject_threshold is not None:
            t = np.maximum(t, self.reject_threshold)
        return t

    def cutoffs(self) -> npt.NDArray[np.float32]:
        """The float32 constants the graph compares with (:func:`float32_at_least`)."""
        return float32_at_least(self.effective_thresholds())


def check_temperature(temperature: Any) -> float:
    """``temperature`` as a float, or ValueError/TypeError naming what came (the scoring
    contract's own check, :func:`cls_core.scoring.activations.validate_temperature`)."""
    return validate_temperature(temperature)


def reference_fired(scores: npt.ArrayLike, rule: DecisionRule) -> npt.NDArray[np.bool_]:
    """cls_core's decision for ``scores`` as a bool matrix ``[N, C]`` (the export's oracle).

    Computed by :func:`~cls_core.scoring.decisions.multilabel_decide`,
    :func:`~cls_core.scoring.decisions.multiclass_decide` or
    :func:`~cls_core.scoring.decisions.binary_fired` with the rule's thresholds and
    reject threshold, never by the code that builds the graph.
    """
    s = np.asarray(scores)
    if rule.task == "binary":
        positive = binary_fired(s, rule.thresholds[0])
        return np.stack([~positive, positive], axis=1)
    index = {label: c for c, label in enumerate(rule.labels)}
    fired = np.zeros(s.shape, dtype=bool)
    if rule.task == "multi-label":
        for i, names in enumerate(multilabel_decide(s, rule.labels, list(rule.thresholds))):
            fired[i, [index[name] for name in names]] = True
        return fired
    winners = multiclass_decide(
        s, rule.labels, thresholds=list(rule.thresholds), reject_threshold=rule.reject_threshold
    )
    for i, name in enumerate(winners):
        if name is not None:
            fired[i, index[name]] = True
    return fired


# --------------------------------------------------------------------------- the graph


def _decision_tensors(scores: Any, rule: DecisionRule) -> dict[str, Any]:
    """Graph ops: fired / sorted labels / counts / the decision's classes and scores."""
    import tensorflow as tf

    n_classes = len(rule.labels)
    cutoffs = tf.constant(rule.cutoffs(), dtype=tf.float32, name="decision_cutoffs")
    names = tf.constant(list(rule.labels), dtype=tf.string, name="decision_labels")
    if rule.task == "multi-label":
        fired = tf.greater_equal(scores, cutoffs[tf.newaxis, :])
    elif rule.task == "binary":
        # one float32 cutoff for the positive column: p >= t (the negative class otherwise)
        positive = tf.greater_equal(scores[:, 1], cutoffs[0])
        fired = tf.stack([tf.logical_not(positive), positive], axis=1)
    else:
        top = tf.reduce_max(scores, axis=1, keepdims=True)
        ids = tf.range(n_classes, dtype=tf.int32)[tf.newaxis, :]
        # First maximum: the lowest class id among the tied top scores (np.argmax's rule).
        winner = tf.reduce_min(tf.where(tf.equal(scores, top), ids, n_classes), axis=1)
        winner = tf.minimum(winner, n_classes - 1)  # a NaN row has no maximum
        top_score = tf.gather(scores, winner, axis=1, batch_dims=1)
        passes = tf.greater_equal(top_score, tf.gather(cutoffs, winner))
        fired = tf.logical_and(
            tf.one_hot(winner, n_classes, on_value=True, off_value=False), passes[:, tf.newaxis]
        )
    # Fired classes first, by descending score; top_k keeps the lower index first on ties.
    key = tf.where(fired, scores, tf.constant(-np.inf, tf.float32))
    order = tf.math.top_k(key, k=n_classes, sorted=True).indices
    fired_sorted = tf.gather(fired, order, batch_dims=1)
    labels_sorted = tf.where(fired_sorted, tf.gather(names, order), tf.constant(""))
    scores_sorted = tf.where(fired_sorted, tf.gather(scores, order, batch_dims=1), 0.0)
    width = n_classes if rule.task == "multi-label" else 1
    return {
        "fired": tf.ensure_shape(fired, [None, n_classes]),
        "labels": tf.ensure_shape(labels_sorted, [None, n_classes]),
        "n_fired": tf.reduce_sum(tf.cast(fired, tf.int32), axis=1),
        "decision_classes": tf.ensure_shape(labels_sorted[:, :width], [None, width]),
        "decision_scores": tf.ensure_shape(scores_sorted[:, :width], [None, width]),
    }


def _source_outputs(source: Any, adapter: Any, n_classes: int) -> Any:
    """A graph function text → (logits, scores) of the source, as the registry reads them.

    A bundled model: its ``serving_default`` outputs. An own model (``adapter``, see
    :mod:`cls_core.modelio.adapters`): the adapter's rules written as TensorFlow ops —
    probabilities are the scores, bit for bit, and logits are recovered from them in
    float64 after clipping to ``[PROB_CLIP, 1 - PROB_CLIP]``; a binary column ``p`` becomes
    ``[1 - p, p]`` with logits ``[0, z]``; logits outputs get the task's activation.
    """
    import tensorflow as tf

    if adapter is None:
        serve = source.signatures["serving_default"]

        def bundled(text: Any) -> tuple[Any, Any]:
            out = serve(text=text)
            return tf.cast(out["logits"], tf.float32), tf.cast(out["scores"], tf.float32)

        return bundled

    from cls_core.modelio.adapters import PROB_CLIP

    signature = source.signatures[adapter.signature]
    kind = adapter.output_kind

    def logit64(p: Any) -> Any:
        clipped = tf.clip_by_value(p, PROB_CLIP, 1.0 - PROB_CLIP)
        return tf.math.log(clipped / (1.0 - clipped))

    def adapted(text: Any) -> tuple[Any, Any]:
        raw = signature(**{adapter.input: text})[adapter.output]
        if raw.shape.rank == 1:
            raw = raw[:, tf.newaxis]
        if adapter.binary:
            column = tf.cast(raw[:, 0], tf.float64)
            z = column if kind == "logits" else logit64(column)
            p = tf.math.sigmoid(column) if kind == "logits" else column
            logits = tf.stack([tf.zeros_like(z), z], axis=1)
            scores = tf.stack([1.0 - p, p], axis=1)
            return tf.cast(logits, tf.float32), tf.cast(scores, tf.float32)
        if kind == "logits":
            logits = tf.cast(raw, tf.float32)
            act = tf.math.sigmoid if adapter.multi_label else tf.nn.softmax
            return logits, act(logits)
        p64 = tf.cast(raw, tf.float64)
        if kind == "softmax":
            recovered = tf.math.log(tf.clip_by_value(p64, PROB_CLIP, 1.0 - PROB_CLIP))
        else:
            recovered = logit64(p64)
        return tf.cast(recovered, tf.float32), tf.cast(raw, tf.float32)

    return adapted


def _build_module(source: Any, rule: DecisionRule, adapter: Any = None) -> Any:
    """A tf.Module tracking the loaded source model, with the three signatures + config."""
    import tensorflow as tf

    n_classes = len(rule.labels)
    base = _source_outputs(source, adapter, n_classes)
    temperature = float(rule.temperature)
    activation = tf.math.sigmoid if rule.task == "multi-label" else tf.nn.softmax
    names = list(rule.labels)

    def logits_and_scores(text: Any) -> tuple[Any, Any]:
        logits, scores = base(text)  # at T = 1 the source's own scores, bit for bit
        if temperature != 1.0:
            logits = logits / tf.constant(temperature, tf.float32)
            scores = activation(logits)
        return (
            tf.ensure_shape(logits, [None, n_classes]),
            tf.ensure_shape(scores, [None, n_classes]),
        )

    def parse_text(inputs: Any) -> Any:
        parsed = tf.io.parse_example(
            inputs, {_TEXT_FEATURE: tf.io.FixedLenFeature([], tf.string, default_value="")}
        )
        return parsed[_TEXT_FEATURE]

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")], autograph=False)
    def serving_default(text: Any) -> dict[str, Any]:
        logits, scores = logits_and_scores(text)
        d = _decision_tensors(scores, rule)
        return {
            "logits": logits,
            "scores": scores,
            "fired": d["fired"],
            "labels": d["labels"],
            "n_fired": d["n_fired"],
        }

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="inputs")], autograph=False)
    def classification(inputs: Any) -> dict[str, Any]:
        _, scores = logits_and_scores(parse_text(inputs))
        classes = tf.tile(tf.constant(names, tf.string)[tf.newaxis, :], [tf.shape(scores)[0], 1])
        return {"classes": tf.ensure_shape(classes, [None, n_classes]), "scores": scores}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="inputs")], autograph=False)
    def decision(inputs: Any) -> dict[str, Any]:
        _, scores = logits_and_scores(parse_text(inputs))
        d = _decision_tensors(scores, rule)
        return {"classes": d["decision_classes"], "scores": d["decision_scores"]}

    reject = math.nan if rule.reject_threshold is None else float(rule.reject_threshold)

    @tf.function(input_signature=[], autograph=False)
    def decision_config() -> dict[str, Any]:
        return {
            "task": tf.constant(rule.task),
            "labels": tf.constant(names, tf.string),
            "thresholds": tf.constant(rule.thresholds, tf.float64),
            "reject_threshold": tf.constant(reject, tf.float64),
            "temperature": tf.constant(temperature, tf.float64),
            "cutoffs": tf.constant(rule.cutoffs(), tf.float32),
        }

    module = tf.Module()
    module.source = source  # tracks the source's variables and assets
    module.serving_default = serving_default
    module.classification = classification
    module.decision = decision
    setattr(module, CONFIG_FUNCTION, decision_config)
    return module, {
        "serving_default": serving_default,
        "classification": classification,
        DECISION_SIGNATURE: decision,
    }


# --------------------------------------------------------------------------- reading back


@dataclass(frozen=True, kw_only=True)
class BakedDecision:
    """The decision constants read from an exported model (``decision_config()``)."""

    task: FileTask
    labels: tuple[str, ...]
    thresholds: tuple[float, ...]
    reject_threshold: float | None
    temperature: float
    cutoffs: tuple[float, ...]

    @property
    def rule(self) -> DecisionRule:
        """The same decision as a :class:`DecisionRule`."""
        return DecisionRule(
            task=self.task,
            labels=self.labels,
            thresholds=self.thresholds,
            reject_threshold=self.reject_threshold,
            temperature=self.temperature,
        )


def _saved_object(model: LoadedModel | Any) -> Any:
    # LoadedModel keeps the loaded SavedModel object (and so its functions) alive.
    return getattr(model, "_saved_model", model)


def baked_decision(model: LoadedModel | Any) -> BakedDecision | None:
    """The decision baked into a loaded model, or None for a model without one.

    Parameters
    ----------
    model : LoadedModel or the object ``tf.saved_model.load`` returned

    Returns
    -------
    BakedDecision or None
        Read by calling the model's saved ``decision_config()`` function: the constants
        its signatures use, not what its card says.
    """
    obj = _saved_object(model)
    config = getattr(obj, CONFIG_FUNCTION, None)
    if config is None or not callable(config):
        return None
    out = config()
    reject = float(out["reject_threshold"].numpy())
    task = out["task"].numpy().decode("utf-8")
    if task not in THRESHOLDS_TASKS:
        return None
    return BakedDecision(
        task=task,
        labels=tuple(x.decode("utf-8") for x in out["labels"].numpy()),
        thresholds=tuple(float(x) for x in out["thresholds"].numpy()),
        reject_threshold=None if math.isnan(reject) else reject,
        temperature=float(out["temperature"].numpy()),
        cutoffs=tuple(float(x) for x in out["cutoffs"].numpy()),
    )


def baked_labels(model: LoadedModel | Any, texts: Sequence[str]) -> list[list[str]]:
    """The labels an exported model's own ``serving_default`` outputs, ``""`` padding dropped.

    Parameters
    ----------
    model : LoadedModel (or the loaded object) of a model with a baked decision
    texts : sequence of str

    Returns
    -------
    list of lists of str, one per text: the fired labels, highest score first.

    Raises
    ------
    ValueError
        The model has no baked decision (no ``labels`` output).
    """
    import tensorflow as tf

    serve = _saved_object(model).signatures["serving_default"]
    if "labels" not in serve.structured_outputs:
        raise ValueError("this model has no baked decision (no `labels` output)")
    if not texts:
        return []
    out = serve(text=tf.constant(list(texts)))["labels"].numpy()
    return [[x.decode("utf-8") for x in row if x] for row in out]


def run_classify_signature(
    model: LoadedModel | Any, serialized_examples: Sequence[bytes], *, signature: str
) -> tuple[np.ndarray, np.ndarray]:
    """``classes`` and ``scores`` of one of the model's classify signatures (e.g. ``decision``).

    Raises
    ------
    ValueError
        No such signature, or an item that is not a serialized ``tf.Example``.
    """
    import tensorflow as tf

    signatures = _saved_object(model).signatures
    if signature not in signatures:
        raise ValueError(f"the model has no signature {signature!r}; it has {sorted(signatures)}")
    try:
        out = signatures[signature](inputs=tf.constant(list(serialized_examples), tf.string))
    except (tf.errors.InvalidArgumentError, UnicodeDecodeError) as exc:
        raise ValueError(
            "`serialized_examples` must be serialized tf.train.Example protos"
        ) from exc
    return out["classes"].numpy(), out["scores"].numpy()


# --------------------------------------------------------------------------- export


@dataclass(frozen=True, kw_only=True)
class ExportResult:
    """What :func:`export_decision_model` wrote.

    Attributes
    ----------
    path : Path
        The exported model directory.
    card : ModelCard
        Its validated model card.
    rule : DecisionRule
    checked_texts : int
        Texts run through the source and the written export before it was moved into
        place (the card's examples plus edge cases): scores equal at temperature 1, and
        ``fired`` equal to cls_core's decision on the export's scores, for each.
    seconds : float
    """

    path: Path
    card: ModelCard
    rule: DecisionRule
    checked_texts: int
    seconds: float


def _tree_sha256(path: Path) -> str:
    """SHA-256 over a directory's files (relative path and bytes, sorted by path)."""
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(file.relative_to(path).as_posix().encode("utf-8") + b"\0")
        digest.update(sha256_of(file).encode("ascii"))
    return digest.hexdigest()


def _fingerprint(path: Path) -> dict[str, Any]:
    import tensorflow as tf

    record: dict[str, Any] = {"sha256_of_files": _tree_sha256(path)}
    try:
        fp = tf.saved_model.experimental.read_fingerprint(str(path))
    except Exception:  # older SavedModels have no fingerprint.pb
        return record
    record["tf_singleprint"] = fp.singleprint()
    record["saved_model_checksum"] = int(fp.saved_model_checksum)
    return record


def _check_out_dir(out: Path, source: Path, *, force: bool) -> None:
    out_r, src_r = out.resolve(), source.resolve()
    if out_r == src_r or src_r.is_relative_to(out_r) or out_r.is_relative_to(src_r):
        raise ValueError(
            f"`out_dir` {str(out)!r} overlaps the source model's directory {str(source)!r}; "
            "export to a new directory"
        )
    if not out.parent.is_dir():
        raise ValueError(f"`out_dir`'s parent {str(out.parent)!r} does not exist")
    if out.exists() or out.is_symlink():
        if out.is_symlink() or not out.is_dir():
            raise FileExistsError(f"`out_dir` {str(out)!r} exists and is not a directory")
        if any(out.iterdir()):
            if not force:
                raise FileExistsError(
                    f"`out_dir` {str(out)!r} exists and is not empty; choose a new directory "
                    "or pass --force to replace an earlier export"
                )
            if not (out / "saved_model.pb").is_file():
                raise FileExistsError(
                    f"`out_dir` {str(out)!r} is not empty and holds no saved_model.pb: "
                    "refusing to replace it even with --force (only an earlier export or "
                    "SavedModel directory is replaced)"
                )


def _read_rule(
    thresholds: str | Path | bytes | ThresholdsFile, model: LoadedModel, temperature: float
) -> tuple[DecisionRule, ThresholdsFile, str]:
    if isinstance(thresholds, ThresholdsFile):
        doc = thresholds
        doc_bytes = json.dumps(doc.to_dict(), indent=2, allow_nan=False).encode("utf-8")
    else:
        doc = read_thresholds_json(thresholds, labels=model.labels, model=model.name)
        doc_bytes = thresholds if isinstance(thresholds, bytes) else Path(thresholds).read_bytes()
    if tuple(doc.labels) != tuple(model.labels):
        raise ValueError(
            f"the thresholds are for {len(doc.labels)} labels that are not model "
            f"{model.name!r}'s {len(model.labels)} labels"
        )
    if doc.task == "binary":
        if model.task != "multi-class" or len(model.labels) != 2:
            raise ValueError(
                f"the thresholds file holds a binary rule (one threshold on "
                f"{doc.labels[1]!r}), but model {model.name!r} is {model.task} with "
                f"{len(model.labels)} labels; a binary rule needs a two-class model"
            )
    elif doc.task != model.task:
        raise ValueError(
            f"the thresholds file holds {doc.task} thresholds, but model {model.name!r} is "
            f"{model.task} ({model.activation})"
        )
    rule = DecisionRule.from_thresholds_file(doc, temperature=temperature)
    return rule, doc, hashlib.sha256(doc_bytes).hexdigest()


def _json_thresholds(values: Sequence[float]) -> list[float | None]:
    """Thresholds as thresholds.json writes them: ``+inf`` (switched off) as null."""
    return [None if t == math.inf else float(t) for t in values]


def _exported_card(
    source: LoadedModel,
    *,
    name: str,
    rule: DecisionRule,
    doc: ThresholdsFile,
    provenance: dict[str, Any],
) -> dict[str, Any]:
    card = json.loads(json.dumps(source.card.raw))  # a deep copy of the source card
    card.pop("adapter", None)  # the export has the standard signatures, read directly
    card["labels"] = list(source.labels)
    t_text = "" if rule.temperature == 1.0 else f", T = {rule.temperature:g}"
    card.update(
        {
            "name": name,
            "title": f"{source.card.title} · decision baked in ({doc.objective}{t_text})",
            "description": (
                f"Model {source.name!r} with the decision of a thresholds.json "
                f"(objective {doc.objective}) and temperature {rule.temperature:g} baked into "
                "its serving signatures (serving_default, classification, decision)."
            ),
            # A card threshold is in [0, 1]: a switched-off class shows 1.0 there (the
            # model itself never fires it; see `switched_off` and the model's constants).
            "thresholds": [min(t, 1.0) for t in rule.thresholds]
            if rule.task == "multi-label"
            else None,
            "reject_threshold": rule.reject_threshold,
            "metrics": {
                "source_model": source.card.metrics,
                "at_exported_thresholds": {
                    "n_examples": doc.n_examples,
                    "micro": dict(doc.micro or {}),
                    "macro": dict(doc.macro or {}),
                    **(
                        {"coverage": doc.coverage, "accuracy": doc.accuracy}
                        if doc.task == "multi-class"
                        else {"accuracy": doc.accuracy}
                        if doc.task == "binary"
                        else {}
                    ),
                },
            },
            EXPORT_CARD_KEY: provenance,
        }
    )
    off = [
        label
        for label, t in zip(rule.labels, rule.thresholds, strict=rule.task != "binary")
        if t == math.inf and rule.task != "binary"
    ]
    if off:
        card["switched_off"] = off
    if rule.task == "multi-class":
        card["winner_thresholds"] = _json_thresholds(rule.thresholds)
    if rule.task == "binary":
        # the export is read directly (no adapter): this block keeps it shown as binary
        card["binary"] = {"positive_label": rule.labels[1], "threshold": rule.thresholds[0]}
    return card


def _verify(
    written: Path, source_model: LoadedModel, rule: DecisionRule, texts: Sequence[str]
) -> None:
    """Load the written SavedModel and compare it with the source and cls_core's decision."""
    import tensorflow as tf

    exported = tf.saved_model.load(str(written))
    got = exported.signatures["serving_default"](text=tf.constant(list(texts)))
    scores = got["scores"].numpy()
    adapter = source_model.card.adapter
    if rule.temperature == 1.0:
        want = source_model.predict(list(texts)).scores
        # Scores are passed through bit for bit, except an own model's logits output,
        # whose activation the registry computes in numpy and the graph in TensorFlow.
        computed = adapter is not None and adapter.output_kind == "logits"
        same = (
            np.allclose(scores, want, rtol=0, atol=1e-6)
            if computed
            else np.array_equal(scores, want)
        )
        if not same:
            raise RuntimeError(
                "the exported scores differ from the source model's at temperature 1 "
                f"(max |Δ| = {float(np.max(np.abs(scores - want))):.3g})"
            )
    fired = got["fired"].numpy()
    reference = reference_fired(scores, rule)
    if not np.array_equal(fired, reference):
        rows = np.flatnonzero((fired != reference).any(axis=1))
        raise RuntimeError(
            f"the exported decision differs from cls_core's on {rows.size} of {len(texts)} "
            f"probe texts (first: {texts[int(rows[0])]!r:.60})"
        )
    baked = baked_decision(exported)
    if baked is None or baked.rule != rule:
        raise RuntimeError("the exported decision_config() does not return the exported rule")


def _rewrite_method_names(path: Path) -> None:
    import tensorflow as tf

    updater = tf.compat.v1.saved_model.signature_def_utils.MethodNameUpdater(str(path))
    for key in ("classification", DECISION_SIGNATURE):
        updater.replace_method_name(
            signature_key=key, method_name=tf.saved_model.CLASSIFY_METHOD_NAME, tags="serve"
        )
    updater.save()


def export_decision_model(
    model: str,
    thresholds: str | Path | bytes | ThresholdsFile,
    *,
    out_dir: str | Path,
    temperature: float = 1.0,
    force: bool = False,
    roots: Sequence[Path] | None = None,
    command: str | None = None,
) -> ExportResult:
    """Write a SavedModel that wraps ``model``'s graph and applies a thresholds.json.

    Parameters
    ----------
    model : str
        A registry model name (loaded with :func:`~cls_core.modelio.registry.load_model`).
    thresholds : path, bytes or ThresholdsFile
        A thresholds.json for exactly this model's labels (same order) and task.
    out_dir : path
        The new model directory; its name becomes the model's name. Written next to it
        under a hidden temporary name, checked, then moved into place.
    temperature : float, default 1.0
        Finite and > 0; baked in (scores = activation(logits / T)).
    force : bool, default False
        Replace ``out_dir`` when it holds an earlier SavedModel export.
    roots : sequence of Path, optional
        Model roots to load ``model`` from (default: the project's).
    command : str, optional
        The command line recorded in the card (default ``sys.argv``).

    Returns
    -------
    ExportResult

    Raises
    ------
    ModelLoadError
        The registry cannot load ``model``.
    ValueError
        A thresholds.json that is unreadable, for other labels, another model or the
        other task; a temperature that is not finite and > 0; ``out_dir`` overlapping the
        source model or with a missing parent.
    FileExistsError
        ``out_dir`` exists and is not empty (without ``force``), or is not a SavedModel
        directory (even with ``force``).
    RuntimeError
        The written model disagrees with the source or with cls_core's decision on the
        probe texts (nothing is moved into place).
    """
    started = time.perf_counter()
    temperature = check_temperature(temperature)
    out = Path(out_dir)
    if not out.name or out.name in (".", ".."):
        raise ValueError(f"`out_dir` must name a new directory; got {str(out_dir)!r}")
    if out.name.startswith((".", "_")):
        raise ValueError(
            f"`out_dir`'s name {out.name!r} starts with '.' or '_': the registry ignores such "
            "directories, so the export would never load; choose another name"
        )
    source_model = load_model(model, roots=roots)
    rule, doc, doc_sha = _read_rule(thresholds, source_model, temperature)
    _check_out_dir(out, source_model.path, force=force)

    import tensorflow as tf

    source_path = source_model.path
    source = tf.saved_model.load(str(source_path))
    provenance = {
        "source_model": source_model.name,
        "source_fingerprint": _fingerprint(source_path),
        "thresholds_sha256": doc_sha,
        "objective": doc.objective,
        "data_sha256": doc.data_sha256,
        "n_examples": doc.n_examples,
        "task": rule.task,
        "thresholds": _json_thresholds(rule.thresholds),
        "reject_threshold": rule.reject_threshold,
        "temperature": rule.temperature,
        "command": command if command is not None else " ".join(sys.argv),
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "tensorflow": tf.__version__,
        "signatures": ["serving_default", "classification", DECISION_SIGNATURE],
    }
    adapter = source_model.card.adapter
    if adapter is not None and adapter.feature is not None:
        raise ValueError(
            f"model {source_model.name!r} reads its text from the tf.Example feature "
            f"{adapter.feature!r} of signature {adapter.signature!r}; exporting such a model "
            "with a baked decision is not supported (only models with a raw string input)"
        )
    module, signatures = _build_module(source, rule, adapter)
    probes = [*source_model.card.examples, *_PROBE_TEXTS]
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.export-", dir=out.parent))
    try:
        written = tmp / "model"
        tf.saved_model.save(module, str(written), signatures=signatures)
        _rewrite_method_names(written)
        card = _exported_card(
            source_model, name=out.name, rule=rule, doc=doc, provenance=provenance
        )
        (written / CARD_FILENAME).write_text(
            json.dumps(card, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8"
        )
        _verify(written, source_model, rule, probes)
        _move_into_place(written, out, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return ExportResult(
        path=out,
        card=ModelCard.from_dir(out),
        rule=rule,
        checked_texts=len(probes),
        seconds=time.perf_counter() - started,
    )


def _move_into_place(written: Path, out: Path, tmp: Path) -> None:
    """Rename ``written`` to ``out``; an existing (empty or checked) ``out`` is replaced."""
    if out.exists():
        old = tmp / "replaced"
        os.replace(out, old)  # same filesystem: an atomic rename, then the old tree is removed
    os.replace(written, out)


# --------------------------------------------------------------------------- the app's side


def app_export_root() -> Path:
    """Where the app installs exported models: the first model root after ``models/``.

    That is the first ``CLS_MODEL_DIRS`` root when the variable is set, else
    :data:`cls_core.paths.EXPORTS_ROOT` (``models/_exports``, git-ignored). The project's
    own ``models/`` (the bundled models) is never written to. The page only ever writes to
    ``app_export_root() / <validated name>``.
    """
    bundled = (paths.PROJECT_ROOT / "models").resolve()
    for root in paths.model_roots():
        if Path(root).resolve() != bundled:
            return Path(root)
    return paths.EXPORTS_ROOT


def validate_export_name(name: str) -> str:
    """A model name typed in the app: 1-64 letters, digits, ``-`` or ``_``, no leading ``-``/``_``.

    Raises
    ------
    ValueError
        Anything else (a path, dots, spaces, an empty name), with what is allowed.
    """
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise ValueError(
            "the export name must be 1-64 letters, digits, '-' or '_', starting with a letter "
            f"or digit (it becomes a directory name under the model root); got {name!r:.80}"
        )
    return name


def zip_model_dir(path: str | Path, *, max_bytes: int = MAX_ZIP_BYTES) -> bytes:
    """The model directory as a zip (entries under ``<name>/``), for a download button.

    Raises
    ------
    ValueError
        The files add up to more than ``max_bytes`` or the zip does (nothing is built
        past the limit); a symlink inside the directory.
    """
    root = Path(path)
    files = sorted(p for p in root.rglob("*") if p.is_file() or p.is_symlink())
    if any(p.is_symlink() for p in files):
        raise ValueError(f"{root} holds a symlink; refusing to zip it")
    total = sum(p.stat().st_size for p in files)
    if total > max_bytes:
        raise ValueError(
            f"the model is {total / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB download "
            "limit; copy its directory instead"
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            archive.write(file, f"{root.name}/{file.relative_to(root).as_posix()}")
    data = buffer.getvalue()
    if len(data) > max_bytes:
        raise ValueError(f"the zip is {len(data) / 1e6:.1f} MB, over the download limit")
    return data
