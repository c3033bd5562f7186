"""Classifier Output Explorer core: how logits become scores, scores become labels, and
outputs become TensorFlow's classification SignatureDef.

Pure Python + numpy; never imports streamlit. Parts: ``scoring``, ``evaluation``, ``views``,
``modelio``, ``pipelines`` (Apache Beam) and ``cli`` (see docs/architecture.md). TensorFlow
is imported lazily, only inside the functions that touch models or protos
(``modelio``, and ``scoring.export_output``'s SignatureDef), so ``import cls_core`` stays
fast.
"""

from __future__ import annotations

from cls_core.errors import CliError, ModelLoadError
from cls_core.evaluation.binary import (
    binary_thresholds_file,
    build_binary_evaluation,
    tune_binary,
)
from cls_core.evaluation.metrics import Evaluation, MetricsAt, build_evaluation
from cls_core.evaluation.thresholds import (
    parse_objective,
    read_thresholds_json,
    thresholds_file,
    tune,
    write_thresholds_json,
)
from cls_core.modelio.registry import LoadedModel, ModelCard, Prediction, list_models, load_model
from cls_core.scoring.activations import ACTIVATIONS, apply_activation, sigmoid, softmax
from cls_core.scoring.decisions import (
    binary_decide,
    decision_trace,
    multiclass_decide,
    multilabel_decide,
    top_k,
)
from cls_core.scoring.export_output import CLASSIFY_METHOD_NAME, ClassificationOutput

__all__ = [
    "ACTIVATIONS",
    "CLASSIFY_METHOD_NAME",
    "ClassificationOutput",
    "CliError",
    "Evaluation",
    "LoadedModel",
    "MetricsAt",
    "ModelCard",
    "ModelLoadError",
    "Prediction",
    "apply_activation",
    "binary_decide",
    "binary_thresholds_file",
    "build_binary_evaluation",
    "build_evaluation",
    "decision_trace",
    "list_models",
    "load_model",
    "multiclass_decide",
    "multilabel_decide",
    "parse_objective",
    "read_thresholds_json",
    "sigmoid",
    "softmax",
    "thresholds_file",
    "top_k",
    "tune",
    "tune_binary",
    "write_thresholds_json",
]
