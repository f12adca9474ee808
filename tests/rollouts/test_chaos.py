"""Faults at small scale: a sandbox container killed in the middle of a request.

Each case ends with every episode written exactly once, scored as if nothing had
happened (never a wrong reward), and no container left behind. The worker-death case
is in test_collect.py, Ctrl-C of `sandgym rollout` (and its resume) in test_cli.py.
"""

from __future__ import annotations

import functools
from collections import Counter

from sandgym.rollouts import RolloutConfig, collect, load_trajectories
from tests.rollouts.conftest import owned_containers, stored_ids

HUMANEVAL = "sandgym/HumanEval-v0"
SLOW_PREFIX = "import time\ntime.sleep(1.5)\n"


def _slow_reply(canonical, messages):
    """The reference answer, sleeping at import: each request lasts ~1.5 s.

    The sleep goes inside the code block: the grader runs the block that defines the
    entry point, so a line before the fence would never run.
    """
    reference = canonical.generate([messages])[0].text
    fence = "```python\n"
    if reference.startswith(fence):
        return fence + SLOW_PREFIX + reference[len(fence):]
    return SLOW_PREFIX + reference


def slow_canonical():
    """A picklable policy factory (called in the worker)."""
    from sandgym.agents import ScriptedPolicy
    from sandgym.rollouts.policies import build_policy

    canonical = build_policy("canonical", env_id=HUMANEVAL)
    return ScriptedPolicy(functools.partial(_slow_reply, canonical), name="slow-canonical")


def _kill(container) -> bool:
    """Kill a container unless it is already ending; True when this call killed it.

    The listing includes containers a first round killed whose auto-removal is still
    under way: killing one of those again is the engine's 409 (not running), or 404 once
    it is gone, which is no failure of the code under test.
    """
    import docker.errors

    if container.status != "running":
        return False
    try:
        container.kill()
    except docker.errors.NotFound:
        return False
    except docker.errors.APIError as e:
        if e.status_code == 409:
            return False
        raise
    return True


def test_container_killed_mid_request_is_retried_and_scored_right(ray_start, tmp_path):
    out = tmp_path / "killed-container.parquet"
    killed: list[str] = []
    workers: set[int] = set()

    retried: list[int] = []
    rounds: list[int] = []

    def kill_running_containers(record: dict) -> None:
        pid = int(record["worker"].rsplit(":", 1)[1])
        workers.add(pid)
        if record["attempts"] > 1:
            retried.append(record["attempts"])
        # The worker's next batch is under way and its requests sleep 1.5 s. On a loaded
        # machine a kill can still land between two requests (nothing to retry), so kill
        # again on later records until one comes back retried, at most twice (so no
        # episode can use up its 3 attempts).
        if not retried and len(rounds) < 2:
            rounds.append(pid)
            for container in owned_containers(pid):
                if _kill(container):
                    killed.append(container.id)

    result = collect(HUMANEVAL, slow_canonical, limit=4, samples_per_task=2, num_workers=1,
                     out=out, config=RolloutConfig(batch_size=2), progress=False,
                     on_record=kill_running_containers)
    assert killed, "no container was running when the first episode came back"
    ids = stored_ids(out)
    assert len(ids) == 8 and Counter(ids).most_common(1)[0][1] == 1
    ds = load_trajectories(out)
    assert set(ds["final_reward"]) == {1.0}, "killed requests were retried, not scored"
    assert result.sandbox_errors == 0 and result.retries >= 1
    assert 2 <= max(ds["attempts"]) <= 3
    assert not [c for pid in workers for c in owned_containers(pid)], "containers leaked"
