"""Where a GRPO run can resume from, and trimming its logs back to that point.

The trainer saves ``OUT/checkpoint-N`` (transformers' layout) when Ctrl-C stops a run.
A resumed run starts after step N, so any log line of a later step (written by a run
aborted mid-way, after its last checkpoint) is dropped first: each step, and each
episode, then appears in the logs exactly once.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path

logger = logging.getLogger(__name__)

__all__ = ["checkpoint_step", "last_checkpoint", "remove_checkpoints", "resume_point",
           "trim_jsonl"]

_NAME = re.compile(r"^checkpoint-(\d+)$")


def checkpoint_step(path: Path) -> int:
    """The global step a ``checkpoint-N`` directory holds."""
    match = _NAME.match(Path(path).name)
    if not match:
        raise ValueError(f"{path} is not a checkpoint-N directory")
    return int(match.group(1))


def _checkpoints(out: Path) -> list[Path]:
    if not out.is_dir():
        return []
    found = [p for p in out.iterdir() if p.is_dir() and _NAME.match(p.name)
             and (p / "trainer_state.json").is_file()]  # a half-written one has no state
    return sorted(found, key=checkpoint_step)


def last_checkpoint(out: str | Path) -> Path | None:
    """The newest complete checkpoint under ``out`` (None when there is none)."""
    found = _checkpoints(Path(out))
    return found[-1] if found else None


def resume_point(out: str | Path, resume: bool) -> Path | None:
    """The checkpoint to resume from, or None for a fresh run.

    Raises:
        ValueError: ``resume`` without a checkpoint, or a checkpoint without ``resume``
            (a fresh run would overwrite the interrupted run's logs).
    """
    found = last_checkpoint(out)
    if resume and found is None:
        raise ValueError(f"--resume: {out} holds no checkpoint-N to resume from; run "
                         "without --resume to start")
    if not resume and found is not None:
        raise ValueError(f"{out} holds an interrupted run ({found.name}); pass --resume to "
                         "continue it, or choose another --out")
    return found


def trim_jsonl(path: Path, last_step: int) -> int:
    """Keep only the lines of ``path`` whose ``step`` is at most ``last_step``; return how
    many were kept (0 when the file does not exist)."""
    if not path.is_file():
        return 0
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    kept = [line for line in lines if json.loads(line).get("step", 0) <= last_step]
    if len(kept) != len(lines):
        logger.info("%s: dropped %d lines past step %d (an aborted step)", path,
                    len(lines) - len(kept), last_step)
    path.write_text("".join(line + "\n" for line in kept))
    return len(kept)


def remove_checkpoints(out: str | Path) -> None:
    """Delete ``checkpoint-N`` directories once the run completed and saved its model:
    they only serve resuming, and a left one would make the next run ask for --resume."""
    out = Path(out)
    for path in out.iterdir() if out.is_dir() else ():
        if path.is_dir() and _NAME.match(path.name):
            shutil.rmtree(path, ignore_errors=True)
