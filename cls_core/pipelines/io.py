"""Inputs of the Beam pipelines: a path or a glob of shards, read as rows, checked up front.

- :func:`expand_inputs`: the shard files a path or glob names (through Beam's
  ``FileSystems``, so ``gs://``, ``s3://``, ``hdfs://`` work on real runners), refusing a glob
  that matches nothing, a missing file, an unsupported extension and shards of mixed formats.
- :func:`inspect_inputs`: the above plus every shard's header (CSV/TSV: the first record;
  JSON lines: the keys of the first object; Parquet: the Arrow schema), checked *at pipeline
  construction time* to be the same in every shard, and the requested columns to exist.
- :func:`read_batches` / :func:`read_rows`: the rows as pandas DataFrames (one per chunk of a
  shard) or as one ``dict`` per row.

Values are read exactly as the in-process commands read them
(:func:`cls_core.evaluation.evaldata.iter_table_chunks`): CSV/TSV through pandas with
``keep_default_na=False`` (text cells stay text, empty cells are ``""``), JSON lines with
``dtype=False, precise_float=True``, Parquet through pyarrow. So a float32 score written as
text by ``score --out x.csv`` and read here gives the same float32 bits as the in-process
``tune`` reads. Parallelism: one shard (text formats) or one Parquet row group per work item:
split a big input into shards to use many workers.

Every problem found before the pipeline runs raises :class:`PipelineInputError` (a
``ValueError``) with one message: what was wrong and what is expected.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Literal

import apache_beam as beam
import pandas as pd
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from cls_core.evaluation.evaldata import text_chunk_reader
from cls_core.preview import preview, preview_list

__all__ = [
    "EXTENSIONS",
    "InputLayout",
    "PipelineInputError",
    "ShardFormat",
    "expand_inputs",
    "inspect_inputs",
    "read_batches",
    "read_rows",
    "sample_frame",
    "shard_format",
]

ShardFormat = Literal["csv", "tsv", "jsonl", "parquet"]

#: File name endings understood, and the format each one means (the in-process readers'
#: aliases ``.tab``, ``.ndjson`` and ``.pq`` included).
EXTENSIONS: dict[str, ShardFormat] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_EXPECTED = ".csv, .tsv, .jsonl/.json (JSON lines) or .parquet"
_GLOB_CHARS = frozenset("*?[")
_HEADER_BYTES = 16 * 1024 * 1024  # a header record longer than this is refused
#: Rows per DataFrame chunk when reading a shard (the in-process ``score`` default).
CHUNK_ROWS = 2048


class PipelineInputError(ValueError):
    """The pipeline's input cannot be used: the message says what was wrong and what is expected."""


def _name(path: str) -> str:
    return preview(path, limit=200)


def shard_format(path: str) -> ShardFormat:
    """The format a shard's extension names.

    Raises
    ------
    PipelineInputError
        The extension is not one of :data:`EXTENSIONS`.
    """
    suffix = PurePosixPath(path).suffix.lower()
    fmt = EXTENSIONS.get(suffix)
    if fmt is None:
        got = f"{suffix!r}" if suffix else "no extension"
        raise PipelineInputError(
            f"file {_name(path)} has an unsupported extension ({got}); expected {_EXPECTED}"
        )
    return fmt


def expand_inputs(pattern: str) -> list[str]:
    """The shard files ``pattern`` names, sorted: one path, or a glob (``data/part-*.csv``).

    Parameters
    ----------
    pattern : str
        A file path or a glob, local or on any filesystem Beam knows (``gs://...``).

    Returns
    -------
    list of str
        The matching files, sorted by path; all of one format.

    Raises
    ------
    PipelineInputError
        An empty pattern; a glob that matches no file; a path that does not exist or is a
        directory; a file with an unsupported extension; shards of mixed formats.

    Examples
    --------
    >>> expand_inputs("scores/part-*.parquet")  # doctest: +SKIP
    ['scores/part-00000-of-00002.parquet', 'scores/part-00001-of-00002.parquet']
    """
    if not isinstance(pattern, str) or not pattern.strip():
        raise PipelineInputError(
            f"the input must be a file path or a glob of shards (e.g. 'data/part-*.csv'); got {pattern!r}"
        )
    is_glob = any(c in pattern for c in _GLOB_CHARS)
    try:
        matched = FileSystems.match([pattern])[0].metadata_list
    except Exception as exc:  # an unknown scheme, a permission error: one line, not a traceback
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PipelineInputError(f"cannot list {_name(pattern)}: {reason}") from None
    files = sorted(m.path for m in matched if not _is_dir(m.path))
    if not files:
        if is_glob:
            raise PipelineInputError(
                f"no file matches {_name(pattern)}; expected a glob matching one or more "
                f"shards ({_EXPECTED})"
            )
        if matched:
            raise PipelineInputError(
                f"{_name(pattern)} is a directory; give a file or a glob of its shards, "
                f"e.g. {_name(pattern.rstrip('/') + '/*.csv')}"
            )
        raise PipelineInputError(f"file {_name(pattern)} does not exist")
    formats: dict[ShardFormat, list[str]] = {}
    for path in files:
        formats.setdefault(shard_format(path), []).append(path)
    if len(formats) > 1:
        kinds = "; ".join(
            f"{len(paths)} {fmt} (e.g. {_name(paths[0])})" for fmt, paths in formats.items()
        )
        raise PipelineInputError(
            f"{_name(pattern)} matches shards of mixed formats: {kinds}; expected every shard "
            "in one format"
        )
    return files


def _is_dir(path: str) -> bool:
    if "://" in path:
        return path.endswith("/")
    import os

    return os.path.isdir(path)


# --------------------------------------------------------------------------- headers


@dataclass(frozen=True, kw_only=True)
class InputLayout:
    """What the shards of one input hold, checked once when the pipeline is built.

    Attributes
    ----------
    files : tuple of str
        The shards, sorted.
    format : {"csv", "tsv", "jsonl", "parquet"}
    columns : tuple of str
        Every shard's columns, in file order.
    work : tuple of (str, int or None)
        The work items: ``(shard, row group)`` for Parquet, ``(shard, None)`` otherwise.
    """

    files: tuple[str, ...]
    format: ShardFormat
    columns: tuple[str, ...]
    work: tuple[tuple[str, int | None], ...]


def _open(path: str) -> Any:
    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


class _Pairs(list[tuple[str, Any]]):
    """A JSON object's (key, value) pairs in file order, repeated keys kept."""


def _text_header(path: str, fmt: ShardFormat) -> list[str]:
    """The first record of a text shard: CSV/TSV header names, JSON lines keys."""
    with _open(path) as raw:
        head = raw.read(_HEADER_BYTES)
    if not head.strip():
        raise PipelineInputError(
            f"shard {_name(path)} is empty; expected a header line (every shard of a CSV, TSV "
            "or JSON lines input starts with its own header or object)"
        )
    try:
        text = head.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the read limit
            raise PipelineInputError(
                f"shard {_name(path)} is not valid UTF-8 text: bad byte "
                f"0x{head[exc.start]:02x} at offset {exc.start}"
            ) from None
        text = head[: exc.start].decode("utf-8").lstrip("\ufeff")
    if fmt == "jsonl":
        first = next((line for line in text.splitlines() if line.strip()), "")
        try:
            parsed = json.loads(first, object_pairs_hook=_Pairs)
        except (ValueError, RecursionError):
            parsed = None
        if not isinstance(parsed, _Pairs):
            raise PipelineInputError(
                f"shard {_name(path)} is not JSON lines: its first line is not a JSON object; "
                "expected one object per line"
            )
        return [key for key, _ in parsed]
    buf = io.StringIO(text, newline="")
    reader = csv.reader(
        buf,
        delimiter="," if fmt == "csv" else "\t",
        quoting=csv.QUOTE_MINIMAL if fmt == "csv" else csv.QUOTE_NONE,
    )
    try:
        header = next(reader, [])
    except csv.Error as exc:
        raise PipelineInputError(f"shard {_name(path)} has an unreadable header: {exc}") from None
    if len(head) == _HEADER_BYTES and buf.tell() >= len(text):
        raise PipelineInputError(
            f"shard {_name(path)} has a header line longer than {_HEADER_BYTES:,} bytes; "
            "expected one short name per column"
        )
    return header


def _parquet_schema(path: str) -> Any:
    import pyarrow.parquet as pq

    try:
        with _open(path) as fh:
            return pq.read_schema(fh)
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PipelineInputError(
            f"shard {_name(path)} is not a readable Parquet file: {reason}"
        ) from None


def _parquet_row_groups(path: str) -> int:
    import pyarrow.parquet as pq

    with _open(path) as fh:
        return int(pq.ParquetFile(fh).metadata.num_row_groups)


def _differences(first: Sequence[str], other: Sequence[str]) -> str:
    missing = [c for c in first if c not in other]
    extra = [c for c in other if c not in first]
    parts = []
    if missing:
        parts.append(f"lacks [{preview_list(missing)}]")
    if extra:
        parts.append(f"adds [{preview_list(extra)}]")
    if not parts:
        return "has the same columns in a different order"
    return " and ".join(parts)


def inspect_inputs(pattern: str, *, columns: Sequence[str] | None = None) -> InputLayout:
    """Expand ``pattern`` and check every shard's header; the layout the readers use.

    Parameters
    ----------
    pattern : str
        See :func:`expand_inputs`.
    columns : sequence of str, optional
        Columns that must exist.

    Raises
    ------
    PipelineInputError
        As :func:`expand_inputs`; an empty or unreadable shard; duplicate column names;
        a shard whose header (Parquet: schema) differs from the first shard's (the message
        names both shards and the differing columns); a requested column that no shard has.
    """
    files = expand_inputs(pattern)
    fmt = shard_format(files[0])
    first_header: list[str] | None = None
    first_schema: Any = None
    work: list[tuple[str, int | None]] = []
    for path in files:
        schema: Any = None
        if fmt == "parquet":
            schema = _parquet_schema(path)
            header = list(schema.names)
        else:
            header = _text_header(path, fmt)
        duplicates = sorted({c for c in header if header.count(c) > 1})
        if duplicates:
            raise PipelineInputError(
                f"shard {_name(path)} has duplicate column names: [{preview_list(duplicates)}]; "
                "every column needs its own name"
            )
        if first_header is None:
            first_header, first_schema = header, schema
        elif header != first_header:
            raise PipelineInputError(
                f"shard {_name(path)} has a different header from {_name(files[0])}: it "
                f"{_differences(first_header, header)}; expected every shard to have the "
                f"columns [{preview_list(first_header)}]"
            )
        elif schema is not None and not schema.equals(first_schema, check_metadata=False):
            changed = [
                f"{f.name} is {f.type}, not {first_schema.field(f.name).type}"
                for f in schema
                if f.type != first_schema.field(f.name).type
            ]
            raise PipelineInputError(
                f"shard {_name(path)} has a different schema from {_name(files[0])}: "
                f"{'; '.join(changed[:5])}; expected every shard to have the same column types"
            )
        if fmt == "parquet":
            work.extend((path, group) for group in range(max(_parquet_row_groups(path), 1)))
        else:
            work.append((path, None))
    assert first_header is not None  # expand_inputs returned at least one file
    for column in columns or ():
        if column not in first_header:
            raise PipelineInputError(
                f"input {_name(pattern)} has no column {preview(column)}; columns are "
                f"[{preview_list(first_header)}]"
            )
    return InputLayout(
        files=tuple(files), format=fmt, columns=tuple(first_header), work=tuple(work)
    )


# --------------------------------------------------------------------------- reading


def _chunks(
    path: str,
    fmt: ShardFormat,
    row_group: int | None,
    chunk_rows: int,
    columns: Sequence[str] | None = None,
) -> Iterator[pd.DataFrame]:
    """A shard's rows as DataFrames, read the way the in-process commands read them.

    ``columns``: Parquet only, read just these columns (the others are never decoded);
    text formats always give every column.
    """
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        with _open(path) as fh:
            pf = pq.ParquetFile(fh)
            groups = [row_group] if row_group is not None else None
            schema = pf.schema_arrow
            if pf.metadata.num_row_groups == 0:
                return
            wanted = list(columns) if columns is not None else None
            for batch in pf.iter_batches(batch_size=chunk_rows, row_groups=groups, columns=wanted):
                table = pa.Table.from_batches([batch]).replace_schema_metadata(schema.metadata)
                yield table.to_pandas()
        return
    with _open(path) as fh:
        options = {} if fmt == "jsonl" else {"encoding": "utf-8"}
        reader = text_chunk_reader(fh, fmt, chunk_rows, **options)
        with reader:
            for chunk in reader:
                chunk.columns = [str(c) for c in chunk.columns]
                yield chunk


_FORMAT_NAMES = {"csv": "CSV", "tsv": "TSV", "jsonl": "JSON lines", "parquet": "Parquet"}


def _named_errors(
    path: str, fmt: ShardFormat, chunks: Iterator[pd.DataFrame]
) -> Iterator[pd.DataFrame]:
    """``chunks``, with a parser's error turned into one message naming the shard."""
    try:
        yield from chunks
    except PipelineInputError:
        raise
    except Exception as exc:
        text = str(exc).strip()
        reason = text.splitlines()[0] if text else type(exc).__name__
        raise PipelineInputError(
            f"shard {_name(path)} is not a readable {_FORMAT_NAMES[fmt]} file: {reason}"
        ) from None


def sample_frame(layout: InputLayout, *, rows: int = CHUNK_ROWS) -> pd.DataFrame:
    """The first ``rows`` rows of the first shard, read as the pipeline reads them.

    The in-process ``score`` fixes its output's column types from its first chunk; the
    pipelines derive their output schema from this frame in the same way.

    Raises
    ------
    PipelineInputError
        The first shard cannot be parsed.
    """
    path, group = layout.work[0]
    chunks = _named_errors(path, layout.format, _chunks(path, layout.format, group, rows))
    return next(chunks, pd.DataFrame(columns=layout.columns))


class _ReadShard(beam.DoFn):
    """One work item (a shard, or one row group of a Parquet shard) → DataFrames."""

    def __init__(
        self,
        fmt: ShardFormat,
        header: tuple[str, ...],
        columns: tuple[str, ...] | None,
        chunk_rows: int,
    ) -> None:
        self._format = fmt
        self._header = header
        self._columns = columns
        self._chunk_rows = chunk_rows

    def process(self, item: tuple[str, int | None]) -> Iterator[pd.DataFrame]:
        path, group = item
        for chunk in _named_errors(
            path, self._format, _chunks(path, self._format, group, self._chunk_rows)
        ):
            if tuple(chunk.columns) != self._header and self._format != "jsonl":
                raise PipelineInputError(
                    f"shard {_name(path)} changed while the pipeline ran: its columns are "
                    f"[{preview_list(chunk.columns)}], expected [{preview_list(self._header)}]"
                )
            if chunk.shape[0] == 0:
                continue
            if self._columns is not None:
                chunk = chunk[list(self._columns)]
            yield chunk


def read_batches(
    pipeline: Any,
    pattern: str | InputLayout,
    *,
    columns: Sequence[str] | None = None,
    chunk_rows: int = CHUNK_ROWS,
    label: str = "ReadInput",
) -> Any:
    """The input's rows as a ``PCollection`` of pandas DataFrames (up to ``chunk_rows`` rows each).

    Faster than :func:`read_rows` for vectorised work (combiners over scores). Shards, and
    the row groups of Parquet shards, are spread over the workers (``beam.Create`` of the
    work items reshuffles two or more of them); within a work item the order of rows is
    kept.

    Parameters
    ----------
    pipeline : apache_beam.Pipeline
    pattern : str or InputLayout
        A path or glob (checked here with :func:`inspect_inputs`), or a layout already
        inspected.
    columns : sequence of str, optional
        Keep only these columns (checked to exist).
    chunk_rows : int
        Rows per DataFrame.
    label : str
        The transforms' label prefix (unique within the pipeline).

    Raises
    ------
    PipelineInputError
        As :func:`inspect_inputs`, at construction time.
    """
    if chunk_rows < 1:
        raise PipelineInputError(f"`chunk_rows` must be >= 1; got {chunk_rows}")
    layout = (
        pattern if isinstance(pattern, InputLayout) else inspect_inputs(pattern, columns=columns)
    )
    if isinstance(pattern, InputLayout):
        for column in columns or ():
            if column not in layout.columns:
                raise PipelineInputError(
                    f"the input has no column {preview(column)}; columns are "
                    f"[{preview_list(layout.columns)}]"
                )
    keep = tuple(columns) if columns is not None else None
    return (
        pipeline
        # Create spreads two or more work items over the workers (its own reshuffle)
        | f"{label}/Shards" >> beam.Create(list(layout.work))
        | f"{label}/Read" >> beam.ParDo(_ReadShard(layout.format, layout.columns, keep, chunk_rows))
    )


def _records(frame: pd.DataFrame) -> Iterator[dict[str, Any]]:
    for record in frame.to_dict("records"):
        yield {str(k): v for k, v in record.items()}


def read_rows(
    pipeline: Any,
    pattern: str | InputLayout,
    *,
    columns: Sequence[str] | None = None,
    label: str = "ReadInput",
) -> Any:
    """The input's rows as a ``PCollection`` of ``dict`` (column name → value), one per row.

    CSV, TSV, JSON lines, Parquet, and globs of shards of one of them. Every shard's header
    (Parquet: schema) is checked when the pipeline is built: the same in every shard, and
    ``columns`` present. Values are Python objects as pandas reads them (``int``, ``float``,
    ``str``, ...), the same the in-process commands see.

    Parameters
    ----------
    pipeline : apache_beam.Pipeline
    pattern : str or InputLayout
        A path or a glob of shards (``data/part-*.csv``, ``gs://bucket/in/*.parquet``).
    columns : sequence of str, optional
        Keep only these columns (checked to exist).
    label : str
        The transforms' label prefix.

    Returns
    -------
    apache_beam.PCollection of dict[str, Any]

    Raises
    ------
    PipelineInputError
        A glob matching nothing, a missing file, an unsupported extension, mixed formats,
        a shard with a different header, a missing column (see :func:`inspect_inputs`).

    Examples
    --------
    >>> with beam.Pipeline() as p:  # doctest: +SKIP
    ...     rows = read_rows(p, "data/part-*.csv", columns=["id", "text"])
    """
    batches = read_batches(pipeline, pattern, columns=columns, label=label)
    return batches | f"{label}/Rows" >> beam.FlatMap(_records)
