"""Fixtures for env tests: one warm pool on the real Docker engine, always closed."""

from __future__ import annotations

import pytest

import sandgym.envs  # noqa: F401 - registers the sandgym/ envs
from sandgym.envs.tasks import CodeTask
from sandgym.sandbox import SandboxPool


@pytest.fixture(scope="session")
def pool():
    """Two warm sandboxes shared by every env test (each test leaves them usable)."""
    with SandboxPool(size=2) as p:
        p.wait_ready()
        yield p


@pytest.fixture(scope="session")
def add_task() -> CodeTask:
    """A small task with several hidden tests, so fraction mode has something to count."""
    return CodeTask(
        id="test/add", prompt="Write add(a, b).", entry_point="add",
        public_tests=("assert candidate(1, 2) == 3",),
        hidden_tests=("assert candidate(2, 3) == 5", "assert candidate(-1, 1) == 0",
                      "assert candidate(10, 0) == 10", "assert candidate(7, 7) == 14"),
        reference="def add(a, b):\n    return a + b\n",
    )


@pytest.fixture
def default_pool_closed():
    """Close the process-wide default pool after a test that used it (e.g. the CLI)."""
    yield
    from sandgym.envs.pool import close_default_pool

    close_default_pool()
