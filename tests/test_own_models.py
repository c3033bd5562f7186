"""Own models (issue 10): any text-classifier SavedModel, inferred, adapted, carded, listed.

The five SavedModel kinds are built once per session (``own_model_root`` in conftest,
``tests/_own_models.py``); tests that write cards or files work on copies.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cls_core.cli import main
from cls_core.errors import ModelLoadError
from cls_core.modelio.adapters import PROB_CLIP, AdapterSpec, logits_and_scores
from cls_core.modelio.inspect import (
    PROBE_TEXTS,
    InferenceError,
    classify_readiness,
    infer_model,
    read_labels_file,
)
from cls_core.modelio.registry import CARD_FILENAME, ModelCard, list_models, load_model
from cls_core.modelio.serving import read_signature_defs
from cls_core.scoring.activations import softmax
from tests._own_models import (
    ESTIMATOR_FEATURE,
    ESTIMATOR_LABELS,
    KERAS_LABELS,
    MODULE_LABELS,
    TONE_WIDTH,
    TOPIC_WIDTH,
)

TEXTS = ["I love this phone", "", "The vote was close", "refund my order please"]


@pytest.fixture
def root(own_model_root: Path, tmp_path: Path) -> Path:
    """A fresh copy of the five own models (so tests can add cards and files)."""
    copy = tmp_path / "root"
    shutil.copytree(own_model_root, copy, symlinks=True)
    return copy


# --------------------------------------------------------------------------------------
# Inference, one row per fixture kind

EXPECTED = {
    "keras_probs": {
        "signature": "serving_default",
        "input": "review_text",
        "feature": None,
        "output": "output_0",
        "output_kind": "softmax",
        "binary": False,
        "task": "multi-class",
        "labels": ("class_0", "class_1", "class_2"),
    },
    "module_logits": {
        "signature": "predict_intent",
        "input": "sentence",
        "feature": None,
        "output": "intent_logits",
        "output_kind": "logits",
        "binary": False,
        "task": "multi-class",
        "labels": MODULE_LABELS,
    },
    "estimator_classify": {
        "signature": "serving_default",
        "input": "inputs",
        "feature": ESTIMATOR_FEATURE,
        "output": "scores",
        "output_kind": "softmax",
        "binary": False,
        "task": "multi-class",
        "labels": ESTIMATOR_LABELS,
    },
    "binary_sigmoid": {
        "signature": "serving_default",
        "input": "message",
        "feature": None,
        "output": "probability",
        "output_kind": "sigmoid",
        "binary": True,
        "task": "multi-class",
        "labels": ("negative", "positive"),
    },
}


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_inference_per_fixture(own_model_root: Path, kind: str) -> None:
    inference = infer_model(own_model_root / kind)
    spec, want = inference.spec, EXPECTED[kind]
    got = {
        "signature": spec.signature,
        "input": spec.input,
        "feature": spec.feature,
        "output": spec.output,
        "output_kind": spec.output_kind,
        "binary": spec.binary,
        "task": inference.task,
        "labels": inference.labels,
    }
    assert got == want
    assert spec.evidence, "every inference explains itself"


def test_softmax_evidence_names_the_probe_sum(own_model_root: Path) -> None:
    evidence = infer_model(own_model_root / "keras_probs").spec.evidence
    assert any(
        line.startswith("outputs sum to 1.000 ±")
        and f"on {len(PROBE_TEXTS)} probe texts" in line
        and line.endswith("→ softmax probabilities")
        for line in evidence
    ), evidence


def test_extra_outputs_are_not_taken_for_the_classifier(own_model_root: Path) -> None:
    inference = infer_model(own_model_root / "module_logits")
    assert inference.spec.output == "intent_logits"
    assert any("not class_ids, embedding" in line for line in inference.spec.evidence)
    assert any("vocabulary asset assets/labels.txt" in line for line in inference.spec.evidence)


def test_multi_output_needs_the_user_to_pick(own_model_root: Path) -> None:
    with pytest.raises(
        InferenceError,
        match=rf"2 outputs could be the classifier: tone_logits \({TONE_WIDTH} columns\), "
        rf"topic_scores \({TOPIC_WIDTH} columns\) — give --output KEY",
    ):
        infer_model(own_model_root / "multi_output")
    topic = infer_model(own_model_root / "multi_output", output="topic_scores")
    assert (topic.spec.output_kind, len(topic.labels)) == ("softmax", TOPIC_WIDTH)
    tone = infer_model(own_model_root / "multi_output", output="tone_logits")
    assert (tone.spec.output_kind, tone.task, len(tone.labels)) == ("logits", "multi-class", 2)


def test_overrides_win(own_model_root: Path) -> None:
    as_logits = infer_model(own_model_root / "keras_probs", output_kind="logits")
    assert as_logits.spec.output_kind == "logits"
    assert "kind logits: given" in as_logits.spec.evidence
    multi_label = infer_model(own_model_root / "module_logits", task="multi-label")
    assert (multi_label.task, multi_label.activation) == ("multi-label", "sigmoid")
    with pytest.raises(InferenceError, match="softmax probabilities, which make a multi-class"):
        infer_model(own_model_root / "keras_probs", task="multi-label")
    with pytest.raises(InferenceError, match=r"given as sigmoid probabilities but has values"):
        infer_model(own_model_root / "module_logits", output_kind="sigmoid")
    named = infer_model(own_model_root / "keras_probs", labels=KERAS_LABELS)
    assert named.labels == KERAS_LABELS
    with pytest.raises(InferenceError, match="labels given gives 2 labels but the model has 3"):
        infer_model(own_model_root / "keras_probs", labels=["a", "b"])


def test_binary_labels_given_as_one_or_two_names(own_model_root: Path) -> None:
    one = infer_model(own_model_root / "binary_sigmoid", labels=["spam"])
    assert one.labels == ("not spam", "spam")
    two = infer_model(own_model_root / "binary_sigmoid", labels=["ham", "spam"])
    assert two.labels == ("ham", "spam")


def test_placeholder_labels_come_with_a_note(own_model_root: Path) -> None:
    spec = infer_model(own_model_root / "keras_probs").spec
    assert any("class_0…class_2" in note for note in spec.notes)
    assert any("logits are recovered" in note for note in spec.notes)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("labels.txt", "sports\npolitics\ntech\n"),
        ("labels.json", json.dumps(list(KERAS_LABELS))),
        ("labels.json", json.dumps({"2": "tech", "0": "sports", "1": "politics"})),
    ],
)
def test_labels_file_in_the_model_directory(root: Path, name: str, content: str) -> None:
    (root / "keras_probs" / name).write_text(content)
    inference = infer_model(root / "keras_probs", root=root)
    assert inference.labels == KERAS_LABELS
    assert inference.labels_source == f"{name} in the model directory"


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("a\n\nb\n", "holds an empty label"),
        ("a\nb\na\n", r"repeats labels: \['a'\]"),
        ("", "holds no labels"),
        ('["a", 3]', "must hold a JSON list of strings"),
        ('{"0": "a", "2": "b"}', r"class ids must be 0..1"),
    ],
)
def test_bad_labels_files(tmp_path: Path, content: str, match: str) -> None:
    path = tmp_path / "labels.txt"
    path.write_text(content)
    with pytest.raises(ValueError, match=match):
        read_labels_file(path)


# --------------------------------------------------------------------------------------
# Logits and scores from what the model returns


def test_recovered_logits_reproduce_the_scores() -> None:
    p = np.array([[0.7, 0.2, 0.1], [1.0, 0.0, 0.0]], dtype=np.float32)
    spec = AdapterSpec(signature="s", input="i", feature=None, output="o", output_kind="softmax")
    logits, scores = logits_and_scores(p, spec)
    assert np.array_equal(scores, p)
    assert np.allclose(softmax(logits), p, atol=1e-6)
    assert np.isfinite(logits).all() and logits.min() >= np.log(PROB_CLIP) - 1e-4


def test_sigmoid_recovery_is_clipped_and_finite() -> None:
    p = np.array([[0.0, 0.5, 1.0]], dtype=np.float32)
    spec = AdapterSpec(signature="s", input="i", feature=None, output="o", output_kind="sigmoid")
    logits, scores = logits_and_scores(p, spec)
    bound = float(np.log((1 - PROB_CLIP) / PROB_CLIP))
    assert np.allclose(logits, [[-bound, 0.0, bound]], atol=1e-3)
    assert np.array_equal(scores, p)
    assert spec.task == "multi-label"


def test_binary_becomes_two_classes_whose_softmax_is_the_probability() -> None:
    p = np.array([[0.9], [0.25]], dtype=np.float32)
    spec = AdapterSpec(
        signature="s", input="i", feature=None, output="o", output_kind="sigmoid", binary=True
    )
    logits, scores = logits_and_scores(p, spec)
    assert np.array_equal(scores[:, 1], p[:, 0])
    assert np.allclose(scores[:, 0], 1 - p[:, 0])
    assert np.allclose(softmax(logits), scores, atol=1e-6)
    assert (spec.task, spec.activation) == ("multi-class", "softmax")


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"output_kind": "probits"}, "adapter `output_kind` must be one of"),
        ({"signature": ""}, "adapter `signature` must be a non-empty string"),
        ({"binary": "yes"}, "adapter `binary` must be true or false"),
        ({"output_kind": "softmax", "multi_label": True}, "`multi_label` needs several"),
    ],
)
def test_adapter_spec_validation(changes: dict[str, Any], match: str) -> None:
    raw = {"signature": "s", "input": "i", "output": "o", "output_kind": "logits", **changes}
    with pytest.raises(ValueError, match=match):
        AdapterSpec.from_dict(raw)


def test_adapter_spec_round_trips() -> None:
    spec = AdapterSpec(
        signature="s",
        input="i",
        feature="f",
        output="o",
        output_kind="softmax",
        classes_output="classes",
        evidence=("e",),
        notes=("n",),
    )
    assert AdapterSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    with pytest.raises(ValueError, match="unknown key"):
        AdapterSpec.from_dict({**spec.to_dict(), "surprise": 1})


# --------------------------------------------------------------------------------------
# The registry: cardless dirs listed as inferred; cards written by `card`; predict exact


def test_cardless_models_are_listed_as_inferred(root: Path) -> None:
    listing = list_models([root])
    assert set(listing.names) == set(EXPECTED)
    for card in listing.cards:
        assert card.inferred and card.adapter is not None
        assert card.summary
    (broken,) = listing.broken
    assert broken.name == "multi_output"
    assert "give --output KEY" in broken.reason
    assert "cls-explorer card" in broken.reason


def _signature_output(root: Path, kind: str, texts: list[str]) -> np.ndarray:
    """The chosen output, calling the SavedModel's signature directly (no adapter code)."""
    import tensorflow as tf

    want = EXPECTED.get(kind, {"signature": "serving_default", "feature": None})
    loaded = tf.saved_model.load(str(root / kind))
    function = loaded.signatures[want["signature"]]
    if kind == "estimator_classify":
        examples = [
            tf.train.Example(
                features=tf.train.Features(
                    feature={
                        ESTIMATOR_FEATURE: tf.train.Feature(
                            bytes_list=tf.train.BytesList(value=[t.encode()])
                        )
                    }
                )
            ).SerializeToString()
            for t in texts
        ]
        return function(inputs=tf.constant(examples))["scores"].numpy()
    (key,) = function.structured_input_signature[1]
    out = function(**{key: tf.constant(texts)})
    output = "topic_scores" if kind == "multi_output" else EXPECTED[kind]["output"]
    return out[output].numpy()


@pytest.mark.parametrize("kind", [*sorted(EXPECTED), "multi_output"])
def test_predict_equals_the_signature_exactly(root: Path, kind: str) -> None:
    args = ["card", str(root / kind)] + (
        ["--output", "topic_scores"] if kind == "multi_output" else []
    )
    assert main(args) == 0
    model = load_model(kind, roots=[root])
    assert not model.card.inferred
    prediction = model.predict(TEXTS)
    raw = _signature_output(root, kind, TEXTS)
    spec = model.card.adapter
    assert spec is not None
    if spec.binary:
        assert np.array_equal(prediction.scores[:, 1], raw[:, 0])
    elif spec.output_kind == "logits":
        assert np.array_equal(prediction.logits, raw)
        assert np.array_equal(prediction.scores, softmax(raw).astype(np.float32))
    else:
        assert np.array_equal(prediction.scores, raw)
    assert prediction.scores.shape == (len(TEXTS), len(model.labels))
    assert model.signature is not None and model.adapter == spec


def test_inferred_model_loads_without_a_card(root: Path) -> None:
    model = load_model("binary_sigmoid", roots=[root])
    assert model.card.inferred
    assert model.labels == ("negative", "positive")
    assert (model.task, model.activation) == ("multi-class", "softmax")
    assert model.recovered_logits
    assert model.predict(["win a free prize"]).scores.shape == (1, 2)


def test_unusable_cardless_model_gives_the_reason(root: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"cannot load model 'multi_output':.*give --output"):
        load_model("multi_output", roots=[root])


def test_a_card_overrides_inferred_fields(root: Path) -> None:
    overrides = {
        "title": "My topic model",
        "labels": ["sport", "politics", "science", "art"],
        "adapter": {"output": "topic_scores"},
    }
    (root / "multi_output" / CARD_FILENAME).write_text(json.dumps(overrides))
    (root / "keras_probs" / CARD_FILENAME).write_text(
        json.dumps({"adapter": {"output_kind": "logits"}, "reject_threshold": 0.4})
    )
    listing = list_models([root])
    topic = listing.get("multi_output")
    assert topic is not None and not topic.inferred
    assert topic.title == "My topic model"
    assert topic.labels == ("sport", "politics", "science", "art")
    assert topic.adapter is not None and topic.adapter.output == "topic_scores"
    keras = listing.get("keras_probs")
    assert keras is not None and keras.adapter is not None
    assert (keras.adapter.output_kind, keras.reject_threshold) == ("logits", 0.4)
    model = load_model("multi_output", roots=[root])
    assert model.labels == topic.labels


def test_a_bad_override_card_is_reported(root: Path) -> None:
    (root / "keras_probs" / CARD_FILENAME).write_text(json.dumps({"adapter": {"output": "nope"}}))
    listing = list_models([root])
    (broken,) = [b for b in listing.broken if b.name == "keras_probs"]
    assert "no output 'nope'" in broken.reason


def test_a_bundled_style_card_stays_strict(root: Path) -> None:
    (root / "keras_probs" / CARD_FILENAME).write_text(json.dumps({"title": "no adapter"}))
    (broken,) = [b for b in list_models([root]).broken if b.name == "keras_probs"]
    assert "missing field(s)" in broken.reason


def test_keras_and_pickle_files_are_never_loaded(root: Path) -> None:
    keras_dir = root / "exported_wrong"
    keras_dir.mkdir()
    (keras_dir / "model.keras").write_bytes(b"PK\x03\x04 not loaded")
    (keras_dir / "model.pkl").write_bytes(b"\x80\x04 not loaded")
    (broken,) = [b for b in list_models([root]).broken if b.name == "exported_wrong"]
    assert "model.keras, model.pkl" in broken.reason
    assert "never loaded" in broken.reason


def test_symlinks_out_of_a_root_are_refused(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    shutil.copytree(root / "binary_sigmoid", outside / "evil")
    (root / "evil").symlink_to(outside / "evil", target_is_directory=True)
    labels = tmp_path / "secret_labels.txt"
    labels.write_text("ham\nspam\n")
    (root / "binary_sigmoid" / "labels.txt").symlink_to(labels)
    listing = list_models([root])
    reasons = {b.name: b.reason for b in listing.broken}
    assert "outside the model root" in reasons["evil"]
    assert "outside the model root" in reasons["binary_sigmoid"]
    with pytest.raises(ModelLoadError, match="outside the model root"):
        load_model("binary_sigmoid", roots=[root])


# --------------------------------------------------------------------------------------
# Models that cannot be understood: clear messages


def _build_module(path: Path, *, inputs: dict[str, Any]) -> None:
    import tensorflow as tf

    specs = [tf.TensorSpec([None], dtype, name=name) for name, dtype in inputs.items()]

    class Odd(tf.Module):
        @tf.function(input_signature=specs)
        def serve(self, *args: Any) -> dict[str, Any]:
            return {"scores": tf.ones([tf.shape(args[0])[0], 3])}

    module = Odd()
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.serve})


def test_two_string_inputs_are_named(tmp_path: Path) -> None:
    import tensorflow as tf

    _build_module(tmp_path / "two", inputs={"text": tf.string, "lang": tf.string})
    with pytest.raises(InferenceError, match=r"2 string inputs: lang, text — give --input"):
        infer_model(tmp_path / "two")


def test_non_string_input_is_named(tmp_path: Path) -> None:
    import tensorflow as tf

    _build_module(tmp_path / "ids", inputs={"token_ids": tf.int32})
    with pytest.raises(InferenceError, match=r"no signature takes a string input.*token_ids"):
        infer_model(tmp_path / "ids")


# --------------------------------------------------------------------------------------
# The classify lint: fixture 3 passes, fixture 1 is predict-only


def test_classify_signature_passes_the_lint(own_model_root: Path) -> None:
    path = own_model_root / "estimator_classify"
    inference = infer_model(path)
    model_classes = np.array([[label.encode() for label in ESTIMATOR_LABELS]], dtype=object)
    readiness = classify_readiness(
        read_signature_defs(path),
        inference.spec,
        labels=inference.labels,
        observed_classes=model_classes,
    )
    assert not readiness.predict_only
    assert readiness.signature == "serving_default"
    assert all(result.passed for result in readiness.lint), readiness.needs


def test_keras_export_is_predict_only_with_what_classify_needs(own_model_root: Path) -> None:
    path = own_model_root / "keras_probs"
    inference = infer_model(path)
    readiness = classify_readiness(
        read_signature_defs(path), inference.spec, labels=inference.labels
    )
    assert readiness.predict_only
    needs = " ".join(readiness.needs)
    assert "method name is tensorflow/serving/classify" in needs
    assert "exactly one input, keyed `inputs`" in needs
    assert "outputs are `classes` and `scores`" in needs


# --------------------------------------------------------------------------------------
# The `card` command


def test_card_command_prints_table_and_evidence(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = root.parent / "names.txt"
    labels.write_text("\n".join(KERAS_LABELS))
    assert (
        main(["card", str(root / "keras_probs"), "--labels", str(labels), "--title", "Topics"]) == 0
    )
    out = capsys.readouterr().out
    assert "signature     serving_default" in out
    assert "output holds  softmax" in out
    assert "logits        recovered from probabilities" in out
    assert "evidence:" in out and "→ softmax probabilities" in out
    card = ModelCard.from_dir(root / "keras_probs")  # the registry accepts what it wrote
    assert card.labels == KERAS_LABELS and card.title == "Topics"
    assert card.adapter is not None and card.adapter.output == "output_0"


def test_card_command_refuses_to_overwrite_and_dry_runs(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["card", str(root / "binary_sigmoid"), "--dry-run"]) == 0
    assert not (root / "binary_sigmoid" / CARD_FILENAME).exists()
    assert main(["card", str(root / "binary_sigmoid")]) == 0
    capsys.readouterr()
    assert main(["card", str(root / "binary_sigmoid")]) == 2
    assert "exists; give --force" in capsys.readouterr().err
    assert main(["card", str(root / "binary_sigmoid"), "--force", "--name", "spam"]) == 0
    assert "directory named 'spam'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ([], r"error: cannot understand the model in .*2 outputs could be the classifier"),
        (["--output", "nope"], r"has no output 'nope'"),
        (["--labels", "/nonexistent/labels.txt"], r"cannot read --labels"),
    ],
)
def test_card_command_errors_are_one_line(
    root: Path, capsys: pytest.CaptureFixture[str], extra: list[str], match: str
) -> None:
    assert main(["card", str(root / "multi_output"), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert __import__("re").search(match, err), err


def test_card_command_refuses_keras_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "model.keras").write_bytes(b"PK")
    assert main(["card", str(tmp_path / "model.keras")]) == 2
    assert "never loaded" in capsys.readouterr().err


def test_card_then_score_then_tune(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From export to thresholds: card, score with the model, tune on its scores."""
    monkeypatch.setenv("CLS_MODEL_DIRS", str(root))
    assert main(["card", str(root / "module_logits")]) == 0
    texts = tmp_path / "texts.csv"
    samples = ["my bill is wrong", "where is my parcel", "I want my money back", "hello there"]
    rows = ["text,label"] + [
        f"{text},{MODULE_LABELS[i % len(MODULE_LABELS)]}" for i, text in enumerate(samples * 5)
    ]
    texts.write_text("\n".join(rows) + "\n")
    scores = tmp_path / "scores.parquet"
    args = ["score", "--model", "module_logits", str(texts), "--text-column", "text"]
    assert main([*args, "--out", str(scores)]) == 0
    out = tmp_path / "thresholds.json"
    assert main(["tune", str(scores), "--out", str(out), "--model", "module_logits"]) == 0
    result = json.loads(out.read_text())
    assert result["labels"] == list(MODULE_LABELS)


def test_a_model_that_cannot_be_understood_is_not_probed_again(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cls_core.modelio import inspect

    calls = []
    real = inspect.infer_model

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(inspect, "infer_model", counting)
    first = {b.name: b.reason for b in list_models([root]).broken}
    second = {b.name: b.reason for b in list_models([root]).broken}
    assert first == second and "multi_output" in first
    assert [Path(p).name for p in calls].count("multi_output") <= 1  # cached with its files
    (root / "multi_output" / CARD_FILENAME).write_text('{"adapter": {"output": "tone_logits"}}')
    assert list_models([root]).get("multi_output") is not None  # a new card is read at once
