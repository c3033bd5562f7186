"""The decision export (issue 11): thresholds and temperature baked into a SavedModel.

Exactness is checked on sets built to sit on the thresholds: tiny "table" models map the
text ``r<i>`` to row ``i`` of a logits table whose rows walk, one float32 ulp at a time,
across each threshold, so the exported scores land exactly on each cutoff, one ulp below
and one above (the tests assert such rows exist). The bundled models are checked on their
demo sets in tests/test_decision_export_bundled.py.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cls_core.cli import main
from cls_core.errors import ModelLoadError
from cls_core.modelio import serving
from cls_core.modelio.decision_export import (
    CONFIG_FUNCTION,
    DECISION_SIGNATURE,
    EXPORT_CARD_KEY,
    DecisionRule,
    app_export_root,
    baked_decision,
    baked_labels,
    export_decision_model,
    float32_at_least,
    reference_fired,
    validate_export_name,
    zip_model_dir,
)
from cls_core.modelio.registry import load_model

tf = pytest.importorskip("tensorflow")

ML_LABELS = ("joy", "fear", "love", "calm")
ML_THRESHOLDS = (0.3, 0.55, 0.7, 0.4)  # nominal: the fixture picks cutoffs near them
MC_LABELS = ("billing", "delivery", "refund")
MC_THRESHOLDS = (0.6, 0.45, 0.8)
MC_REJECT = 0.5
WINDOW = 300  # float32 steps either side of each threshold's logit


# --------------------------------------------------------------------------- fixtures


def _card(name: str, labels: tuple[str, ...], task: str) -> dict[str, Any]:
    return {
        "name": name,
        "title": f"Table model {name}",
        "task": task,
        "activation": "sigmoid" if task == "multi-label" else "softmax",
        "labels": list(labels),
        "thresholds": [0.5] * len(labels) if task == "multi-label" else None,
        "reject_threshold": None,
        "examples": ["r0", "r1"],
        "dataset": {"name": "table", "source": "tests", "license": "n/a", "attribution": "n/a"},
        "metrics": {},
        "training": {"command": "tests", "date": "2026-12-01", "seed": 0},
    }


def write_table_model(path: Path, labels: tuple[str, ...], task: str, table: np.ndarray) -> None:
    """A SavedModel mapping the text ``r<i>`` to logits ``table[i]`` (unknown text → row 0)."""
    table = np.asarray(table, dtype=np.float32)
    keys = tf.constant([f"r{i}" for i in range(table.shape[0])])
    lookup = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(keys, tf.range(table.shape[0], dtype=tf.int64)), 0
    )
    weights = tf.Variable(table, trainable=False)
    activation = tf.nn.softmax if task == "multi-class" else tf.math.sigmoid

    module = tf.Module()
    module.lookup, module.weights = lookup, weights

    def logits_of(text: Any) -> Any:
        return tf.gather(weights, lookup.lookup(text))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def serving_default(text: Any) -> dict[str, Any]:
        logits = logits_of(text)
        return {"logits": logits, "scores": activation(logits)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="inputs")])
    def classification(inputs: Any) -> dict[str, Any]:
        text = tf.io.parse_example(inputs, {"text": tf.io.FixedLenFeature([], tf.string, "")})
        scores = activation(logits_of(text["text"]))
        classes = tf.tile(tf.constant(list(labels))[tf.newaxis, :], [tf.shape(scores)[0], 1])
        return {"classes": classes, "scores": scores}

    module.serving_default, module.classification = serving_default, classification
    tf.saved_model.save(
        module,
        str(path),
        signatures={"serving_default": serving_default, "classification": classification},
    )
    (path / "model_card.json").write_text(json.dumps(_card(path.name, labels, task)))


def _walk(center: float, steps: int = WINDOW) -> np.ndarray:
    """``2*steps+1`` consecutive float32 values around ``center`` (through zero too)."""
    values = [np.float32(center)]
    for direction in (-np.inf, np.inf):
        x = np.float32(center)
        for _ in range(steps):
            x = np.nextafter(x, np.float32(direction))
            values.append(x)
    return np.sort(np.array(values, dtype=np.float32))


def multilabel_table(temperature: float) -> np.ndarray:
    """Rows whose sigmoid(logit / T) walk across every class's threshold at once."""
    logit = [temperature * math.log(t / (1 - t)) for t in ML_THRESHOLDS]
    return np.stack([_walk(x) for x in logit], axis=1)


def multiclass_table(temperature: float) -> np.ndarray:
    """Rows where one class's softmax score walks across its cutoff (others at logit 0), plus ties."""
    n = len(MC_LABELS)
    cuts = np.maximum(MC_THRESHOLDS, MC_REJECT)
    rows = []
    for w, p in enumerate(cuts):
        x = temperature * math.log((n - 1) * p / (1 - p))
        block = np.zeros((2 * WINDOW + 1, n), dtype=np.float32)
        block[:, w] = _walk(x)
        rows.append(block)
    ties = np.array(
        [[0, 0, 0], [3, 3, 0], [0, 5, 5], [5, 0, 5], [2, 2, 2], [-1, 4, 4], [9, 9, -9]],
        dtype=np.float32,
    )
    return np.concatenate([*rows, ties])


def thresholds_doc(task: str, **extra: Any) -> dict[str, Any]:
    if task == "multi-label":
        doc: dict[str, Any] = {
            "labels": list(ML_LABELS),
            "thresholds": list(ML_THRESHOLDS),
            "task": "multi-label",
        }
    else:
        doc = {
            "labels": list(MC_LABELS),
            "thresholds": list(MC_THRESHOLDS),
            "task": "multi-class",
            "reject_threshold": MC_REJECT,
        }
    doc.update({"objective": "f1", "n_examples": 10, "data_sha256": "ab" * 32, **extra})
    return doc


def write_doc(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(json.dumps(doc))
    return path


def _produced_scores(table: np.ndarray, task: str, temperature: float) -> np.ndarray:
    """The scores TF computes from ``table`` as the export does (the source's at T = 1)."""
    activation = tf.nn.softmax if task == "multi-class" else tf.math.sigmoid
    logits = tf.constant(table)
    if temperature != 1.0:
        logits = logits / tf.constant(temperature, tf.float32)
    return activation(logits).numpy()


def _on_grid(values: np.ndarray, nominal: float) -> np.float32:
    """The produced value nearest ``nominal`` whose float32 neighbours are produced too."""
    present = set(values.tolist())
    ok = [
        v
        for v in present
        if float(np.nextafter(np.float32(v), np.float32(-1))) in present
        and float(np.nextafter(np.float32(v), np.float32(2))) in present
    ]
    assert ok, f"no score near {nominal} has both float32 neighbours in the table"
    return np.float32(min(ok, key=lambda v: abs(v - nominal)))


def on_threshold_doc(task: str, table: np.ndarray, temperature: float) -> dict[str, Any]:
    """A thresholds.json whose cutoffs are scores the export produces, with both neighbours.

    Odd classes get a threshold halfway between the cutoff and the float32 below it (a
    float64 number no float32 equals), even classes the cutoff itself.
    """
    scores = _produced_scores(table, task, temperature)

    def threshold(v: np.float32, c: int) -> float:
        if c % 2 == 0:
            return float(v)
        return (float(v) + float(np.nextafter(v, np.float32(-1)))) / 2

    if task == "multi-label":
        cuts = [_on_grid(scores[:, c], t) for c, t in enumerate(ML_THRESHOLDS)]
        return thresholds_doc(task, thresholds=[threshold(v, c) for c, v in enumerate(cuts)])
    winners = np.argmax(scores, axis=1)
    nominal = np.maximum(MC_THRESHOLDS, MC_REJECT)
    cuts = [_on_grid(scores[winners == c, c], nominal[c]) for c in range(len(MC_LABELS))]
    # Class 1's cutoff comes from the reject threshold (its own threshold is lower).
    return thresholds_doc(
        task,
        thresholds=[threshold(cuts[0], 0), MC_THRESHOLDS[1], threshold(cuts[2], 2)],
        reject_threshold=threshold(cuts[1], 1),
    )


EXPORTS = {
    ("multi-label", 1.0): "ml_t1",
    ("multi-label", 2.5): "ml_t25",
    ("multi-class", 1.0): "mc_t1",
    ("multi-class", 0.7): "mc_t07",
}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model root holding one table model per (task, temperature) of ``EXPORTS``."""
    base = tmp_path_factory.mktemp("roots") / "models"
    base.mkdir()
    for (task, t), name in EXPORTS.items():
        table = multilabel_table(t) if task == "multi-label" else multiclass_table(t)
        labels = ML_LABELS if task == "multi-label" else MC_LABELS
        write_table_model(base / name, labels, task, table)
    return base


@pytest.fixture(scope="module")
def exported(root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[Any, Any]:
    """Each table model exported at its temperature with thresholds sitting on its scores."""
    docs = tmp_path_factory.mktemp("docs")
    out: dict[Any, Any] = {}
    for (task, t), source in EXPORTS.items():
        table = multilabel_table(t) if task == "multi-label" else multiclass_table(t)
        doc = write_doc(docs / f"{source}.json", on_threshold_doc(task, table, t))
        result = export_decision_model(
            source, doc, out_dir=root / f"{source}_exp", temperature=t, roots=[root]
        )
        out[task, t] = (result, load_model(f"{source}_exp", roots=[root]), doc)
    return out


def _run(model: Any, n_rows: int) -> dict[str, np.ndarray]:
    sig = model._saved_model.signatures["serving_default"]
    got = sig(text=tf.constant([f"r{i}" for i in range(n_rows)]))
    return {k: v.numpy() for k, v in got.items()}


# --------------------------------------------------------------------------- the rule


def test_float32_at_least_is_the_smallest_float32_not_below() -> None:
    values = np.array([0.0, 0.1, 0.3, 0.5, 0.7, 1.0, 0.123456789, 1e-40])
    cut = float32_at_least(values)
    assert cut.dtype == np.float32
    for v, c in zip(values, cut, strict=True):
        assert float(c) >= v
        below = np.nextafter(c, np.float32(-np.inf))
        assert float(below) < v


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"temperature": 0.0}, r"`temperature` must be a finite number > 0; got 0.0"),
        ({"temperature": -1.0}, r"`temperature` must be a finite number > 0; got -1.0"),
        ({"temperature": math.nan}, r"`temperature` must be a finite number > 0; got nan"),
        ({"temperature": math.inf}, r"`temperature` must be a finite number > 0; got inf"),
        ({"thresholds": (0.5,)}, r"`thresholds` must hold one number per label \(2\); got 1"),
        (
            {"thresholds": (0.5, 1.5)},
            r"`thresholds\[1\]` must be in \[0, 1\] \(or \+inf: switched off\); got 1.5",
        ),
        ({"reject_threshold": 0.5}, r"`reject_threshold` must be None for a multi-label rule"),
        (
            {"task": "ranking"},
            r"`task` must be one of multi-class, multi-label, binary; got 'ranking'",
        ),
    ],
)
def test_rule_refuses_bad_values(kwargs: dict[str, Any], message: str) -> None:
    base: dict[str, Any] = {"task": "multi-label", "labels": ("a", "b"), "thresholds": (0.5, 0.5)}
    with pytest.raises(ValueError, match=message):
        DecisionRule(**{**base, **kwargs})


def test_multiclass_cutoffs_fold_in_the_reject_threshold() -> None:
    rule = DecisionRule(
        task="multi-class", labels=MC_LABELS, thresholds=MC_THRESHOLDS, reject_threshold=0.5
    )
    assert rule.cutoffs().tolist() == float32_at_least([0.6, 0.5, 0.8]).tolist()


# --------------------------------------------------------------------------- exactness


@pytest.mark.parametrize(("task", "temperature"), list(EXPORTS))
def test_fired_equals_cls_core_on_the_threshold_set(
    exported: dict[Any, Any], task: str, temperature: float
) -> None:
    result, model, doc_path = exported[task, temperature]
    table_rows = 2 * WINDOW + 1 if task == "multi-label" else 3 * (2 * WINDOW + 1) + 7
    got = _run(model, table_rows)
    rule = result.rule
    want = reference_fired(got["scores"], rule)
    assert got["fired"].dtype == bool
    np.testing.assert_array_equal(got["fired"], want)  # 100% of rows
    # The set really sits on the thresholds: equal, one ulp below, one ulp above.
    cuts = rule.cutoffs()
    scores = got["scores"]
    for c in range(len(rule.labels)):
        if task == "multi-class":
            winners = np.argmax(scores, axis=1) == c
            column = scores[winners, c]
        else:
            column = scores[:, c]
        below = np.nextafter(cuts[c], np.float32(-np.inf))
        above = np.nextafter(cuts[c], np.float32(np.inf))
        for value, name in ((cuts[c], "equal"), (below, "one ulp below"), (above, "one ulp above")):
            assert (column == value).any(), f"no row {name} the cutoff of class {c}"
        if task == "multi-label":  # and, directly: equal fires, one ulp below does not
            assert got["fired"][column == cuts[c], c].all()
            assert not got["fired"][column == below, c].any()
    # Odd classes' thresholds lie strictly between two float32s: the cutoff is the upper one.
    doc = json.loads(doc_path.read_text())
    t1 = doc["reject_threshold"] if task == "multi-class" else doc["thresholds"][1]
    assert float(np.float32(t1)) != t1
    assert float(cuts[1]) > t1 > float(np.nextafter(cuts[1], np.float32(-1)))


@pytest.mark.parametrize(("task", "temperature"), list(EXPORTS))
def test_labels_n_fired_and_the_decision_signature(
    exported: dict[Any, Any], task: str, temperature: float
) -> None:
    result, model, _ = exported[task, temperature]
    n_rows = 2 * WINDOW + 1 if task == "multi-label" else 3 * (2 * WINDOW + 1) + 7
    got = _run(model, n_rows)
    labels = np.array(result.rule.labels, dtype=object)
    for i in range(n_rows):
        fired = np.flatnonzero(got["fired"][i])
        order = sorted(fired, key=lambda c: (-float(got["scores"][i, c]), c))
        want = [*labels[order], *[""] * (len(labels) - len(order))]
        assert [x.decode() for x in got["labels"][i]] == want
        assert got["n_fired"][i] == len(order)
    texts = [f"r{i}" for i in range(n_rows)]
    examples = tf.constant([serving.serialize_text_example(t) for t in texts])
    decision = model._saved_model.signatures[DECISION_SIGNATURE](inputs=examples)
    classes, scores = decision["classes"].numpy(), decision["scores"].numpy()
    k = len(labels) if task == "multi-label" else 1
    assert classes.shape == scores.shape == (n_rows, k)
    np.testing.assert_array_equal(classes, got["labels"][:, :k])
    for i in range(n_rows):
        index = {name: c for c, name in enumerate(result.rule.labels)}
        for label, score in zip(classes[i], scores[i], strict=True):
            if label == b"":
                assert score == 0.0
            else:
                assert score == got["scores"][i, index[label.decode()]]
    # classification: every class, in class-id order, scores after the temperature.
    classify = model._saved_model.signatures["classification"](inputs=examples)
    np.testing.assert_array_equal(classify["scores"].numpy(), got["scores"])
    assert [x.decode() for x in classify["classes"].numpy()[0]] == list(labels)


@pytest.mark.parametrize(("task", "temperature"), list(EXPORTS))
def test_scores_follow_the_temperature(
    exported: dict[Any, Any], root: Path, task: str, temperature: float
) -> None:
    result, model, _ = exported[task, temperature]
    source = load_model(EXPORTS[task, temperature], roots=[root])
    texts = [f"r{i}" for i in range(0, 600, 7)]
    src, exp = source.predict(texts), model.predict(texts)
    if temperature == 1.0:
        np.testing.assert_array_equal(exp.scores, src.scores)  # bit for bit
        np.testing.assert_array_equal(exp.logits, src.logits)
    else:
        from cls_core.scoring.activations import apply_activation

        want = apply_activation(src.logits, result.rule.activation, temperature=temperature)
        np.testing.assert_allclose(exp.scores, want, rtol=0, atol=2e-7)
        np.testing.assert_allclose(exp.logits, src.logits / np.float32(temperature), rtol=1e-6)


# --------------------------------------------------------------------------- reading back


def test_registry_loads_the_export_and_the_model_holds_the_decision(
    exported: dict[Any, Any], root: Path
) -> None:
    result, model, doc = exported["multi-class", 0.7]
    baked = baked_decision(model)
    written = json.loads(doc.read_text())
    assert baked is not None
    assert baked.rule == result.rule
    assert baked.thresholds == tuple(written["thresholds"])
    assert baked.reject_threshold == written["reject_threshold"]
    assert baked.temperature == 0.7
    assert baked.cutoffs == tuple(float(c) for c in result.rule.cutoffs())
    assert callable(getattr(model._saved_model, CONFIG_FUNCTION))
    # A plain model has no baked decision.
    assert baked_decision(load_model("mc_t1", roots=[root])) is None
    # The card records provenance.
    card = model.card
    assert card.task == "multi-class"
    assert card.reject_threshold == written["reject_threshold"]
    record = card.raw[EXPORT_CARD_KEY]
    assert record["source_model"] == "mc_t07"
    assert record["thresholds_sha256"] == hashlib.sha256(doc.read_bytes()).hexdigest()
    assert record["objective"] == "f1"
    assert record["data_sha256"] == "ab" * 32
    assert record["temperature"] == 0.7
    assert record["source_fingerprint"]["sha256_of_files"]
    assert "tf_singleprint" in record["source_fingerprint"]
    assert record["date"].startswith("20")
    assert card.raw["winner_thresholds"] == written["thresholds"]


def test_the_card_leaves_the_decision_to_the_model(exported: dict[Any, Any], root: Path) -> None:
    """Editing the exported card's thresholds changes nothing the model decides."""
    result, model, doc = exported["multi-label", 1.0]
    written = json.loads(doc.read_text())["thresholds"]
    card_path = result.path / "model_card.json"
    raw = json.loads(card_path.read_text())
    assert raw["thresholds"] == written
    raw["thresholds"] = [0.99] * len(written)
    card_path.write_text(json.dumps(raw))
    reloaded = load_model(result.path.name, roots=[root])
    assert reloaded.card.thresholds == (0.99,) * len(written)
    baked = baked_decision(reloaded)
    assert baked is not None and baked.thresholds == tuple(written)
    np.testing.assert_array_equal(
        reloaded.predict(["r10", "r300"]).scores, model.predict(["r10", "r300"]).scores
    )
    raw["thresholds"] = written
    card_path.write_text(json.dumps(raw))


@pytest.mark.parametrize("key", ["classification", DECISION_SIGNATURE])
@pytest.mark.parametrize(("task", "temperature"), [("multi-label", 1.0), ("multi-class", 0.7)])
def test_classify_linter_passes(
    exported: dict[Any, Any], key: str, task: str, temperature: float
) -> None:
    result, model, _ = exported[task, temperature]
    signature = serving.read_signature_defs(result.path)[key]
    out = model._saved_model.signatures[key](
        inputs=tf.constant([serving.serialize_text_example("r1")])
    )
    lint = serving.lint_classify_signature(
        signature,
        labels=result.rule.labels,
        observed_classes=out["classes"].numpy(),
        decision=key == DECISION_SIGNATURE,
    )
    failed = [(r.rule, r.explanation) for r in lint if r.passed is not True]
    assert failed == []


# --------------------------------------------------------------------------- refusals


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["export", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def env_root(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CLS_MODEL_DIRS", str(root))
    return root


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("labels", r"error: .*its 4 labels do not match the model's 3 labels"),
        ("task", r"error: .*holds multi-label thresholds, but model 'mc_t1' is multi-class"),
        ("model", r"error: .*it was made for model 'other', not 'mc_t1'"),
        ("t0", r"error: bad --temperature: `temperature` must be a finite number > 0; got 0.0"),
        ("tneg", r"error: bad --temperature: `temperature` must be a finite number > 0; got -2.0"),
        ("tnan", r"error: bad --temperature: `temperature` must be a finite number > 0; got nan"),
        ("tinf", r"error: bad --temperature: `temperature` must be a finite number > 0; got inf"),
        ("unknown", r"error: unknown model 'nosuch'"),
        ("broken", r"error: cannot load model 'broken': no saved_model.pb"),
        ("path", r"error: cannot load model '../mc_t1': a model name is a plain directory name"),
        ("missing", r"error: --thresholds '.*nothing.json' is not a file"),
    ],
)
def test_cli_refusals(
    env_root: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    case: str,
    message: str,
) -> None:
    (env_root / "broken").mkdir(exist_ok=True)
    doc = thresholds_doc("multi-class")
    model, temperature = "mc_t1", "1"
    if case == "labels":
        doc = thresholds_doc("multi-label")
    elif case == "task":
        doc = {**thresholds_doc("multi-label"), "labels": list(MC_LABELS), "thresholds": [0.5] * 3}
    elif case == "model":
        doc["model"] = "other"
    elif case.startswith("t"):
        temperature = {"t0": "0", "tneg": "-2", "tnan": "nan", "tinf": "inf"}[case]
    elif case in ("unknown", "broken", "path"):
        model = {"unknown": "nosuch", "broken": "broken", "path": "../mc_t1"}[case]
    path = write_doc(tmp_path / "thresholds.json", doc)
    if case == "missing":
        path = tmp_path / "nothing.json"
    out = tmp_path / "out"
    status, stdout, stderr = _cli(
        capsys,
        "--model",
        model,
        "--thresholds",
        str(path),
        "--temperature",
        temperature,
        "--out",
        str(out),
    )
    assert status == 2
    assert stdout == ""
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert re.search(message, stderr), stderr
    assert not out.exists()


def test_cli_out_dir_rules(
    env_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = write_doc(tmp_path / "thresholds.json", thresholds_doc("multi-label"))
    args = ["--model", "ml_t1", "--thresholds", str(doc), "--out"]
    # A non-empty directory that is not a SavedModel: refused, even with --force.
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "notes.txt").write_text("mine")
    status, _, err = _cli(capsys, *args, str(keep))
    assert status == 2
    assert "exists and is not empty; choose a new directory or pass --force" in err
    status, _, err = _cli(capsys, *args, str(keep), "--force")
    assert status == 2
    assert "holds no saved_model.pb: refusing to replace it even with --force" in err
    assert (keep / "notes.txt").read_text() == "mine"
    # The source model's own directory: refused.
    status, _, err = _cli(capsys, *args, str(env_root / "ml_t1"), "--force")
    assert status == 2
    assert "overlaps the source model's directory" in err
    # An empty directory is fine; a second export needs --force and replaces it.
    out = tmp_path / "ml_export"
    out.mkdir()
    status, stdout, err = _cli(capsys, *args, str(out))
    assert status == 0, err
    assert stdout.strip() == str(out)
    assert "signatures serving_default, classification, decision" in err
    first = json.loads((out / "model_card.json").read_text())[EXPORT_CARD_KEY]
    assert first["command"].startswith("cls-explorer export --model ml_t1 --thresholds")
    status, _, err = _cli(capsys, *args, str(out))
    assert status == 2
    assert "exists and is not empty" in err
    status, _, err = _cli(capsys, *args, str(out), "--temperature", "2", "--force")
    assert status == 0, err
    assert json.loads((out / "model_card.json").read_text())[EXPORT_CARD_KEY]["temperature"] == 2.0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no leftovers


def test_a_hidden_output_name_is_refused(root: Path, tmp_path: Path) -> None:
    doc = json.dumps(thresholds_doc("multi-label")).encode()
    for name in (".hidden", "_private"):
        with pytest.raises(ValueError, match="the registry ignores such directories"):
            export_decision_model("ml_t1", doc, out_dir=tmp_path / name, roots=[root])
        assert not (tmp_path / name).exists()


def test_switched_off_class_never_fires(root: Path, tmp_path: Path) -> None:
    """thresholds.json's null (switched off, +inf) becomes a cutoff no score reaches."""
    doc = thresholds_doc("multi-label", thresholds=[0.0, None, 0.5, 0.5], switched_off=["fear"])
    path = write_doc(tmp_path / "thresholds.json", doc)
    result = export_decision_model(
        "ml_t1", path, out_dir=root / "ml_off_exp", temperature=1.0, roots=[root]
    )
    assert result.rule.thresholds[1] == math.inf
    model = load_model("ml_off_exp", roots=[root])
    got = _run(model, 2 * WINDOW + 1)
    assert got["fired"][:, 0].all()  # threshold 0: always
    assert not got["fired"][:, 1].any()  # switched off: never
    np.testing.assert_array_equal(got["fired"], reference_fired(got["scores"], result.rule))
    card = json.loads((result.path / "model_card.json").read_text())
    assert card["switched_off"] == ["fear"]
    assert card["decision_export"]["thresholds"] == [0.0, None, 0.5, 0.5]
    baked = baked_decision(model)
    assert baked is not None and baked.thresholds[1] == math.inf


def test_python_api_refuses_a_model_the_registry_cannot_load(root: Path, tmp_path: Path) -> None:
    bad = root / "badcard"
    bad.mkdir(exist_ok=True)
    (bad / "saved_model.pb").write_bytes(b"not a proto")
    (bad / "model_card.json").write_text(json.dumps(_card("badcard", ML_LABELS, "multi-label")))
    with pytest.raises(ModelLoadError, match="unreadable or corrupt"):
        export_decision_model(
            "badcard",
            json.dumps(thresholds_doc("multi-label")).encode(),
            out_dir=tmp_path / "x",
            roots=[root],
        )
    assert not (tmp_path / "x").exists()


# --------------------------------------------------------------------------- own models


WORDS = [
    "ball",
    "vote",
    "chip",
    "goal",
    "law",
    "code",
    "team",
    "tax",
    "data",
    "match",
    "bill",
    "net",
    "run",
    "poll",
    "app",
    "win",
]


def _own_texts(n: int = 240) -> list[str]:
    rng = np.random.default_rng(7)
    return [" ".join(rng.choice(WORDS, size=int(rng.integers(1, 7)))) for _ in range(n)]


@pytest.mark.parametrize(
    ("kind", "temperature"),
    [("keras_probs", 1.0), ("keras_probs", 1.8), ("binary_sigmoid", 1.0), ("module_logits", 0.6)],
)
def test_own_model_export(
    own_model_root: Path, tmp_path: Path, kind: str, temperature: float
) -> None:
    """Own models (issue 10) through their adapter: probabilities pass through at T = 1."""
    source = load_model(kind, roots=[own_model_root])
    texts = _own_texts()
    src = source.predict(texts)
    # Thresholds at the per-class median score: rows sit exactly on them at T = 1.
    cut = [
        float(np.quantile(src.scores[:, c], 0.5, method="lower")) for c in range(len(source.labels))
    ]
    doc: dict[str, Any] = {
        "labels": list(source.labels),
        "thresholds": cut,
        "task": source.task,
        "objective": "manual",
    }
    if source.task == "multi-class":
        doc["reject_threshold"] = 0.4
    path = write_doc(tmp_path / "thresholds.json", doc)
    out_root = tmp_path / "exports"
    out_root.mkdir()
    result = export_decision_model(
        kind,
        path,
        out_dir=out_root / f"{kind}-exp",
        temperature=temperature,
        roots=[own_model_root],
    )
    exported = load_model(f"{kind}-exp", roots=[out_root])
    assert exported.card.adapter is None  # standard signatures now
    assert exported.labels == source.labels
    got = _run_texts(exported, texts)
    np.testing.assert_array_equal(got["fired"], reference_fired(got["scores"], result.rule))
    if temperature == 1.0:
        np.testing.assert_array_equal(got["scores"], src.scores)  # the model's own values
        np.testing.assert_allclose(got["logits"], src.logits, rtol=0, atol=1e-5)
        assert (got["scores"] == np.float32(cut)[np.newaxis, :]).any()  # on the threshold
    else:
        from cls_core.scoring.activations import apply_activation

        want = apply_activation(src.logits, source.activation, temperature=temperature)
        np.testing.assert_allclose(got["scores"], want, rtol=0, atol=1e-6)
    assert got["fired"].any() and not got["fired"].all()


def _run_texts(model: Any, texts: list[str]) -> dict[str, np.ndarray]:
    out = model._saved_model.signatures["serving_default"](text=tf.constant(texts))
    return {k: v.numpy() for k, v in out.items()}


def test_own_model_fed_tf_examples_is_refused(own_model_root: Path, tmp_path: Path) -> None:
    source = load_model("estimator_classify", roots=[own_model_root])
    doc = {"labels": list(source.labels), "thresholds": [0.5] * 3, "task": source.task}
    with pytest.raises(ValueError, match=r"reads its text from the tf\.Example feature 'review'"):
        export_decision_model(
            "estimator_classify",
            json.dumps(doc).encode(),
            out_dir=tmp_path / "x",
            roots=[own_model_root],
        )
    assert not (tmp_path / "x").exists()


# --------------------------------------------------------------------------- the app's side


@pytest.mark.parametrize(
    "name", ["", "../x", "a/b", ".hidden", "_x", "-x", "a b", "x" * 65, "naïve", "a.b"]
)
def test_export_names_typed_in_the_app_are_plain_names(name: str) -> None:
    with pytest.raises(ValueError, match="the export name must be 1-64 letters, digits"):
        validate_export_name(name)


def test_export_root_is_never_the_bundled_models(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from cls_core import paths

    monkeypatch.delenv("CLS_MODEL_DIRS", raising=False)
    assert app_export_root() == paths.EXPORTS_ROOT
    assert paths.model_roots()[-1] == paths.EXPORTS_ROOT  # listed: exports load
    monkeypatch.setenv("CLS_MODEL_DIRS", str(tmp_path))
    assert app_export_root() == tmp_path.resolve()


def test_zip_has_the_model_under_its_name_and_a_size_limit(exported: dict[Any, Any]) -> None:
    result, _, _ = exported["multi-class", 1.0]
    data = zip_model_dir(result.path)
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert f"{result.path.name}/saved_model.pb" in names
    assert f"{result.path.name}/model_card.json" in names
    with pytest.raises(ValueError, match="over the 0 MB download limit"):
        zip_model_dir(result.path, max_bytes=1000)


def _app_test(root: Path, monkeypatch: pytest.MonkeyPatch, page: str, **query: str) -> Any:
    from streamlit.testing.v1 import AppTest

    from cls_core.paths import PROJECT_ROOT
    from pages import _shared

    monkeypatch.setenv("CLS_MODEL_DIRS", str(root))
    _shared.model_listing.clear()
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=300)
    for key, value in query.items():
        at.query_params[key] = value
    at.switch_page(page)
    return at.run()


def test_playground_shows_the_baked_decision(
    exported: dict[Any, Any], root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, model, _ = exported["multi-label", 1.0]
    text = "r450"
    at = _app_test(root, monkeypatch, "pages/playground.py", model=result.path.name, text=text)
    assert not at.exception, [e.value for e in at.exception]
    panel = next(m.value for m in at.markdown if "Decision baked in" in m.value)
    fired = baked_labels(model, [text])[0]
    assert fired, "pick a row that fires"
    assert "the model itself answers " + ", ".join(f"**{x}**" for x in fired) in panel
    assert any("Read from the model (`decision_config()`)" in c.value for c in at.caption)
    # A model without a baked decision shows no panel.
    at = _app_test(root, monkeypatch, "pages/playground.py", model="ml_t1", text=text)
    assert not any("Decision baked in" in m.value for m in at.markdown)


def test_signature_page_lints_the_decision_signature(
    exported: dict[Any, Any], root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, _, _ = exported["multi-class", 0.7]
    at = _app_test(root, monkeypatch, "pages/signature.py", model=result.path.name)
    assert not at.exception, [e.value for e in at.exception]
    assert any("The `decision` signature" in s.value for s in at.subheader)
    assert any("clients must drop the entries whose label is" in m.value for m in at.markdown)
    assert any("rules pass for `decision`" in s.value for s in at.success)


def _heading(at: Any) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("### "))


def test_a_tampered_card_does_not_change_the_playgrounds_decision(
    exported: dict[Any, Any], root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Playground decides with the model's constants: editing the card changes nothing."""
    ml_result, ml_model, _ = exported["multi-label", 1.0]
    mc_result, mc_model, _ = exported["multi-class", 0.7]
    # multi-class: a row where class 2 wins with a score between the reject threshold (0.5)
    # and its own threshold (0.8): the model abstains; the reject threshold alone would not
    texts = [f"r{i}" for i in range(3 * (2 * WINDOW + 1))]
    scores = mc_model.predict(texts).scores
    cut = mc_result.rule.cutoffs()[2]
    between = (np.argmax(scores, axis=1) == 2) & (scores[:, 2] >= 0.55) & (scores[:, 2] < cut)
    mc_text = texts[int(np.flatnonzero(between)[0])]
    assert baked_labels(mc_model, [mc_text]) == [[]]
    ml_text = "r450"
    ml_fired = baked_labels(ml_model, [ml_text])[0]
    assert ml_fired, "pick a row that fires"
    paths = [result.path / "model_card.json" for result in (ml_result, mc_result)]
    saved = [path.read_text() for path in paths]
    try:
        ml_card = json.loads(saved[0])
        ml_card["thresholds"] = [0.99] * len(ml_card["thresholds"])  # nothing would fire
        paths[0].write_text(json.dumps(ml_card))
        mc_card = json.loads(saved[1])
        mc_card["reject_threshold"] = 0.0  # never abstain ...
        mc_card.pop("winner_thresholds")  # ... and no per-class thresholds
        paths[1].write_text(json.dumps(mc_card))
        cases = [
            (ml_result, ml_text, set(ml_fired)),
            (mc_result, mc_text, "### Abstain: the top score is below its class's threshold."),
        ]
        for result, text, want in cases:
            name = result.path.name
            at = _app_test(root, monkeypatch, "pages/playground.py", model=name, text=text)
            assert not at.exception, [e.value for e in at.exception]
            heading = _heading(at).replace("\\", "")  # Markdown escapes
            if isinstance(want, set):  # the heading lists the labels in class-id order
                assert heading.startswith("### Predicted label"), heading
                assert {x.strip() for x in heading.split(":", 1)[1].split(",")} == want
                labels = [e.label for e in at.expander]
                assert any(
                    "Thresholds per class (the model's own, baked into it" in x for x in labels
                )
            else:
                assert heading == want
            panel = next(m.value for m in at.markdown if "Decision baked in" in m.value)
            baked = baked_labels(load_model(name, roots=[root]), [text])[0]
            assert (", ".join(f"**{x}**" for x in baked) if baked else "abstains") in panel
        # the "Another model" tab: the multi-label export as the *other* model decides with
        # its constants too (its card says 0.99 everywhere: nothing would fire)
        at = _app_test(
            root,
            monkeypatch,
            "pages/playground.py",
            model=mc_result.path.name,
            text=ml_text,
            tab="Another model",
        )
        at.selectbox(key=f"other_model.{mc_result.path.name}").set_value(ml_result.path.name).run()
        assert not at.exception, [e.value for e in at.exception]
        column = next(
            i
            for i, m in enumerate(at.markdown)
            if m.value.replace("\\", "").startswith(f"**{ml_result.path.name}**")
        )
        sentence = at.markdown[column + 1].value.replace("\\", "")
        assert sentence.startswith("Predicted label"), sentence
        assert {x.strip() for x in sentence.split(":", 1)[1].split(",")} == set(ml_fired)
    finally:
        for path, text in zip(paths, saved, strict=True):
            path.write_text(text)


@pytest.mark.slow
def test_tuning_page_export_installs_and_zips(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tuning page's "Export as SavedModel" glue (``_decision_ui._export``, which the
    button runs; the click itself is driven in tests/browser/test_decision_export_browser.py):
    installed under the export root with the page's thresholds.json, a zip below the size
    limit, none above it (with the reason), and a name that exists refused."""
    from cls_core.modelio import decision_export
    from cls_core.modelio.registry import list_models
    from pages import _decision_ui, _shared

    card = list_models().get("goemotions")
    if card is None:
        pytest.skip("the goemotions model is not installed")
    exports = tmp_path / "exports"
    exports.mkdir()
    monkeypatch.setenv("CLS_MODEL_DIRS", str(exports))
    _shared.model_listing.clear()
    doc_text = json.dumps(
        {
            "labels": list(card.labels),
            "thresholds": [0.3] * len(card.labels),
            "task": "multi-label",
            "objective": "f1",
            "data_sha256": "cd" * 32,
            "n_examples": 120,
        },
        indent=2,
    )
    source = "data scores.csv (sha256 cdcdcdcdcdcd…)"
    record = _decision_ui._export(card, doc_text, "page-export", 1.0, source)
    assert record["name"] == "page-export" and record["root"] == str(exports)
    assert record["zip_error"] is None
    names = zipfile.ZipFile(io.BytesIO(record["zip"])).namelist()
    assert "page-export/saved_model.pb" in names and "page-export/model_card.json" in names
    assert len(record["zip"]) <= decision_export.MAX_ZIP_BYTES
    provenance = json.loads((exports / "page-export" / "model_card.json").read_text())[
        EXPORT_CARD_KEY
    ]
    assert provenance["thresholds_sha256"] == hashlib.sha256(doc_text.encode()).hexdigest()
    assert provenance["data_sha256"] == "cd" * 32
    assert provenance["command"] == (
        f"Threshold tuning page: model goemotions, {source}, temperature 1"
    )
    assert "page-export" in _shared.model_listing().names  # listed at once
    # over the download limit: installed, no zip, and the reason for the page to show
    real_zip = decision_export.zip_model_dir
    monkeypatch.setattr(
        decision_export, "zip_model_dir", lambda path: real_zip(path, max_bytes=1000)
    )
    record = _decision_ui._export(card, doc_text, "page-export-2", 1.0, source)
    assert (exports / "page-export-2" / "saved_model.pb").is_file()
    assert record["zip"] is None
    assert re.fullmatch(
        r"the model is [0-9.]+ MB, over the 0 MB download limit; copy its directory instead",
        record["zip_error"],
    )
    # a name that exists, or one that is a path: refused, nothing replaced or written
    stamp = (exports / "page-export" / "saved_model.pb").stat().st_mtime_ns
    with pytest.raises(ValueError, match="a model named 'page-export' already exists"):
        _decision_ui._export(card, doc_text, "page-export", 1.0, source)
    with pytest.raises(ValueError, match="the export name must be 1-64 letters"):
        _decision_ui._export(card, doc_text, "../escape", 1.0, source)
    assert (exports / "page-export" / "saved_model.pb").stat().st_mtime_ns == stamp
    assert sorted(p.name for p in exports.iterdir()) == ["page-export", "page-export-2"]
