"""Fixtures of the rollout tests: a small local Ray with sandbox slots, a scripted policy."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


@pytest.fixture(scope="module")
def ray_start():
    """ray.init(num_cpus=2) declaring 2 sandbox slots; shut down after the module."""
    import ray

    from sandgym.rollouts import SANDBOX_RESOURCE

    ray.init(num_cpus=2, resources={SANDBOX_RESOURCE: 2}, include_dashboard=False,
             object_store_memory=128 * 1024**2, logging_level="WARNING")
    yield ray
    ray.shutdown()


def stored_ids(path) -> list[str]:
    """Every episode id in a collection, duplicates kept (to check exactly-once)."""
    from sandgym.rollouts import load_trajectories

    return list(load_trajectories(path)["episode_id"])


def owned_containers(pid: int) -> list:
    """Sandbox containers (running or not) whose owner process is ``pid``.

    ``ignore_removed``: the listing inspects each container, and one whose auto-removal
    ends between the two calls is gone, not an error (tests kill containers here).
    """
    from sandgym.sandbox import docker_client
    from sandgym.sandbox.owner import LABEL_MANAGED, LABEL_OWNER_PID

    return docker_client().containers.list(all=True, ignore_removed=True, filters={
        "label": [f"{LABEL_MANAGED}=1", f"{LABEL_OWNER_PID}={pid}"]})
