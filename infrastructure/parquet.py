"""Parquet files written as they stream (pyarrow): the analytics exports' columnar files.

The writer writes to a sink that keeps the bytes until taken, one row group at a time, so a
download of any size holds a row group and the footer's metadata in memory, never the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from application.analytics_exports import Column

KINDS: dict[str, pa.DataType] = {
    "string": pa.string(),
    "date": pa.date32(),
    "utc_time": pa.timestamp("us", tz="UTC"),
    "int8": pa.int8(),
    "int32": pa.int32(),
    "int64": pa.int64(),
    "float64": pa.float64(),
}


def schema_of(columns: Sequence[Column]) -> pa.Schema:
    """The Parquet schema of ``columns``."""
    return pa.schema(
        [pa.field(column.name, KINDS[column.kind], nullable=column.nullable) for column in columns]
    )


class _ChunkSink:
    """A write-only file for ``ParquetWriter`` that keeps what was written until taken: the
    writer writes sequentially (the footer last), so nothing is ever sought back."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.position = 0
        self.closed = False

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.parts.append(chunk)
        self.position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        """Nothing to flush: :meth:`take` hands the bytes on."""

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        taken = b"".join(self.parts)
        self.parts = []
        return taken


class ParquetFiles:
    """``application.analytics_exports.ColumnarFiles`` as zstd-compressed Parquet."""

    def chunks(
        self, columns: Sequence[Column], batches: Iterable[list[list[Any]]]
    ) -> Iterator[bytes]:
        schema = schema_of(columns)
        sink = _ChunkSink()
        writer = pq.ParquetWriter(sink, schema, compression="zstd")
        try:
            for batch in batches:
                values = list(zip(*batch, strict=True)) if batch else [() for _ in schema]
                arrays = [
                    pa.array(column, type=field.type)
                    for column, field in zip(values, schema, strict=True)
                ]
                table = pa.Table.from_arrays(arrays, schema=schema)
                writer.write_table(table, row_group_size=len(batch) or None)
                chunk = sink.take()
                if chunk:
                    yield chunk
        finally:
            writer.close()
        yield sink.take()
