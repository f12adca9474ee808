"""`sandgym envs check ID`: Gymnasium's conformance check plus one scripted episode.

The envs-side counterpart of `gymnasium.utils.env_checker.check_env` for users who
register their own environments: it makes the env the way users will, runs the
checker, then plays one episode with the task's reference answer when the env
offers one (else with a sampled action) and reports what happened.
"""

from __future__ import annotations

import logging
import math
import traceback
import warnings
from typing import Any

import gymnasium as gym
from gymnasium.utils.env_checker import check_env

from sandgym.envs.registration import ensure_registered
from sandgym.verdict import Verdict

logger = logging.getLogger(__name__)

__all__ = ["check_env_id"]

_MAX_EPISODE_STEPS = 50


def check_env_id(env_id: str, *, pool: Any = None, task_id: str | None = None
                 ) -> dict[str, Any]:
    """Check a registered env; returns a JSON-ready report with ``ok``.

    Args:
        env_id: a registered id, e.g. ``sandgym/HumanEval-v0``.
        pool: a SandboxPool for the env (None: the default pool).
        task_id: the task of the scripted episode (default: the first task).

    Returns:
        ``{"env_id", "ok", "check_env", "warnings", "episode"}``; ``check_env`` is
        ``"ok"`` or the error, ``episode`` describes the scripted episode.
    """
    ensure_registered()
    report: dict[str, Any] = {"env_id": env_id, "ok": False, "check_env": None,
                              "warnings": [], "episode": None}
    kwargs = {"pool": pool} if pool is not None else {}
    env = gym.make(env_id, **kwargs)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                check_env(env.unwrapped)
                report["check_env"] = "ok"
            except Exception as e:  # noqa: BLE001 - reported, not raised
                report["check_env"] = f"{type(e).__name__}: {e}"
                report["traceback"] = traceback.format_exc(limit=5)
        report["warnings"] = sorted({str(w.message) for w in caught})
        report["episode"] = _scripted_episode(env, task_id)
    finally:
        env.close()
    episode = report["episode"] or {}
    report["ok"] = report["check_env"] == "ok" and not episode.get("error") and \
        episode.get("reference_passed") is not False
    return report


def _scripted_episode(env: gym.Env, task_id: str | None) -> dict[str, Any]:
    unwrapped = env.unwrapped
    ids = list(getattr(unwrapped, "task_ids", []) or [])
    task_id = task_id or (ids[0] if ids else None)
    episode: dict[str, Any] = {"task_id": task_id, "steps": 0, "rewards": []}
    try:
        options = {"task_id": task_id} if task_id is not None else None
        _, info = env.reset(seed=0, options=options)
        episode["task_id"] = info.get("task_id", task_id)
        reference: list[str] | None = None
        if episode["task_id"] is not None:
            try:  # several replies (one per user turn), or one answer repeated
                if hasattr(unwrapped, "reference_replies"):
                    reference = list(unwrapped.reference_replies(episode["task_id"]))
                elif hasattr(unwrapped, "reference_answer"):
                    reference = [unwrapped.reference_answer(episode["task_id"])]
            except Exception as e:  # noqa: BLE001 - no reference is fine
                logger.info("no reference answer: %s", e)
        episode["policy"] = "reference" if reference else "sampled"
        terminated = truncated = False
        info = {}
        while not (terminated or truncated) and episode["steps"] < _MAX_EPISODE_STEPS:
            action = (reference[min(episode["steps"], len(reference) - 1)] if reference
                      else env.action_space.sample())
            _, reward, terminated, truncated, info = env.step(action)
            episode["steps"] += 1
            episode["rewards"].append(None if math.isnan(reward) else reward)
        episode.update(terminated=terminated, truncated=truncated,
                       verdict=info.get("verdict"), sandbox_error=info.get("sandbox_error"))
        if reference:
            episode["reference_passed"] = Verdict.of(info.get("verdict")).ok
    except Exception as e:  # noqa: BLE001 - reported, not raised
        episode["error"] = f"{type(e).__name__}: {e}"
    return episode
