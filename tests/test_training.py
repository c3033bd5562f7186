"""Training helpers (cls_core.modelio.training) and the ``train`` command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, f1_score

from cls_core.cli import main
from cls_core.modelio import training
from cls_core.modelio.datasets import EKMAN_LABELS, TrainingData, load_banking77, load_ekman
from cls_core.modelio.training import TrainingConfig, best_f1_thresholds, evaluate_scores

# --------------------------------------------------------------------------------------
# Metrics and thresholds


def test_evaluate_scores_multiclass_matches_sklearn() -> None:
    rng = np.random.default_rng(0)
    scores = rng.random((200, 5)).astype(np.float32)
    targets = rng.integers(0, 5, size=200)
    got = evaluate_scores(scores, targets, task="multi-class")
    pred = scores.argmax(axis=1)
    assert got["accuracy"] == pytest.approx(accuracy_score(targets, pred))
    assert got["macro_f1"] == pytest.approx(
        f1_score(targets, pred, average="macro", labels=range(5), zero_division=0)
    )


def test_evaluate_scores_multilabel_matches_sklearn() -> None:
    rng = np.random.default_rng(1)
    scores = rng.random((300, 6)).astype(np.float32)
    targets = (rng.random((300, 6)) < 0.3).astype(np.float32)
    thresholds = np.array([0.2, 0.4, 0.5, 0.6, 0.7, 0.9], dtype=np.float32)
    got = evaluate_scores(scores, targets, task="multi-label", thresholds=thresholds)
    for suffix, th in (("", thresholds), ("_at_0.5", np.full(6, 0.5))):
        pred = scores >= th
        for avg in ("micro", "macro"):
            want = f1_score(targets, pred, average=avg, zero_division=0)
            assert got[f"{avg}_f1{suffix}"] == pytest.approx(want), (avg, suffix)


def test_evaluate_scores_fires_at_equality() -> None:
    scores = np.array([[0.5, 0.2]], dtype=np.float32)
    targets = np.array([[1.0, 0.0]], dtype=np.float32)
    got = evaluate_scores(scores, targets, task="multi-label", thresholds=np.array([0.5, 0.9]))
    assert got["micro_f1"] == 1.0


def _brute_force_best_f1(scores: np.ndarray, truth: np.ndarray) -> float:
    return max(f1_score(truth, scores >= t, zero_division=0) for t in np.unique(scores))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.7, 0.9, 1.0]), st.booleans()),
        min_size=1,
        max_size=30,
    )
)
def test_best_f1_thresholds_reach_the_best_f1(pairs: list[tuple[float, bool]]) -> None:
    scores = np.array([[s] for s, _ in pairs], dtype=np.float32)
    truth = np.array([[t] for _, t in pairs], dtype=np.float32)
    (threshold,) = best_f1_thresholds(scores, truth)
    if not truth.any():
        assert threshold == 1.0
        return
    assert threshold in scores
    achieved = f1_score(truth[:, 0], scores[:, 0] >= threshold, zero_division=0)
    assert achieved == pytest.approx(_brute_force_best_f1(scores[:, 0], truth[:, 0]))


def test_best_f1_thresholds_small_case() -> None:
    # Class 0: positives score 0.9 and 0.6, a negative 0.7 → best cut 0.6 (F1 0.8).
    scores = np.array([[0.9, 0.1], [0.7, 0.2], [0.6, 0.3], [0.1, 0.4]], dtype=np.float32)
    targets = np.array([[1, 0], [0, 0], [1, 0], [0, 0]], dtype=np.float32)
    np.testing.assert_array_equal(best_f1_thresholds(scores, targets), np.float32([0.6, 1.0]))


# --------------------------------------------------------------------------------------
# Data loading on tiny synthetic copies of the datasets


def test_load_ekman_keeps_rows_with_exactly_one_group(tmp_path: Path) -> None:
    root = tmp_path / "goemotions"
    root.mkdir()
    labels = ["amusement", "anger", "joy", "sadness", "neutral"]
    (root / "emotions.txt").write_text("\n".join(labels))
    mapping = {"anger": ["anger"], "joy": ["joy", "amusement"], "sadness": ["sadness"]}
    (root / "ekman_mapping.json").write_text(json.dumps(mapping))
    rows = [
        ("laughing so hard", "0,2"),  # amusement + joy → joy
        ("so angry", "1"),  # anger
        ("fine I guess", "4"),  # neutral
        ("happy and sad", "2,3"),  # two groups → dropped
        ("meh but fun", "0,4"),  # joy + neutral → dropped
    ]
    for split in ("train", "dev", "test"):
        (root / f"{split}.tsv").write_text(
            "".join(f"{t}\t{ids}\tid{i}\n" for i, (t, ids) in enumerate(rows))
        )
    data = load_ekman(tmp_path)
    assert data.labels == EKMAN_LABELS
    assert data.train_texts == ("laughing so hard", "so angry", "fine I guess")
    names = [data.labels[i] for i in data.train_targets]
    assert names == ["joy", "anger", "neutral"]


def test_load_banking77_dev_split_is_stratified_and_seeded(tmp_path: Path) -> None:
    root = tmp_path / "banking77"
    root.mkdir()
    cats = ["card_arrival", "top_up_failed", "lost_card"]
    (root / "categories.json").write_text(json.dumps(cats))
    train = "text,category\r\n" + "".join(
        f'"query {i}, about {c}",{c}\r\n' for c in cats for i in range(20)
    )
    (root / "train.csv").write_text(train)
    (root / "test.csv").write_text('text,category\r\n"  where is it\n",card_arrival\r\n')
    a = load_banking77(tmp_path, seed=3)
    b = load_banking77(tmp_path, seed=3)
    c = load_banking77(tmp_path, seed=4)
    assert a.dev_texts == b.dev_texts
    assert a.dev_texts != c.dev_texts
    assert np.bincount(a.dev_targets).tolist() == [2, 2, 2]
    assert set(a.dev_texts).isdisjoint(a.train_texts)
    assert len(a.train_texts) + len(a.dev_texts) == 60
    assert a.test_texts == ("where is it",)


def test_missing_dataset_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"dataset file not found: .*categories.json"):
        load_banking77(tmp_path)


def test_training_data_checks_target_shapes() -> None:
    with pytest.raises(ValueError, match=r"`dev_targets` must have shape \(1, 2\) for 1 texts"):
        TrainingData(
            name="x",
            task="multi-label",
            labels=("a", "b"),
            train_texts=("t",),
            train_targets=np.zeros((1, 2)),
            dev_texts=("t",),
            dev_targets=np.zeros((1,)),
            test_texts=(),
            test_targets=np.zeros((0, 2)),
        )


def test_training_config_checks_sizes() -> None:
    with pytest.raises(ValueError, match="`hidden` must be >= 1; got 0"):
        TrainingConfig(hidden=0)
    with pytest.raises(ValueError, match=r"`class_weight_power` must be in \[0, 1\]; got 2"):
        TrainingConfig(class_weight_power=2)


def test_class_weights_balance_the_classes() -> None:
    targets = np.array([0] * 6 + [1] * 3 + [2] * 1)
    flat = training.class_weights(targets, 4, power=0.0)
    np.testing.assert_allclose(flat, [1, 1, 1, 0])  # absent class 3 gets 0
    balanced = training.class_weights(targets, 4, power=1.0)
    per_class_total = balanced[:3] * np.array([6, 3, 1])
    np.testing.assert_allclose(per_class_total, per_class_total[0])  # each class adds the same
    for power in (0.0, 0.5, 1.0):
        weights = training.class_weights(targets, 4, power=power)
        assert np.mean(weights[targets]) == pytest.approx(1.0)  # mean weight per example is 1
    half = training.class_weights(targets, 4, power=0.5)
    assert balanced[2] > half[2] > flat[2]


def test_positive_weights() -> None:
    targets = np.array([[1, 0, 0], [1, 0, 1], [0, 0, 1], [1, 0, 1], [1, 1, 1]], dtype=np.float32)
    # Label 0: 4 positives, 1 negative; label 1: 1 vs 4; label 2: 4 vs 1.
    np.testing.assert_allclose(training.positive_weights(targets, power=1.0), [0.25, 4, 0.25])
    np.testing.assert_allclose(training.positive_weights(targets, power=0.5), [0.5, 2, 0.5])
    np.testing.assert_allclose(training.positive_weights(targets[:, :2] * 0, power=1.0), [1, 1])


# --------------------------------------------------------------------------------------
# A tiny end-to-end training run: train, export, load through the registry


def _tiny_multilabel() -> TrainingData:
    words = ("sunny", "rainy", "windy")
    texts = tuple(f"a {words[i % 3]} day number {i}" for i in range(48))
    targets = np.zeros((48, 3), dtype=np.float32)
    for i in range(48):
        targets[i, i % 3] = 1.0
        if i % 4 == 0:
            targets[i, (i + 1) % 3] = 1.0
    return TrainingData(
        name="tiny",
        task="multi-label",
        labels=words,
        train_texts=texts,
        train_targets=targets,
        dev_texts=texts[:12],
        dev_targets=targets[:12],
        test_texts=texts[12:24],
        test_targets=targets[12:24],
    )


@pytest.mark.slow
def test_tiny_training_exports_both_signatures(tmp_path: Path) -> None:
    import tensorflow as tf
    from tensorflow.core.protobuf import saved_model_pb2

    data = _tiny_multilabel()
    config = TrainingConfig(word_tokens=40, char_tokens=60, hidden=4, max_epochs=1)
    trained = training.train_model(data, config=config, log=lambda _: None)
    assert trained.epochs_run == 1
    out = tmp_path / "tiny"
    training.export_saved_model(trained.model, out, labels=data.labels, task=data.task)

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((out / "saved_model.pb").read_bytes())
    sigs = proto.meta_graphs[0].signature_def
    assert sigs["classification"].method_name == tf.saved_model.CLASSIFY_METHOD_NAME
    assert sigs["serving_default"].method_name == tf.saved_model.PREDICT_METHOD_NAME

    loaded = tf.saved_model.load(str(out))
    texts = ["a sunny day", "", "windy"]
    served = loaded.signatures["serving_default"](text=tf.constant(texts))
    logits = served["logits"].numpy()
    keras_logits = training.predict_logits(trained.model, texts)
    np.testing.assert_allclose(logits, keras_logits, atol=1e-5)
    np.testing.assert_allclose(served["scores"].numpy(), 1 / (1 + np.exp(-logits)), atol=1e-6)
    examples = [
        tf.train.Example(
            features=tf.train.Features(
                feature={
                    "text": tf.train.Feature(bytes_list=tf.train.BytesList(value=[t.encode()]))
                }
            )
        ).SerializeToString()
        for t in texts
    ]
    classified = loaded.signatures["classification"](inputs=tf.constant(examples))
    assert classified["classes"].numpy().tolist() == [[w.encode() for w in data.labels]] * 3
    np.testing.assert_allclose(classified["scores"].numpy(), served["scores"].numpy(), atol=1e-6)

    with pytest.raises(FileExistsError, match="export directory already exists"):
        training.export_saved_model(trained.model, out, labels=data.labels, task=data.task)


def _tiny_multiclass() -> TrainingData:
    words = ("sunny", "rainy", "windy")
    # Imbalanced (3:2:1) so that class weights matter; each text names its class.
    targets = np.array([(0, 0, 0, 1, 1, 2)[i % 6] for i in range(60)], dtype=np.int64)
    texts = tuple(f"a {words[c]} day, number {i}" for i, c in enumerate(targets))
    return TrainingData(
        name="tiny",
        task="multi-class",
        labels=words,
        train_texts=texts[:40],
        train_targets=targets[:40],
        dev_texts=texts[40:50],
        dev_targets=targets[40:50],
        test_texts=texts[50:],
        test_targets=targets[50:],
    )


@pytest.mark.slow
@pytest.mark.parametrize("power", [0.0, 1.0])
def test_training_is_deterministic_and_learns(power: float) -> None:
    data = _tiny_multiclass()
    config = TrainingConfig(
        word_tokens=40,
        char_tokens=80,
        hidden=8,
        learning_rate=0.05,
        max_epochs=40,
        patience=10,
        class_weight_power=power,
    )
    runs = [training.train_model(data, config=config, log=lambda _: None) for _ in range(2)]
    first, second = (run.model.get_layer("hidden").get_weights()[0] for run in runs)
    np.testing.assert_array_equal(first, second)
    assert runs[0].best_epoch <= runs[0].epochs_run <= 40
    logits = training.predict_logits(runs[0].model, list(data.test_texts))
    assert np.mean(logits.argmax(axis=1) == data.test_targets) >= 0.9


# --------------------------------------------------------------------------------------
# Command line


def test_cli_rejects_unknown_model(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["train", "imagenet", "--data-dir", ".", "--out", "x"])
    assert exc.value.code == 2
    assert "invalid choice: 'imagenet'" in capsys.readouterr().err


def test_cli_rejects_missing_data_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere"
    code = main(["train", "banking77", "--data-dir", str(missing), "--out", str(tmp_path / "o")])
    assert code == 2
    assert f"error: --data-dir '{missing}' is not a directory" in capsys.readouterr().err


def test_cli_reports_missing_dataset_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["train", "ekman", "--data-dir", str(tmp_path), "--out", str(tmp_path / "o")])
    assert code == 2
    assert "error: dataset file not found:" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
