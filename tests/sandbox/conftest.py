"""Fixtures for sandbox tests: real containers on the real engine, always removed."""

from __future__ import annotations

import pytest

from sandgym.sandbox import DockerSandbox, SandboxPool


@pytest.fixture(scope="module")
def sandbox():
    """One warm sandbox shared by a module's tests (each test must leave it usable)."""
    with DockerSandbox() as box:
        yield box


@pytest.fixture(scope="module")
def pool():
    """A pool of two warm sandboxes."""
    with SandboxPool(size=2) as p:
        p.wait_ready()
        yield p


def assert_answers(box: DockerSandbox) -> None:
    """The sandbox (still) runs a fresh request correctly."""
    result = box.run_python("print(21 * 2)")
    assert result.status == "ok", result
    assert result.stdout == "42\n"
