"""Infer what a text-classifier SavedModel is: which signature, input, output, kind, labels.

:func:`infer_model` reads the SavedModel's SignatureDefs (names, dtypes, shapes), chooses
the signature, the text input and the classifier output, runs the model on
:data:`PROBE_TEXTS` to tell probabilities from logits, and finds the labels. Every choice
is recorded as a sentence of evidence; anything the user gives (a signature, input,
feature, output, output kind, task, labels) wins over the inference.

Rules, in order:

- **Signature**: the one given; else ``serving_default`` when it has a string input;
  else the only signature with a string input. Several candidates → an error naming them.
- **Text input**: the single DT_STRING input of the signature. A classify/regress method,
  or an input keyed ``inputs``/``examples`` in a signature whose graph parses tf.Examples,
  is fed serialized ``tf.Example`` protos: the text goes in the bytes feature found in the
  graph's parse spec (``ParseExample``/``ParseExampleV2``), or the one given.
- **Output**: the one given; else the only float output of rank 1 or 2; else the only one
  whose name says it is a classifier (``logit``, ``prob``, ``score``, ``softmax``,
  ``sigmoid``, ``pred``, ``output_0``). Embeddings and integer class ids are ignored.
- **Kind** (:data:`~cls_core.modelio.adapters.OUTPUT_KINDS`): from the values on the probe
  texts — every value in [0, 1] and rows summing to 1 (± :data:`SUM_TOLERANCE`) →
  ``softmax``; in [0, 1] otherwise → ``sigmoid``; any value outside → ``logits``. A name
  saying ``logits`` wins over values in [0, 1] that do not sum to 1 (small logits).
  One column → a binary model shown as two classes.
- **Labels**: those given (a list, or a labels file: one per line, or JSON); else the
  classify signature's ``classes`` output; else ``labels.txt``/``labels.json`` in the
  model directory; else a vocabulary asset (``assets/*label*``/``*class*``) with one line
  per class; else ``class_0 … class_{C-1}`` with a note (binary: ``negative, positive``).

TensorFlow is imported inside the functions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

import numpy as np

from cls_core.modelio.adapters import OUTPUT_KINDS, AdapterSpec, logits_and_scores, run_signature
from cls_core.modelio.serving import CLASSIFY_METHOD_NAME, SignatureInfo, read_signature_defs

__all__ = [
    "LABEL_FILES",
    "PROBE_TEXTS",
    "SUM_TOLERANCE",
    "ClassifyReadiness",
    "InferenceError",
    "ModelInference",
    "classify_readiness",
    "example_features",
    "infer_model",
    "read_labels_file",
]

#: Texts the model is run on to see what its output holds.
PROBE_TEXTS: Final[tuple[str, ...]] = (
    "",
    "hello",
    "I love this, it is wonderful!",
    "This is the worst service I have ever had.",
    "My card has not arrived yet",
    "How do I reset my password?",
    "The match ended in a draw after extra time.",
    "Parliament voted on the new budget today.",
    "The new phone has a faster chip and a better camera.",
    "I am so angry right now",
    "what a surprise, I did not expect that at all",
    "Thank you so much for your help",
    "refund please",
    "ok",
    "The delivery was late and the box was damaged",
    "Can I pay with a credit card?",
    "this is fine i guess",
    "WIN A FREE PRIZE NOW!!! click here",
    "Meeting moved to 3pm, see you there",
    "Je ne sais pas",
)
#: Rows within this distance of 1 count as summing to 1 (float32 softmax rounding).
SUM_TOLERANCE: Final = 1e-4
#: Files in the model directory read for labels.
LABEL_FILES: Final[tuple[str, ...]] = ("labels.txt", "labels.json")

_EXAMPLE_METHODS = (CLASSIFY_METHOD_NAME, "tensorflow/serving/regress")
_FLOAT_DTYPES = ("DT_FLOAT", "DT_DOUBLE", "DT_HALF", "DT_BFLOAT16")
_CLASSIFIER_NAME = re.compile(r"logit|prob|score|softmax|sigmoid|pred|^output_0$", re.IGNORECASE)
_LOGIT_NAME = re.compile(r"logit", re.IGNORECASE)
_PROB_NAME = re.compile(r"prob|softmax|sigmoid", re.IGNORECASE)
_LABEL_ASSET = re.compile(r"label|class", re.IGNORECASE)


class InferenceError(ValueError):
    """The SavedModel could not be understood; the message says what was found and what to give."""


@dataclass(frozen=True, kw_only=True)
class ModelInference:
    """What :func:`infer_model` found.

    Attributes
    ----------
    spec : AdapterSpec
        How to call the model (with the evidence and notes).
    labels : tuple of str
        Class names in class-id order (binary: two).
    labels_source : str
        Where the labels came from, in words.
    width : int
        Columns of the chosen output (1 for a binary model).
    signatures : dict of str to SignatureInfo
        Every SignatureDef of the model (as read from saved_model.pb).
    """

    spec: AdapterSpec
    labels: tuple[str, ...]
    labels_source: str
    width: int
    signatures: dict[str, SignatureInfo]

    @property
    def task(self) -> str:
        """``"multi-class"`` or ``"multi-label"`` (a binary model is multi-class)."""
        return self.spec.task

    @property
    def activation(self) -> str:
        """``"softmax"`` or ``"sigmoid"``."""
        return self.spec.activation

    def summary(self) -> str:
        """One line: signature, output, kind, task and number of labels."""
        kind = {
            "logits": "logits",
            "softmax": "softmax probabilities",
            "sigmoid": "sigmoid probabilities",
        }[self.spec.output_kind]
        shape = "binary" if self.spec.binary else f"{len(self.labels)} labels"
        return f"{self.spec.signature} → {self.spec.output} ({kind}) · {self.task} · {shape}"

    def card_dict(self, name: str, *, title: str | None = None) -> dict[str, Any]:
        """A complete ``model_card.json`` document the registry accepts."""
        multi_label = self.task == "multi-label"
        return {
            "name": name,
            "title": title or name,
            "task": self.task,
            "activation": self.activation,
            "labels": list(self.labels),
            "thresholds": [0.5] * len(self.labels) if multi_label else None,
            "reject_threshold": None,
            "examples": [],
            "dataset": {"name": "unknown", "source": "", "license": "", "attribution": ""},
            "metrics": {},
            "training": {"command": "", "date": "", "seed": None},
            "adapter": self.spec.to_dict(),
        }


def read_labels_file(path: str | Path) -> tuple[str, ...]:
    """Labels from a file: a JSON list (or ``{"0": name, ...}``), or one label per line.

    Blank lines at the ends are dropped. Raises ``ValueError`` naming the file when it is
    not UTF-8, empty, or holds empty or repeated labels.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"labels file {path} is not UTF-8 text") from exc
    stripped = text.strip()
    labels: list[str]
    if path.suffix.lower() == ".json" or stripped.startswith(("[", "{")):
        try:
            raw = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ValueError(f"labels file {path} is not valid JSON ({exc})") from exc
        if isinstance(raw, dict):
            try:
                pairs = sorted((int(k), v) for k, v in raw.items())
            except ValueError as exc:
                raise ValueError(
                    f"labels file {path}: a JSON object must map class ids to names"
                ) from exc
            if [k for k, _ in pairs] != list(range(len(pairs))):
                raise ValueError(f"labels file {path}: class ids must be 0..{len(pairs) - 1}")
            raw = [v for _, v in pairs]
        if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
            raise ValueError(f"labels file {path} must hold a JSON list of strings")
        labels = list(raw)
    else:
        labels = [line.strip() for line in stripped.splitlines()]
    if not labels:
        raise ValueError(f"labels file {path} holds no labels")
    if any(not label for label in labels):
        raise ValueError(f"labels file {path} holds an empty label")
    seen: set[str] = set()
    repeated = sorted({label for label in labels if label in seen or seen.add(label)})  # type: ignore[func-returns-value]
    if repeated:
        raise ValueError(f"labels file {path} repeats labels: {repeated}")
    return tuple(labels)


def _graphs(saved_model_dir: Path) -> list[Any]:
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((saved_model_dir / "saved_model.pb").read_bytes())
    return [mg.graph_def for mg in proto.meta_graphs if "serve" in mg.meta_info_def.tags]


def _const_strings(node: Any) -> list[str]:
    tensor = node.attr["value"].tensor
    return [value.decode("utf-8", errors="replace") for value in tensor.string_val]


def _node_lists(graph_def: Any) -> list[dict[str, Any]]:
    scopes = [{node.name: node for node in graph_def.node}]
    scopes += [{node.name: node for node in fn.node_def} for fn in graph_def.library.function]
    return scopes


def example_features(saved_model_dir: str | Path) -> list[str]:
    """Names of the string features the graph parses from tf.Examples (sorted, unique).

    Read from the ``dense_keys``/``sparse_keys``/``ragged_keys`` constants of every
    ``ParseExample``/``ParseExampleV2`` node (top level and inside functions) whose feature
    type is DT_STRING.
    """
    from tensorflow.core.framework import types_pb2

    found: set[str] = set()
    for graph_def in _graphs(Path(saved_model_dir)):
        for scope in _node_lists(graph_def):
            for node in scope.values():
                if node.op not in ("ParseExample", "ParseExampleV2"):
                    continue
                inputs = [name.lstrip("^").split(":")[0] for name in node.input]

                def strings(
                    position: int, inputs: list[str] = inputs, scope: Any = scope
                ) -> list[str]:
                    target = scope.get(inputs[position]) if position < len(inputs) else None
                    return (
                        _const_strings(target)
                        if target is not None and target.op == "Const"
                        else []
                    )

                if node.op == "ParseExampleV2":
                    dense = strings(3)
                    sparse = strings(2)
                    ragged = strings(4)
                    dense_types = list(node.attr["Tdense"].list.type)
                    sparse_types = list(node.attr["sparse_types"].list.type)
                    ragged_types = list(node.attr["ragged_value_types"].list.type)
                else:  # v1: serialized, names, sparse_keys..., dense_keys..., dense_defaults...
                    n_sparse = node.attr["Nsparse"].i
                    n_dense = node.attr["Ndense"].i
                    sparse = [s for i in range(n_sparse) for s in strings(2 + i)]
                    dense = [s for i in range(n_dense) for s in strings(2 + n_sparse + i)]
                    ragged, ragged_types = [], []
                    dense_types = list(node.attr["Tdense"].list.type)
                    sparse_types = list(node.attr["sparse_types"].list.type)
                for keys, types in (
                    (dense, dense_types),
                    (sparse, sparse_types),
                    (ragged, ragged_types),
                ):
                    for key, dtype in zip(keys, types, strict=False):
                        if dtype == types_pb2.DT_STRING:
                            found.add(key)
    return sorted(found)


def _usable(info: SignatureInfo) -> bool:
    return any(spec.dtype == "DT_STRING" for spec in info.inputs)


def _describe(specs: Sequence[Any]) -> str:
    return ", ".join(f"{s.key} {s.dtype} {s.shape_text}" for s in specs)


def _choose_signature(
    signatures: dict[str, SignatureInfo], given: str | None, evidence: list[str]
) -> SignatureInfo:
    real = {k: v for k, v in signatures.items() if not k.startswith("__")}
    if not real:
        raise InferenceError("the SavedModel has no signatures: export one for serving")
    if given is not None:
        if given not in real:
            raise InferenceError(
                f"no signature {given!r}; the SavedModel has {', '.join(sorted(real))}"
            )
        evidence.append(f"signature {given!r}: given")
        return real[given]
    usable = [k for k, v in real.items() if _usable(v)]
    if "serving_default" in usable:
        others = [k for k in usable if k != "serving_default"]
        evidence.append(
            "signature 'serving_default': the default serving signature takes a string input"
            + (f" (also usable: {', '.join(others)})" if others else "")
        )
        return real["serving_default"]
    if len(usable) == 1:
        evidence.append(f"signature {usable[0]!r}: the only signature with a string input")
        return real[usable[0]]
    if not usable:
        raise InferenceError(
            "no signature takes a string input (signatures: "
            + "; ".join(f"{k}: {_describe(v.inputs)}" for k, v in sorted(real.items()))
            + "): a text classifier must take DT_STRING texts or serialized tf.Examples"
        )
    raise InferenceError(
        f"{len(usable)} signatures take a string input: {', '.join(usable)} — give --signature"
    )


def _choose_input(info: SignatureInfo, given: str | None, evidence: list[str]) -> str:
    strings = [s for s in info.inputs if s.dtype == "DT_STRING"]
    others = [s for s in info.inputs if s.dtype != "DT_STRING"]
    if others:
        raise InferenceError(
            f"signature {info.key!r} also needs non-string input(s) {_describe(others)}: "
            "only models fed texts alone can be explored"
        )
    if given is not None:
        if given not in [s.key for s in strings]:
            raise InferenceError(
                f"signature {info.key!r} has no string input {given!r}; its inputs are "
                f"{', '.join(s.key for s in info.inputs)}"
            )
        evidence.append(f"input {given!r}: given")
        return given
    if len(strings) > 1:
        raise InferenceError(
            f"{len(strings)} string inputs: {', '.join(s.key for s in strings)} — give --input"
        )
    evidence.append(f"input {strings[0].key!r}: the only string input of {info.key!r}")
    return strings[0].key


def _choose_feature(
    path: Path,
    info: SignatureInfo,
    input_key: str,
    given: str | None,
    evidence: list[str],
) -> str | None:
    if given is not None:
        evidence.append(f"tf.Example feature {given!r}: given")
        return given
    examples_input = info.method_name in _EXAMPLE_METHODS or input_key in ("inputs", "examples")
    if not examples_input:
        return None
    features = example_features(path)
    if info.method_name not in _EXAMPLE_METHODS and not features:
        return None  # an input merely named "inputs" that takes raw text
    if len(features) == 1:
        evidence.append(
            f"input {input_key!r} takes serialized tf.Examples (method {info.method_name}); "
            f"text feature {features[0]!r}: the only string feature in the graph's parse spec"
        )
        return features[0]
    if not features:
        raise InferenceError(
            f"signature {info.key!r} takes serialized tf.Examples but no string feature was "
            "found in the graph's parse spec — give --feature NAME"
        )
    raise InferenceError(
        f"{len(features)} string features in the parse spec: {', '.join(features)} — give --feature"
    )


def _choose_output(
    info: SignatureInfo, widths: dict[str, int], given: str | None, evidence: list[str]
) -> str:
    """The classifier output; ``widths`` maps each output to its columns on the probes."""
    if given is not None:
        spec = info.output(given)
        if spec is None:
            raise InferenceError(
                f"signature {info.key!r} has no output {given!r}; its outputs are "
                f"{_describe(info.outputs)}"
            )
        if spec.dtype not in _FLOAT_DTYPES:
            raise InferenceError(
                f"output {given!r} is {spec.dtype}: the classifier output must be float "
                "logits or probabilities"
            )
        evidence.append(f"output {given!r}: given")
        return given
    floats = [s for s in info.outputs if s.dtype in _FLOAT_DTYPES and s.key in widths]
    ignored = [s.key for s in info.outputs if s not in floats]
    if len(floats) == 1:
        evidence.append(
            f"output {floats[0].key!r}: the only float output of rank 1 or 2"
            + (f" (ignored: {', '.join(ignored)})" if ignored else "")
        )
        return floats[0].key
    if not floats:
        raise InferenceError(
            f"signature {info.key!r} has no float output of rank 1 or 2 "
            f"({_describe(info.outputs)}): nothing holds scores or logits"
        )
    named = [s for s in floats if _CLASSIFIER_NAME.search(s.key)]
    rest = [s.key for s in info.outputs if s not in named]
    if len(named) == 1:
        evidence.append(
            f"output {named[0].key!r}: its name says logits/scores (not {', '.join(rest)})"
        )
        return named[0].key
    logit_named = [s for s in named if _LOGIT_NAME.search(s.key)]
    if len(named) > 1 and len(logit_named) == 1 and len({widths[s.key] for s in named}) == 1:
        others = [s.key for s in named if s is not logit_named[0]]
        evidence.append(
            f"output {logit_named[0].key!r}: {', '.join(others)} "
            f"{'has' if len(others) == 1 else 'have'} the same width "
            f"({widths[logit_named[0].key]}), so one head: its logits are used"
        )
        return logit_named[0].key
    choices = named or floats
    raise InferenceError(
        f"{len(choices)} outputs could be the classifier: "
        + ", ".join(f"{s.key} ({widths[s.key]} columns)" for s in choices)
        + " — give --output KEY"
    )


def _decide_kind(key: str, values: np.ndarray, given: str | None, evidence: list[str]) -> str:
    n = values.shape[0]
    finite = bool(np.isfinite(values).all())
    in_unit = finite and bool(((values >= 0.0) & (values <= 1.0)).all())
    deviation = float(np.abs(values.sum(axis=1) - 1.0).max()) if values.size else 0.0
    if given is not None:
        if given not in OUTPUT_KINDS:
            raise InferenceError(
                f"output kind must be one of {', '.join(OUTPUT_KINDS)}; got {given!r}"
            )
        if given != "logits" and not in_unit:
            raise InferenceError(
                f"output {key!r} was given as {given} probabilities but has values outside "
                f"[0, 1] on the probe texts (min {values.min():.3g}, max {values.max():.3g})"
            )
        evidence.append(f"kind {given}: given")
        return given
    if not finite:
        raise InferenceError(f"output {key!r} is not finite on the probe texts (NaN or inf)")
    if not in_unit:
        evidence.append(
            f"values from {values.min():.3g} to {values.max():.3g} on {n} probe texts "
            "(outside [0, 1]) → logits"
        )
        return "logits"
    if values.shape[1] > 1 and deviation <= SUM_TOLERANCE:
        evidence.append(
            f"outputs sum to 1.000 ± {max(deviation, 1e-7):.0e} on {n} probe texts, all in "
            "[0, 1] → softmax probabilities"
        )
        return "softmax"
    if _LOGIT_NAME.search(key) and not _PROB_NAME.search(key):
        evidence.append(
            f"values in [0, 1] on {n} probe texts but the name {key!r} says logits → logits"
        )
        return "logits"
    what = "one column" if values.shape[1] == 1 else f"rows sum to up to {deviation + 1:.3f}"
    evidence.append(f"all values in [0, 1] on {n} probe texts, {what} → sigmoid probabilities")
    return "sigmoid"


def _classify_labels(outputs: dict[str, Any], key: str, width: int) -> tuple[str, ...]:
    classes = np.asarray(outputs[key])
    if classes.ndim != 2 or classes.shape[1] != width:
        raise InferenceError(
            f"classes output {key!r} has shape {classes.shape}; expected (n, {width})"
        )
    rows = {
        tuple(c.decode("utf-8", "replace") if isinstance(c, bytes) else str(c) for c in row)
        for row in classes
    }
    if len(rows) != 1:
        raise InferenceError(
            f"classes output {key!r} lists the classes in a different order per example "
            "(top-k?): give the labels in class-id order with --labels"
        )
    labels = next(iter(rows))
    if len(set(labels)) != len(labels) or not all(labels):
        raise InferenceError(f"classes output {key!r} holds empty or repeated classes: {labels}")
    return labels


def _sibling_classify_labels(
    path: Path,
    signatures: dict[str, SignatureInfo],
    chosen: str,
    saved_model: Any,
    width: int,
) -> tuple[tuple[str, ...], str] | None:
    """Labels from another classify signature's ``classes`` (same width), or None.

    A predict signature exported next to a classify one (the bundled layout, and the
    recipe most exporters follow) names its classes there: run it on one empty tf.Example.
    """
    for key, info in signatures.items():
        classes = info.output("classes")
        if (
            key == chosen
            or info.method_name != CLASSIFY_METHOD_NAME
            or classes is None
            or classes.dtype != "DT_STRING"
            or len(info.inputs) != 1
        ):
            continue
        features = example_features(path)
        spec = AdapterSpec(
            signature=key,
            input=info.inputs[0].key,
            feature=features[0] if len(features) == 1 else "text",
            output="classes",
            output_kind="logits",
        )
        try:
            out = run_signature(saved_model.signatures[key], spec, [""])
            labels = _classify_labels(out, "classes", width)
        except Exception:  # a sibling that does not answer gives no labels
            continue
        return labels, f"classify signature {key!r} (its classes output)"
    return None


def _find_labels(
    path: Path,
    *,
    root: Path | None,
    width: int,
    binary: bool,
    given: Sequence[str] | None,
    classes_output: str | None,
    outputs: dict[str, Any],
    notes: list[str],
    sibling: tuple[tuple[str, ...], str] | None = None,
) -> tuple[tuple[str, ...], str]:
    n = 2 if binary else width

    def check(labels: tuple[str, ...], source: str) -> tuple[tuple[str, ...], str]:
        if binary and len(labels) == 1:
            labels = (f"not {labels[0]}", labels[0])
        if len(labels) != n:
            raise InferenceError(
                f"{source} gives {len(labels)} labels but the model has {n} classes"
                + (" (binary: give 2 names, or 1 for the positive class)" if binary else "")
            )
        return labels, source

    if given is not None:
        return check(tuple(given), "labels given")
    if classes_output is not None:
        return check(
            _classify_labels(outputs, classes_output, width), f"classify output {classes_output!r}"
        )
    if sibling is not None:
        return check(sibling[0], sibling[1])
    for name in LABEL_FILES:
        candidate = path / name
        if candidate.is_file():
            if root is not None and not _inside(candidate, root):
                raise InferenceError(f"{candidate} is a symlink out of the model root {root}")
            try:
                return check(read_labels_file(candidate), f"{name} in the model directory")
            except ValueError as exc:
                raise InferenceError(str(exc)) from exc
    assets = sorted(
        p
        for sub in ("assets", "assets.extra")
        if (path / sub).is_dir()
        for p in (path / sub).iterdir()
        if p.is_file() and _LABEL_ASSET.search(p.name) and (root is None or _inside(p, root))
    )
    for asset in assets:
        try:
            labels = read_labels_file(asset)
        except ValueError:
            continue
        if len(labels) == n:
            return labels, f"vocabulary asset {asset.parent.name}/{asset.name} ({n} lines)"
    if binary:
        notes.append("No labels found: the two classes are called negative and positive.")
        return ("negative", "positive"), "default names (binary)"
    notes.append(
        f"No labels found: classes are called class_0…class_{n - 1}; give a labels file "
        "(one per line) with --labels, or put labels.txt next to saved_model.pb."
    )
    return tuple(f"class_{i}" for i in range(n)), "placeholder names"


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def infer_model(
    path: str | Path,
    *,
    root: str | Path | None = None,
    saved_model: Any = None,
    signature: str | None = None,
    input_key: str | None = None,
    feature: str | None = None,
    output: str | None = None,
    output_kind: str | None = None,
    task: str | None = None,
    labels: Sequence[str] | None = None,
) -> ModelInference:
    """Infer how to use the SavedModel in ``path`` as a text classifier.

    Parameters
    ----------
    path : str or Path
        The SavedModel directory.
    root : str or Path, optional
        The model root it lies under: label files resolving outside it are refused.
    saved_model : object, optional
        The already loaded ``tf.saved_model.load(path)`` (loaded here when None).
    signature, input_key, feature, output : str, optional
        Choices that win over the inference (see the module docstring).
    output_kind : {"logits", "softmax", "sigmoid"}, optional
        What the output holds, instead of deciding it from names and probe values.
    task : {"multi-class", "multi-label"}, optional
        For logits: softmax (multi-class, the default) or sigmoid (multi-label) scores.
        Probabilities fix the task themselves (softmax → multi-class, sigmoid →
        multi-label); a contradicting task is refused.
    labels : sequence of str, optional
        Class names in class-id order (binary: two, or one for the positive class).

    Returns
    -------
    ModelInference

    Raises
    ------
    InferenceError
        The model cannot be understood; the message names what was found and which
        option resolves it (e.g. "2 string inputs: text, lang — give --input").
    """
    import tensorflow as tf

    path = Path(path)
    root_path = None if root is None else Path(root)
    try:
        signatures = read_signature_defs(path)
    except (OSError, ValueError) as exc:
        raise InferenceError(str(exc)) from exc
    evidence: list[str] = []
    notes: list[str] = []
    info = _choose_signature(signatures, signature, evidence)
    in_key = _choose_input(info, input_key, evidence)
    text_feature = _choose_feature(path, info, in_key, feature, evidence)

    if saved_model is None:
        try:
            saved_model = tf.saved_model.load(str(path))
        except Exception as exc:  # TF raises many kinds for corrupt protos/variables
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise InferenceError(
                f"the SavedModel is unreadable or corrupt ({type(exc).__name__}: {first})"
            ) from exc
    function = saved_model.signatures[info.key]
    probe = AdapterSpec(
        signature=info.key, input=in_key, feature=text_feature, output="?", output_kind="logits"
    )
    try:
        outputs = run_signature(function, probe, list(PROBE_TEXTS))
    except Exception as exc:  # the model's own failure on plain texts
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise InferenceError(
            f"calling signature {info.key!r} on probe texts failed ({type(exc).__name__}: {first})"
        ) from exc
    widths = {
        key: (1 if value.ndim == 1 else int(value.shape[1]))
        for key, value in outputs.items()
        if np.asarray(value).ndim in (1, 2) and np.asarray(value).shape[0] == len(PROBE_TEXTS)
    }
    out_key = _choose_output(info, widths, output, evidence)
    classes_output = None
    classes_spec = info.output("classes")
    if text_feature is not None and classes_spec is not None and classes_spec.dtype == "DT_STRING":
        classes_output = "classes"
    values = np.asarray(outputs[out_key], dtype=np.float64)
    if values.ndim == 1:
        values = values[:, np.newaxis]
    if values.ndim != 2 or values.shape[0] != len(PROBE_TEXTS):
        raise InferenceError(
            f"output {out_key!r} has shape {tuple(np.asarray(outputs[out_key]).shape)} for "
            f"{len(PROBE_TEXTS)} texts; expected one row per text"
        )
    width = int(values.shape[1])
    if width == 0:
        raise InferenceError(f"output {out_key!r} has no columns")
    kind = _decide_kind(out_key, values, output_kind, evidence)
    binary = width == 1
    multi_label = False
    if binary:
        evidence.append("one column → binary classifier, shown as two classes")
        if task == "multi-label":
            raise InferenceError("a one-column output is binary: --task multi-label does not apply")
    elif task is not None:
        if task not in ("multi-class", "multi-label"):
            raise InferenceError(f"task must be 'multi-class' or 'multi-label'; got {task!r}")
        wanted = {"softmax": "multi-class", "sigmoid": "multi-label"}.get(kind)
        if wanted is not None and task != wanted:
            raise InferenceError(
                f"output {out_key!r} holds {kind} probabilities, which make a {wanted} model; "
                f"--task {task} contradicts it (give --kind logits if they are logits)"
            )
        multi_label = kind == "logits" and task == "multi-label"
        evidence.append(f"task {task}: given")
    elif kind == "logits":
        notes.append(
            "Logits cannot tell multi-class from multi-label: assumed multi-class (softmax); "
            "give --task multi-label if the classes are independent."
        )
    if kind != "logits":
        notes.append(
            "The model returns probabilities: logits are recovered from them "
            f"({'log p' if kind == 'softmax' else 'log(p / (1 - p))'}, p clipped to "
            "[1e-7, 1 - 1e-7])."
        )
    sibling = None
    if labels is None and classes_output is None and not binary:
        sibling = _sibling_classify_labels(path, signatures, info.key, saved_model, width)
    found_labels, source = _find_labels(
        path,
        root=root_path,
        width=width,
        binary=binary,
        given=labels,
        classes_output=classes_output,
        outputs=outputs,
        notes=notes,
        sibling=sibling,
    )
    evidence.append(f"labels from {source}")
    spec = AdapterSpec(
        signature=info.key,
        input=in_key,
        feature=text_feature,
        output=out_key,
        output_kind=kind,
        binary=binary,
        multi_label=multi_label,
        classes_output=classes_output,
        evidence=tuple(evidence),
        notes=tuple(notes),
    )
    logits_and_scores(outputs[out_key], spec)  # the conversion works on real values
    return ModelInference(
        spec=replace(spec),
        labels=found_labels,
        labels_source=source,
        width=width,
        signatures=signatures,
    )


@dataclass(frozen=True, kw_only=True)
class ClassifyReadiness:
    """Whether a model can be served through TF Serving's classify API, and what it lacks.

    Attributes
    ----------
    signature : str
        The signature linted: the model's classify signature when it has one, else the
        signature the adapter calls.
    predict_only : bool
        True when no signature looks like a classify one (method
        ``tensorflow/serving/classify``, or one input ``inputs`` with ``classes``/``scores``
        outputs): the model can be served only through the predict API.
    lint : tuple of LintResult
        :func:`~cls_core.modelio.serving.lint_classify_signature` on ``signature``.
    needs : tuple of str
        For each failed rule, what a classify signature would need (empty when it passes).
    """

    signature: str
    predict_only: bool
    lint: tuple[Any, ...]
    needs: tuple[str, ...]


def _looks_like_classify(info: SignatureInfo) -> bool:
    if info.method_name == CLASSIFY_METHOD_NAME:
        return True
    keys = {spec.key for spec in info.outputs}
    return [spec.key for spec in info.inputs] == ["inputs"] and bool(keys & {"classes", "scores"})


def classify_readiness(
    signatures: dict[str, SignatureInfo],
    spec: AdapterSpec,
    *,
    labels: Sequence[str],
    observed_classes: Any = None,
) -> ClassifyReadiness:
    """Lint an own model's classify signature, or say what one would need.

    The signature linted is ``spec.signature`` when it looks like a classify signature,
    else the first other one that does, else (predict-only) ``spec.signature`` itself: its
    failed rules are then exactly what a classify signature would need.

    Parameters
    ----------
    signatures : dict of str to SignatureInfo
        From :func:`~cls_core.modelio.serving.read_signature_defs`.
    spec : AdapterSpec
    labels : sequence of str
        The model's labels in class-id order.
    observed_classes : array-like, optional
        ``classes`` as returned by running the classify signature.

    Raises
    ------
    ValueError
        ``spec.signature`` is not in ``signatures``.
    """
    from cls_core.modelio.serving import lint_classify_signature

    if spec.signature not in signatures:
        raise ValueError(
            f"`spec.signature` {spec.signature!r} is not a signature of the model; got "
            f"{', '.join(sorted(signatures))}"
        )
    own = signatures[spec.signature]
    candidates = [own] if _looks_like_classify(own) else []
    candidates += [
        info
        for key, info in sorted(signatures.items())
        if key != spec.signature and not key.startswith("__") and _looks_like_classify(info)
    ]
    target = candidates[0] if candidates else own
    observed = observed_classes if target is own else None
    lint = tuple(lint_classify_signature(target, labels=labels, observed_classes=observed))
    needs = tuple(
        f"{result.rule} — {result.explanation}" for result in lint if result.passed is False
    )
    return ClassifyReadiness(
        signature=target.key, predict_only=not candidates, lint=lint, needs=needs
    )
