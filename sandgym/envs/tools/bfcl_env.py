"""`BFCLMultiTurnEnv`: BFCL multi-turn tasks, checked per turn as BFCL checks them.

A task's involved API classes are loaded with its initial config (`bfcl_api.Session`);
their documented methods are the tools. The user is scripted: the task's next question
is the observation after the agent ends its turn, which it does by replying without a
tool call (as in BFCL, where a turn ends when the model stops emitting calls; a turn
is also ended after ``max_steps_per_turn`` replies, BFCL's step limit of 20).

After each turn the env applies BFCL's checks against the gold replay of that turn
(`bfcl_tasks`): the instances' public attributes must equal the gold's (state check),
every gold result must be among the model's results so far (response check, as
multisets), and a turn with gold calls needs at least one call. A turn whose gold is
empty (the request cannot be done: the agent must not act) passes only when the agent
attempts no call at all: like BFCL's ``multi_turn_irrelevance_checker``, which fails the
turn on any call it can decode, a call that fails (an unknown or withheld function,
missing or bad arguments, an error result) counts as much as one that succeeds.

Reward: ``binary`` 1.0 when every turn passes (BFCL's accuracy); ``fraction`` the share
of turns passed beyond what an agent that never calls passes (its empty-gold turns):
(passed - t) / (total - t), at least 0. Without that, refusing everything earned the
share of turns to refuse (0.235 on average over the ``miss_param`` tasks, up to 0.5),
which a policy can learn instead of the task. BFCL stops at the first failing
turn; each turn is judged here on the state the agent actually reached.
``info["verdict"]["turns"]`` carries each turn's state diff and missing results.
Malformed or refused calls come back as typed error observations
(``{"error": {"type", "message"}}``), never exceptions.

Categories (``category=``): ``base``; ``miss_param`` and ``miss_func`` add turns whose gold
is empty (a parameter or a function is missing: the agent must not act), and in
``miss_func`` withheld functions are offered at a later turn, whose observation lists
them; ``long_context`` loads the classes with BFCL's long states.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from typing import Any, ClassVar

import gymnasium as gym

from sandgym.envs.contract import StepResult, Tool
from sandgym.envs.errors import EnvError, EpisodeOverError, UnknownTaskError
from sandgym.envs.spaces import AnyText
from sandgym.envs.tools.bfcl_api import API_CLASSES, Session, missing_results, state_diff, tools_for
from sandgym.envs.tools.bfcl_data import ADDED_FUNCTIONS_PROMPT, BFCLTask, bfcl_tasks
from sandgym.envs.tools.bfcl_tasks import gold_calls, validate_bfcl_tasks
from sandgym.envs.tools.calls import CallError, format_call, parse_reply
from sandgym.envs.tools.env import contract_tool
from sandgym.envs.tools.schema import FunctionTool

logger = logging.getLogger(__name__)

__all__ = ["END_OF_TURN", "END_TURN_TOOL", "BFCLMultiTurnEnv"]

END_OF_TURN = "Done."
"""What the reference answer says to end a turn (any reply without a call does)."""
REWARD_MODES = ("binary", "fraction")
_PROMPT = (
    "You are an assistant that operates the user's systems through function calls. Each "
    "user message is a request; make the calls it needs (in several replies if you need "
    "to see results first), then reply without any call to finish the request.\n"
    "Call a function by writing, on its own line:\n"
    '<tool_call>{"name": "FUNCTION", "arguments": {"ARG": "VALUE"}}</tool_call>\n'
    "Results come back as JSON lines; errors as {\"error\": {\"type\", \"message\"}}.")


END_TURN_TOOL = "end_turn"
"""A contract tool (TRL's adapter, OpenAI tool lists) that ends the turn: with tools as
methods, a model cannot send a reply without a call and still get the next request."""
TOOL_PROMPT = (
    "You operate the user's systems through the tools. Each request may need several "
    f"calls; when a request is finished, call `{END_TURN_TOOL}`: its result is the user's "
    "next request (or the end of the conversation).")


def _end_turn_action() -> str:
    return END_OF_TURN


def _contract_tools(specs: tuple[FunctionTool, ...]) -> tuple[Tool, ...]:
    """The tools as env-contract `Tool`s (each builds the reply text that calls it), and
    `END_TURN_TOOL` (a reply without a call)."""
    out = [contract_tool(spec) for spec in specs]
    if specs:
        out.append(Tool(END_TURN_TOOL, "Finish the user's current request (the next request, "
                        "if any, comes back as the result).", params=(),
                        returns="The user's next request, or the end of the episode.",
                        to_action=_end_turn_action))
    return tuple(out)


def _all_tools() -> tuple[FunctionTool, ...]:
    try:
        return tools_for(tuple(API_CLASSES))
    except EnvError:  # the wheel is missing: the class still imports; making an env says why
        return ()


class BFCLMultiTurnEnv(gym.Env[str, str]):
    """BFCL multi-turn as a Gymnasium env (see the module docstring).

    Args:
        category: the BFCL multi-turn category (``base``).
        tasks: `BFCLTask` values instead of the category's (validated the same way).
        max_steps_per_turn: agent replies in one turn before the turn is ended.
        max_errors: invalid calls allowed in an episode; the next one ends it.
        max_calls_per_turn: calls one reply may make; more is a ``too_many_calls`` error.
        reward_mode: ``binary`` or ``fraction``.
        pool: unused (the API classes run in-process); accepted for the common signature.
        render_mode: unused.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}
    multi_turn: ClassVar[bool] = True
    sandboxed: ClassVar[bool] = False
    holds_sandbox: ClassVar[bool] = False
    tools: ClassVar[tuple[Tool, ...]] = _contract_tools(_all_tools())
    tool_prompt: ClassVar[str | None] = TOOL_PROMPT
    _cache: ClassVar[dict[str, Any]] = {}

    def __init__(self, *, category: str = "base", tasks: list[BFCLTask] | None = None,
                 max_steps_per_turn: int = 20, max_errors: int = 20,
                 max_calls_per_turn: int = 32, reward_mode: str = "binary",
                 pool: Any = None, render_mode: str | None = None) -> None:
        if reward_mode not in REWARD_MODES:
            raise EnvError(f"reward_mode must be one of {REWARD_MODES}, got {reward_mode!r}")
        if max_steps_per_turn < 1 or max_errors < 0 or max_calls_per_turn < 1:
            raise EnvError("max_steps_per_turn and max_calls_per_turn must be >= 1, "
                           "max_errors >= 0")
        self.category = category
        self.max_steps_per_turn = max_steps_per_turn
        self.max_errors = max_errors
        self.max_calls_per_turn = max_calls_per_turn
        self.reward_mode = reward_mode
        self.render_mode = render_mode
        self.observation_space = AnyText()
        self.action_space = AnyText()
        source = list(tasks) if tasks is not None else bfcl_tasks(category)
        key = hashlib.sha256(repr(source).encode()).hexdigest()
        if key not in self._cache:  # replays are pure: once per task set and process
            self._cache[key] = validate_bfcl_tasks(source, domain=f"bfcl_{category}")
        accepted, self._gold, self.report = self._cache[key]
        if not accepted:
            raise EnvError(f"no BFCL task was accepted: {self.report.counts()}")
        self.tasks = accepted
        self._by_id = {t.id: t for t in accepted}
        self._turn_limit: int | None = None  # max_episode_turns, computed when first asked
        self.task: BFCLTask | None = None
        self.done = True
        self.turn = 0

    # ------------------------------------------------------------------ tasks

    @classmethod
    def default_tasks(cls) -> list[BFCLTask]:
        """The base category's tasks (unvalidated; an env keeps those that replay)."""
        return bfcl_tasks("base")

    @property
    def task_ids(self) -> list[str]:
        """Ids of the accepted tasks, in order."""
        return [t.id for t in self.tasks]

    def get_task(self, task_id: str) -> BFCLTask:
        """The accepted task with this id (a rejected or unknown id is an error)."""
        if task_id in self._by_id:
            return self._by_id[task_id]
        refused = {r.task_id: r for r in self.report.rejected}
        if task_id in refused:
            r = refused[task_id]
            raise UnknownTaskError(f"task {task_id!r} was rejected on load ({r.reason}: "
                                   f"{r.detail})")
        raise UnknownTaskError(f"no task {task_id!r}")

    def reference_replies(self, task_id: str) -> list[str]:
        """The gold trajectory as replies: per turn, its gold calls (in replies of at most
        ``max_calls_per_turn`` calls), then a reply ending it."""
        replies = []
        size = self.max_calls_per_turn
        for calls in gold_calls(self.get_task(task_id)):
            replies.extend("\n".join(format_call(c) for c in calls[i:i + size])
                           for i in range(0, len(calls), size))
            replies.append(END_OF_TURN)
        return replies

    @property
    def max_episode_turns(self) -> int:
        """Replies the longest accepted task's reference takes (its gold calls, chunked by
        ``max_calls_per_turn``, plus one reply per user turn to end it): the turn limit
        ``sandgym eval`` plays with by default. A fixed 10 truncated about one base task
        in 15 even for the reference, which read as a broken env."""
        if self._turn_limit is None:
            self._turn_limit = max(len(self.reference_replies(t.id)) for t in self.tasks)
        return self._turn_limit

    def reference_answer(self, task_id: str) -> str:
        """The first reference reply (`reference_replies` has them all)."""
        return self.reference_replies(task_id)[0]

    @property
    def system_prompt(self) -> str:
        """The calling rules and the current task's functions (BFCL's docs, as schemas)."""
        specs = _all_tools()
        if self.task is not None:  # miss_func: withheld functions come with a later turn
            hidden = set(self.task.withheld_until(0))
            specs = tuple(t for t in tools_for(self.task.involved_classes,
                                               self.task.excluded_functions)
                          if t.name not in hidden)
        schemas = json.dumps([t.openai_schema() for t in specs], ensure_ascii=False)
        return f"{_PROMPT}\n\n# Functions\n{schemas}"

    # ------------------------------------------------------------------ episode

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[str, dict[str, Any]]:
        """Start a task (``options["task_id"]`` or the seeded RNG) on fresh instances."""
        super().reset(seed=seed)
        task_id = (options or {}).get("task_id")
        self.task = (self.tasks[int(self.np_random.integers(len(self.tasks)))]
                     if task_id is None else self.get_task(task_id))
        self.session = Session(self.task)
        self.turn = 0
        self.done = False
        self._steps_in_turn = 0
        self._calls_in_turn = 0  # calls that returned a result
        self._attempts_in_turn = 0  # calls decoded from the replies, whatever came of them
        self._results: list[str] = []
        self._verdicts: list[dict[str, Any]] = []
        self._errors: Counter[str] = Counter()
        self._invalid = 0
        return self.task.turns[0], {"task_id": self.task.id, "turn": 0}

    def step(self, action: str) -> StepResult:
        """Run the reply's calls, or end the turn when it has none (see the module doc)."""
        if self.task is None or self.done:
            raise EpisodeOverError("the episode is over (or never began); call reset() first")
        if not isinstance(action, str):
            raise EnvError(f"actions are text (str), got {type(action).__name__}")
        self._steps_in_turn += 1
        parsed = parse_reply(action)
        if parsed.error is not None:
            return self._after_call(json.dumps(parsed.error.observation()), [parsed.error])
        if not parsed.calls:
            return self._end_turn("")
        self._attempts_in_turn += len(parsed.calls)
        if len(parsed.calls) > self.max_calls_per_turn:
            error = CallError("too_many_calls", f"{len(parsed.calls)} calls in one reply; at "
                              f"most {self.max_calls_per_turn} are allowed; none ran")
            return self._after_call(json.dumps(error.observation()), [error])
        lines, errors = [], []
        for call in parsed.calls:
            result = self.session.run(call)
            if isinstance(result, CallError):
                errors.append(result)
                lines.append({"tool": call.name, **result.observation()})
            else:
                self._results.append(result)
                self._calls_in_turn += 1
                lines.append({"tool": call.name, "result": result})
        observation = "\n".join(json.dumps(o, ensure_ascii=False) for o in lines)
        return self._after_call(observation, errors)

    def _after_call(self, observation: str, errors: list[CallError]) -> StepResult:
        for error in errors:
            self._errors[error.kind] += 1
        self._invalid += len(errors)
        if self._invalid > self.max_errors:
            return self._grade(observation + f"\n[{self._invalid} invalid calls: over the "
                               f"allowance of {self.max_errors}; the episode ends]",
                               ended_by="error_allowance")
        if self._steps_in_turn >= self.max_steps_per_turn:
            return self._end_turn(observation + f"\n[{self.max_steps_per_turn} steps: the "
                                  "turn ends]")
        info = self._info({"status": "running", "turns": self._verdicts,
                           "errors": dict(self._errors),
                           "last_errors": [e.kind for e in errors]}, 0.0)
        return observation, 0.0, False, False, info

    def _end_turn(self, prefix: str) -> StepResult:
        self._verdicts.append(self._check_turn(self.turn))
        self.turn += 1
        self._steps_in_turn = self._calls_in_turn = self._attempts_in_turn = 0
        if self.turn >= len(self.task.turns):
            return self._grade(prefix, ended_by="all_turns")
        message = self.task.turns[self.turn]
        added = self.session.start_turn(self.turn)
        if added:  # BFCL's prompting form: the new functions, then its message
            schemas = json.dumps([t.openai_schema() for t in added], ensure_ascii=False)
            message = f"# New functions\n{schemas}\n{message or ADDED_FUNCTIONS_PROMPT}"
        observation = f"{prefix}\n{message}".strip()
        info = self._info({"status": "running", "turns": self._verdicts,
                           "errors": dict(self._errors)}, 0.0)
        info["user_turn"] = self.turn
        return observation, 0.0, False, False, info

    def _check_turn(self, k: int) -> dict[str, Any]:
        """BFCL's checks of turn ``k`` against its gold replay."""
        gold = self._gold[self.task.id][k]
        if not gold.calls:  # BFCL's irrelevance check: any decoded call fails the turn
            return {"turn": k, "passed": self._attempts_in_turn == 0, "irrelevance": True,
                    "calls": self._attempts_in_turn,
                    "failed_calls": self._attempts_in_turn - self._calls_in_turn}
        diff = state_diff(self.session.instances, gold.state)
        missing = missing_results(self._results, list(gold.results))
        empty = self._calls_in_turn == 0
        return {"turn": k, "passed": not (diff or missing or empty), "empty_response": empty,
                "state_diff": diff, "missing_results": [m[:500] for m in missing],
                "calls": self._calls_in_turn, "gold_calls": len(gold.calls)}

    def finish(self) -> StepResult | None:
        """The agent stopped early: the open turn is checked, the rest fail."""
        if self.done or self.task is None:
            return None
        self._verdicts.append(self._check_turn(self.turn))
        return self._grade("", ended_by="finished", truncated=True)

    def _grade(self, observation: str, *, ended_by: str, truncated: bool = False
               ) -> StepResult:
        self.done = True
        total = len(self.task.turns)
        for k in range(len(self._verdicts), total):
            self._verdicts.append({"turn": k, "passed": False, "not_reached": True})
        passed = sum(1 for v in self._verdicts if v["passed"])
        exact = passed == total
        # What an agent that never calls passes: every turn whose gold is empty.
        trivial = sum(1 for gold in self._gold[self.task.id] if not gold.calls)
        if exact:
            fraction = 1.0
        else:
            fraction = max(0, passed - trivial) / (total - trivial) if total > trivial else 0.0
        reward = (1.0 if exact else 0.0) if self.reward_mode == "binary" else fraction
        failure = None
        if not exact:
            failure = "parse_error" if self._errors["parse_error"] + \
                self._errors["bad_arguments"] + self._errors["unknown_tool"] else "agent"
        verdict = {"status": "pass" if exact else "fail", "ended_by": ended_by,
                   "turns": self._verdicts, "turns_passed": passed, "turns_total": total,
                   "errors": dict(self._errors), "failure": failure}
        info = self._info(verdict, reward)
        info["reward_components"].update(turns_passed=passed, turns_total=total,
                                         trivial_passed=trivial, fraction=fraction)
        return observation, float(reward), not truncated, truncated, info

    def _info(self, verdict: dict[str, Any], reward: float) -> dict[str, Any]:
        return {"task_id": self.task.id, "turn": self.turn, "verdict": verdict,
                "reward_components": {"mode": self.reward_mode, "value": reward},
                "reward": reward, "sandbox_error": False}

    def close(self) -> None:
        """Nothing to release (the instances are garbage)."""
        super().close()
