"""Evaluation data: read labelled text files and precomputed scores files, check them, report.

Formats: CSV, TSV, JSONL and Parquet. The format is decided by the file's *content*
(Parquet magic bytes, JSON objects per line, the delimiter of the header line); when the
name's extension says otherwise the file is refused with a message saying what it looks
like. Text files must be UTF-8 (the offset of the first bad byte is reported).

Truth cells: a label name, a class id (int or digit string, used only when it is not
itself a label name), label names/ids joined by ``;``, or a list. The task is inferred:
any ``;``-joined, list or empty truth → multi-label; otherwise multi-class.

Row numbers in messages are 1-based data rows (the header is not counted).
All problems are raised as :class:`EvalDataError` (a ``ValueError``); messages quote user
data only as short previews (:func:`cls_core.preview.preview`).

Memory caps (checked before the data is materialised): a whole-file read
(:func:`read_table`, hence :func:`load_scores` and :func:`load_texts`) refuses files of more
than :func:`max_cells` cells (rows × columns; Parquet: every stored value, list elements
included) or more than :func:`max_bytes` bytes of decoded data. Parquet files are checked
from their metadata, then read in batches with strings kept dictionary-encoded until their
decoded size is known; CSV/TSV/JSONL are read up to the cap and no further. Both caps are
configurable: environment variables ``CLS_MAX_CELLS`` and ``CLS_MAX_BYTES``.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from cls_core.evaluation.metrics import Evaluation, build_evaluation
from cls_core.evaluation.thresholds import sha256_of
from cls_core.preview import preview, preview_list
from cls_core.scoring.activations import sigmoid, softmax
from cls_core.scoring.decisions import TASKS, Task, validate_labels

__all__ = [
    "FORMATS",
    "DataReport",
    "DroppedRows",
    "EvalDataError",
    "FileFormat",
    "ScoresData",
    "TextsData",
    "TruthColumn",
    "detect_format",
    "infer_score_kind",
    "iter_table_chunks",
    "load_scores",
    "load_texts",
    "max_bytes",
    "max_cells",
    "parse_stored_labels",
    "parse_truth",
    "read_table",
]

FileFormat = Literal["csv", "tsv", "jsonl", "parquet"]
FORMATS: tuple[FileFormat, ...] = ("csv", "tsv", "jsonl", "parquet")
_EXTENSIONS: dict[str, FileFormat] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_SNIFF_BYTES = 64 * 1024
_HEADER_BYTES = 16 * 1024 * 1024  # a header line longer than this is refused
Source = str | Path | bytes

DEFAULT_MAX_CELLS = 50_000_000
"""Default cap on the cells (rows × columns) of a file read whole: 400 MB as float64."""
DEFAULT_MAX_BYTES = 1 << 30
"""Default cap on the decoded bytes of a file read whole (1 GiB)."""


class EvalDataError(ValueError):
    """The evaluation data cannot be used as given; the message names the file and the problem."""


# --------------------------------------------------------------------------- caps


def _env_cap(variable: str, default: int) -> int:
    raw = os.environ.get(variable)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw.replace("_", "").strip())
    except ValueError:
        value = 0
    if value < 1:
        raise EvalDataError(
            f"environment variable {variable} must be a positive whole number; got {preview(raw)}"
        )
    return value


def max_cells() -> int:
    """Cells (rows × columns) a whole-file read accepts: ``CLS_MAX_CELLS``, default 50,000,000."""
    return _env_cap("CLS_MAX_CELLS", DEFAULT_MAX_CELLS)


def max_bytes() -> int:
    """Decoded bytes a whole-file read accepts: ``CLS_MAX_BYTES``, default 1 GiB."""
    return _env_cap("CLS_MAX_BYTES", DEFAULT_MAX_BYTES)


def _too_many_cells(label: str, what: str) -> EvalDataError:
    return EvalDataError(
        f"file {label} is too big to read whole: {what}, over the limit of {max_cells():,} "
        "cells (rows × columns; set CLS_MAX_CELLS to change it)"
    )


def _too_many_bytes(label: str, what: str, *, whole: bool = True) -> EvalDataError:
    return EvalDataError(
        f"file {label} is too big to read{' whole' if whole else ''}: {what}, over the limit "
        f"of {max_bytes():,} bytes (set CLS_MAX_BYTES to change it)"
    )


# --------------------------------------------------------------------------- formats


def _describe(source: Source, name: str | None) -> str:
    if name:
        return preview(name, limit=200)
    return "the uploaded file" if isinstance(source, bytes) else preview(str(source), limit=200)


def _head(source: Source, n: int = _SNIFF_BYTES) -> bytes:
    if isinstance(source, bytes):
        return source[:n]
    with open(source, "rb") as fh:
        return fh.read(n)


def _looks_like(head: bytes) -> str:
    """What the content looks like, for messages and detection."""
    if head.startswith(b"PAR1"):
        return "parquet"
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or head[:4] == b"\x00\x00\xfe\xff":
        return "utf-16"
    if _utf16_without_bom(head[:4096]):
        return "utf-16"
    if head[:2] in (b"PK",) or head[:4] == b"\x89PNG" or head[:5] == b"%PDF-":
        return "binary"
    if b"\x00" in head[:4096]:
        return "binary"
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return "jsonl"
    if stripped.startswith("["):
        return "json-array"
    first = text.split("\n", 1)[0]
    if "\t" in first and first.count("\t") >= first.count(","):
        return "tsv"
    return "csv"


def _utf16_without_bom(head: bytes) -> bool:
    """Mostly-ASCII UTF-16 text: every other byte is NUL (and the others are not)."""
    if len(head) < 8:
        return False
    even, odd = head[0::2], head[1::2]
    for zeros, chars in ((even, odd), (odd, even)):
        if zeros.count(0) >= 0.9 * len(zeros) and chars.count(0) <= 0.1 * len(chars):
            return True
    return False


def detect_format(source: Source, *, name: str | None = None) -> FileFormat:
    """The file's format, from its content, checked against its extension.

    Parameters
    ----------
    source : path or bytes
    name : str, optional
        The file name (for uploads given as bytes): its extension is checked too.

    Raises
    ------
    EvalDataError
        Missing/unreadable/empty file, binary content that is not Parquet, a JSON array
        instead of JSON lines, or content that contradicts the extension.
    """
    label = _describe(source, name)
    try:
        head = _head(source)
    except FileNotFoundError:
        raise EvalDataError(f"file {label} does not exist") from None
    except IsADirectoryError:
        raise EvalDataError(f"file {label} is a directory, not a file") from None
    except OSError as exc:
        raise EvalDataError(f"file {label} cannot be read: {exc.strerror or exc}") from None
    if not head.strip():
        raise EvalDataError(
            f"file {label} is empty; expected a header line and data rows (CSV, TSV, JSONL or Parquet)"
        )
    looks = _looks_like(head)
    if looks == "utf-16":
        raise EvalDataError(
            f"file {label} is UTF-16 (or UTF-32) text; UTF-16 is not supported: save it as UTF-8"
        )
    if looks == "binary":
        raise EvalDataError(f"file {label} is binary data, not CSV, TSV, JSONL or Parquet")
    if looks == "json-array":
        raise EvalDataError(
            f"file {label} is a JSON array; expected JSON lines (one object per line)"
        )
    ext_name = name if name is not None else (None if isinstance(source, bytes) else str(source))
    expected = _EXTENSIONS.get(Path(ext_name).suffix.lower()) if ext_name else None
    if expected is not None and expected != looks:
        # a CSV whose header holds no comma is fine as TSV and vice versa only if single-column
        if not ({expected, looks} <= {"csv", "tsv"} and _single_column(head)):
            raise EvalDataError(
                f"file {label} is not {_FORMAT_NAMES[expected]} as its name says: "
                f"its content looks like {_FORMAT_NAMES[looks]}"
            )
        return expected
    return looks  # type: ignore[return-value]


_FORMAT_NAMES = {"csv": "CSV", "tsv": "TSV", "jsonl": "JSON lines", "parquet": "Parquet"}


def _single_column(head: bytes) -> bool:
    first = head.decode("utf-8", errors="replace").split("\n", 1)[0]
    return "," not in first and "\t" not in first


def _check_utf8(source: Source, label: str) -> None:
    """Valid UTF-8 and no NUL byte, anywhere in the file (streamed in 1 MiB blocks)."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    offset = 0
    stream: Any = io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")  # noqa: SIM115
    with stream:
        while True:
            block = stream.read(1 << 20)
            final = not block
            nul = block.find(b"\x00")
            if nul >= 0:
                raise EvalDataError(
                    f"file {label} holds a NUL byte (0x00) at offset {offset + nul}: CSV, TSV and "
                    "JSON lines are text and cannot contain NUL bytes (binary data or padding "
                    "after the text?)"
                )
            try:
                decoder.decode(block, final=final)
            except UnicodeDecodeError as exc:
                pos = offset + exc.start
                raise EvalDataError(
                    f"file {label} is not valid UTF-8 text: bad byte 0x{block[exc.start]:02x} at offset {pos}"
                    if exc.start < len(block)
                    else f"file {label} is not valid UTF-8 text: truncated character at the end"
                ) from None
            if final:
                return
            offset += len(block)


def _parser_reason(exc: Exception) -> str:
    """The first line of a parser's error, with pandas' tokenizer jargon reworded."""
    text = str(exc).strip()
    if not text:
        return type(exc).__name__
    first = text.splitlines()[0]
    if "depth limit" in first or isinstance(exc, RecursionError):
        return (
            "a line is nested too deeply (more than 1,000 levels of [ or {); each line must "
            "be one flat object: a value per column"
        )
    ragged = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", first)
    if ragged:
        expected, line, saw = ragged.groups()
        return f"line {line} has {saw} fields; the header has {expected}"
    return first


def _rows_have(n: int) -> str:
    return f"{n} row has" if n == 1 else f"{n} rows have"


def _header_names(source: Source, fmt: FileFormat, label: str) -> list[str] | None:
    """Every column name of the header (None when the parser will report the file instead).

    Text formats: the whole first record, however long (up to 16 MiB; longer is refused),
    so that a name cut at a buffer boundary is never mistaken for a duplicate.
    """
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            return list(pq.read_schema(_parquet_input(source)).names)
        except Exception:
            return None  # the reader reports unreadable files
    head = _head(source, _HEADER_BYTES)
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    if fmt in ("csv", "tsv"):
        buf = io.StringIO(text, newline="")
        rows = csv.reader(
            buf,
            delimiter="," if fmt == "csv" else "\t",
            quoting=csv.QUOTE_MINIMAL if fmt == "csv" else csv.QUOTE_NONE,
        )
        try:
            names = next(rows, [])
        except csv.Error:
            return None  # e.g. a name over the csv module's field limit: pandas decides
        if len(head) == _HEADER_BYTES and buf.tell() >= len(text):
            raise EvalDataError(
                f"file {label} has a header line longer than {_HEADER_BYTES:,} bytes; "
                "expected one short name per column"
            )
        return names
    # JSON lines: parsing keeps the last of repeated keys, so look at the first object
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    names = []

    def collect(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        names.extend(key for key, _ in pairs)
        return {}

    try:
        json.loads(first, object_pairs_hook=collect)
    except RecursionError:
        raise EvalDataError(
            f"file {label} is not a readable JSON lines file: line 1 is nested too deeply "
            "(more than 1,000 levels of [ or {); each line must be one flat object: a value "
            "per column"
        ) from None
    except ValueError:
        return None  # the reader reports malformed lines
    return names


def _check_unique_header(source: Source, fmt: FileFormat, label: str) -> list[str] | None:
    """Refuse duplicate column names (pandas would rename the second ``x`` to ``x.1``).

    Returns the header's names (None when unknown: the parser then reports the file).
    """
    names = _header_names(source, fmt, label)
    if names is None:
        return None
    seen: set[str] = set()
    duplicates = [n for n in names if n in seen or seen.add(n)]  # type: ignore[func-returns-value]
    if duplicates:
        listed = preview_list(dict.fromkeys(duplicates))
        raise EvalDataError(
            f"file {label} has duplicate column names: {listed}; every column needs its own name"
        )
    return names


def _parquet_input(source: Source) -> Any:
    """A fresh readable input for pyarrow (bytes are wrapped without copying)."""
    if isinstance(source, bytes):
        import pyarrow as pa

        return pa.BufferReader(source)
    return source


def _source_size(source: Source) -> int:
    return len(source) if isinstance(source, bytes) else os.stat(source).st_size


def _string_columns(schema: Any) -> list[str]:
    """Names of the string and binary columns of an Arrow schema (read dictionary-encoded)."""
    import pyarrow as pa

    return [
        f.name
        for f in schema
        if pa.types.is_string(f.type)
        or pa.types.is_large_string(f.type)
        or pa.types.is_binary(f.type)
        or pa.types.is_large_binary(f.type)
    ]


def _decoded_bytes(data: Any) -> int:
    """Bytes an Arrow record batch or table takes once its dictionary columns are expanded."""
    import pyarrow as pa
    import pyarrow.compute as pc

    total = 0
    for column in data.columns:
        for array in column.chunks if isinstance(column, pa.ChunkedArray) else [column]:
            if pa.types.is_dictionary(array.type):
                lengths = pc.binary_length(array.dictionary)
                total += int(pc.sum(pc.take(lengths, array.indices)).as_py() or 0)
                total += 8 * len(array)  # offsets
            else:
                total += int(array.nbytes)
    return total


def _decode_dictionaries(table: Any) -> Any:
    """``table`` (Arrow table or record batch) with dictionary columns expanded to plain ones."""
    import pyarrow as pa

    for i, f in enumerate(table.schema):
        if pa.types.is_dictionary(f.type):
            table = table.set_column(i, f.name, table.column(i).cast(f.type.value_type))
    return table


def _read_parquet_capped(source: Source, label: str) -> pd.DataFrame:
    """Read a Parquet file whole, refusing it before it is materialised when over the caps.

    1. Metadata: every stored value (list elements included) counts as a cell; the column
       chunks' uncompressed sizes count as bytes.
    2. Batches: string and binary columns are read dictionary-encoded (a dictionary page can
       stand for gigabytes of repeated text), and their decoded size is summed from the
       dictionary's value lengths before anything is expanded.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        meta = pq.read_metadata(_parquet_input(source))
        schema = meta.schema.to_arrow_schema()
    except Exception as exc:
        raise EvalDataError(
            f"file {label} is not a readable Parquet file: {_parser_reason(exc)}"
        ) from None
    cells = 0
    stored = 0
    for i in range(meta.num_row_groups):
        group = meta.row_group(i)
        for j in range(group.num_columns):
            chunk = group.column(j)
            cells += max(int(chunk.num_values), int(group.num_rows))
            stored += int(chunk.total_uncompressed_size)
    cells = max(cells, int(meta.num_rows) * len(schema.names))
    if cells > max_cells():
        raise _too_many_cells(
            label,
            f"{meta.num_rows:,} rows × {len(schema.names):,} columns hold {cells:,} values",
        )
    if stored > max_bytes():
        raise _too_many_bytes(label, f"its data takes {stored:,} bytes uncompressed")
    limit = max_bytes()
    total = 0
    batches = []
    try:
        reader = pq.ParquetFile(_parquet_input(source), read_dictionary=_string_columns(schema))
        # one row group at a time (bounded by the checks above while strings stay encoded)
        for i in range(reader.num_row_groups):
            group = reader.read_row_group(i)
            total += _decoded_bytes(group)
            if total > limit:
                raise _too_many_bytes(label, f"its data decodes to at least {total:,} bytes")
            batches.append(group)
        table = pa.concat_tables(batches) if batches else reader.schema_arrow.empty_table()
        table = _decode_dictionaries(table).replace_schema_metadata(schema.metadata)
        return table.to_pandas()
    except EvalDataError:
        raise
    except Exception as exc:
        raise EvalDataError(
            f"file {label} is not a readable Parquet file: {_parser_reason(exc)}"
        ) from None


def _read_text_capped(
    source: Source, fmt: FileFormat, label: str, names: list[str] | None
) -> pd.DataFrame:
    """Read CSV/TSV/JSONL whole, stopping as soon as the cell cap is passed."""
    size = _source_size(source)
    if size > max_bytes():
        raise _too_many_bytes(label, f"it holds {size:,} bytes")
    data: Any = io.BytesIO(source) if isinstance(source, bytes) else source
    cap = max_cells()
    if fmt == "jsonl":
        chunks = []
        cells = 0
        reader = pd.read_json(
            data,
            lines=True,
            dtype=False,
            precise_float=True,
            encoding="utf-8",
            chunksize=10_000,
        )
        with reader:
            for chunk in reader:
                cells += int(chunk.size)
                if cells > cap:
                    raise _too_many_cells(label, f"its first rows already hold {cells:,} values")
                chunks.append(chunk)
        if not chunks:
            return pd.DataFrame()
        return pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]
    n_columns = max(len(names or ()), 1)
    max_rows = cap // n_columns
    if max_rows < 1:
        raise _too_many_cells(label, f"its header alone names {n_columns:,} columns")
    frame = pd.read_csv(
        data,
        sep="," if fmt == "csv" else "\t",
        keep_default_na=False,
        na_values=[],
        encoding="utf-8",
        quoting=3 if fmt == "tsv" else 0,  # TSV: quotes are text
        nrows=max_rows + 1,  # read no further than the cap
    )
    if frame.shape[0] > max_rows or frame.size > cap:
        raise _too_many_cells(label, f"more than {max_rows:,} rows × {n_columns:,} columns")
    return frame


def read_table(source: Source, *, name: str | None = None) -> pd.DataFrame:
    """Read a whole CSV/TSV/JSONL/Parquet file (path or bytes) into a DataFrame.

    Text cells are kept as strings (no "NA" → NaN guessing); empty cells are "".

    Raises
    ------
    EvalDataError
        See :func:`detect_format`; invalid UTF-8 or a NUL byte anywhere in a text file;
        duplicate column names (the whole header is read); a malformed file (the parser's
        reason); over the caps (:func:`max_cells`, :func:`max_bytes`; nothing is
        materialised beyond them); no rows.
    """
    fmt = detect_format(source, name=name)
    label = _describe(source, name)
    if fmt != "parquet":
        _check_utf8(source, label)
    names = _check_unique_header(source, fmt, label)
    try:
        if fmt == "parquet":
            frame = _read_parquet_capped(source, label)
        else:
            frame = _read_text_capped(source, fmt, label, names)
    except EvalDataError:
        raise
    except Exception as exc:  # pandas/pyarrow parser errors: report, never a traceback
        reason = _parser_reason(exc)
        raise EvalDataError(
            f"file {label} is not a readable {_FORMAT_NAMES[fmt]} file: {reason}"
        ) from None
    if frame.shape[0] == 0:
        raise EvalDataError(f"file {label} has a header but no data rows")
    frame.columns = [str(c) for c in frame.columns]
    return frame


def text_chunk_reader(source: Any, fmt: str, chunk_rows: int, **options: Any) -> Any:
    """The pandas chunk reader for a CSV, TSV or JSON lines ``source``, as every reader here parses.

    Cells are text unless they look like numbers (no NA guessing: an empty cell is ``""``),
    floats are parsed exactly (``precise_float``), quotes are text in TSV. ``options`` go to
    the pandas reader (e.g. ``encoding``). The Beam pipelines read shards through it too, so
    a file reads the same in process and on a runner.
    """
    if fmt == "jsonl":
        return pd.read_json(
            source, lines=True, dtype=False, precise_float=True, chunksize=chunk_rows, **options
        )
    return pd.read_csv(
        source,
        sep="," if fmt == "csv" else "\t",
        keep_default_na=False,
        na_values=[],
        chunksize=chunk_rows,
        quoting=3 if fmt == "tsv" else 0,  # TSV: quotes are text
        **options,
    )


def iter_table_chunks(
    source: str | Path, *, chunk_rows: int = 10_000, name: str | None = None
) -> tuple[FileFormat, int | None, Iterator[pd.DataFrame]]:
    """Stream a file in chunks of ``chunk_rows`` rows (bounded memory).

    Returns
    -------
    (format, total rows if known cheaply (Parquet) else None, iterator of DataFrames)
    """
    fmt = detect_format(source, name=name)
    label = _describe(source, name)
    if fmt != "parquet":
        _check_utf8(source, label)
    _check_unique_header(source, fmt, label)
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            schema = pq.read_schema(source)
            pf = pq.ParquetFile(source, read_dictionary=_string_columns(schema))
        except Exception as exc:
            raise EvalDataError(
                f"file {label} is not a readable Parquet file: {_parser_reason(exc)}"
            ) from None

        def parquet_chunks() -> Iterator[pd.DataFrame]:
            # strings stay dictionary-encoded until a chunk's decoded size is known to fit
            limit = max_bytes()
            for batch in pf.iter_batches(batch_size=chunk_rows):
                size = _decoded_bytes(batch)
                if size > limit:
                    raise _too_many_bytes(
                        label,
                        f"{batch.num_rows:,} rows decode to {size:,} bytes",
                        whole=False,
                    )
                table = _decode_dictionaries(pa.Table.from_batches([batch]))
                yield table.replace_schema_metadata(schema.metadata).to_pandas()

        return fmt, pf.metadata.num_rows, parquet_chunks()

    def text_chunks() -> Iterator[pd.DataFrame]:
        try:
            reader = text_chunk_reader(source, fmt, chunk_rows)
            with reader:
                for chunk in reader:
                    chunk.columns = [str(c) for c in chunk.columns]
                    yield chunk
        except EvalDataError:
            raise
        except Exception as exc:
            reason = _parser_reason(exc)
            raise EvalDataError(
                f"file {label} is not a readable {_FORMAT_NAMES[fmt]} file: {reason}"
            ) from None

    return fmt, None, text_chunks()


# --------------------------------------------------------------------------- report


@dataclass(frozen=True, kw_only=True)
class DroppedRows:
    """Rows removed for one reason; ``rows`` holds up to 20 of their 1-based row numbers."""

    reason: str
    count: int
    rows: tuple[int, ...]
    detail: str = ""


@dataclass(frozen=True, kw_only=True)
class DataReport:
    """What was read, what was kept and why rows were dropped.

    Attributes
    ----------
    n_rows : int
        Data rows read.
    n_kept : int
    dropped : tuple of DroppedRows
    label_counts : dict
        Kept examples per label (multi-label: examples holding the label), class order.
    task : "multi-class" or "multi-label"
    notes : tuple of str
        E.g. which score kind was assumed.
    """

    n_rows: int
    n_kept: int
    dropped: tuple[DroppedRows, ...]
    label_counts: dict[str, int]
    task: Task
    notes: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        """A human-readable summary, one line per fact."""
        out = [f"{self.n_rows} rows read, {self.n_kept} kept ({self.task})"]
        for d in self.dropped:
            examples = ", ".join(str(r) for r in d.rows[:5])
            more = ", ..." if d.count > 5 else ""
            extra = f" ({d.detail})" if d.detail else ""
            out.append(f"dropped {d.count} rows: {d.reason}{extra}; rows {examples}{more}")
        out.extend(self.notes)
        return out


def _dropped(reason: str, mask: npt.NDArray[np.bool_], detail: str = "") -> DroppedRows:
    rows = np.flatnonzero(mask)
    return DroppedRows(
        reason=reason,
        count=int(rows.size),
        rows=tuple(int(r) + 1 for r in rows[:20]),
        detail=detail,
    )


# --------------------------------------------------------------------------- truth


@dataclass(frozen=True, kw_only=True)
class TruthColumn:
    """A parsed truth column.

    Attributes
    ----------
    task : "multi-class" or "multi-label"
    ids : ndarray of int64 (n,) or None
        Multi-class class ids (-1 where missing or unknown).
    indicator : ndarray of bool (n, n_classes)
        Known labels per row (both tasks).
    unknown : ndarray of bool (n,)
        Rows naming at least one label not in ``labels``.
    unknown_labels : tuple of str
        The distinct unknown names, sorted (up to 50).
    missing : ndarray of bool (n,)
        Multi-class rows with no truth at all.
    reading : str
        How whole numbers in the truth were read, for the report ("" when there were none):
        as label names when some labels are whole numbers and the numbers match them at
        least as often as they match class ids, else as 0-based class ids.
    """

    task: Task
    ids: npt.NDArray[np.int64] | None
    indicator: npt.NDArray[np.bool_]
    unknown: npt.NDArray[np.bool_]
    unknown_labels: tuple[str, ...]
    missing: npt.NDArray[np.bool_]
    reading: str = ""


def _cell_tokens(cell: Any) -> list[Any] | None:
    """Tokens of one truth cell; None for a missing cell."""
    if cell is None:
        return None
    if isinstance(cell, list | tuple | np.ndarray):
        return [x for x in cell if not (isinstance(x, str) and not x.strip())]
    if isinstance(cell, float):
        if math.isnan(cell):
            return None
        return [int(cell)] if cell.is_integer() else [str(cell)]
    if isinstance(cell, int | np.integer) and not isinstance(cell, bool):
        return [int(cell)]
    text = str(cell).strip()
    if not text:
        return []
    return [t.strip() for t in text.split(";") if t.strip()]


def parse_truth(
    values: pd.Series | Sequence[Any], labels: Sequence[str], *, task: Task | None = None
) -> TruthColumn:
    """Map truth cells to class ids / an indicator matrix; infer the task when not given.

    Parameters
    ----------
    values : Series or sequence
        Label names, class ids, ``;``-joined names/ids or lists.
    labels : sequence of str, class order
    task : "multi-class" or "multi-label", optional
        Inferred when None: any ``;``-joined, list or empty cell → multi-label.

    Raises
    ------
    EvalDataError
        ``task="multi-class"`` with rows holding several labels.
    """
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    distinct = _parse_distinct(series, labels, task)
    return distinct if distinct is not None else _parse_rows(series, labels, task)


def _parse_distinct(
    series: pd.Series, labels: Sequence[str], task: Task | None
) -> TruthColumn | None:
    """:func:`parse_truth` of a column of strings: each distinct cell parsed once, then spread.

    Truth columns repeat a few names (or ``;``-joined sets) over many rows. Only strings
    (and missing cells) are grouped this way: they group exactly, where ``1``, ``1.0`` and
    ``True`` would not. None when that does not apply or pays nothing, or when a distinct
    cell is refused (the row-by-row pass then names the first such row).
    """
    if len(series) < 2048 or series.dtype.kind in "iuf":
        return None
    if pd.api.types.infer_dtype(series, skipna=True) != "string":
        return None
    codes, uniques = pd.factorize(series, use_na_sentinel=False)
    if 2 * len(uniques) > len(series):
        return None
    try:
        parsed = _parse_rows(
            pd.Series(np.asarray(uniques, dtype=object), dtype=object), labels, task
        )
    except EvalDataError:
        return None
    return TruthColumn(
        task=parsed.task,
        ids=None if parsed.ids is None else parsed.ids[codes],
        indicator=parsed.indicator[codes],
        unknown=parsed.unknown[codes],
        unknown_labels=parsed.unknown_labels,
        missing=parsed.missing[codes],
        reading=parsed.reading,
    )


def _parse_rows(series: pd.Series, labels: Sequence[str], task: Task | None) -> TruthColumn:
    names = validate_labels(labels)
    index = {name: i for i, name in enumerate(names)}
    n_classes = len(names)
    n = len(series)
    # fast path: a plain column of single names or ids
    if series.dtype.kind in "iu":
        ints = series.to_numpy().astype(np.int64)
        tokens_simple: list[list[Any] | None] | None = None
    else:
        ints = None
        tokens_simple = [_cell_tokens(c) for c in series.tolist()]
    if task is not None and task not in TASKS:
        raise EvalDataError(f"task must be one of {', '.join(TASKS)}; got {preview(task)}")
    if task is None:
        if tokens_simple is None:
            task = "multi-class"
        else:
            cells = series.tolist()
            multi = any(
                isinstance(c, list | tuple | np.ndarray) or (t is not None and len(t) != 1)
                for c, t in zip(cells, tokens_simple, strict=True)
            ) or any(isinstance(c, str) and ";" in c for c in cells)
            task = "multi-label" if multi else "multi-class"

    numbers = (
        set(np.unique(ints).tolist())
        if ints is not None
        else {
            v for t in _distinct_tokens(tokens_simple or ()) if (v := _whole_number(t)) is not None
        }
    )
    by_name, reading = _integer_reading(numbers, index)
    indicator = np.zeros((n, n_classes), dtype=bool)
    unknown = np.zeros(n, dtype=bool)
    missing = np.zeros(n, dtype=bool)
    unknown_names: set[str] = set()
    if ints is not None:
        if by_name:
            lookup = {v: index.get(str(v), -1) for v in numbers}
            ids = np.array([lookup[v] for v in ints.tolist()], dtype=np.int64).reshape(-1)
            bad = ids < 0
        else:
            ids = ints
            bad = (ids < 0) | (ids >= n_classes)
        unknown |= bad
        unknown_names.update(str(v) for v in np.unique(ints[bad])[:50])
        good = np.flatnonzero(~bad)
        indicator[good, ids[good]] = True
    else:
        assert tokens_simple is not None
        known: dict[tuple[type, Any], int | None] = {}
        hit_rows: list[int] = []
        hit_cols: list[int] = []
        for row, tokens in enumerate(tokens_simple):
            if tokens is None or (task == "multi-class" and not tokens):
                missing[row] = True
                continue
            if task == "multi-class" and len(tokens) > 1:
                raise EvalDataError(
                    f"row {row + 1} holds {len(tokens)} labels "
                    f"({preview(';'.join(map(str, tokens)), quote=False)}) but the task is multi-class"
                )
            for token in tokens:
                kind = type(token)
                if kind is str or kind is int:  # the same few names on every row: look up once
                    key = (kind, token)
                    cls = known.get(key, -1)
                    if cls == -1:
                        cls = known[key] = _token_id(token, index, n_classes, by_name=by_name)
                else:
                    cls = _token_id(token, index, n_classes, by_name=by_name)
                if cls is None:
                    unknown[row] = True
                    if len(unknown_names) < 50:
                        unknown_names.add(str(token))
                else:
                    hit_rows.append(row)
                    hit_cols.append(cls)
        indicator[hit_rows, hit_cols] = True
    class_ids: npt.NDArray[np.int64] | None = None
    if task == "multi-class":
        class_ids = np.where(indicator.any(axis=1), np.argmax(indicator, axis=1), -1).astype(
            np.int64
        )
    return TruthColumn(
        task=task,
        ids=class_ids,
        indicator=indicator,
        unknown=unknown,
        unknown_labels=tuple(sorted(unknown_names)),
        missing=missing,
        reading=reading,
    )


def _distinct_tokens(cells: Sequence[list[Any] | None]) -> list[Any]:
    """Every token of ``cells``, each str/int token once (others, e.g. from list cells, all)."""
    seen: dict[tuple[type, Any], Any] = {}
    others: list[Any] = []
    for tokens in cells:
        for t in tokens or ():
            kind = type(t)
            if kind is str or kind is int:
                seen[(kind, t)] = t
            else:
                others.append(t)
    return [*seen.values(), *others]


def _whole_number(token: Any) -> int | None:
    """A truth token's value as a whole number (an int, or a string of ASCII digits)."""
    if isinstance(token, int | np.integer) and not isinstance(token, bool):
        return int(token)
    if isinstance(token, str) and token.isascii() and token.isdigit():
        return int(token)
    return None


def _integer_reading(numbers: set[int], index: dict[str, int]) -> tuple[bool, str]:
    """Read whole-number truth as label names (True) or as class ids (False), and say so.

    Label names that are whole numbers ("0", "1"; star ratings "1".."5") win when the
    numbers match them at least as often as they match 0-based positions: a binary file
    with columns "1", "0" and 0/1 truth is read by name, not as "0 = the first column".
    """
    if not numbers:
        return False, ""
    n_classes = len(index)
    named = {name for name in index if name.isascii() and name.isdigit()}
    as_names = sum(1 for v in numbers if str(v) in index)
    as_ids = sum(1 for v in numbers if 0 <= v < n_classes)
    shown = sorted(numbers)[:3]
    example = shown[0]
    if named and as_names >= as_ids:
        return True, (
            f"truth: whole numbers read as label names, since some labels are numbers "
            f"({example} is the label {str(example)!r}, not class id {example})"
        )
    target = list(index)[example] if 0 <= example < n_classes else None
    return False, (
        "truth: whole numbers read as 0-based class ids"
        + (f" ({example} is the label {preview(target)})" if target is not None else "")
    )


def _token_id(token: Any, index: dict[str, int], n_classes: int, *, by_name: bool) -> int | None:
    """The class of one truth token; whole numbers follow ``by_name`` (names, else ids)."""
    number = _whole_number(token)
    if number is None:
        return index.get(token) if isinstance(token, str) else None
    if by_name:
        return index.get(str(number))
    if isinstance(token, str) and token in index:
        return index[token]
    return number if 0 <= number < n_classes else None


# --------------------------------------------------------------------------- scores files


@dataclass(frozen=True, kw_only=True)
class ScoresData:
    """A checked scores file, ready for analysis.

    Attributes
    ----------
    labels : tuple of str
    task : "multi-class" or "multi-label"
    scores : ndarray (n_kept, n_classes)
        Probabilities (converted from logits when ``score_kind`` is "logits").
    raw_scores : ndarray (n_kept, n_classes)
        The file's values as read.
    score_kind : "probabilities" or "logits"
    truth : TruthColumn
        For the kept rows.
    kept_rows : ndarray of int64
        0-based row positions kept from the file.
    other : DataFrame
        The kept rows' other columns (e.g. text), for browsing examples.
    report : DataReport
    sha256 : str
        SHA-256 of the file's bytes.
    """

    labels: tuple[str, ...]
    task: Task
    scores: npt.NDArray[np.floating[Any]]
    raw_scores: npt.NDArray[np.floating[Any]]
    score_kind: Literal["probabilities", "logits"]
    truth: TruthColumn
    kept_rows: npt.NDArray[np.int64]
    other: pd.DataFrame = field(repr=False)
    report: DataReport
    sha256: str

    def evaluation(self) -> Evaluation:
        """Build the :class:`~cls_core.evaluation.metrics.Evaluation` (sorts once per class)."""
        truth: Any = self.truth.ids if self.task == "multi-class" else self.truth.indicator
        return build_evaluation(self.scores, truth, labels=self.labels, task=self.task)


def infer_score_kind(values: npt.NDArray[np.floating[Any]]) -> Literal["probabilities", "logits"]:
    """ "probabilities" when every value lies in [0, 1], else "logits"."""
    return (
        "probabilities" if values.size and values.min() >= 0.0 and values.max() <= 1.0 else "logits"
    )


def _truth_names(series: pd.Series, candidates: set[str]) -> set[str]:
    """The names among ``candidates`` that some truth cell of ``series`` mentions."""
    try:
        cells: Any = pd.unique(series)
    except TypeError:  # list cells are unhashable
        cells = series.tolist()
    found: set[str] = set()
    for cell in cells:
        found.update(
            name
            for t in _cell_tokens(cell) or ()
            if (name := str(t) if _whole_number(t) is not None else t) in candidates
        )
        if found == candidates:
            break
    return found


def _score_columns(frame: pd.DataFrame, truth_column: str, exclude: Sequence[str]) -> list[str]:
    """Columns holding scores, in file order.

    A column is a score column when its name is a label the truth column mentions
    (whatever its cells hold: bad cells are then reported by row and column), when it is
    a float column, or when (almost all of) its text cells are numbers.
    """
    candidates = {c for c in frame.columns if c != truth_column and c not in exclude}
    named = _truth_names(frame[truth_column], candidates) if candidates else set()
    out = []
    for column in frame.columns:
        if column == truth_column or column in exclude:
            continue
        series = frame[column]
        if column in named or series.dtype.kind == "f":
            out.append(column)
        elif series.dtype.kind in "OUT" or str(series.dtype) in ("string", "str"):
            sample = series.iloc[:1000]
            if not all(isinstance(v, str | float | int) or v is None for v in sample.tolist()):
                continue
            numeric = pd.to_numeric(sample, errors="coerce")
            # missing-looking cells ("", "nan", "null") do not make a number column text:
            # they are bad score cells, reported by row and column
            missing = sample.map(
                lambda v: (
                    v is None
                    or (isinstance(v, float) and math.isnan(v))
                    or (isinstance(v, str) and v.strip().lower() in _MISSING_TOKENS)
                )
            )
            score_like = numeric.notna() | missing.astype(bool)
            if len(sample) and numeric.notna().any() and score_like.mean() >= 0.9:
                out.append(column)
    return out


_MISSING_TOKENS = frozenset({"", "nan", "-nan", "na", "n/a", "nat", "null", "none"})


def load_scores(
    source: Source,
    *,
    name: str | None = None,
    labels: Sequence[str] | None = None,
    truth_column: str = "label",
    task: Task | None = None,
    score_kind: Literal["auto", "probabilities", "logits"] = "auto",
    on_unknown: Literal["error", "drop"] = "error",
    on_invalid: Literal["error", "drop"] = "error",
    exclude_columns: Sequence[str] = (),
) -> ScoresData:
    """Read and check a precomputed scores file (one float column per label + a truth column).

    Parameters
    ----------
    source : path or bytes
    name : str, optional
        File name for bytes (extension check, messages).
    labels : sequence of str, optional
        The class order. Default: the labels stored by ``python -m cls_core score`` in the
        Parquet metadata, else every score-like column (float, or text of numbers) except
        the truth column and ``exclude_columns``.
    truth_column : str, default "label"
    task : optional; inferred from the truth column when None.
    score_kind : "auto", "probabilities" or "logits"
        "auto": probabilities when every score is in [0, 1], else logits. Logits are
        turned into probabilities with softmax (multi-class) or sigmoid (multi-label).
    on_unknown : "error" or "drop"
        Rows whose truth names a label that is not a score column.
    on_invalid : "error" or "drop"
        Rows with a non-numeric, NaN or infinite score, or (multi-class) no truth.

    Returns
    -------
    ScoresData

    Raises
    ------
    EvalDataError
        Unreadable or mislabelled file, missing truth or score columns, unknown labels
        (listed), bad score cells (row and column named), nothing left after dropping.
    """
    label = _describe(source, name)
    frame = read_table(source, name=name)
    if truth_column not in frame.columns:
        raise EvalDataError(
            f"file {label} has no truth column {preview(truth_column)}; "
            f"columns are [{preview_list(frame.columns)}]"
        )
    _check_truth_not_empty(frame[truth_column], truth_column, label)
    if labels is None:
        stored = _stored_labels(source, label)
        columns = (
            stored if stored is not None else _score_columns(frame, truth_column, exclude_columns)
        )
    else:
        try:
            columns = list(validate_labels(labels))
        except (TypeError, ValueError) as exc:
            raise EvalDataError(f"bad `labels`: {preview(str(exc), limit=200)}") from None
    if not columns:
        raise EvalDataError(f"file {label} has no score columns (one numeric column per label)")
    missing_cols = [c for c in columns if c not in frame.columns]
    if missing_cols:
        raise EvalDataError(
            f"file {label} lacks score columns for labels [{preview_list(missing_cols)}]"
        )
    names = validate_labels(columns)
    _check_label_names(names, f"file {label}: score column")
    for column in names:
        _check_score_dtype(frame[column], column, label)
    n = frame.shape[0]

    # scores: coerce, then name the first bad cell
    block = frame[list(names)]
    values = np.empty(
        (n, len(names)),
        dtype=np.float64 if any(block[c].dtype != np.float32 for c in names) else np.float32,
    )
    bad_rows = np.zeros(n, dtype=bool)
    first_bad: tuple[int, str, Any] | None = None
    for j, column in enumerate(names):
        series = block[column]
        numeric = series if series.dtype.kind == "f" else pd.to_numeric(series, errors="coerce")
        arr = numeric.to_numpy(dtype=values.dtype, na_value=np.nan)
        bad = ~np.isfinite(arr)
        if bad.any():
            bad_rows |= bad
            row = int(np.flatnonzero(bad)[0])
            if first_bad is None or row < first_bad[0]:
                first_bad = (row, column, series.iloc[row])
        values[:, j] = arr
    dropped: list[DroppedRows] = []
    if first_bad is not None:
        row, column, cell = first_bad
        if on_invalid == "error":
            n_bad = int(bad_rows.sum())
            raise EvalDataError(
                f"file {label}: {_describe_cell(cell)} at row {row + 1}, column {preview(column)} "
                f"({n_bad} {'row has' if n_bad == 1 else 'rows have'} bad scores); "
                "every score must be a finite number"
            )
        dropped.append(_dropped("non-numeric, NaN or infinite scores", bad_rows))

    truth = parse_truth(frame[truth_column], names, task=task)
    if truth.unknown.any():
        listed = preview_list(truth.unknown_labels)
        if on_unknown == "error":
            raise EvalDataError(
                f"file {label}: {_rows_have(int(truth.unknown.sum()))} truth labels that are not score "
                f"columns: {listed} (use --drop-unknown to drop those rows)"
            )
        dropped.append(_dropped("unknown truth labels", truth.unknown & ~bad_rows, listed))
    if truth.missing.any():
        if on_invalid == "error":
            row = int(np.flatnonzero(truth.missing)[0])
            raise EvalDataError(
                f"file {label}: empty truth in column {preview(truth_column)} at row {row + 1} "
                f"({int(truth.missing.sum())} rows) for a multi-class task"
            )
        dropped.append(_dropped("empty truth", truth.missing & ~bad_rows & ~truth.unknown))
    keep = ~(bad_rows | truth.unknown | truth.missing)
    kept = np.flatnonzero(keep)
    if kept.size == 0:
        raise EvalDataError(f"file {label}: no rows left after dropping bad rows")

    raw = values[kept]
    kind: Literal["probabilities", "logits"] = (
        infer_score_kind(raw) if score_kind == "auto" else score_kind
    )
    notes = [truth.reading] if truth.reading else []
    if kind == "logits":
        probs = softmax(raw) if truth.task == "multi-class" else sigmoid(raw)
        notes.append(
            "scores treated as logits and turned into probabilities with "
            + ("softmax" if truth.task == "multi-class" else "sigmoid")
        )
    else:
        probs = raw
        outside = (raw < 0) | (raw > 1)
        if outside.any():
            i, j = (int(x[0]) for x in np.nonzero(outside))
            raise EvalDataError(
                f"file {label}: score {float(raw[i, j])!r} at row {int(kept[i]) + 1}, column "
                f"{preview(names[j])} is outside [0, 1] ({int(outside.any(axis=1).sum())} rows), so "
                "the scores cannot be probabilities; read them as logits"
            )
        notes.append("scores treated as probabilities")
    if raw.size and float(raw.max()) == float(raw.min()):
        notes.append(
            f"warning: every score is {float(raw.flat[0]):g}, so the scores rank nothing and no "
            "threshold separates the classes"
        )
    kept_truth = TruthColumn(
        task=truth.task,
        ids=None if truth.ids is None else truth.ids[kept],
        indicator=truth.indicator[kept],
        unknown=truth.unknown[kept],
        unknown_labels=truth.unknown_labels,
        missing=truth.missing[kept],
        reading=truth.reading,
    )
    counts = kept_truth.indicator.sum(axis=0)
    report = DataReport(
        n_rows=n,
        n_kept=int(kept.size),
        dropped=tuple(d for d in dropped if d.count),
        label_counts={name_: int(c) for name_, c in zip(names, counts, strict=True)},
        task=truth.task,
        notes=tuple(notes),
    )
    other = frame.drop(columns=list(names)).iloc[kept].reset_index(drop=True)
    return ScoresData(
        labels=names,
        task=truth.task,
        scores=probs,
        raw_scores=raw,
        score_kind=kind,
        truth=kept_truth,
        kept_rows=kept.astype(np.int64),
        other=other,
        report=report,
        sha256=sha256_of(source),
    )


def _describe_cell(cell: Any) -> str:
    """How a bad score cell is named in messages: empty, non-numeric text, NaN or infinite."""
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        return "empty score cell"
    if isinstance(cell, str):
        try:
            value = float(cell)
        except ValueError:
            return f"non-numeric score {preview(cell)}"
    else:
        try:
            value = float(cell)
        except (TypeError, ValueError):
            return f"non-numeric score {preview(cell)}"
    return "NaN score" if math.isnan(value) else f"infinite score {value}"


def _is_missing(cell: Any) -> bool:
    if cell is None or (isinstance(cell, float) and math.isnan(cell)):
        return True
    if isinstance(cell, str):
        return cell.strip().lower() in _MISSING_TOKENS
    if isinstance(cell, list | tuple | np.ndarray):
        return all(_is_missing(x) for x in cell)
    return False


def _check_truth_not_empty(series: pd.Series, truth_column: str, label: str) -> None:
    """Refuse a truth column that names nothing in any row (all empty, NaN or null)."""
    if series.dtype.kind in "iub":
        return
    try:
        cells: Any = pd.unique(series)
    except TypeError:  # list cells are unhashable
        cells = series.tolist()
    if all(_is_missing(c) for c in cells):
        raise EvalDataError(
            f"file {label}: the truth column {preview(truth_column)} is empty in every row "
            "(only empty, NaN or null cells); expected a label name, a class id or "
            "';'-joined names per row"
        )


_LABEL_SEPARATOR = ";"


MAX_LABEL_CHARS = 1000
"""Longest label name accepted: labels are echoed in warnings, charts and thresholds.json."""


def _check_label_names(names: Sequence[str], where: str) -> None:
    """Refuse labels that no truth cell can ever name (truth cells are split on ';' and
    stripped), and label names too long to echo."""
    for name in names:
        if len(name) > MAX_LABEL_CHARS:
            raise EvalDataError(
                f"{where} {preview(name)} has a name longer than {MAX_LABEL_CHARS:,} "
                "characters; label names must be short"
            )
        if _LABEL_SEPARATOR in name:
            raise EvalDataError(
                f"{where} {preview(name)} holds ';', which separates labels in truth cells, so "
                "no truth cell can name it; rename it without ';'"
            )
        if name != name.strip() or not name:
            raise EvalDataError(
                f"{where} {preview(name)} "
                + ("is empty" if not name.strip() else "starts or ends with spaces")
                + ", and truth cells are read without their outer spaces, so no truth cell "
                "can name it; rename it"
            )


_DTYPE_NAMES = {
    "b": "true/false values",
    "M": "dates or times",
    "m": "time spans",
    "c": "complex numbers",
}


def _check_score_dtype(series: pd.Series, column: str, label: str) -> None:
    """A score column must hold numbers (or text of numbers): no dates, lists, structs, maps."""
    kind = series.dtype.kind
    if kind in "fiu":
        return
    if kind in _DTYPE_NAMES or isinstance(series.dtype, pd.CategoricalDtype):
        what = _DTYPE_NAMES.get(kind, "categories")
        raise EvalDataError(
            f"file {label}: score column {preview(column)} holds {what} ({series.dtype}), "
            "not numbers; every score column must hold one number per row"
        )
    for row, cell in enumerate(series.tolist()):
        if isinstance(cell, str | float | int | np.floating | np.integer) or cell is None:
            continue
        what = (
            "lists"
            if isinstance(cell, list | tuple | np.ndarray)
            else "structs or maps"
            if isinstance(cell, dict)
            else f"{type(cell).__name__} values"
        )
        raise EvalDataError(
            f"file {label}: score column {preview(column)} holds {what} (row {row + 1}: "
            f"{preview(cell)}), not numbers; every score column must hold one number per row"
        )


def _stored_labels(source: Source, label: str) -> list[str] | None:
    """Labels written by ``cls-explorer score`` into Parquet metadata, if any.

    Raises
    ------
    EvalDataError
        The metadata key is there but is not a JSON list of unique, non-empty strings
        (a forged or damaged file).
    """
    if not _head(source, 4).startswith(b"PAR1"):
        return None
    import pyarrow.parquet as pq

    try:
        meta = pq.read_schema(_parquet_input(source)).metadata or {}
    except Exception:
        return None
    raw = meta.get(b"cls_core.labels")
    if raw is None:
        return None
    return parse_stored_labels(raw, where=f"file {label}")


def parse_stored_labels(raw: bytes, *, where: str) -> list[str]:
    """The label list ``cls-explorer score`` writes under the Parquet metadata key
    ``cls_core.labels``, checked (the one reader of it: in process and in the pipelines).

    Parameters
    ----------
    raw : bytes
        The metadata value.
    where : str
        How the message names the file, e.g. ``"file 'scores.parquet'"``.

    Raises
    ------
    EvalDataError
        Not a JSON list of unique strings: invalid UTF-8 or JSON, nested past Python's
        recursion limit, an integer past its digit limit, another JSON type, an empty
        list, a non-string entry, a name given twice (a forged or damaged file).
    """
    problem = ""
    value: Any = None
    try:
        value = json.loads(raw.decode("utf-8"))
    except RecursionError:
        problem = "nested more than 1,000 levels deep"
    except (UnicodeDecodeError, ValueError) as exc:
        problem = f"not valid JSON ({preview(str(exc), limit=80)})"
    if not problem:
        if not isinstance(value, list):
            problem = f"not a JSON list (it holds a {type(value).__name__})"
        elif not value:
            problem = "an empty list"
        elif not all(isinstance(v, str) for v in value):
            bad = next(v for v in value if not isinstance(v, str))
            problem = f"not a list of names (it holds the {type(bad).__name__} {preview(bad)})"
        else:
            seen: set[str] = set()
            duplicates = [v for v in value if v in seen or seen.add(v)]  # type: ignore[func-returns-value]
            if duplicates:
                problem = f"a list naming labels twice: {preview_list(dict.fromkeys(duplicates))}"
    if problem:
        raise EvalDataError(
            f"{where}: its Parquet metadata key 'cls_core.labels' (the label list "
            f"cls-explorer score writes) is {problem}; the file was edited or not written "
            "by cls-explorer score: remove that key to use the file's score columns"
        )
    return list(value)


# --------------------------------------------------------------------------- labelled texts


@dataclass(frozen=True, kw_only=True)
class TextsData:
    """A checked labelled text file: texts to score and their truth."""

    texts: list[str]
    truth: TruthColumn | None
    kept_rows: npt.NDArray[np.int64]
    report: DataReport
    sha256: str
    #: The kept rows' other columns (not the text or truth column), for slicing.
    other: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)


def load_texts(
    source: Source,
    *,
    text_column: str,
    name: str | None = None,
    truth_column: str | None = "label",
    labels: Sequence[str] | None = None,
    task: Task | None = None,
    on_unknown: Literal["error", "drop"] = "error",
) -> TextsData:
    """Read a labelled text file; drop empty texts (reported) and check the truth.

    Raises
    ------
    EvalDataError
        Unreadable file, missing text/truth column, unknown labels (unless dropped),
        no rows left.
    """
    label = _describe(source, name)
    frame = read_table(source, name=name)
    if text_column not in frame.columns:
        raise EvalDataError(
            f"file {label} has no text column {preview(text_column)}; "
            f"columns are [{preview_list(frame.columns)}]"
        )
    texts = frame[text_column].map(
        lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
    )
    empty = (texts.str.strip() == "").to_numpy()
    dropped = [_dropped("empty text", empty)]
    truth: TruthColumn | None = None
    bad = empty.copy()
    if truth_column is not None:
        if truth_column not in frame.columns:
            raise EvalDataError(
                f"file {label} has no truth column {preview(truth_column)}; "
                f"columns are [{preview_list(frame.columns)}]"
            )
        if labels is None:
            raise EvalDataError("labels are needed to read a truth column")
        _check_label_names(labels, "the model's label")
        _check_truth_not_empty(frame[truth_column], truth_column, label)
        truth = parse_truth(frame[truth_column], labels, task=task)
        if truth.unknown.any():
            listed = preview_list(truth.unknown_labels)
            if on_unknown == "error":
                raise EvalDataError(
                    f"file {label}: {_rows_have(int(truth.unknown.sum()))} truth labels the model does not know: {listed}"
                )
            dropped.append(_dropped("unknown truth labels", truth.unknown & ~bad, listed))
        dropped.append(_dropped("empty truth", truth.missing & ~bad & ~truth.unknown))
        bad |= truth.unknown | truth.missing
    kept = np.flatnonzero(~bad)
    if kept.size == 0:
        raise EvalDataError(f"file {label}: no rows left after dropping empty texts and bad truth")
    if truth is not None:
        truth = TruthColumn(
            task=truth.task,
            ids=None if truth.ids is None else truth.ids[kept],
            indicator=truth.indicator[kept],
            unknown=truth.unknown[kept],
            unknown_labels=truth.unknown_labels,
            missing=truth.missing[kept],
            reading=truth.reading,
        )
        counts = dict(
            zip(validate_labels(labels or ()), truth.indicator.sum(axis=0).tolist(), strict=True)
        )
        task_out: Task = truth.task
    else:
        counts, task_out = {}, task or "multi-class"
    extra = [c for c in frame.columns if c not in (text_column, truth_column)]
    return TextsData(
        texts=texts.iloc[kept].tolist(),
        truth=truth,
        kept_rows=kept.astype(np.int64),
        other=frame[extra].iloc[kept].reset_index(drop=True),
        report=DataReport(
            n_rows=int(frame.shape[0]),
            n_kept=int(kept.size),
            dropped=tuple(d for d in dropped if d.count),
            label_counts=counts,
            task=task_out,
            notes=(truth.reading,) if truth is not None and truth.reading else (),
        ),
        sha256=sha256_of(source),
    )
