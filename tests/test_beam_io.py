"""The Beam pipelines' inputs and runner options (cls_core.pipelines.io, .options).

Construction-time checks are plain function calls; one small pipeline on the direct runner
(multi_processing, 2 workers) reads CSV, TSV, JSON lines and Parquet shards and is
compared with the in-process reader.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

beam = pytest.importorskip("apache_beam")

from apache_beam.testing.util import assert_that  # noqa: E402

from cls_core.evaluation.evaldata import iter_table_chunks  # noqa: E402
from cls_core.pipelines.io import (  # noqa: E402
    PipelineInputError,
    expand_inputs,
    inspect_inputs,
    read_batches,
    read_rows,
)
from cls_core.pipelines.options import RUNNERS, RunnerOptionError, pipeline_options  # noqa: E402


def _frame(start: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(start)
    return pd.DataFrame(
        {
            "id": np.arange(start, start + n),
            "text": [
                f"text {i}, with a comma" if i % 3 else f'say "hi"\nrow {i}'
                for i in range(start, start + n)
            ],
            "note": ["NA" if i % 4 == 0 else ("" if i % 4 == 1 else "null") for i in range(n)],
            "score": rng.random(n, dtype=np.float32),
        }
    )


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("beam_io")
    parts = [_frame(0, 40), _frame(40, 25), _frame(65, 35)]
    whole = pd.concat(parts, ignore_index=True)
    for fmt in ("csv", "tsv", "jsonl", "parquet"):
        folder = root / fmt
        folder.mkdir()
        for i, part in enumerate(parts):
            path = folder / f"part-{i}.{fmt}"
            if fmt == "csv":
                part.to_csv(path, index=False)
            elif fmt == "tsv":
                part.assign(text=part["text"].str.replace("\n", " ")).to_csv(
                    path, sep="\t", index=False
                )
            elif fmt == "jsonl":
                part.to_json(path, orient="records", lines=True)
            else:
                # two row groups per shard: a work item each
                pq.write_table(
                    pa.Table.from_pandas(part, preserve_index=False), path, row_group_size=20
                )
    return {"root": root, "whole": whole}


# --------------------------------------------------------------------------- expand_inputs


def test_expand_one_file_and_a_glob_sorted(shards: dict[str, Any]) -> None:
    root = shards["root"]
    assert expand_inputs(str(root / "csv" / "part-1.csv")) == [str(root / "csv" / "part-1.csv")]
    assert expand_inputs(str(root / "csv" / "part-*.csv")) == [
        str(root / "csv" / f"part-{i}.csv") for i in range(3)
    ]


def test_glob_matching_nothing(shards: dict[str, Any]) -> None:
    pattern = str(shards["root"] / "csv" / "*.parquet")
    with pytest.raises(
        PipelineInputError, match=r"^no file matches '.*\*\.parquet'; expected a glob"
    ):
        expand_inputs(pattern)


def test_missing_file(shards: dict[str, Any]) -> None:
    with pytest.raises(PipelineInputError, match=r"^file '.*part-9\.csv' does not exist$"):
        expand_inputs(str(shards["root"] / "csv" / "part-9.csv"))


def test_directory_asks_for_a_glob(shards: dict[str, Any]) -> None:
    with pytest.raises(PipelineInputError, match=r"is a directory; give a file or a glob"):
        expand_inputs(str(shards["root"] / "csv"))


@pytest.mark.parametrize("name", ["scores.txt", "scores.xlsx", "scores"])
def test_unsupported_extension(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("id,text\n1,a\n")
    with pytest.raises(PipelineInputError, match=r"unsupported extension .*expected \.csv, \.tsv"):
        expand_inputs(str(tmp_path / name))


def test_mixed_formats(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("id,text\n1,a\n")
    (tmp_path / "b.jsonl").write_text('{"id": 2, "text": "b"}\n')
    with pytest.raises(
        PipelineInputError,
        match=r"mixed formats: 1 csv .*; 1 jsonl .*expected every shard in one format",
    ):
        expand_inputs(str(tmp_path / "*"))


def test_empty_pattern() -> None:
    with pytest.raises(PipelineInputError, match="file path or a glob"):
        expand_inputs("  ")


# --------------------------------------------------------------------------- headers


def test_shard_with_a_different_header(tmp_path: Path) -> None:
    (tmp_path / "part-0.csv").write_text("id,text,label\n1,a,x\n")
    (tmp_path / "part-1.csv").write_text("id,txt,label\n2,b,y\n")
    with pytest.raises(PipelineInputError) as err:
        inspect_inputs(str(tmp_path / "part-*.csv"))
    message = str(err.value)
    assert "part-1.csv' has a different header from '" in message
    assert "lacks ['text'] and adds ['txt']" in message
    assert "\n" not in message


def test_shard_with_reordered_columns(tmp_path: Path) -> None:
    (tmp_path / "part-0.tsv").write_text("id\ttext\n1\ta\n")
    (tmp_path / "part-1.tsv").write_text("text\tid\nb\t2\n")
    with pytest.raises(PipelineInputError, match="same columns in a different order"):
        inspect_inputs(str(tmp_path / "part-*.tsv"))


def test_parquet_shard_with_another_type(tmp_path: Path) -> None:
    pq.write_table(
        pa.table({"id": [1], "score": pa.array([0.5], pa.float32())}), tmp_path / "a.parquet"
    )
    pq.write_table(
        pa.table({"id": [2], "score": pa.array([0.5], pa.float64())}), tmp_path / "b.parquet"
    )
    with pytest.raises(
        PipelineInputError, match=r"b\.parquet' has a different schema .*score is double, not float"
    ):
        inspect_inputs(str(tmp_path / "*.parquet"))


def test_requested_column_missing(shards: dict[str, Any]) -> None:
    with pytest.raises(
        PipelineInputError,
        match=r"has no column 'body'; columns are \['id', 'text', 'note', 'score'\]",
    ):
        inspect_inputs(str(shards["root"] / "csv" / "*.csv"), columns=["text", "body"])


def test_empty_shard_and_duplicate_columns(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("")
    with pytest.raises(PipelineInputError, match="is empty; expected a header line"):
        inspect_inputs(str(tmp_path / "a.csv"))
    (tmp_path / "b.csv").write_text("id,text,id\n1,a,2\n")
    with pytest.raises(PipelineInputError, match=r"duplicate column names: \['id'\]"):
        inspect_inputs(str(tmp_path / "b.csv"))


def test_jsonl_first_line_not_an_object(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text("[1, 2]\n")
    with pytest.raises(
        PipelineInputError, match="is not JSON lines: its first line is not a JSON object"
    ):
        inspect_inputs(str(tmp_path / "a.jsonl"))


def test_layout_lists_parquet_row_groups(shards: dict[str, Any]) -> None:
    layout = inspect_inputs(str(shards["root"] / "parquet" / "*.parquet"))
    assert layout.format == "parquet"
    assert layout.columns == ("id", "text", "note", "score")
    assert [group for _, group in layout.work] == [0, 1, 0, 1, 0, 1]


# --------------------------------------------------------------------------- options


def test_direct_is_the_fnapi_runner_in_multi_processing_mode() -> None:
    options = pipeline_options("direct", []).get_all_options()
    assert options["runner"] == RUNNERS["direct"]
    assert options["runner"].endswith("FnApiRunner")  # never DirectRunner → Prism
    assert options["direct_running_mode"] == "multi_processing"
    assert options["direct_num_workers"] == 2
    custom = pipeline_options("direct", ["--direct_num_workers", "3"]).get_all_options()
    assert custom["direct_num_workers"] == 3


def test_remote_runners_take_their_flags() -> None:
    options = pipeline_options(
        "dataflow", ["--project=p", "--region", "europe-west1", "--temp_location=gs://b/t"]
    ).get_all_options()
    assert (options["runner"], options["project"], options["region"]) == (
        "DataflowRunner",
        "p",
        "europe-west1",
    )
    assert (
        pipeline_options("flink", ["--flink_master=h:8081"]).get_all_options()["runner"]
        == "FlinkRunner"
    )
    assert pipeline_options("spark", []).get_all_options()["runner"] == "SparkRunner"


@pytest.mark.parametrize(
    ("runner", "flags", "message"),
    [
        ("prism", [], r"--runner must be one of direct, dataflow, flink, spark; got 'prism'"),
        ("direct", ["--no_such_flag=1"], r"unknown Beam option\(s\) \['--no_such_flag'\]"),
        ("direct", ["--runner=DirectRunner"], r"choose the runner with --runner"),
        (
            "direct",
            ["project=p"],
            r"must be a Beam flag such as --project=my-project; got 'project=p'",
        ),
        ("direct", ["--direct_num_workers=0"], r"--direct_num_workers must be >= 1; got 0"),
    ],
)
def test_bad_options(runner: str, flags: list[str], message: str) -> None:
    with pytest.raises(RunnerOptionError, match=message):
        pipeline_options(runner, flags)


# --------------------------------------------------------------------------- reading


def _in_process_records(paths: list[str]) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for path in paths:
        for chunk in iter_table_chunks(path)[2]:
            records.extend(chunk.to_dict("records"))
    return records


def _key(row: dict[str, Any]) -> int:
    return int(row["id"])


def _equal_to_records(expected: list[dict[str, Any]]) -> Any:
    def check(actual: list[dict[str, Any]]) -> None:
        got = sorted(actual, key=_key)
        want = sorted(expected, key=_key)
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            assert g.keys() == w.keys()
            for column in w:
                assert type(g[column]) is type(w[column]), column
                assert g[column] == w[column], (column, g[column], w[column])

    return check


def test_read_rows_and_batches_every_format_as_in_process(
    shards: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows equal (values and Python types) what the in-process reader gives, per format."""
    # the worker processes unpickle this module's check functions: let them import it
    here = str(Path(__file__).parent)
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))
    )
    root = shards["root"]
    with beam.Pipeline(options=pipeline_options("direct", [])) as p:
        for fmt in ("csv", "tsv", "jsonl", "parquet"):
            pattern = str(root / fmt / f"part-*.{fmt}")
            expected = _in_process_records(expand_inputs(pattern))
            rows = read_rows(p, pattern, label=f"Read{fmt}")
            assert_that(rows, _equal_to_records(expected), label=f"Check{fmt}")
        only = read_rows(p, str(root / "csv" / "*.csv"), columns=["id", "score"], label="Cols")
        assert_that(
            only | beam.Map(lambda r: sorted(r)),
            lambda got: _all_equal(got, ["id", "score"]),
            label="CheckCols",
        )
        sizes = read_batches(p, str(root / "csv" / "*.csv"), chunk_rows=16, label="Batches")
        assert_that(
            sizes | beam.Map(len),
            lambda got: _sorted_equal(got, [16, 16, 8, 16, 9, 16, 16, 3]),
            label="CheckBatches",
        )


def _all_equal(got: list[Any], value: Any) -> None:
    assert got and all(g == value for g in got)


def _sorted_equal(got: list[int], want: list[int]) -> None:
    assert sorted(got) == sorted(want)


def test_text_cells_and_float32_scores_round_trip(shards: dict[str, Any]) -> None:
    """CSV keeps "NA"/"null"/"" as text, and float32 scores written as text read back exactly."""
    records = _in_process_records(expand_inputs(str(shards["root"] / "csv" / "*.csv")))
    whole = shards["whole"]
    assert [r["note"] for r in records] == whole["note"].tolist()
    assert [r["text"] for r in records] == whole["text"].tolist()
    back = np.array([r["score"] for r in records], dtype=np.float64).astype(np.float32)
    assert np.array_equal(back.view(np.uint32), whole["score"].to_numpy().view(np.uint32))
