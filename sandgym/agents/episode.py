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
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sandgym.agents.base import Generation, Policy, SamplingParams
from sandgym.agents.errors import AgentError
from sandgym.agents.trajectory import Trajectory, conversation_tokens, is_nan

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
        episode_ids: per env, the trajectory id; default fresh uuids.
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
        trajs = list(pool.map(lambda i: _reset(envs[i], task_ids[i], seeds[i], episode_ids[i],
                                               policy.name), range(n)))
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
            steps = pool.map(lambda pair: _step(envs[pair[0]], trajs[pair[0]], pair[1].text),
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
    for traj in trajs:
        _finalize(traj, policy)
    return trajs


def _per_env(values: Sequence[Any] | None, n: int, name: str) -> list[Any]:
    if values is None:
        return [None] * n
    values = list(values)
    if len(values) != n:
        raise ValueError(f"{name} has {len(values)} entries for {n} envs; give one per env")
    return values


def _env_id(env: Any) -> str:
    spec = getattr(env, "spec", None)
    return getattr(spec, "id", None) or type(getattr(env, "unwrapped", env)).__name__


def _reset(env: Any, task_id: str | None, seed: int | None, episode_id: str | None,
           policy_name: str) -> Trajectory:
    options = None if task_id is None else {"task_id": task_id}
    started = time.perf_counter()
    obs, info = env.reset(seed=seed, options=options)
    elapsed = time.perf_counter() - started
    traj = Trajectory(episode_id=episode_id or uuid.uuid4().hex, env_id=_env_id(env),
                      task_id=(info or {}).get("task_id", task_id), policy=policy_name,
                      seed=seed)
    traj.timings["env_s"] += elapsed
    system = getattr(getattr(env, "unwrapped", env), "system_prompt", None)
    if system:
        traj.messages.append({"role": "system", "content": str(system)})
    traj.messages.append({"role": "user", "content": str(obs)})
    return traj


def _record_generation(traj: Trajectory, gen: Generation) -> None:
    traj.messages.append({"role": "assistant", "content": gen.text})
    traj.actions.append(gen.text)
    traj.prompt_token_ids.append(list(gen.prompt_token_ids or []))
    traj.completion_token_ids.append(list(gen.token_ids))
    traj.logprobs.append(list(gen.logprobs))
    traj.finish_reasons.append(gen.finish_reason)
    traj.num_turns += 1


def _step(env: Any, traj: Trajectory, action: str) -> bool:
    """Step ``env`` with ``action``, record the outcome; True when the episode is over."""
    started = time.perf_counter()
    obs, reward, terminated, truncated, info = env.step(action)
    traj.timings["env_s"] += time.perf_counter() - started
    info = info or {}
    reward = float(reward)
    traj.rewards.append(reward)
    traj.verdicts.append(dict(info.get("verdict") or {}))
    traj.reward_components.append(dict(info.get("reward_components") or {}))
    traj.final_observation = str(obs)
    traj.terminated = bool(terminated)
    traj.truncated = bool(truncated)
    if info.get("sandbox_error") is True or is_nan(reward):
        traj.sandbox_error = True
        if not terminated:
            traj.truncated = True
        logger.warning("sandbox error in episode %s (task %s); it will not be scored",
                       traj.episode_id, traj.task_id)
        return True
    return bool(terminated or truncated)


def _finalize(traj: Trajectory, policy: Policy) -> None:
    traj.final_reward = None if traj.sandbox_error else float(sum(traj.rewards))
    tokenizer = policy.tokenizer
    if tokenizer is None or not traj.num_turns:
        return
    first = traj.prompt_token_ids[0] or None
    tokens = conversation_tokens(tokenizer, traj.messages, traj.completion_token_ids, first)
    if tokens is not None:
        traj.token_ids, traj.loss_mask = tokens
