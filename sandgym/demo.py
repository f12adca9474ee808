"""`make demo`: the main job on embedded defaults, stage by stage.

Each stage prints what it shows and how long it took. Run with
``python -m sandgym.demo`` (the Makefile does the set-up first).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable

logger = logging.getLogger("sandgym.demo")


def stage_sandbox() -> None:
    """A warm sandbox: speed, and what it does to hostile code."""
    from sandgym.sandbox import DockerSandbox

    with DockerSandbox() as box:
        box.run_python("print(1)")
        start = time.perf_counter()
        for _ in range(50):
            box.run_python("print(1)")
        per_step_ms = (time.perf_counter() - start) / 50 * 1000
        print(f"  warm sandbox step: {per_step_ms:.1f} ms (mean of 50 `print(1)` round trips)")
        showcase = [
            ("infinite loop", "while True: pass"),
            ("fork bomb", "import os\nwhile True:\n    try: os.fork()\n    except OSError: pass"),
            ("memory bomb", "x = []\nwhile True: x.append(bytearray(1 << 24))"),
            ("network", "import socket; socket.create_connection(('1.1.1.1', 53), timeout=2)"),
            ("write /etc", "open('/etc/passwd', 'a').write('x')"),
            ("segfault", "import ctypes; ctypes.string_at(0)"),
        ]
        for name, code in showcase:
            result = box.run_python(code, timeout=2)
            last = (result.stderr.strip().splitlines() or [""])[-1][:70]
            print(f"  {name:<14} -> {result.status:<8} {last}")
        print(f"  and afterwards: {box.run_python('print(6 * 7)').stdout.strip()}")


STAGES: list[tuple[str, Callable[[], None]]] = [
    ("sandbox showcase", stage_sandbox),
]


def main() -> int:
    """Run every stage in order; stop at the first failure with its error."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    total = time.perf_counter()
    for title, stage in STAGES:
        print(f"== {title}")
        start = time.perf_counter()
        stage()
        print(f"   ({time.perf_counter() - start:.1f} s)")
    print(f"== demo finished in {time.perf_counter() - total:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
