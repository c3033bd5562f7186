"""``python -m cls_core score`` / ``tune``: happy paths and every bad input of issue 5."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from cls_core.cli import main
from cls_core.errors import ModelLoadError
from cls_core.paths import PROJECT_ROOT

LABELS = ["joy", "anger", "fear"]


def _multiclass(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(3) * 0.7, size=n)
    ids = np.where(rng.random(n) < 0.7, p.argmax(axis=1), rng.integers(0, 3, n))
    frame = pd.DataFrame(p, columns=LABELS)
    frame["label"] = [LABELS[i] for i in ids]
    return frame


def _multilabel(n: int = 200, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    p = rng.random((n, 3))
    truth = rng.random((n, 3)) < p * 0.8
    frame = pd.DataFrame(p, columns=LABELS)
    frame["label"] = [";".join(LABELS[j] for j in np.flatnonzero(row)) for row in truth]
    return frame


def _tune(
    tmp_path: Path, scores: Path, *extra: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, dict[str, object] | None]:
    out = tmp_path / "thresholds.json"
    out.unlink(missing_ok=True)
    code = main(["tune", str(scores), *extra, "--out", str(out)])
    err = capsys.readouterr().err
    return code, err, json.loads(out.read_text()) if out.exists() else None


def test_tune_multilabel_writes_the_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "s.parquet"
    _multilabel().to_parquet(path)
    code, err, doc = _tune(tmp_path, path, "--bootstrap", "200", capsys=capsys)
    assert code == 0, err
    assert doc is not None
    assert doc["labels"] == LABELS and doc["task"] == "multi-label" and doc["objective"] == "f1"
    assert doc["n_examples"] == 200 and len(doc["data_sha256"]) == 64  # type: ignore[arg-type]
    row = doc["per_class"][0]  # type: ignore[index]
    assert {
        "label",
        "threshold",
        "precision",
        "recall",
        "f1",
        "support",
        "tp",
        "fp",
        "fn",
        "threshold_low",
        "f1_high",
    } <= set(row)
    assert set(doc["micro"]) == {"precision", "recall", "f1"}  # type: ignore[call-overload]
    assert "reject_threshold" not in doc
    assert "wrote" in err


@pytest.mark.parametrize(
    "objective",
    [
        "f1",
        "fbeta:0.5",
        "precision>=0.6",
        "recall>=0.9",
        "cost:fp=1,fn=5",
        "coverage>=0.8",
        "accuracy>=0.7",
    ],
)
def test_tune_multiclass_objectives(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], objective: str
) -> None:
    path = tmp_path / "s.csv"
    _multiclass().to_csv(path, index=False)
    code, err, doc = _tune(tmp_path, path, "--objective", objective, capsys=capsys)
    assert code == 0, err
    assert doc is not None and doc["task"] == "multi-class" and doc["objective"] == objective
    assert {"reject_threshold", "coverage", "accuracy"} <= set(doc)


def test_task_override_and_truth_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frame = _multiclass().rename(columns={"label": "gold"})
    path = tmp_path / "s.tsv"
    frame.to_csv(path, index=False, sep="\t")
    code, err, doc = _tune(
        tmp_path, path, "--truth-column", "gold", "--task", "multi-label", capsys=capsys
    )
    assert code == 0, err
    assert doc is not None and doc["task"] == "multi-label"


def _write_bad(tmp_path: Path, kind: str) -> Path:
    frame = _multiclass(20)
    if kind == "missing":
        return tmp_path / "missing.csv"
    path = tmp_path / f"{kind}.csv"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "unreadable":
        path = tmp_path / "dir.csv"
        path.mkdir()
    elif kind == "not-parquet":
        path = tmp_path / "lies.parquet"
        frame.to_csv(path, index=False)
    elif kind == "not-utf8":
        path.write_bytes(b"joy,anger,fear,label\n0.2,0.3,0.5,f\xe9ar\n")
    elif kind == "no-truth":
        frame.drop(columns="label").to_csv(path, index=False)
    elif kind in ("non-numeric", "nan", "inf"):
        frame = frame.astype({"fear": object})
        frame.loc[4, "fear"] = {"non-numeric": "high", "nan": "NaN", "inf": "-inf"}[kind]
        frame.to_csv(path, index=False)
    elif kind == "unknown":
        frame.loc[[2, 9], "label"] = ["love", "pride"]
        frame.to_csv(path, index=False)
    elif kind == "header-only":
        path.write_text("joy,anger,fear,label\n")
    else:
        frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("kind", "extra", "match"),
    [
        ("missing", [], r"^error: file '.*missing.csv' does not exist$"),
        (
            "empty",
            [],
            r"^error: file '.*empty.csv' is empty; expected a header line and data rows \(CSV, TSV, JSONL or Parquet\)$",
        ),
        ("unreadable", [], r"^error: file '.*dir.csv' is a directory, not a file$"),
        (
            "not-parquet",
            [],
            r"^error: file '.*lies.parquet' is not Parquet as its name says: its content looks like CSV$",
        ),
        ("not-utf8", [], r"^error: file '.*' is not valid UTF-8 text: bad byte 0xe9 at offset 34$"),
        ("header-only", [], r"^error: file '.*' has a header but no data rows$"),
        (
            "no-truth",
            [],
            r"^error: file '.*' has no truth column 'label'; columns are \['joy', 'anger', 'fear'\]$",
        ),
        (
            "non-numeric",
            [],
            r"^error: file '.*': non-numeric score 'high' at row 5, column 'fear' \(1 row has bad scores\); every score must be a finite number$",
        ),
        ("nan", [], r"^error: file '.*': NaN score at row 5, column 'fear'"),
        ("inf", [], r"^error: file '.*': infinite score -inf at row 5, column 'fear'"),
        (
            "unknown",
            [],
            r"^error: file '.*': 2 rows have truth labels that are not score columns: 'love', 'pride' \(use --drop-unknown",
        ),
        (
            "good",
            ["--objective", "precision>0.9"],
            r"^error: bad --objective: `objective` must be one of f1, fbeta:B, precision>=P",
        ),
        (
            "good",
            ["--objective", "recall>=2"],
            r"^error: bad --objective: `objective` 'recall>=2' is out of range",
        ),
        ("good", ["--objective", "cost:fp=1"], r"^error: bad --objective"),
        (
            "good",
            ["--bootstrap", "50"],
            r"^error: --bootstrap must be 0 \(none\) or >= 200 resamples; got 50$",
        ),
        ("good", ["--truth-column", "gold"], r"^error: file '.*' has no truth column 'gold'"),
    ],
)
def test_tune_bad_input_exits_2_with_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, extra: list[str], match: str
) -> None:
    path = _write_bad(tmp_path, kind)
    code, err, doc = _tune(tmp_path, path, *extra, capsys=capsys)
    assert code == 2
    assert doc is None  # never a silent success
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert re.search(match, lines[0]), lines[0]


def test_drop_unknown_drops_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err, doc = _tune(
        tmp_path, _write_bad(tmp_path, "unknown"), "--drop-unknown", capsys=capsys
    )
    assert code == 0
    assert doc is not None and doc["n_examples"] == 18
    assert "dropped 2 rows: unknown truth labels ('love', 'pride'); rows 3, 10" in err


def test_coverage_objective_on_multilabel_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "s.csv"
    _multilabel().to_csv(path, index=False)
    code, err, _ = _tune(tmp_path, path, "--objective", "coverage>=0.5", capsys=capsys)
    assert code == 2
    assert (
        err.strip()
        == "error: objective coverage>=0.5 needs a multi-class task; the data is multi-label"
    )


def test_out_directory_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write_bad(tmp_path, "good")
    code = main(["tune", str(path), "--out", str(tmp_path / "nope" / "t.json")])
    assert code == 2
    assert "--out directory" in capsys.readouterr().err


def test_tune_subprocess_never_imports_tensorflow_and_no_traceback(tmp_path: Path) -> None:
    good = _write_bad(tmp_path, "good")
    script = (
        "import sys; from cls_core.cli import main; "
        f"code = main(['tune', {str(good)!r}, '--out', {str(tmp_path / 't.json')!r}]); "
        "print('TF' if 'tensorflow' in sys.modules else 'noTF'); sys.exit(code)"
    )
    run = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "noTF"
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "cls_core",
            "tune",
            str(tmp_path / "none.csv"),
            "--out",
            str(tmp_path / "x.json"),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith("error: file") and "Traceback" not in bad.stderr


# --------------------------------------------------------------------------- score


@dataclass
class _Prediction:
    logits: np.ndarray
    scores: np.ndarray


class _FakeModel:
    labels = ("joy", "anger", "fear")
    calls: ClassVar[list[int]] = []

    def predict(self, texts: list[str]) -> _Prediction:
        _FakeModel.calls.append(len(texts))
        logits = np.array([[len(t) % 3, t.count("a"), 1.0] for t in texts], dtype=np.float32)
        e = np.exp(logits)
        return _Prediction(
            logits=logits, scores=(e / e.sum(axis=1, keepdims=True)).astype(np.float32)
        )


@pytest.fixture
def fake_models(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("cls_core.modelio.registry")

    def load_model(name: str) -> _FakeModel:
        if name != "fake":
            raise ModelLoadError(f"no model named {name!r}; available: fake")
        return _FakeModel()

    module.load_model = load_model  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "cls_core.modelio.registry", module)
    _FakeModel.calls = []


def test_score_streams_in_chunks_and_keeps_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_models: None
) -> None:
    src = tmp_path / "in.csv"
    pd.DataFrame(
        {"id": range(25), "text": [f"a text {i}" for i in range(25)], "label": ["joy"] * 25}
    ).to_csv(src, index=False)
    out = tmp_path / "scores.parquet"
    code = main(
        [
            "score",
            "--model",
            "fake",
            str(src),
            "--text-column",
            "text",
            "--out",
            str(out),
            "--chunk-rows",
            "10",
        ]
    )
    err = capsys.readouterr().err
    assert code == 0, err
    assert _FakeModel.calls == [10, 10, 5]
    frame = pd.read_parquet(out)
    assert frame.columns.tolist() == ["id", "text", "label", "joy", "anger", "fear"]
    assert frame["joy"].dtype == np.float32
    np.testing.assert_allclose(frame[list(LABELS)].sum(axis=1), 1.0, rtol=1e-6)
    assert "scored 25 rows" in err and "wrote" in err
    # the scores file feeds tune directly (labels from the Parquet metadata, model recorded)
    code = main(["tune", str(out), "--out", str(tmp_path / "t.json")])
    assert code == 0, capsys.readouterr().err
    doc = json.loads((tmp_path / "t.json").read_text())
    assert doc["labels"] == LABELS and doc["model"] == "fake"


@pytest.mark.parametrize(
    ("setup", "args", "match"),
    [
        (
            "missing",
            ["--model", "fake", "--text-column", "text"],
            r"^error: file '.*' does not exist$",
        ),
        (
            "good",
            ["--model", "fake", "--text-column", "body"],
            r"^error: file '.*' has no text column 'body'",
        ),
        ("good", ["--model", "other", "--text-column", "text"], r"^error: no model named 'other'"),
        (
            "clash",
            ["--model", "fake", "--text-column", "text"],
            r"^error: input columns \['joy'\] have the same names as the model's labels$",
        ),
        (
            "lies",
            ["--model", "fake", "--text-column", "text"],
            r"^error: file '.*' is not Parquet as its name says",
        ),
    ],
)
def test_score_bad_input(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    fake_models: None,
    setup: str,
    args: list[str],
    match: str,
) -> None:
    src = tmp_path / ("in.parquet" if setup == "lies" else "in.csv")
    frame = pd.DataFrame({"text": ["hi", "there"]})
    if setup == "clash":
        frame["joy"] = [1, 0]
    if setup != "missing":
        frame.to_csv(src, index=False)
    out = tmp_path / "s.parquet"
    code = main(["score", *args, str(src), "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert re.search(match, err[0]), err[0]
    assert not out.exists() and not (tmp_path / "s.parquet.partial").exists()


def test_score_out_extension(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_models: None
) -> None:
    code = main(
        [
            "score",
            "--model",
            "fake",
            "x.csv",
            "--text-column",
            "t",
            "--out",
            str(tmp_path / "s.xlsx"),
        ]
    )
    assert code == 2
    assert "--out must end in .parquet or .csv" in capsys.readouterr().err
