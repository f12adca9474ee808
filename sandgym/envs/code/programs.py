"""The sandbox-side programs as source text, built once at import.

``sandbox_side/*.py`` are real modules (linted, unit-testable), but the sandbox runs
them as standalone programs: the line importing the codec is replaced by the codec's
source, so the container needs nothing but the standard library.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["JUDGE_SOURCE", "SHELL_JUDGE_SOURCE", "WORKER_SOURCE", "worker_program"]

_DIR = Path(__file__).resolve().parent / "sandbox_side"
_CODEC_IMPORT = "from sandgym.envs.code.sandbox_side.codec import"


def _read(name: str) -> str:
    return (_DIR / name).read_text(encoding="utf-8")


def _inline_codec(source: str) -> str:
    lines = source.splitlines(keepends=True)
    index = next((i for i, line in enumerate(lines) if line.startswith(_CODEC_IMPORT)), None)
    if index is None:
        raise RuntimeError(f"sandbox program lacks the codec import line {_CODEC_IMPORT!r}")
    lines[index] = _read("codec.py") + "\n"
    return "".join(lines)


WORKER_SOURCE: str = _inline_codec(_read("worker.py"))
"""The untrusted-side worker; run it with `worker_program`."""
JUDGE_SOURCE: str = _inline_codec(_read("judge.py"))
"""The trusted grader of Python answers (see sandbox_side/judge.py)."""
SHELL_JUDGE_SOURCE: str = _read("shell_judge.py")
"""The trusted grader of Shell episodes (see sandbox_side/shell_judge.py)."""


def worker_program(answer: str, entry_point: str, prefix: str = "") -> str:
    """The worker's source with a call that loads ``answer`` (sent as ``code``)."""
    setup = json.dumps({"answer": answer, "entry_point": entry_point, "prefix": prefix})
    return f"{WORKER_SOURCE}\nsg_worker_main({setup!r})\n"
