"""Trajectory storage: one Parquet file per collection, written crash-safely in parts.

Layout for ``--out runs/NAME.parquet``:

* ``runs/NAME.parquet`` — every finished episode of earlier runs; a complete Parquet
  file at all times (it is only ever replaced atomically with ``os.replace``).
* ``runs/NAME.parquet.parts/part-*.parquet`` — episodes finished by the run in
  progress. Each flush writes one small complete file (to a temporary name, then
  renamed), so a crash loses at most the episodes still buffered in memory, never
  one already written.
* ``runs/NAME.parquet.lock`` — held while a run writes, so two runs cannot interleave.

When a run ends (finished, failed or interrupted) the parts are merged into
``NAME.parquet`` row group by row group (never the whole table in memory) and removed.
A run that crashed before merging leaves its parts; the next run counts them as
finished and merges them. `load_trajectories` reads the file and any leftover parts.

Every file (the collection and each part) carries the run's identity in its Parquet
key-value metadata under `RUN_METADATA_KEY`: what decides an episode's outcome (env id,
env kwargs, policy, sampling, max turns). The episode id (``ENV|TASK|SAMPLE``) says
none of that, so without it a resume with another ``--policy`` or ``--env-arg`` would
skip "finished" episodes played differently and mix two runs in one file. A store
opened with an ``identity`` refuses a collection made with another one (ignoring the
``tasks`` env kwarg and sampling fields only one side knows: `_comparable`); each file
is written atomically with its metadata, so no sidecar can disagree with the rows.

The schema is `SCHEMA` (documented field by field in `FIELDS` and docs/rollouts.md).
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from sandgym.rollouts.errors import StorageError

if TYPE_CHECKING:
    import datasets

    from sandgym.agents import Trajectory

__all__ = ["FIELDS", "RUN_METADATA_KEY", "SCHEMA", "TrajectoryStore", "finished_episode_ids",
           "iter_records", "load_trajectories", "parquet_sources", "stored_identity",
           "strip_ansi"]

logger = logging.getLogger(__name__)

_INT_LISTS = pa.list_(pa.list_(pa.int64()))

FIELDS: list[tuple[str, pa.DataType, bool, str]] = [
    ("episode_id", pa.string(), False,
     "Deterministic id `ENV|TASK|SAMPLE`; unique in the file (resume and dedup key)."),
    ("env_id", pa.string(), False, "Registered environment id, e.g. sandgym/HumanEval-v0."),
    ("task_id", pa.string(), True, "Task played."),
    ("sample_index", pa.int32(), False, "Which of the task's samples (0-based)."),
    ("policy", pa.string(), False, "Policy spec or name (default, openai:..., canonical)."),
    ("messages", pa.string(), False,
     "JSON list of chat messages {role, content} the policy saw, oldest first."),
    ("actions", pa.list_(pa.string()), False, "Each action sent to env.step."),
    ("rewards", pa.list_(pa.float64()), False, "Reward of each step (NaN: sandbox failed)."),
    ("verdicts", pa.string(), False, "JSON list: info['verdict'] of each step."),
    ("reward_components", pa.string(), False,
     "JSON list: info['reward_components'] of each step (why the reward is what it is)."),
    ("final_reward", pa.float64(), True,
     "Episode return; null when sandbox_error (such rows must not be scored)."),
    ("sandbox_error", pa.bool_(), False,
     "Infrastructure failed on every attempt (sandbox, or the worker died); not a "
     "model failure."),
    ("terminated", pa.bool_(), False, "The env ended the episode."),
    ("truncated", pa.bool_(), False, "The episode was cut (turn limit, sandbox error)."),
    ("num_turns", pa.int32(), False, "Policy replies in the episode."),
    ("prompt_token_ids", _INT_LISTS, True, "Per turn, the tokens the policy conditioned on."),
    ("completion_token_ids", _INT_LISTS, True, "Per turn, the generated tokens."),
    ("logprobs", pa.list_(pa.list_(pa.float64())), True,
     "Per turn, one raw log-probability per completion token."),
    ("finish_reasons", pa.list_(pa.string()), True, "Per turn, 'stop' or 'length'."),
    ("token_ids", pa.list_(pa.int64()), True,
     "Whole conversation as one token sequence (null without a tokenizer)."),
    ("loss_mask", pa.list_(pa.int8()), True, "1 on model-written tokens of token_ids."),
    ("timings", pa.string(), False,
     "JSON {generation_s, env_s}: batch generate time and this episode's env time."),
    ("seed", pa.int64(), True, "Seed passed to env.reset (derived from episode_id)."),
    ("final_observation", pa.string(), True, "The env's reply to the last action."),
    ("attempts", pa.int32(), False, "Times the episode was started (1 = first try)."),
    ("worker", pa.string(), True, "host:pid of the Ray worker that played the recorded attempt."),
    ("node_id", pa.string(), True, "Ray node id of that worker."),
    ("error", pa.string(), True, "Why the episode is a sandbox_error, when known."),
    ("finished_at", pa.float64(), False, "Unix time the driver received the episode."),
]

SCHEMA = pa.schema([pa.field(name, type_, nullable=nullable, metadata={"doc": doc})
                    for name, type_, nullable, doc in FIELDS])
_NAMES = [name for name, *_ in FIELDS]
_LOCK_SUFFIX = ".lock"
_PARTS_SUFFIX = ".parts"
RUN_METADATA_KEY = b"sandgym.run"
"""Parquet key-value metadata key holding the run identity (JSON) of a collection."""
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")


def strip_ansi(text: str | None) -> str | None:
    """``text`` without terminal escape codes.

    Errors raised in Ray workers arrive with the colours of the worker's traceback;
    stored, they would show up as ``\\x1b[31m`` noise in every reader of the file.
    """
    return _ANSI.sub("", text) if text else text


def _parts_dir(path: Path) -> Path:
    return path.with_name(path.name + _PARTS_SUFFIX)


def parquet_sources(path: str | os.PathLike[str]) -> list[Path]:
    """The complete Parquet files holding a collection: the file, then leftover parts."""
    path = Path(path)
    sources = [path] if path.is_file() else []
    parts = _parts_dir(path)
    if parts.is_dir():
        sources += sorted(parts.glob("part-*.parquet"))
    return sources


def _to_table(records: list[Mapping[str, Any]]) -> pa.Table:
    rows = []
    for record in records:
        unknown = set(record) - set(_NAMES)
        if unknown:
            logger.debug("dropping fields not in the rollout schema: %s", sorted(unknown))
        row = {name: record.get(name) for name in _NAMES}
        if isinstance(row["error"], str):
            row["error"] = strip_ansi(row["error"])
        rows.append(row)
    try:
        return pa.Table.from_pylist(rows, schema=SCHEMA)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        raise StorageError(f"a trajectory record does not fit the rollout schema: {e}") from e


def _conform(table: pa.Table, source: Path) -> pa.Table:
    """A table from an existing file, in today's schema (added nullable columns filled)."""
    columns = []
    for field in SCHEMA:
        if field.name in table.column_names:
            columns.append(table.column(field.name).cast(field.type))
        elif field.nullable:
            columns.append(pa.nulls(table.num_rows, field.type))
        else:
            raise StorageError(f"{source} lacks column {field.name!r}; it was not written by "
                               "this sandgym version. Use another --out.")
    return pa.Table.from_arrays(columns, schema=SCHEMA)


def finished_episode_ids(path: str | os.PathLike[str]) -> set[str]:
    """Ids of the episodes already stored at ``path`` (file and leftover parts)."""
    ids: set[str] = set()
    for source in parquet_sources(path):
        try:
            column = pq.read_table(source, columns=["episode_id"]).column("episode_id")
        except (OSError, pa.ArrowException) as e:
            raise StorageError(f"cannot read {source} ({e}); move it aside to start over") from e
        ids.update(column.to_pylist())
    return ids


def stored_identity(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The run identity stored with the collection at ``path``, or None.

    The collection file's is authoritative; a collection never merged (the first run
    crashed) has it in its leftover parts. None: nothing stored yet, or files written
    before identities were stored.
    """
    for source in parquet_sources(path):
        try:
            metadata = pq.read_schema(source).metadata or {}
        except (OSError, pa.ArrowException) as e:
            raise StorageError(f"cannot read {source} ({e}); move it aside to start over") from e
        if RUN_METADATA_KEY in metadata:
            try:
                return json.loads(metadata[RUN_METADATA_KEY])
            except ValueError as e:
                raise StorageError(f"{source}: unreadable run metadata ({e}); use another "
                                   "--out") from e
    return None


def _normalized(identity: Mapping[str, Any]) -> dict[str, Any]:
    """``identity`` as it reads back from JSON (tuples as lists, odd values as text)."""
    return json.loads(json.dumps(identity, sort_keys=True, default=str))


def _comparable(stored: Mapping[str, Any], current: Mapping[str, Any]
                ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The parts of two identities that must match for a resume.

    Left out: the ``tasks`` env kwarg (it picks which tasks are played, which may
    change between runs; files written before the driver dropped it still hold it), and
    sampling fields only one side has (a field added to `SamplingParams` later must not
    refuse every collection stored before it).
    """
    stored, current = dict(stored), dict(current)
    for identity in (stored, current):
        if isinstance(identity.get("env_kwargs"), dict):
            identity["env_kwargs"] = {key: value for key, value
                                      in identity["env_kwargs"].items() if key != "tasks"}
    old, new = stored.get("sampling"), current.get("sampling")
    if isinstance(old, dict) and isinstance(new, dict):
        stored["sampling"] = {key: value for key, value in old.items() if key in new}
        current["sampling"] = {key: value for key, value in new.items() if key in old}
    return stored, current


def _differences(stored: Mapping[str, Any], current: Mapping[str, Any], prefix: str = ""
                 ) -> list[str]:
    """``field: STORED stored, CURRENT now`` for each differing (nested) field."""
    diffs = []
    for key in sorted(set(stored) | set(current)):
        old, new = stored.get(key), current.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            diffs += _differences(old, new, f"{prefix}{key}.")
        elif old != new:
            diffs.append(f"{prefix}{key}: {old!r} stored, {new!r} now")
    return diffs


def iter_records(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Stream the stored rows as dicts, one row group at a time."""
    for source in parquet_sources(path):
        file = pq.ParquetFile(source)
        for i in range(file.num_row_groups):
            yield from file.read_row_group(i).to_pylist()


def load_trajectories(path: str | os.PathLike[str], *, as_trajectories: bool = False
                      ) -> datasets.Dataset | list[Trajectory]:
    """Load a collection as a Hugging Face Dataset (or as `Trajectory` objects).

    Args:
        path: the ``--out`` of `collect` (leftover parts of a crashed run are included).
        as_trajectories: return ``Trajectory.from_record`` of each row instead.

    Example:
        >>> ds = load_trajectories("runs/demo.parquet")               # doctest: +SKIP
        >>> ds.filter(lambda r: not r["sandbox_error"])["final_reward"][:3]
    """
    sources = parquet_sources(path)
    if not sources:
        raise StorageError(f"no trajectories at {path}; run `sandgym rollout --out {path}`")
    if as_trajectories:
        from sandgym.agents import Trajectory

        return [Trajectory.from_record(r) for r in iter_records(path)]
    import datasets

    return datasets.Dataset.from_parquet([str(s) for s in sources])


class TrajectoryStore:
    """Appends trajectory records to a collection and merges them in at close.

    Args:
        path: the collection file (``.parquet``); its parent is created.
        row_group_size: records buffered before a part is written.
        flush_interval_s: a buffered record is written at most this late (checked on
            `append` and `maybe_flush`).
        identity: what makes this run's episodes what they are (env id, env kwargs,
            policy, sampling, max turns; JSON-able). Stored in every file written; a
            collection stored with another identity is refused (``env_kwargs.tasks``
            and sampling fields missing on either side are not compared). One stored
            without any (an older sandgym) is resumed with a warning. None: no check,
            and the stored identity is kept.

    Raises:
        StorageError: another run holds the file's lock, or the collection was made
            with another identity.

    Example:
        >>> with TrajectoryStore("runs/x.parquet") as store:          # doctest: +SKIP
        ...     done = store.finished_ids
        ...     store.append(record)
    """

    def __init__(self, path: str | os.PathLike[str], *, row_group_size: int = 64,
                 flush_interval_s: float = 10.0,
                 identity: Mapping[str, Any] | None = None) -> None:
        from filelock import FileLock, Timeout

        self.path = Path(path)
        if self.path.suffix != ".parquet":
            raise StorageError(f"--out must name a .parquet file, got {self.path}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(self.path) + _LOCK_SUFFIX)
        try:
            self._lock.acquire(timeout=0)
        except Timeout as e:
            raise StorageError(f"another run is writing {self.path} (lock "
                               f"{self._lock.lock_file}); wait for it or use another --out"
                               ) from e
        self.row_group_size = row_group_size
        self.flush_interval_s = flush_interval_s
        self._parts = _parts_dir(self.path)
        self._buffer: list[Mapping[str, Any]] = []
        self._oldest = 0.0
        self._seq = 0
        self._closed = False
        self.written = 0
        try:
            self._discard_temporaries()
            self.finished_ids = finished_episode_ids(self.path)
            self.identity = self._check_identity(identity)
        except BaseException:
            self._lock.release()
            raise

    def _check_identity(self, identity: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """The identity to store: refuse a collection made by a different run."""
        stored = stored_identity(self.path)
        if identity is None:
            return stored
        current = _normalized(identity)
        if stored is None:
            if self.finished_ids:
                logger.warning("%s has no stored run settings (written by an older sandgym); "
                               "resuming without checking that policy, env and sampling "
                               "match", self.path)
            return current
        diffs = _differences(*_comparable(stored, current))
        if diffs:
            raise StorageError(f"{self.path} was collected with other settings ("
                               f"{'; '.join(diffs)}); resuming would mix them in one file. "
                               "Choose another --out, or rerun with the stored settings")
        return current

    def _schema(self) -> pa.Schema:
        """`SCHEMA` with this run's identity in its metadata (when known)."""
        if self.identity is None:
            return SCHEMA
        return SCHEMA.with_metadata({RUN_METADATA_KEY: json.dumps(self.identity,
                                                                  sort_keys=True)})

    def append(self, record: Mapping[str, Any]) -> None:
        """Buffer one record; write a part when the buffer is full or old."""
        if self._closed:
            raise StorageError(f"{self.path}: append after close")
        if not self._buffer:
            self._oldest = time.monotonic()
        self._buffer.append(record)
        self.finished_ids.add(record["episode_id"])
        self.maybe_flush()

    def maybe_flush(self) -> None:
        """Write the buffer if it is full or its oldest record waited too long."""
        if self._buffer and (len(self._buffer) >= self.row_group_size
                             or time.monotonic() - self._oldest >= self.flush_interval_s):
            self.flush()

    def flush(self) -> None:
        """Write buffered records as one complete part file (temp name, then rename)."""
        if not self._buffer:
            return
        table = _to_table(self._buffer).replace_schema_metadata(self._schema().metadata)
        self._parts.mkdir(parents=True, exist_ok=True)
        self._seq += 1
        name = f"part-{time.time_ns():020d}-{os.getpid()}-{self._seq:06d}.parquet"
        tmp = self._parts / f".{name}.tmp"
        pq.write_table(table, tmp)
        os.replace(tmp, self._parts / name)
        self.written += len(self._buffer)
        self._buffer = []

    def close(self) -> None:
        """Flush, merge the parts into the collection file, release the lock (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            self.flush()
            self._merge()
        finally:
            self._lock.release()

    def _merge(self) -> None:
        """Rewrite file + parts into a temp file row group by row group, then replace."""
        parts = [p for p in parquet_sources(self.path) if p != self.path]
        if not parts:
            return
        tmp = self.path.with_name(f".{self.path.name}.merge.tmp")
        seen: set[str] = set()
        with pq.ParquetWriter(tmp, self._schema()) as writer:
            for source in parquet_sources(self.path):
                file = pq.ParquetFile(source)
                for i in range(file.num_row_groups):
                    table = _conform(file.read_row_group(i), source)
                    # A crash between os.replace and unlinking the parts leaves parts
                    # whose rows are already in the file: keep the first copy only.
                    ids = table.column("episode_id").to_pylist()
                    keep = [eid not in seen and not seen.add(eid) for eid in ids]
                    writer.write_table(table if all(keep) else table.filter(pa.array(keep)))
        os.replace(tmp, self.path)
        for part in parts:
            part.unlink()
        try:
            self._parts.rmdir()
        except OSError:
            pass
        logger.debug("merged %d part(s) into %s", len(parts), self.path)

    def _discard_temporaries(self) -> None:
        """Remove half-written files of a crashed run (never renamed, so never counted)."""
        for pattern_dir, pattern in ((self._parts, ".part-*.tmp"),
                                     (self.path.parent, f".{self.path.name}.merge.tmp")):
            if pattern_dir.is_dir():
                for stale in pattern_dir.glob(pattern):
                    stale.unlink(missing_ok=True)

    def __enter__(self) -> TrajectoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
