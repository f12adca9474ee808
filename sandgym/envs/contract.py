"""The env contract: what an environment declares so nothing outside `envs` guesses.

Any text `gymnasium.Env` meets the small protocol `TextEnv` (``reset``/``step``/``close``
with ``str`` observations and actions). What training, rollouts and the CLI need to know
beyond that, an env says with class-level traits, each with a default that suits a plain
third-party env (`EnvTraits` reads them; `sandgym.envs.env_traits` by id):

* ``multi_turn``: whether an episode may take several steps (default True);
* ``sandboxed``: whether the constructor takes ``pool=`` (a `SandboxPool`) (False);
* ``holds_sandbox``: whether an episode keeps one sandbox from reset to its end (False);
* ``tools``: the env's actions as typed, documented `Tool` values, which a TRL
  ``environment_factory`` exposes as methods and `Tool.openai_schema` as an OpenAI tool
  list (default: one tool, ``act(action)``);
* ``batch_scoring``: whether instances grade many one-turn completions at once with
  ``score(task_ids, completions, pool=..., max_concurrency=...)`` (False);
* ``default_timeout_s``: the time budget of one sandboxed request, which the env's
  ``timeout_s=`` overrides (None: the env has no such budget);
* ``stop_after_code_block``: whether what the env grades of a reply ends with its first
  fenced code block, so a policy may stop generating there
  (`sandgym.agents.SamplingParams.stop_after_code_block`; False).

Optional instance members, used when present: ``task_ids`` (and
``options={"task_id": ...}`` in ``reset``), ``system_prompt``, ``reference_answer(task_id)``,
``observe(task)``, ``finish()`` (end an episode the agent left open, scored the way
truncation would be, or, in the two-player games, as the learner conceding; returns the
closing step's 5-tuple, or None when the return so far stands) and
``max_episode_turns`` (an int, often a property: the policy replies an episode of this
env's tasks may need, e.g. its longest reference conversation; ``sandgym eval`` plays with
that turn limit unless ``--max-turns`` says otherwise, and ``sandgym train grpo`` caps tool
calls at it; read it with `episode_turn_limit`). That one is an instance member rather
than a trait because it depends on the instance's task set and settings.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, Protocol

from sandgym.envs.errors import EnvError

__all__ = ["ACT", "EnvTraits", "InvalidToolCall", "StepResult", "TextEnv", "Tool",
           "episode_turn_limit"]

StepResult = tuple[str, float, bool, bool, dict[str, Any]]
"""Gymnasium's 5-tuple for a text env: observation, reward, terminated, truncated, info."""


class InvalidToolCall(EnvError):
    """A tool call that cannot become an action; its message is the tool's reply."""


class TextEnv(Protocol):
    """What every sandgym-usable env is: a Gymnasium env with text in and text out."""

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[str, dict[str, Any]]:
        """Start an episode; ``options["task_id"]`` picks a task when the env has tasks."""
        ...

    def step(self, action: str) -> StepResult:
        """Act; ``info["verdict"]`` and ``info["reward_components"]`` explain the reward."""
        ...

    def close(self) -> None:
        """Release what the env holds; harmless twice."""
        ...


def _first_argument(**arguments: str) -> str:
    return next(iter(arguments.values()), "")


@dataclass(frozen=True)
class Tool:
    """One action of an env as a typed, documented tool (every argument is a string).

    Args:
        name: the tool (method) name, e.g. ``submit_solution``.
        description: what calling it does, for the model.
        params: ``(name, description)`` of each argument.
        returns: what the tool's result (the env's observation) tells the model.
        to_action: builds the action text from the arguments (default: the first
            argument's value; ``""`` without arguments). It may raise `InvalidToolCall`,
            whose message is returned to the model instead of stepping the env.

    Example:
        >>> run = Tool("run_command", "Run a bash command.",
        ...            params=(("command", "The command."),), returns="Its output.")
        >>> run.action(command="ls"), run.openai_schema()["function"]["parameters"]["required"]
        ('ls', ['command'])
    """

    name: str
    description: str
    params: tuple[tuple[str, str], ...] = ()
    returns: str = "The environment's reply."
    to_action: Callable[..., str] = _first_argument

    def __post_init__(self) -> None:
        if not self.name.isidentifier() or self.name.startswith("_") or self.name in (
                "reset", "get_reward", "close"):
            raise ValueError(f"tool name {self.name!r} must be a public identifier other than "
                             "reset, get_reward and close")

    def action(self, **arguments: str) -> str:
        """The action text for these arguments (raises `InvalidToolCall` if there is none)."""
        missing = [name for name, _ in self.params if name not in arguments]
        if missing:
            raise InvalidToolCall(f"{self.name} needs the argument(s) {missing}")
        return self.to_action(**{name: str(arguments[name]) for name, _ in self.params})

    def docstring(self) -> str:
        """A Google-style docstring (what TRL builds the tool's JSON schema from)."""
        lines = [self.description, ""]
        if self.params:
            lines.append("Args:")
            lines += [f"    {name}: {text}" for name, text in self.params]
            lines.append("")
        lines += ["Returns:", f"    {self.returns}"]
        return "\n".join(lines)

    def signature(self) -> inspect.Signature:
        """``(self, <params>: str) -> str``."""
        params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        params += [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                     annotation=str) for name, _ in self.params]
        return inspect.Signature(params, return_annotation=str)

    def openai_schema(self) -> dict[str, Any]:
        """The tool as an OpenAI-style function tool (``{"type": "function", ...}``)."""
        return {"type": "function", "function": {
            "name": self.name, "description": self.description,
            "parameters": {"type": "object",
                           "properties": {n: {"type": "string", "description": d}
                                          for n, d in self.params},
                           "required": [n for n, _ in self.params]}}}


ACT = Tool("act", "Send one action to the environment.",
           params=(("action", "The action, as text."),), returns="The environment's reply.")
"""The tool of an env that declares none: one action, as text."""


@dataclass(frozen=True)
class EnvTraits:
    """What an env class declares about itself (see the module docstring for each).

    Example:
        >>> import gymnasium
        >>> EnvTraits.of(gymnasium.Env).tools[0].name
        'act'
    """

    multi_turn: bool = True
    sandboxed: bool = False
    holds_sandbox: bool = False
    tools: tuple[Tool, ...] = (ACT,)
    batch_scoring: bool = False
    default_timeout_s: float | None = None
    stop_after_code_block: bool = False

    @classmethod
    def of(cls, env: Any) -> EnvTraits:
        """The traits of an env class or instance (wrappers are looked through)."""
        target = env if isinstance(env, type) else getattr(env, "unwrapped", env)
        if not isinstance(target, type):
            target = type(target)
        defaults = cls()
        values = {f.name: getattr(target, f.name, getattr(defaults, f.name))
                  for f in fields(cls)}
        values["tools"] = tuple(values["tools"]) or (ACT,)
        return cls(**values)


def episode_turn_limit(env: Any) -> int | None:
    """The ``max_episode_turns`` an env instance declares (wrappers looked through), or None.

    Raises:
        EnvError: the env declares something other than a positive int (a wrong limit
            would silently truncate every episode, or never stop one).

    Example:
        >>> import gymnasium
        >>> episode_turn_limit(gymnasium.Env()) is None
        True
    """
    target = getattr(env, "unwrapped", env)
    value = getattr(target, "max_episode_turns", None)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise EnvError(f"{type(target).__name__}.max_episode_turns must be a positive int, "
                       f"got {value!r}")
    return value
