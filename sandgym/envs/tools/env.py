"""`ToolEnv`: an agent calls typed tools on a stateful domain, talks to a user, and is
paid by the final state.

The action is the model's reply. Tool calls are parsed from it (`parse_reply`: OpenAI
``tool_calls`` JSON, ``<tool_call>`` tags, bare JSON) and run in order; the observation
is their results as JSON. A reply without calls is a message to the user (whose answer
is the observation) or, in a task without a user, the agent's final answer. Every
malformed or refused call becomes a typed error observation (``{"error": {"type",
"message"}}``), never an exception; after ``max_errors`` of them the episode ends (the
allowance) and is graded as it stands.

The episode ends when the agent calls ``done`` (or a terminal tool such as
``submit``), the user says ``###STOP###``, the agent answers a task without a user,
the error allowance is spent, or ``max_turns`` is reached (truncated). Then the reward:
the agent's final state is diffed with the gold replay's (`StateDiff`), and the required
outputs are looked for in the agent's messages, unless the agent over-claimed (said more
than a few numbers it was never shown) or over-listed (repeated more numbers than an answer
needs: a dump of what the tools showed; `claims`), which fails the outputs check.
``binary``: 1.0 only when both match exactly; ``fraction``: 1.0 for an exact match, else
matched paths and *looked-up* outputs over all checked (an output pays only when a reading
tool's result showed it to the agent: see `ToolEnv.grade_state`). ``info["verdict"]``
carries the diff, the outputs, any over-claiming or over-listing, the error counts and,
for a failed episode, its cause (``failure``: ``agent``, ``user_simulator``,
``tool_error``, ``parse_error``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from typing import Any, ClassVar

import gymnasium as gym

from sandgym.envs.contract import InvalidToolCall, StepResult, Tool
from sandgym.envs.errors import EnvError, EpisodeOverError, UnknownTaskError
from sandgym.envs.spaces import AnyText
from sandgym.envs.tools.calls import CallError, ToolCall, format_call, parse_reply
from sandgym.envs.tools.claims import (
    LISTING_BUDGET,
    OVERCLAIM_BUDGET,
    Grounding,
    mentions,
    normalize,
    over_claimed,
    over_listed,
    strip_list_markers,
)
from sandgym.envs.tools.diff import changes, compare
from sandgym.envs.tools.domain import Domain, ToolContext
from sandgym.envs.tools.schema import ArgumentError, FunctionTool
from sandgym.envs.tools.tasks import (
    GoldRecord,
    TaskReport,
    ToolTask,
    load_tool_tasks,
    state_paths,
    validate_tasks,
)
from sandgym.envs.tools.user import STOP, make_user

logger = logging.getLogger(__name__)

__all__ = ["DONE", "REWARD_MODES", "ToolEnv", "contract_tools"]

REWARD_MODES = ("binary", "fraction")
DONE = "done"
"""The built-in tool that ends an episode (its ``message`` counts as said to the user)."""

_CALL_FORMAT = (
    "Call a tool by writing, on its own line:\n"
    '<tool_call>{"name": "TOOL_NAME", "arguments": {"ARG": "VALUE"}}</tool_call>\n'
    "You may make several calls in one reply; their results come back as JSON. A reply "
    "without a tool call is a message to the user. When the task is finished, call "
    f"`{DONE}` (with a final message for the user, if any).")


def _done_tool(ctx: ToolContext, message: str = "") -> str:
    """End the episode: the task is finished (or cannot be done).

    Args:
        message: A last message for the user (e.g. the answer they asked for).
    """
    return "The episode is over."


_DONE_TOOL = FunctionTool.of(_done_tool, name=DONE)


def coerce_arguments(tool: FunctionTool, arguments: dict[str, Any]) -> dict[str, Any]:
    """String arguments (TRL's tool methods) read as the schema's types when they parse."""
    out: dict[str, Any] = {}
    for name, value in arguments.items():
        schema = tool.parameters["properties"].get(name, {})
        if schema.get("type", "string") != "string" and isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                pass
        out[name] = value
    return out


def contract_tool(spec: FunctionTool) -> Tool:
    """One function as an env-contract `Tool` whose action is the reply text calling it,
    so the TRL adapter and OpenAI tool lists drive the same parser as a model's text."""
    def to_action(**arguments: Any) -> str:
        try:
            return format_call(ToolCall(spec.name, coerce_arguments(spec, arguments)))
        except (TypeError, ValueError) as e:
            raise InvalidToolCall(f"{spec.name}: {e}") from e
    return Tool(spec.name, spec.description, params=spec.param_docs,
                returns="The tool's result as JSON, or a typed error.", to_action=to_action)


def contract_tools(functions: tuple[FunctionTool, ...]) -> tuple[Tool, ...]:
    """The domain's tools and ``done`` as env-contract `Tool`s (see `contract_tool`)."""
    return tuple(contract_tool(spec) for spec in (*functions, _DONE_TOOL))


class ToolEnv(gym.Env[str, str]):
    """A tool domain as a Gymnasium env (see the module docstring).

    Subclasses set `domain` (a zero-argument classmethod-like factory, cached) and
    `tools` (the contract tools, for TRL), or pass ``domain=`` and ``tasks=``.

    Args:
        domain: the `Domain` (default: the class's).
        tasks: a JSONL path or `ToolTask` values / dicts (default: the class's task set);
            validated on load (``env.report`` lists what was rejected and why).
        pool: the `SandboxPool` sandboxed domains lease from (default: the default pool).
        user: ``"scripted"`` (default), a user model callable (`LLMUser`), or a simulator.
        max_turns: agent replies before the episode is truncated.
        max_errors: invalid calls allowed; the next one ends the episode.
        max_calls_per_turn: calls one reply may make; more is a ``too_many_calls`` error.
        reward_mode: ``binary`` or ``fraction``.
        timeout_s: time budget of one sandboxed request.
        split: keep the tasks of this split (``"all"``: every task).
        render_mode: unused.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}
    multi_turn: ClassVar[bool] = True
    sandboxed: ClassVar[bool] = False
    holds_sandbox: ClassVar[bool] = False
    tools: ClassVar[tuple[Tool, ...]] = ()
    default_timeout_s: ClassVar[float | None] = None
    max_calls_default: ClassVar[int] = 32

    def __init__(self, *, domain: Domain | None = None, tasks: Any = None,
                 pool: Any = None, user: Any = "scripted", max_turns: int = 30,
                 max_errors: int = 8, max_calls_per_turn: int | None = None,
                 reward_mode: str = "binary", timeout_s: float | None = None,
                 split: str = "all", render_mode: str | None = None) -> None:
        if reward_mode not in REWARD_MODES:
            raise EnvError(f"reward_mode must be one of {REWARD_MODES}, got {reward_mode!r}")
        if max_turns < 1 or max_errors < 0:
            raise EnvError("max_turns must be >= 1 and max_errors >= 0")
        self.domain = domain if domain is not None else self.default_domain()
        self.max_turns = max_turns
        self.max_errors = max_errors
        self.max_calls_per_turn = max_calls_per_turn or self.max_calls_default
        self.reward_mode = reward_mode
        self.timeout_s = float(timeout_s or self.default_timeout_s or 10.0)
        self.render_mode = render_mode
        self.observation_space = AnyText()
        self.action_space = AnyText()
        self._pool = pool
        self._sandbox: Any = None
        self._lease_pool: Any = None
        self._closed = False
        self._user = make_user(user)
        source = load_tool_tasks(tasks) if tasks is not None else self.default_tasks()
        accepted, self._gold, self.report = self._validated(source, split)
        if not accepted:
            raise EnvError(f"no task of the {self.domain.name} task set was accepted: "
                           f"{self.report.counts()}")
        self.tasks = accepted
        self._by_id = {t.id: t for t in accepted}
        self.system_prompt = self._system_prompt()
        self.task: ToolTask | None = None
        self.done = True
        self.turn = 0

    # ------------------------------------------------------------------ class defaults

    @classmethod
    def default_domain(cls) -> Domain:
        """The class's domain (subclasses override)."""
        raise EnvError(f"{cls.__name__} has no default domain; pass domain=")

    @classmethod
    def default_tasks(cls) -> list[ToolTask]:
        """The class's task set (subclasses override)."""
        raise EnvError(f"{cls.__name__} has no default task set; pass tasks=")

    def _validated(self, tasks: list[ToolTask], split: str
                   ) -> tuple[list[ToolTask], dict[str, GoldRecord], TaskReport]:
        if split != "all":
            tasks = [t for t in tasks if t.split == split]
            if not tasks:
                raise EnvError(f"no task is in split {split!r}")
        # a domain validates a given task set once per process (replays are pure)
        key = hashlib.sha256(repr(tasks).encode()).hexdigest()
        cache = self.domain.__dict__.setdefault("_validated", {})
        if key not in cache:
            if not self.domain.sandboxed:
                cache[key] = validate_tasks(self.domain, tasks, timeout_s=self.timeout_s)
            elif self._pool is not None:
                with self._pool.sandbox() as sandbox:
                    cache[key] = validate_tasks(self.domain, tasks, sandbox=lambda: sandbox,
                                                timeout_s=self.timeout_s)
            else:  # no pool given: a pool of one for the replays, not the process-wide one
                from sandgym.sandbox import SandboxPool

                with SandboxPool(size=1) as pool, pool.sandbox() as sandbox:
                    cache[key] = validate_tasks(self.domain, tasks, sandbox=lambda: sandbox,
                                                timeout_s=self.timeout_s)
        return cache[key]

    def _system_prompt(self) -> str:
        schemas = json.dumps([t.openai_schema() for t in (*self.domain.tools, _DONE_TOOL)],
                             ensure_ascii=False)
        policy = f"{self.domain.policy.strip()}\n\n" if self.domain.policy else ""
        return f"{policy}# Tools\n{schemas}\n\n{_CALL_FORMAT}"

    # ------------------------------------------------------------------ tasks

    @property
    def task_ids(self) -> list[str]:
        """Ids of the accepted tasks, in order."""
        return [t.id for t in self.tasks]

    @property
    def max_episode_turns(self) -> int:
        """The env's own turn limit (``max_turns``), as eval's default ``--max-turns``.

        A policy stopped by eval's generic 10 replies would be scored on an episode this
        env allows to run on (30 turns by default): a truncation the env never made.
        """
        return self.max_turns

    def get_task(self, task_id: str) -> ToolTask:
        """The accepted task with this id (a rejected or unknown id is an error)."""
        try:
            return self._by_id[task_id]
        except KeyError:
            import difflib

            refused = {r.task_id: r for r in self.report.rejected}
            if task_id in refused:
                r = refused[task_id]
                raise UnknownTaskError(f"task {task_id!r} was rejected on load ({r.reason}: "
                                       f"{r.detail})") from None
            close = difflib.get_close_matches(str(task_id), self._by_id, n=3)
            raise UnknownTaskError(f"no task {task_id!r}" + (f"; did you mean {close}?"
                                                               if close else "")) from None

    def reference_answer(self, task_id: str) -> str:
        """The gold calls and ``done`` (with the required outputs) in one reply."""
        task = self.get_task(task_id)
        message = "; ".join(task.required_outputs)
        calls = [*task.gold_calls, ToolCall(DONE, {"message": message})]
        return "\n".join(format_call(c) for c in calls)

    def observe(self, task: ToolTask) -> str:
        """The first observation: the user's opening message, or the instruction."""
        return task.instruction

    # ------------------------------------------------------------------ episode

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[str, dict[str, Any]]:
        """Start a task (``options["task_id"]`` or the seeded RNG) on a fresh state."""
        super().reset(seed=seed)
        if self._closed:
            raise EnvError("the environment is closed; make a new one")
        self._release_sandbox()
        task_id = (options or {}).get("task_id")
        self.task = (self.tasks[int(self.np_random.integers(len(self.tasks)))]
                     if task_id is None else self.get_task(task_id))
        self.turn = 0
        self.done = False
        self._errors: Counter[str] = Counter()
        self._invalid = 0
        self._wrote = False
        self._said: list[str] = []
        self._grounding = Grounding(self.task.required_outputs)
        # The system prompt (the domain's policy, the tools' schemas) is shown to the agent
        # before anything else: quoting it ("a refund takes 5 to 7 business days") is not
        # making numbers up. Shown, not looked up: it reads nothing from the task's state.
        self._grounding.observed(self.system_prompt)
        self._conversation: list[dict[str, str]] = []
        self._ctx = ToolContext(self.domain.fresh_state(), sandbox=self._episode_sandbox
                                if self.domain.sandboxed else None, timeout_s=self.timeout_s)
        self._setup_error: str | None = None
        if self.domain.setup is not None:
            try:
                self.domain.setup(self._ctx)
            except Exception as e:  # noqa: BLE001 - reported as a sandbox error at step
                logger.warning("setup of %s failed: %s", self.task.id, e)
                self._setup_error = f"{type(e).__name__}: {e}"
        first = self._user.start(self.task) if self.task.has_user else self.observe(self.task)
        self._grounding.observed(first)
        self._conversation.append({"role": "user", "content": first})
        return first, {"task_id": self.task.id, "turn": 0}

    def step(self, action: str) -> StepResult:
        """Run the reply's tool calls, or pass its text to the user (see the module doc)."""
        if self._closed:
            raise EnvError("the environment is closed; make a new one")
        if self.task is None or self.done:
            raise EpisodeOverError("the episode is over (or never began); call reset() first")
        if not isinstance(action, str):
            raise EnvError(f"actions are text (str), got {type(action).__name__}")
        self.turn += 1
        self._grounding.agent(action)
        if self._setup_error:
            return self._sandbox_failure(self._setup_error)
        parsed = parse_reply(action)
        for call in parsed.calls:
            # The arguments as the tools see them: digits written as JSON escapes
            # ("\u0035") are the agent's own numbers too, before any tool echoes them; and
            # an output written into a call is no longer looked up when a result shows it.
            self._grounding.agent(json.dumps(call.arguments, ensure_ascii=False, default=str),
                                  into_tools=True)
        if parsed.text:
            self._said.append(parsed.text)
        if parsed.error is not None:
            return self._after_errors([parsed.error], [])
        if parsed.calls:
            if len(parsed.calls) > self.max_calls_per_turn:
                error = CallError("too_many_calls", f"{len(parsed.calls)} calls in one reply; "
                                  f"at most {self.max_calls_per_turn} are allowed; none ran")
                return self._after_errors([error], [])
            return self._run_calls(parsed.calls)
        return self._message(parsed.text)

    def _run_calls(self, calls: tuple[ToolCall, ...]) -> StepResult:
        outputs: list[dict[str, Any]] = []
        errors: list[CallError] = []
        end = None
        for call in calls:
            if call.name == DONE:
                try:
                    arguments = _DONE_TOOL.validate(call.arguments)
                except ArgumentError as e:
                    errors.append(CallError("bad_arguments", str(e)[:300], tool=DONE))
                    outputs.append({"tool": DONE, **errors[-1].observation()})
                    continue
                if arguments.get("message"):
                    self._said.append(arguments["message"])
                end = "done"
                outputs.append({"tool": DONE, "result": "The episode is over."})
                break
            result = self.domain.run(self._ctx, call)
            if isinstance(result, CallError):
                if result.kind == "sandbox_error":
                    return self._sandbox_failure(result.message)
                errors.append(result)
                outputs.append({"tool": call.name, **result.observation()})
                continue
            spec = self.domain.tool(call.name)
            self._wrote = self._wrote or bool(spec and spec.writes)
            outputs.append({"tool": call.name, "result": result})
            if spec is not None and spec.terminal:
                end = "terminal_tool"
                break
        lines = [json.dumps(o, ensure_ascii=False) for o in outputs]
        observation = "\n".join(lines)
        self._ground(outputs, lines)
        if errors:
            return self._after_errors(errors, outputs, end=end, observation=observation)
        if end:
            return self._grade(observation, ended_by=end)
        return self._continue(observation)

    def _ground(self, outputs: list[dict[str, Any]], lines: list[str]) -> None:
        """What the calls showed the agent, as look-ups, except what a computing tool returned
        (it shows whatever the agent's arguments ask for, so it proves no look-up) and
        errors (they repeat the agent's own input: "Reservation 5000 5001 ... not found")."""
        for output, line in zip(outputs, lines, strict=True):
            if "error" in output:
                continue
            spec = self.domain.tool(output.get("tool", ""))
            if spec is None or not spec.computes:
                self._grounding.observed(line, lookup=True)

    def _after_errors(self, errors: list[CallError], outputs: list[dict[str, Any]], *,
                      end: str | None = None, observation: str | None = None) -> StepResult:
        for error in errors:
            self._errors[error.kind] += 1
        self._invalid += len(errors)
        if observation is None:
            observation = "\n".join(json.dumps(e.observation(), ensure_ascii=False)
                                    for e in errors)  # grounds nothing: see _ground
        if end:
            return self._grade(observation, ended_by=end)
        if self._invalid > self.max_errors:
            return self._grade(observation + f"\n[{self._invalid} invalid calls: over the "
                               f"allowance of {self.max_errors}; the episode ends]",
                               ended_by="error_allowance")
        return self._continue(observation, last_errors=[e.kind for e in errors])

    def _message(self, text: str) -> StepResult:
        self._conversation.append({"role": "assistant", "content": text})
        if not self.task.has_user:
            return self._grade("", ended_by="answer")
        needs_write = bool(self._gold[self.task.id].changes)
        try:
            reply = self._user.reply(self._conversation,
                                     may_stop=self._wrote or not needs_write)
        except Exception as e:  # noqa: BLE001 - a failing user model is not the agent's fault
            logger.warning("the user simulator failed: %s", e)
            self._errors["user_simulator"] += 1
            return self._grade("[the user simulator failed]", ended_by="user_error")
        self._grounding.observed(reply)
        if STOP in reply:
            return self._grade(reply, ended_by="user_stop")
        self._conversation.append({"role": "user", "content": reply})
        return self._continue(reply)

    def _continue(self, observation: str, last_errors: list[str] | None = None) -> StepResult:
        if self.turn >= self.max_turns:
            return self._grade(observation, ended_by="max_turns", truncated=True)
        info = self._info({"status": "running", "errors": dict(self._errors),
                           "last_errors": last_errors or []}, 0.0,
                          {"mode": self.reward_mode, "value": 0.0})
        return observation, 0.0, False, False, info

    def finish(self) -> StepResult | None:
        """The agent stopped early: grade the state as it is (as truncation does)."""
        if self.done or self.task is None:
            return None
        return self._grade("", ended_by="finished", truncated=True)

    # ------------------------------------------------------------------ reward

    def grade_state(self, task: ToolTask, state: Any, said: list[str],
                    grounding: Grounding | None = None) -> tuple[float, dict]:
        """(reward, details) of a final state and what the agent said, for this task.

        ``grounding``: what the episode showed the agent (the episode's own when None).
        Over-claiming (`claims.over_claimed`) and over-listing (`claims.over_listed`) pay
        no required output, in either mode: otherwise an answer listing candidates, guessed
        or copied from the tools, would be paid for the right one.

        ``fraction`` pays partial credit only beyond what a trivial answer earns (the
        project's rule; BFCL subtracts the turns a silent agent passes). Here the trivial
        answers are doing nothing, echoing the user and listing likely words: each says an
        output without reading the state, and "visa mastercard ... 64GB" earned retail/89
        0.429. Subtracting a measured baseline cannot work, as a list of words has no fixed
        content to measure; so the credit is tied to the evidence instead: a found output
        pays in ``fraction`` only when a reading tool's result showed it to the agent before
        the agent wrote it into a call (`Grounding.looked_up`). With no tool call nothing is
        looked up and no path changes, so every do-nothing answer earns 0.0. An output the
        agent computed (a total no result shows) pays only within an exact answer (1.0), as
        in ``binary``; ``binary`` itself is unchanged.
        """
        volatile, unordered = state_paths(self.domain, task)
        made = changes(self.domain.pristine, state, volatile=volatile, unordered=unordered)
        diff = compare(self._gold[task.id].changes, made)
        # list markers ("1. ", "2) ") are the agent's formatting: no claim, no answer
        spoken = normalize(" ".join(strip_list_markers(s) for s in said))
        outputs = {o: mentions(spoken, normalize(o)) for o in task.required_outputs}
        if grounding is None:
            grounding = getattr(self, "_grounding", None) or Grounding()
        claims = over_claimed(spoken, grounding, task.required_outputs) if outputs else []
        listed = over_listed(spoken, grounding, task.required_outputs) if outputs else []
        if claims:
            logger.info("%s: over-claiming, %d ungrounded numbers said (budget %d)",
                        task.id, len(claims), OVERCLAIM_BUDGET)
        if listed:
            logger.info("%s: over-listing, %d looked-up numbers repeated (budget %d)",
                        task.id, len(listed), LISTING_BUDGET)
        if claims or listed:
            outputs = dict.fromkeys(outputs, False)
        looked_up = {o: found and o in grounding.looked_up for o, found in outputs.items()}
        hits = sum(outputs.values())
        checked = diff.checked + len(outputs)
        exact = diff.equal and hits == len(outputs)
        paid = diff.matched + sum(looked_up.values())
        fraction = 1.0 if exact else paid / checked if checked else 0.0
        reward = (1.0 if exact else 0.0) if self.reward_mode == "binary" else fraction
        over = {"count": len(claims), "budget": OVERCLAIM_BUDGET,
                "ungrounded": claims[:20]} if claims else None
        listing = {"count": len(listed), "budget": LISTING_BUDGET,
                   "listed": listed[:20]} if listed else None
        return reward, {"diff": diff.as_dict(), "outputs": outputs, "looked_up": looked_up,
                        "exact": exact, "fraction": fraction, "over_claiming": over,
                        "over_listing": listing}

    def _failure(self, ended_by: str) -> str:
        if getattr(self._user, "premature_stop", False) or ended_by == "user_error":
            return "user_simulator"
        if ended_by == "error_allowance" or self._errors:
            kinds = self._errors
            parse = kinds["parse_error"] + kinds["unknown_tool"] + kinds["bad_arguments"] + \
                kinds["too_many_calls"]
            tool = kinds["tool_error"] + kinds["tool_exception"]
            if parse or tool:
                return "parse_error" if parse >= tool else "tool_error"
        return "agent"

    def _grade(self, observation: str, *, ended_by: str, truncated: bool = False
               ) -> StepResult:
        task = self.task
        reward, details = self.grade_state(task, self._ctx.state, self._said)
        self.done = True
        self._release_sandbox()
        verdict = {"status": "pass" if details["exact"] else "fail", "ended_by": ended_by,
                   "diff": details["diff"], "outputs": details["outputs"],
                   "over_claiming": details["over_claiming"],
                   "over_listing": details["over_listing"],
                   "outputs_looked_up": details["looked_up"], "errors": dict(self._errors),
                   "failure": None if details["exact"] else self._failure(ended_by)}
        components = {"mode": self.reward_mode, "state_equal": details["diff"]["equal"],
                      "outputs_found": sum(details["outputs"].values()),
                      "outputs_required": len(details["outputs"]),
                      "outputs_looked_up": sum(details["looked_up"].values()),
                      "over_claiming": details["over_claiming"] is not None,
                      "over_listing": details["over_listing"] is not None,
                      "fraction": details["fraction"], "value": reward}
        info = self._info(verdict, reward, components)
        return observation, float(reward), not truncated, truncated, info

    def _sandbox_failure(self, detail: str) -> StepResult:
        self.done = True
        self._release_sandbox()
        verdict = {"status": "sandbox_error", "ended_by": "sandbox_error", "detail": detail[:500]}
        info = self._info(verdict, None, {"mode": self.reward_mode, "value": None})
        return "The sandbox failed; the episode ends ungraded.", float("nan"), False, True, info

    def _info(self, verdict: dict[str, Any], reward: float | None,
              components: dict[str, Any]) -> dict[str, Any]:
        return {"task_id": self.task.id if self.task else None, "turn": self.turn,
                "verdict": verdict, "reward_components": components, "reward": reward,
                "sandbox_error": verdict.get("status") == "sandbox_error"}

    # ------------------------------------------------------------------ sandboxes

    @property
    def pool(self) -> Any:
        """The sandbox pool (the default one unless given)."""
        if self._pool is not None:
            return self._pool
        from sandgym.envs.pool import default_pool

        return default_pool()

    def _episode_sandbox(self) -> Any:
        if self._sandbox is not None and not self._sandbox.healthy:
            self._release_sandbox()
        if self._sandbox is None:
            pool = self.pool
            self._sandbox = pool.acquire()
            self._lease_pool = pool
        return self._sandbox

    def _release_sandbox(self) -> None:
        sandbox, pool = self._sandbox, self._lease_pool
        self._sandbox = self._lease_pool = None
        if sandbox is not None and pool is not None:
            try:
                pool.release(sandbox)
            except Exception as e:  # noqa: BLE001 - releasing must never mask the caller
                logger.warning("releasing sandbox failed: %s", e)

    def close(self) -> None:
        """Give the sandbox back; calling it twice is harmless."""
        if self._closed:
            return
        self._closed = True
        self._release_sandbox()
        super().close()
