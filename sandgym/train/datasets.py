"""Datasets from environments: the ``prompt`` + ``task_id`` rows GRPO trains on.

GRPO needs prompts, and a reward function needs to know which task each completion
answers. `prompts_dataset` builds both from any registered env: the conversational
prompt (the env's system prompt, then the task's first observation) and the
``task_id`` column, which TRL hands to reward functions and to an environment
adapter's ``reset(**row)``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["env_prompts", "prompts_dataset", "training_env_kwargs"]


def training_env_kwargs(env_id: str, split: str | None,
                        env_kwargs: dict[str, Any] | None = None) -> dict[str, Any]:
    """``env_kwargs`` with the training split chosen; never one that holds held-out tasks.

    Trainers default to ``split="train"``. A task set without splits (every task's
    ``split`` is unset) trains on all its tasks. An explicit ``split`` in ``env_kwargs``
    wins over ``split``. Whatever is asked for, a choice that would put a task of the
    ``test`` split in training (``"test"`` itself, ``"all"``, or None on a set that has
    a test split) is refused: those tasks measure the gain.

    Raises:
        ValueError: the chosen tasks include held-out (``test``) ones.
    """
    kwargs = dict(env_kwargs or {})
    chosen = kwargs.get("split", split)
    if chosen == "test":
        raise ValueError("split='test' would train on the held-out tasks that measure the "
                         "gain; train on 'train' and evaluate on test")
    import gymnasium

    from sandgym.envs import TaskSetError, ensure_registered, env_class, load_tasks

    ensure_registered()
    registered = gymnasium.spec(env_id).kwargs or {}
    source = kwargs.get("tasks", registered.get("tasks",
                                                getattr(env_class(env_id), "default_tasks", None)))
    if source is None or callable(source):
        return kwargs  # no task set to inspect here (e.g. an env that builds its own)
    try:
        splits = {task.split for task in load_tasks(source)}
    except (TaskSetError, OSError, ValueError, TypeError):
        return kwargs  # the env reports its own task-set error, with its context
    if splits == {None}:
        logger.info("%s's tasks have no split; training on all of them", env_id)
        return kwargs
    if chosen in (None, "all") and "test" in splits:
        raise ValueError(f"{env_id}'s task set has a held-out 'test' split; training on "
                         f"split={chosen!r} would include it; use split='train'")
    if chosen is not None:
        kwargs["split"] = chosen
    return kwargs


def env_prompts(env_id: str, *, task_ids: Sequence[str] | None = None,
                limit: int | None = None, env_kwargs: dict[str, Any] | None = None,
                ) -> tuple[list[str], list[str], str | None]:
    """The first observation of each task of an env, without starting a sandbox.

    Envs with a task set give each task's observation as ``reset`` would
    (`sandgym.rollouts.policies.task_observations`: ``observe(task)``, or one reset per
    task id); any other text env is reset with seeds 0..limit-1 and its observations
    recorded (``info["task_id"]`` or the seed names the row).

    Returns:
        ``(task_ids, observations, system_prompt)``.
    """
    import gymnasium as gym

    from sandgym.envs import ensure_registered
    from sandgym.rollouts.policies import task_observations

    ensure_registered()
    env = gym.make(env_id, **(env_kwargs or {}))
    try:
        unwrapped = env.unwrapped
        system = getattr(unwrapped, "system_prompt", None)
        if getattr(unwrapped, "task_ids", None):
            by_id = task_observations(env)
            chosen = list(task_ids) if task_ids is not None else list(by_id)
            missing = [t for t in chosen if t not in by_id]
            if missing:
                if hasattr(unwrapped, "get_task"):
                    unwrapped.get_task(missing[0])  # UnknownTaskError with "did you mean"
                raise ValueError(f"{env_id} has no task {missing[0]!r}")
            chosen = chosen[:limit] if limit is not None else chosen
            return chosen, [by_id[t] for t in chosen], system
        if task_ids is not None:
            raise ValueError(f"{env_id} has no task set (env.unwrapped.task_ids); pass limit= "
                             "to sample prompts by seed instead of task_ids=")
        if limit is None:
            raise ValueError(f"{env_id} has no task set; pass limit= (prompts to sample)")
        ids, observations = [], []
        for seed in range(limit):
            obs, info = env.reset(seed=seed)
            ids.append(str((info or {}).get("task_id", f"seed-{seed}")))
            observations.append(str(obs))
        return ids, observations, system
    finally:
        env.close()


def prompts_dataset(env_id: str, *, task_ids: Sequence[str] | None = None,
                    limit: int | None = None, repeat: int = 1,
                    system_prompt: str | None = None,
                    env_kwargs: dict[str, Any] | None = None) -> Any:
    """A Hugging Face `Dataset` of conversational prompts for ``GRPOTrainer``.

    Args:
        env_id: a registered env, e.g. ``sandgym/PythonTests-v0``.
        task_ids: the tasks to include (default: all, in the env's order).
        limit: keep the first ``limit`` tasks.
        repeat: how many times each task appears (an epoch over few tasks is short;
            TRL shuffles rows).
        system_prompt: the system message; None uses the env's (``env.unwrapped
            .system_prompt``); ``""`` leaves it out.
        env_kwargs: keyword arguments for ``gymnasium.make`` (e.g. ``tasks=``).

    Returns:
        A `datasets.Dataset` with columns ``prompt`` (list of ``{"role", "content"}``)
        and ``task_id``.

    Example:
        >>> ds = prompts_dataset("sandgym/PythonTests-v0", limit=2)     # doctest: +SKIP
        >>> ds.column_names, ds[0]["prompt"][-1]["role"]
        (['prompt', 'task_id'], 'user')
    """
    from datasets import Dataset

    if repeat < 1:
        raise ValueError(f"repeat must be >= 1, got {repeat}")
    ids, observations, env_system = env_prompts(env_id, task_ids=task_ids, limit=limit,
                                                env_kwargs=env_kwargs)
    system = env_system if system_prompt is None else system_prompt
    rows: dict[str, list[Any]] = {"prompt": [], "task_id": []}
    for _ in range(repeat):
        for task_id, observation in zip(ids, observations, strict=True):
            messages = [{"role": "system", "content": system}] if system else []
            messages.append({"role": "user", "content": observation})
            rows["prompt"].append(messages)
            rows["task_id"].append(task_id)
    logger.info("prompts_dataset(%s): %d rows (%d tasks x %d)", env_id, len(rows["task_id"]),
                len(ids), repeat)
    return Dataset.from_dict(rows)
