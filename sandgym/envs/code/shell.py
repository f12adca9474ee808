"""`sandgym/Shell-v0`: bash commands in a persistent work dir, graded on the final state."""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any, ClassVar

from sandgym.envs.base import SandboxEnv
from sandgym.envs.code.grading import read_record, read_suite
from sandgym.envs.code.programs import SHELL_JUDGE_PROGRAM
from sandgym.envs.code.rewards import check_reward_mode, reward_of
from sandgym.envs.code.tools import SHELL_TOOL_PROMPT, SHELL_TOOLS, split_submit
from sandgym.envs.contract import StepResult
from sandgym.envs.errors import TaskSetError
from sandgym.envs.tasks.schema import ShellTask, Task
from sandgym.errors import RequestTooLargeError, SandboxError
from sandgym.sandbox import ExecResult

logger = logging.getLogger(__name__)

__all__ = ["ShellEnv"]

SHELL_SYSTEM_PROMPT = (
    "You are operating a Linux shell in a sandbox; your working directory is /work. "
    "Reply with one bash command (or a short script) per turn, with no explanation and "
    "no code fences. You will see its output. When the task is done, reply with: submit"
)
OUTPUT_CHARS = 4000
_CWD_FILE = "/tmp/.sandgym-cwd"
_JUDGE_GRACE_S = 5.0


def _wrap(command: str) -> str:
    """Run command in the directory the previous one ended in (state lives in files)."""
    return (f"cd \"$(cat {_CWD_FILE} 2>/dev/null || echo /work)\" 2>/dev/null || cd /work\n"
            f"trap 'pwd > {_CWD_FILE} 2>/dev/null' EXIT\n{command}\n")


def _format_output(result: ExecResult) -> str:
    text = result.stdout + result.stderr
    if len(text) > OUTPUT_CHARS:
        text = text[:OUTPUT_CHARS] + f"\n... [truncated {len(text) - OUTPUT_CHARS} chars]"
    if result.status == "timeout":
        text += "\n[the command timed out and was killed]"
    elif result.status == "oom":
        text += "\n[the command ran out of memory and was killed]"
    elif result.exit_code:
        text += f"\n[exit code {result.exit_code}]"
    return text


class ShellEnv(SandboxEnv):
    """InterCode-style bash: state persists in the work dir across the episode.

    Each action is run with ``bash`` in the sandbox (every command is a fresh process:
    files and the current directory persist, shell variables do not). The observation
    is the command's output. The action ``submit`` (alone, or as the last line of an
    action) ends the episode: the task's checks run on the final state of ``/work``
    and on ``OUTPUT``, what the last command before ``submit`` printed (and, for a
    task with a ``check_command``, on its ``CHECK_OUTPUT`` and ``CHECK_EXIT``: it runs
    first, as the sandbox user). Reaching
    ``max_turns`` truncates the episode and grades the state as it is.

    Reward (``reward_mode``): ``binary`` 1.0 when every check passes; ``fraction`` the
    share of checks passed beyond those the untouched start state already passes
    (``trivial_passed``: what submitting at once earns); ``graded`` 1.0 pass, -0.3 for
    more checks than that, else -0.6 (no syntax classes for shell). The start state is
    graded once per task and env, after set-up, and set up afresh for the agent; if the
    infrastructure loses that grading, the episode ends as a sandbox_error.
    ``sandbox_error``: reward nan, truncated, ``info["sandbox_error"] = True``.

    The env holds one sandbox for the whole episode (released when it ends or on
    close()), so a pool must have a sandbox per concurrent Shell episode.
    """

    default_tasks: ClassVar[str | None] = "builtin:shell"
    holds_sandbox: ClassVar[bool] = True
    tools = SHELL_TOOLS
    tool_prompt = SHELL_TOOL_PROMPT
    default_timeout_s: ClassVar[float | None] = 10.0
    system_prompt = SHELL_SYSTEM_PROMPT

    def __init__(self, *, max_turns: int = 10, timeout_s: float | None = None,
                 reward_mode: str = "binary", **kwargs: Any) -> None:
        super().__init__(max_turns=max_turns, timeout_s=timeout_s,
                         reward_mode=check_reward_mode(reward_mode), **kwargs)
        bad = [t.id for t in self.tasks if not isinstance(t, ShellTask)]
        if bad:
            raise TaskSetError(f"ShellEnv needs shell tasks ('kind': 'shell'); {bad[:3]} "
                               f"are not")
        self._last_output = ""
        self._setup_error: str | None = None
        # task id -> checks the start state passes (partial-credit modes only)
        self._trivial_passed: dict[str, int] = {}

    def observe(self, task: Task) -> str:
        """The task's prompt (with a note when the sandbox could not be set up)."""
        if self._setup_error:
            return task.prompt + "\n\n[sandbox setup failed; submit to end the episode]"
        return task.prompt

    def _begin_episode(self, task: ShellTask) -> None:
        self._last_output = ""
        self._setup_error = None
        try:
            self._set_up(task)
            if self.reward_mode != "binary" and task.id not in self._trivial_passed:
                measured = self._checks_passed_untouched(task)
                if measured is not None:  # a failed measurement is tried again next time
                    self._trivial_passed[task.id] = measured
                self._set_up(task)
        except SandboxError as e:
            logger.warning("shell episode setup failed: %s", e)
            self._setup_error = f"{type(e).__name__}: {e}"
            self._release_sandbox()

    def _set_up(self, task: ShellTask) -> None:
        """A clean work dir with the task's files and set-up script applied."""
        sandbox = self._episode_sandbox()
        sandbox.reset()
        for path, content in task.setup_files.items():
            sandbox.write_file(path, content)
        if task.setup_script:
            result = sandbox.run(["/bin/bash", "-c", task.setup_script],
                                 timeout=self.timeout_s)
            if result.status != "ok":
                raise SandboxError(f"setup script of {task.id} failed ({result.status}): "
                                   f"{result.stderr[-300:]}")

    def _checks_passed_untouched(self, task: ShellTask) -> int | None:
        """Checks the start state passes when the agent submits at once (no output).

        Partial credit is paid only beyond it: on two built-in tasks doing nothing passed
        half the checks. A check that ran out of time would count as failed and make the
        figure too low, so then it is the total (no partial credit on the task). None
        when the infrastructure failed or gave no record: the episode's grade is then a
        sandbox_error, and the next episode measures again.
        """
        try:
            suite = self._run_checks(task, output="")
        except SandboxError as e:
            logger.warning("grading the start state of %s failed: %s", task.id, e)
            return None
        if suite is None:
            return None
        if "timeout" in suite["outcomes"]:
            logger.warning("a check of %s ran out of time on the untouched start state: no "
                           "partial credit on this task", task.id)
            return suite["total"]
        return suite["passed"]

    def _run_checks(self, task: ShellTask, output: str) -> dict[str, Any] | None:
        """The judge's hidden suite on the sandbox's state, or None without a record.

        Raises SandboxError when the infrastructure fails.
        """
        nonce = secrets.token_hex(16)
        spec = {"nonce": nonce, "budget_s": self.timeout_s, "workdir": "/work",
                "checks": list(task.hidden_tests), "output": output}
        if task.check_command:
            spec.update(self._run_check_command(task))
        result = self._episode_sandbox().run_judged(
            "", judge=SHELL_JUDGE_PROGRAM, judge_input=json.dumps(spec).encode(),
            timeout=self.timeout_s + _JUDGE_GRACE_S)
        if result.status == "sandbox_error":
            raise SandboxError(result.stderr[-300:] or "sandbox error")
        record = read_record(result.stdout, nonce)
        hidden = read_suite(record, "hidden") if record is not None else None
        if hidden is None:
            logger.error("shell judge gave no record for %s (%s): %s", task.id, result.status,
                         result.judge_stderr[-500:])
        return hidden

    def _format_reference(self, task: Task) -> str:
        reference = task.reference.rstrip()
        return reference if reference.endswith("submit") else reference + "\nsubmit"

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Run one command, or grade the final state on ``submit``."""
        task = self._start_step(action)
        if self._setup_error:
            return self._sandbox_failure(self._setup_error)
        commands, submit = split_submit(action)
        observation = ""
        run_status = None
        if commands:
            try:
                result = self._episode_sandbox().run(["/bin/bash", "-c", _wrap(commands)],
                                                     timeout=self.timeout_s)
            except RequestTooLargeError as e:  # the model's failure: a command that fails
                result = ExecResult(
                    status="error", exit_code=None, stdout="", truncated=False,
                    duration_s=0.0, stderr=f"[the command was not run: it is {e.size} bytes "
                    f"once encoded, over the sandbox's limit of {e.limit} bytes]")
            except SandboxError as e:
                return self._sandbox_failure(f"{type(e).__name__}: {e}")
            self.last_duration_s = result.duration_s
            if result.status == "sandbox_error":
                return self._sandbox_failure(result.stderr)
            self._last_output = result.stdout
            observation = _format_output(result)
            run_status = result.status
        if not submit and self.turn < self.max_turns:
            info = self._info({"status": "running", "exec_status": run_status}, 0.0,
                              {"mode": self.reward_mode, "value": 0.0}, exit_code=None
                              if run_status is None else result.exit_code)
            return observation, 0.0, False, False, info
        return self._grade(task, observation, truncated=not submit)

    def finish(self) -> StepResult | None:
        """The agent stopped without submitting: grade the state as it is (as truncation)."""
        if self.done:
            return None
        observation, reward, terminated, truncated, info = self.step("submit")
        return observation, reward, terminated, truncated, {**info, "action": "submit"}

    def _grade(self, task: ShellTask, observation: str, truncated: bool
               ) -> tuple[str, float, bool, bool, dict[str, Any]]:
        try:
            hidden = self._run_checks(task, self._last_output)
        except SandboxError as e:
            return self._sandbox_failure(f"{type(e).__name__}: {e}")
        if hidden is None:
            return self._sandbox_failure("the shell judge produced no record")
        passed, total = hidden["passed"], hidden["total"]
        outcome = "pass" if total and passed == total else "failing_tests"
        trivial = None
        if self.reward_mode != "binary":
            trivial = self._trivial_passed.get(task.id)
            if trivial is None:  # without it no reward can be given: not the agent's fault
                return self._sandbox_failure("the task's start state could not be graded")
        reward, components = reward_of(outcome, passed, total, self.reward_mode, trivial)
        verdict = {"status": "pass" if outcome == "pass" else "fail", "outcome": outcome,
                   "passed": passed, "total": total, "tests": hidden["outcomes"],
                   "errors": hidden.get("errors"), "submitted": not truncated}
        self.done = True
        self._release_sandbox()
        info = self._info(verdict, reward, components)
        summary = f"{passed}/{total} checks passed."
        observation = f"{observation}\n{summary}".lstrip("\n") if observation else summary
        return observation, float(reward), not truncated, truncated, info

    def _run_check_command(self, task: ShellTask) -> dict[str, Any]:
        """Run the task's check command as the sandbox user; what its checks will see.

        It runs as the agent's own uid, in its own request (every process it leaves is
        killed when the request ends), never in the judge: the agent's script must not
        run with the judge's rights. Its output reaches the judge through the host.
        Raises SandboxError when the infrastructure fails.
        """
        result = self._episode_sandbox().run(
            ["/bin/bash", "-c", f"cd /work || exit 125\n{task.check_command}\n"],
            timeout=self.timeout_s)
        if result.status == "sandbox_error":
            raise SandboxError(f"check command failed to run: {result.stderr[-300:]}")
        exit_code = result.exit_code if result.status in ("ok", "error") else None
        return {"check_output": result.stdout, "check_exit": exit_code}

    def _sandbox_failure(self, detail: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        self.done = True
        self._release_sandbox()
        verdict = {"status": "sandbox_error", "outcome": "sandbox_error",
                   "detail": detail[:500]}
        info = self._info(verdict, None, {"mode": self.reward_mode, "value": None})
        return "The sandbox failed; the episode ends ungraded.", float("nan"), False, True, info

