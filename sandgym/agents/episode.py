"""The episode loop: a policy talks with Gymnasium text environments.

`run_episodes` steps many environments in lockstep: each turn it gathers the
conversations of all episodes still running, makes ONE batched ``policy.generate``
call, then steps every environment with its reply (in a small thread pool, since a
sandboxed step mostly waits on a container). That batching is what makes a local model
fast: eight episodes cost about one generate call per turn instead of eight.

Environments are duck-typed (``reset(seed=, options=)`` and the 5-tuple ``step``); the
agents layer imports no environment code (DESIGN.md, layering). Conventions read from
the env:

* ``env.unwrapped.system_prompt`` (optional str): the system message;
* ``info["task_id"]`` after reset; ``options={"task_id": ...}`` picks a task;
* ``info["verdict"]``, ``info["reward_components"]`` after each step;
* ``info["sandbox_error"] is True`` (reward NaN): the infrastructure failed — the episode
  stops and is recorded with ``sandbox_error=True``, ``final_reward=None``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sandgym.agents.base import Generation, Policy, SamplingParams
from sandgym.agents.errors import AgentError
from sandgym.agents.recorder import StepRecorder
from sandgym.agents.trajectory import Trajectory, conversation_tokens

__all__ = ["run_episode", "run_episodes"]

logger = logging.getLogger(__name__)

DEFAULT_MAX_TURNS = 10


def run_episode(env: Any, policy: Policy, *, sampling: SamplingParams | None = None,
                max_turns: int = DEFAULT_MAX_TURNS, task_id: str | None = None,
                seed: int | None = None, episode_id: str | None = None) -> Trajectory:
    """Play one episode; see `run_episodes` for the arguments.

    Example:
        >>> import gymnasium as gym
        >>> from sandgym.agents import ScriptedPolicy, run_episode
        >>> env = gym.make("sandgym/HumanEval-v0")            # doctest: +SKIP
        >>> traj = run_episode(env, ScriptedPolicy(["def f(): ..."]))  # doctest: +SKIP
        >>> traj.final_reward                                  # doctest: +SKIP
        0.0
    """
    return run_episodes([env], policy, sampling=sampling, max_turns=max_turns,
                        task_ids=None if task_id is None else [task_id],
                        seeds=None if seed is None else [seed],
                        episode_ids=None if episode_id is None else [episode_id])[0]


def run_episodes(envs: Sequence[Any], policy: Policy, *, sampling: SamplingParams | None = None,
                 max_turns: int = DEFAULT_MAX_TURNS, task_ids: Sequence[str | None] | None = None,
                 seeds: Sequence[int | None] | None = None,
                 episode_ids: Sequence[str] | None = None,
                 env_workers: int = 8) -> list[Trajectory]:
    """Play one episode in each environment, batching the policy's calls per turn.

    Args:
        envs: Gymnasium environments with text observations and actions, one per
            episode (the same env object must not appear twice).
        policy: replies to all running episodes in one ``generate`` call per turn.
        sampling: decoding settings for every turn (default greedy, 256 new tokens).
        max_turns: most policy replies per episode; an episode still running after
            that is marked ``truncated``.
        task_ids: per env, the task to play (``options={"task_id": ...}``), or None.
        seeds: per env, the ``reset`` seed, or None.
        episode_ids: per env, the trajectory id; default `episode_id` with a fresh
            sample id.
        env_workers: threads stepping environments concurrently (1 = one after another).

    Returns:
        One `Trajectory` per env, in the order of ``envs``.

    Raises:
        ValueError: mismatched argument lengths or ``max_turns < 1``.
        AgentError: the policy returned the wrong number of generations.
    """
    n = len(envs)
    if max_turns < 1:
        raise ValueError(f"max_turns must be >= 1, got {max_turns}")
    if len({id(e) for e in envs}) != n:
        raise ValueError("the same env object appears twice in envs; give one env per episode")
    task_ids = _per_env(task_ids, n, "task_ids")
    seeds = _per_env(seeds, n, "seeds")
    episode_ids = _per_env(episode_ids, n, "episode_ids")
    sampling = sampling or SamplingParams()
    with ThreadPoolExecutor(max_workers=max(1, min(env_workers, n or 1))) as pool:
        recorders = list(pool.map(
            lambda i: StepRecorder.reset(envs[i], task_id=task_ids[i], seed=seeds[i],
                                         episode=episode_ids[i], policy=policy.name),
            range(n)))
        trajs = [r.trajectory for r in recorders]
        done = [False] * n
        for turn in range(max_turns):
            active = [i for i in range(n) if not done[i]]
            if not active:
                break
            started = time.perf_counter()
            gens = policy.generate([trajs[i].messages for i in active], sampling)
            elapsed = time.perf_counter() - started
            if len(gens) != len(active):
                raise AgentError(f"policy {policy.name!r} returned {len(gens)} generations for "
                                 f"{len(active)} conversations; generate must return one each")
            for i, gen in zip(active, gens, strict=True):
                trajs[i].timings["generation_s"] += elapsed
                _record_generation(trajs[i], gen)
            steps = pool.map(lambda pair: recorders[pair[0]].step(envs[pair[0]], pair[1].text),
                             zip(active, gens, strict=True))
            for i, finished in zip(active, list(steps), strict=True):
                if finished:
                    done[i] = True
                elif turn + 1 == max_turns:
                    trajs[i].truncated = True
                    done[i] = True
                else:
                    trajs[i].messages.append(
                        {"role": "user", "content": trajs[i].final_observation or ""})
                    trajs[i].final_observation = None
    for recorder in recorders:
        recorder.close()
        _add_tokens(recorder.trajectory, policy)
    return trajs


def _per_env(values: Sequence[Any] | None, n: int, name: str) -> list[Any]:
    if values is None:
        return [None] * n
    values = list(values)
    if len(values) != n:
        raise ValueError(f"{name} has {len(values)} entries for {n} envs; give one per env")
    return values


def _record_generation(traj: Trajectory, gen: Generation) -> None:
    traj.messages.append({"role": "assistant", "content": gen.text})  # the action: on step
    traj.prompt_token_ids.append(list(gen.prompt_token_ids or []))
    traj.completion_token_ids.append(list(gen.token_ids))
    traj.logprobs.append(list(gen.logprobs))
    traj.finish_reasons.append(gen.finish_reason)
    traj.num_turns += 1


def _add_tokens(traj: Trajectory, policy: Policy) -> None:
    tokenizer = policy.tokenizer
    if tokenizer is None or not traj.num_turns:
        return
    first = traj.prompt_token_ids[0] or None
    tokens = conversation_tokens(tokenizer, traj.messages, traj.completion_token_ids, first)
    if tokens is not None:
        traj.token_ids, traj.loss_mask = tokens
