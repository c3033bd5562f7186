"""SignatureDefs of a SavedModel, a linter for the classify signature, TF Serving round trips.

The core behind the app's Signature inspector:

- ``read_signature_defs`` reads every SignatureDef of a SavedModel's ``serve`` MetaGraph
  straight from ``saved_model.pb`` (no model is loaded) into small frozen records;
  ``cli_text`` prints them exactly as ``saved_model_cli show --dir D --all`` does, and
  ``proto_text`` gives the raw proto in text format.
- ``expected_classify_signature`` is the classify SignatureDef that
  ``ClassificationOutput.as_signature_def`` builds for a model with these labels, and
  ``lint_classify_signature`` checks a stored one against what TF Serving's classify API
  requires, each failed rule explained.
- The TF Serving classify round trip: the serialized ``tf.Example`` for a text, the REST
  request body and ``curl`` command, the REST response TF Serving would send for the
  model's ``classes``/``scores``, and the same as gRPC ``ClassificationRequest`` /
  ``ClassificationResponse`` protos (from the ``tensorflow-serving-api`` package).

TensorFlow (and ``tensorflow_serving``) are imported lazily, inside the functions that need
protos.
"""

from __future__ import annotations

import json
import math
import shlex
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from cls_core.scoring.export_output import CLASSIFY_METHOD_NAME, ClassificationOutput

__all__ = [
    "CLASSIFY_INPUTS_KEY",
    "CLASSIFY_METHOD_NAME",
    "DEFAULT_CLASSIFY_SIGNATURE",
    "REST_CLASSIFY_RESPONSE_KEY",
    "TEXT_FEATURE",
    "TF_SERVING_REST_PORT",
    "LintResult",
    "SignatureInfo",
    "TensorSpecInfo",
    "classify_request_proto",
    "classify_response_proto",
    "cli_text",
    "curl_command",
    "expected_classify_signature",
    "grpc_request_text",
    "grpc_response_text",
    "lint_classify_signature",
    "proto_text",
    "read_signature_defs",
    "rest_classify_request",
    "rest_classify_response",
    "rest_classify_url",
    "serialize_text_example",
    "signature_cli_text",
]

CLASSIFY_INPUTS_KEY: Final = "inputs"
DEFAULT_CLASSIFY_SIGNATURE: Final = "classification"
TEXT_FEATURE: Final = "text"
TF_SERVING_REST_PORT: Final = 8501
# TF Serving's REST server writes classify results under "results"
# (tensorflow_serving/util/json_tensor.cc, kClassifyRegressResponseKey). Its api_rest.md
# shows "result" in the format section but "results" in its own example output.
REST_CLASSIFY_RESPONSE_KEY: Final = "results"


# --- reading SignatureDefs ---------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TensorSpecInfo:
    """One input or output of a SignatureDef, as ``saved_model_cli`` shows it.

    Attributes
    ----------
    key : str
        The key in the signature's ``inputs``/``outputs`` map (e.g. ``"scores"``).
    dtype : str
        The DataType enum name, e.g. ``"DT_STRING"``, ``"DT_FLOAT"``.
    shape : tuple of int, or None
        One entry per dimension, ``-1`` for an unknown size; None for an unknown rank.
    name : str
        The graph tensor name, e.g. ``"StatefulPartitionedCall:1"``.
    """

    key: str
    dtype: str
    shape: tuple[int, ...] | None
    name: str

    @property
    def rank(self) -> int | None:
        """Number of dimensions, None when unknown."""
        return None if self.shape is None else len(self.shape)

    @property
    def shape_text(self) -> str:
        """The shape as ``saved_model_cli`` prints it: ``(-1, 3)``, ``(-1)``, ``unknown_rank``."""
        if self.shape is None:
            return "unknown_rank"
        return "(" + ", ".join(str(size) for size in self.shape) + ")"


@dataclass(frozen=True, kw_only=True)
class SignatureInfo:
    """One SignatureDef: its key, method name, inputs and outputs (sorted by key).

    ``signature_def`` holds the proto itself (for ``proto_text``); it takes no part in
    equality.
    """

    key: str
    method_name: str
    inputs: tuple[TensorSpecInfo, ...]
    outputs: tuple[TensorSpecInfo, ...]
    signature_def: Any = field(default=None, compare=False, repr=False)

    @classmethod
    def from_proto(cls, key: str, signature_def: Any) -> SignatureInfo:
        """Build from a ``SignatureDef`` proto stored under ``key``."""
        return cls(
            key=key,
            method_name=signature_def.method_name,
            inputs=tuple(_tensor_spec_info(k, v) for k, v in sorted(signature_def.inputs.items())),
            outputs=tuple(
                _tensor_spec_info(k, v) for k, v in sorted(signature_def.outputs.items())
            ),
            signature_def=signature_def,
        )

    def input(self, key: str) -> TensorSpecInfo | None:
        """The input stored under ``key``, or None."""
        return next((spec for spec in self.inputs if spec.key == key), None)

    def output(self, key: str) -> TensorSpecInfo | None:
        """The output stored under ``key``, or None."""
        return next((spec for spec in self.outputs if spec.key == key), None)


def _tensor_spec_info(key: str, tensor_info: Any) -> TensorSpecInfo:
    from tensorflow.core.framework import types_pb2

    shape_proto = tensor_info.tensor_shape
    shape = None if shape_proto.unknown_rank else tuple(int(d.size) for d in shape_proto.dim)
    return TensorSpecInfo(
        key=key,
        dtype=types_pb2.DataType.Name(tensor_info.dtype),
        shape=shape,
        name=tensor_info.name,
    )


def _read_saved_model(saved_model_dir: str | Path) -> Any:
    from google.protobuf.message import DecodeError
    from tensorflow.core.protobuf import saved_model_pb2

    path = Path(saved_model_dir) / "saved_model.pb"
    if not path.is_file():
        raise FileNotFoundError(
            f"`saved_model_dir` must be a SavedModel directory holding saved_model.pb; "
            f"got {str(saved_model_dir)!r}, which has none"
        )
    saved_model = saved_model_pb2.SavedModel()
    try:
        saved_model.ParseFromString(path.read_bytes())
    except DecodeError as exc:
        raise ValueError(f"{str(path)!r} is not a valid SavedModel proto: {exc}") from exc
    return saved_model


def read_signature_defs(
    saved_model_dir: str | Path, *, tags: str = "serve"
) -> dict[str, SignatureInfo]:
    """Every SignatureDef of the MetaGraph tagged ``tags``, read from ``saved_model.pb``.

    Nothing is loaded or run. TF2 SavedModels also hold an internal
    ``__saved_model_init_op`` signature; it is included, as ``saved_model_cli`` shows it.

    Parameters
    ----------
    saved_model_dir : str or Path
        The SavedModel directory (the one holding ``saved_model.pb``).
    tags : str, default "serve"
        The MetaGraph's tag set, comma-separated when it has several tags.

    Returns
    -------
    dict mapping signature key to SignatureInfo, in sorted key order.

    Raises
    ------
    FileNotFoundError
        No ``saved_model.pb`` in ``saved_model_dir``.
    ValueError
        The file is not a SavedModel proto, or no MetaGraph has exactly these tags (the
        message lists the tag sets it holds).
    """
    saved_model = _read_saved_model(saved_model_dir)
    wanted = sorted(tag.strip() for tag in tags.split(","))
    available = [sorted(mg.meta_info_def.tags) for mg in saved_model.meta_graphs]
    for meta_graph in saved_model.meta_graphs:
        if sorted(meta_graph.meta_info_def.tags) == wanted:
            return {
                key: SignatureInfo.from_proto(key, meta_graph.signature_def[key])
                for key in sorted(meta_graph.signature_def)
            }
    raise ValueError(
        f"`tags` must name a MetaGraph of {str(saved_model_dir)!r}; got {tags!r}, "
        f"available tag sets: {available}"
    )


def signature_cli_text(signature: SignatureInfo, *, indent: int = 1) -> str:
    """One signature's block as ``saved_model_cli show --all`` prints it (no key header).

    Parameters
    ----------
    signature : SignatureInfo
    indent : int, default 1
        Two spaces per level, as the CLI (which uses 1 under ``--all``).
    """
    pad = "  " * indent
    lines = [f"{pad}The given SavedModel SignatureDef contains the following input(s):"]
    for spec in signature.inputs:
        lines.append(f"{pad}  inputs['{spec.key}'] tensor_info:")
        lines.extend(_tensor_lines(spec, pad))
    lines.append(f"{pad}The given SavedModel SignatureDef contains the following output(s):")
    for spec in signature.outputs:
        lines.append(f"{pad}  outputs['{spec.key}'] tensor_info:")
        lines.extend(_tensor_lines(spec, pad))
    lines.append(f"{pad}Method name is: {signature.method_name}")
    return "\n".join(lines) + "\n"


def _tensor_lines(spec: TensorSpecInfo, pad: str) -> list[str]:
    return [
        f"{pad}      dtype: {spec.dtype}",
        f"{pad}      shape: {spec.shape_text}",
        f"{pad}      name: {spec.name}",
    ]


def cli_text(saved_model_dir: str | Path) -> str:
    """The SignatureDef part of ``saved_model_cli show --dir D --all``, character for character.

    Every MetaGraph (sorted by tags) with a ``MetaGraphDef with tag-set: ...`` header, then
    each signature (sorted by key). Like the CLI, the text starts with a blank line. The
    CLI's list of ops (an unordered set) and its "Concrete Functions" section (which needs
    loading the model) are not part of it.

    Raises
    ------
    FileNotFoundError, ValueError
        As ``read_signature_defs``.
    """
    saved_model = _read_saved_model(saved_model_dir)
    parts: list[str] = []
    for meta_graph in sorted(saved_model.meta_graphs, key=lambda mg: list(mg.meta_info_def.tags)):
        tag_set = ", ".join(meta_graph.meta_info_def.tags)
        parts.append(
            f"\nMetaGraphDef with tag-set: '{tag_set}' contains the following SignatureDefs:\n"
        )
        for key in sorted(meta_graph.signature_def):
            info = SignatureInfo.from_proto(key, meta_graph.signature_def[key])
            parts.append(f"\nsignature_def['{key}']:\n" + signature_cli_text(info))
    return "".join(parts)


def proto_text(signature_def: Any) -> str:
    """A ``SignatureDef`` proto (or a ``SignatureInfo``'s) in protobuf text format."""
    from google.protobuf import text_format

    proto = (
        signature_def.signature_def if isinstance(signature_def, SignatureInfo) else signature_def
    )
    if proto is None or not hasattr(proto, "DESCRIPTOR"):
        raise TypeError(
            f"`signature_def` must be a SignatureDef proto or a SignatureInfo holding one; "
            f"got {type(signature_def).__name__}"
        )
    return str(text_format.MessageToString(proto, as_utf8=True))


# --- the expected classify signature and the linter --------------------------------------


def _validate_labels(labels: Sequence[str]) -> list[str]:
    if isinstance(labels, str) or not all(isinstance(label, str) for label in labels):
        raise TypeError(f"`labels` must be a sequence of str; got {labels!r:.120}")
    names = list(labels)
    if not names:
        raise ValueError("`labels` must hold at least one label; got none")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"`labels` must be unique; got duplicates {duplicates}")
    return names


def expected_classify_signature(labels: Sequence[str]) -> SignatureInfo:
    """The classify SignatureDef a model with these labels should export.

    Built by ``ClassificationOutput(scores=..., classes=...).as_signature_def(...)`` from
    graph placeholders: input ``[None]`` DT_STRING (serialized tf.Examples), ``scores``
    ``[None, C]`` DT_FLOAT and ``classes`` ``[None, C]`` DT_STRING, ``C = len(labels)``.
    Tensor names are the placeholders' (``input_example_tensor:0``, ``scores:0``,
    ``classes:0``), not the stored model's.

    Returns
    -------
    SignatureInfo with key ``"classification"``.

    Raises
    ------
    TypeError, ValueError
        ``labels`` not a sequence of unique ``str``, or empty.
    """
    import tensorflow as tf

    n_classes = len(_validate_labels(labels))
    with tf.Graph().as_default():
        examples = tf.compat.v1.placeholder(tf.string, [None], name="input_example_tensor")
        scores = tf.compat.v1.placeholder(tf.float32, [None, n_classes], name="scores")
        classes = tf.compat.v1.placeholder(tf.string, [None, n_classes], name="classes")
    output = ClassificationOutput(scores=scores, classes=classes)
    proto = output.as_signature_def({CLASSIFY_INPUTS_KEY: examples})
    return SignatureInfo.from_proto(DEFAULT_CLASSIFY_SIGNATURE, proto)


@dataclass(frozen=True, kw_only=True)
class LintResult:
    """One rule of the classify-signature linter.

    Attributes
    ----------
    rule : str
        What is required, in words.
    passed : bool or None
        True/False; None when it cannot be checked from what was given (e.g. an unknown
        width, or the classes were not observed by running the model).
    explanation : str
        Why it passed, or what is wrong and what TF Serving does about it.
    """

    rule: str
    passed: bool | None
    explanation: str


def lint_classify_signature(
    signature: SignatureInfo | Any,
    *,
    labels: Sequence[str],
    observed_classes: npt.ArrayLike | None = None,
    decision: bool = False,
) -> list[LintResult]:
    """Check a SignatureDef against TF Serving's classify API and the model card's labels.

    Rules, in this order: method name ``tensorflow/serving/classify``; exactly one input,
    keyed ``inputs``; that input DT_STRING; outputs ``classes`` and ``scores``; ``classes``
    DT_STRING; ``scores`` DT_FLOAT; both rank 2; same width; width equal to
    ``len(labels)``; the classes the model returns equal to ``labels`` (needs
    ``observed_classes``).

    With ``decision=True`` the signature is a decision signature (see
    :mod:`cls_core.modelio.decision_export`): its width may also be 1 (a multi-class
    decision), and each returned row must hold distinct card labels first, then ``""``
    padding only.

    Parameters
    ----------
    signature : SignatureInfo or SignatureDef proto
    labels : sequence of str
        The model card's labels, in class-id order.
    observed_classes : array-like of shape (n_examples, C) or (C,), optional
        ``classes`` as returned by running the signature (str or bytes).

    Returns
    -------
    list of LintResult, one per rule, in the order above.

    Raises
    ------
    TypeError, ValueError
        ``labels`` not a sequence of unique ``str``, or empty.
    """
    names = _validate_labels(labels)
    info = (
        signature
        if isinstance(signature, SignatureInfo)
        else SignatureInfo.from_proto(DEFAULT_CLASSIFY_SIGNATURE, signature)
    )
    results: list[LintResult] = []

    def add(rule: str, passed: bool | None, explanation: str) -> None:
        results.append(LintResult(rule=rule, passed=passed, explanation=explanation))

    # 1. method name
    method_ok = info.method_name == CLASSIFY_METHOD_NAME
    add(
        f"method name is {CLASSIFY_METHOD_NAME}",
        method_ok,
        "TF Serving's Classify API will serve this signature."
        if method_ok
        else (
            f"The method name is {info.method_name!r}: TF Serving's Classify API refuses it "
            f'("Expected classification signature method_name to be {CLASSIFY_METHOD_NAME}"). '
            "tf.saved_model.save and Keras export always write tensorflow/serving/predict; "
            "rewrite it with MethodNameUpdater."
        ),
    )
    # 2-3. the input
    input_keys = [spec.key for spec in info.inputs]
    one_input = input_keys == [CLASSIFY_INPUTS_KEY]
    add(
        f"exactly one input, keyed `{CLASSIFY_INPUTS_KEY}`",
        one_input,
        "Clients send serialized tf.Examples to this one input."
        if one_input
        else (
            f"The inputs are {input_keys}: TF Serving's classify needs exactly one input "
            f"tensor, found under the key `{CLASSIFY_INPUTS_KEY}` (the Python argument of the "
            "exported function must be named `inputs`)."
        ),
    )
    the_input = info.input(CLASSIFY_INPUTS_KEY) if one_input else None
    if the_input is None:
        add(
            "the input is DT_STRING (serialized tf.Example)",
            False,
            f"There is no single `{CLASSIFY_INPUTS_KEY}` input to check.",
        )
    else:
        string_ok = the_input.dtype == "DT_STRING"
        add(
            "the input is DT_STRING (serialized tf.Example)",
            string_ok,
            "TF Serving feeds it the serialized tf.Examples of the request."
            if string_ok
            else (
                f"The input is {the_input.dtype}; TF Serving feeds serialized tf.Examples, "
                "a DT_STRING tensor. Parse them inside the model with tf.io.parse_example."
            ),
        )
    # 4. outputs
    output_keys = [spec.key for spec in info.outputs]
    outputs_ok = sorted(output_keys) == ["classes", "scores"]
    if outputs_ok:
        outputs_text = "Each example gets (label, score) pairs."
    elif not {"classes", "scores"} & set(output_keys):
        outputs_text = (
            f"The outputs are {output_keys}: TF Serving finds neither `classes` nor `scores` "
            "and refuses the signature."
        )
    elif set(output_keys) - {"classes", "scores"}:
        outputs_text = (
            f"The outputs are {output_keys}: TF Serving's classify wants one or two outputs, "
            "keyed `classes` and/or `scores`; other outputs belong in a predict signature."
        )
    elif "classes" not in output_keys:
        outputs_text = (
            'There is no `classes` output: TF Serving returns the label "" for every score, '
            "and clients must know the class order themselves."
        )
    else:
        outputs_text = (
            "There is no `scores` output: TF Serving returns the score 0.0 for every class, "
            "and clients can only read the classes as a ranking."
        )
    add("outputs are `classes` and `scores`", outputs_ok, outputs_text)
    # 5-6. dtypes
    classes = info.output("classes")
    scores = info.output("scores")
    for spec, key, dtype in ((classes, "classes", "DT_STRING"), (scores, "scores", "DT_FLOAT")):
        rule = f"`{key}` is {dtype}"
        if spec is None:
            add(rule, False, f"There is no `{key}` output.")
        elif spec.dtype == dtype:
            add(rule, True, f"`{key}` is {dtype}, as TF Serving requires.")
        else:
            why = (
                "labels must be strings, not integer class ids"
                if key == "classes"
                else "cast scores to float32 before returning them"
            )
            add(
                rule,
                False,
                f"`{key}` is {spec.dtype}; TF Serving refuses anything but {dtype} "
                f'("Expected {key} Tensor of {dtype}"): {why}.',
            )
    # 7. rank 2
    present = [spec for spec in (classes, scores) if spec is not None]
    rank_rule = "`classes` and `scores` have rank 2, [batch_size, num_classes]"
    if not present:
        add(rank_rule, False, "There is neither a `classes` nor a `scores` output.")
    else:
        wrong = [spec for spec in present if spec.rank is not None and spec.rank != 2]
        unknown = [spec for spec in present if spec.rank is None]
        if wrong:
            add(
                rank_rule,
                False,
                "; ".join(f"`{s.key}` has shape {s.shape_text}" for s in wrong)
                + ': TF Serving refuses it ("Expected Tensor shape: [batch_size num_classes]").',
            )
        elif unknown:
            add(
                rank_rule,
                None,
                "; ".join(f"`{s.key}` has an unknown rank" for s in unknown)
                + ": TF Serving checks it only at request time.",
            )
        else:
            add(rank_rule, True, "One row per example, one column per class.")
    # 8-9. widths
    widths = {
        spec.key: spec.shape[1]
        for spec in present
        if spec.shape is not None and len(spec.shape) == 2
    }
    width_rule = "`classes` and `scores` have the same width"
    if classes is None or scores is None:
        add(width_rule, False, "Both `classes` and `scores` are needed to compare widths.")
    elif "classes" not in widths or "scores" not in widths:
        add(width_rule, None, "Both outputs must have rank 2 to compare their widths.")
    elif -1 in (widths["classes"], widths["scores"]):
        add(
            width_rule,
            None,
            f"A width is unknown in the signature (classes {widths['classes']}, scores "
            f"{widths['scores']}); TF Serving checks it only at request time.",
        )
    elif widths["classes"] == widths["scores"]:
        add(
            width_rule,
            True,
            f"Both are {widths['classes']} wide: scores[i, c] goes with classes[i, c].",
        )
    else:
        add(
            width_rule,
            False,
            f"`classes` is {widths['classes']} wide and `scores` {widths['scores']}: TF Serving "
            'refuses the response ("Tensors class and score should match in dim_size(1)").',
        )
    n_labels = len(names)
    labels_rule = f"the width equals the number of labels ({n_labels})"
    if decision:
        labels_rule = f"the width is the number of labels ({n_labels}) or 1 (multi-class)"
    known = sorted({w for w in widths.values() if w != -1})
    if not widths:
        add(labels_rule, None, "No rank-2 output to read a width from.")
    elif not known:
        add(labels_rule, None, "The width is unknown in the signature (-1).")
    elif known == [n_labels]:
        add(labels_rule, True, f"{n_labels} columns for {n_labels} labels.")
    elif decision and known == [1]:
        add(labels_rule, True, 'One column: the winning label, or "" when the model abstains.')
    else:
        add(
            labels_rule,
            False,
            f"The signature is {', '.join(map(str, known))} wide but the model card lists "
            f"{n_labels} labels: clients would mislabel or miss classes.",
        )
    # 10. observed classes
    if decision:
        add(*_check_observed_decision(observed_classes, names))
    else:
        add(*_check_observed_classes(observed_classes, names))
    return results


def _check_observed_decision(
    observed_classes: npt.ArrayLike | None, names: list[str]
) -> tuple[str, bool | None, str]:
    rule = 'each row holds distinct card labels first, then "" padding'
    if observed_classes is None:
        return rule, None, "Not checked: run the decision signature to see its classes."
    observed = np.asarray(observed_classes, dtype=object)
    if observed.ndim == 1:
        observed = observed[np.newaxis, :]
    if observed.ndim != 2:
        raise ValueError(
            "`observed_classes` must have shape (n_examples, K) or (K,); "
            f"got shape {observed.shape}"
        )
    known = set(names)
    for i, row in enumerate(observed):
        texts = [x.decode("utf-8", errors="replace") if isinstance(x, bytes) else x for x in row]
        fired = [x for x in texts if x]
        n = len(fired)
        if texts[n:] != [""] * (len(texts) - n):
            return rule, False, f'Example {i}: an empty label "" comes before a real one.'
        unknown = [x for x in fired if x not in known]
        if unknown:
            return rule, False, f"Example {i}: {unknown[0]!r} is not one of the card's labels."
        if len(set(fired)) != n:
            return rule, False, f"Example {i}: a label is returned twice."
    return (
        rule,
        True,
        'Every row lists the fired labels, then "" padding that clients must drop.',
    )


def _check_observed_classes(
    observed_classes: npt.ArrayLike | None, names: list[str]
) -> tuple[str, bool | None, str]:
    rule = "the classes the model returns equal the card's labels"
    if observed_classes is None:
        return rule, None, "Not checked: run the classification signature to see its classes."
    observed = np.asarray(observed_classes, dtype=object)
    if observed.ndim == 1:
        observed = observed[np.newaxis, :]
    if observed.ndim != 2:
        raise ValueError(
            "`observed_classes` must have shape (n_examples, C) or (C,); "
            f"got shape {observed.shape}"
        )
    if observed.shape[1] != len(names):
        return (
            rule,
            False,
            f"The model returns {observed.shape[1]} classes per example; the card lists "
            f"{len(names)} labels.",
        )
    for i, row in enumerate(observed):
        for c, label in enumerate(row):
            text = label.decode("utf-8", errors="replace") if isinstance(label, bytes) else label
            if text != names[c]:
                return (
                    rule,
                    False,
                    f"Example {i}, column {c}: the model says {text!r} where the card says "
                    f"{names[c]!r}; clients reading (label, score) pairs get the model's labels.",
                )
    return rule, True, f"Every example returns the card's {len(names)} labels in class-id order."


# --- TF Serving classify round trip ------------------------------------------------------


def _validate_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str | bytes) or not all(isinstance(text, str) for text in texts):
        raise TypeError(f"`texts` must be a sequence of str (one per example); got {texts!r:.120}")
    items = list(texts)
    if not items:
        raise ValueError(
            "`texts` must hold at least one text; got none (TF Serving refuses an empty input)"
        )
    return items


def _validate_model_name(model_name: str) -> str:
    if not isinstance(model_name, str):
        raise TypeError(f"`model_name` must be a str; got {type(model_name).__name__}")
    if not model_name.strip():
        raise ValueError("`model_name` must be a non-empty name; got an empty string")
    return model_name


def _validate_signature_name(signature_name: str) -> str:
    if not isinstance(signature_name, str) or not signature_name:
        raise ValueError(f"`signature_name` must be a non-empty str; got {signature_name!r}")
    return signature_name


def _text_example(text: str) -> Any:
    from tensorflow.core.example import example_pb2

    example = example_pb2.Example()
    example.features.feature[TEXT_FEATURE].bytes_list.value.append(text.encode("utf-8"))
    return example


def serialize_text_example(text: str) -> bytes:
    """``text`` as a serialized ``tf.train.Example`` with one bytes feature ``text`` (UTF-8).

    This is what TF Serving builds from the REST body ``{"examples": [{"text": text}]}`` and
    feeds, as one element of a DT_STRING tensor, to the classify signature's ``inputs``.

    Raises
    ------
    TypeError
        ``text`` is not a ``str``.
    """
    if not isinstance(text, str):
        raise TypeError(f"`text` must be a str; got {type(text).__name__}")
    return bytes(_text_example(text).SerializeToString())


def rest_classify_url(
    model_name: str, *, host: str = "localhost", port: int = TF_SERVING_REST_PORT
) -> str:
    """``http://HOST:PORT/v1/models/NAME:classify`` (the name percent-encoded)."""
    name = urllib.parse.quote(_validate_model_name(model_name), safe="")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ValueError(f"`port` must be an int in 1..65535; got {port!r}")
    if not isinstance(host, str) or not host or any(ch in host for ch in "/?#@ \t\n"):
        raise ValueError(f"`host` must be a bare host name or address; got {host!r}")
    return f"http://{host}:{port}/v1/models/{name}:classify"


def rest_classify_request(
    model_name: str, texts: Sequence[str], *, signature_name: str = DEFAULT_CLASSIFY_SIGNATURE
) -> dict[str, Any]:
    """The JSON body of ``POST /v1/models/<model_name>:classify`` for these texts.

    ``{"signature_name": ..., "examples": [{"text": ...}, ...]}``. Without
    ``signature_name`` TF Serving would use ``serving_default``, which is a predict
    signature in our models, so it is always written. ``model_name`` goes in the URL (see
    ``rest_classify_url``), not in the body; it is validated here all the same.

    Raises
    ------
    TypeError, ValueError
        Bad ``model_name``, ``signature_name``, or ``texts`` not a non-empty sequence of str.
    """
    _validate_model_name(model_name)
    return {
        "signature_name": _validate_signature_name(signature_name),
        "examples": [{TEXT_FEATURE: text} for text in _validate_texts(texts)],
    }


def _serving_decimal(value: float) -> float:
    """A float32 score as TF Serving writes it in JSON: 6 significant digits when they
    round-trip, else 9 (so 0.1f is 0.1, not 0.10000000149011612)."""
    score = np.float32(value)
    if not math.isfinite(score):
        return float(score)
    short = f"{score:g}"
    return float(short) if np.float32(short) == score else float(f"{score:.9g}")


def rest_classify_response(classes: Any, scores: Any) -> dict[str, Any]:
    """The JSON body TF Serving's REST classify returns for these output tensors.

    ``{"results": [[[label, score], ...], ...]}``: one list per example, one pair per
    column, in tensor order (no sorting, no top-k); label ``""`` when ``classes`` is None,
    score 0.0 when ``scores`` is None. Scores are written as TF Serving writes float32
    (shortest of 6 or 9 significant digits). The key is ``"results"``, as the server writes
    it (TF Serving's api_rest.md says ``"result"``; its code and its own example output say
    ``"results"``).

    Parameters
    ----------
    classes : array-like of str/bytes, shape (n_examples, C), or None
    scores : float32 array-like, shape (n_examples, C), or None

    Raises
    ------
    ValueError
        What ``ClassificationOutput`` and TF Serving refuse (see ``ClassificationOutput``
        and ``ClassificationOutput.to_rows``).
    """
    rows = _rows(classes, scores)
    return {
        REST_CLASSIFY_RESPONSE_KEY: [
            [[label, _serving_decimal(score)] for label, score in row] for row in rows
        ]
    }


def _rows(classes: Any, scores: Any) -> list[list[tuple[str, float]]]:
    if (
        classes is not None
        and not isinstance(classes, np.ndarray)
        and not hasattr(classes, "dtype")
    ):
        classes = np.asarray(classes, dtype=object)
    if scores is not None and not isinstance(scores, np.ndarray) and not hasattr(scores, "dtype"):
        scores = np.asarray(scores, dtype=np.float32)
    return ClassificationOutput(scores=scores, classes=classes).to_rows()


def curl_command(
    model_name: str,
    request_json: dict[str, Any] | str,
    *,
    host: str = "localhost",
    port: int = TF_SERVING_REST_PORT,
) -> str:
    """A ready ``curl`` command posting ``request_json`` to TF Serving's REST classify.

    Every argument is quoted with ``shlex.quote``, so any text (quotes, ``$``, backticks,
    newlines) is passed to curl literally. 8501 is TF Serving's default REST port.

    Parameters
    ----------
    model_name : str
    request_json : dict or str
        The body (a dict is written with ``json.dumps``; a str is used as is).
    host : str, default "localhost"
    port : int, default 8501

    Raises
    ------
    TypeError, ValueError
        Bad ``model_name``, ``host`` or ``port``; ``request_json`` neither dict nor str.
    """
    url = rest_classify_url(model_name, host=host, port=port)
    if isinstance(request_json, dict):
        body = json.dumps(request_json, ensure_ascii=False)
    elif isinstance(request_json, str):
        body = request_json
    else:
        raise TypeError(
            f"`request_json` must be a dict or a str; got {type(request_json).__name__}"
        )
    return " ".join(
        [
            "curl",
            "-X",
            "POST",
            shlex.quote(url),
            "-H",
            shlex.quote("Content-Type: application/json"),
            "-d",
            shlex.quote(body),
        ]
    )


def classify_request_proto(
    model_name: str, texts: Sequence[str], *, signature_name: str = DEFAULT_CLASSIFY_SIGNATURE
) -> Any:
    """A ``tensorflow_serving.apis.classification_pb2.ClassificationRequest`` for these texts.

    ``model_spec {name, signature_name}`` and ``input.example_list`` with one
    ``tf.Example`` (bytes feature ``text``) per text.
    """
    from tensorflow_serving.apis import classification_pb2

    request = classification_pb2.ClassificationRequest()
    request.model_spec.name = _validate_model_name(model_name)
    request.model_spec.signature_name = _validate_signature_name(signature_name)
    for text in _validate_texts(texts):
        request.input.example_list.examples.append(_text_example(text))
    return request


def classify_response_proto(
    classes: Any,
    scores: Any,
    *,
    model_name: str,
    signature_name: str = DEFAULT_CLASSIFY_SIGNATURE,
    version: int | None = None,
) -> Any:
    """The ``ClassificationResponse`` TF Serving's gRPC Classify returns for these outputs.

    ``result.classifications`` (one per example, classes in tensor order, label "" /
    score 0 for a missing output) and the ``model_spec`` the server echoes (name,
    signature name, and the version when given).
    """
    from tensorflow_serving.apis import classification_pb2

    rows = _rows(classes, scores)
    response = classification_pb2.ClassificationResponse()
    response.model_spec.name = _validate_model_name(model_name)
    response.model_spec.signature_name = _validate_signature_name(signature_name)
    if version is not None:
        if isinstance(version, bool) or not isinstance(version, int) or version < 0:
            raise ValueError(f"`version` must be a non-negative int; got {version!r}")
        response.model_spec.version.value = version
    for row in rows:
        classifications = response.result.classifications.add()
        for label, score in row:
            entry = classifications.classes.add()
            if classes is not None:
                entry.label = label
            if scores is not None:
                entry.score = score
    return response


def grpc_request_text(
    model_name: str, texts: Sequence[str], *, signature_name: str = DEFAULT_CLASSIFY_SIGNATURE
) -> str:
    """``classify_request_proto(...)`` in protobuf text format."""
    from google.protobuf import text_format

    request = classify_request_proto(model_name, texts, signature_name=signature_name)
    return str(text_format.MessageToString(request, as_utf8=True))


def grpc_response_text(
    classes: Any,
    scores: Any,
    *,
    model_name: str,
    signature_name: str = DEFAULT_CLASSIFY_SIGNATURE,
    version: int | None = None,
) -> str:
    """``classify_response_proto(...)`` in protobuf text format."""
    from google.protobuf import text_format

    response = classify_response_proto(
        classes, scores, model_name=model_name, signature_name=signature_name, version=version
    )
    return str(text_format.MessageToString(response, as_utf8=True))
