"""Small hostile data files built at test time (issue 16): decompression bombs and the like.

Every builder returns bytes in well under a second; none of them materialises what the
file expands to.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def parquet_row_group_bomb(labels: Sequence[str], *, rows_per_group: int, groups: int) -> bytes:
    """A Parquet file of ``rows_per_group × groups`` identical rows stored once.

    One row group of identical rows (dictionary-encoded, compressed: a few KB) is written,
    and the footer lists it ``groups`` times: every row group points at the same column
    chunks. Readers see ``rows_per_group × groups`` rows of one float column per label plus
    a ``label`` column.
    """
    columns: dict[str, pa.Array] = {
        label: pa.array(np.full(rows_per_group, 0.1)) for label in labels
    }
    columns["label"] = pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(rows_per_group, dtype=np.int32)), pa.array([labels[0]])
    )
    buf = io.BytesIO()
    pq.write_table(pa.table(columns), buf, row_group_size=rows_per_group, compression="zstd")
    blob = buf.getvalue()
    footer_len = int.from_bytes(blob[-8:-4], "little")
    data = blob[: len(blob) - 8 - footer_len]
    meta = pq.read_metadata(pa.BufferReader(blob))
    one = pq.read_metadata(pa.BufferReader(blob))
    for _ in range(groups - 1):
        meta.append_row_groups(one)
    footer = io.BytesIO()
    meta.write_metadata_file(footer)  # b"PAR1" + footer + length + b"PAR1"
    return data + footer.getvalue()[4:]


def parquet_string_bomb(*, rows: int, chars: int, label: str = "joy") -> bytes:
    """A Parquet file whose ``text`` column repeats one ``chars``-long string ``rows`` times.

    The string is stored once in a dictionary page; the file is under 1 KB and decodes to
    ``rows × chars`` bytes.
    """
    text = pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(rows, dtype=np.int32)), pa.array(["x" * chars])
    )
    truth = pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(rows, dtype=np.int32)), pa.array([label])
    )
    buf = io.BytesIO()
    pq.write_table(pa.table({"text": text, "label": truth}), buf, compression="zstd")
    return buf.getvalue()


def parquet_with_labels_metadata(frame_columns: dict[str, list[object]], labels_json: str) -> bytes:
    """A small Parquet file whose ``cls_core.labels`` metadata is ``labels_json`` (forged)."""
    table = pa.table(frame_columns)
    table = table.replace_schema_metadata({"cls_core.labels": labels_json})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def deep_json(depth: int) -> str:
    """``[[[...]]]`` nested ``depth`` levels."""
    return "[" * depth + "]" * depth
