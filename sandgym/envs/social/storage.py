"""Social records streamed to Parquet as they are made (one row group per write).

A run interrupted half way keeps what it wrote; the file loads as a Hugging Face
``Dataset`` (``datasets.Dataset.from_parquet``) or with pyarrow.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["ParquetSink", "read_records"]


class ParquetSink:
    """Append lists of flat dict records with a fixed schema to one Parquet file.

    Args:
        path: the ``.parquet`` file (its folder is created; an existing file is replaced).
        schema: a ``pyarrow.Schema``; every record is cast to it (absent keys: null).

    Example:
        >>> import pyarrow as pa                                      # doctest: +SKIP
        >>> with ParquetSink("runs/x.parquet", pa.schema([("a", pa.int64())])) as sink:
        ...     sink.write([{"a": 1}])
    """

    def __init__(self, path: str | os.PathLike[str], schema: Any) -> None:
        import pyarrow.parquet as pq

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.schema = schema
        self.rows = 0
        self._writer = pq.ParquetWriter(str(self.path), schema)

    def write(self, records: list[dict[str, Any]]) -> None:
        """Write records now (a row group), so they survive a crash later in the run."""
        import pyarrow as pa

        if not records or self._writer is None:
            return
        columns = {f.name: [r.get(f.name) for r in records] for f in self.schema}
        self._writer.write_table(pa.Table.from_pydict(columns, schema=self.schema))
        self.rows += len(records)

    def close(self) -> None:
        """Finish the file (harmless twice)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> ParquetSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_records(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every record of a Parquet file as dicts."""
    import pyarrow.parquet as pq

    if not Path(path).is_file():
        raise FileNotFoundError(f"no records at {path}; write some first (e.g. "
                                f"`sandgym social simulate --out {path}`)")
    return pq.read_table(str(path)).to_pylist()
