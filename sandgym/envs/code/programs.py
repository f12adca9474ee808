"""The sandbox-side programs as source text, built once at import.

``sandbox_side/*.py`` are real modules (linted, unit-testable), but the sandbox runs
them as standalone programs: the line importing the codec is replaced by the codec's
source, so the container needs nothing but the standard library.
"""

from __future__ import annotations

import base64
import marshal
import sys
from pathlib import Path

__all__ = ["JUDGE_PROGRAM", "JUDGE_SOURCE", "SHELL_JUDGE_PROGRAM", "SHELL_JUDGE_SOURCE",
           "WORKER_PROGRAM", "WORKER_SOURCE", "worker_program"]

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


def _packed(source: str, filename: str) -> str:
    """A program that runs ``source`` from precompiled bytecode when it can.

    Compiling these programs costs the sandbox ~10-20 ms per grading, more than the
    grading itself; unmarshalling the code object compiled here costs ~1 ms. Bytecode
    is only valid for the same Python minor version, so the program checks the
    container's version and falls back to compiling the source.
    """
    code = compile(source, filename, "exec", dont_inherit=True)
    blob = base64.b64encode(marshal.dumps(code)).decode("ascii")
    version = tuple(sys.version_info[:2])
    return (f"import sys as _sg_sys\n"
            f"if tuple(_sg_sys.version_info[:2]) == {version!r}:\n"
            f"    import base64 as _sg_b64, marshal as _sg_marshal\n"
            f"    exec(_sg_marshal.loads(_sg_b64.b64decode({blob!r})))\n"
            f"else:\n"
            f"    exec(compile({source!r}, {filename!r}, 'exec'))\n")


WORKER_SOURCE: str = _inline_codec(_read("worker.py"))
"""The untrusted-side worker's source; run it with `worker_program`."""
JUDGE_SOURCE: str = _inline_codec(_read("judge.py"))
"""The trusted grader of Python answers (see sandbox_side/judge.py)."""
SHELL_JUDGE_SOURCE: str = _read("shell_judge.py")
"""The trusted grader of Shell episodes (see sandbox_side/shell_judge.py)."""
WORKER_PROGRAM: str = _packed(WORKER_SOURCE, "<sandbox>")
JUDGE_PROGRAM: str = _packed(JUDGE_SOURCE, "<judge>")
"""What is sent as ``judge=``: JUDGE_SOURCE, precompiled (see `_packed`)."""
SHELL_JUDGE_PROGRAM: str = _packed(SHELL_JUDGE_SOURCE, "<judge>")


def worker_program(answer: str, entry_point: str, prefix: str = "") -> str:
    """The worker's source with a call that loads ``answer`` (sent as ``code``).

    The answer travels as base64 of its UTF-8 bytes: 4/3 of its size whatever it
    holds, and plain ASCII, so the request's JSON does not grow it again. (As a JSON
    string inside a Python literal inside the JSON request, a backslash became eight
    bytes and a control character up to sixteen.)
    """
    data = answer.encode("utf-8", "surrogatepass")
    encoded = base64.b64encode(data).decode("ascii")
    return f"{WORKER_PROGRAM}sg_worker_main({encoded!r}, {entry_point!r}, {prefix!r})\n"
