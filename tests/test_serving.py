"""cls_core.modelio.serving: SignatureDefs as saved_model_cli shows them, the classify linter, and the
TF Serving classify round trip, on a tiny SavedModel built here (and on shipped models)."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import text_format
from tensorflow.core.protobuf import meta_graph_pb2
from tensorflow_serving.apis import classification_pb2

from cls_core.modelio.serving import (
    REST_CLASSIFY_RESPONSE_KEY,
    LintResult,
    SignatureInfo,
    TensorSpecInfo,
    classify_request_proto,
    cli_text,
    curl_command,
    expected_classify_signature,
    grpc_request_text,
    grpc_response_text,
    lint_classify_signature,
    proto_text,
    read_signature_defs,
    rest_classify_request,
    rest_classify_response,
    rest_classify_url,
    serialize_text_example,
    signature_cli_text,
)
from cls_core.paths import PROJECT_ROOT
from cls_core.scoring.export_output import ClassificationOutput

LABELS = ["joy", "fear", "love"]


class _TinyTextModel(tf.Module):
    """Hashes the lower-cased text into one of 8 rows of logits: enough to serve."""

    def __init__(self) -> None:
        super().__init__()
        self.table = tf.Variable(tf.random.stateless_normal([8, len(LABELS)], seed=[1, 2]))

    def _logits(self, texts: tf.Tensor) -> tf.Tensor:
        return tf.gather(self.table, tf.strings.to_hash_bucket_fast(tf.strings.lower(texts), 8))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def serve(self, text: tf.Tensor) -> dict[str, tf.Tensor]:
        logits = self._logits(text)
        return {"logits": logits, "scores": tf.nn.softmax(logits)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def classify(self, inputs: tf.Tensor) -> dict[str, tf.Tensor]:
        features = tf.io.parse_example(
            inputs, {"text": tf.io.FixedLenFeature([], tf.string, default_value="")}
        )
        scores = tf.nn.softmax(self._logits(features["text"]))
        classes = tf.tile(tf.constant([LABELS]), [tf.shape(inputs)[0], 1])
        return {"classes": classes, "scores": scores}


@pytest.fixture(scope="module")
def saved_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The NOTES.md recipe: two signatures, then the method name rewritten in place."""
    directory = tmp_path_factory.mktemp("tiny") / "model"
    module = _TinyTextModel()
    tf.saved_model.save(
        module,
        str(directory),
        signatures={"serving_default": module.serve, "classification": module.classify},
    )
    updater = tf.compat.v1.saved_model.signature_def_utils.MethodNameUpdater(str(directory))
    updater.replace_method_name(
        signature_key="classification",
        method_name=tf.saved_model.CLASSIFY_METHOD_NAME,
        tags="serve",
    )
    updater.save()
    return directory


@pytest.fixture(scope="module")
def loaded(saved_model_dir: Path) -> Any:
    return tf.saved_model.load(str(saved_model_dir))


def _classify(loaded: Any, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    serialized = tf.constant([serialize_text_example(text) for text in texts])
    outputs = loaded.signatures["classification"](inputs=serialized)
    return outputs["classes"].numpy(), outputs["scores"].numpy()


# --- reading SignatureDefs ---------------------------------------------------------------


def test_read_signature_defs(saved_model_dir: Path) -> None:
    signatures = read_signature_defs(saved_model_dir)
    assert list(signatures) == ["__saved_model_init_op", "classification", "serving_default"]
    classification = signatures["classification"]
    assert classification == SignatureInfo(
        key="classification",
        method_name="tensorflow/serving/classify",
        inputs=(
            TensorSpecInfo(
                key="inputs", dtype="DT_STRING", shape=(-1,), name="classification_inputs:0"
            ),
        ),
        outputs=(
            TensorSpecInfo(
                key="classes", dtype="DT_STRING", shape=(-1, 3), name="StatefulPartitionedCall:0"
            ),
            TensorSpecInfo(
                key="scores", dtype="DT_FLOAT", shape=(-1, 3), name="StatefulPartitionedCall:1"
            ),
        ),
    )
    assert classification.output("scores") is not None
    assert classification.output("logits") is None
    serving_default = signatures["serving_default"]
    assert serving_default.method_name == "tensorflow/serving/predict"
    assert [spec.key for spec in serving_default.outputs] == ["logits", "scores"]
    init_op = signatures["__saved_model_init_op"].outputs[0]
    assert (init_op.dtype, init_op.shape, init_op.rank, init_op.shape_text) == (
        "DT_INVALID",
        None,
        None,
        "unknown_rank",
    )


def test_read_signature_defs_errors(saved_model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(
        FileNotFoundError, match=r"`saved_model_dir` must be a SavedModel .* has none"
    ):
        read_signature_defs(tmp_path)
    (tmp_path / "saved_model.pb").write_bytes(b"\xff\xff not a proto")
    with pytest.raises(ValueError, match=r"is not a valid SavedModel proto"):
        read_signature_defs(tmp_path)
    with pytest.raises(
        ValueError,
        match=r"`tags` must name a MetaGraph .*; got 'train', available tag sets: \[\['serve'\]\]",
    ):
        read_signature_defs(saved_model_dir, tags="train")


def _real_cli_signature_text(saved_model_dir: Path) -> str:
    cli = Path(sys.executable).parent / "saved_model_cli"
    if not cli.exists():
        found = shutil.which("saved_model_cli")
        if found is None:
            pytest.skip("saved_model_cli is not installed next to this Python")
        cli = Path(found)
    result = subprocess.run(
        [str(cli), "show", "--dir", str(saved_model_dir), "--all"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    # Drop what cli_text leaves out: the op list (an unordered set) and the concrete
    # functions (which need loading the model).
    text = result.stdout.split("\nConcrete Functions:")[0]
    return "".join(
        line
        for line in text.splitlines(keepends=True)
        if not line.startswith("The MetaGraph with tag set")
    )


@pytest.mark.slow
def test_cli_text_matches_saved_model_cli(saved_model_dir: Path) -> None:
    ours = cli_text(saved_model_dir)
    assert ours == _real_cli_signature_text(saved_model_dir)
    assert "Method name is: tensorflow/serving/classify\n" in ours
    assert "        shape: (-1)\n" in ours  # one dimension prints without a comma


def test_signature_cli_text_block() -> None:
    info = SignatureInfo(
        key="k",
        method_name="m",
        inputs=(TensorSpecInfo(key="x", dtype="DT_STRING", shape=(), name="x:0"),),
        outputs=(),
    )
    assert signature_cli_text(info, indent=0) == (
        "The given SavedModel SignatureDef contains the following input(s):\n"
        "  inputs['x'] tensor_info:\n"
        "      dtype: DT_STRING\n"
        "      shape: ()\n"
        "      name: x:0\n"
        "The given SavedModel SignatureDef contains the following output(s):\n"
        "Method name is: m\n"
    )


def test_proto_text_round_trips(saved_model_dir: Path) -> None:
    info = read_signature_defs(saved_model_dir)["classification"]
    text = proto_text(info)
    assert 'method_name: "tensorflow/serving/classify"' in text
    assert proto_text(info.signature_def) == text
    parsed = text_format.Parse(text, meta_graph_pb2.SignatureDef())
    assert parsed == info.signature_def
    with pytest.raises(
        TypeError, match=r"`signature_def` must be a SignatureDef proto .*; got str"
    ):
        proto_text("method_name: 'x'")


# --- expected signature and linter -------------------------------------------------------


def test_expected_classify_signature() -> None:
    info = expected_classify_signature(LABELS)
    assert info.key == "classification"
    assert info.method_name == "tensorflow/serving/classify"
    assert [(s.key, s.dtype, s.shape) for s in info.inputs] == [("inputs", "DT_STRING", (-1,))]
    assert [(s.key, s.dtype, s.shape) for s in info.outputs] == [
        ("classes", "DT_STRING", (-1, 3)),
        ("scores", "DT_FLOAT", (-1, 3)),
    ]
    # It is exactly what our ClassificationOutput (hence TF's) builds.
    with tf.Graph().as_default():
        examples = tf.compat.v1.placeholder(tf.string, [None], name="input_example_tensor")
        scores = tf.compat.v1.placeholder(tf.float32, [None, 3], name="scores")
        classes = tf.compat.v1.placeholder(tf.string, [None, 3], name="classes")
        reference = tf.compat.v1.saved_model.classification_signature_def(examples, classes, scores)
    assert info.signature_def == reference


def test_expected_matches_stored_except_names(saved_model_dir: Path) -> None:
    stored = read_signature_defs(saved_model_dir)["classification"]
    expected = expected_classify_signature(LABELS)

    def shapes(info: SignatureInfo) -> list[tuple[str, str, Any]]:
        return [(s.key, s.dtype, s.shape) for s in (*info.inputs, *info.outputs)]

    assert shapes(stored) == shapes(expected)
    assert stored.method_name == expected.method_name


@pytest.mark.parametrize(
    ("labels", "error", "match"),
    [
        ("abc", TypeError, r"`labels` must be a sequence of str; got 'abc'"),
        ([0, 1], TypeError, r"`labels` must be a sequence of str; got \[0, 1\]"),
        ([], ValueError, r"`labels` must hold at least one label; got none"),
        (["a", "a", "b"], ValueError, r"`labels` must be unique; got duplicates \['a'\]"),
    ],
)
def test_labels_validation(labels: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        expected_classify_signature(labels)
    with pytest.raises(error, match=match):
        lint_classify_signature(expected_classify_signature(LABELS), labels=labels)


def _verdicts(results: list[LintResult]) -> list[bool | None]:
    return [result.passed for result in results]


def test_lint_passes_the_fixture_with_observed_classes(saved_model_dir: Path, loaded: Any) -> None:
    stored = read_signature_defs(saved_model_dir)["classification"]
    classes, _ = _classify(loaded, ["I am so happy", "scary night"])
    results = lint_classify_signature(stored, labels=LABELS, observed_classes=classes)
    assert len(results) == 10
    assert _verdicts(results) == [True] * 10, results
    # Without running the model the last rule is "not checked", never a pass.
    unobserved = lint_classify_signature(stored, labels=LABELS)
    assert _verdicts(unobserved) == [True] * 9 + [None]
    assert "Not checked" in unobserved[-1].explanation
    # The expected signature passes the static rules too.
    assert _verdicts(
        lint_classify_signature(expected_classify_signature(LABELS), labels=LABELS)
    ) == [True] * 9 + [None]


def test_lint_the_predict_signature(saved_model_dir: Path) -> None:
    predict = read_signature_defs(saved_model_dir)["serving_default"]
    results = lint_classify_signature(predict, labels=LABELS)
    assert _verdicts(results) == [False, False, False, False, False, True, True, False, True, None]
    assert "tensorflow/serving/predict" in results[0].explanation
    assert "MethodNameUpdater" in results[0].explanation
    assert "['text']" in results[1].explanation


SIGNATURE = """
method_name: "tensorflow/serving/classify"
inputs {{ key: "{input_key}" value {{ name: "in:0" dtype: {input_dtype} tensor_shape {{ dim {{ size: -1 }} }} }} }}
outputs {{ key: "classes" value {{ name: "c:0" dtype: {classes_dtype} {classes_shape} }} }}
outputs {{ key: "scores" value {{ name: "s:0" dtype: {scores_dtype} {scores_shape} }} }}
"""
RANK2 = "tensor_shape { dim { size: -1 } dim { size: 3 } }"


def _signature(**overrides: str) -> Any:
    fields = {
        "input_key": "inputs",
        "input_dtype": "DT_STRING",
        "classes_dtype": "DT_STRING",
        "scores_dtype": "DT_FLOAT",
        "classes_shape": RANK2,
        "scores_shape": RANK2,
    }
    fields.update(overrides)
    return text_format.Parse(SIGNATURE.format(**fields), meta_graph_pb2.SignatureDef())


def _edited(
    *,
    method_name: str | None = None,
    add_input: str | None = None,
    add_output: str | None = None,
    drop_outputs: tuple[str, ...] = (),
) -> Any:
    """The good signature with one thing broken."""
    proto = _signature()
    if method_name is not None:
        proto.method_name = method_name
    if add_input is not None:
        proto.inputs[add_input].dtype = tf.string.as_datatype_enum
    if add_output is not None:
        proto.outputs[add_output].dtype = tf.float32.as_datatype_enum
    for key in drop_outputs:
        del proto.outputs[key]
    return proto


@pytest.mark.parametrize(
    ("signature", "rule_index", "passed", "match"),
    [
        (
            _edited(method_name="tensorflow/serving/predict"),
            0,
            False,
            r"The method name is 'tensorflow/serving/predict': TF Serving's Classify API refuses",
        ),
        (_signature(input_key="examples"), 1, False, r"The inputs are \['examples'\]"),
        (
            _edited(add_input="more"),
            1,
            False,
            r"The inputs are \['inputs', 'more'\]: TF Serving's classify needs exactly one input",
        ),
        (
            _signature(input_dtype="DT_FLOAT"),
            2,
            False,
            r"The input is DT_FLOAT; .*tf\.io\.parse_example",
        ),
        (
            _edited(drop_outputs=("classes",)),
            3,
            False,
            r"There is no `classes` output: TF Serving returns the label \"\" for every score",
        ),
        (
            _edited(drop_outputs=("scores",)),
            3,
            False,
            r"There is no `scores` output: TF Serving returns the score 0\.0",
        ),
        (
            _edited(add_output="logits"),
            3,
            False,
            r"The outputs are \['classes', 'logits', 'scores'\]: .*one or two outputs",
        ),
        (
            _edited(drop_outputs=("classes", "scores")),
            3,
            False,
            r"TF Serving finds neither `classes` nor `scores`",
        ),
        (
            _signature(classes_dtype="DT_INT64"),
            4,
            False,
            r"`classes` is DT_INT64; TF Serving refuses anything but DT_STRING .*not integer class ids",
        ),
        (
            _edited(drop_outputs=("classes",)),
            4,
            False,
            r"There is no `classes` output\.",
        ),
        (
            _signature(scores_dtype="DT_DOUBLE"),
            5,
            False,
            r"`scores` is DT_DOUBLE; TF Serving refuses anything but DT_FLOAT .*float32",
        ),
        (
            _signature(scores_shape="tensor_shape { dim { size: -1 } }"),
            6,
            False,
            r"`scores` has shape \(-1\): TF Serving refuses it",
        ),
        (
            _signature(classes_shape="tensor_shape { unknown_rank: true }"),
            6,
            None,
            r"`classes` has an unknown rank: TF Serving checks it only at request time",
        ),
        (
            _signature(scores_shape="tensor_shape { dim { size: -1 } dim { size: 4 } }"),
            7,
            False,
            r"`classes` is 3 wide and `scores` 4: TF Serving refuses the response",
        ),
        (
            _signature(scores_shape="tensor_shape { dim { size: -1 } dim { size: -1 } }"),
            7,
            None,
            r"A width is unknown in the signature \(classes 3, scores -1\)",
        ),
        (
            _signature(
                classes_shape="tensor_shape { dim { size: -1 } dim { size: 4 } }",
                scores_shape="tensor_shape { dim { size: -1 } dim { size: 4 } }",
            ),
            8,
            False,
            r"The signature is 4 wide but the model card lists 3 labels",
        ),
        (
            _signature(
                classes_shape="tensor_shape { dim { size: -1 } dim { size: -1 } }",
                scores_shape="tensor_shape { dim { size: -1 } dim { size: -1 } }",
            ),
            8,
            None,
            r"The width is unknown in the signature \(-1\)",
        ),
    ],
    ids=[
        "predict-method",
        "input-key",
        "two-inputs",
        "float-input",
        "no-classes",
        "no-scores",
        "extra-output",
        "no-outputs",
        "int-classes",
        "classes-missing-dtype",
        "double-scores",
        "rank1-scores",
        "unknown-rank",
        "width-mismatch",
        "unknown-width",
        "width-vs-labels",
        "width-vs-labels-unknown",
    ],
)
def test_lint_rules(signature: Any, rule_index: int, passed: bool | None, match: str) -> None:
    results = lint_classify_signature(signature, labels=LABELS)
    result = results[rule_index]
    assert result.passed is passed
    assert re.search(match, result.explanation), result.explanation


@pytest.mark.parametrize(
    ("observed", "passed", "match"),
    [
        ([[b"joy", b"fear", b"love"]], True, r"Every example returns the card's 3 labels"),
        (["joy", "fear", "love"], True, r"Every example returns the card's 3 labels"),
        (
            [["joy", "fear", "love"], ["joy", "love", "fear"]],
            False,
            r"Example 1, column 1: the model says 'love' where the card says 'fear'",
        ),
        (
            [["0", "1", "2"]],
            False,
            r"Example 0, column 0: the model says '0' where the card says 'joy'",
        ),
        ([["joy", "fear"]], False, r"The model returns 2 classes per example; the card lists 3"),
    ],
    ids=["bytes", "one-row", "swapped", "class-ids", "narrow"],
)
def test_lint_observed_classes(observed: Any, passed: bool, match: str) -> None:
    result = lint_classify_signature(_signature(), labels=LABELS, observed_classes=observed)[-1]
    assert result.passed is passed
    assert result.rule == "the classes the model returns equal the card's labels"
    assert re.search(match, result.explanation), result.explanation


def test_lint_observed_classes_shape_error() -> None:
    with pytest.raises(
        ValueError,
        match=r"`observed_classes` must have shape \(n_examples, C\) or \(C,\); got shape \(1, 1, 3\)",
    ):
        lint_classify_signature(_signature(), labels=LABELS, observed_classes=[[LABELS]])


# --- TF Serving round trip ---------------------------------------------------------------


def test_serialized_example_round_trip(loaded: Any) -> None:
    text = 'Café: it\'s "great" 🎉'
    serialized = serialize_text_example(text)
    example = tf.train.Example.FromString(serialized)
    assert list(example.features.feature) == ["text"]
    assert example.features.feature["text"].bytes_list.value == [text.encode()]
    # The classify signature, fed the serialized Example, scores exactly as the raw-text
    # predict signature does.
    _, scores = _classify(loaded, [text, "other"])
    raw = loaded.signatures["serving_default"](text=tf.constant([text, "other"]))["scores"]
    np.testing.assert_array_equal(scores, raw.numpy())
    with pytest.raises(TypeError, match=r"`text` must be a str; got bytes"):
        serialize_text_example(b"abc")  # type: ignore[arg-type]


def test_rest_request_and_url() -> None:
    body = rest_classify_request("banking77", ["I lost my card", "hi"])
    assert body == {
        "signature_name": "classification",
        "examples": [{"text": "I lost my card"}, {"text": "hi"}],
    }
    assert rest_classify_request("m", ["x"], signature_name="other")["signature_name"] == "other"
    assert rest_classify_url("banking77") == "http://localhost:8501/v1/models/banking77:classify"
    assert (
        rest_classify_url("../../etc/passwd", host="127.0.0.1", port=9000)
        == "http://127.0.0.1:9000/v1/models/..%2F..%2Fetc%2Fpasswd:classify"
    )


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda: rest_classify_request("m", "a text"),
            TypeError,
            r"`texts` must be a sequence of str",
        ),
        (lambda: rest_classify_request("m", [1]), TypeError, r"`texts` must be a sequence of str"),
        (
            lambda: rest_classify_request("m", []),
            ValueError,
            r"`texts` must hold at least one text",
        ),
        (
            lambda: rest_classify_request(" ", ["x"]),
            ValueError,
            r"`model_name` must be a non-empty",
        ),
        (
            lambda: rest_classify_request(3, ["x"]),
            TypeError,
            r"`model_name` must be a str; got int",
        ),
        (
            lambda: rest_classify_request("m", ["x"], signature_name=""),
            ValueError,
            r"`signature_name` must be a non-empty str; got ''",
        ),
        (
            lambda: rest_classify_url("m", port=0),
            ValueError,
            r"`port` must be an int in 1\.\.65535; got 0",
        ),
        (lambda: rest_classify_url("m", port="80"), ValueError, r"`port` must be an int"),
        (
            lambda: rest_classify_url("m", host="evil.com/x?"),
            ValueError,
            r"`host` must be a bare host name or address; got 'evil.com/x\?'",
        ),
        (
            lambda: curl_command("m", ["x"]),
            TypeError,
            r"`request_json` must be a dict or a str; got list",
        ),
        (
            lambda: grpc_response_text(None, [[0.5]], model_name="m", version=-1),
            ValueError,
            r"`version` must be a non-negative int; got -1",
        ),
        (
            lambda: rest_classify_response([["a", "b"]], np.zeros((1, 3), np.float32)),
            ValueError,
            r"`classes` and `scores` must match in dim_size\(1\)",
        ),
        (
            lambda: rest_classify_response([[0, 1]], None),
            ValueError,
            r"Classification classes must be a string Tensor",
        ),
        (
            lambda: rest_classify_response(None, np.zeros((1, 3), np.float64)),
            ValueError,
            r"`scores` must be float32",
        ),
    ],
    ids=[
        "texts-str",
        "texts-ints",
        "texts-empty",
        "model-blank",
        "model-int",
        "signature-empty",
        "port-0",
        "port-str",
        "host-path",
        "curl-body-list",
        "version-negative",
        "width-mismatch",
        "int-classes",
        "float64-scores",
    ],
)
def test_round_trip_errors(call: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        call()


def test_rest_response_from_running_the_model(loaded: Any) -> None:
    classes, scores = _classify(loaded, ["I am so happy", "scary night"])
    response = rest_classify_response(classes, scores)
    assert list(response) == [REST_CLASSIFY_RESPONSE_KEY] == ["results"]
    rows = response["results"]
    assert len(rows) == 2
    for i, row in enumerate(rows):
        assert [label for label, _ in row] == LABELS  # tensor order, not sorted by score
        np.testing.assert_allclose([score for _, score in row], scores[i], rtol=1e-6)
        # Each written score reads back as exactly the float32 the model produced.
        assert [np.float32(score) for _, score in row] == list(scores[i])
    # The same pairs ClassificationOutput.to_rows gives, up to TF Serving's float writing.
    expected = ClassificationOutput(scores=scores, classes=classes).to_rows()
    assert [[label for label, _ in row] for row in expected] == [
        [label for label, _ in row] for row in rows
    ]


def test_rest_response_float_writing_and_missing_outputs() -> None:
    third = np.float32(1) / np.float32(3)
    response = rest_classify_response([["a", "b", "c"]], np.array([[0.1, third, 1e-5]], np.float32))
    assert json.dumps(response) == '{"results": [[["a", 0.1], ["b", 0.333333343], ["c", 1e-05]]]}'
    assert rest_classify_response(None, np.array([[0.5, 0.25]], np.float32)) == {
        "results": [[["", 0.5], ["", 0.25]]]
    }
    assert rest_classify_response([["x", "y"]], None) == {"results": [[["x", 0.0], ["y", 0.0]]]}
    nan = rest_classify_response(None, np.array([[np.nan, np.inf]], np.float32))
    assert json.dumps(nan) == '{"results": [[["", NaN], ["", Infinity]]]}'


def test_grpc_request_text() -> None:
    texts = ["I lost my card", 'naïve "quote"']
    text = grpc_request_text("banking77", texts)
    parsed = text_format.Parse(text, classification_pb2.ClassificationRequest())
    assert parsed == classify_request_proto("banking77", texts)
    assert parsed.model_spec.name == "banking77"
    assert parsed.model_spec.signature_name == "classification"
    examples = parsed.input.example_list.examples
    assert [e.SerializeToString() for e in examples] == [serialize_text_example(t) for t in texts]
    assert 'signature_name: "classification"' in text
    assert "example_list {" in text


def test_grpc_response_text(loaded: Any) -> None:
    classes, scores = _classify(loaded, ["hello"])
    text = grpc_response_text(classes, scores, model_name="tiny", version=3)
    parsed = text_format.Parse(text, classification_pb2.ClassificationResponse())
    assert parsed.model_spec.name == "tiny"
    assert parsed.model_spec.signature_name == "classification"
    assert parsed.model_spec.version.value == 3
    (classifications,) = parsed.result.classifications
    assert [(c.label, c.score) for c in classifications.classes] == [
        (label, float(score)) for label, score in zip(LABELS, scores[0], strict=True)
    ]
    no_version = text_format.Parse(
        grpc_response_text(None, scores, model_name="tiny"),
        classification_pb2.ClassificationResponse(),
    )
    assert not no_version.model_spec.HasField("version")
    assert [c.label for c in no_version.result.classifications[0].classes] == ["", "", ""]


HOSTILE = [
    "it's",
    "$(rm -rf ~) `id` $HOME",
    'a "quoted" \\ backslash',
    "line\nbreak; echo pwned &",
    "<img src=x onerror=alert(1)>",
    "émoji 🎉",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_curl_command_is_shell_safe(text: str) -> None:
    body = rest_classify_request("banking77", [text])
    command = curl_command("banking77", body)
    argv = shlex.split(command)
    assert argv[:4] == ["curl", "-X", "POST", "http://localhost:8501/v1/models/banking77:classify"]
    assert argv[4:6] == ["-H", "Content-Type: application/json"]
    assert argv[6] == "-d"
    assert json.loads(argv[7]) == body
    assert len(argv) == 8
    # The shell itself gets the same bytes back (no expansion, no second command).
    echoed = subprocess.run(
        ["sh", "-c", f"printf %s {shlex.quote(argv[7])}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(echoed) == body


def test_curl_command_with_string_body_and_port() -> None:
    command = curl_command("m", '{"examples": []}', host="127.0.0.1", port=9000)
    assert shlex.split(command)[3] == "http://127.0.0.1:9000/v1/models/m:classify"
    assert shlex.split(command)[-1] == '{"examples": []}'


# --- the shipped models, when they exist -------------------------------------------------

SHIPPED = sorted(p.parent for p in (PROJECT_ROOT / "models").glob("*/saved_model.pb"))


@pytest.mark.slow
@pytest.mark.skipif(not SHIPPED, reason="no shipped model under models/*/saved_model.pb yet")
@pytest.mark.parametrize("model_dir", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_model_passes_the_linter(model_dir: Path) -> None:
    card = json.loads((model_dir / "model_card.json").read_text())
    labels = card["labels"]
    signatures = read_signature_defs(model_dir)
    assert {"serving_default", "classification"} <= set(signatures)
    model = tf.saved_model.load(str(model_dir))
    classes = model.signatures["classification"](
        inputs=tf.constant([serialize_text_example("hello there")])
    )["classes"].numpy()
    results = lint_classify_signature(
        signatures["classification"], labels=labels, observed_classes=classes
    )
    assert [r.passed for r in results] == [True] * len(results), [
        r for r in results if not r.passed
    ]
    assert "tensorflow/serving/classify" in cli_text(model_dir)


def test_rest_helpers_do_not_import_tensorflow() -> None:
    """The TF-free lesson page may build REST bodies and responses from numpy values."""
    code = textwrap.dedent(
        """
        import sys
        import numpy as np
        from cls_core.modelio.serving import (
            curl_command, rest_classify_request, rest_classify_response, rest_classify_url,
        )
        body = rest_classify_request("m", ["hi"])
        assert curl_command("m", body).startswith("curl -X POST")
        assert rest_classify_url("m").endswith("/v1/models/m:classify")
        response = rest_classify_response([["a", "b"]], np.array([[0.1, 0.9]], np.float32))
        assert response == {"results": [[["a", 0.1], ["b", 0.9]]]}, response
        assert "tensorflow" not in sys.modules, "tensorflow was imported"
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
