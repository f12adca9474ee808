"""Social records streamed to Parquet as they are made, readable after a crash.

Each `ParquetSink.write` is one part file (``X.parquet.parts/part-00001.parquet``),
complete on disk as soon as the call returns; `close` merges the parts into
``X.parquet`` and removes them. A run killed half way leaves its parts, which
`read_records` reads the same way (so nothing already rated is lost). For that promise
to hold, a new sink refuses a path whose file or parts exist unless told to overwrite.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

from sandgym.envs.errors import EnvError

logger = logging.getLogger(__name__)

__all__ = ["OutputExistsError", "ParquetSink", "RecordKindError", "read_records",
           "record_kind", "refuse_existing"]


class OutputExistsError(EnvError, FileExistsError):
    """The output of a run already exists (an earlier run's file or a killed run's parts)."""


class RecordKindError(EnvError):
    """A records file is not the kind a command reads (e.g. rollouts given to a social
    export)."""


def _parts_dir(path: Path) -> Path:
    return path.with_name(path.name + ".parts")


def refuse_existing(path: str | os.PathLike[str]) -> None:
    """Raise `OutputExistsError` when ``path`` or its ``.parts`` directory exists.

    Why: replacing them deleted an earlier run, or the parts a killed run left (records
    the module promises stay readable), without a word.
    """
    path = Path(path)
    found = [p for p in (path, _parts_dir(path)) if p.exists()]
    if found:
        raise OutputExistsError(
            f"{' and '.join(str(p) for p in found)} already exist{'s' if len(found) == 1 else ''}"
            f" (an earlier run's records); choose another --out, or pass --overwrite to "
            "replace them")


class ParquetSink:
    """Append lists of flat dict records with a fixed schema to one Parquet file.

    Args:
        path: the ``.parquet`` file (its folder is created).
        schema: a ``pyarrow.Schema``; every record is cast to it (absent keys: null).
        overwrite: replace an existing file and its parts; otherwise they raise
            `OutputExistsError` (`refuse_existing`).

    Example:
        >>> import pyarrow as pa                                      # doctest: +SKIP
        >>> with ParquetSink("runs/x.parquet", pa.schema([("a", pa.int64())])) as sink:
        ...     sink.write([{"a": 1}])
    """

    def __init__(self, path: str | os.PathLike[str], schema: Any, *,
                 overwrite: bool = False) -> None:
        self.path = Path(path)
        if not overwrite:
            refuse_existing(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.schema = schema
        self.rows = 0
        self._parts = _parts_dir(self.path)
        if overwrite:
            logger.info("replacing %s and its parts (--overwrite)", self.path)
            shutil.rmtree(self._parts, ignore_errors=True)
            self.path.unlink(missing_ok=True)
        self._parts.mkdir()
        self._count = 0
        self._closed = False

    def write(self, records: list[dict[str, Any]]) -> None:
        """Write records now, as one complete part file."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not records or self._closed:
            return
        columns = {f.name: [r.get(f.name) for r in records] for f in self.schema}
        self._count += 1
        part = self._parts / f"part-{self._count:05d}.parquet"
        pq.write_table(pa.Table.from_pydict(columns, schema=self.schema), str(part) + ".tmp")
        os.replace(str(part) + ".tmp", part)
        self.rows += len(records)

    def close(self) -> None:
        """Merge the parts into the file (harmless twice)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._closed:
            return
        self._closed = True
        parts = sorted(self._parts.glob("part-*.parquet"))
        table = (pa.concat_tables([pq.read_table(str(p)) for p in parts]) if parts
                 else self.schema.empty_table())
        pq.write_table(table, str(self.path) + ".tmp")
        os.replace(str(self.path) + ".tmp", self.path)
        shutil.rmtree(self._parts, ignore_errors=True)

    def __enter__(self) -> ParquetSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_records(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every record of a Parquet file (or of the parts a killed run left) as dicts."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    if path.is_file():
        return pq.read_table(str(path)).to_pylist()
    parts = sorted(_parts_dir(path).glob("part-*.parquet"))
    if parts:
        return pa.concat_tables([pq.read_table(str(p)) for p in parts]).to_pylist()
    raise FileNotFoundError(f"no records at {path}; write some first (e.g. "
                            f"`sandgym social simulate --out {path}`)")


def record_kind(records: list[dict[str, Any]]) -> str:
    """What wrote ``records``: ``society`` (`sandgym social simulate`), ``scenario``
    (`sandgym social scenarios`), ``rollout`` (`sandgym rollout`/`eval`), ``empty``, or
    ``unknown``; read from the first record's keys (one file holds one kind)."""
    if not records:
        return "empty"
    keys = records[0].keys()
    if {"kind", "run_id", "question_id"} <= keys:
        return "society"
    if {"scenario_id", "goal", "messages"} <= keys:
        return "scenario"
    if {"episode_id", "messages"} <= keys or "env_id" in keys:
        return "rollout"
    return "unknown"
