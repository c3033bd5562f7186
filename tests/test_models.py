"""The bundled models and the registry (cls_core.modelio.registry)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cls_core import paths
from cls_core.errors import ModelLoadError
from cls_core.modelio.registry import (
    CARD_FILENAME,
    MAX_TEXT_CHARS,
    LoadedModel,
    ModelCard,
    list_models,
    load_model,
)

MODELS_DIR = paths.PROJECT_ROOT / "models"
EXPECTED = ("banking77", "ekman", "goemotions")
SHIPPED = tuple(name for name in EXPECTED if (MODELS_DIR / name / CARD_FILENAME).is_file())
# Quality floor from the issue (tf-idf bigram linear baseline), measured on test.
FLOORS = {"banking77": ("accuracy", 0.880), "ekman": ("accuracy", 0.605)}
FLOORS["goemotions"] = ("macro_f1", 0.318)
SAVED_MODEL_CLI = Path(sys.executable).parent / "saved_model_cli"

_loaded: dict[str, LoadedModel] = {}


def shipped(name: str) -> LoadedModel:
    """Load a shipped model once per test session."""
    if name not in _loaded:
        _loaded[name] = load_model(name, roots=[MODELS_DIR])
    return _loaded[name]


def _example(text: str) -> bytes:
    import tensorflow as tf

    feature = {"text": tf.train.Feature(bytes_list=tf.train.BytesList(value=[text.encode()]))}
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


# --------------------------------------------------------------------------------------
# Shipped models


def test_all_three_models_are_shipped_and_valid() -> None:
    listing = list_models([MODELS_DIR])
    assert listing.names == EXPECTED
    assert listing.broken == ()


@pytest.mark.parametrize("name", SHIPPED)
def test_card_contents(name: str) -> None:
    card = ModelCard.from_dir(MODELS_DIR / name)
    assert card.name == name
    assert card.dataset["license"] == "CC BY 4.0"
    assert 6 <= len(card.examples) <= 10
    assert card.training["command"].startswith(f"python -m cls_core train {name} ")
    assert isinstance(card.training["seed"], int)
    metric, floor = FLOORS[name]
    assert card.metrics[metric] > floor + 0.01
    if card.task == "multi-class":
        assert card.activation == "softmax"
        assert card.thresholds is None
        assert {"accuracy", "macro_f1"} <= set(card.metrics)
    else:
        assert card.activation == "sigmoid"
        assert card.thresholds is not None
        assert len(card.thresholds) == len(card.labels)
        assert {"micro_f1", "macro_f1", "micro_f1_at_0.5", "macro_f1_at_0.5"} <= set(card.metrics)


def test_emotion_models_share_examples() -> None:
    if not {"ekman", "goemotions"} <= set(SHIPPED):
        pytest.skip("ekman and goemotions are not both shipped")
    ekman = ModelCard.from_dir(MODELS_DIR / "ekman")
    goemotions = ModelCard.from_dir(MODELS_DIR / "goemotions")
    assert ekman.examples == goemotions.examples


@pytest.mark.parametrize("name", SHIPPED)
def test_model_dir_is_at_most_10_mb(name: str) -> None:
    size = sum(p.stat().st_size for p in (MODELS_DIR / name).rglob("*") if p.is_file())
    assert size <= 10 * 1024 * 1024


@pytest.mark.parametrize("name", SHIPPED)
def test_predict_shapes_and_activation(name: str) -> None:
    model = shipped(name)
    texts = [*model.card.examples, "", "   "]
    pred = model.predict(texts)
    n_classes = len(model.labels)
    assert pred.logits.shape == pred.scores.shape == (len(texts), n_classes)
    assert pred.logits.dtype == pred.scores.dtype == np.float32
    assert np.all(np.isfinite(pred.logits))
    assert pred.truncated == ()
    logits = pred.logits.astype(np.float64)
    if model.activation == "softmax":
        np.testing.assert_allclose(pred.scores.sum(axis=1), 1.0, atol=1e-5)
        expected = np.exp(logits - logits.max(axis=1, keepdims=True))
        expected /= expected.sum(axis=1, keepdims=True)
    else:
        assert np.any(np.abs(pred.scores.sum(axis=1) - 1.0) > 0.05)
        expected = 1.0 / (1.0 + np.exp(-logits))
    np.testing.assert_allclose(pred.scores, expected, atol=1e-6)


@pytest.mark.parametrize("name", SHIPPED)
def test_classification_signature_matches_serving_default(name: str) -> None:
    model = shipped(name)
    texts = [*model.card.examples, ""]
    classes, scores = model.classify_serialized([_example(t) for t in texts])
    assert classes.shape == scores.shape == (len(texts), len(model.labels))
    assert scores.dtype == np.float32
    for row in classes:
        assert tuple(c.decode() for c in row) == model.labels
    np.testing.assert_allclose(scores, model.predict(texts).scores, atol=1e-6)


@pytest.mark.parametrize("name", SHIPPED)
def test_saved_model_pb_signatures_and_method_names(name: str) -> None:
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((MODELS_DIR / name / "saved_model.pb").read_bytes())
    (meta_graph,) = proto.meta_graphs
    sigs = meta_graph.signature_def
    n_classes = len(shipped(name).labels)
    classify = sigs["classification"]
    assert classify.method_name == "tensorflow/serving/classify"
    assert list(classify.inputs) == ["inputs"]
    assert set(classify.outputs) == {"classes", "scores"}
    assert [d.size for d in classify.outputs["classes"].tensor_shape.dim] == [-1, n_classes]
    serving = sigs["serving_default"]
    assert serving.method_name == "tensorflow/serving/predict"
    assert list(serving.inputs) == ["text"]
    assert set(serving.outputs) == {"logits", "scores"}
    assert [d.size for d in serving.outputs["scores"].tensor_shape.dim] == [-1, n_classes]


@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED)
def test_saved_model_cli_lists_both_signatures(name: str) -> None:
    if not SAVED_MODEL_CLI.exists():
        pytest.skip(f"{SAVED_MODEL_CLI} not installed")
    result = subprocess.run(
        [str(SAVED_MODEL_CLI), "show", "--dir", str(MODELS_DIR / name), "--all"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "signature_def['serving_default']" in result.stdout
    assert "signature_def['classification']" in result.stdout
    assert "Method name is: tensorflow/serving/classify" in result.stdout


@pytest.mark.data
@pytest.mark.parametrize("name", SHIPPED)
def test_card_metrics_reproduce_on_test_split(name: str) -> None:
    from cls_core.modelio import training

    data_dir = paths.data_dir()
    if not data_dir.is_dir():
        pytest.skip(f"dataset directory {data_dir} is absent")
    model = shipped(name)
    data = training.RECIPES[name].load(data_dir, int(model.card.training["seed"]))
    assert data.labels == model.labels
    scores = model.predict(list(data.test_texts)).scores
    thresholds = None if model.thresholds is None else np.array(model.thresholds)
    got = training.evaluate_scores(scores, data.test_targets, task=data.task, thresholds=thresholds)
    for key, value in got.items():
        assert value == pytest.approx(model.card.metrics[key], abs=1e-6), key


@pytest.mark.parametrize("name", SHIPPED)
def test_single_text_latency_is_small(name: str) -> None:
    model = shipped(name)
    text = ["Where is my card? It has been a week."]
    model.predict(text)
    times = []
    for _ in range(30):
        start = time.perf_counter()
        model.predict(text)
        times.append(time.perf_counter() - start)
    # The budget is 2 ms; allow slack for a busy shared CPU (keras predict takes ~100 ms).
    assert float(np.median(times)) < 0.010


# --------------------------------------------------------------------------------------
# Prediction input handling


@pytest.fixture(scope="module")
def any_model() -> LoadedModel:
    if not SHIPPED:
        pytest.skip("no shipped model")
    return shipped(SHIPPED[0])


@pytest.mark.parametrize(
    ("texts", "match"),
    [
        (["fine", None], r"`texts\[1\]` must be str; got NoneType"),
        ([3], r"`texts\[0\]` must be str; got int"),
        (["a", "b", b"bytes"], r"`texts\[2\]` must be str; got bytes"),
        ("one text", r"must be a sequence of str, not a single str"),
        (42, r"`texts` must be a sequence of str; got int"),
    ],
)
def test_predict_rejects_non_str(any_model: LoadedModel, texts: Any, match: str) -> None:
    with pytest.raises(TypeError, match=match):
        any_model.predict(texts)


def test_predict_empty_list(any_model: LoadedModel) -> None:
    pred = any_model.predict([])
    assert pred.scores.shape == pred.logits.shape == (0, len(any_model.labels))


def test_long_texts_are_truncated(any_model: LoadedModel) -> None:
    long_text = "card " * (MAX_TEXT_CHARS // 5 + 50)
    pred = any_model.predict(["short", long_text, "x" * MAX_TEXT_CHARS])
    assert pred.truncated == (1,)
    cut = any_model.predict([long_text[:MAX_TEXT_CHARS]])
    np.testing.assert_allclose(pred.scores[1], cut.scores[0], atol=1e-6)


def test_chunked_predict_equals_one_call(
    any_model: LoadedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cls_core.modelio import registry as models

    texts = [f"my card number {i} was declined" for i in range(10)]
    whole = any_model.predict(texts)
    monkeypatch.setattr(models, "PREDICT_CHUNK_SIZE", 3)
    chunked = any_model.predict(texts)
    np.testing.assert_allclose(chunked.scores, whole.scores, atol=1e-6)
    np.testing.assert_allclose(chunked.logits, whole.logits, atol=1e-5)


def test_concurrent_predict_equals_sequential(any_model: LoadedModel) -> None:
    batches = [[f"text {i} {j} about my card" for j in range(i + 1)] for i in range(8)]
    sequential = [any_model.predict(b).scores for b in batches]
    results: dict[int, np.ndarray] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def work(i: int) -> None:
        try:
            barrier.wait()
            for _ in range(20):
                results[i] = any_model.predict(batches[i]).scores
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for i in range(8):
        np.testing.assert_allclose(results[i], sequential[i], atol=1e-6)


def test_classify_serialized_rejects_non_bytes(any_model: LoadedModel) -> None:
    with pytest.raises(TypeError, match=r"`serialized_examples\[1\]` must be bytes; got str"):
        any_model.classify_serialized([_example("ok"), "not bytes"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match=r"could not be parsed as tf\.Example protos"):
        any_model.classify_serialized([b"\xff\x00 definitely not a proto"])


# --------------------------------------------------------------------------------------
# Registry: broken directories, traversal, symlinks


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A model root with one good model (a copy of a shipped one) named ``good``."""
    if not SHIPPED:
        pytest.skip("no shipped model to copy")
    model_root = tmp_path / "root"
    model_root.mkdir()
    _copy_model(MODELS_DIR / SHIPPED[0], model_root / "good")
    return model_root


def _copy_model(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst)
    card_path = dst / CARD_FILENAME
    card = json.loads(card_path.read_text())
    card["name"] = dst.name
    card_path.write_text(json.dumps(card))


def _edit_card(path: Path, **changes: Any) -> None:
    card = json.loads((path / CARD_FILENAME).read_text())
    card.update(changes)
    (path / CARD_FILENAME).write_text(json.dumps(card))


def test_good_copy_loads(root: Path) -> None:
    model = load_model("good", roots=[root])
    assert model.name == "good"
    assert model.path == root / "good"


@pytest.mark.parametrize("name", ["..", "../good", "good/../good", "/etc", "a/b", "", ".hidden"])
def test_names_that_are_paths_are_refused(root: Path, name: str) -> None:
    with pytest.raises(ModelLoadError, match=r"plain directory name.*Available models: good"):
        load_model(name, roots=[root])


def test_unknown_name_lists_available_models(root: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"unknown model 'nope'.*Available models: good\."):
        load_model("nope", roots=[root])


def test_symlink_out_of_root_is_refused(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    _copy_model(root / "good", outside / "evil")
    (root / "evil").symlink_to(outside / "evil", target_is_directory=True)
    with pytest.raises(ModelLoadError, match=r"cannot load model 'evil':.*outside the model root"):
        load_model("evil", roots=[root])
    listing = list_models([root])
    assert listing.names == ("good",)
    assert [b.name for b in listing.broken] == ["evil"]


def test_symlink_inside_root_is_allowed(root: Path) -> None:
    (root / "alias").symlink_to(root / "good", target_is_directory=True)
    _copy_model(root / "good", root / "real")
    shutil.rmtree(root / "good")
    (root / "good").symlink_to(root / "real", target_is_directory=True)
    _edit_card(root / "real", name="good")
    assert load_model("good", roots=[root]).name == "good"


def _break_no_pb(path: Path) -> None:
    (path / "saved_model.pb").unlink()


def _break_corrupt_pb(path: Path) -> None:
    (path / "saved_model.pb").write_bytes(b"\x08\x01 this is not a SavedModel \xff\xfe")


def _break_no_card(path: Path) -> None:
    (path / CARD_FILENAME).unlink()


def test_model_without_card_is_listed_with_an_inferred_card(root: Path) -> None:
    """Issue 10: a cardless SavedModel is inferred (here: a bundled model's own layout)."""
    _copy_model(root / "good", root / "bad")
    _break_no_card(root / "bad")
    card = list_models([root]).get("bad")
    assert card is not None and card.inferred and card.adapter is not None
    assert (card.adapter.signature, card.adapter.output) == ("serving_default", "logits")
    assert card.labels == load_model("good", roots=[root]).labels  # from `classification`
    model = load_model("bad", roots=[root])
    assert np.array_equal(
        model.predict(["hello"]).logits, load_model("good", roots=[root]).predict(["hello"]).logits
    )


def _break_card_json(path: Path) -> None:
    (path / CARD_FILENAME).write_text("{not json")


def _break_card_task(path: Path) -> None:
    _edit_card(path, task="regression")


def _break_card_name(path: Path) -> None:
    _edit_card(path, name="someone_else")


def _break_label_count(path: Path) -> None:
    card = json.loads((path / CARD_FILENAME).read_text())
    labels = card["labels"][:-1]
    thresholds = card["thresholds"][:-1] if card["thresholds"] is not None else None
    _edit_card(path, labels=labels, thresholds=thresholds)


BREAKAGES = [
    (_break_no_pb, r"cannot load model 'bad': no saved_model.pb in"),
    (_break_corrupt_pb, r"cannot load model 'bad': the SavedModel in .* is unreadable or corrupt"),
    (_break_card_json, r"cannot load model 'bad': invalid model card .*not valid JSON"),
    (_break_card_task, r"`task` must be 'multi-class' or 'multi-label'; got 'regression'"),
    (_break_card_name, r"`name` 'someone_else' does not match the directory name 'bad'"),
    (_break_label_count, r"the card lists (\d+) labels but the model outputs (\d+) scores"),
]


@pytest.mark.parametrize(("breakage", "match"), BREAKAGES, ids=lambda x: getattr(x, "__name__", ""))
def test_broken_model_raises_model_load_error(root: Path, breakage: Any, match: str) -> None:
    _copy_model(root / "good", root / "bad")
    breakage(root / "bad")
    with pytest.raises(ModelLoadError, match=match):
        load_model("bad", roots=[root])


@pytest.mark.parametrize(
    ("breakage", "match"),
    [b for b in BREAKAGES if b[0] not in (_break_corrupt_pb, _break_label_count)],
    ids=lambda x: getattr(x, "__name__", ""),
)
def test_list_models_reports_broken_without_hiding_others(
    root: Path, breakage: Any, match: str
) -> None:
    _copy_model(root / "good", root / "bad")
    breakage(root / "bad")
    listing = list_models([root])
    assert listing.names == ("good",)
    (broken,) = listing.broken
    assert broken.name == "bad"
    assert broken.path == root / "bad"
    # list_models reports the reason load_model gives, minus the "cannot load" prefix.
    assert __import__("re").search(match.replace("cannot load model 'bad': ", ""), broken.reason)


def test_list_models_uses_cls_model_dirs(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLS_MODEL_DIRS", os.pathsep.join([str(root), "/nonexistent/root"]))
    listing = list_models()
    assert "good" in listing.names
    assert set(SHIPPED) <= set(listing.names)


def test_first_root_wins_and_later_copy_is_reported(root: Path, tmp_path: Path) -> None:
    second = tmp_path / "second"
    second.mkdir()
    _copy_model(root / "good", second / "good")
    listing = list_models([root, second])
    assert listing.names == ("good",)
    assert listing.cards[0].path == root / "good"
    (shadowed,) = listing.broken
    assert shadowed.path == second / "good"
    assert "shadowed by" in shadowed.reason


def test_list_models_ignores_files_and_hidden_dirs(root: Path) -> None:
    (root / "README.txt").write_text("not a model")
    (root / ".tmp-export").mkdir()
    listing = list_models([root])
    assert listing.names == ("good",)
    assert listing.broken == ()


def test_roots_must_be_a_sequence(root: Path) -> None:
    with pytest.raises(TypeError, match="`roots` must be a sequence of paths; got a single"):
        list_models(root)  # type: ignore[arg-type]


def test_list_models_does_not_import_tensorflow() -> None:
    code = (
        "import sys; from cls_core.modelio.registry import list_models; "
        f"listing = list_models([__import__('pathlib').Path({str(MODELS_DIR)!r})]); "
        "print(len(listing.cards), 'tensorflow' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=paths.PROJECT_ROOT,
        timeout=60,
    ).stdout.split()
    assert out == [str(len(SHIPPED)), "False"]


# --------------------------------------------------------------------------------------
# ModelCard validation


def _valid_card(tmp_path: Path, **changes: Any) -> Path:
    path = tmp_path / "m"
    path.mkdir(exist_ok=True)
    card: dict[str, Any] = {
        "name": "m",
        "title": "M",
        "task": "multi-label",
        "activation": "sigmoid",
        "labels": ["a", "b"],
        "thresholds": [0.3, 0.6],
        "reject_threshold": None,
        "examples": ["hi"],
        "dataset": {"name": "d", "source": "s", "license": "CC BY 4.0", "attribution": "x"},
        "metrics": {},
        "training": {"command": "c", "date": "2024-01-01", "seed": 0},
    }
    card.update(changes)
    (path / CARD_FILENAME).write_text(json.dumps(card))
    return path


def test_model_card_from_dir_reads_fields(tmp_path: Path) -> None:
    card = ModelCard.from_dir(_valid_card(tmp_path))
    assert card.labels == ("a", "b")
    assert card.thresholds == (0.3, 0.6)
    assert card.reject_threshold is None
    assert card.raw["title"] == "M"
    assert card.n_classes == 2


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"activation": "softmax"}, r"`activation` must be 'sigmoid' for a multi-label model"),
        ({"labels": ["a", "a"]}, r"`labels` must be unique; repeated: \['a'\]"),
        ({"labels": []}, r"`labels` must not be empty"),
        ({"labels": ["a", 2]}, r"`labels` must be a list of strings"),
        ({"thresholds": [0.5]}, r"`thresholds` must be a list of 2 numbers"),
        ({"thresholds": [0.5, 1.5]}, r"`thresholds\[1\]` must be in \[0, 1\]; got 1.5"),
        ({"thresholds": [0.5, "x"]}, r"`thresholds\[1\]` must be a number in \[0, 1\]"),
        ({"reject_threshold": 0.2}, r"`reject_threshold` must be null for multi-label"),
        ({"dataset": {"name": "d"}}, r"`dataset` lacks source, license, attribution"),
        ({"training": []}, r"`training` must be an object"),
        ({"title": ""}, r"`title` must be a non-empty string"),
        (
            {"task": "multi-class", "activation": "softmax", "thresholds": [0.1, 0.2]},
            r"`thresholds` must be null for a multi-class model",
        ),
        (
            {
                "task": "multi-class",
                "activation": "softmax",
                "thresholds": None,
                "reject_threshold": -0.1,
            },
            r"`reject_threshold` must be in \[0, 1\]; got -0.1",
        ),
    ],
)
def test_model_card_validation_errors(tmp_path: Path, changes: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ModelCard.from_dir(_valid_card(tmp_path, **changes))


def test_model_card_missing_fields(tmp_path: Path) -> None:
    path = _valid_card(tmp_path)
    (path / CARD_FILENAME).write_text(json.dumps({"name": "m", "title": "M"}))
    with pytest.raises(ValueError, match=r"missing field\(s\) task, activation, labels"):
        ModelCard.from_dir(path)
    (path / CARD_FILENAME).write_text("[1, 2]")
    with pytest.raises(ValueError, match="expected a JSON object; got list"):
        ModelCard.from_dir(path)


def test_model_card_multiclass_reject_threshold(tmp_path: Path) -> None:
    card = ModelCard.from_dir(
        _valid_card(
            tmp_path,
            task="multi-class",
            activation="softmax",
            thresholds=None,
            reject_threshold=0.4,
        )
    )
    assert card.reject_threshold == 0.4
    assert card.thresholds is None


# --------------------------------------------------------------------------------------
# Hostile model directories (issue 16): every card problem is a broken model, never an
# exception out of the listing; every file TensorFlow opens stays inside the root.


def _write_card_bytes(path: Path, data: bytes) -> None:
    (path / CARD_FILENAME).write_bytes(data)


def _good_card_text(path: Path) -> str:
    return (path / CARD_FILENAME).read_text()


HOSTILE_CARDS: list[tuple[str, Any, str]] = [
    ("nested_100k", lambda p: _write_card_bytes(p, b"[" * 100_000 + b"]" * 100_000), "nested"),
    (
        "nested_in_metrics",
        lambda p: _edit_card(p, metrics=json.loads("[" * 60 + "]" * 60)),
        f"nested deeper than {32}",
    ),
    ("card_is_a_list", lambda p: _write_card_bytes(p, b"[1, 2, 3]"), "expected a JSON object"),
    ("card_is_null", lambda p: _write_card_bytes(p, b"null"), "expected a JSON object"),
    (
        "invalid_utf8",
        lambda p: _write_card_bytes(p, _good_card_text(p).encode()[:40] + b"\xff\xfe\x80"),
        "not valid UTF-8",
    ),
    (
        "int_over_4300_digits",
        lambda p: _write_card_bytes(
            p,
            _good_card_text(p)
            .replace('"reject_threshold": null', '"reject_threshold": ' + "9" * 5000)
            .encode(),
        ),
        "not valid JSON",
    ),
    (
        "huge_int_threshold",
        lambda p: _write_card_bytes(
            p,
            _good_card_text(p)
            .replace('"reject_threshold": null', '"reject_threshold": ' + "9" * 400)
            .encode(),
        ),
        r"must (be null|be in \[0, 1\])",
    ),
    (
        "infinite_threshold",
        lambda p: _write_card_bytes(
            p,
            _good_card_text(p)
            .replace('"reject_threshold": null', '"reject_threshold": 1e999')
            .encode(),
        ),
        r"must (be null|be a number in \[0, 1\])",
    ),
    ("task_is_a_list", lambda p: _edit_card(p, task=["multi-class"]), "`task` must be"),
    ("task_is_an_object", lambda p: _edit_card(p, task={"a": 1}), "`task` must be"),
    ("name_is_huge", lambda p: _edit_card(p, name="x" * 100_000), "does not match"),
    (
        "card_is_a_directory",
        lambda p: ((p / CARD_FILENAME).unlink(), (p / CARD_FILENAME).mkdir()),
        "no model_card.json",
    ),
    (
        "card_over_size_cap",
        lambda p: _write_card_bytes(p, b" " * (9 * 1024 * 1024) + b"{}"),
        "larger than",
    ),
]


@pytest.mark.parametrize(
    ("breakage", "match"), [c[1:] for c in HOSTILE_CARDS], ids=[c[0] for c in HOSTILE_CARDS]
)
def test_hostile_card_is_a_broken_model(root: Path, breakage: Any, match: str) -> None:
    _copy_model(root / "good", root / "bad")
    (root / "bad" / CARD_FILENAME).write_text(
        json.dumps(json.loads(_good_card_text(root / "bad")), indent=1)
    )
    breakage(root / "bad")
    listing = list_models([root])
    assert listing.names == ("good",)
    (broken,) = listing.broken
    assert broken.name == "bad"
    assert __import__("re").search(match, broken.reason), broken.reason
    assert len(broken.reason) < 1000
    with pytest.raises(ModelLoadError, match=r"cannot load model 'bad': "):
        load_model("bad", roots=[root])


def test_listing_survives_any_exception_from_one_model(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The per-model backstop: an unforeseen exception marks that model broken only."""
    from cls_core.modelio import registry

    _copy_model(root / "good", root / "bad")
    real = registry.ModelCard.from_dir

    def flaky(path: Path) -> ModelCard:
        if Path(path).name == "bad":
            raise MemoryError("simulated")
        return real(path)

    monkeypatch.setattr(registry.ModelCard, "from_dir", staticmethod(flaky))
    listing = list_models([root])
    assert listing.names == ("good",)
    assert [(b.name, b.reason) for b in listing.broken] == [("bad", "cannot be read (MemoryError)")]


class _CountingLabel(str):
    """A label that counts equality checks (to prove duplicate detection is linear)."""

    comparisons = 0

    def __eq__(self, other: object) -> bool:
        _CountingLabel.comparisons += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def test_duplicate_labels_are_found_in_linear_time_with_a_short_message(tmp_path: Path) -> None:
    n = 2000
    labels = [_CountingLabel(f"label{i % (n // 2)}") for i in range(n)]  # every label twice
    raw = json.loads((_valid_card(tmp_path) / CARD_FILENAME).read_text())
    raw.update(labels=labels, thresholds=[0.5] * n)
    _CountingLabel.comparisons = 0
    with pytest.raises(
        ValueError, match=r"`labels` must be unique; repeated: .* and 990 more$"
    ) as info:
        ModelCard.from_dict(raw, path=tmp_path / "m")
    # tuple.count per label made n*n = 4,000,000 comparisons; a Counter makes about n.
    assert _CountingLabel.comparisons <= 4 * n
    assert len(str(info.value)) < 500


def _link_outside(root: Path, tmp_path: Path, relative: str) -> None:
    """Move ``good/<relative>`` outside the root and leave a symlink in its place."""
    outside = tmp_path / "outside"
    outside.mkdir(exist_ok=True)
    source = root / "bad" / relative
    target = outside / source.name
    shutil.move(source, target)
    source.symlink_to(target, target_is_directory=target.is_dir())


SYMLINKED = [
    "saved_model.pb",
    "variables",
    "variables/variables.index",
    "variables/variables.data-00000-of-00001",
    CARD_FILENAME,
]


@pytest.mark.parametrize("relative", SYMLINKED)
def test_files_symlinked_out_of_the_root_are_refused(
    root: Path, tmp_path: Path, relative: str
) -> None:
    _copy_model(root / "good", root / "bad")
    _link_outside(root, tmp_path, relative)
    with pytest.raises(ModelLoadError, match=r"cannot load model 'bad': .* outside the model root"):
        load_model("bad", roots=[root])
    listing = list_models([root])
    assert listing.names == ("good",)
    assert [b.name for b in listing.broken] == ["bad"]
    assert "outside the model root" in listing.broken[0].reason


def test_dangling_symlink_in_model_dir_is_refused(root: Path) -> None:
    _copy_model(root / "good", root / "bad")
    (root / "bad" / "assets").symlink_to(root / "nowhere", target_is_directory=True)
    with pytest.raises(ModelLoadError, match=r"assets is a broken symlink"):
        load_model("bad", roots=[root])


def test_files_symlinked_inside_the_root_still_load(root: Path) -> None:
    store = root / ".store"  # hidden: not a model of its own
    store.mkdir()
    _copy_model(root / "good", root / "linked")
    shutil.move(root / "linked" / "variables", store / "variables")
    (root / "linked" / "variables").symlink_to(store / "variables", target_is_directory=True)
    (root / "linked" / "loop").symlink_to(root / "linked", target_is_directory=True)
    assert load_model("linked", roots=[root]).name == "linked"
    assert list_models([root]).names == ("good", "linked")
