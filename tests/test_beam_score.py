"""``cls-explorer score --runner direct``: the Beam scoring pipeline against the in-process score.

One end-to-end run (bundled banking77, 2,000 rows in two CSV shards, direct runner in
multi_processing mode with 2 workers) must equal the in-process ``score`` of the same rows
exactly: same columns, dtypes, values and Parquet schema metadata. Both use chunks of 500
rows, so every text is scored in the same batch (the model's scores move in the last bit
with the batch; see cls_core/pipelines/model_handler.py). Bad inputs fail at construction
time with exit status 2 and one ``error:`` line.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

pytest.importorskip("apache_beam")

from cls_core.cli import main
from cls_core.evaluation.demo_data import demo_eval_set
from cls_core.paths import model_roots

MODEL = "banking77"
ROWS = 2000
CHUNK = "500"

pytestmark = pytest.mark.skipif(
    not any((root / MODEL / "saved_model.pb").exists() for root in model_roots()),
    reason=f"the bundled model {MODEL} is not in the model roots",
)


def _rows() -> pd.DataFrame:
    demo = demo_eval_set(MODEL)
    texts = demo["text"].tolist()
    n = len(texts)
    return pd.DataFrame(
        {
            "id": np.arange(ROWS),
            "text": [
                texts[i % n] if i < n else f"{texts[i % n]} (case {i // n})" for i in range(ROWS)
            ],
            "weight": np.linspace(0.0, 1.0, ROWS),
            "source": ["demo" if i % 2 else "" for i in range(ROWS)],
        }
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The in-process score (in a subprocess that must not import Beam) and the Beam score."""
    root = tmp_path_factory.mktemp("beam_score")
    frame = _rows()
    whole = root / "all.csv"
    frame.to_csv(whole, index=False)
    shards = root / "in"
    shards.mkdir()
    frame.iloc[:1000].to_csv(shards / "part-0.csv", index=False)
    frame.iloc[1000:].to_csv(shards / "part-1.csv", index=False)
    reference = root / "ref.parquet"
    code = (
        "import sys\n"
        "from cls_core.cli import main\n"
        f"rc = main(['score', {str(whole)!r}, '--model', {MODEL!r}, '--text-column', 'text', "
        f"'--out', {str(reference)!r}, '--chunk-rows', {CHUNK!r}])\n"
        "leaked = sorted(m for m in sys.modules if m.split('.')[0] == 'apache_beam')\n"
        "print('beam modules:', len(leaked))\n"
        "sys.exit(rc)\n"
    )
    in_process = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    out = root / "beam"
    out.mkdir()
    status = main(
        [
            "score",
            str(shards / "part-*.csv"),
            "--model",
            MODEL,
            "--text-column",
            "text",
            "--out",
            str(out) + "/",
            "--chunk-rows",
            CHUNK,
            "--runner",
            "direct",
        ]
    )
    stdout, stderr = in_process.communicate(timeout=600)
    return {
        "beam_status": status,
        "beam_files": sorted(out.glob("scores-*-of-*.parquet")),
        "ref_status": in_process.returncode,
        "ref_stdout": stdout,
        "ref_stderr": stderr,
        "reference": reference,
        "root": root,
    }


def test_in_process_score_does_not_import_beam(runs: dict[str, Any]) -> None:
    assert runs["ref_status"] == 0, runs["ref_stderr"]
    assert "beam modules: 0" in runs["ref_stdout"]


def test_beam_scores_equal_in_process_scores_exactly(runs: dict[str, Any]) -> None:
    assert runs["beam_status"] == 0
    assert runs["ref_status"] == 0, runs["ref_stderr"]
    files = runs["beam_files"]
    assert files, "no output shard written"
    reference = pq.read_table(runs["reference"])
    tables = [pq.read_table(f) for f in files]
    for table in tables:
        # same columns, types and metadata (cls_core.labels, cls_core.model, pandas')
        assert table.schema.equals(reference.schema, check_metadata=True)
    beam = pd.concat([t.to_pandas() for t in tables], ignore_index=True)
    ref = reference.to_pandas()
    assert len(beam) == ROWS
    beam = beam.sort_values("id").reset_index(drop=True)
    ref = ref.sort_values("id").reset_index(drop=True)
    assert list(beam.columns) == list(ref.columns)
    assert beam.dtypes.equals(ref.dtypes)
    labels = [c for c in ref.columns if c not in ("id", "text", "weight", "source")]
    assert len(labels) == 77
    assert all(ref[label].dtype == np.float32 for label in labels)
    scores_beam = beam[labels].to_numpy()
    scores_ref = ref[labels].to_numpy()
    assert np.array_equal(scores_beam.view(np.uint32), scores_ref.view(np.uint32))
    pd.testing.assert_frame_equal(beam, ref, check_exact=True)


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = main(args)
    return status, capsys.readouterr().err


def _bad(root: Path, pattern: str, text_column: str = "text") -> list[str]:
    return [
        "score",
        pattern,
        "--model",
        MODEL,
        "--text-column",
        text_column,
        "--out",
        str(root / "bad"),
        "--runner",
        "direct",
    ]


@pytest.mark.parametrize(
    ("pattern", "text_column", "message"),
    [
        ("in/part-7.csv", "text", r"file '.*part-7\.csv' does not exist"),
        ("in/*.jsonl", "text", r"no file matches '.*\*\.jsonl'; expected a glob"),
        (
            "odd/*.csv",
            "text",
            r"part-1\.csv' has a different header from '.*part-0\.csv': it lacks \['text'\] and adds \['body'\]",
        ),
        ("odd/notes.txt", "text", r"unsupported extension \('\.txt'\); expected \.csv, \.tsv"),
        (
            "in/part-*.csv",
            "body",
            r"has no text column 'body'; columns are \['id', 'text', 'weight', 'source'\]",
        ),
        ("-", "text", r"--runner reads files: give INPUT as a path or a glob"),
    ],
)
def test_bad_inputs_fail_with_one_error_line(
    runs: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    pattern: str,
    text_column: str,
    message: str,
) -> None:
    import re

    root = runs["root"]
    odd = root / "odd"
    odd.mkdir(exist_ok=True)
    (odd / "part-0.csv").write_text("id,text\n1,hello\n")
    (odd / "part-1.csv").write_text("id,body\n2,hello\n")
    (odd / "notes.txt").write_text("id,text\n1,hello\n")
    target = pattern if pattern == "-" else str(root / pattern)
    status, err = _cli(_bad(root, target, text_column), capsys)
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert re.search(message, lines[0]), lines[0]
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--out", "scores.csv"],
            r"names a CSV file; with --runner the scores are written as Parquet shards",
        ),
        (["--beam-option=--no_such_flag=1"], r"unknown Beam option\(s\) \['--no_such_flag'\]"),
        (["--model", "../banking77"], r"model '\.\./banking77'"),
        (["--model", "no_such_model"], r"unknown model 'no_such_model'"),
    ],
)
def test_bad_options_fail_with_one_error_line(
    runs: dict[str, Any], capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    import re

    root = runs["root"]
    args = _bad(root, str(root / "in" / "part-*.csv"))
    if extra[0] == "--out":
        args[args.index("--out") + 1] = str(root / extra[1])
    elif extra[0] == "--model":
        args[args.index("--model") + 1] = extra[1]
    else:
        args += extra
    status, err = _cli(args, capsys)
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert re.search(message, lines[0]), lines[0]


def test_beam_option_without_runner(
    runs: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    root = runs["root"]
    args = _bad(root, str(root / "all.csv"))
    args.remove("--runner")
    args.remove("direct")
    status, err = _cli([*args, "--beam-option=--direct_num_workers=2"], capsys)
    assert status == 2
    assert err.strip() == "error: --beam-option needs --runner (direct, dataflow, flink or spark)"


def test_handler_refuses_a_wrong_output_shape() -> None:
    from types import SimpleNamespace

    from cls_core.pipelines.model_handler import RegistryModelHandler, ScoringError

    handler = RegistryModelHandler(MODEL, text_column="text", labels=["a", "b"])
    frame = pd.DataFrame({"text": ["x", None, float("nan")]})
    good = SimpleNamespace(
        predict=lambda texts: SimpleNamespace(
            scores=np.full((len(texts), 2), 0.5, dtype=np.float32), logits=None
        )
    )
    (scored,) = handler.run_inference([frame], good)
    assert list(scored.columns) == ["text", "a", "b"]
    assert scored["a"].dtype == np.float32
    bad = SimpleNamespace(
        predict=lambda texts: SimpleNamespace(scores=np.zeros((len(texts), 3)), logits=None)
    )
    with pytest.raises(
        ScoringError, match=r"returned shape \(3, 3\) for 3 texts; expected \(3, 2\)"
    ):
        handler.run_inference([frame], bad)


def test_output_prefix(tmp_path: Path) -> None:
    from cls_core.pipelines.io import PipelineInputError
    from cls_core.pipelines.score import output_prefix

    assert output_prefix(str(tmp_path)) == f"{tmp_path}/scores"
    assert output_prefix(f"{tmp_path}/") == f"{tmp_path}/scores"
    assert output_prefix(f"{tmp_path}/run1.parquet") == f"{tmp_path}/run1"
    assert output_prefix(f"{tmp_path}/run1") == f"{tmp_path}/run1"
    assert output_prefix("gs://bucket/scores/") == "gs://bucket/scores/scores"
    with pytest.raises(PipelineInputError, match="names a CSV file"):
        output_prefix(f"{tmp_path}/s.csv")
    with pytest.raises(PipelineInputError, match=r"--out directory '.*missing' does not exist"):
        output_prefix(f"{tmp_path}/missing/scores")


def test_only_the_newest_runs_shards_are_kept(tmp_path: Path) -> None:
    """Shards of an earlier run with another shard count are told apart from this run's."""
    import os

    from cls_core.pipelines.score import _fresh_shards, _shards

    old = [tmp_path / f"s-0000{i}-of-00003.parquet" for i in range(3)]
    new = [tmp_path / f"s-0000{i}-of-00002.parquet" for i in range(2)]
    for path in old + new:
        path.write_bytes(b"PAR1")
    for path in old:
        os.utime(path, (1_000_000, 1_000_000))
    (tmp_path / "s-notes.parquet").write_bytes(b"PAR1")  # not a shard name: never touched
    files = _shards(str(tmp_path / "s"))
    assert files == sorted(str(p) for p in old + new)
    assert _fresh_shards(files) == [str(p) for p in new]


def test_pipeline_failure_is_one_line() -> None:
    from cls_core.pipelines.score import pipeline_failure

    beam_error = RuntimeError(
        'Pipeline job failed\nTraceback (most recent call last):\n  File "x.py", line 1\n'
        "cls_core.pipelines.io.PipelineInputError: shard 'a.csv' is not a readable CSV file: "
        "EOF inside string [while running 'ReadInput/Read']\n"
    )
    assert pipeline_failure(beam_error) == (
        "shard 'a.csv' is not a readable CSV file: EOF inside string"
    )
    assert pipeline_failure(RuntimeError("")) == "RuntimeError"
