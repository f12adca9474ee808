"""Fixtures for training tests: real sandboxes, the real default model, nothing mocked."""

from __future__ import annotations

import time

import pytest

from sandgym.sandbox import SandboxPool


def own_containers() -> set[str]:
    """Ids of the sandbox containers this test process owns right now."""
    from sandgym.sandbox import docker_client
    from sandgym.sandbox.owner import LABEL_MANAGED, owner_labels

    mine = owner_labels()["sandgym.owner"]
    return {c.id for c in docker_client().containers.list(all=True,
                                                           filters={"label": LABEL_MANAGED})
            if (c.labels or {}).get("sandgym.owner") == mine}


def assert_removed(before: set[str], timeout: float = 30.0) -> None:
    """Every container created since ``before`` is gone (removal is asynchronous)."""
    deadline = time.monotonic() + timeout
    left = own_containers() - before
    while left and time.monotonic() < deadline:
        time.sleep(0.5)
        left = own_containers() - before
    assert not left, f"containers left behind: {sorted(c[:12] for c in left)}"


@pytest.fixture(scope="module")
def pool():
    """Two warm sandboxes shared by a module's tests."""
    with SandboxPool(size=2) as p:
        p.wait_ready()
        yield p


@pytest.fixture(scope="session")
def model_path():
    """The default model (SmolLM2-135M-Instruct), fetched once into the user cache."""
    from sandgym.agents import default_model_path

    return default_model_path()
