"""Policies for an environment: ``canonical`` gets its answers from the env.

`sandgym.agents.policy_from_spec` parses every spec, ``canonical`` included, but the
reference answers only the env knows, and agents import no env (DESIGN.md, layering).
The rollout layer joins both: `build_policy` hands the parser the env's oracle.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandgym.agents import Policy

__all__ = ["CANONICAL", "POLICY_HELP", "build_policy", "canonical_policy", "ensure_envs",
           "task_observations"]

logger = logging.getLogger(__name__)

CANONICAL = "canonical"
MODEL_POLICY_HELP = ("'default' (the bundled SmolLM2-135M-Instruct), 'openai:URL#MODEL' (an "
                     "OpenAI-compatible server), or a model directory")
"""The help text of a ``--policy`` option that needs a model (no task answers to replay)."""
POLICY_HELP = (MODEL_POLICY_HELP[:-len(", or a model directory")] + ", a model directory, or "
               "'canonical' (each task's reference answer: an oracle for checking envs and "
               "throughput)")
"""The help text of a ``--policy`` over a task set (`sandgym.agents.POLICY_SPEC_HELP`)."""


def ensure_envs() -> None:
    """Register sandgym's envs (and plugins) in this process, e.g. in a Ray worker."""
    import sandgym.envs  # noqa: F401 - registers on import once the package says so
    from sandgym.envs.registration import ensure_registered

    ensure_registered()


def _first_user_message(messages: list[dict]) -> str:
    for message in messages:
        if message.get("role") == "user":
            return str(message.get("content", ""))
    raise ValueError("the conversation has no user message; the canonical policy answers "
                     "the task prompt")


def task_observations(env: Any) -> dict[str, str]:
    """{task id: first observation} of every task of ``env``, as ``reset`` would give it.

    Envs with a task set and a public ``observe(task)`` (`SandboxEnv`) answer without
    starting anything; any other env with ``task_ids`` is reset once per task.
    """
    unwrapped = getattr(env, "unwrapped", env)
    tasks = getattr(unwrapped, "tasks", None)
    observe = getattr(unwrapped, "observe", None)
    if tasks is not None and callable(observe):
        return {task.id: str(observe(task)) for task in tasks}
    ids = list(getattr(unwrapped, "task_ids", None) or [])
    return {str(t): str(env.reset(options={"task_id": t})[0]) for t in ids}


def _system_message(messages: list[dict]) -> str | None:
    return next((str(m.get("content", "")) for m in messages if m.get("role") == "system"),
                None)


def _shared_prompts(env: Any, observations: dict[str, str]) -> dict[tuple[str, str], str]:
    """{(system prompt, first observation): task id} for tasks whose first observations
    repeat, told apart by the system prompt ``reset`` sets (e.g. a per-task tool list,
    as in BFCL, where two tasks open with the same request but offer other functions)."""
    seen: dict[str, list[str]] = {}
    for task_id, obs in observations.items():
        seen.setdefault(obs, []).append(task_id)
    shared = [t for ids in seen.values() if len(ids) > 1 for t in ids]
    unwrapped = getattr(env, "unwrapped", env)
    out: dict[tuple[str, str], str] = {}
    for task_id in shared:
        env.reset(options={"task_id": task_id})
        system = getattr(unwrapped, "system_prompt", None)
        if system:
            out[(str(system), observations[task_id])] = task_id
    return out


_NO_REFERENCES = ("has no task set with reference answers; the canonical policy (eval's "
                  "default) needs one: pass --policy default (the shipped model) or another "
                  "policy")


def canonical_policy(env: Any) -> Policy:
    """A ScriptedPolicy that answers every task of ``env`` with its reference answer.

    The reply is chosen by the conversation's first user message (the task prompt),
    so one policy serves a whole batch of episodes on different tasks. An env whose
    reference takes several replies (``reference_replies(task_id)``: a list, as in a
    scripted multi-turn conversation) is answered with its n-th reply at the n-th turn.

    Args:
        env: a sandgym env (or its wrapper) with ``tasks`` and ``reference_answer``.

    Raises:
        ValueError: the env has no tasks with reference answers.

    Example:
        >>> import gymnasium                                          # doctest: +SKIP
        >>> policy = canonical_policy(gymnasium.make("sandgym/HumanEval-v0"))
    """
    from sandgym.agents import policy_from_spec

    unwrapped = getattr(env, "unwrapped", env)
    if not hasattr(unwrapped, "reference_answer"):
        raise ValueError(f"{type(unwrapped).__name__} {_NO_REFERENCES}")
    observations = task_observations(env)
    by_prompt = {obs: task_id for task_id, obs in observations.items()}
    if not by_prompt:
        raise ValueError(f"{type(unwrapped).__name__} {_NO_REFERENCES}")
    by_context = _shared_prompts(env, observations)

    def reply(messages: list[dict]) -> str:
        prompt = _first_user_message(messages)
        try:
            task_id = by_context.get((_system_message(messages), prompt)) or by_prompt[prompt]
        except KeyError:
            raise ValueError(f"canonical policy: no task of {type(unwrapped).__name__} has "
                             f"the prompt {prompt[:80]!r}") from None
        replies = getattr(unwrapped, "reference_replies", None)
        if callable(replies):  # a multi-reply reference (e.g. one per user turn)
            script = replies(task_id)
            turn = sum(1 for m in messages if m.get("role") == "assistant")
            return script[min(turn, len(script) - 1)]
        return unwrapped.reference_answer(task_id)

    return policy_from_spec(CANONICAL, oracle=reply)


def build_policy(spec: str, *, env: Any = None, env_id: str | None = None,
                 **options: Any) -> Policy:
    """The policy a spec names, including ``canonical`` for the given env.

    Args:
        spec: see `POLICY_HELP`; parsed by `sandgym.agents.policy_from_spec`.
        env: the env the policy will play (needed for ``canonical``).
        env_id: alternatively, its id: a pool-less instance is made to read the tasks
            (no container starts).
        **options: passed to the policy (e.g. ``device``, ``batch_size``), except
            ``latency_s``: every ``generate`` call then waits that long first
            (`sandgym.agents.latency.DelayedPolicy`: a stand-in for a remote inference
            server in benchmarks and tests).

    Raises:
        sandgym.agents.PolicySpecError: an unknown spec.
        ValueError: ``canonical`` without an env, or for an env without reference answers.
    """
    latency_s = options.pop("latency_s", None)
    policy = _build(spec, env=env, env_id=env_id, **options)
    if latency_s:
        from sandgym.agents.latency import DelayedPolicy

        policy = DelayedPolicy(policy, float(latency_s))
    return policy


def _build(spec: str, *, env: Any, env_id: str | None, **options: Any) -> Policy:
    if spec.strip() == CANONICAL:
        if env is None:
            if env_id is None:
                raise ValueError("the canonical policy needs the env (env= or env_id=)")
            import gymnasium

            ensure_envs()
            env = gymnasium.make(env_id)
            try:
                return canonical_policy(env)
            finally:
                env.close()
        return canonical_policy(env)
    from sandgym.agents import policy_from_spec

    return policy_from_spec(spec, **options)
