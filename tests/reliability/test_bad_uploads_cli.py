"""The bad uploads of ``test_bad_uploads.py`` through the command line.

Every scores-file case goes through ``python -m cls_core tune``, and the labelled-text
cases that fail before any model is needed through ``python -m cls_core score``. A refused
file must give exit status 2, exactly one ``error: ...`` line on stderr (the same message
the page shows, with the command line's own hint), no traceback and no output file; a
degenerate but usable file (one row, a class without positives, all scores equal, logits)
must still write thresholds.json and say what it assumed or warn.

The commands run in-process through ``cls_core.cli.main`` (an uncaught exception fails
the test), and a few of them also as real ``python -m cls_core`` processes to see the
stderr a user sees.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cls_core.cli import main
from cls_core.paths import PROJECT_ROOT
from tests._hostile_files import deep_json, parquet_with_labels_metadata
from tests.reliability.test_bad_uploads import (
    BOLD,
    MAX_MESSAGE,
    SCORES_CASES,
    SCRIPT,
    TEXTS_CASES,
    UploadCase,
    scores_csv,
    with_cell,
)

PAGE_HINT = "(turn on “Drop rows whose truth labels are unknown” above to drop those rows)"
CLI_HINT = "(use --drop-unknown to drop those rows)"
# files the page refuses before any model is involved: `score` must refuse them too
SCORE_CASES = [
    c
    for c in TEXTS_CASES
    if c.id in {"texts-invalid-utf8", "texts-empty-file", "texts-csv-named-parquet"}
    or c.id in {"texts-zero-rows", "texts-duplicate-columns"}
    or c.id in {"texts-parquet-string-bomb", "texts-utf-16-file", "texts-nul-bytes-after-valid-csv"}
]


def cli_message(case: UploadCase, path: Path) -> str:
    """The page's message as the command line words it: the full path, its own hint."""
    assert case.error is not None
    return case.error.replace(f"file {case.name!r}", f"file {str(path)!r}").replace(
        PAGE_HINT, CLI_HINT
    )


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(argv)
    captured = capsys.readouterr()
    assert captured.out == ""
    return code, captured.err.strip().splitlines()


def assert_refused(code: int, err: list[str], message: str, out: Path) -> None:
    assert code == 2, err
    assert len(err) == 1, err
    assert err[0].startswith("error: file "), err
    assert message in err[0], err
    assert "Traceback" not in err[0]
    assert not out.exists()
    assert not out.with_name(out.name + ".partial").exists()


@pytest.mark.parametrize("case", SCORES_CASES, ids=lambda c: c.id)
def test_tune(case: UploadCase, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / case.name
    src.write_bytes(case.data)
    out = tmp_path / "thresholds.json"
    code, err = run_cli(["tune", str(src), "--out", str(out)], capsys)
    assert all(len(line) < MAX_MESSAGE for line in err), [line[:200] for line in err]
    if case.error is not None:
        assert_refused(code, err, cli_message(case, src), out)
        return
    assert code == 0, err
    doc = json.loads(out.read_text("utf-8"))
    assert doc["n_examples"] == int(case.rows or 0)
    assert err[0] == f"{case.rows} rows read, {case.rows} kept (multi-class)"
    assert err[-1].startswith(f"wrote {out}: multi-class, f1")
    if case.warning is not None:
        assert any(line.startswith("warning: ") and case.warning in line for line in err), err
    if case.info is not None:  # the page's "Assumed: logits" in the command line's words
        assert "scores treated as logits and turned into probabilities with softmax" in err
    if case.id == "html-label-names":
        assert doc["labels"] == [SCRIPT, BOLD]
    if case.note is not None:  # e.g. how whole-number truth was read
        assert any(case.note in line for line in err), err
    if case.macro_f1 is not None:
        assert f"macro F1 {case.macro_f1:.4f}" in err[-1], err


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            with_cell(1, "anger", "-2.5"),
            "score -2.5 at row 2, column 'anger' is outside [0, 1] (1 rows), so the scores "
            "cannot be probabilities; read them as logits",
        ),
        (
            with_cell(3, "joy", "1.5"),
            "score 1.5 at row 4, column 'joy' is outside [0, 1] (1 rows)",
        ),
    ],
    ids=["negative", "over-1"],
)
def test_tune_probabilities_out_of_range(
    rows: list[list[object]], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "s.csv"
    src.write_bytes(scores_csv(rows))
    out = tmp_path / "thresholds.json"
    code, err = run_cli(
        ["tune", str(src), "--scores-are", "probabilities", "--out", str(out)], capsys
    )
    assert_refused(code, err, message, out)


@pytest.mark.parametrize("case", SCORE_CASES, ids=lambda c: c.id)
def test_score(case: UploadCase, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / case.name
    src.write_bytes(case.data)
    out = tmp_path / "scores.parquet"
    argv = ["score", str(src), "--model", "ekman", "--text-column", "text", "--out", str(out)]
    code, err = run_cli(argv, capsys)
    message = cli_message(case, src).replace("has a header but no data rows", "has no data rows")
    assert_refused(code, err, message, out)


@pytest.mark.parametrize(
    "case_id", ["nan-cells-in-a-small-file", "duplicate-column-names", "parquet-named-csv"]
)
def test_tune_as_a_process_prints_one_error_line(case_id: str, tmp_path: Path) -> None:
    case = next(c for c in SCORES_CASES if c.id == case_id)
    src = tmp_path / case.name
    src.write_bytes(case.data)
    out = tmp_path / "thresholds.json"
    run = subprocess.run(
        [sys.executable, "-m", "cls_core", "tune", str(src), "--out", str(out)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert_refused(run.returncode, run.stderr.strip().splitlines(), cli_message(case, src), out)
    assert run.stdout == ""


# --------------------------------------------------------------------------- memory caps (issue 16)

PEAK_RSS = """
import resource, sys
from cls_core.cli import main
code = main(sys.argv[1:])
print(code, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def _peak_run(argv: list[str], env: dict[str, str] | None = None) -> tuple[int, int, str]:
    """Run the command line in a fresh process: exit code, peak RSS in MiB, stderr."""
    import os

    run = subprocess.run(
        [sys.executable, "-c", PEAK_RSS, *argv],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )
    code, peak = (int(x) for x in run.stdout.split())
    return code, peak, run.stderr


def test_parquet_bomb_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    """A 92 KB Parquet file of 10 million identical rows (the report: 288 KB reached 3.8 GB
    in ``tune``) is refused from its metadata: the process peaks where a one-row file does."""
    from tests._hostile_files import parquet_row_group_bomb
    from tests.reliability.test_bad_uploads import LABELS

    bomb = tmp_path / "bomb.parquet"
    bomb.write_bytes(parquet_row_group_bomb(LABELS, rows_per_group=100_000, groups=100))
    small = tmp_path / "small.csv"
    small.write_bytes(scores_csv(with_cell(0, "joy", "0.5")))
    code, baseline, _ = _peak_run(["tune", str(small), "--out", str(tmp_path / "ok.json")])
    assert code == 0
    code, peak, stderr = _peak_run(["tune", str(bomb), "--out", str(tmp_path / "t.json")])
    assert code == 2
    assert "hold 80,000,000 values, over the limit of 50,000,000 cells" in stderr, stderr
    assert peak < baseline + 100, (peak, baseline)  # 10M × 8 float64 alone would be 640 MB


def test_text_file_past_the_cell_cap_is_refused_while_reading(tmp_path: Path) -> None:
    """CLS_MAX_CELLS set low in the environment: a 42,000-row CSV is refused, its rows past
    the cap never parsed (test_evaldata checks that a malformed tail goes unread)."""
    from tests.reliability.test_bad_uploads import good_scores

    src = tmp_path / "s.csv"
    src.write_bytes(scores_csv(good_scores(14) * 3000))
    code, _, stderr = _peak_run(
        ["tune", str(src), "--out", str(tmp_path / "t.json")], {"CLS_MAX_CELLS": "5000"}
    )
    assert code == 2
    lines = stderr.strip().splitlines()
    assert lines == [
        f"error: file {str(src)!r} is too big to read whole: more than 625 rows × 8 columns, "
        "over the limit of 5,000 cells (rows × columns; set CLS_MAX_CELLS to change it)"
    ], lines
    assert not (tmp_path / "t.json").exists()


def test_score_quotes_long_column_names_as_previews(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No text column, and 20 column names of 100,000 characters: one short error line."""
    src = tmp_path / "t.csv"
    names = [f"{i}{'x' * 100_000}" for i in range(20)]
    src.write_text(",".join(names) + "\n" + ",".join("a" * 20) + "\n", encoding="utf-8")
    out = tmp_path / "scores.parquet"
    argv = ["score", str(src), "--model", "ekman", "--text-column", "text", "--out", str(out)]
    code, err = run_cli(argv, capsys)
    assert_refused(code, err, "has no text column 'text'; columns are ['0xxxxxxxx", out)
    assert "(100,001 characters)" in err[0]
    assert len(err[0]) < 2000, len(err[0])


@pytest.mark.parametrize(
    "labels_json",
    [deep_json(100_000), '["joy", "joy"]', "[" + "9" * 5000 + "]", '{"joy": 1}'],
    ids=["deep-nesting", "duplicates", "integer-past-digit-limit", "not-a-list"],
)
def test_tune_runner_refuses_forged_label_metadata(
    labels_json: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``tune --runner`` reads the label metadata with its own parser: a deeply nested list
    raised RecursionError there (a traceback) although in-process ``tune`` refused it."""
    src = tmp_path / "scores.parquet"
    src.write_bytes(
        parquet_with_labels_metadata(
            {"joy": [0.9, 0.1], "anger": [0.1, 0.9], "label": ["joy", "anger"]}, labels_json
        )
    )
    out = tmp_path / "thresholds.json"
    code, err = run_cli(["tune", str(src), "--runner", "direct", "--out", str(out)], capsys)
    assert code == 2, err
    assert len(err) == 1 and err[0].startswith("error: "), err
    assert "'cls_core.labels'" in err[0], err
    assert len(err[0]) < MAX_MESSAGE
    assert not out.exists()
