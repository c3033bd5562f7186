"""cls_core.scoring.export_output.ClassificationOutput: parity with TF's own class, rows, readings."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from tensorflow.python.saved_model.model_utils.export_output import (
    ClassificationOutput as TFClassificationOutput,
)

from cls_core.paths import PROJECT_ROOT
from cls_core.scoring.export_output import (
    CLASSIFY_METHOD_NAME,
    ClassificationOutput,
    _python_to_array,
)

# TF's messages, up to their "; got ..." / "\n Received: ..." parts.
SCORES_MSG = r"^Classification scores must be a float32 Tensor; got "
CLASSES_MSG = r"^Classification classes must be a string Tensor; got "
EMPTY_MSG = (
    r"^Cannot create a ClassificationOutput with empty arguments\. "
    r"At least one of `scores` and `classes` must be defined\.$"
)
RECEIVER_MSG = (
    r"^Classification signatures can only accept a single tensor input of type tf\.string\. "
    r".*use `tf\.io\.parse_example\(\)` to parse the string into multiple tensors\.\n Received: "
)
FLOAT_SCORES_MSG = r"^Classification scores must be a float Tensor\.$"
BARE_RECEIVER_MSG = r"^`receiver_tensors` must be a dict holding exactly one tf\.string tensor"

# Symbolic tensors, as a TF1-style export would build them.
GRAPH = tf.Graph()
with GRAPH.as_default():
    G_SCORES = tf.compat.v1.placeholder(tf.float32, [None, 3], name="scores")
    G_SCORES64 = tf.compat.v1.placeholder(tf.float64, [None, 3], name="scores64")
    G_CLASSES = tf.compat.v1.placeholder(tf.string, [None, 3], name="classes")
    G_EXAMPLES = tf.compat.v1.placeholder(tf.string, [None], name="input_example_tensor")
    G_EXAMPLES_2D = tf.compat.v1.placeholder(tf.string, [None, 1], name="examples_2d")
    G_FLOATS = tf.compat.v1.placeholder(tf.float32, [None], name="floats")

F32 = [[0.1, 0.7, 0.2], [0.5, 0.25, 0.25]]
LABELS = [["joy", "fear", "love"], ["joy", "fear", "love"]]

Factory = Callable[[], Any]


def _tf(values: Any, dtype: tf.DType) -> Factory:
    return lambda: tf.constant(values, dtype=dtype)


def _np(values: Any, dtype: Any) -> Factory:
    return lambda: np.array(values, dtype=dtype)


def _const(value: Any) -> Factory:
    return lambda: value


@dataclass(frozen=True, kw_only=True)
class Case:
    """One row of the parity table.

    ``expected`` is None (valid) or (exception type, regex for *our* message). Parity with
    TF's class is checked for every row in addition: same outcome, same exception type,
    same message text up to TF's "; got ..." / "Received:" part.
    """

    id: str
    scores: Factory | None = None
    classes: Factory | None = None
    receivers: Factory | None = None  # None: constructor-only case
    expected: tuple[type[Exception], str] | None = None
    # TF's own message for a bare receiver is an accident of `len()` on a symbolic
    # tensor; ours says what was expected. Type parity still holds.
    tf_message_is_accidental: bool = False


CASES = [
    # --- constructor: scores dtypes, tensors vs numpy vs lists ---------------------------
    Case(id="scores-tf-float32", scores=_tf(F32, tf.float32)),
    Case(id="scores-tf-float16", scores=_tf(F32, tf.float16)),
    Case(id="scores-tf-float64", scores=_tf(F32, tf.float64)),
    Case(id="scores-tf-bfloat16", scores=_tf(F32, tf.bfloat16)),
    Case(id="scores-tf-int32", scores=_tf([[1, 2]], tf.int32), expected=(ValueError, SCORES_MSG)),
    Case(id="scores-tf-int64", scores=_tf([[1, 2]], tf.int64), expected=(ValueError, SCORES_MSG)),
    Case(id="scores-tf-bool", scores=_tf([[True]], tf.bool), expected=(ValueError, SCORES_MSG)),
    Case(id="scores-tf-string", scores=_tf([["a"]], tf.string), expected=(ValueError, SCORES_MSG)),
    Case(id="scores-list", scores=_const(F32), expected=(ValueError, SCORES_MSG)),
    Case(id="scores-np-float32", scores=_np(F32, np.float32)),
    Case(id="scores-np-float64", scores=_np(F32, np.float64)),
    Case(id="scores-np-float16", scores=_np(F32, np.float16)),
    Case(id="scores-np-int64", scores=_np([[1, 2]], np.int64), expected=(ValueError, SCORES_MSG)),
    Case(id="scores-np-bool", scores=_np([[True]], np.bool_), expected=(ValueError, SCORES_MSG)),
    Case(id="scores-np-str", scores=_np([["0.5"]], np.str_), expected=(ValueError, SCORES_MSG)),
    Case(id="scores-graph-float32", scores=_const(G_SCORES)),
    # --- constructor: classes ------------------------------------------------------------
    Case(id="classes-tf-string", classes=_tf(LABELS, tf.string)),
    Case(
        id="classes-tf-int32", classes=_tf([[0, 1]], tf.int32), expected=(ValueError, CLASSES_MSG)
    ),
    Case(
        id="classes-tf-int64", classes=_tf([[0, 1]], tf.int64), expected=(ValueError, CLASSES_MSG)
    ),
    Case(id="classes-tf-float", classes=_tf(F32, tf.float32), expected=(ValueError, CLASSES_MSG)),
    Case(id="classes-tf-bool", classes=_tf([[True]], tf.bool), expected=(ValueError, CLASSES_MSG)),
    Case(id="classes-list", classes=_const(LABELS), expected=(ValueError, CLASSES_MSG)),
    Case(id="classes-np-str", classes=_np(LABELS, np.str_)),
    Case(id="classes-np-bytes", classes=_np([[b"a", b"b"]], np.bytes_)),
    Case(id="classes-np-object-str", classes=_np(LABELS, object)),
    Case(id="classes-np-int", classes=_np([[0, 1]], np.int64), expected=(ValueError, CLASSES_MSG)),
    Case(id="classes-graph-string", classes=_const(G_CLASSES)),
    # --- constructor: neither / one / both, and the order of the checks ------------------
    Case(id="neither", expected=(ValueError, EMPTY_MSG)),
    Case(id="both-tf", scores=_tf(F32, tf.float32), classes=_tf(LABELS, tf.string)),
    Case(id="both-np", scores=_np(F32, np.float32), classes=_np(LABELS, np.str_)),
    Case(
        id="both-bad-scores-checked-first",
        scores=_tf([[1]], tf.int32),
        classes=_tf([[1]], tf.int32),
        expected=(ValueError, SCORES_MSG),
    ),
    Case(
        id="good-scores-bad-classes",
        scores=_tf(F32, tf.float32),
        classes=_np([[0, 1, 2]], np.int32),
        expected=(ValueError, CLASSES_MSG),
    ),
    Case(
        id="no-scores-bad-classes-not-empty-error",
        classes=_np([[0]], np.int32),
        expected=(ValueError, CLASSES_MSG),
    ),
    # --- as_signature_def: receivers -----------------------------------------------------
    Case(
        id="sig-both-graph",
        scores=_const(G_SCORES),
        classes=_const(G_CLASSES),
        receivers=lambda: {"examples": G_EXAMPLES},
    ),
    Case(
        id="sig-scores-only-graph",
        scores=_const(G_SCORES),
        receivers=lambda: {"examples": G_EXAMPLES},
    ),
    Case(
        id="sig-classes-only-graph",
        classes=_const(G_CLASSES),
        receivers=lambda: {"serialized": G_EXAMPLES},
    ),
    Case(
        id="sig-receiver-rank2-string-accepted",
        scores=_const(G_SCORES),
        receivers=lambda: {"examples": G_EXAMPLES_2D},
    ),
    Case(
        id="sig-both-eager-numpy-receiver",
        scores=_tf(F32, tf.float32),
        classes=_tf(LABELS, tf.string),
        receivers=lambda: {"examples": np.array([b"e1", b"e2"])},
    ),
    Case(
        id="sig-both-numpy-eager-receiver",
        scores=_np(F32, np.float32),
        classes=_np(LABELS, object),
        receivers=lambda: {"examples": tf.constant([b"e1", b"e2"])},
    ),
    Case(
        id="sig-zero-receivers",
        scores=_const(G_SCORES),
        receivers=lambda: {},
        expected=(ValueError, RECEIVER_MSG),
    ),
    Case(
        id="sig-two-receivers",
        scores=_const(G_SCORES),
        receivers=lambda: {"a": G_EXAMPLES, "b": G_EXAMPLES_2D},
        expected=(ValueError, RECEIVER_MSG),
    ),
    Case(
        id="sig-float-receiver",
        scores=_const(G_SCORES),
        receivers=lambda: {"examples": G_FLOATS},
        expected=(ValueError, RECEIVER_MSG),
    ),
    Case(
        id="sig-numpy-int-receiver",
        scores=_np(F32, np.float32),
        receivers=lambda: {"examples": np.array([1, 2])},
        expected=(ValueError, RECEIVER_MSG),
    ),
    Case(
        id="sig-bare-tensor-receiver",
        scores=_const(G_SCORES),
        receivers=lambda: G_EXAMPLES,
        expected=(TypeError, BARE_RECEIVER_MSG),
        tf_message_is_accidental=True,
    ),
    Case(
        id="sig-float64-scores-graph",
        scores=_const(G_SCORES64),
        receivers=lambda: {"examples": G_EXAMPLES},
        expected=(ValueError, FLOAT_SCORES_MSG),
    ),
    Case(
        id="sig-float16-scores-numpy",
        scores=_np(F32, np.float16),
        receivers=lambda: {"examples": G_EXAMPLES},
        expected=(ValueError, FLOAT_SCORES_MSG),
    ),
    Case(
        id="sig-bfloat16-scores-eager",
        scores=_tf(F32, tf.bfloat16),
        classes=_tf(LABELS, tf.string),
        receivers=lambda: {"examples": G_EXAMPLES},
        expected=(ValueError, FLOAT_SCORES_MSG),
    ),
]


def _prefix(message: str) -> str:
    """TF's message up to the part that prints the offending value."""
    for separator in ("; got ", "\n Received: "):
        if separator in message:
            return message.split(separator)[0]
    return message


def _outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "ok", call()
    except Exception as exc:  # we compare whatever either side raises
        return "error", exc


def _graph_stand_in(value: Any, name: str) -> Any:
    """What our class does for TF: eager tensors / numpy become same-shaped placeholders."""
    if value is None or tf.is_symbolic_tensor(value) or isinstance(value, list):
        return value
    if isinstance(value, np.ndarray):
        string = value.dtype.kind in "USO"
        return tf.compat.v1.placeholder(
            tf.string if string else tf.as_dtype(value.dtype), value.shape, name=name
        )
    return tf.compat.v1.placeholder(value.dtype, value.shape, name=name)


def _tf_constructor_input(value: Any) -> Any:
    """Numpy arrays stand for the tensors they convert to (our documented extension)."""
    return tf.convert_to_tensor(value) if isinstance(value, np.ndarray) else value


def test_parity_table_is_large_enough() -> None:
    assert len(CASES) >= 20
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_parity_with_tensorflow(case: Case) -> None:
    scores = case.scores() if case.scores else None
    classes = case.classes() if case.classes else None
    receivers = case.receivers() if case.receivers else None

    def ours() -> Any:
        output = ClassificationOutput(scores=scores, classes=classes)
        return output if receivers is None else output.as_signature_def(receivers)

    def theirs() -> Any:
        tf_scores = _tf_constructor_input(scores)
        tf_classes = _tf_constructor_input(classes)
        if receivers is None:
            return TFClassificationOutput(scores=tf_scores, classes=tf_classes)
        # TF's as_signature_def only works in graph mode: give it what our class
        # gives TF internally.
        with tf.Graph().as_default():
            tf_receivers = (
                {k: _graph_stand_in(v, "input_example_tensor") for k, v in receivers.items()}
                if isinstance(receivers, dict)
                else receivers
            )
            output = TFClassificationOutput(
                scores=_graph_stand_in(scores, "scores"),
                classes=_graph_stand_in(classes, "classes"),
            )
            return output.as_signature_def(tf_receivers)

    our_kind, our_result = _outcome(ours)
    tf_kind, tf_result = _outcome(theirs)

    # 1. Our behaviour is the one this table states.
    if case.expected is None:
        assert our_kind == "ok", our_result
    else:
        error, match = case.expected
        with pytest.raises(error, match=match):
            ours()

    # 2. ... and TF's class behaves the same way.
    assert our_kind == tf_kind, (our_result, tf_result)
    if our_kind == "error":
        assert type(our_result) is type(tf_result)
        if case.tf_message_is_accidental:
            assert str(tf_result).startswith("len is not well defined for a symbolic Tensor")
        else:
            assert _prefix(str(our_result)) == _prefix(str(tf_result))
    elif receivers is not None:
        assert our_result == tf_result  # SignatureDef protos compare field by field
        assert our_result.method_name == CLASSIFY_METHOD_NAME
        assert list(our_result.inputs) == ["inputs"]


def test_signature_def_for_a_served_model_shape() -> None:
    """[None] string input, [None, C] float32 scores and string classes, names kept."""
    sig = ClassificationOutput(scores=G_SCORES, classes=G_CLASSES).as_signature_def(
        {"examples": G_EXAMPLES}
    )
    assert sig.method_name == "tensorflow/serving/classify"
    assert sig.inputs["inputs"].name == "input_example_tensor:0"
    assert [d.size for d in sig.inputs["inputs"].tensor_shape.dim] == [-1]
    assert sig.inputs["inputs"].dtype == tf.string.as_datatype_enum
    assert sorted(sig.outputs) == ["classes", "scores"]
    assert sig.outputs["scores"].dtype == tf.float32.as_datatype_enum
    assert sig.outputs["classes"].dtype == tf.string.as_datatype_enum
    for key in ("classes", "scores"):
        assert [d.size for d in sig.outputs[key].tensor_shape.dim] == [-1, 3]
    assert sig.outputs["scores"].name == "scores:0"
    # TF's own class refuses to do this from eager code.
    with pytest.raises(RuntimeError, match="not supported in eager execution"):
        TFClassificationOutput(scores=G_SCORES).as_signature_def({"examples": G_EXAMPLES})


@pytest.mark.parametrize(
    "receivers",
    [
        np.array([b"x"]),
        tf.constant([b"x"]),
        [G_EXAMPLES],
        "examples",
    ],
    ids=["numpy", "eager", "list", "str"],
)
def test_receivers_must_be_a_dict(receivers: Any) -> None:
    output = ClassificationOutput(scores=np.zeros((1, 2), np.float32))
    with pytest.raises(TypeError, match=BARE_RECEIVER_MSG):
        output.as_signature_def(receivers)


def test_receiver_that_is_not_a_tensor_gets_tfs_receiver_message() -> None:
    """TF crashes with AttributeError on `.dtype` of a list; we say what TF means."""
    output = ClassificationOutput(scores=np.zeros((1, 2), np.float32))
    with pytest.raises(ValueError, match=RECEIVER_MSG):
        output.as_signature_def({"examples": ["serialized"]})
    with (
        pytest.raises(AttributeError, match="has no attribute 'dtype'"),
        tf.Graph().as_default(),
    ):
        TFClassificationOutput(scores=tf.compat.v1.placeholder(tf.float32)).as_signature_def(
            {"examples": ["serialized"]}
        )


@pytest.mark.parametrize(
    ("scores", "classes", "match"),
    [
        (np.array([[0.5]], dtype=object), None, SCORES_MSG),
        (np.array([[0.5]], dtype=np.longdouble), None, SCORES_MSG),
        (np.array([[0.5]], dtype=np.complex64), None, SCORES_MSG),
        (np.float32(0.5), None, SCORES_MSG),
        (None, np.array([["a", 1]], dtype=object), CLASSES_MSG),
        (None, np.str_("a"), CLASSES_MSG),
        (None, tf.sparse.from_dense(tf.constant([["a"]])), CLASSES_MSG),
        (tf.Variable([[0.5]]), None, SCORES_MSG),
    ],
    ids=[
        "object-floats",
        "longdouble",
        "complex",
        "numpy-scalar",
        "object-mixed",
        "numpy-str-scalar",
        "sparse",
        "variable",
    ],
)
def test_other_refusals(scores: Any, classes: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ClassificationOutput(scores=scores, classes=classes)


def test_error_tail_names_what_came() -> None:
    with pytest.raises(ValueError, match=r"; got a numpy array of dtype int64 and shape \(1, 2\)$"):
        ClassificationOutput(scores=np.array([[1, 2]], dtype=np.int64))
    with pytest.raises(ValueError, match=r"; got list \[\[0\.5\]\]$"):
        ClassificationOutput(scores=[[0.5]])


# --- read-only ----------------------------------------------------------------------------


def test_read_only_and_copied() -> None:
    scores = np.array([[0.2, 0.8]], dtype=np.float32)
    output = ClassificationOutput(scores=scores)
    scores[0, 0] = 9.0
    assert output.scores[0, 0] == np.float32(0.2)
    assert not output.scores.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        output.scores[0, 0] = 1.0
    with pytest.raises(AttributeError, match="ClassificationOutput is read-only; cannot set"):
        output.scores = None  # type: ignore[misc]
    with pytest.raises(AttributeError, match="ClassificationOutput is read-only; cannot set"):
        output._scores = None
    tensor = tf.constant([["a"]])
    assert ClassificationOutput(classes=tensor).classes is tensor


# --- interpretation and describe ----------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "interpretation", "phrases"),
    [
        (
            {"scores": np.zeros((1, 2), np.float32)},
            "scores_only",
            ["one score per class", "class-id order", 'label ""'],
        ),
        (
            {"classes": np.array([["a", "b"]])},
            "classes_only",
            ["top-k", "descending order", "score 0.0"],
        ),
        (
            {"scores": np.zeros((1, 2), np.float32), "classes": np.array([["a", "b"]])},
            "zipped",
            ["zipped pairs", "must not rely on the order"],
        ),
    ],
)
def test_interpretation_and_describe(
    kwargs: dict[str, Any], interpretation: str, phrases: list[str]
) -> None:
    output = ClassificationOutput(**kwargs)
    assert output.interpretation == interpretation
    for phrase in phrases:
        assert phrase in output.describe()


# --- to_rows: what TF Serving's classify returns ------------------------------------------


def test_rows_zipped_keep_tensor_order() -> None:
    output = ClassificationOutput(
        scores=np.array([[0.25, 0.5, 0.25], [0.75, 0.125, 0.125]], np.float32),
        classes=np.array([["c", "a", "b"], [b"x", b"y", b"z"]], dtype=object),
    )
    assert output.to_rows() == [
        [("c", 0.25), ("a", 0.5), ("b", 0.25)],
        [("x", 0.75), ("y", 0.125), ("z", 0.125)],
    ]


def test_rows_scores_only_and_classes_only() -> None:
    scores = ClassificationOutput(scores=np.array([[0.5, 0.25]], np.float32))
    assert scores.to_rows() == [[("", 0.5), ("", 0.25)]]
    assert scores.to_rows(label_vocab=["ham", "spam"]) == [[("ham", 0.5), ("spam", 0.25)]]
    classes = ClassificationOutput(classes=np.array([["spam", "ham"]]))
    assert classes.to_rows() == [[("spam", 0.0), ("ham", 0.0)]]


def test_rows_from_eager_tensors_and_float32_values() -> None:
    output = ClassificationOutput(
        scores=tf.constant([[0.1, 0.9]]), classes=tf.constant([["no", "yes"]])
    )
    assert output.to_rows() == [[("no", float(np.float32(0.1))), ("yes", float(np.float32(0.9)))]]


@pytest.mark.parametrize(
    ("kwargs", "rows_kwargs", "error", "match"),
    [
        (
            {"scores": np.array([0.5, 0.5], np.float32)},
            {},
            ValueError,
            r"`scores` must have rank 2, \[batch_size, num_classes\], as TF Serving requires; "
            r"got shape \(2,\)",
        ),
        (
            {"classes": np.array([[["a"]]])},
            {},
            ValueError,
            r"`classes` must have rank 2, .*; got shape \(1, 1, 1\)",
        ),
        (
            {"scores": np.array([[0.5]], np.float64)},
            {},
            ValueError,
            r"`scores` must be float32: TF Serving expects a scores Tensor of DT_FLOAT; "
            r"got float64",
        ),
        (
            {"scores": np.zeros((2, 2), np.float32), "classes": np.array([["a", "b"]])},
            {},
            ValueError,
            r"`classes` and `scores` must have the same batch size; got 1 vs\. 2",
        ),
        (
            {"scores": np.zeros((1, 3), np.float32), "classes": np.array([["a", "b"]])},
            {},
            ValueError,
            r"`classes` and `scores` must match in dim_size\(1\), as TF Serving requires; "
            r"got 2 vs\. 3",
        ),
        (
            {"scores": np.zeros((1, 2), np.float32), "classes": np.array([["a", "b"]])},
            {"label_vocab": ["a", "b"]},
            ValueError,
            r"`label_vocab` names classes by id and only applies when `classes` is absent",
        ),
        (
            {"scores": np.zeros((1, 2), np.float32)},
            {"label_vocab": ["a", "b", "c"]},
            ValueError,
            r"`label_vocab` must hold one name per class \(2\); got 3",
        ),
        (
            {"scores": np.zeros((1, 2), np.float32)},
            {"label_vocab": "ab"},
            TypeError,
            r"`label_vocab` must be a sequence of str; got str 'ab'",
        ),
        (
            {"scores": np.zeros((1, 2), np.float32)},
            {"label_vocab": [0, 1]},
            TypeError,
            r"`label_vocab` must be a sequence of str; got list \[0, 1\]",
        ),
        (
            {"scores": G_SCORES},
            {},
            TypeError,
            r"`scores` is a symbolic \(graph\) tensor, scores:0: it has no values to read",
        ),
    ],
    ids=[
        "scores-rank1",
        "classes-rank3",
        "scores-float64",
        "batch-mismatch",
        "width-mismatch",
        "vocab-with-classes",
        "vocab-length",
        "vocab-str",
        "vocab-ints",
        "symbolic",
    ],
)
def test_rows_errors(
    kwargs: dict[str, Any], rows_kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        ClassificationOutput(**kwargs).to_rows(**rows_kwargs)


@settings(max_examples=50, deadline=None)
@given(
    scores=hnp.arrays(
        np.float32,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=6),
        elements=st.floats(0, 1, width=32),
    ),
)
def test_rows_are_the_tensor_cells_in_order(scores: np.ndarray) -> None:
    labels = np.array([[f"c{c}" for c in range(scores.shape[1])]] * scores.shape[0])
    rows = ClassificationOutput(scores=scores, classes=labels).to_rows()
    assert [[score for _, score in row] for row in rows] == scores.astype(float).tolist()
    assert [[label for label, _ in row] for row in rows] == labels.tolist()


# --- from_values: plain Python values converted as tf.constant converts them -------------

PYTHON_VALUES = [
    pytest.param([[0.1, 0.9]], id="floats"),
    pytest.param([[1, 2]], id="ints"),
    pytest.param([[1, 2.5]], id="ints-and-floats"),
    pytest.param([2**40], id="big-int"),
    pytest.param([[True, False]], id="bools"),
    pytest.param([["a", "b"]], id="str"),
    pytest.param([[b"a", "b"]], id="bytes-and-str"),
    pytest.param([], id="empty"),
    pytest.param(0.5, id="scalar"),
    pytest.param([["a", 1]], id="mixed"),
    pytest.param([[True, 1]], id="bool-and-int"),
    pytest.param([[1.0], [1.0, 2.0]], id="ragged"),
    pytest.param([None], id="none-leaf"),
]


@pytest.mark.parametrize("value", PYTHON_VALUES)
def test_python_values_convert_like_tf_constant(value: Any) -> None:
    """Same dtype, shape and values as tf.constant, or TF's ValueError text + the argument."""
    tf_kind, tf_result = _outcome(lambda: tf.constant(value))
    if tf_kind == "ok":
        ours = _python_to_array(value, "scores")
        assert ours.shape == tuple(tf_result.shape)
        if tf_result.dtype == tf.string:
            assert [_bytes(x) for x in ours.flat] == list(tf_result.numpy().flat)
        else:
            assert ours.dtype == tf_result.dtype.as_numpy_dtype
            np.testing.assert_array_equal(ours, tf_result.numpy())
    else:
        assert isinstance(tf_result, ValueError)
        tf_message = str(tf_result).removesuffix(".")
        with pytest.raises(ValueError, match=re.escape(tf_message) + r" \(`scores`\)\.$"):
            _python_to_array(value, "scores")


def _bytes(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, EMPTY_MSG),
        ({"classes": [[0, 1]]}, CLASSES_MSG + r"a numpy array of dtype int32"),
        ({"scores": [[1, 0]]}, SCORES_MSG + r"a numpy array of dtype int32"),
        ({"scores": [["0.5"]]}, SCORES_MSG),
        ({"scores": [[0.5, None]]}, r"^Attempt to convert a value \(None\) with an unsupported "),
        ({"classes": [["a"], ["b", "c"]]}, r"^Can't convert non-rectangular Python sequence"),
        ({"classes": [["a", 1]]}, r"^Can't convert Python sequence with mixed types to Tensor"),
    ],
    ids=["neither", "int-class-ids", "int-scores", "string-scores", "none", "ragged", "mixed"],
)
def test_from_values_errors_are_tfs(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ClassificationOutput.from_values(**kwargs)


def test_from_values_keeps_arrays_and_tensors() -> None:
    scores = np.array([[0.5, 0.5]], np.float64)
    output = ClassificationOutput.from_values(scores=scores, classes=tf.constant([["a", "b"]]))
    assert output.scores.dtype == np.float64
    assert isinstance(output.classes, tf.Tensor)


# --- no TensorFlow for numpy values -------------------------------------------------------


def test_numpy_use_does_not_import_tensorflow() -> None:
    code = textwrap.dedent(
        """
        import sys
        from cls_core.scoring.export_output import ClassificationOutput
        out = ClassificationOutput.from_values(scores=[[0.2, 0.8]], classes=[["a", "b"]])
        assert out.to_rows() and out.describe() and out.interpretation == "zipped"
        try:
            ClassificationOutput.from_values(classes=[[0, 1]])
        except ValueError as exc:
            assert str(exc).startswith("Classification classes must be a string Tensor")
        else:
            raise AssertionError("integer class ids accepted")
        assert "tensorflow" not in sys.modules, "tensorflow was imported"
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
